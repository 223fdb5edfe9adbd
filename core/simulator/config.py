"""The simulator's knobs that can change while it runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from core.catalog import MODELS, RateLimit

MODEL_IDS = frozenset(model.id for model in MODELS)


@dataclass(frozen=True)
class RuntimeConfig:
    """Latency of a generation, download bandwidth, result-link lifetime and the account rate limits;
    replaced whole on change."""

    latency: float = 0.0  # seconds a successful generation takes at least
    bandwidth: float | None = None  # bytes/s per download connection; None = unthrottled
    link_ttl: float = 86400.0  # seconds a result link lives
    enforce_rate_limits: bool = False  # refuse calls over the account limits, per (key, rate group), with 429
    rate_limits: Mapping[str, RateLimit | None] = field(default_factory=dict)  # by model id, over the catalog's

    def __post_init__(self) -> None:
        if not is_number(self.latency) or self.latency < 0:
            raise ValueError(f"latency must be a number of seconds >= 0, not {self.latency!r}")
        if self.bandwidth is not None and (not is_number(self.bandwidth) or self.bandwidth <= 0):
            raise ValueError(f"bandwidth must be bytes/s > 0 or None, not {self.bandwidth!r}")
        if not is_number(self.link_ttl) or self.link_ttl < 0:
            raise ValueError(f"link_ttl must be a number of seconds >= 0, not {self.link_ttl!r}")
        if not isinstance(self.enforce_rate_limits, bool):
            raise ValueError(f"enforce_rate_limits must be true or false, not {self.enforce_rate_limits!r}")
        unknown = set(self.rate_limits) - MODEL_IDS
        if unknown:
            raise ValueError(f"rate_limits: unknown model(s) {', '.join(sorted(map(str, unknown)))}")
        if not all(limit is None or isinstance(limit, RateLimit) for limit in self.rate_limits.values()):
            raise ValueError('rate_limits: each limit is requests/seconds (e.g. "2/60") or "off"')

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["rate_limits"] = {model: str(limit or "off") for model, limit in self.rate_limits.items()}
        return values


def parse_limits(values: Mapping[str, RateLimit | str | None]) -> dict[str, RateLimit | None]:
    """Limits by model id, each given as a RateLimit, None, or text ("2/60", "off"); ValueError for bad text."""
    if not isinstance(values, Mapping):
        raise ValueError('rate_limits must map model ids to limits, e.g. {"qwen-image-edit-max": "2/60"}')
    return {model: RateLimit.parse(value) if isinstance(value, str) else value for model, value in values.items()}


def is_number(value: object) -> bool:
    """A real, finite number (bools are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
