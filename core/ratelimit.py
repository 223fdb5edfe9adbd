"""How many edits a visitor may run on the host's key per hour: counted per owner id and per client IP,
so a visitor cannot reset the count by clearing their browser, and counted in the history database, so
every replica of the app (and a restart) sees the same count."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable

from core import errors
from core.history import History
from core.history.database import Connection

WINDOW = 3600.0
SWEEP_EVERY = 256  # edits counted between two sweeps of counts older than the window


class RateLimiter:
    """A sliding one-hour window per key ("owner:..." and "ip:..."); thread-safe, and shared by every process
    on the same history database."""

    def __init__(self, per_hour: int, history: History, clock: Callable[[], float] = time.time) -> None:
        self.per_hour = per_hour
        self._history = history
        self._clock = clock
        self._counted = itertools.count(1)

    def acquire(self, owner: str, client_ip: str | None) -> str:
        """Count one edit for this visitor and return its ticket (for `release`), or raise RateLimitedError
        saying when the next one is allowed."""
        now, ticket = self._clock(), secrets.token_hex(8)
        keys = _keys(owner, client_ip)
        with self._history.transaction() as db:
            self._full_check(db, keys, now)
            db.executemany(
                "INSERT INTO hourly_edits (key, at, token) VALUES (?, ?, ?)", [(key, now, ticket) for key in keys]
            )
            if next(self._counted) % SWEEP_EVERY == 0:  # forget counts nobody will look at again
                db.execute("DELETE FROM hourly_edits WHERE at <= ?", (now - WINDOW,))
        return ticket

    def release(self, ticket: str) -> None:
        """Give back the edit `acquire` counted with `ticket`: it ended before anything was sent."""
        with self._history.transaction() as db:
            db.execute("DELETE FROM hourly_edits WHERE token = ?", (ticket,))

    def check(self, owner: str, client_ip: str | None) -> None:
        """Raise RateLimitedError when this visitor has no edit left this hour; counts nothing."""
        with self._history.reading() as db:
            self._full_check(db, _keys(owner, client_ip), self._clock())

    def remaining(self, owner: str, client_ip: str | None) -> int:
        """Edits this visitor may still run this hour (the tighter of their owner and address counts)."""
        now = self._clock()
        with self._history.reading() as db:
            used = max(count for count, _ in _windows(db, _keys(owner, client_ip), now))
        return max(0, self.per_hour - used)

    def _full_check(self, db: Connection, keys: list[str], now: float) -> None:
        full = [first for count, first in _windows(db, keys, now) if count >= self.per_hour]
        if full:
            wait = max(first + WINDOW - now for first in full)
            raise errors.RateLimitedError(limit=self.per_hour, minutes=max(1, round(wait / 60)))


def _windows(db: Connection, keys: list[str], now: float) -> list[tuple[int, float]]:
    """For each key, the edits counted in the last hour and when the first of them was."""
    windows = []
    for key in keys:
        count, first = db.execute(
            "SELECT COUNT(*), MIN(at) FROM hourly_edits WHERE key = ? AND at > ?", (key, now - WINDOW)
        ).fetchone()
        windows.append((count, first if first is not None else now))
    return windows


def _keys(owner: str, client_ip: str | None) -> list[str]:
    return [f"owner:{owner}"] + ([f"ip:{client_ip}"] if client_ip else [])
