"""How many edits a visitor may run on the host's key per hour: counted per owner id and per client IP,
so a visitor cannot reset the count by clearing their browser."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from core import errors

WINDOW = 3600.0
SWEEP_EVERY = 256  # edits counted between two sweeps of idle keys


class RateLimiter:
    """A sliding one-hour window per key ("owner:..." and "ip:..."); thread-safe."""

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self._clock = clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._since_sweep = 0

    def acquire(self, owner: str, client_ip: str | None) -> None:
        """Count one edit for this visitor, or raise RateLimitedError saying when the next one is allowed."""
        now = self._clock()
        with self._lock:
            windows = self._full_check(owner, client_ip, now)
            for window in windows:
                window.append(now)
            self._sweep(now)

    def release(self, owner: str, client_ip: str | None) -> None:
        """Give back the edit `acquire` counted last for this visitor: it ended before anything was sent."""
        with self._lock:
            for key in _keys(owner, client_ip):
                window = self._seen.get(key)
                if window:
                    window.pop()

    def check(self, owner: str, client_ip: str | None) -> None:
        """Raise RateLimitedError when this visitor has no edit left this hour; counts nothing."""
        with self._lock:
            self._full_check(owner, client_ip, self._clock())

    def _full_check(self, owner: str, client_ip: str | None, now: float) -> list[deque[float]]:
        windows = [self._window(key, now) for key in _keys(owner, client_ip)]
        full = [w for w in windows if len(w) >= self.per_hour]
        if full:
            wait = max(w[0] + WINDOW - now for w in full)
            raise errors.RateLimitedError(limit=self.per_hour, minutes=max(1, round(wait / 60)))
        return windows

    def remaining(self, owner: str, client_ip: str | None) -> int:
        """Edits this visitor may still run this hour (the tighter of their owner and address counts)."""
        now = self._clock()
        with self._lock:
            return max(0, self.per_hour - max(len(self._window(key, now)) for key in _keys(owner, client_ip)))

    def _sweep(self, now: float) -> None:
        """Forget keys with nothing in the last hour, now and then: owners of one API call each would
        otherwise pile up for as long as the process runs."""
        self._since_sweep += 1
        if self._since_sweep < SWEEP_EVERY:
            return
        self._since_sweep = 0
        for key in [key for key, window in self._seen.items() if not window or window[-1] <= now - WINDOW]:
            del self._seen[key]

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._seen[key]
        while window and window[0] <= now - WINDOW:
            window.popleft()
        return window


def _keys(owner: str, client_ip: str | None) -> list[str]:
    return [f"owner:{owner}"] + ([f"ip:{client_ip}"] if client_ip else [])
