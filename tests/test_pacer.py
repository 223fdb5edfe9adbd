"""The pacer's arithmetic and its locking, on its own: turns one interval apart in arrival order, a turn
given back lets the later ones move up, a 429 holds a line back, lines are independent."""

from __future__ import annotations

import threading
import time

import pytest

from core.catalog import RateLimit
from core.pacing import Pacer, Waiting, account_of, interval_of

TWO_A_MINUTE = RateLimit(2, 60)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_an_interval_is_never_shorter_than_the_limit_allows_and_only_a_little_longer():
    for limit in (TWO_A_MINUTE, RateLimit(2, 1), RateLimit(10, 60), RateLimit(1, 30)):
        even = limit.seconds / limit.requests
        assert even < interval_of(limit) <= even * 1.1 + 0.1
    assert interval_of(None) == 0


def test_turns_taken_together_start_one_interval_apart_in_arrival_order(clock):
    line = Pacer(clock).line("account", "qwen-image-edit-max-2026-01-16", TWO_A_MINUTE)
    first, second, third = line.reserve(), line.reserve(), line.reserve()
    step = interval_of(TWO_A_MINUTE)

    assert first.wait == 0 and first.take()
    assert (second.wait, third.wait) == pytest.approx((step, 2 * step))
    clock.now += 10
    assert (second.wait, third.wait) == pytest.approx((step - 10, 2 * step - 10))


def test_a_turn_given_back_lets_the_later_ones_move_up(clock):
    line = Pacer(clock).line("account", "group", TWO_A_MINUTE)
    assert line.reserve().take()
    leaving, staying = line.reserve(), line.reserve()
    step = interval_of(TWO_A_MINUTE)
    assert staying.wait == pytest.approx(2 * step)

    assert leaving.take(cancelled=lambda: True) is False
    assert staying.wait == pytest.approx(step)


def test_a_429_holds_the_line_back_even_without_a_known_limit(clock):
    line = Pacer(clock).line("account", "qwen-image-3.0", None)
    assert line.reserve().wait == line.reserve().wait == 0  # no limit: nothing waits
    line.push_back(12.0)
    assert line.reserve().wait == pytest.approx(12.0)


def test_a_retry_keeps_its_calls_place_before_the_calls_that_came_later(clock):
    line = Pacer(clock).line("account", "group", TWO_A_MINUTE)
    first = line.reserve()
    assert first.take()
    later = line.reserve()
    step = interval_of(TWO_A_MINUTE)
    retry = first.again(after=5)  # due before the later call's turn: it goes first

    assert retry.wait == pytest.approx(step)
    assert later.wait == pytest.approx(2 * step)


def test_a_retry_not_due_yet_holds_back_no_later_call(clock):
    line = Pacer(clock).line("account", "group", TWO_A_MINUTE)
    first = line.reserve()
    assert first.take()
    later = line.reserve()
    step = interval_of(TWO_A_MINUTE)
    retry = first.again(after=step + 5)  # a server error's backoff: that call's own, not the line's

    assert later.wait == pytest.approx(step)
    clock.now += step
    assert later.take() and retry.wait == pytest.approx(step)  # one interval after the later call


def test_lines_are_per_account_and_rate_group(clock):
    pacer = Pacer(clock)
    assert pacer.line("a", "max", TWO_A_MINUTE).reserve().take()
    assert pacer.line("a", "max", TWO_A_MINUTE).reserve().wait > 0
    assert pacer.line("b", "max", TWO_A_MINUTE).reserve().wait == 0
    assert pacer.line("a", "plus", RateLimit(2, 1)).reserve().wait == 0


def test_an_account_is_named_by_a_hash_of_its_key_never_the_key():
    key = "sk-0123456789abcdef"
    assert account_of(key) == account_of(key) != account_of(key + "x")
    assert key not in account_of(key) and "0123456789abcdef" not in account_of(key)


def test_the_waiting_message_says_the_limit_the_model_and_the_seconds_in_english_and_chinese():
    waiting = Waiting("qwen-image-edit-max", TWO_A_MINUTE, 24.2)
    assert waiting.message("en") == (
        "Waiting for DashScope's limit of 2 edits a minute on qwen-image-edit-max — starts in about 25 s"
    )
    assert waiting.message("zh") == "正在等待 DashScope 对 qwen-image-edit-max 的限制（每分钟 2 次）— 约 25 秒后开始"
    assert "3 edits every 10 s" in Waiting("m", RateLimit(3, 10), 1).message("en")
    assert "asked to slow down on qwen-image-3.0" in Waiting("qwen-image-3.0", None, 3).message("en")


def test_waiting_turns_start_in_arrival_order_and_a_wait_holds_no_other_line():
    limit = RateLimit(1, 0.1)  # about one turn every 0.2 s
    pacer = Pacer()
    line = pacer.line("a", "group", limit)
    started: list[int] = []
    turns = [line.reserve() for _ in range(4)]
    threads = [threading.Thread(target=lambda n=n: turns[n].take() and started.append(n)) for n in reversed(range(4))]
    for thread in threads:  # the last turn's thread starts first: arrival in line is what counts
        thread.start()

    began = time.monotonic()
    assert pacer.line("b", "group", limit).reserve().take()  # another account's line is not held
    other_line_took = time.monotonic() - began
    for thread in threads:
        thread.join(10)

    assert started == [0, 1, 2, 3]
    assert other_line_took < interval_of(limit)


def test_closing_the_pacer_ends_every_wait_without_its_turn():
    pacer = Pacer()
    line = pacer.line("a", "group", TWO_A_MINUTE)
    assert line.reserve().take()
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(line.reserve().take()))
    waiter.start()
    pacer.close()
    waiter.join(5)
    assert outcome == [False]


def test_a_waiter_whose_callback_fails_leaves_the_line_and_the_turns_behind_move_up(clock):
    line = Pacer(clock).line("account", "group", TWO_A_MINUTE)
    assert line.reserve().take()
    failing, behind = line.reserve(), line.reserve()

    def broken(_seconds: float) -> None:
        raise RuntimeError("a listener's bug")

    with pytest.raises(RuntimeError):
        failing.take(on_wait=broken)
    assert behind.wait == pytest.approx(interval_of(TWO_A_MINUTE))
