"""Edits paced under the account's rate limits, through the real SDK against a simulator that enforces them:
waiting instead of failing, visibly, cancellably, per key and rate group; 429s retried, boundedly.

Most tests pace qwen-image-edit-max at 2 per 2 s (one call about every 1.15 s) through QWEN_EDIT_RATE_LIMITS;
those that only need a long wait use the catalog's 2 a minute and cancel it. One test runs the real limit.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from conftest import FAST_RETRY
from gradio_client import Client, handle_file

from core import errors
from core.caller import Caller
from core.client import Endpoint, RetryPolicy, call_edit
from core.request import EditRequest
from core.settings import Settings
from core.simulator import Simulator
from core.studio import Progress, Stage, Studio
from core.workflows.explore import CellState, run_plan
from core.workflows.plan import Plan
from ui.layout import build_app, launch_options

MAX = "qwen-image-edit-max"
FAST_LIMIT = "2/2"  # edit-max's limit in most tests: one call a second (plus the pacer's slack)


def studio_with(sim: Simulator, tmp_path, limits: str = "", retry: RetryPolicy = FAST_RETRY) -> Studio:
    """A simulator-mode studio with QWEN_EDIT_RATE_LIMITS=`limits` (the catalog's limits when empty)."""
    settings = Settings.from_env({"QWEN_EDIT_RATE_LIMITS": limits}, data_dir=tmp_path / "data", simulate=True)
    return Studio(settings, simulator=sim, retry=retry)


@pytest.fixture
def paced(sim: Simulator, tmp_path) -> Iterator[Studio]:
    """edit-max at 2 per 2 s, in the studio and in the simulator, which refuses any call over it."""
    sim.configure(enforce_rate_limits=True, rate_limits={MAX: FAST_LIMIT})
    studio = studio_with(sim, tmp_path, f"{MAX}={FAST_LIMIT}")
    yield studio
    studio.close()


@pytest.fixture
def real_limits(sim: Simulator, tmp_path) -> Iterator[Studio]:
    """The catalog's limits (edit-max 2 a minute), in the studio and in the simulator."""
    sim.configure(enforce_rate_limits=True)
    studio = studio_with(sim, tmp_path)
    yield studio
    studio.close()


@dataclass
class Steps:
    """Progress steps of one edit as they came, with when they came."""

    seen: list[tuple[float, Progress]] = field(default_factory=list)
    waiting_told: threading.Event = field(default_factory=threading.Event)

    def __call__(self, progress: Progress) -> None:
        self.seen.append((time.monotonic(), progress))
        if progress.stage is Stage.WAITING:
            self.waiting_told.set()

    def at(self, stage: Stage) -> list[float]:
        return [when for when, progress in self.seen if progress.stage is stage]

    def waits(self) -> list[Progress]:
        return [progress for _when, progress in self.seen if progress.stage is Stage.WAITING]


def edit_request(make_image: Callable[..., bytes], model: str = MAX, seed: int = 1, prompt: str = "add a hat"):
    return EditRequest.create([make_image()], prompt, model=model, seed=seed, size="512*512")


def edit_in_thread(studio: Studio, request: EditRequest, caller: Caller | None = None, **kwargs):
    """Start `studio.edit` in a thread; return (steps, future)."""
    steps = Steps()
    pool = ThreadPoolExecutor(max_workers=1)
    args = (request,) if caller is None else (request, caller)
    future = pool.submit(studio.edit, *args, on_progress=steps, **kwargs)
    pool.shutdown(wait=False)
    return steps, future


def cancellable() -> tuple[threading.Event, Callable[[], bool]]:
    event = threading.Event()
    return event, event.is_set


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the headline: an exploration under the real limit ------------------------------------------------


def test_a_3_cell_exploration_on_edit_max_finishes_under_2_a_minute_with_no_failure_and_no_429(
    real_limits, sim, make_image
):
    plan = Plan.create([make_image()], "a red hat", seeds=[1, 2, 3], models=MAX, sizes=["512*512"], max_cells=48)
    told: list[Progress] = []
    run = run_plan(real_limits, plan, on_progress=lambda _cell, step: told.append(step))
    outcomes = run.wait(timeout=180)  # two waits of about 31.6 s: the limit is one call every 30 s

    assert [outcome.state for outcome in outcomes] == [CellState.DONE] * 3
    assert sim.stats.generation_calls == 3 and sim.stats.throttled == 0
    waits = [step.waiting for step in told if step.stage is Stage.WAITING and step.waiting]
    assert waits and "limit of 2 edits a minute on qwen-image-edit-max" in waits[0].message("en")


# --- spacing ------------------------------------------------------------------------------------------


def test_edits_sent_together_on_one_key_go_one_interval_apart_and_none_is_refused(paced, sim, make_image):
    started = [edit_in_thread(paced, edit_request(make_image, seed=seed)) for seed in (1, 2, 3)]
    results = [future.result(timeout=30) for _steps, future in started]

    sent = sorted(steps.at(Stage.CALLING)[0] for steps, _future in started)
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert all(len(result.images) == 1 for result in results)
    assert sim.stats.throttled == 0  # the simulator refuses any call less than a second after the last
    assert all(1.0 <= gap < 2.0 for gap in gaps), gaps  # evenly: one interval each, not all at the end
    assert sum(bool(steps.waits()) for steps, _future in started) == 2  # the first went at once


def test_edit_api_calls_at_once_are_paced_and_none_is_refused(sim, tmp_path, make_image):
    sim.configure(enforce_rate_limits=True, rate_limits={MAX: FAST_LIMIT})
    studio = studio_with(sim, tmp_path, f"{MAX}={FAST_LIMIT}")
    demo = build_app(studio, browser_secret="test-secret")
    demo.queue(default_concurrency_limit=8)
    options = launch_options(studio)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, **options)
    image = tmp_path / "in.png"
    image.write_bytes(make_image())
    client = Client(demo.local_url, verbose=False)
    try:
        jobs = [
            client.submit(
                image_1=handle_file(str(image)),
                prompt="add a hat",
                model=MAX,
                size="512*512",
                seed=seed,
                api_name="/edit",
            )
            for seed in (1, 2)
        ]
        records = [job.result(timeout=60)[1] for job in jobs]
    finally:
        client.close()
        demo.close()
        studio.close()

    assert [len(record["files"]) for record in records] == [1, 1]
    assert sim.stats.generation_calls == 2 and sim.stats.throttled == 0


# --- what a waiting visitor sees, and cancelling the wait ------------------------------------------


def test_a_waiting_edit_is_told_how_long_before_it_waits_and_each_second_after(real_limits, sim, make_image):
    real_limits.edit(edit_request(make_image))
    stop, cancelled = cancellable()
    steps, future = edit_in_thread(real_limits, edit_request(make_image, seed=2), cancelled=cancelled)
    assert steps.waiting_told.wait(10)
    first = steps.waits()[0].waiting
    assert wait_until(lambda: len(steps.waits()) >= 3)  # the countdown is told each second
    stop.set()
    with pytest.raises(errors.PacingCancelledError):
        future.result(timeout=10)

    assert steps.seen[0][1].stage is Stage.WAITING  # told before anything else: nothing is sent while it waits
    assert first.limit is not None and 29 <= first.seconds <= 32
    assert first.message("en").startswith("Waiting for DashScope's limit of 2 edits a minute on qwen-image-edit-max")
    assert "— starts in about 3" in first.message("en")
    assert "每分钟 2 次" in first.message("zh") and "秒后开始" in first.message("zh")
    told = [step.waiting.seconds for step in steps.waits()]
    assert told == sorted(told, reverse=True) and told[0] - told[-1] >= 1.5
    assert not steps.at(Stage.CALLING)


def test_cancelling_a_waiting_edit_sends_nothing_bills_nothing_and_history_says_so(real_limits, sim, make_image):
    real_limits.edit(edit_request(make_image))
    stop, cancelled = cancellable()
    steps, future = edit_in_thread(real_limits, edit_request(make_image, seed=2), cancelled=cancelled)
    assert steps.waiting_told.wait(10)
    stop.set()
    with pytest.raises(errors.PacingCancelledError) as caught:
        future.result(timeout=5)

    assert sim.stats.generation_calls == 1
    cancelled_edit, done = real_limits.history.list("local")  # newest first
    assert (cancelled_edit.status, done.status) == ("cancelled", "done")
    assert cancelled_edit.outputs == () and caught.value.message("en") in cancelled_edit.error
    assert "nothing was billed" in cancelled_edit.error


def test_cancelling_a_waiting_edit_gives_its_turn_to_the_one_behind_it(real_limits, sim, make_image):
    real_limits.edit(edit_request(make_image))
    stops = [threading.Event(), threading.Event()]
    second = edit_in_thread(real_limits, edit_request(make_image, seed=2), cancelled=stops[0].is_set)
    assert second[0].waiting_told.wait(10)
    third = edit_in_thread(real_limits, edit_request(make_image, seed=3), cancelled=stops[1].is_set)
    assert third[0].waiting_told.wait(10)
    behind = third[0].waits()[-1].waiting.seconds

    stops[0].set()
    with pytest.raises(errors.PacingCancelledError):
        second[1].result(timeout=5)
    wait_until(lambda: third[0].waits()[-1].waiting.seconds < behind - 20, timeout=5)
    moved_up = third[0].waits()[-1].waiting.seconds
    stops[1].set()
    with pytest.raises(errors.PacingCancelledError):
        third[1].result(timeout=5)

    assert 60 <= behind <= 65  # two intervals of about 31.6 s
    assert 25 <= moved_up <= 32  # one
    assert sim.stats.generation_calls == 1


def test_an_address_with_its_most_edits_waiting_is_refused_unsent_and_others_still_wait(sim, tmp_path, make_image):
    # Each waiting edit holds one of the site's places for edits: one visitor's line of them must not hold all.
    sim.configure(enforce_rate_limits=True)
    settings = Settings.from_env({"QWEN_EDIT_MAX_WAITING": "2"}, data_dir=tmp_path / "data", simulate=True)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    visitor, other = Caller("visitor", address="203.0.113.7"), Caller("other", address="198.51.100.9")
    stop, cancelled = cancellable()
    try:
        studio.edit(edit_request(make_image, seed=1), visitor)  # sent at once: edit-max's next turn is 30 s away
        waiting = [
            edit_in_thread(studio, edit_request(make_image, seed=s), visitor, cancelled=cancelled) for s in (2, 3)
        ]
        assert all(steps.waiting_told.wait(10) for steps, _future in waiting)
        with pytest.raises(errors.TooManyWaitingError) as refused:
            studio.edit(edit_request(make_image, seed=4), visitor)
        others, other_done = edit_in_thread(studio, edit_request(make_image, seed=5), other, cancelled=cancelled)
        assert others.waiting_told.wait(10)  # another address still takes its place in the line
        stop.set()
        for _steps, future in [*waiting, (others, other_done)]:
            with pytest.raises(errors.PacingCancelledError):
                future.result(timeout=5)
        assert studio.wait_cap.enter(visitor.address)  # their places were given back
    finally:
        studio.close()

    assert "2 edits waiting" in refused.value.message("en") and "2 个编辑" in refused.value.message("zh")
    assert sim.stats.generation_calls == 1
    assert [row.status for row in studio.history.list("visitor")] == ["cancelled", "cancelled", "done"]


def test_closing_the_studio_ends_waiting_edits_unsent(sim, tmp_path, make_image):
    studio = studio_with(sim, tmp_path)
    studio.edit(edit_request(make_image))
    steps, future = edit_in_thread(studio, edit_request(make_image, seed=2))
    assert steps.waiting_told.wait(10)
    began = time.monotonic()
    studio.close()

    assert time.monotonic() - began < 5
    with pytest.raises(errors.PacingCancelledError):
        future.result(timeout=1)
    assert sim.stats.generation_calls == 1


# --- accounts and rate groups ---------------------------------------------------------------------------


def test_two_keys_are_paced_independently(real_limits, sim, make_image):
    first, second = Caller("visitor-1", "sk-account-one"), Caller("visitor-2", "sk-account-two")
    runs = [
        edit_in_thread(real_limits, edit_request(make_image, seed=n), caller)
        for n, caller in enumerate([first, second])
    ]
    assert all(len(future.result(timeout=30).images) == 1 for _steps, future in runs)
    assert not any(steps.waits() for steps, _future in runs)

    stop, cancelled = cancellable()
    again, future = edit_in_thread(real_limits, edit_request(make_image, seed=3), first, cancelled=cancelled)
    assert again.waiting_told.wait(10)  # the first key's next call waits for its own turn
    stop.set()
    with pytest.raises(errors.PacingCancelledError):
        future.result(timeout=5)
    assert sim.stats.generation_calls == 2 and sim.stats.throttled == 0


def test_an_alias_and_its_snapshot_share_one_limit_and_other_models_do_not(real_limits, sim, make_image):
    real_limits.edit(edit_request(make_image, model=MAX))
    plus = Steps()
    real_limits.edit(edit_request(make_image, model="qwen-image-edit-plus"), on_progress=plus)
    assert not plus.waits()

    stop, cancelled = cancellable()
    snapshot = "qwen-image-edit-max-2026-01-16"
    steps, future = edit_in_thread(real_limits, edit_request(make_image, model=snapshot), cancelled=cancelled)
    assert steps.waiting_told.wait(10)
    stop.set()
    with pytest.raises(errors.PacingCancelledError):
        future.result(timeout=5)
    assert f"on {snapshot}" in steps.waits()[0].waiting.message("en")
    assert sim.stats.generation_calls == 2 and sim.stats.throttled == 0


# --- 429s -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["burst_rate", "rate_quota"])
def test_a_429_is_retried_and_the_edit_succeeds(studio, sim, make_image, fault):
    sim.inject(fault, times=2)
    steps = Steps()
    result = studio.edit(edit_request(make_image, model="qwen-image-edit-plus"), on_progress=steps)

    assert len(result.images) == 1 and result.attempts == 3
    retries = [progress.retry for _when, progress in steps.seen if progress.stage is Stage.RETRYING]
    assert [retry.attempt for retry in retries] == [1, 2] and all(retry.throttled for retry in retries)
    assert "Throttling." in retries[0].reason


def test_a_429_holds_back_the_other_calls_of_that_key_and_model_even_if_the_refused_one_is_cancelled(
    sim, tmp_path, make_image
):
    # No limit known for the model: nothing is paced until DashScope says 429.
    slow = RetryPolicy(throttled_base_delay=2.0, throttled_max_delay=2.0)  # the retry is due after 1 to 2 s
    studio = studio_with(sim, tmp_path, "qwen-image-edit-plus=off", retry=slow)
    sim.inject("rate_quota")
    stop, cancelled = cancellable()
    try:
        first, first_done = edit_in_thread(
            studio, edit_request(make_image, model="qwen-image-edit-plus", prompt="one"), cancelled=cancelled
        )
        assert wait_until(lambda: bool(first.at(Stage.RETRYING)))
        stop.set()  # the refused call gives up while it waits to retry
        with pytest.raises(errors.PacingCancelledError):
            first_done.result(timeout=5)
        second = Steps()
        studio.edit(edit_request(make_image, model="qwen-image-edit-plus", prompt="two"), on_progress=second)
    finally:
        studio.close()

    refused_at = first.at(Stage.RETRYING)[0]
    refused = next(p.retry for _when, p in first.seen if p.stage is Stage.RETRYING)
    assert [request["text"] for request in sim.stats.requests] == ["one", "two"]
    assert second.at(Stage.CALLING)[0] >= refused_at + refused.delay - 0.05  # not before the 429's delay was over
    told = second.waits()[0].waiting
    assert told.limit is None and "asked to slow down on qwen-image-edit-plus" in told.message("en")
    done, gave_up = studio.history.list("local")  # newest first
    assert (gave_up.status, gave_up.prompt, done.status) == ("cancelled", "one", "done")  # refused: not billed


class SteadyRetry(RetryPolicy):
    """Retries a failing service after exactly 2 s (no jitter), so a test knows when the retry is due."""

    def delay(self, failed_attempts: int, *, throttled: bool = False) -> float:
        return 2.0


def test_a_retry_after_a_server_error_holds_back_no_other_call_of_that_key(sim, tmp_path, make_image):
    # qwen-image-2.0 has no known limit: nothing waits unless DashScope says 429. A 500 is the service's
    # trouble with one call, not a request to slow down: the next call goes at once, and is not told otherwise.
    studio = studio_with(sim, tmp_path, retry=SteadyRetry())
    sim.inject("internal_error")
    try:
        first, first_done = edit_in_thread(studio, edit_request(make_image, model="qwen-image-2.0", prompt="one"))
        assert wait_until(lambda: bool(first.at(Stage.RETRYING)))
        time.sleep(0.2)  # the refused call now waits to retry
        second = Steps()
        studio.edit(edit_request(make_image, model="qwen-image-2.0", prompt="two"), on_progress=second)
        sent_second = time.monotonic()
        first_done.result(timeout=10)
    finally:
        studio.close()

    assert second.waits() == []
    assert sent_second < first.at(Stage.RETRYING)[0] + 2.0
    assert [request["text"] for request in sim.stats.requests] == ["one", "two", "one"]


def test_retrying_429s_stops_within_75_s_and_never_resends_at_once(sim, make_image):
    sim.inject("burst_rate", times=20)
    waits: list[float] = []
    endpoint = Endpoint(sim.base_url, "singapore", "sk-test", simulated=True)
    with pytest.raises(errors.ThrottledError):
        call_edit(edit_request(make_image, model="qwen-image-edit-plus"), endpoint, timeout=10, sleep=waits.append)

    assert sim.stats.generation_calls == len(waits) + 1 <= RetryPolicy().throttled_attempts
    assert 60 <= sum(waits) <= 75 and max(waits) <= 60  # about the service's minute to recover, and no more
    assert waits[0] >= 2.5  # never re-sent at once into a limit


@pytest.mark.parametrize(("times", "outcome"), [(1, "succeeds"), (2, "quota")])
def test_allocation_quota_is_retried_once_after_a_minute_then_reported_as_a_used_up_quota(
    sim, make_image, times, outcome
):
    sim.inject("allocation_quota", times=times)
    waits: list[float] = []
    endpoint = Endpoint(sim.base_url, "singapore", "sk-test", simulated=True)
    request = edit_request(make_image, model="qwen-image-edit-plus")
    if outcome == "succeeds":
        assert call_edit(request, endpoint, timeout=10, sleep=waits.append).attempts == 2
    else:
        with pytest.raises(errors.QuotaExhaustedError):
            call_edit(request, endpoint, timeout=10, sleep=waits.append)
    assert waits == [60.0] and sim.stats.generation_calls == 2


def test_an_edit_cancelled_while_waiting_gives_back_the_hourly_allowance_it_counted(sim, tmp_path, make_image):
    """On the host's key a visitor's hour counts edits sent: one that ended in the queue for DashScope's
    limit spent nothing."""
    settings = Settings(data_dir=tmp_path, api_key="sk-host", base_url_override=sim.base_url, rate_limit_per_hour=3)
    studio = Studio(settings, retry=FAST_RETRY)
    visitor = Caller("visitor", address="10.0.0.7")
    try:
        studio.edit(edit_request(make_image), visitor)
        assert studio.allowance(visitor) == 2
        stop, cancelled = cancellable()
        steps, future = edit_in_thread(studio, edit_request(make_image, seed=2), visitor, cancelled=cancelled)
        assert steps.waiting_told.wait(10)
        assert studio.allowance(visitor) == 1  # counted while it waits
        stop.set()
        with pytest.raises(errors.PacingCancelledError):
            future.result(timeout=5)
        assert studio.allowance(visitor) == 2 and sim.stats.generation_calls == 1
    finally:
        studio.close()
