"""The real Gradio app, driven through gradio_client, and `python app.py` as a user starts it."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from core.settings import Settings
from core.simulator import Simulator
from core.studio import Studio
from ui.layout import build_app, launch_options

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(sim, tmp_path):
    """The app over a simulator-mode studio (no rate limits), served on a free port; yields (client, studio, sim)."""
    from conftest import FAST_RETRY, UNPACED

    settings = Settings(data_dir=tmp_path / "data", simulate=True, rate_limits=UNPACED)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    demo = build_app(studio, browser_secret="test-secret")
    demo.queue(default_concurrency_limit=studio.settings.concurrency, max_size=studio.settings.queue_max)
    options = launch_options(studio)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True, **options)
    client = Client(demo.local_url, verbose=False)
    yield client, studio, sim
    client.close()
    demo.close()
    studio.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def image_files(tmp_path, make_image):
    paths = []
    for k, (w, h) in enumerate([(1024, 1024), (900, 700), (768, 1024)], start=1):
        path = tmp_path / f"in{k}.png"
        path.write_bytes(make_image(w, h, (60 * k, 120, 200)))
        paths.append(str(path))
    return paths


def edit(client: Client, images, prompt="the girl in Image 1 wears a red dress", **kw):
    args = {
        "image_1": handle_file(images[0]) if images[0] else None,
        "image_2": handle_file(images[1]) if len(images) > 1 and images[1] else None,
        "image_3": handle_file(images[2]) if len(images) > 2 and images[2] else None,
        "prompt": prompt,
        **kw,
    }
    return client.predict(**args, api_name="/edit")


def test_edit_api_fuses_three_images_into_four_pngs_with_a_full_record(served, image_files):
    client, studio, sim = served
    images, record = edit(client, image_files, n=4, size="1024*1536", seed=11)

    assert len(images) == 4
    for item in images:
        path = item["image"] if isinstance(item, dict) else item[0]
        with Image.open(path) as png:
            assert png.format == "PNG" and png.size == (1024, 1536)
    assert record["seed"] == 11 and record["model"] == "qwen-image-edit-plus" and record["request_id"]
    assert record["usage"]["image_count"] == 4 and record["simulated"] is True
    assert all(Path(p).is_file() and Path(p).is_relative_to(studio.store.objects) for p in record["files"])
    assert sim.stats.requests[-1]["image_count"] == 3


def test_edit_api_needs_only_the_first_image_and_draws_a_seed(served, image_files):
    client, _studio, _sim = served
    images, record = edit(client, [image_files[0]], prompt="add a red hat")
    assert len(images) == 1 and record["seed_was_random"] and 0 <= record["seed"] <= 2_147_483_647


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"prompt": ""}, "Write a prompt"),
        ({"prompt": "x" * 801}, "limit is 800"),
        ({"n": 7}, "between 1 and 6"),
        ({"n": 2, "model": "qwen-image-edit"}, "qwen-image-edit makes 1 image per run."),
        ({"size": "4096*4096"}, "between 512 and 2048"),
        ({"size": "1024*1024", "model": "qwen-image-edit"}, "custom output size"),
        ({"seed": 2_147_483_648}, "0 to 2147483647"),
        ({"model": "qwen-image-edit-pro"}, "Unknown model"),
    ],
)
def test_edit_api_refuses_bad_parameters_with_the_reason(served, image_files, kwargs, fragment):
    client, _studio, sim = served
    with pytest.raises(AppError) as caught:
        edit(client, [image_files[0]], **kwargs)
    assert fragment in str(caught.value)
    assert sim.stats.generation_calls == 0


def test_edit_api_refuses_a_file_that_is_not_an_image_naming_its_slot(served, image_files, tmp_path):
    client, _studio, _sim = served
    fake = tmp_path / "notes.png"
    fake.write_text("just some text")
    with pytest.raises(AppError) as caught:
        edit(client, [image_files[0], str(fake)])
    assert "Image 2 cannot be read" in str(caught.value)


def test_edit_api_takes_images_4_to_10_as_extra_images_on_qwen_image_2_1_pro_in_order(served, tmp_path, make_image):
    client, _studio, sim = served
    paths = []
    for k in range(10):  # told apart by their width: Image 1 the narrowest
        paths.append(tmp_path / f"ref-{k + 1}.png")
        paths[-1].write_bytes(make_image(480 + 32 * k, 480, (20 * k, 90, 160)))
    files = [handle_file(str(path)) for path in paths]
    _images, record = client.predict(
        *files[:3],
        prompt="the hat of @10 on Image 1",
        model="qwen-image-2.1-pro",
        size="512*512",
        extra_images=files[3:],
        api_name="/edit",
    )

    sent = sim.stats.requests[-1]
    assert sent["model"] == "qwen-image-2.1-pro" and sent["image_count"] == 10
    assert sent["text"] == record["prompt"] == "the hat of Image 10 on Image 1"
    assert [(item["slot"], item["width"]) for item in record["inputs"]] == [(k + 1, 480 + 32 * k) for k in range(10)]


def test_edit_api_with_a_mask_returns_composites_at_image_1s_full_size_and_lists_the_raw_outputs(served, tmp_path):
    import numpy as np
    from test_regions import FEATHER, mask_png, outside_band, photo, pixels

    client, _studio, sim = served
    (tmp_path / "photo.png").write_bytes(photo(1600, 1200))
    box = (700, 400, 900, 560)
    (tmp_path / "mask.png").write_bytes(mask_png(1600, 1200, box))
    images, record = edit(
        client, [str(tmp_path / "photo.png")], "gold helmet", n=2, mask=handle_file(str(tmp_path / "mask.png"))
    )

    mask = np.zeros((1200, 1600), bool)
    mask[box[1] : box[3], box[0] : box[2]] = True
    keep, before = outside_band(mask, FEATHER), pixels(str(tmp_path / "photo.png"))
    assert len(images) == 2 and len(record["raw_files"]) == 2 and record["region_edit"]["kind"] == "mask"
    for item, raw in zip(images, record["raw_files"], strict=True):
        after = pixels(item["image"] if isinstance(item, dict) else item[0])
        assert after.shape == (1200, 1600, 3) and np.array_equal(after[keep], before[keep])
        width, height = map(int, record["region_edit"]["sent"].split("*"))
        assert pixels(raw).shape[:2] == (height, width)
    assert sim.stats.requests[-1]["parameters"]["size"] == record["region_edit"]["sent"]


def test_edit_api_aligns_by_name_and_an_old_style_call_still_works(served, tmp_path):
    from test_regions import photo

    client, _studio, sim = served
    (tmp_path / "photo.png").write_bytes(photo(1024, 768))
    sim.configure(drift={"dx": 12, "dy": 8, "zoom": 0.0})
    _images, aligned = edit(client, [str(tmp_path / "photo.png")], "make it warmer", align=True)
    assert aligned["region_edit"]["kind"] == "align" and len(aligned["raw_files"]) == 1
    assert aligned["composites"][0]["transform"]["dx"] == pytest.approx(12, abs=0.8)

    positional = client.predict(
        handle_file(str(tmp_path / "photo.png")), None, None, "add a hat", "", "qwen-image-edit-plus", "auto", 1, 7,
        True, False, "", api_name="/edit",
    )  # fmt: skip
    images, record = positional
    assert len(images) == 1 and record["seed"] == 7
    assert "raw_files" not in record and "region_edit" not in record


def test_edit_api_refuses_extra_images_on_a_three_image_model_naming_it_before_any_call(served, image_files):
    client, _studio, sim = served
    with pytest.raises(AppError) as caught:
        edit(client, image_files, extra_images=[handle_file(image_files[0]), handle_file(image_files[1])])
    message = str(caught.value)
    assert "qwen-image-edit-plus takes up to 3 images and 5 are given: Images 4 and 5 will not be sent" in message
    assert "qwen-image-2.1-pro" in message
    assert sim.stats.generation_calls == 0


def test_edit_api_makes_an_image_from_the_prompt_alone_where_the_model_starts_from_one(served):
    client, _studio, sim = served
    images, record = client.predict(
        prompt="a red fox in the snow", model="qwen-image-2.0", size="512*512", api_name="/edit"
    )
    assert len(images) == 1 and record["inputs"] == [] and sim.stats.requests[-1]["image_count"] == 0

    with pytest.raises(AppError) as caught:  # the default model edits images: it needs one
        client.predict(prompt="a red fox in the snow", api_name="/edit")
    assert "qwen-image-edit-plus edits input images: add at least 1" in str(caught.value)
    assert sim.stats.generation_calls == 1


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        ("invalid_key", "API key was refused"),
        ("content_inspection", "content check refused"),
        ("allocation_quota", "quota"),
        ("arrearage", "arrears"),
        ("gateway_timeout", "may still have been made and billed"),
    ],
)
def test_edit_api_reports_service_errors_in_plain_words(served, image_files, fault, fragment):
    client, _studio, sim = served
    sim.inject(fault, times=2)  # Throttling.AllocationQuota is retried once
    with pytest.raises(AppError) as caught:
        edit(client, [image_files[0]])
    assert fragment in str(caught.value) and "request id" in str(caught.value)


def test_edit_api_answers_in_chinese_to_a_chinese_browser(served, image_files):
    client, _studio, _sim = served
    zh = Client(client.src, verbose=False, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    with pytest.raises(AppError) as caught:
        edit(zh, [image_files[0]], prompt="")
    assert "请填写提示词" in str(caught.value)


def test_eight_visitors_at_once_are_served_concurrently(served, image_files):
    client, _studio, sim = served
    sim.configure(latency=4.0)  # long enough that eight uploads under a loaded CI still overlap at the model
    visitors = [Client(client.src, verbose=False) for _ in range(8)]  # connected first: only the edits race
    start = threading.Barrier(len(visitors))
    outcomes = []

    def visit(own: Client) -> None:
        start.wait()
        outcomes.append(edit(own, [image_files[0]], seed=1))

    threads = [threading.Thread(target=visit, args=(own,)) for own in visitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for own in visitors:
        own.close()
    assert len(outcomes) == 8
    assert sim.stats.max_in_flight == 8  # all eight calls were at the model together, none queued behind another


def test_only_edit_is_published_as_an_api(served):
    client, _studio, _sim = served
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/edit"]


def test_python_app_py_without_a_key_serves_the_page_in_simulator_mode(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL")}
    process = subprocess.Popen(
        [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        config = _wait_for_json(f"http://127.0.0.1:{port}/config", process)
        texts = json.dumps(config)
        assert "banner_simulated" in texts  # the banner is on the page (translated in the browser)
        assert (tmp_path / "store" / "objects").is_dir()
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_python_app_py_help_describes_every_flag():
    done = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    usage, options = done.stdout.split("options:")
    described = _flag_texts(options)
    assert set(described) == {"-h", *re.findall(r"\[(--[a-z-]+)", usage)}
    assert [flag for flag, text in described.items() if len(text.split()) < 4] == []
    assert "GRADIO_SERVER_PORT" in described["--port"] and "QWEN_EDIT_DATA_DIR" in described["--data-dir"]


def _flag_texts(options: str) -> dict[str, str]:
    """{flag: its description} from argparse's "options:" section (an entry's text may wrap onto lines below)."""
    texts: dict[str, str] = {}
    flag = ""
    for line in options.splitlines():
        entry = re.match(r"^  (-[-\w]+)(?:, --[-\w]+)?(?: [A-Z_]+)?\s*(.*)$", line)
        if entry:
            flag = entry.group(1)
            texts[flag] = entry.group(2)
        elif flag and line.startswith("    "):
            texts[flag] += " " + line.strip()
        else:
            flag = ""
    return texts


def _wait_for_json(url: str, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read().decode(errors="replace"))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within 60 s")


def test_simulator_runs_on_its_own_for_other_programs(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "core.simulator", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        stats = _wait_for_json(f"http://127.0.0.1:{port}/_sim/stats", process)
        assert stats["generation_calls"] == 0
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_simulator_fixture_is_isolated(sim):
    assert isinstance(sim, Simulator) and sim.stats.generation_calls == 0


def test_a_visitors_mistake_is_logged_as_one_line_without_a_traceback_or_the_key(tmp_path, image_files):
    from queue_calls import call, fn_index

    port, log = _free_port(), tmp_path / "server.log"
    env = {**os.environ, "DASHSCOPE_API_KEY": "sk-operator-secret-4242", "QWEN_EDIT_SIMULATE": "1"}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path / "d")],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_json(url + "config", process)
        client = Client(url, verbose=False)
        with pytest.raises(AppError, match="between 512 and 2048"):
            edit(client, image_files[:1], size="3000*3000")
        with pytest.raises(AppError, match="add at least 1"):
            edit(client, [None])
        client.close()
        refused = call(url, fn_index(url, "history-zip"), [None, None])  # a page event: nothing selected
        assert refused["success"] is False and "Select an edit first" in refused["output"]["error"]
    finally:
        process.terminate()
        process.wait(timeout=20)

    text = log.read_text()
    assert "Traceback" not in text and "sk-operator-secret-4242" not in text
    for fragment in (
        "INFO ui.alerts: SizeOutOfRangeError: Output size 3000*3000: width and height must each be between",
        "INFO ui.alerts: NoImageError: qwen-image-edit-plus edits input images: add at least 1",
        "INFO ui.alerts: history_pick: Select an edit first.",
    ):
        assert len([line for line in text.splitlines() if fragment in line]) == 1, text
