"""The Studio: settings, store and (in simulator mode) the embedded simulator, and the edit workflow."""

from __future__ import annotations

import itertools
import logging
import queue
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core import catalog, errors
from core.client import Endpoint, RetryNotice, RetryPolicy, ServiceResult, Usage, call_edit
from core.downloads import DownloadPolicy, SavedImage, download_all
from core.request import EditRequest
from core.settings import Settings
from core.simulator import Simulator
from core.store import ContentStore

log = logging.getLogger(__name__)

SIMULATOR_KEY = "sk-simulator"


class Stage(Enum):
    """Where an edit is, for progress displays."""

    CALLING = "calling"
    RETRYING = "retrying"
    DOWNLOADING = "downloading"
    SAVED = "saved"


@dataclass(frozen=True)
class Progress:
    """One step of an edit: `done` of `total` results saved so far; `image` when one just landed."""

    stage: Stage
    done: int = 0
    total: int = 0
    image: SavedImage | None = None
    retry: RetryNotice | None = None


@dataclass(frozen=True)
class EditResult:
    """A finished edit: its saved images, and the results that could not be saved and why."""

    request: EditRequest
    request_id: str
    usage: Usage
    images: tuple[SavedImage, ...]
    failures: tuple[errors.DownloadError, ...]
    simulated: bool
    seconds: float
    attempts: int = 1

    def record(self) -> dict[str, Any]:
        """A JSON-ready summary for people and API clients (never holds the key)."""
        params = self.request.params
        return {
            "request_id": self.request_id,
            "model": params.model,
            "region": params.region,
            "prompt": params.prompt,
            "negative_prompt": params.negative_prompt,
            "size": str(params.size) if params.size else "auto",
            "n": params.n,
            "seed": params.seed,
            "seed_was_random": params.seed_was_random,
            "prompt_extend": params.prompt_extend,
            "watermark": params.watermark,
            "usage": {
                "width": self.usage.width,
                "height": self.usage.height,
                "image_count": self.usage.image_count,
            },
            "inputs": [
                {"slot": image.slot, "width": image.width, "height": image.height, "notes": list(image.notes)}
                for image in self.request.images
            ],
            "files": [image.path for image in self.images],
            "failed": [error.message("en") for error in self.failures],
            "simulated": self.simulated,
            "seconds": round(self.seconds, 3),
        }


class EditJob:
    """An edit running in the studio's own threads: it finishes (and its results land on disk) even if
    whoever started it stops listening, e.g. a closed browser tab or Cancel."""

    _DONE = object()

    def __init__(self) -> None:
        self._events: queue.Queue[object] = queue.Queue()
        self.future: Future[EditResult] = Future()

    def publish(self, progress: Progress) -> None:
        """Called by the worker for each step."""
        self._events.put(progress)

    def finish(self, _future: Future[EditResult]) -> None:
        """Called when the worker is done, successful or not."""
        self._events.put(self._DONE)

    def progress(self) -> Iterator[Progress]:
        """Each step as it happens, until the edit is over; then `result()` answers at once."""
        while (event := self._events.get()) is not self._DONE:
            assert isinstance(event, Progress)
            yield event

    def result(self) -> EditResult:
        """The finished edit, or the EditError it ended with."""
        return self.future.result()


class Studio:
    """Owns what every edit shares: settings, the content store, the simulator when there is no key."""

    def __init__(
        self, settings: Settings, *, simulator: Simulator | None = None, retry: RetryPolicy | None = None
    ) -> None:
        self.settings = settings
        self.store = ContentStore(settings.data_dir / "store")
        self._own_simulator = simulator is None and settings.uses_simulator
        self.simulator = Simulator().start() if self._own_simulator else simulator
        self.retry = retry or RetryPolicy()
        # Twice the page's concurrency, so edits whose visitors left can finish while new ones start.
        self._workers = ThreadPoolExecutor(max_workers=2 * settings.concurrency, thread_name_prefix="edit")

    @property
    def simulated(self) -> bool:
        """True when the images come from the simulator, not from DashScope."""
        return self.simulator is not None

    def endpoint(self, region: str, user_key: str | None = None) -> Endpoint:
        """Where an edit goes: the simulator, else the operator's base URL override, else the region's.

        The visitor's own key wins over the server's; with `require_user_key` there is no fallback.
        """
        region_id = catalog.get_region(region).id
        if self.simulator is not None:
            return Endpoint(self.simulator.base_url, region_id, user_key or SIMULATOR_KEY, simulated=True)
        key = (user_key or "").strip() or (None if self.settings.require_user_key else self.settings.api_key)
        if not key:
            raise errors.MissingApiKeyError()
        base = self.settings.base_url_override or catalog.get_region(region_id).base_url
        return Endpoint(base, region_id, key)

    def edit(
        self,
        request: EditRequest,
        *,
        user_key: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> EditResult:
        """Call the model, then download every result into the store; return what was saved."""
        started = time.monotonic()
        endpoint = self.endpoint(request.params.region, user_key)
        notify = on_progress or (lambda _progress: None)
        notify(Progress(Stage.CALLING))
        answer: ServiceResult = call_edit(
            request,
            endpoint,
            timeout=self.settings.request_timeout,
            retry=self.retry,
            on_retry=lambda notice: notify(Progress(Stage.RETRYING, retry=notice)),
        )
        total = len(answer.image_urls)
        notify(Progress(Stage.DOWNLOADING, 0, total))
        counter = itertools.count(1)  # next() on it is atomic: downloads land from several threads

        def saved(image: SavedImage) -> None:
            notify(Progress(Stage.SAVED, next(counter), total, image=image))

        outcomes = download_all(
            answer.image_urls, self.store, DownloadPolicy(base_url=endpoint.base_url), on_saved=saved
        )
        images = tuple(o for o in outcomes if isinstance(o, SavedImage))
        failures = tuple(o for o in outcomes if isinstance(o, errors.DownloadError))
        for failure in failures:
            log.warning("request %s: %s", answer.request_id, failure.message("en"))
        return EditResult(
            request=request,
            request_id=answer.request_id,
            usage=answer.usage,
            images=images,
            failures=failures,
            simulated=endpoint.simulated,
            seconds=time.monotonic() - started,
            attempts=answer.attempts,
        )

    def submit(self, request: EditRequest, *, user_key: str | None = None) -> EditJob:
        """Start an edit in the studio's threads and return at once."""
        job = EditJob()
        job.future = self._workers.submit(self.edit, request, user_key=user_key, on_progress=job.publish)
        job.future.add_done_callback(job.finish)
        return job

    def close(self) -> None:
        """Let running edits finish, then stop the simulator this studio started."""
        self._workers.shutdown(wait=True)
        if self._own_simulator and self.simulator is not None:
            self.simulator.stop()
