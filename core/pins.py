"""Pins: edits that quota eviction leaves alone while something still uses them (the edit itself while it
runs, an exploration until its last cell is over)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class Pins:
    """Pinned edit ids, each counted by how many holders still pin it; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: Counter[str] = Counter()

    def __contains__(self, edit_id: object) -> bool:
        with self._lock:
            return edit_id in self._holders

    def pin(self, edit_id: str) -> None:
        """One more holder pins `edit_id`."""
        with self._lock:
            self._holders[edit_id] += 1

    def unpin(self, edit_id: str) -> None:
        """One holder lets go of `edit_id`; it is evictable again once no holder is left."""
        with self._lock:
            self._holders[edit_id] -= 1
            if self._holders[edit_id] <= 0:
                del self._holders[edit_id]

    @contextmanager
    def pinned(self, edit_id: str) -> Iterator[None]:
        """`edit_id` is pinned for the duration of the block."""
        self.pin(edit_id)
        try:
            yield
        finally:
            self.unpin(edit_id)


class PinGroup:
    """Edits pinned together and let go of together: the cells of one exploration, until it is over."""

    def __init__(self, pins: Pins) -> None:
        self._pins = pins
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._released = False

    def add(self, edit_id: str) -> None:
        """Pin `edit_id` until `release`; once released, the group pins nothing more."""
        with self._lock:
            if self._released:
                return
            self._pins.pin(edit_id)
            self._ids.append(edit_id)

    def release(self) -> None:
        """Let go of every edit of the group; releasing it again does nothing."""
        with self._lock:
            ids, self._ids, self._released = self._ids, [], True
        for edit_id in ids:
            self._pins.unpin(edit_id)
