"""Work that can wait: run on one thread of the lowest priority, once no edit has been under way for a moment,
so it never competes with an edit for the CPU (History's thumbnails: ~50-150 ms each for a 12 MB result)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from core.processes import lower_this_thread

SETTLE = 0.5  # seconds without an edit under way before background work starts
PATIENCE = 30.0  # seconds a task waits for a quiet moment at most: under constant load it runs anyway


class Background:
    """`busy()` around each edit; `submit` work that should wait for a quiet moment."""

    def __init__(self, settle: float = SETTLE, patience: float = PATIENCE) -> None:
        self._settle = settle
        self._patience = patience
        self._busy = 0
        self._last_busy = 0.0
        self._quiet = threading.Condition()
        self._closing = False
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="background", initializer=lower_this_thread)

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark an edit under way for the block."""
        with self._quiet:
            self._busy += 1
        try:
            yield
        finally:
            with self._quiet:
                self._busy -= 1
                self._last_busy = time.monotonic()
                self._quiet.notify_all()

    def submit(self, task: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run `task(*args)` after the current quiet wait, in order."""
        return self._pool.submit(self._when_quiet, task, args)

    def shutdown(self) -> None:
        """Run what is queued (without waiting for quiet) and stop."""
        with self._quiet:
            self._closing = True
            self._quiet.notify_all()
        self._pool.shutdown(wait=True)

    def _when_quiet(self, task: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        deadline = time.monotonic() + self._patience
        with self._quiet:
            while True:
                now = time.monotonic()
                calm = self._busy == 0 and now - self._last_busy >= self._settle
                if calm or now >= deadline or self._closing:
                    break
                wake = deadline if self._busy else min(deadline, self._last_busy + self._settle)
                self._quiet.wait(max(0.01, wake - now))
        return task(*args)
