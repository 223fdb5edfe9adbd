"""What the simulator has seen: counters a test or benchmark can read while requests are in flight."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class SimulatorStats:
    """Thread-safe counters; every read returns a copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation_calls = 0
        self._throttled = 0
        self._requests: list[dict[str, Any]] = []
        self._downloads: Counter[str] = Counter()
        self._in_flight = 0
        self._max_in_flight = 0
        self._downloads_in_flight = 0
        self._max_downloads_in_flight = 0
        self._upload_policies = 0
        self._uploads: list[dict[str, Any]] = []

    @property
    def generation_calls(self) -> int:
        """POSTs to the generation endpoint, whatever their outcome (faults and refusals included)."""
        with self._lock:
            return self._generation_calls

    @property
    def throttled(self) -> int:
        """Generation calls answered 429 (rate limits and injected throttling faults)."""
        with self._lock:
            return self._throttled

    def count_throttled(self) -> None:
        """Count one 429 answer."""
        with self._lock:
            self._throttled += 1

    @property
    def requests(self) -> list[dict[str, Any]]:
        """One dict per generation call: model, parameters, image_count, image_digests, text, authorization."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    @property
    def downloads(self) -> dict[str, int]:
        """Object path -> number of GETs for it, whatever the answer (expired, cut short, served)."""
        with self._lock:
            return dict(self._downloads)

    @property
    def upload_policies(self) -> int:
        """Upload policies handed out (`GET …/uploads?action=getPolicy`): the first step of every SDK upload."""
        with self._lock:
            return self._upload_policies

    @property
    def uploads(self) -> list[dict[str, Any]]:
        """One dict per file uploaded to the simulator's storage: key, filename, bytes, sha256, content_type,
        model, authorization (of the policy request)."""
        with self._lock:
            return [dict(entry) for entry in self._uploads]

    @property
    def downloads_in_flight(self) -> int:
        """Result GETs being answered right now."""
        with self._lock:
            return self._downloads_in_flight

    @property
    def max_downloads_in_flight(self) -> int:
        """The most result GETs answered at once since the last reset."""
        with self._lock:
            return self._max_downloads_in_flight

    @property
    def in_flight(self) -> int:
        """Generation calls being handled right now."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most generation calls handled at once since the last reset."""
        with self._lock:
            return self._max_in_flight

    def reset(self) -> None:
        """Forget everything seen so far (requests still in flight stay counted as in flight)."""
        with self._lock:
            self._generation_calls = 0
            self._throttled = 0
            self._requests.clear()
            self._downloads.clear()
            self._upload_policies = 0
            self._uploads.clear()
            self._max_in_flight = self._in_flight
            self._max_downloads_in_flight = self._downloads_in_flight

    def snapshot(self) -> dict[str, Any]:
        """All counters as one JSON-ready dict."""
        with self._lock:
            return {
                "generation_calls": self._generation_calls,
                "throttled": self._throttled,
                "requests": [dict(entry) for entry in self._requests],
                "downloads": dict(self._downloads),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "downloads_in_flight": self._downloads_in_flight,
                "max_downloads_in_flight": self._max_downloads_in_flight,
                "upload_policies": self._upload_policies,
                "uploads": [dict(entry) for entry in self._uploads],
            }

    @contextmanager
    def generation_call(self, entry: dict[str, Any]) -> Iterator[None]:
        """Count one generation call, recorded as `entry`, as in flight for the duration of the block."""
        with self._lock:
            self._generation_calls += 1
            self._requests.append(entry)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    @contextmanager
    def download(self, path: str) -> Iterator[None]:
        """Count one GET of `path`, as in flight for the duration of the block."""
        with self._lock:
            self._downloads[path] += 1
            self._downloads_in_flight += 1
            self._max_downloads_in_flight = max(self._max_downloads_in_flight, self._downloads_in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._downloads_in_flight -= 1

    def record_upload_policy(self) -> None:
        """Count one upload policy handed out."""
        with self._lock:
            self._upload_policies += 1

    def record_upload(self, entry: dict[str, Any]) -> None:
        """Record one file uploaded."""
        with self._lock:
            self._uploads.append(entry)
