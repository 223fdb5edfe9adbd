"""MemoryBudget: holders share its capacity, the rest wait in arrival order, and nothing waits for ever."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from core.budget import MemoryBudget

DEADLINE = 30  # seconds; only reached when the behaviour under test is broken


def hold_until(
    budget: MemoryBudget, amount: int, name: str, release: threading.Event
) -> tuple[Future, threading.Event]:
    """Start a thread `name` that holds `amount` until `release` is set; its future and a 'holding' event."""
    holding = threading.Event()

    def run() -> None:
        with budget.hold(amount):
            holding.set()
            assert release.wait(DEADLINE)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future, holding


def test_a_holder_that_does_not_fit_waits_until_room_is_made(budget_waits):
    budget = MemoryBudget(100, name="test")
    done = threading.Event()

    with budget.hold(60):
        future, holding = hold_until(budget, 50, "second", done)
        assert budget_waits.get(timeout=DEADLINE).startswith("second")
        assert not holding.is_set()
    assert holding.wait(DEADLINE)
    done.set()
    future.result(DEADLINE)


def test_holders_that_fit_together_hold_at_once(budget_waits):
    budget = MemoryBudget(100, name="test")
    done = threading.Event()

    with budget.hold(40):
        future, holding = hold_until(budget, 60, "second", done)
        assert holding.wait(DEADLINE)
    done.set()
    future.result(DEADLINE)
    assert budget_waits.empty()


def test_an_amount_larger_than_the_whole_budget_is_served_alone_once_nothing_is_held(budget_waits):
    budget = MemoryBudget(100, name="test")
    big_done, small_done = threading.Event(), threading.Event()

    with budget.hold(10):
        big, big_holding = hold_until(budget, 500, "big", big_done)
        assert budget_waits.get(timeout=DEADLINE).startswith("big")
    assert big_holding.wait(DEADLINE)
    small, small_holding = hold_until(budget, 1, "small", small_done)
    assert budget_waits.get(timeout=DEADLINE).startswith("small")  # even 1 byte waits beside the oversized holder
    big_done.set()
    assert small_holding.wait(DEADLINE)
    small_done.set()
    big.result(DEADLINE)
    small.result(DEADLINE)


def test_a_later_small_arrival_waits_behind_an_earlier_large_one_so_it_is_not_starved(budget_waits):
    budget = MemoryBudget(100, name="test")
    large_done, small_done = threading.Event(), threading.Event()

    with budget.hold(60):
        large, large_holding = hold_until(budget, 50, "large", large_done)
        assert budget_waits.get(timeout=DEADLINE).startswith("large")
        small, small_holding = hold_until(budget, 10, "small", small_done)
        # 60 + 10 fits, but the large holder came first.
        assert budget_waits.get(timeout=DEADLINE).startswith("small")
    assert large_holding.wait(DEADLINE) and small_holding.wait(DEADLINE)  # then 50 + 10 fit together
    large_done.set()
    small_done.set()
    large.result(DEADLINE)
    small.result(DEADLINE)


def test_a_larger_capacity_serves_waiting_holders_at_once(budget_waits):
    budget = MemoryBudget(100, name="test")
    done = threading.Event()

    with budget.hold(80):
        future, holding = hold_until(budget, 50, "second", done)
        assert budget_waits.get(timeout=DEADLINE).startswith("second")
        budget.resize(200)
        assert holding.wait(DEADLINE)
    done.set()
    future.result(DEADLINE)
    assert budget.capacity == 200


def test_an_error_in_the_body_still_gives_the_amount_back():
    budget = MemoryBudget(100, name="test")

    with pytest.raises(RuntimeError), budget.hold(100):
        raise RuntimeError("decoding failed")
    with budget.hold(100):
        pass


@pytest.mark.parametrize("capacity", [0, -1])
def test_a_budget_needs_a_positive_capacity(capacity):
    with pytest.raises(ValueError, match="at least 1 byte"):
        MemoryBudget(capacity, name="test")
