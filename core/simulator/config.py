"""The simulator's knobs that can change while it runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from core.catalog import MODELS, RateLimit

MODEL_IDS = frozenset(model.id for model in MODELS)
DRIFT_FIELDS = ("dx", "dy", "zoom", "rotation", "gain", "offset")
DRIFT_SHIFT_MAX = 512.0  # px either way
DRIFT_ZOOM_MAX = 0.5  # (1 + zoom) stays within 0.5..1.5
DRIFT_ROTATION_MAX = 45.0  # degrees either way
DRIFT_GAIN_RANGE = (0.25, 4.0)
DRIFT_OFFSET_MAX = 255.0


@dataclass(frozen=True)
class Drift:
    """How the simulator's outputs drift from their input, as the real model's do: a similarity transform of
    the content and a per-channel colour change, applied to the composed picture before tint, grain, caption
    and mark.

    Direction: the content at point p of the undrifted output appears at c + (1 + zoom) R(rotation) (p - c)
    + (dx, dy), with c the canvas centre and y pointing down. So dx > 0 moves the content right, dy > 0 down,
    zoom > 0 enlarges it about the centre, rotation > 0 turns it counter-clockwise as seen on screen (degrees).
    Uncovered edges are filled by reflection. Each channel v becomes gain * v + offset (0..255, clipped).
    """

    dx: float = 0.0
    dy: float = 0.0
    zoom: float = 0.0
    rotation: float = 0.0
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        for name, limit in (("dx", DRIFT_SHIFT_MAX), ("dy", DRIFT_SHIFT_MAX), ("rotation", DRIFT_ROTATION_MAX)):
            value = getattr(self, name)
            if not is_number(value) or abs(value) > limit:
                raise ValueError(f"drift {name} must be a number within ±{limit:g}, not {value!r}")
        if not is_number(self.zoom) or abs(self.zoom) >= DRIFT_ZOOM_MAX:
            raise ValueError(
                f"drift zoom must be a fraction within ±{DRIFT_ZOOM_MAX:g} (0.02 = 2 %), not {self.zoom!r}"
            )
        low, high = DRIFT_GAIN_RANGE
        if not _triple(self.gain) or not all(low <= value <= high for value in self.gain):
            raise ValueError(f"drift gain must be 3 numbers (r, g, b) within {low:g}..{high:g}, not {self.gain!r}")
        if not _triple(self.offset) or not all(abs(value) <= DRIFT_OFFSET_MAX for value in self.offset):
            raise ValueError(f"drift offset must be 3 numbers (r, g, b) within ±255, not {self.offset!r}")

    @classmethod
    def parse(cls, value: Drift | Mapping[str, Any] | None) -> Drift | None:
        """A Drift from a mapping of its fields (omitted ones stay neutral); None or {} means no drift."""
        if value is None or isinstance(value, Drift):
            return None if value == cls() else value
        if not isinstance(value, Mapping):
            raise ValueError('drift must map fields to numbers, e.g. {"dx": 12, "dy": -8, "zoom": 0.02}')
        unknown = set(value) - set(DRIFT_FIELDS)
        if unknown:
            raise ValueError(
                f"drift: unknown field(s) {', '.join(sorted(map(str, unknown)))}; known: {', '.join(DRIFT_FIELDS)}"
            )
        fields = {
            k: tuple(v) if k in ("gain", "offset") and isinstance(v, (list, tuple)) else v for k, v in value.items()
        }
        drift = cls(**fields)
        return drift if drift != cls() else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dx": self.dx,
            "dy": self.dy,
            "zoom": self.zoom,
            "rotation": self.rotation,
            "gain": list(self.gain),
            "offset": list(self.offset),
        }


@dataclass(frozen=True)
class RuntimeConfig:
    """Latency of a generation, download bandwidth, result-link lifetime and the account rate limits;
    replaced whole on change."""

    latency: float = 0.0  # seconds a successful generation takes at least
    bandwidth: float | None = None  # bytes/s per download connection; None = unthrottled
    link_ttl: float = 86400.0  # seconds a result link lives
    enforce_rate_limits: bool = False  # refuse calls over the account limits, per (key, rate group), with 429
    rate_limits: Mapping[str, RateLimit | None] = field(default_factory=dict)  # by model id, over the catalog's
    drift: Drift | None = None  # how outputs shift, zoom and change colour; None = not at all
    noise: bool = False  # outputs of seeded per-pixel noise: incompressible, as heavy as photos (2048x2048: 12 MB)

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
        if self.drift is not None and not isinstance(self.drift, Drift):
            raise ValueError(f"drift must be a Drift or None, not {self.drift!r}")
        if not isinstance(self.noise, bool):
            raise ValueError(f"noise must be true or false, not {self.noise!r}")

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["rate_limits"] = {model: str(limit or "off") for model, limit in self.rate_limits.items()}
        values["drift"] = self.drift.as_dict() if self.drift is not None else None
        return values


def parse_limits(values: Mapping[str, RateLimit | str | None]) -> dict[str, RateLimit | None]:
    """Limits by model id, each given as a RateLimit, None, or text ("2/60", "off"); ValueError for bad text."""
    if not isinstance(values, Mapping):
        raise ValueError('rate_limits must map model ids to limits, e.g. {"qwen-image-edit-max": "2/60"}')
    return {model: RateLimit.parse(value) if isinstance(value, str) else value for model, value in values.items()}


def _triple(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and all(is_number(item) for item in value)


def is_number(value: object) -> bool:
    """A real, finite number (bools are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
