"""The HTTP control API, for processes that cannot call the Simulator's Python methods.

POST /_sim/faults {"fault", "times", ...options}   queue a fault (GET lists, DELETE clears the queue)
POST /_sim/config {"latency", "bandwidth", "link_ttl", "enforce_rate_limits", "rate_limits", "drift", "noise"}
    change settings at run time; "rate_limits" maps model ids to "requests/seconds" or "off", over the catalog's
    limits; "drift" is {"dx", "dy", "zoom", "rotation", "gain": [r, g, b], "offset": [r, g, b]} or null (see
    Drift); "noise" true makes outputs incompressible noise (photo-sized PNGs)
GET /_sim/stats   the counters (DELETE resets them)
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from core.simulator.config import RuntimeConfig
from core.simulator.protocol import Reply, json_reply
from core.simulator.stats import SimulatorStats

PREFIX = "/_sim/"
CONFIG_FIELDS = ("latency", "bandwidth", "link_ttl", "enforce_rate_limits", "rate_limits", "drift", "noise")


class Controllable(Protocol):
    """What the control routes change: the simulator's faults, settings and counters."""

    @property
    def config(self) -> RuntimeConfig: ...

    @property
    def stats(self) -> SimulatorStats: ...

    @property
    def pending_faults(self) -> list[str]: ...

    def inject(self, fault: str, times: int = 1, **options: Any) -> None: ...

    def clear_faults(self) -> None: ...

    def configure(self, **changes: Any) -> None: ...


def handle_control(simulator: Controllable, method: str, path: str, body: bytes) -> Reply:
    """The reply to a request under /_sim/."""
    route = (method, path.removeprefix(PREFIX).rstrip("/"))
    try:
        if route == ("POST", "faults"):
            options = _json_object(body)
            name = options.pop("fault", None)
            if not isinstance(name, str):
                raise ValueError('"fault" (the fault name) is required')
            simulator.inject(name, options.pop("times", 1), **options)
            return _faults(simulator)
        if route == ("GET", "faults"):
            return _faults(simulator)
        if route == ("DELETE", "faults"):
            simulator.clear_faults()
            return _faults(simulator)
        if route == ("POST", "config"):
            changes = _json_object(body)
            unknown = set(changes) - set(CONFIG_FIELDS)
            if unknown:
                raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
            simulator.configure(**changes)
            return json_reply(200, simulator.config.as_dict())
        if route == ("GET", "stats"):
            return json_reply(200, simulator.stats.snapshot())
        if route == ("DELETE", "stats"):
            simulator.stats.reset()
            return json_reply(200, simulator.stats.snapshot())
    except (ValueError, TypeError) as error:
        return json_reply(400, {"code": "InvalidParameter", "message": str(error)})
    return json_reply(404, {"code": "NotFound", "message": f"No control route {method} {path}."})


def _faults(simulator: Controllable) -> Reply:
    return json_reply(200, {"pending": simulator.pending_faults})


def _json_object(body: bytes) -> dict[str, Any]:
    payload = json.loads(body or b"{}")
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return payload
