"""The simulator's knobs that can change while it runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RuntimeConfig:
    """Latency of a generation, download bandwidth and result-link lifetime; replaced whole on change."""

    latency: float = 0.0  # seconds a successful generation takes at least
    bandwidth: float | None = None  # bytes/s per download connection; None = unthrottled
    link_ttl: float = 86400.0  # seconds a result link lives

    def __post_init__(self) -> None:
        if not is_number(self.latency) or self.latency < 0:
            raise ValueError(f"latency must be a number of seconds >= 0, not {self.latency!r}")
        if self.bandwidth is not None and (not is_number(self.bandwidth) or self.bandwidth <= 0):
            raise ValueError(f"bandwidth must be bytes/s > 0 or None, not {self.bandwidth!r}")
        if not is_number(self.link_ttl) or self.link_ttl < 0:
            raise ValueError(f"link_ttl must be a number of seconds >= 0, not {self.link_ttl!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_number(value: object) -> bool:
    """A real, finite number (bools are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
