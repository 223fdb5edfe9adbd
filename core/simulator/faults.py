"""Fault injection: the failures the simulator can be told to produce, and the queue that holds them."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.simulator.config import is_number
from core.simulator.protocol import ErrorAnswer

Kind = Literal["generation", "download"]


# Generation faults that are simply an error answer; `message` may be overridden per injection.
ERROR_FAULTS: Mapping[str, ErrorAnswer] = {
    "throttle": ErrorAnswer(429, "Throttling", "Requests rate limit exceeded, please try again later."),
    "rate_quota": ErrorAnswer(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
    "burst_rate": ErrorAnswer(429, "Throttling.BurstRate", "Request rate increased too quickly."),
    "allocation_quota": ErrorAnswer(429, "Throttling.AllocationQuota", "Free allocated quota exceeded."),
    "arrearage": ErrorAnswer(400, "Arrearage", "Access denied, please make sure your account is in good standing."),
    "invalid_key": ErrorAnswer(401, "InvalidApiKey", "Invalid API-key provided."),
    "access_denied": ErrorAnswer(
        403, "AccessDenied.Unpurchased", "Access to model denied. Please make sure you are eligible."
    ),
    "free_tier_only": ErrorAnswer(
        403,
        "AllocationQuota.FreeTierOnly",
        "The free tier of the model has been exhausted. If you wish to continue access the model on a paid basis, "
        'please disable the "use free tier only" mode in the management console.',
    ),
    "model_access_denied": ErrorAnswer(403, "Model.AccessDenied", "Model access denied."),
    "workspace_access_denied": ErrorAnswer(
        403, "Workspace.AccessDenied", "Workspace access denied: the workspace has no permission for this model."
    ),
    "model_not_exist": ErrorAnswer(404, "Model.NotExist", "Model not exist."),
    "content_inspection": ErrorAnswer(400, "DataInspectionFailed", "Input data may contain inappropriate content."),
    "invalid_parameter": ErrorAnswer(400, "InvalidParameter", "The parameter is invalid (injected fault)."),
    "internal_error": ErrorAnswer(500, "InternalError", "An internal error has occurred, please try again later."),
    "unavailable": ErrorAnswer(503, "ServiceUnavailable", "The service is temporarily unavailable."),
    "gateway_timeout": ErrorAnswer(504, "GatewayTimeout", "The request timed out at the gateway."),
    "unknown_code": ErrorAnswer(400, "Some.NewCode", "A failure this client has never seen before."),
}

# Every fault: its kind and the options it takes, with their defaults.
FAULT_OPTIONS: Mapping[str, tuple[Kind, Mapping[str, Any]]] = {
    **{name: ("generation", {"message": None}) for name in ERROR_FAULTS},
    "bad_gateway": ("generation", {}),
    "timeout": ("generation", {"seconds": 30.0}),
    "reset": ("generation", {}),
    "malformed_json": ("generation", {}),
    "no_output": ("generation", {}),
    "fewer_images": ("generation", {"count": 1}),
    "foreign_host": ("generation", {"index": 0, "url": "https://evil.example.com/x.png"}),
    "download_reset": ("download", {}),
    "download_slow": ("download", {"bandwidth": 64 * 1024.0}),
    "download_expired": ("download", {}),
    "download_error": ("download", {}),
    "download_redirect": ("download", {"url": None}),
    "download_damaged": ("download", {}),  # served whole, with one byte of its image data flipped
}
KNOWN_OPTIONS = frozenset(option for _, options in FAULT_OPTIONS.values() for option in options)


@dataclass(frozen=True)
class Fault:
    """One queued fault: its name and its options (defaults filled in)."""

    name: str
    options: Mapping[str, Any]

    @property
    def kind(self) -> Kind:
        return FAULT_OPTIONS[self.name][0]

    def error(self) -> ErrorAnswer:
        """The error answer of an ERROR_FAULTS fault, with its message override applied."""
        answer = ERROR_FAULTS[self.name]
        message = self.options.get("message")
        return ErrorAnswer(answer.status, answer.code, message) if message else answer


def make_fault(name: str, options: Mapping[str, Any]) -> Fault:
    """A Fault named `name`, ValueError for an unknown name or option, or a bad option value.

    Options that only other faults take are ignored, so one call can be parametrized over faults
    (`inject(fault, times=3, seconds=1)` for "timeout" and "throttle" alike).
    """
    if name not in FAULT_OPTIONS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_OPTIONS)}")
    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        raise ValueError(f"no fault takes the option(s) {', '.join(sorted(unknown))}")
    defaults = FAULT_OPTIONS[name][1]
    merged = {key: options.get(key, default) for key, default in defaults.items()}
    for key in ("seconds", "bandwidth"):
        if key in merged and not (is_number(merged[key]) and merged[key] > 0):
            raise ValueError(f"fault {name!r}: {key} must be a positive number")
    for key in ("count", "index"):
        if key in merged and not (is_number(merged[key]) and isinstance(merged[key], int) and merged[key] >= 0):
            raise ValueError(f"fault {name!r}: {key} must be a whole number >= 0")
    if merged.get("url") is not None and not isinstance(merged["url"], str):
        raise ValueError(f"fault {name!r}: url must be text")
    return Fault(name, merged)


class FaultQueue:
    """Thread-safe FIFO of faults; each request takes the oldest fault of its own kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()

    def add(self, fault: Fault, times: int) -> None:
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ValueError(f"times must be a whole number >= 1, not {times!r}")
        with self._lock:
            self._faults.extend([fault] * times)

    def take(self, kind: Kind) -> Fault | None:
        """Remove and return the oldest queued fault of `kind`, or None."""
        with self._lock:
            for position, fault in enumerate(self._faults):
                if fault.kind == kind:
                    del self._faults[position]
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[str]:
        """Names of the queued faults, oldest first."""
        with self._lock:
            return [fault.name for fault in self._faults]
