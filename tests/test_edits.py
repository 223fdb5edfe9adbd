"""Edits end to end: the real dashscope SDK against the simulator over real HTTP, results on real disk."""

import logging
import socket
import threading
import time

import pytest
from conftest import FAST_RETRY
from PIL import Image

from core import catalog, errors
from core.caller import Caller
from core.client import Endpoint, call_edit
from core.request import EditRequest
from core.settings import Settings
from core.simulator import Simulator
from core.studio import Stage, Studio

SECRET = "sk-test-0123456789abcdef-secret"


def test_three_1mp_inputs_with_n6_at_2048_give_six_2048_pngs_on_disk_each_fetched_once(studio, sim, make_image):
    inputs = [make_image(1024, 1024, (200, 30, 30)), make_image(1152, 864, (30, 200, 30)), make_image(864, 1152)]
    request = EditRequest.create(
        inputs, "the girl in Image 1 wears the dress of Image 2 in the pose of Image 3", n=6, size="2048*2048", seed=7
    )
    result = studio.edit(request)

    assert len(result.images) == 6 and not result.failures
    for image in result.images:
        with Image.open(image.path) as png:
            assert png.format == "PNG" and png.size == (2048, 2048)
    assert len({image.sha256 for image in result.images}) == 6
    assert sorted(sim.stats.downloads.values()) == [1] * 6
    assert sim.stats.generation_calls == 1
    assert result.usage.image_count == 6 and (result.usage.width, result.usage.height) == (2048, 2048)


def test_auto_size_follows_the_last_inputs_aspect_at_about_one_megapixel(studio, make_image):
    request = EditRequest.create([make_image(800, 800), make_image(1200, 600)], "make it blue", seed=1)
    result = studio.edit(request)

    (image,) = result.images
    assert abs(image.width / image.height - 2.0) < 0.05
    assert 0.85 < image.width * image.height / (1024 * 1024) < 1.15


def test_empty_middle_slot_is_skipped_and_slots_keep_their_numbers(studio, sim, make_image):
    request = EditRequest.create([make_image(), None, make_image(700, 500)], "swap the colours", seed=3)
    assert [image.slot for image in request.images] == [1, 3]
    studio.edit(request)
    assert sim.stats.requests[-1]["image_count"] == 2


def test_progress_reports_calling_then_each_saved_image(studio, make_image):
    seen = []
    studio.edit(EditRequest.create([make_image()], "add a hat", n=3, seed=5), on_progress=seen.append)

    assert seen[0].stage is Stage.CALLING
    assert seen[1].stage is Stage.DOWNLOADING and seen[1].total == 3
    saved = [p for p in seen if p.stage is Stage.SAVED]
    assert sorted(p.done for p in saved) == [1, 2, 3] and all(p.image is not None for p in saved)


def test_the_parameters_reach_the_service_as_the_sdk_sends_them(studio, sim, make_image):
    request = EditRequest.create(
        [make_image()], "改成水彩风格", negative_prompt="blurry", n=2, size="1024*768", seed=42, watermark=True
    )
    studio.edit(request)

    sent = sim.stats.requests[-1]
    assert sent["model"] == catalog.DEFAULT_MODEL
    assert sent["text"] == "改成水彩风格"
    assert sent["parameters"] == {
        "n": 2,
        "size": "1024*768",
        "seed": 42,
        "watermark": True,
        "negative_prompt": "blurry",
        "prompt_extend": True,
    }


@pytest.mark.parametrize("model", [m.id for m in catalog.MODELS])
def test_every_model_edits_with_its_maximum_n(studio, model, make_image):
    spec = catalog.get_model(model)
    result = studio.edit(EditRequest.create([make_image()], "make it night", model=model, n=spec.max_n, seed=1))
    assert len(result.images) == spec.max_n


def test_qwen_image_edit_is_sent_without_size_or_prompt_rewriting(studio, sim, make_image):
    studio.edit(EditRequest.create([make_image()], "remove the cup", model="qwen-image-edit", seed=2))
    assert "prompt_extend" not in sim.stats.requests[-1]["parameters"]
    assert "size" not in sim.stats.requests[-1]["parameters"]


@pytest.mark.parametrize(
    ("fault", "error", "calls"),
    [
        ("invalid_key", errors.InvalidApiKeyError, 1),
        ("access_denied", errors.AccessDeniedError, 1),
        ("model_not_exist", errors.ModelNotFoundError, 1),
        ("content_inspection", errors.ContentInspectionError, 1),
        ("arrearage", errors.ArrearageError, 1),
        ("allocation_quota", errors.QuotaExhaustedError, 2),
        ("invalid_parameter", errors.ServiceRejectedParameterError, 1),
        ("unknown_code", errors.UnexpectedResponseError, 1),
        ("gateway_timeout", errors.MaybeBilledError, 1),
        ("throttle", errors.ThrottledError, FAST_RETRY.throttled_attempts),
        ("rate_quota", errors.ThrottledError, FAST_RETRY.throttled_attempts),
        ("burst_rate", errors.ThrottledError, FAST_RETRY.throttled_attempts),
        ("internal_error", errors.ServiceUnavailableError, FAST_RETRY.attempts),
        ("bad_gateway", errors.ServiceUnavailableError, FAST_RETRY.attempts),
        ("unavailable", errors.ServiceUnavailableError, FAST_RETRY.attempts),
    ],
)
def test_each_service_error_becomes_its_typed_error_with_the_request_id(studio, sim, make_image, fault, error, calls):
    sim.inject(fault, times=10)
    with pytest.raises(error) as caught:
        studio.edit(EditRequest.create([make_image()], "make it red", seed=1))

    assert sim.stats.generation_calls == calls
    if fault != "bad_gateway":  # an HTML error page from a gateway carries no request id
        assert caught.value.request_id
        assert caught.value.request_id in caught.value.message("en")
    for lang in ("en", "zh"):
        assert caught.value.message(lang).strip()


def test_invalid_key_message_points_at_the_region(studio, sim, make_image):
    sim.inject("invalid_key")
    with pytest.raises(errors.InvalidApiKeyError) as caught:
        studio.edit(EditRequest.create([make_image()], "x", region="beijing", seed=1))
    assert "Beijing" in caught.value.message("en") and "北京" in caught.value.message("zh")


def test_throttling_is_retried_and_then_succeeds(studio, sim, make_image):
    sim.inject("throttle", times=2)
    seen = []
    result = studio.edit(EditRequest.create([make_image()], "add snow", seed=9), on_progress=seen.append)

    assert len(result.images) == 1 and result.attempts == 3
    assert [p.retry.attempt for p in seen if p.stage is Stage.RETRYING] == [1, 2]


def test_a_read_timeout_is_not_resent_because_it_may_have_been_billed(sim, tmp_path, make_image):
    studio = Studio(Settings(data_dir=tmp_path, simulate=True, request_timeout=0.5), simulator=sim, retry=FAST_RETRY)
    sim.inject("timeout", seconds=3)
    with pytest.raises(errors.MaybeBilledError) as caught:
        studio.edit(EditRequest.create([make_image()], "add rain", seed=1))
    assert sim.stats.generation_calls == 1
    assert "billed" in caught.value.message("en")


def test_a_connection_reset_after_the_request_was_sent_is_never_resent_and_may_have_been_billed(
    studio, sim, make_image
):
    sim.inject("reset")  # the simulator reads the whole request, then drops the connection unanswered
    with pytest.raises(errors.MaybeBilledError) as caught:
        studio.edit(EditRequest.create([make_image()], "add fog", seed=1))

    assert sim.stats.generation_calls == 1  # neither the SDK nor our retry policy sent it again
    assert "billed" in caught.value.message("en") and caught.value.message("zh")
    (edit,) = studio.history.list("local")
    assert edit.status == "failed"


def test_a_lone_surrogate_in_the_prompt_is_refused_before_anything_is_stored_or_sent(studio, sim, make_image):
    with pytest.raises(errors.BrokenTextError) as caught:
        studio.edit(EditRequest.create([make_image()], "make it \ud800 blue", seed=1))

    assert "broken character" in caught.value.message("en") and "损坏" in caught.value.message("zh")
    assert sim.stats.generation_calls == 0
    assert studio.history.list("local") == []
    assert not [path for path in studio.store.objects.rglob("*") if path.is_file()]


def test_an_unreachable_endpoint_is_retried_then_reported(tmp_path, make_image):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = Endpoint(f"http://127.0.0.1:{port}/api/v1", "singapore", SECRET)
    request = EditRequest.create([make_image()], "x", seed=1)
    with pytest.raises(errors.ConnectionFailedError) as caught:
        call_edit(request, endpoint, timeout=2, retry=FAST_RETRY)
    assert caught.value.params["attempts"] == FAST_RETRY.attempts
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("fault", ["malformed_json", "no_output"])
def test_an_unreadable_success_answer_is_a_clear_error(studio, sim, make_image, fault):
    sim.inject(fault)
    with pytest.raises(errors.UnexpectedResponseError):
        studio.edit(EditRequest.create([make_image()], "x", seed=1))


def test_fewer_images_than_asked_saves_those_that_came(studio, sim, make_image):
    sim.inject("fewer_images", count=2)
    result = studio.edit(EditRequest.create([make_image()], "x", n=4, seed=1))
    assert len(result.images) == 2 and not result.failures


def test_a_result_link_outside_the_allowlist_is_refused_and_never_fetched(studio, sim, make_image):
    sim.inject("foreign_host", index=1)
    result = studio.edit(EditRequest.create([make_image()], "x", n=3, seed=1))

    assert [image.index for image in result.images] == [1, 3]
    (failure,) = result.failures
    assert isinstance(failure, errors.DisallowedHostError)
    assert "evil.example.com" in failure.message("en")


def test_a_download_reset_halfway_is_retried_and_leaves_no_partial_file(studio, sim, make_image):
    sim.inject("download_reset", times=2)
    result = studio.edit(EditRequest.create([make_image()], "x", n=1, seed=1))

    (image,) = result.images
    with Image.open(image.path) as png:
        png.load()
    assert sum(sim.stats.downloads.values()) == 3
    assert not list((studio.store.root / "tmp").iterdir())


def test_a_damaged_result_is_refused_and_nothing_of_it_is_kept_while_the_others_are(studio, sim, make_image):
    sim.inject("download_damaged")
    request = EditRequest.create([make_image(800, 600)], "x", n=2, size="1024*768", seed=1)
    result = studio.edit(request)

    (image,) = result.images
    (failure,) = result.failures
    assert isinstance(failure, errors.DownloadFailedError) and "the PNG is damaged" in failure.message("en")
    with Image.open(image.path) as png:
        png.load()
        assert (image.width, image.height) == png.size == (1024, 768)  # the size read as it streamed
    assert not list((studio.store.root / "tmp").iterdir())
    kept = {path.stem for path in studio.store.objects.rglob("*.png")}
    assert kept == {request.images[0].sha256, image.sha256}


def test_a_download_that_keeps_failing_leaves_nothing_behind(studio, sim, make_image):
    sim.inject("download_reset", times=50)
    request = EditRequest.create([make_image()], "x", n=1, seed=1)
    result = studio.edit(request)

    assert not result.images
    assert isinstance(result.failures[0], errors.DownloadFailedError)
    assert not list((studio.store.root / "tmp").iterdir())
    kept = {path.stem for path in studio.store.objects.rglob("*.png")}
    assert kept == {request.images[0].sha256}  # only the input, kept for re-runs; no half result


def test_an_expired_link_is_a_clear_error_and_is_not_retried(studio, sim, make_image):
    sim.inject("download_expired")
    result = studio.edit(EditRequest.create([make_image()], "x", n=1, seed=1))

    assert isinstance(result.failures[0], errors.LinkExpiredError)
    assert "24 hours" in result.failures[0].message("en")
    assert sum(sim.stats.downloads.values()) == 1


def test_results_are_downloaded_in_parallel(studio, sim, make_image):
    studio.edit(EditRequest.create([make_image()], "x", n=6, seed=1, size="1024*1024"))
    sim.stats.reset()
    sim.configure(bandwidth=2_000_000)  # about half a second per image, so the downloads overlap
    studio.edit(EditRequest.create([make_image()], "y", n=6, seed=2, size="1024*1024"))
    assert sim.stats.max_downloads_in_flight == 6


def test_two_users_with_their_own_keys_and_regions_at_once_do_not_interfere(make_image):
    key_sg, key_bj = "sk-sg-aaaaaaaaaaaa", "sk-bj-bbbbbbbbbbbb"
    with (
        Simulator(latency=0.3, valid_keys={key_sg}) as singapore,
        Simulator(latency=0.3, valid_keys={key_bj}) as beijing,
    ):
        request = EditRequest.create([make_image()], "x", seed=1)
        outcomes: dict[str, object] = {}

        def run(name: str, endpoint: Endpoint) -> None:
            outcomes[name] = call_edit(request, endpoint, timeout=10, retry=FAST_RETRY)

        threads = [
            threading.Thread(target=run, args=("sg", Endpoint(singapore.base_url, "singapore", key_sg))),
            threading.Thread(target=run, args=("bj", Endpoint(beijing.base_url, "beijing", key_bj))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert set(outcomes) == {"sg", "bj"}
        assert [r["authorization"] for r in singapore.stats.requests] == [f"Bearer {key_sg}"]
        assert [r["authorization"] for r in beijing.stats.requests] == [f"Bearer {key_bj}"]


def test_a_configured_key_and_base_url_override_are_used_as_given(sim, tmp_path, make_image):
    env = {"DASHSCOPE_API_KEY": SECRET, "DASHSCOPE_HTTP_BASE_URL": sim.base_url, "QWEN_EDIT_DATA_DIR": str(tmp_path)}
    studio = Studio(Settings.from_env(env), retry=FAST_RETRY)
    assert not studio.simulated

    result = studio.edit(EditRequest.create([make_image()], "x", seed=1))
    assert not result.simulated and len(result.images) == 1
    assert sim.stats.requests[-1]["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    "key",
    [
        "sk-visitor-secret\r\nX-Injected: 1",
        "sk-visitor-secret\n",  # inner: the key is stripped only of surrounding blanks
        "sk-visitor\rsecret",
        "sk-visitor\x00secret",
        "sk-visitor-secret-密钥",
        "sk-visitor secret",
    ],
    ids=["crlf", "trailing-lf-then-more", "cr", "nul", "non-ascii", "inner-space"],
)
def test_a_visitor_key_that_cannot_be_sent_in_a_header_is_refused_before_any_call_and_never_echoed(
    sim, tmp_path, make_image, caplog, key
):
    studio = Studio(Settings(data_dir=tmp_path, api_key=SECRET, base_url_override=sim.base_url), retry=FAST_RETRY)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(errors.MalformedApiKeyError) as caught:
            studio.edit(EditRequest.create([make_image()], "x", seed=1), Caller("visitor", key=key + "x"))

        assert sim.stats.generation_calls == 0
        assert studio.history.list("visitor") == []
        shown = [caught.value.message("en"), caught.value.message("zh"), str(caught.value), repr(caught.value)]
        assert "API key" in shown[0] and "API Key" in shown[1]
        for text in [*shown, caplog.text]:
            assert "visitor" not in text and "secret" not in text
    finally:
        studio.close()


def test_a_visitor_key_is_required_when_the_host_asks_for_it(tmp_path, make_image):
    studio = Studio(Settings(data_dir=tmp_path, require_user_key=True, api_key="sk-host"))
    with pytest.raises(errors.MissingApiKeyError):
        studio.edit(EditRequest.create([make_image()], "x", seed=1))


@pytest.mark.parametrize("fault", ["invalid_key", "reset", "timeout", "throttle", "internal_error"])
def test_the_key_never_appears_in_logs_errors_or_records(sim, tmp_path, make_image, caplog, fault):
    settings = Settings(data_dir=tmp_path, api_key=SECRET, base_url_override=sim.base_url, request_timeout=0.5)
    studio = Studio(settings, retry=FAST_RETRY)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("dashscope").setLevel(logging.DEBUG)
    request = EditRequest.create([make_image()], "x", seed=1)
    sim.inject(fault, times=10, seconds=3)
    with pytest.raises(errors.EditError) as caught:
        studio.edit(request)
    sim.clear_faults()
    result = studio.edit(request)

    assert SECRET not in caplog.text
    assert SECRET not in str(caught.value) and SECRET not in caught.value.message("zh")
    assert SECRET not in repr(studio.endpoint("singapore")) and SECRET not in str(result.record())


def test_history_finds_each_results_thumbnail_made_once_the_edit_is_over(studio, sim, make_image):
    result = studio.edit(EditRequest.create([make_image()], "x", n=1, seed=1))

    (image,) = result.images
    thumbnail = studio.store.thumbs / f"{image.sha256}-320.jpg"
    deadline = time.monotonic() + 10
    while not thumbnail.exists():
        assert time.monotonic() < deadline, "no thumbnail was made after the edit"
        time.sleep(0.05)
