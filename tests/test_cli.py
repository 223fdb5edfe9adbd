"""The `qwen-edit` command line: real processes against the simulator for exit codes, the interrupted and
resumed batch and the explore run; in-process runs for the rest. Same checks, messages and history as the
page."""

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from test_regions import FEATHER, mask_png, outside_band, photo, pixels

from core import cli, errors, names
from core.history import History
from core.workflows import batch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(sim, tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of a CLI run whose edits go to `sim` (as an endpoint override with a key, so the
    simulator's counters see every call), with a temporary data dir. Applied to this process too."""
    values = {
        "DASHSCOPE_API_KEY": "sk-cli-test",
        "DASHSCOPE_HTTP_BASE_URL": sim.base_url,
        "QWEN_EDIT_DATA_DIR": str(tmp_path / "data"),
    }
    for name in [name for name in os.environ if name.startswith("QWEN_EDIT_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **values}


@pytest.fixture
def images(tmp_path, make_image) -> Path:
    """A folder with red.png, blue.png and green.jpg."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "red.png").write_bytes(make_image(640, 480, (200, 30, 30)))
    (folder / "blue.png").write_bytes(make_image(480, 640, (30, 30, 200)))
    (folder / "green.jpg").write_bytes(make_image(600, 600, (30, 200, 30), fmt="JPEG"))
    return folder


def qwen_edit(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own process, as the console script does."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def history(tmp_path: Path) -> History:
    return History(tmp_path / "data" / "history.sqlite3")


def write_lines(path: Path, entries: list[dict]) -> Path:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return path


def test_the_console_script_qwen_edit_is_declared():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["qwen-edit"] == "core.cli:main"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ([], "edit batch explore simulate history exit"),
        (
            ["edit"],
            "--prompt --negative-prompt --model --region --size -n --seed --prompt-extend --watermark --out "
            "--mask --align --keep-unchanged --expand _raw.png",
        ),
        (
            ["batch"],
            'FILE --out --jobs "images" "prompt" negative_prompt prompt_extend watermark skipped exit '
            '"mask" "align" "keep_unchanged" "expand" -raw.png',
        ),
        (["explore"], "PLAN --out {a|b|c} random_seeds --rows --columns --dry-run QWEN_EDIT_EXPLORE_MAX_CELLS"),
        (["history", "list"], "--search --model --limit --json"),
        (["history", "export"], "EDIT_ID --out --search --limit"),
        (["simulate"], "--port --latency --bandwidth --valid-key"),
    ],
)
def test_every_command_has_complete_help(capsys, command, expected):
    with pytest.raises(SystemExit) as exited:
        cli.run([*command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    common = "--data-dir --simulate --owner --lang" if command[-1:] not in ([], ["simulate"]) else ""
    assert [word for word in f"{expected} {common}".split() if word not in text] == []


# --- edit ---------------------------------------------------------------------------------------


def test_edit_writes_the_pngs_and_a_json_record_and_exits_0(env, sim, images, tmp_path):
    out = tmp_path / "out"
    args = [
        "red.png",
        "blue.png",
        "-p",
        "swap the colours of @1 and @2",
        "-n",
        "2",
        "--seed",
        "42",
        "--size",
        "768*512",
    ]
    done = qwen_edit("edit", *args, "--out", str(out), env=env, cwd=images)

    assert done.returncode == 0, done.stderr
    pngs, (record_path,) = sorted(out.glob("*.png")), list(out.glob("*.json"))
    assert [Path(line) for line in done.stdout.split()] == [*pngs, record_path]
    assert all(Image.open(png).size == (768, 512) for png in pngs) and len(pngs) == 2
    record = json.loads(record_path.read_text())
    assert record["seed"] == 42 and record["prompt"] == "swap the colours of Image 1 and Image 2"
    assert record["request_id"] and len(record["output_files"]) == 2
    assert sim.stats.generation_calls == 1
    (row,) = history(tmp_path).list("local")
    assert row.id == record["edit_id"] and row.status == "done"


def test_edit_names_its_files_for_the_date_and_prompt_and_never_overwrites_an_earlier_edit(env, images, tmp_path):
    out = tmp_path / "out"
    args = ["edit", "red.png", "-p", "Make it a watercolour!", "-n", "2", "--seed", "5", "--out", str(out)]
    first = qwen_edit(*args, env=env, cwd=images)
    second = qwen_edit(*args, env=env, cwd=images)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    earlier, later = sorted(history(tmp_path).list("local"), key=lambda edit: edit.created)
    stem = names.stamp(earlier.created) + "_make-it-a-watercolour"
    assert first.stdout.split() == [str(out / f"{stem}_{k}.png") for k in (1, 2)] + [str(out / f"{stem}.json")]
    again = names.stamp(later.created) + "_make-it-a-watercolour"
    if again == stem:  # the same minute: the second edit's files carry the start of its id
        again += "_" + later.id[:4]
    assert second.stdout.split() == [str(out / f"{again}_{k}.png") for k in (1, 2)] + [str(out / f"{again}.json")]
    assert json.loads((out / f"{stem}.json").read_text())["edit_id"] == earlier.id  # the first edit's record stays
    assert len(list(out.glob("*.png"))) == 4


def test_without_data_dir_the_cli_says_where_it_keeps_history_and_results(env, images, tmp_path):
    default = {k: v for k, v in env.items() if k != "QWEN_EDIT_DATA_DIR"} | {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    done = qwen_edit("edit", "red.png", "-p", "add a hat", "--out", str(tmp_path / "out"), env=default, cwd=images)

    assert done.returncode == 0, done.stderr
    place = tmp_path / "xdg" / "qwen-edit-studio"
    assert done.stderr.splitlines()[0] == (
        f"qwen-edit: history and results are kept in {place} (--data-dir DIR to choose another)"
    )
    assert len(History(place / "history.sqlite3").list("local")) == 1
    chosen = qwen_edit("history", "list", "--data-dir", str(place), env=default)
    assert chosen.returncode == 0 and "kept in" not in chosen.stderr and "add a hat" in chosen.stdout


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Number of images 2: qwen-image-edit makes 1 image per run."),
        ("zh", "图片数量 2：qwen-image-edit 每次只生成 1 张。"),
    ],
)
def test_a_one_image_model_says_it_makes_one_image_per_run(env, sim, images, tmp_path, lang, expected):
    done = qwen_edit(
        "edit", "red.png", "-p", "x", "-m", "qwen-image-edit", "-n", "2", "--lang", lang, "--out", str(tmp_path),
        env=env, cwd=images,
    )  # fmt: skip

    assert done.returncode == 2
    assert expected in done.stderr and "between 1 and 1" not in done.stderr and "1 到 1" not in done.stderr
    assert sim.stats.generation_calls == 0


def test_an_invalid_edit_is_refused_before_any_call_with_the_pages_message_and_exits_2(env, sim, images, tmp_path):
    done = qwen_edit(
        "edit", "red.png", "-p", "x", "-n", "9", "--out", str(tmp_path), "--lang", "zh", env=env, cwd=images
    )

    assert done.returncode == 2
    expected = errors.CountOutOfRangeError(value=9, model="qwen-image-edit-plus", max_n=6)
    assert expected.message("zh") in done.stderr
    assert sim.stats.generation_calls == 0


def test_an_edit_the_service_refuses_exits_1_with_its_message(env, sim, images, tmp_path, capsys):
    sim.inject("content_inspection")
    assert cli.run(["edit", str(images / "red.png"), "-p", "x", "--out", str(tmp_path / "out")]) == 1
    assert "content check refused" in capsys.readouterr().err


def test_a_result_link_is_fetched_as_an_input_and_any_other_link_is_refused(env, sim, images, tmp_path, capsys):
    assert cli.run(["edit", str(images / "red.png"), "-p", "add a hat", "--out", str(tmp_path / "a")]) == 0
    link = history(tmp_path).list("local")[0].outputs[0].url
    assert cli.run(["edit", link, "-p", "make it night", "--out", str(tmp_path / "b")]) == 0
    assert sim.stats.requests[-1]["image_count"] == 1 and max(sim.stats.downloads.values()) == 2

    capsys.readouterr()
    assert cli.run(["edit", "https://example.com/cat.png", "-p", "x", "--out", str(tmp_path / "c")]) == 2
    assert "Image 1 is a link to example.com" in capsys.readouterr().err
    assert sim.stats.generation_calls == 2


def test_edit_takes_ten_images_on_qwen_image_2_1_pro_none_on_qwen_image_2_0_and_refuses_five_on_plus(
    env, sim, tmp_path, make_image, capsys
):
    paths = []
    for k in range(10):
        paths.append(tmp_path / f"ref-{k + 1}.png")
        paths[-1].write_bytes(make_image(480 + 32 * k, 480))
    out = ["--size", "512*512", "--out", str(tmp_path / "out")]
    assert cli.run(["edit", *map(str, paths), "-p", "@10 beside @1", "-m", "qwen-image-2.1-pro", *out]) == 0
    assert sim.stats.requests[-1]["image_count"] == 10 and sim.stats.requests[-1]["text"] == "Image 10 beside Image 1"

    assert cli.run(["edit", "-p", "a red fox in the snow", "-m", "qwen-image-2.0", *out]) == 0
    assert sim.stats.requests[-1]["image_count"] == 0

    capsys.readouterr()
    assert cli.run(["edit", *map(str, paths[:5]), "-p", "x", "--lang", "zh", *out]) == 2
    assert "qwen-image-edit-plus 最多接受 3 张图片，当前给了 5 张：图4 和 图5 将不会发送" in capsys.readouterr().err
    assert cli.run(["edit", "-p", "a red fox", *out]) == 2
    assert "qwen-image-edit-plus edits input images: add at least 1" in capsys.readouterr().err
    assert sim.stats.generation_calls == 2


def test_edit_with_a_mask_writes_composites_identical_to_image_1_outside_the_band_and_the_raw_outputs(
    env, sim, images, tmp_path
):
    (images / "photo.png").write_bytes(photo(1200, 900))
    box = (500, 300, 700, 450)
    (images / "mask.png").write_bytes(mask_png(1200, 900, box))
    out = tmp_path / "out"
    done = qwen_edit(
        "edit",
        "photo.png",
        "-p",
        "gold helmet",
        "--mask",
        "mask.png",
        "-n",
        "2",
        "--out",
        str(out),
        env=env,
        cwd=images,
    )

    assert done.returncode == 0, done.stderr
    listed = [Path(line) for line in done.stdout.split()]
    composites, raws, record_path = listed[:2], listed[2:4], listed[4]
    assert [path.name[-6:] for path in composites] == ["_1.png", "_2.png"]
    assert [path.name for path in raws] == [path.name.replace(".png", "_raw.png") for path in composites]
    record = json.loads(record_path.read_text())
    assert record["output_files"] == [str(path) for path in composites]
    assert record["raw_output_files"] == [str(path) for path in raws] and len(record["raw_files"]) == 2
    mask = np.zeros((900, 1200), bool)
    mask[box[1] : box[3], box[0] : box[2]] = True
    keep = outside_band(mask, FEATHER)
    before = pixels(str(images / "photo.png"))
    for composite, raw in zip(composites, raws, strict=True):
        after = pixels(str(composite))
        assert after.shape == before.shape and np.array_equal(after[keep], before[keep])
        assert (after[mask] != before[mask]).mean() > 0.5
        width, height = map(int, record["region_edit"]["sent"].split("*"))
        assert pixels(str(raw)).shape[:2] == (height, width)  # the model's own output, as it came
    assert sim.stats.requests[-1]["parameters"]["size"] == record["region_edit"]["sent"]


def test_edit_with_align_writes_each_result_lined_up_with_image_1_and_its_raw_output_beside_it(
    env, sim, images, tmp_path
):
    (images / "photo.png").write_bytes(photo(1024, 768))
    sim.configure(drift={"dx": 10, "dy": -6, "zoom": 0.015})
    out = tmp_path / "out"
    done = qwen_edit(
        "edit",
        "photo.png",
        "-p",
        "make it warmer",
        "--align",
        "--keep-unchanged",
        "--out",
        str(out),
        env=env,
        cwd=images,
    )

    assert done.returncode == 0, done.stderr
    aligned, raw, record_path = (Path(line) for line in done.stdout.split())
    assert raw.name == aligned.name.replace(".png", "_raw.png")
    record = json.loads(record_path.read_text())
    assert record["region_edit"] == {"kind": "align", "keep_unchanged": True}
    transform = record["composites"][0]["transform"]
    assert transform["dx"] == pytest.approx(10, abs=0.8) and transform["dy"] == pytest.approx(-6, abs=0.8)
    assert pixels(str(aligned)).shape == pixels(str(raw)).shape  # at the model's size, its drift undone
    assert not np.array_equal(pixels(str(aligned)), pixels(str(raw)))


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--mask", "missing.png"], "The mask cannot be read"),
        (["--mask", "red.png"], "marks nothing"),  # a red picture has no white
        (["--expand", "0,0,-10,0"], "a side is negative"),
        (["--expand", "0,0,wide,0"], "right must be a whole number of pixels"),
        (["--mask", "blue.png", "--expand", "0,0,64,0"], "A mask and a canvas expansion cannot be used"),
    ],
)
def test_a_region_edit_that_cannot_be_made_is_refused_before_any_call_and_exits_2(
    env, sim, images, tmp_path, flags, fragment
):
    done = qwen_edit("edit", "red.png", "-p", "x", *flags, "--out", str(tmp_path / "out"), env=env, cwd=images)
    assert done.returncode == 2 and fragment in done.stderr, done.stderr
    assert sim.stats.generation_calls == 0


def test_expand_needs_four_sides(env, images, tmp_path):
    done = qwen_edit(
        "edit", "red.png", "-p", "x", "--expand", "0,64", "--out", str(tmp_path / "o"), env=env, cwd=images
    )
    assert done.returncode == 2 and "give four numbers of pixels, left,top,right,bottom" in done.stderr


# --- batch --------------------------------------------------------------------------------------


def test_a_batch_runs_every_line_despite_failures_lists_them_and_exits_1(env, sim, images, tmp_path):
    lines = [
        json.dumps({"images": ["red.png"], "prompt": "add a hat", "seed": 1}),
        "{not json",
        json.dumps({"images": ["red.png"], "prompt": "x", "model": "qwen-image-edit", "size": "1024*1024"}),
        json.dumps({"images": ["missing.png"], "prompt": "x"}),
        json.dumps({"images": ["https://example.com/a.png"], "prompt": "x"}),
        json.dumps({"images": ["red.png"], "prompt": "x", "sed": 3}),
        "",
        json.dumps({"images": ["green.jpg", "blue.png"], "prompt": "y", "n": 2, "watermark": True}),
    ]
    (images / "batch.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    done = qwen_edit("batch", "batch.jsonl", "--out", str(out), env=env, cwd=images)

    assert done.returncode == 1, done.stderr
    summary = {line.split()[0]: line.split(maxsplit=2)[1:] for line in done.stdout.splitlines()[1:-1]}
    statuses = {line: status for line, (status, *_rest) in summary.items()}
    assert statuses == {"1": "done", **dict.fromkeys("23456", "failed"), "8": "done"}
    assert "not valid JSON" in summary["2"][1]
    assert errors.SizeNotSupportedError(model="qwen-image-edit").message("en") in summary["3"][1]
    assert "cannot be read" in summary["4"][1] and "missing.png" in summary["4"][1]
    assert "link to example.com" in summary["5"][1]
    assert "unknown key(s) sed" in summary["6"][1]
    assert done.stdout.splitlines()[-1] == "7 line(s): 2 done, 5 failed"
    written = "line-0001-1.png line-0001.json line-0008-1.png line-0008-2.png line-0008.json"
    assert sorted(path.name for path in out.glob("line-*")) == written.split()
    assert sim.stats.generation_calls == 2
    assert "[7/7]" in done.stderr


def test_a_batch_killed_midway_reruns_only_the_lines_it_had_not_finished(env, sim, images, tmp_path):
    prompts = [f"edit number {k}" for k in range(1, 7)]
    write_lines(images / "six.jsonl", [{"images": ["red.png"], "prompt": p, "seed": k} for k, p in enumerate(prompts)])
    out = tmp_path / "out"
    sim.configure(latency=0.3)
    first = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "batch", "six.jsonl", "--out", str(out)],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=images,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in first.stderr:  # one progress line per finished line: kill once two are done
        if line.startswith("[2/6]"):
            break
    first.send_signal(signal.SIGKILL)
    first.wait()
    first.stderr.close()
    state = [json.loads(entry) for entry in (out / batch.STATE_FILE).read_text().splitlines()]
    finished = [entry["line"] for entry in state if "edit_id" in entry]
    cut_short = sorted({entry["line"] for entry in state} - set(finished))
    assert len(finished) >= 2 and sim.stats.generation_calls < 6

    sim.configure(latency=0.0)
    sim.stats.reset()
    rerun = qwen_edit("batch", "six.jsonl", "--out", str(out), env=env, cwd=images)

    assert rerun.returncode == 0, rerun.stderr
    assert [request["text"] for request in sim.stats.requests] == [
        prompt for number, prompt in enumerate(prompts, start=1) if number not in finished
    ]
    assert f"skipping {len(finished)} line(s) done in an earlier run" in rerun.stderr
    if cut_short:  # the line in flight at the kill: sent again, and said so
        assert f"line(s) {', '.join(map(str, cut_short))} were in flight" in rerun.stderr
    assert len(list(out.glob("line-*.json"))) == 6

    sim.stats.reset()
    again = qwen_edit("batch", "six.jsonl", "--out", str(out), env=env, cwd=images)
    assert again.returncode == 0 and sim.stats.generation_calls == 0
    assert again.stdout.splitlines()[-1] == "6 line(s): 6 skipped"


def test_a_changed_line_runs_again_on_the_next_run(env, sim, images, tmp_path, capsys):
    source = write_lines(
        images / "two.jsonl", [{"images": ["red.png"], "prompt": p} for p in ("add a hat", "add snow")]
    )
    assert cli.run(["batch", str(source), "--out", str(tmp_path / "out")]) == 0
    write_lines(source, [{"images": ["red.png"], "prompt": p} for p in ("add a hat", "add rain")])
    assert cli.run(["batch", str(source), "--out", str(tmp_path / "out")]) == 0

    assert [request["text"] for request in sim.stats.requests] == ["add a hat", "add snow", "add rain"]


def test_a_line_billed_but_not_fully_saved_is_partial_and_never_sent_again(env, sim, images, tmp_path, capsys):
    source = write_lines(images / "one.jsonl", [{"images": ["red.png"], "prompt": "add a hat", "n": 2}])
    sim.inject("foreign_host", index=1)
    assert cli.run(["batch", str(source), "--out", str(tmp_path / "out")]) == 1
    assert "1 of 2 saved" in capsys.readouterr().out

    assert cli.run(["batch", str(source), "--out", str(tmp_path / "out")]) == 0
    assert sim.stats.generation_calls == 1


def test_batch_lines_take_as_many_images_as_their_model_and_fetch_none_a_model_would_refuse(env, sim, images, tmp_path):
    assert cli.run(["edit", str(images / "red.png"), "-p", "add a hat", "--out", str(tmp_path / "a")]) == 0
    link = history(tmp_path).list("local")[0].outputs[0].url
    ten = ["red.png", "blue.png", "green.jpg"] * 3 + ["red.png"]
    lines = [
        {"images": ten, "prompt": "@10 and @1", "model": "qwen-image-2.1-pro", "size": "512*512"},
        {"prompt": "a red fox", "model": "qwen-image-2.0", "size": "512*512"},
        {"images": [], "prompt": "a blue fox", "model": "qwen-image-3.0", "size": "512*512"},
        {"images": [link] * 4, "prompt": "x", "model": "qwen-image-edit-max"},
        {"prompt": "a red fox"},
    ]
    write_lines(images / "counts.jsonl", lines)
    downloads = sum(sim.stats.downloads.values())
    assert cli.run(["batch", str(images / "counts.jsonl"), "--out", str(tmp_path / "out")]) == 1

    assert [entry["image_count"] for entry in sim.stats.requests[1:]] == [10, 0, 0]
    assert sum(sim.stats.downloads.values()) == downloads + 3  # the three results; no link of line 4 fetched
    state = batch.BatchState(tmp_path / "out" / batch.STATE_FILE)
    done = [number for number in range(1, 6) if state.is_done(number, json.dumps(lines[number - 1]))]
    assert done == [1, 2, 3]


def test_batch_line_refusals_name_the_model_and_its_image_count(env, sim, images, tmp_path, capsys):
    lines = [{"images": ["red.png"] * 4, "prompt": "x"}, {"prompt": "a red fox", "model": "qwen-image-edit"}]
    write_lines(images / "refused.jsonl", lines)
    assert cli.run(["batch", str(images / "refused.jsonl"), "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert "qwen-image-edit-plus takes up to 3 images and 4 are given: Image 4 will not be sent" in printed
    assert "qwen-image-edit edits input images: add at least 1" in printed
    assert sim.stats.generation_calls == 0


def test_a_batch_line_with_a_mask_writes_its_composite_and_raw_output_and_bad_region_values_are_refused(
    env, sim, images, tmp_path, capsys
):
    (images / "photo.png").write_bytes(photo(1200, 900))
    box = (500, 300, 700, 450)
    (images / "masks").mkdir()
    (images / "masks" / "helmet.png").write_bytes(mask_png(1200, 900, box))
    lines = [
        {"images": ["photo.png"], "prompt": "gold helmet", "mask": "masks/helmet.png"},
        {"images": ["photo.png"], "prompt": "x", "align": "yes"},
        {"images": ["photo.png"], "prompt": "x", "expand": [0, 0, 64, 0]},
        {"images": ["photo.png"], "prompt": "x", "expand": {"right": -64}},
        {"images": ["photo.png"], "prompt": "x", "mask": "https://example.com/mask.png"},
    ]
    write_lines(images / "regions.jsonl", lines)
    out = tmp_path / "out"
    assert cli.run(["batch", str(images / "regions.jsonl"), "--out", str(out)]) == 1

    printed = capsys.readouterr().out
    assert '"align" must be true or false, not "yes"' in printed
    assert '"expand" must be an object of pixels per side' in printed
    assert "a side is negative" in printed
    assert '"mask" must be a file path' in printed
    mask = np.zeros((900, 1200), bool)
    mask[box[1] : box[3], box[0] : box[2]] = True
    keep = outside_band(mask, FEATHER)
    composite, before = pixels(str(out / "line-0001-1.png")), pixels(str(images / "photo.png"))
    assert np.array_equal(composite[keep], before[keep]) and (composite[mask] != before[mask]).mean() > 0.5
    record = json.loads((out / "line-0001.json").read_text())
    assert record["raw_output_files"] == [str(out / "line-0001-1-raw.png")]
    assert record["region_edit"]["marked"] == list(box)
    assert sim.stats.generation_calls == 1


def test_a_batch_file_that_cannot_be_read_exits_2(env, tmp_path, capsys):
    assert cli.run(["batch", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "out")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --- explore ------------------------------------------------------------------------------------


def test_explore_runs_4_prompts_x_3_seeds_and_exports_the_run(env, sim, images, tmp_path):
    plan = {
        "images": ["red.png"],
        "prompts": ["make it {night|winter}", "add a {red|blue} hat"],
        "seeds": [11, 22, 33],
        "sizes": ["512*512"],
    }
    (images / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "out"
    done = qwen_edit("explore", "plan.json", "--out", str(out), env=env, cwd=images)

    assert done.returncode == 0, done.stderr
    assert "12 edit(s), 12 image(s) billed" in done.stderr and "[12/12]" in done.stderr
    (archive,) = out.glob("explore-*.zip")
    (sheet,) = out.glob("explore-*-contact-sheet.png")
    with zipfile.ZipFile(archive) as opened:
        cells = json.loads(opened.read("cells.json"))["cells"]
        assert len([name for name in opened.namelist() if name.startswith("images/")]) == 12
    assert [(c["prompt"], c["seed"]) for c in cells[:4]] == [
        *(("make it night", seed) for seed in (11, 22, 33)),
        ("make it winter", 11),
    ]
    assert Image.open(sheet).size[1] > Image.open(sheet).size[0] / 2  # 4 rows of 3 columns
    assert sim.stats.generation_calls == 12 and len(history(tmp_path).list("local")) == 12


def test_explore_refuses_a_plan_over_the_cap_before_any_call(env, sim, images, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QWEN_EDIT_EXPLORE_MAX_CELLS", "5")
    (images / "plan.json").write_text(json.dumps({"images": ["red.png"], "prompts": "a {b|c|d}", "seeds": [1, 2]}))

    assert cli.run(["explore", str(images / "plan.json"), "--out", str(tmp_path / "out")]) == 2
    assert "This plan has 6 cells" in capsys.readouterr().err
    assert sim.stats.generation_calls == 0


def test_explore_refuses_a_plan_whose_models_cannot_all_take_its_images_naming_the_cells(
    env, sim, images, tmp_path, capsys
):
    plan = {"images": ["red.png"] * 5, "prompts": "a hat", "models": ["qwen-image-edit-plus", "qwen-image-2.1-pro"]}
    (images / "plan.json").write_text(json.dumps(plan))
    assert cli.run(["explore", str(images / "plan.json"), "--out", str(tmp_path / "out")]) == 2
    assert "cell(s) 1 use qwen-image-edit-plus, which takes up to 3" in capsys.readouterr().err
    assert sim.stats.generation_calls == 0


def test_explore_runs_a_plan_without_images_on_a_text_to_image_model(env, sim, images, tmp_path):
    plan = {"prompts": "a {red|blue} fox", "models": ["qwen-image-2.0"], "sizes": ["512*512"], "seeds": [1]}
    (images / "plan.json").write_text(json.dumps(plan))
    assert cli.run(["explore", str(images / "plan.json"), "--out", str(tmp_path / "out")]) == 0
    assert [entry["image_count"] for entry in sim.stats.requests] == [0, 0]


def test_explore_with_a_failing_cell_finishes_the_others_and_exits_1(env, sim, images, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QWEN_EDIT_EXPLORE_CONCURRENCY", "1")
    sim.inject("content_inspection")
    (images / "plan.json").write_text(json.dumps({"images": ["red.png"], "prompts": "a hat", "seeds": [1, 2, 3]}))

    assert cli.run(["explore", str(images / "plan.json"), "--out", str(tmp_path / "out")]) == 1
    assert "3 cell(s): 2 done, 1 not done" in capsys.readouterr().out
    assert sim.stats.generation_calls == 3


def test_explore_says_when_its_cells_wait_for_the_rate_limit_and_none_is_refused(
    env, sim, images, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("QWEN_EDIT_RATE_LIMITS", "qwen-image-edit-max=1/2")
    sim.configure(enforce_rate_limits=True, rate_limits={"qwen-image-edit-max": "1/2"})
    plan = {"images": ["red.png"], "prompts": "a hat", "seeds": [1, 2], "models": ["qwen-image-edit-max"]}
    (images / "plan.json").write_text(json.dumps(plan))

    assert cli.run(["explore", str(images / "plan.json"), "--out", str(tmp_path / "out")]) == 0
    assert "Waiting for DashScope's limit of 1 edit every 2 s on qwen-image-edit-max — starts in about" in (
        capsys.readouterr().err
    )
    assert sim.stats.generation_calls == 2 and sim.stats.throttled == 0


# --- history and simulate -----------------------------------------------------------------------


def test_history_lists_and_exports_what_the_cli_made(env, images, tmp_path, capsys):
    for prompt in ("add a hat", "add snow"):
        assert cli.run(["edit", str(images / "red.png"), "-p", prompt, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()

    assert cli.run(["history", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [edit["prompt"] for edit in listed] == ["add snow", "add a hat"]
    assert cli.run(["history", "list", "--search", "snow"]) == 0
    assert "add snow" in capsys.readouterr().out

    assert cli.run(["history", "export", listed[1]["id"], "--out", str(tmp_path / "one.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert [entry["prompt"] for entry in json.loads(archive.read("edits.json"))] == ["add a hat"]
    assert cli.run(["history", "export", "--out", str(tmp_path / "all.zip")]) == 0
    assert cli.run(["history", "export", "nope", "--out", str(tmp_path / "x.zip")]) == 2


def test_simulate_serves_the_simulator_in_the_foreground_until_terminated(env):
    server = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "simulate", "--port", "0"],
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base_url = server.stdout.readline().strip()
    stats = requests.get(base_url.removesuffix("/api/v1") + "/_sim/stats", timeout=5).json()
    server.terminate()
    assert server.wait(10) == 0
    server.stdout.close()
    assert stats["generation_calls"] == 0
