"""The account rate limits, as the service enforces them when switched on: per (key, rate group), a burst
limit per second (a minute's limit / 60: 2 a minute lets one call through every 30 s) and the limit itself
over its window. A refused call uses up nothing."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.catalog import MODELS, RateLimit
from core.simulator.faults import ERROR_FAULTS
from core.simulator.protocol import ErrorAnswer

BURST_RATE = ERROR_FAULTS["burst_rate"]
RATE_QUOTA = ERROR_FAULTS["rate_quota"]
_MODELS = {model.id: model for model in MODELS}


@dataclass
class _Account:
    """One (key, rate group): a token bucket for bursts and the times of the calls let through."""

    tokens: float
    updated: float
    accepted: deque[float] = field(default_factory=deque)


class AccountLimits:
    """Counts generation calls per (key, rate group) and refuses those over the group's limit."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._accounts: dict[tuple[str, str], _Account] = {}

    def refusal(self, key: str, model_id: object, overrides: Mapping[str, RateLimit | None]) -> ErrorAnswer | None:
        """The 429 for a call of `key` to `model_id` now, or None (the call is counted) when it may go.
        `overrides` are limits by model id over the catalog's; an alias shares its snapshot's limit."""
        model = _MODELS.get(model_id) if isinstance(model_id, str) else None
        if model is None:
            return None  # validation refuses it
        group = model.rate_group
        limit = next((v for k, v in overrides.items() if _MODELS[k].rate_group == group), model.rate)
        if limit is None:
            return None
        rate = limit.requests / limit.seconds  # calls per second, and the burst bucket's refill
        now = self._clock()
        with self._lock:
            account = self._accounts.setdefault((key, group), _Account(max(1.0, rate), now))
            account.tokens = min(max(1.0, rate), account.tokens + (now - account.updated) * rate)
            account.updated = now
            while account.accepted and account.accepted[0] <= now - limit.seconds:
                account.accepted.popleft()
            if account.tokens < 1:
                return BURST_RATE
            if len(account.accepted) >= limit.requests:
                return RATE_QUOTA
            account.tokens -= 1
            account.accepted.append(now)
        return None
