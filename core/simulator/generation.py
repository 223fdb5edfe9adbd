"""The generation endpoint: auth, faults, validation, rendering within the latency, result links."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import Executor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from core.catalog import SEED_MAX
from core.simulator.config import RuntimeConfig
from core.simulator.faults import ERROR_FAULTS, Fault, FaultQueue
from core.simulator.limits import AccountLimits
from core.simulator.protocol import (
    JSON_TYPE,
    RESET,
    ErrorAnswer,
    Refused,
    Reply,
    error_reply,
    json_reply,
    key_refusal,
    success_reply,
)
from core.simulator.render import RenderCache, RenderJob, render_all
from core.simulator.stats import SimulatorStats
from core.simulator.storage import ResultStore
from core.simulator.validation import Generation, UrlResolver, load, parse_generation, summarize

BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class GenerationService:
    """Answers POSTs to the generation endpoint; one per Simulator, shared by its handler threads."""

    origin: str
    valid_keys: Collection[str] | None
    config: Callable[[], RuntimeConfig]
    faults: FaultQueue
    store: ResultStore
    stats: SimulatorStats
    pool: Executor
    stopping: threading.Event
    resolve_url: UrlResolver
    limits: AccountLimits
    cache: RenderCache | None = None

    def handle(self, authorization: str | None, body: bytes) -> Reply:
        """The reply to one generation call (counted in stats, in flight until it returns; a 429 counted)."""
        arrived = time.monotonic()
        request_id = str(uuid.uuid4())
        payload = load(body)
        entry = {"request_id": request_id, **summarize(payload, authorization)}
        with self.stats.generation_call(entry):
            reply = self._answer(authorization, payload, request_id, arrived)
            if reply.status == HTTPStatus.TOO_MANY_REQUESTS:
                self.stats.count_throttled()
            return reply

    def _answer(
        self, authorization: str | None, payload: dict[str, Any] | None, request_id: str, arrived: float
    ) -> Reply:
        fault = self.faults.take("generation")
        if fault is not None:
            early = self._fault_reply(fault, request_id)
            if early is not None:
                return early
        refusal = key_refusal(authorization, self.valid_keys) or self._rate_refusal(authorization, payload)
        if refusal is not None:
            return error_reply(refusal, request_id)
        try:
            generation = parse_generation(payload, self.resolve_url)
        except Refused as refused:
            return error_reply(refused.answer, request_id)
        return self._generate(generation, request_id, arrived, fault)

    def _fault_reply(self, fault: Fault, request_id: str) -> Reply | None:
        """The reply a fault replaces the normal answer with; None when the call goes on (maybe altered)."""
        if fault.name in ERROR_FAULTS:
            return error_reply(fault.error(), request_id)
        if fault.name == "bad_gateway":
            return Reply(502, BAD_GATEWAY_HTML, "text/html")
        if fault.name == "reset":
            return RESET
        if fault.name == "malformed_json":
            return Reply(200, f'{{"request_id": "{request_id}", "output": {{"choices": [{{'.encode(), JSON_TYPE)
        if fault.name == "no_output":
            return json_reply(200, {"request_id": request_id, "usage": {"image_count": 0}})
        if fault.name == "timeout" and self.stopping.wait(fault.options["seconds"]):
            return RESET  # shutting down: drop the held call rather than delay the stop
        return None

    def _rate_refusal(self, authorization: str | None, payload: dict[str, Any] | None) -> ErrorAnswer | None:
        """429 for a call over its account's rate limit, when the limits are switched on."""
        config = self.config()
        if not config.enforce_rate_limits or payload is None:
            return None
        key = (authorization or "").partition(" ")[2].strip()
        return self.limits.refusal(key, payload.get("model"), config.rate_limits)

    def _generate(self, generation: Generation, request_id: str, arrived: float, fault: Fault | None) -> Reply:
        # A seedless call gets a fresh seed, as the service picks one at random.
        seed = generation.seed if generation.seed is not None else secrets.randbelow(SEED_MAX + 1)
        config = self.config()
        job = RenderJob(
            generation.images,
            generation.prompt,
            seed,
            generation.size,
            generation.inputs_digest,
            config.drift,
            config.noise,
        )
        # Rendering runs inside the latency: the answer comes after max(latency, render time).
        images = render_all(job, generation.count, self.pool, self.cache)
        remaining = arrived + config.latency - time.monotonic()
        if remaining > 0 and self.stopping.wait(remaining):
            return RESET
        links = []
        for index, png in enumerate(images):
            path = f"/oss/{request_id}/{index}.png"
            self.store.put(path, png)
            links.append(self.store.sign(self.origin, path, config.link_ttl))
        links = _apply_link_fault(links, fault)
        model = generation.model
        return success_reply(request_id, links, generation.size, model.usage_keys, len(generation.images))


def _apply_link_fault(links: list[str], fault: Fault | None) -> list[str]:
    """The links as a `fewer_images` or `foreign_host` fault alters them."""
    if fault is None:
        return links
    if fault.name == "fewer_images":
        return links[: max(0, len(links) - fault.options["count"])]
    if fault.name == "foreign_host" and fault.options["index"] < len(links):
        altered = list(links)
        altered[fault.options["index"]] = fault.options["url"]
        return altered
    return links
