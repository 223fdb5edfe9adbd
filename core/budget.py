"""MemoryBudget: a bound on the memory that work in this process may hold at once, served in arrival order.

`core.images` holds one for decoding: each decode first holds what its pixels will cost, so many large
images arriving together are decoded in turn rather than all at once.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from core.units import megabytes

logger = logging.getLogger(__name__)


class MemoryBudget:
    """A semaphore weighted in bytes, first come first served.

    `hold(amount)` waits until `amount` fits beside what is already held and every earlier arrival has
    been served, so a large holder is never passed over for ever by a stream of small ones. An amount
    larger than the whole capacity is served alone, once nothing else is held: it waits, but it never
    deadlocks. Waiting holds no lock but the budget's own, which is released while asleep.
    """

    def __init__(self, capacity: int, name: str) -> None:
        self._capacity = _positive(capacity)
        self._name = name
        self._held = 0
        self._waiting: deque[int] = deque()  # tickets, in arrival order
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    @property
    def capacity(self) -> int:
        """Bytes that holders may share at once."""
        return self._capacity

    def resize(self, capacity: int) -> None:
        """Set the capacity; holders keep what they hold, and waiters are served by the new figure."""
        with self._changed:
            self._capacity = _positive(capacity)
            self._changed.notify_all()

    @contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        """Hold `amount` bytes for the body of the `with`, after waiting as long as it takes."""
        self._acquire(amount)
        try:
            yield
        finally:
            self._release(amount)

    def _acquire(self, amount: int) -> None:
        with self._changed:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            try:
                if not self._admits(ticket, amount):
                    logger.info(
                        "%s waits to hold %s: %s of %s held",
                        self._name,
                        megabytes(amount),
                        megabytes(self._held),
                        megabytes(self._capacity),
                    )
                    self._changed.wait_for(lambda: self._admits(ticket, amount))
            finally:
                # Also when the wait is interrupted, or every later arrival would wait behind this ticket.
                self._waiting.remove(ticket)
                self._changed.notify_all()
            self._held += amount

    def _release(self, amount: int) -> None:
        with self._changed:
            self._held -= amount
            self._changed.notify_all()

    def _admits(self, ticket: int, amount: int) -> bool:
        if self._waiting[0] != ticket:
            return False
        return self._held == 0 or self._held + amount <= self._capacity


def _positive(capacity: int) -> int:
    if capacity < 1:
        raise ValueError(f"a budget needs a capacity of at least 1 byte, not {capacity}")
    return capacity
