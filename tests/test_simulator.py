"""The simulator, as the real dashscope SDK and plain HTTP clients meet it over real sockets."""

from __future__ import annotations

import base64
import io
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import dashscope
import pytest
import requests
from PIL import Image

from core.catalog import DEFAULT_MODEL, INPUT_MAX_BYTES, get_model
from core.simulator import Simulator
from core.simulator.storage import ResultStore

PROMPT_MAX_CHARS = get_model(DEFAULT_MODEL).prompt_max
KEY = "sk-simulator-test"
PROJECT = Path(__file__).resolve().parents[1]


class FakeClock:
    """A wall clock the test moves by hand, so links expire without sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    # The SDK logs every failed call with a traceback; failures are what many of these tests provoke.
    logging.getLogger("dashscope").setLevel(logging.CRITICAL)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    """A simulator on a free loopback port, on a hand-moved clock."""
    with Simulator(clock=clock) as simulator:
        yield simulator


# --- helpers --------------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def data_uri(
    width: int = 512, height: int = 384, colour: tuple[int, int, int] = (200, 80, 40), fmt: str = "PNG"
) -> str:
    data = encode(Image.new("RGB", (width, height), colour), fmt)
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(data).decode()}"


def call(
    sim: Simulator,
    images: list[Any] | None = None,
    text: Any = "make it blue",
    *,
    model: str = DEFAULT_MODEL,
    api_key: str = KEY,
    content: list[Any] | None = None,
    messages: list[Any] | None = None,
    **parameters: Any,
) -> Any:
    """One call through the real SDK, as the app makes it."""
    if content is None:
        content = [{"image": image} for image in (images or [data_uri()])] + [{"text": text}]
    return dashscope.MultiModalConversation.call(
        api_key=api_key,
        model=model,
        messages=messages or [{"role": "user", "content": content}],
        base_address=sim.base_url,
        request_timeout=parameters.pop("request_timeout", 10),
        **parameters,
    )


def links(response: Any) -> list[str]:
    assert response.status_code == HTTPStatus.OK, (response.code, response.message)
    return [item["image"] for item in response.output.choices[0].message.content]


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        return image.size


def refused(response: Any, status: int, code: str, *fragments: str) -> None:
    assert (response.status_code, response.code) == (status, code), response.message
    assert response.output is None and response.request_id
    for fragment in fragments:
        assert fragment in response.message


# --- success --------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_to_three_inputs_give_n_links_to_pngs_of_the_requested_size(sim: Simulator, count: int) -> None:
    images = [data_uri(400 + 100 * i, 500, (60 * i, 90, 200)) for i in range(count)]
    response = call(sim, images, n=2, size="1024*768", seed=3, watermark=False, prompt_extend=True, negative_prompt="x")

    urls = links(response)
    assert len(urls) == 2
    for url in urls:
        download = requests.get(url, timeout=10)
        assert download.status_code == 200 and download.headers["Content-Type"] == "image/png"
        assert int(download.headers["Content-Length"]) == len(download.content)
        assert png_size(download.content) == (1024, 768)
    assert response.usage["image_count"] == 2
    assert (response.usage["width"], response.usage["height"]) == (1024, 768)
    assert (response.usage["input_tokens"], response.usage["output_tokens"], response.usage["characters"]) == (0, 0, 0)


def test_result_links_are_signed_expiring_oss_style_paths_on_the_simulator(sim: Simulator, clock: FakeClock) -> None:
    (url,) = links(call(sim, size="512*512"))
    parts = urlsplit(url)
    query = parse_qs(parts.query)

    assert f"{parts.scheme}://{parts.netloc}" == sim.origin
    assert parts.path.startswith("/oss/") and parts.path.endswith("/0.png")
    assert int(query["Expires"][0]) == int(clock.now + 86400)
    assert query["OSSAccessKeyId"] == ["sim"] and query["Signature"][0]


@pytest.mark.parametrize(("last", "aspect"), [((1200, 600), 2.0), ((600, 900), 2 / 3), ((700, 700), 1.0)])
def test_without_size_the_output_takes_the_last_inputs_aspect_at_about_one_megapixel(
    sim: Simulator, last: tuple[int, int], aspect: float
) -> None:
    response = call(sim, [data_uri(800, 400), data_uri(*last)])
    width, height = response.usage["width"], response.usage["height"]

    assert abs(width / height - aspect) < 0.02
    assert 0.95 < width * height / (1024 * 1024) < 1.05
    assert width % 16 == 0 and height % 16 == 0
    assert png_size(requests.get(links(response)[0], timeout=10).content) == (width, height)


def test_an_extreme_aspect_is_clamped_to_the_size_limits(sim: Simulator) -> None:
    response = call(sim, [data_uri(3072, 384)])
    assert (response.usage["width"], response.usage["height"]) == (2048, 512)


def test_the_same_inputs_prompt_and_seed_give_the_same_bytes(sim: Simulator) -> None:
    def images(seed: int) -> list[bytes]:
        response = call(sim, [data_uri(), data_uri(600, 400, (10, 200, 30))], n=2, size="512*512", seed=seed)
        return [requests.get(url, timeout=10).content for url in links(response)]

    first, again, other = images(3), images(3), images(4)
    assert first == again
    assert first[0] != first[1], "each output of a call differs"
    assert not set(first) & set(other)


def test_a_call_without_seed_gets_a_random_one(sim: Simulator) -> None:
    first, second = (requests.get(links(call(sim, size="512*512"))[0], timeout=10).content for _ in range(2))
    assert first != second


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"])
def test_every_accepted_input_format_is_read(sim: Simulator, fmt: str) -> None:
    assert len(links(call(sim, [data_uri(fmt=fmt)], size="512*512"))) == 1


def test_qwen_image_edit_answers_n_above_one_with_a_single_image(sim: Simulator) -> None:
    response = call(sim, model="qwen-image-edit", n=3)
    assert len(links(response)) == 1 and response.usage["image_count"] == 1


def test_each_call_is_recorded_as_the_sdk_sent_it(sim: Simulator) -> None:
    call(sim, [data_uri(), data_uri()], "改成水彩风格", n=2, size="512*512", seed=3, watermark=False)

    assert sim.stats.generation_calls == 1
    (sent,) = sim.stats.requests
    assert sent["model"] == DEFAULT_MODEL
    assert sent["parameters"] == {"n": 2, "size": "512*512", "seed": 3, "watermark": False}
    assert sent["image_count"] == 2
    assert sent["text"] == "改成水彩风格"
    assert sent["authorization"] == f"Bearer {KEY}"
    sim.stats.reset()
    assert sim.stats.generation_calls == 0 and sim.stats.requests == []


def test_a_prompt_over_the_limit_is_truncated_not_refused(sim: Simulator) -> None:
    response = call(sim, text="x" * (PROMPT_MAX_CHARS + 100), size="512*512")
    assert len(links(response)) == 1


def test_a_result_link_of_the_simulator_is_accepted_as_an_input(sim: Simulator, clock: FakeClock) -> None:
    (previous,) = links(call(sim, size="768*512"))
    response = call(sim, [previous])
    assert (response.usage["width"], response.usage["height"]) == (1248, 832)

    clock.advance(86400 + 1)
    refused(call(sim, [previous]), 400, "InvalidParameter", "Image 1", "Request has expired")


def test_a_successful_call_writes_nothing_to_stderr(sim: Simulator, capfd: pytest.CaptureFixture[str]) -> None:
    links(call(sim, size="512*512"))
    assert capfd.readouterr().err == ""


# --- refusals -------------------------------------------------------------------------------------


def tiny_png_truncated() -> str:
    data = encode(Image.effect_noise((512, 512), 50).convert("RGB"))
    return "data:image/png;base64," + base64.b64encode(data[: len(data) // 2]).decode()


REFUSALS = [
    # (name, call arguments, fragments of the message)
    ("seven images asked", {"n": 7}, ["n must be", "got 7"]),
    ("no image asked", {"n": 0}, ["n must be", "got 0"]),
    ("n as text", {"n": "2"}, ["n must be"]),
    ("size with an x", {"size": "1024x768"}, ["size must be 'width*height'", "1024x768"]),
    ("size too narrow", {"size": "500*1024"}, ["size 500*1024", "between 512 and 2048"]),
    ("size too tall", {"size": "1024*2049"}, ["size 1024*2049"]),
    ("size for qwen-image-edit", {"model": "qwen-image-edit", "size": "1024*1024"}, ["does not accept size"]),
    ("negative seed", {"seed": -1}, ["seed must be", "got -1"]),
    ("seed too large", {"seed": 2_147_483_648}, ["seed must be", "2147483647"]),
    ("long negative prompt", {"negative_prompt": "n" * 501}, ["negative_prompt is 501 characters", "limit is 500"]),
    ("watermark as text", {"watermark": "yes"}, ["watermark must be true or false"]),
    ("no image", {"content": [{"text": "x"}]}, ["At least one image"]),
    ("four images", {"images": [data_uri()] * 4}, ["At most 3 images", "got 4"]),
    ("text first", {"content": [{"text": "x"}, {"image": data_uri()}]}, ["text item must come after"]),
    ("two texts", {"content": [{"image": data_uri()}, {"text": "a"}, {"text": "b"}]}, ["Exactly one text", "got 2"]),
    ("no text", {"content": [{"image": data_uri()}]}, ["Exactly one text", "got 0"]),
    ("empty prompt", {"text": "  "}, ["prompt) is empty"]),
    ("odd item", {"content": [{"image": data_uri(), "text": "x"}]}, ["Content item 1"]),
    (
        "two messages",
        {"messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]},
        ["exactly one user message", "got 2"],
    ),
    ("assistant message", {"messages": [{"role": "assistant", "content": [{"text": "a"}]}]}, ["role 'user'"]),
    ("foreign URL", {"images": ["https://example.com/cat.png"]}, ["Image 1", "could not be downloaded"]),
    ("other scheme", {"images": [data_uri(), "ftp://example.com/cat.png"]}, ["Image 2", "only data: URIs"]),
    ("data URI without base64", {"images": ["data:image/png,abc"]}, ["Image 1", "only base64 data URIs"]),
    ("bad base64", {"images": ["data:image/png;base64,@@@"]}, ["Image 1", "not valid base64"]),
    ("not an image", {"images": ["data:image/png;base64," + base64.b64encode(b"hello").decode()]}, ["not a readable"]),
    ("PPM", {"images": [data_uri(fmt="PPM")]}, ["Image 1", "PPM is not accepted"]),
    ("too small", {"images": [data_uri(), data_uri(300, 500)]}, ["Image 2 is 300x500", "between 384 and 3072"]),
    ("too wide", {"images": [data_uri(3100, 400)]}, ["Image 1 is 3100x400"]),
    ("truncated", {"images": [tiny_png_truncated()]}, ["Image 1", "truncated or corrupt"]),
]


@pytest.mark.parametrize(("arguments", "fragments"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_an_invalid_request_is_refused_with_400_invalid_parameter_saying_what_is_wrong(
    sim: Simulator, arguments: dict[str, Any], fragments: list[str]
) -> None:
    refused(call(sim, **arguments), 400, "InvalidParameter", *fragments)
    assert sim.stats.generation_calls == 1


def test_a_data_uri_over_10_mb_is_refused_before_decoding(sim: Simulator) -> None:
    huge = "data:image/png;base64," + "A" * INPUT_MAX_BYTES
    refused(call(sim, [huge]), 400, "InvalidParameter", "Image 1", "the data URI is", "10 MB")


def test_an_unknown_model_is_404_model_not_exist(sim: Simulator) -> None:
    refused(call(sim, model="qwen-image-edit-ultra"), 404, "Model.NotExist", "qwen-image-edit-ultra")


def test_a_missing_key_is_401_invalid_api_key(sim: Simulator) -> None:
    refused(call(sim, api_key=""), 401, "InvalidApiKey", "No API-key provided")


def test_with_valid_keys_set_any_other_key_is_401(clock: FakeClock) -> None:
    with Simulator(valid_keys={"sk-good"}, clock=clock) as sim:
        assert len(links(call(sim, api_key="sk-good", size="512*512"))) == 1
        refused(call(sim, api_key="sk-other"), 401, "InvalidApiKey", "Invalid API-key provided.")


def test_a_body_that_is_not_json_is_400(sim: Simulator) -> None:
    answer = requests.post(
        sim.base_url + "/services/aigc/multimodal-generation/generation",
        data=b"{not json",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["code"] == "InvalidParameter"


def test_a_chunked_body_is_refused_with_411_and_the_connection_closed(sim: Simulator) -> None:
    answer = requests.post(
        sim.base_url + "/services/aigc/multimodal-generation/generation", data=iter([b"{}"]), timeout=10
    )
    assert answer.status_code == 411 and answer.headers["Connection"] == "close"


# --- generation faults ----------------------------------------------------------------------------

ERROR_FAULTS = [
    ("throttle", 429, "Throttling"),
    ("rate_quota", 429, "Throttling.RateQuota"),
    ("burst_rate", 429, "Throttling.BurstRate"),
    ("allocation_quota", 429, "Throttling.AllocationQuota"),
    ("arrearage", 400, "Arrearage"),
    ("invalid_key", 401, "InvalidApiKey"),
    ("access_denied", 403, "AccessDenied.Unpurchased"),
    ("model_not_exist", 404, "Model.NotExist"),
    ("content_inspection", 400, "DataInspectionFailed"),
    ("invalid_parameter", 400, "InvalidParameter"),
    ("internal_error", 500, "InternalError"),
    ("unavailable", 503, "ServiceUnavailable"),
    ("gateway_timeout", 504, "GatewayTimeout"),
    ("unknown_code", 400, "Some.NewCode"),
]


@pytest.mark.parametrize(("fault", "status", "code"), ERROR_FAULTS)
def test_an_error_fault_reaches_the_sdk_as_status_code_and_message_without_raising(
    sim: Simulator, fault: str, status: int, code: str
) -> None:
    sim.inject(fault)
    refused(call(sim), status, code)
    assert call(sim, size="512*512").status_code == 200, "a fault applies to one call by default"


def test_an_injected_message_replaces_the_default(sim: Simulator) -> None:
    sim.inject("content_inspection", message="Output data may contain inappropriate content.")
    refused(call(sim), 400, "DataInspectionFailed", "Output data may contain")


def test_bad_gateway_is_an_html_page_the_sdk_reports_as_code_unknown(sim: Simulator) -> None:
    sim.inject("bad_gateway")
    response = call(sim)
    assert (response.status_code, response.code) == (502, "Unknown")
    assert "<h1>502 Bad Gateway</h1>" in response.message and response.request_id == ""


def test_a_fault_applies_to_the_next_times_calls_in_order(sim: Simulator) -> None:
    sim.inject("unavailable", times=2)
    sim.inject("throttle")
    assert sim.pending_faults == ["unavailable", "unavailable", "throttle"]

    assert [call(sim, size="512*512").status_code for _ in range(4)] == [503, 503, 429, 200]
    assert sim.pending_faults == []


def test_download_faults_wait_for_a_download_and_generation_faults_for_a_call(sim: Simulator) -> None:
    sim.inject("download_error")
    sim.inject("throttle")
    assert call(sim).status_code == 429
    (url,) = links(call(sim, size="512*512"))
    assert requests.get(url, timeout=10).status_code == 500
    assert requests.get(url, timeout=10).status_code == 200


def test_clear_faults_empties_the_queue(sim: Simulator) -> None:
    sim.inject("throttle", times=3)
    sim.clear_faults()
    assert call(sim, size="512*512").status_code == 200


def test_unknown_faults_and_options_are_refused_but_other_faults_options_are_ignored(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        sim.inject("meteor")
    with pytest.raises(ValueError, match="no fault takes"):
        sim.inject("timeout", secs=3)
    with pytest.raises(ValueError, match="times"):
        sim.inject("throttle", times=0)
    sim.inject("throttle", seconds=3)  # so one parametrized test can pass `seconds` to every fault
    assert sim.pending_faults == ["throttle"]


def test_a_single_reset_is_hidden_by_the_sdks_one_resend_so_the_call_runs_twice(sim: Simulator) -> None:
    sim.inject("reset")
    assert len(links(call(sim, size="512*512"))) == 1
    assert sim.stats.generation_calls == 2


def test_a_reset_on_the_resend_too_raises_connection_error(sim: Simulator) -> None:
    sim.inject("reset", times=2)
    with pytest.raises(requests.exceptions.ConnectionError):
        call(sim)
    assert sim.stats.generation_calls == 2


def test_timeout_holds_the_call_until_the_read_timeout_fires_and_stop_releases_it(clock: FakeClock) -> None:
    sim = Simulator(clock=clock).start()
    sim.inject("timeout")  # holds for 30 s by default
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(sim, request_timeout=0.3)
    assert sim.stats.in_flight == 1

    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1


def test_a_short_timeout_answers_normally_after_holding(sim: Simulator) -> None:
    sim.inject("timeout", seconds=0.2)
    started = time.monotonic()
    assert len(links(call(sim, size="512*512"))) == 1
    assert time.monotonic() - started >= 0.2


def test_malformed_json_makes_the_sdk_raise_a_json_decode_error(sim: Simulator) -> None:
    sim.inject("malformed_json")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        call(sim)


def test_no_output_makes_the_sdk_raise_type_error(sim: Simulator) -> None:
    sim.inject("no_output")
    with pytest.raises(TypeError, match="must be a mapping"):
        call(sim)


@pytest.mark.parametrize(("options", "returned"), [({}, 3), ({"count": 2}, 2), ({"count": 9}, 0)])
def test_fewer_images_returns_that_many_fewer_links(sim: Simulator, options: dict[str, int], returned: int) -> None:
    sim.inject("fewer_images", **options)
    response = call(sim, n=4, size="512*512")
    assert len(links(response)) == returned and response.usage["image_count"] == returned


def test_foreign_host_points_one_link_elsewhere(sim: Simulator) -> None:
    sim.inject("foreign_host", index=1)
    urls = links(call(sim, n=3, size="512*512"))
    assert urls[1] == "https://evil.example.com/x.png"
    assert all(url.startswith(sim.origin) for url in (urls[0], urls[2]))


# --- downloads ------------------------------------------------------------------------------------


@pytest.fixture
def link(sim: Simulator) -> str:
    (url,) = links(call(sim, size="512*512", seed=1))
    return url


def object_path(url: str) -> str:
    return urlsplit(url).path


def test_each_get_of_a_result_is_counted(sim: Simulator, link: str) -> None:
    for _ in range(2):
        requests.get(link, timeout=10)
    assert sim.stats.downloads == {object_path(link): 2}


def test_a_link_expires_after_link_ttl_with_an_oss_style_403(sim: Simulator, clock: FakeClock, link: str) -> None:
    clock.advance(86400)
    assert requests.get(link, timeout=10).status_code == 200
    clock.advance(1.5)

    answer = requests.get(link, timeout=10)
    assert answer.status_code == 403 and answer.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in answer.text and "<Message>Request has expired.</Message>" in answer.text


def test_link_ttl_can_be_shortened_at_run_time(sim: Simulator, clock: FakeClock) -> None:
    sim.configure(link_ttl=60)
    (url,) = links(call(sim, size="512*512"))
    clock.advance(61)
    assert requests.get(url, timeout=10).status_code == 403


def test_a_tampered_link_is_403_and_an_unknown_object_404(clock: FakeClock) -> None:
    with Simulator(clock=clock) as sim:
        (url,) = links(call(sim, size="512*512"))
        parts = urlsplit(url)
        forged = urlunsplit(parts._replace(path=parts.path.replace("/0.png", "/1.png")))
        assert requests.get(forged, timeout=10).status_code == 403

    store = ResultStore(clock)
    assert store.fetch_url(store.sign("http://h", "/oss/none/0.png", 60)).status == 404


def test_the_store_evicts_the_oldest_objects_beyond_its_capacity(clock: FakeClock) -> None:
    store = ResultStore(clock, capacity=10)
    for name in "abc":
        store.put(f"/oss/{name}", b"12345")
    assert store.fetch_url(store.sign("http://h", "/oss/a", 60)).status == 404
    assert store.fetch_url(store.sign("http://h", "/oss/c", 60)) == b"12345"


def test_download_expired_answers_403_once_even_for_a_fresh_link(sim: Simulator, link: str) -> None:
    sim.inject("download_expired")
    assert "Request has expired." in requests.get(link, timeout=10).text
    assert requests.get(link, timeout=10).status_code == 200
    assert sim.stats.downloads == {object_path(link): 2}


def test_download_error_answers_500(sim: Simulator, link: str) -> None:
    sim.inject("download_error")
    answer = requests.get(link, timeout=10)
    assert answer.status_code == 500 and "<Code>InternalError</Code>" in answer.text


def test_download_reset_sends_about_half_then_closes(sim: Simulator, link: str) -> None:
    whole = requests.get(link, timeout=10).content
    sim.inject("download_reset")

    with requests.get(link, stream=True, timeout=10) as answer:
        assert int(answer.headers["Content-Length"]) == len(whole)
        received = bytearray()
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in answer.iter_content(4096):
                received += chunk
    assert 0 < len(received) < len(whole) and whole.startswith(bytes(received))


def test_download_slow_throttles_one_download(sim: Simulator, link: str) -> None:
    size = len(requests.get(link, timeout=10).content)
    bandwidth = size / 0.3
    sim.inject("download_slow", bandwidth=bandwidth)

    started = time.monotonic()
    assert len(requests.get(link, timeout=10).content) == size
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    requests.get(link, timeout=10)
    assert time.monotonic() - started < 0.3


def test_configured_bandwidth_throttles_every_download_and_counts_them_in_flight(sim: Simulator) -> None:
    urls = links(call(sim, n=3, size="512*512", seed=2))
    size = max(len(requests.get(url, timeout=10).content) for url in urls)
    sim.stats.reset()
    sim.configure(bandwidth=size / 0.3)

    started = time.monotonic()
    threads = [threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0.25 <= time.monotonic() - started < 1.5, "each connection gets the bandwidth, not a share"
    # The server counts a download as over once its handler returns, just after the client has the last byte.
    deadline = time.monotonic() + 5
    while sim.stats.downloads_in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.stats.max_downloads_in_flight == 3 and sim.stats.downloads_in_flight == 0


# --- concurrency, latency, lifecycle --------------------------------------------------------------


def test_eight_calls_at_once_are_served_together_within_the_latency(clock: FakeClock) -> None:
    with Simulator(latency=0.5, clock=clock) as sim:
        results: list[Any] = []
        threads = [threading.Thread(target=lambda: results.append(call(sim, size="512*512", seed=1))) for _ in range(8)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started

        assert [response.status_code for response in results] == [200] * 8
        assert 0.5 <= elapsed < 1.5, elapsed
        assert sim.stats.max_in_flight == 8 and sim.stats.in_flight == 0


def test_latency_can_be_changed_at_run_time(sim: Simulator) -> None:
    sim.configure(latency=0.3)
    started = time.monotonic()
    call(sim, size="512*512")
    assert time.monotonic() - started >= 0.3
    with pytest.raises(ValueError, match="latency"):
        sim.configure(latency=-1)


def test_stop_closes_kept_alive_connections_so_the_sdk_cannot_reach_it(clock: FakeClock) -> None:
    sim = Simulator(clock=clock).start()
    links(call(sim, size="512*512"))
    sim.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        call(sim)


def test_two_simulators_in_one_process_keep_their_own_faults_and_stats(clock: FakeClock) -> None:
    with Simulator(clock=clock) as first, Simulator(clock=clock) as second:
        first.inject("throttle")
        assert call(second, size="512*512").status_code == 200
        assert call(first).status_code == 429
        assert (first.stats.generation_calls, second.stats.generation_calls) == (1, 1)


# --- account rate limits -------------------------------------------------------------------------

MAX = "qwen-image-edit-max"


def test_rate_limits_are_off_unless_switched_on(sim: Simulator) -> None:
    assert [call(sim, model=MAX, size="512*512").status_code for _ in range(3)] == [200, 200, 200]
    assert sim.stats.throttled == 0


def test_two_a_minute_lets_one_call_through_every_30_s_and_refuses_a_burst(sim: Simulator, clock: FakeClock) -> None:
    sim.configure(enforce_rate_limits=True)
    assert call(sim, model=MAX, size="512*512").status_code == 200
    refused(call(sim, model=MAX, size="512*512"), 429, "Throttling.BurstRate", "Request rate increased too quickly")
    clock.advance(29.5)
    refused(call(sim, model=MAX, size="512*512"), 429, "Throttling.BurstRate")
    clock.advance(0.5)
    assert call(sim, model=MAX, size="512*512").status_code == 200
    assert sim.stats.throttled == 2 and sim.stats.snapshot()["throttled"] == 2


def test_calls_over_the_window_are_refused_with_rate_quota(sim: Simulator, clock: FakeClock) -> None:
    # 2 a second: a burst of two may go at once, a third within that second is over the limit.
    sim.configure(enforce_rate_limits=True, rate_limits={"qwen-image-edit-plus": "2/1"})
    assert [call(sim, size="512*512").status_code for _ in range(2)] == [200, 200]
    clock.advance(0.5)  # the burst bucket holds one call again; the window still holds two
    refused(call(sim, size="512*512"), 429, "Throttling.RateQuota", "Requests rate limit exceeded")
    clock.advance(0.5)
    assert call(sim, size="512*512").status_code == 200


def test_limits_count_per_key_and_an_alias_shares_its_snapshots(sim: Simulator) -> None:
    sim.configure(enforce_rate_limits=True)
    assert call(sim, model=MAX, size="512*512").status_code == 200
    assert call(sim, model=MAX, size="512*512", api_key="sk-another-account").status_code == 200
    refused(call(sim, model="qwen-image-edit-max-2026-01-16", size="512*512"), 429, "Throttling.BurstRate")
    assert call(sim, model="qwen-image-edit-plus", size="512*512").status_code == 200  # a group of its own


def test_a_limit_set_off_is_not_enforced_and_bad_limits_are_refused(sim: Simulator) -> None:
    sim.configure(enforce_rate_limits=True, rate_limits={MAX: "off"})
    assert [call(sim, model=MAX, size="512*512").status_code for _ in range(3)] == [200, 200, 200]
    with pytest.raises(ValueError, match="unknown model"):
        sim.configure(rate_limits={"qwen-image-9": "2/60"})
    with pytest.raises(ValueError, match="not requests/seconds"):
        sim.configure(rate_limits={MAX: "often"})


# --- control API and command line -----------------------------------------------------------------


def test_the_control_api_queues_and_clears_faults_changes_settings_and_reports_stats(sim: Simulator) -> None:
    control = sim.origin + "/_sim"
    queued = requests.post(f"{control}/faults", json={"fault": "throttle", "times": 2}, timeout=10)
    assert queued.json() == {"pending": ["throttle", "throttle"]}
    assert call(sim).status_code == 429
    assert requests.delete(f"{control}/faults", timeout=10).json() == {"pending": []}
    assert call(sim, size="512*512").status_code == 200

    assert requests.post(f"{control}/faults", json={"fault": "meteor"}, timeout=10).status_code == 400
    settings = requests.post(f"{control}/config", json={"latency": 0.1, "bandwidth": 1e6}, timeout=10).json()
    assert settings == {
        "latency": 0.1,
        "bandwidth": 1e6,
        "link_ttl": 86400.0,
        "enforce_rate_limits": False,
        "rate_limits": {},
        "drift": None,
        "noise": False,
    }
    assert sim.config.latency == 0.1
    assert requests.post(f"{control}/config", json={"noise": True}, timeout=10).json()["noise"] is True
    assert requests.post(f"{control}/config", json={"noise": "yes"}, timeout=10).status_code == 400
    assert requests.post(f"{control}/config", json={"speed": 1}, timeout=10).status_code == 400
    limits = {"enforce_rate_limits": True, "rate_limits": {MAX: "1/10"}}
    settings = requests.post(f"{control}/config", json=limits, timeout=10).json()
    assert settings["enforce_rate_limits"] is True and settings["rate_limits"] == {MAX: "1/10"}
    assert requests.post(f"{control}/config", json={"rate_limits": {MAX: "x"}}, timeout=10).status_code == 400
    assert requests.post(f"{control}/config", json={"rate_limits": [MAX]}, timeout=10).status_code == 400

    stats = requests.get(f"{control}/stats", timeout=10).json()
    assert stats["generation_calls"] == 2 and stats["requests"][0]["model"] == DEFAULT_MODEL
    assert requests.delete(f"{control}/stats", timeout=10).json()["generation_calls"] == 0


def test_python_m_core_simulator_prints_its_base_url_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "core.simulator", "--port", "0", "--latency", "0.2", "--rate-limit", f"{MAX}=1/60"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")
        config = requests.post(base_url.removesuffix("/api/v1") + "/_sim/config", json={}, timeout=10).json()
        assert config["latency"] == 0.2
        assert config["enforce_rate_limits"] is True and config["rate_limits"] == {MAX: "1/60"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
