"""The simulator renders an identical request once: later and simultaneous copies reuse its bytes."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import dashscope
import pytest
import requests
from PIL import Image

from core.simulator import Simulator, render
from core.simulator.render import RenderCache

KEY = "sk-render-cache-test"


@pytest.fixture(autouse=True)
def no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The output indexes rendered so far, in the order the renders ran."""
    done: list[int] = []
    original = render._render_one

    def counting(job: render.RenderJob, base: Image.Image, index: int) -> bytes:
        done.append(index)
        return original(job, base, index)

    monkeypatch.setattr(render, "_render_one", counting)
    return done


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


def _data_uri(color: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), color).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _edit(sim: Simulator, *, seed: int, color: tuple[int, int, int] = (200, 40, 40), n: int = 2) -> list[bytes]:
    response = dashscope.MultiModalConversation.call(
        api_key=KEY,
        model="qwen-image-edit-plus",
        messages=[{"role": "user", "content": [{"image": _data_uri(color)}, {"text": "make it blue"}]}],
        base_address=sim.base_url,
        n=n,
        seed=seed,
        size="512*512",
    )
    assert response.status_code == 200, response.message
    links = [item["image"] for item in response.output.choices[0].message.content]
    return [requests.get(link, timeout=10).content for link in links]


def test_an_identical_request_is_answered_with_the_same_bytes_without_rendering_again(
    sim: Simulator, renders: list[int]
) -> None:
    first = _edit(sim, seed=5)
    second = _edit(sim, seed=5)
    assert second == first
    assert sorted(renders) == [0, 1]


def test_another_seed_or_another_input_is_rendered_anew(sim: Simulator, renders: list[int]) -> None:
    first = _edit(sim, seed=5)
    other_seed = _edit(sim, seed=6)
    other_input = _edit(sim, seed=5, color=(40, 200, 40))
    assert other_seed != first and other_input != first
    assert len(renders) == 6


def test_asking_for_more_results_renders_only_the_new_ones(sim: Simulator, renders: list[int]) -> None:
    two = _edit(sim, seed=9, n=2)
    three = _edit(sim, seed=9, n=3)
    assert three[:2] == two
    assert sorted(renders) == [0, 1, 2]


def test_simultaneous_identical_requests_share_one_render(sim: Simulator, renders: list[int]) -> None:
    start = threading.Barrier(6)
    answers: list[list[bytes]] = []

    def one() -> None:
        start.wait()
        answers.append(_edit(sim, seed=11))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6 and all(answer == answers[0] for answer in answers)
    assert sorted(renders) == [0, 1]


def _done(data: bytes) -> Future[bytes]:
    future: Future[bytes] = Future()
    future.set_result(data)
    return future


def test_the_cache_drops_the_least_recently_used_renders_beyond_its_capacity() -> None:
    cache = RenderCache(capacity=25)
    keys = [("digest", "prompt", 1, (512, 512), index) for index in range(3)]
    for key in keys:
        cache.claim(key, lambda: _done(b"x" * 10))
    assert cache.lookup(keys[0]) is None  # 30 bytes > 25: the oldest went
    assert cache.lookup(keys[1]) is not None and cache.lookup(keys[2]) is not None
    cache.lookup(keys[1])  # used again: now the newest
    cache.claim(("digest", "prompt", 1, (512, 512), 3), lambda: _done(b"x" * 10))
    assert cache.lookup(keys[2]) is None and cache.lookup(keys[1]) is not None


def test_a_failed_render_is_not_kept_so_the_next_request_renders_again() -> None:
    cache = RenderCache()
    key = ("digest", "prompt", 1, (512, 512), 0)
    failed: Future[bytes] = Future()
    assert cache.claim(key, lambda: failed) is failed
    failed.set_exception(OSError("disk full"))
    assert cache.lookup(key) is None
    with ThreadPoolExecutor(1) as pool:
        again = cache.claim(key, lambda: pool.submit(lambda: b"png"))
        assert again.result() == b"png"
    assert cache.lookup(key) is again


def test_a_job_without_an_inputs_digest_is_never_cached(renders: list[int]) -> None:
    job = render.RenderJob((Image.new("RGB", (512, 512), "red"),), "make it blue", 1, (512, 512))
    cache = RenderCache()
    with ThreadPoolExecutor(2) as pool:
        render.render_all(job, 2, pool, cache)
        render.render_all(job, 2, pool, cache)
    assert len(renders) == 4 and len(cache) == 0
