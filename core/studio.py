"""The Studio: settings, store and (in simulator mode) the embedded simulator, and the edit workflow."""

from __future__ import annotations

import io
import itertools
import logging
import math
import queue
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from PIL import Image

from core import catalog, errors, images
from core.background import Background
from core.caller import LOCAL, Caller
from core.client import Endpoint, RetryNotice, RetryPolicy, ServiceResult, Usage, call_edit
from core.downloads import DownloadPolicy, SavedImage, download_all
from core.drafts import Drafts
from core.history import EditRow, FileRow, History, InputRow, NotFoundError
from core.history.repository import Pending
from core.images import PreparedImage
from core.pacing import Pacer, Turn, WaitCap, Waiting, account_of
from core.pins import PinGroup, Pins
from core.processes import port_open
from core.ratelimit import RateLimiter
from core.regions.expand import Expansion
from core.regions.plan import RegionPlan, RegionSettings
from core.regions.plan import configure as configure_regions
from core.request import EditRequest, Tool
from core.settings import Settings
from core.shared_pacing import SharedPacing
from core.simulator import Simulator
from core.sizes import Size
from core.store import ContentStore, Hold

log = logging.getLogger(__name__)

SIMULATOR_KEY = "sk-simulator"
INTERRUPTED = "The app stopped while waiting for DashScope; this edit's results (if any) could not be recovered."
STOPPED_WAITING = (
    "The app stopped while this edit waited for its turn under DashScope's rate limit: it was never sent and "
    "nothing was billed."
)
EXPIRED = "The result link expired before the image could be downloaded."
SIMULATOR_GONE = "The simulator that made this result has stopped; simulated results are not kept by it."


class Stage(Enum):
    """Where an edit is, for progress displays."""

    WAITING = "waiting"  # for its turn under the account's rate limit: nothing sent yet
    CALLING = "calling"
    RETRYING = "retrying"
    DOWNLOADING = "downloading"
    SAVED = "saved"


class Reach(Enum):
    """How far an edit had got when it was cancelled, which says what the cancel did."""

    UNSENT = "unsent"  # nothing went out: it ends unsent, nothing billed
    SENT = "sent"  # at the model: it finishes, is billed and lands in history
    REFUSED = "refused"  # DashScope refused it and it waited to retry: not sent again, nothing billed


@dataclass(frozen=True)
class Progress:
    """One step of an edit: `done` of `total` results saved so far; `image` when one just landed."""

    stage: Stage
    done: int = 0
    total: int = 0
    image: SavedImage | None = None
    retry: RetryNotice | None = None
    waiting: Waiting | None = None


@dataclass(frozen=True)
class EditResult:
    """A finished edit: its saved images, and the results that could not be saved and why."""

    edit_id: str
    request: EditRequest
    request_id: str
    usage: Usage
    images: tuple[SavedImage, ...]
    failures: tuple[errors.DownloadError, ...]
    simulated: bool
    seconds: float
    attempts: int = 1
    original_path: str | None = None  # a region edit's Image 1 as kept: as given (mask, expansion) or as sent

    def require_images(self) -> EditResult:
        """This result, when at least one image was saved (the failures of a partial result are in `failures`);
        else NothingSavedError with the reason of each result."""
        if not self.images:
            raise errors.NothingSavedError.listing(self.failures, request_id=self.request_id)
        return self

    def record(self) -> dict[str, Any]:
        """A JSON-ready summary for people and API clients (never holds the key)."""
        return {
            "edit_id": self.edit_id,
            "request_id": self.request_id,
            **self.request.params.as_dict(),
            "usage": {
                "width": self.usage.width,
                "height": self.usage.height,
                "image_count": self.usage.image_count,
            },
            "inputs": [
                {"slot": image.slot, "width": image.width, "height": image.height, "notes": list(image.notes)}
                for image in self.request.images
            ],
            "files": [image.shown_path for image in self.images],
            **self._region_record(),
            "failed": [error.message("en") for error in self.failures],
            "simulated": self.simulated,
            "seconds": round(self.seconds, 3),
        }

    def _region_record(self) -> dict[str, Any]:
        """A region edit's plan and, per result, the raw model output and how its composite was made."""
        if self.request.tool is None:
            return {}
        return {
            "region_edit": self.request.tool.describe(),
            "original_file": self.original_path,
            "raw_files": [image.path for image in self.images],
            "composites": [image.composite for image in self.images],
        }


class EditJob:
    """An edit running in the studio's own threads: it finishes (and its results land on disk) even if
    whoever started it stops listening, e.g. a closed browser tab or Cancel."""

    _DONE = object()

    def __init__(self) -> None:
        self._events: queue.Queue[object] = queue.Queue()
        self._cancel = threading.Event()
        self._lock = threading.Lock()  # a cancel and a send decide in turn: the answer of `cancel` is the truth
        self._reach = Reach.UNSENT
        self.future: Future[EditResult] = Future()

    def cancel(self) -> Reach:
        """Stop the edit if it has not been sent yet (e.g. while it waits for its turn under the rate limit),
        or stop its retries: it then ends with EditCancelledError, unbilled. Once sent, it finishes and lands
        on disk. Returns how far it had got, so a caller can say which happened."""
        with self._lock:
            self._cancel.set()
            return self._reach

    def cancelled(self) -> bool:
        """True once `cancel` was called."""
        return self._cancel.is_set()

    def sending(self) -> bool:
        """Asked by the worker right before each attempt goes out: False once cancelled (nothing is sent);
        else the edit counts as sent from now on."""
        with self._lock:
            if self._cancel.is_set():
                return False
            self._reach = Reach.SENT
            return True

    def publish(self, progress: Progress) -> None:
        """Called by the worker for each step."""
        if progress.stage is Stage.RETRYING:
            with self._lock:
                self._reach = Reach.REFUSED  # until the retry is sent
        self._events.put(progress)

    def finish(self, _future: Future[EditResult]) -> None:
        """Called when the worker is done, successful or not."""
        self._events.put(self._DONE)

    def progress(self, tick: float | None = None) -> Iterator[Progress | None]:
        """Each step as it happens, until the edit is over; then `result()` answers at once. With `tick`,
        also None whenever that many seconds pass without a step (for a clock on the page)."""
        while True:
            try:
                event = self._events.get(timeout=tick)
            except queue.Empty:
                yield None
                continue
            if event is self._DONE:
                return
            assert isinstance(event, Progress)
            yield event

    def result(self) -> EditResult:
        """The finished edit, or the EditError it ended with."""
        return self.future.result()


class Studio:
    """Owns what every edit shares: settings, the content store, history, and the simulator when there is
    no key. Every result that DashScope made ends up in the store and in history, whatever happens."""

    RESUME_EVERY = 120.0  # seconds between two tries of results left pending after a failure

    def __init__(
        self, settings: Settings, *, simulator: Simulator | None = None, retry: RetryPolicy | None = None
    ) -> None:
        self.settings = settings
        images.configure(settings)  # the decode budget and upload cap are the process's, as the settings say
        configure_regions(settings.region_margin, settings.region_feather)
        self.history = History(
            settings.database_url or settings.data_dir / "history.sqlite3", lease_seconds=settings.lease_seconds
        )
        self.store = ContentStore(settings.data_dir / "store", registry=self.history)
        self.drafts = Drafts(self.history, self.store, private=settings.data_dir)  # each owner's Studio setup
        self._own_simulator = simulator is None and settings.uses_simulator
        self.simulator = Simulator().start() if self._own_simulator else simulator
        self.retry = retry or RetryPolicy()
        self.rate_limiter = RateLimiter(settings.rate_limit_per_hour, self.history)
        # Every call waits its turn under the account's rate limits, taken in turn with every other replica.
        self.pacer = Pacer(board=SharedPacing(self.history))
        self.wait_cap = WaitCap(settings.max_waiting)  # edits waiting at once, per address
        # Twice the page's concurrency, so edits whose visitors left can finish while new ones start.
        self._workers = ThreadPoolExecutor(max_workers=2 * settings.concurrency, thread_name_prefix="edit")
        # History's thumbnails wait for a quiet moment, on a thread of the lowest priority: the CPU goes to edits.
        self._background = Background()
        self._stopping = threading.Event()
        self._evicting = threading.Lock()
        self._pins = Pins()
        # Explorations' cells at the model at once, all runs together: each cell holds one while it runs.
        self.explore_slots = threading.BoundedSemaphore(settings.explore_global_concurrency)
        interrupted = self.history.interrupted_calls(INTERRUPTED, STOPPED_WAITING)
        if interrupted:
            log.warning(
                "%d edit(s) were interrupted mid-call by a stop; their results cannot be recovered", interrupted
            )
        self._resumer = threading.Thread(target=self._resume_loop, name="resume-downloads", daemon=True)
        self._resumer.start()
        self._leases = threading.Thread(target=self._lease_loop, name="leases", daemon=True)
        self._leases.start()

    @property
    def simulated(self) -> bool:
        """True when the images come from the simulator, not from DashScope."""
        return self.simulator is not None

    def endpoint(self, region: str, user_key: str | None = None) -> Endpoint:
        """Where an edit goes: the simulator, else the operator's base URL override, else the region's.

        The visitor's own key wins over the server's; with `require_user_key` there is no fallback.
        """
        region_id = catalog.get_region(region).id
        user_key = (user_key or "").strip() or None
        if self.simulator is not None:
            return Endpoint(self.simulator.base_url, region_id, user_key or SIMULATOR_KEY, simulated=True)
        key = user_key or (None if self.settings.require_user_key else self.settings.api_key)
        if not key:
            raise errors.MissingApiKeyError()
        base = self.settings.base_url_override or catalog.get_region(region_id).base_url
        return Endpoint(base, region_id, key)

    def allowance(self, caller: Caller) -> int | None:
        """Edits `caller` may still run this hour, or None when nothing limits them: the hourly limit
        applies only where the host's key pays (not in the simulator, not with the caller's own key)."""
        if self.simulated or caller.brings_key:
            return None
        return self.rate_limiter.remaining(caller.owner, caller.address)

    def check_allowance(self, caller: Caller, edits: int = 1) -> None:
        """Refuse, before any image is decoded or anything sent, `edits` edits that would not fit the caller's
        hourly allowance (RateLimitedError when none is left, AllowanceExceededError when too few are)."""
        left = self.allowance(caller)
        if left is None:
            return
        if left == 0:
            self.rate_limiter.check(caller.owner, caller.address)
        if edits > left:
            raise errors.AllowanceExceededError(count=edits, left=left)

    def usual_call_seconds(self, model: str) -> float | None:
        """How long a call of `model` usually takes here: the median of its last 20 answered calls in this
        studio's history (simulated ones in simulator mode, real ones otherwise); None without any."""
        seconds = self.history.call_seconds(model, simulated=self.simulated, last=20)
        return statistics.median(seconds) if seconds else None

    def pin_group(self) -> PinGroup:
        """A group of edits that quota eviction leaves alone until the group is released (pass it to `edit`)."""
        return PinGroup(self._pins)

    def edit(
        self,
        request: EditRequest,
        caller: Caller = LOCAL,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        pin_to: PinGroup | None = None,
        cancelled: Callable[[], bool] | None = None,
        sending: Callable[[], bool] | None = None,
    ) -> EditResult:
        """Call the model for `caller`, then download every result into the store; return what was saved.

        History is written at each step: before the call, when the links arrive (before any download),
        and as each file lands, so a crash at any point loses nothing that can still be fetched. Every file
        is stored under a hold of this edit until it is recorded, so a delete or an eviction of an edit with
        the same files cannot take them away meanwhile. The edit is pinned against eviction until it
        returns, and after that as long as `pin_to` (when given) is not released.

        Before it is sent, the edit waits for its turn under the account's rate limit for the model
        (`Stage.WAITING` steps tell how long, each second). `cancelled` is asked while it waits and last thing
        before the request goes out: when it answers True nothing is sent and EditCancelledError is raised;
        an edit cancelled before it had to wait is deleted again, one cancelled while waiting stays in history
        as cancelled (PacingCancelledError); either gives back the hourly allowance it counted. `sending`, when
        given, is asked instead of `cancelled` right before each attempt goes out (the first and every retry),
        and its answer is final: False sends nothing, as a cancel; True, the attempt goes out.
        """
        started = time.monotonic()
        endpoint = self.endpoint(request.params.region, caller.key)
        counted = self.allowance(caller) is not None
        # The host's key pays: bound what each visitor spends.
        ticket = self.rate_limiter.acquire(caller.owner, caller.address) if counted else None
        try:
            go = sending or (lambda: not (cancelled is not None and cancelled()))
            with self._background.busy():
                return self._edit(request, caller, endpoint, started, on_progress, cancelled, go, pin_to)
        except (errors.EditCancelledError, errors.TooManyWaitingError):
            if ticket is not None:  # ended unsent: it spent nothing of the hour's allowance
                self.rate_limiter.release(ticket)
            raise

    def _edit(
        self,
        request: EditRequest,
        caller: Caller,
        endpoint: Endpoint,
        started: float,
        on_progress: Callable[[Progress], None] | None,
        cancelled: Callable[[], bool] | None,
        sending: Callable[[], bool],
        pin_to: PinGroup | None,
    ) -> EditResult:
        notify = on_progress or (lambda _progress: None)
        with self.store.hold() as hold:
            region, files = self._keep_region(request, hold)
            inputs = self._keep_inputs(request, hold)
            edit_id = self.history.start_edit(
                caller.owner,
                request.params,
                inputs,
                simulated=endpoint.simulated,
                base_url=endpoint.base_url,
                region=region,
                files=files,
                rerun_of=request.rerun_of,
            )
            if pin_to is not None:
                pin_to.add(edit_id)
            # Pinned from before it can be evicted at all (a calling edit is not): finished edits of the owner
            # may be evicted meanwhile, by this edit's quota check or another's, but never this one. Leased
            # to this process until it is done with it (`_lease_loop` renews the lease meanwhile).
            with self._pins.pinned(edit_id):
                try:
                    turn, waited = self._wait_turn(endpoint, request, caller, edit_id, notify, cancelled)
                    notify(Progress(Stage.CALLING))
                    if not sending():
                        self._not_sent(caller.owner, edit_id, waited)
                    answer = self._call(request, endpoint, edit_id, notify, turn, cancelled, sending)
                    kept, failures = self._download(edit_id, request, answer, endpoint.base_url, hold, notify)
                finally:
                    self.history.release(edit_id)
                self.enforce_quotas(caller.owner)
        return EditResult(
            edit_id=edit_id,
            request=request,
            request_id=answer.request_id,
            usage=answer.usage,
            images=kept,
            failures=failures,
            simulated=endpoint.simulated,
            seconds=time.monotonic() - started,
            attempts=answer.attempts,
            original_path=str(self.store.path_for(inputs[0].sha256, inputs[0].ext)) if request.tool else None,
        )

    def _wait_turn(
        self,
        endpoint: Endpoint,
        request: EditRequest,
        caller: Caller,
        edit_id: str,
        notify: Callable[[Progress], None],
        cancelled: Callable[[], bool] | None,
    ) -> tuple[Turn, bool]:
        """Wait for the edit's turn in the pacer's line of its account (the key's hash) and the model's rate
        group, telling `notify` each second; return the turn taken and whether it had to wait. Cancelled
        meanwhile (or the studio closing): nothing is sent, EditCancelledError. A caller from an address that
        already has `max_waiting` edits waiting is refused instead (TooManyWaitingError; the edit is deleted)."""
        model = request.model
        limit = self.settings.rate_limit(model)
        line = self.pacer.line(account_of(endpoint.api_key), model.rate_group, limit)
        waited = False

        def waiting(seconds: float) -> None:
            nonlocal waited
            waited = True
            notify(Progress(Stage.WAITING, waiting=Waiting(model.id, limit, seconds)))

        turn = line.reserve()
        address = caller.address if turn.wait > 0 else None  # the command line's caller has none: not capped
        if address is not None and not self.wait_cap.enter(address):
            turn.take(cancelled=lambda: True)  # gives the turn back
            self.delete(caller.owner, edit_id)
            raise errors.TooManyWaitingError(count=self.wait_cap.limit)
        queued = turn.wait > 0
        if queued:  # a stop meanwhile leaves the row saying it was never sent
            self.history.mark_waiting(edit_id, True)
        try:
            taken = turn.take(cancelled, waiting)
        finally:
            if address is not None:
                self.wait_cap.leave(address)
        if not taken:
            self._not_sent(caller.owner, edit_id, waited)
        if queued:
            self.history.mark_waiting(edit_id, False)
        return turn, waited

    def _not_sent(self, owner: str, edit_id: str, waited: bool) -> NoReturn:
        """End a cancelled edit before anything was sent: one the visitor saw waiting stays in history as
        cancelled; one that had not waited is deleted again. Always raises EditCancelledError."""
        if not waited:
            self.delete(owner, edit_id)
            raise errors.EditCancelledError()
        error = errors.PacingCancelledError()
        self.history.cancel_edit(edit_id, error.message("en"))
        raise error

    def _call(
        self,
        request: EditRequest,
        endpoint: Endpoint,
        edit_id: str,
        notify: Callable[[Progress], None],
        turn: Turn,
        cancelled: Callable[[], bool] | None,
        sending: Callable[[], bool],
    ) -> ServiceResult:
        """Send the recorded edit; a failure is recorded with its reason, and the answer's links before any
        download. A retry waits its delay and then a turn in the pacer's line, in the place of the turn the
        call had (before the calls that came after it); a 429 holds the whole line back for that delay."""
        latest: RetryNotice | None = None

        def on_retry(notice: RetryNotice) -> None:
            nonlocal latest
            if notice.throttled:
                turn.line.push_back(notice.delay)
            latest = notice
            notify(Progress(Stage.RETRYING, retry=notice))

        def pause(seconds: float) -> None:
            nonlocal turn
            told = math.ceil(seconds)

            def counting(left: float) -> None:  # each second, so a page can still be cancelled meanwhile
                if latest is not None and math.ceil(left) != told:
                    notify(Progress(Stage.RETRYING, retry=replace(latest, delay=left)))

            turn = turn.again(after=seconds)
            if not turn.take(cancelled, counting) or not sending():
                raise errors.PacingCancelledError()

        sent = time.monotonic()
        try:
            answer = call_edit(
                request,
                endpoint,
                timeout=self.settings.request_timeout,
                retry=self.retry,
                on_retry=on_retry,
                sleep=pause,
            )
        except errors.EditCancelledError as cancel:  # while waiting to retry: DashScope had refused the call
            self.history.cancel_edit(edit_id, cancel.message("en"))
            raise
        except errors.EditError as error:
            self.history.fail_edit(edit_id, error.message("en"), error.request_id)
            raise
        usage = (answer.usage.width, answer.usage.height, answer.usage.image_count)
        seconds = time.monotonic() - sent
        self.history.record_answer(edit_id, answer.request_id, answer.image_urls, usage, time.time(), seconds)
        return answer

    def _download(
        self,
        edit_id: str,
        request: EditRequest,
        answer: ServiceResult,
        base_url: str,
        hold: Hold,
        notify: Callable[[Progress], None],
    ) -> tuple[tuple[SavedImage, ...], tuple[errors.DownloadError, ...]]:
        """Fetch the answer's results under `hold`, recording each as it lands; return the saved images in
        order and the failures (recorded too: transient ones stay pending for the resume loop)."""
        total = len(answer.image_urls)
        notify(Progress(Stage.DOWNLOADING, 0, total))
        counter = itertools.count(1)  # next() on it is atomic: downloads land from several threads
        kept: list[SavedImage] = []

        def saved(image: SavedImage) -> None:
            image = self._finish_output(edit_id, image, request.params.exact_size, hold, request.tool)
            kept.append(image)
            notify(Progress(Stage.SAVED, next(counter), total, image=image))
            shown = Path(image.composite_path).stem if image.composite_path else image.sha256
            self._background.submit(self._thumbnail, shown)  # History's first page then finds it made

        outcomes = download_all(
            answer.image_urls, self.store, DownloadPolicy(base_url=base_url), on_saved=saved, hold=hold
        )
        failures = tuple(o for o in outcomes if isinstance(o, errors.DownloadError))
        for failure in failures:
            log.warning("request %s: %s", answer.request_id, failure.message("en"))
            self._record_failure(edit_id, failure)
        return tuple(sorted(kept, key=lambda image: image.index)), failures

    def submit(self, request: EditRequest, caller: Caller = LOCAL) -> EditJob:
        """Start an edit for `caller` in the studio's threads and return at once."""
        job = EditJob()
        job.future = self._workers.submit(
            self.edit, request, caller, on_progress=job.publish, cancelled=job.cancelled, sending=job.sending
        )
        job.future.add_done_callback(job.finish)
        return job

    def resume_pending(self, *, orphans_only: bool = False) -> int:
        """Download results that history still lists as pending, and that no running process works on, while
        their links live; return how many were saved. Links of a simulator that has since stopped, and expired
        links, are marked failed. With `orphans_only`, only those of a process that stopped mid-way (not
        those left pending after a failure, which wait for the next round)."""
        pending = self.history.claim_pending(orphans_only=orphans_only)
        try:
            return self._resume(pending)
        finally:
            for edit_id in sorted({output.edit_id for *_, output in pending}):
                self.history.release(edit_id)

    def _resume(self, pending: list[Pending]) -> int:
        saved = 0
        now = time.time()
        for owner, base_url, exact_size, regional, output in pending:
            if output.expires <= now:
                self.history.mark_output(output.edit_id, output.index, failed=True, reason=EXPIRED)
                continue
            if self._is_dead_simulator(base_url):
                self.history.mark_output(output.edit_id, output.index, failed=True, reason=SIMULATOR_GONE)
                continue
            with self.store.hold() as hold:
                (outcome,) = download_all([output.url], self.store, DownloadPolicy(base_url=base_url), hold=hold)
                if isinstance(outcome, SavedImage):
                    exact = Size.from_text(exact_size) if exact_size else None
                    tool = self.region_request(self.history.get(owner, output.edit_id)).tool if regional else None
                    self._finish_output(output.edit_id, replace(outcome, index=output.index), exact, hold, tool)
                    saved += 1
                else:
                    self._record_failure(output.edit_id, outcome, index=output.index)
        return saved

    def input_paths(self, edit: EditRow) -> list[str]:
        """The stored input files of an edit, in slot order (for reopening it in the studio)."""
        return [str(self.store.path_for(image.sha256, image.ext)) for image in edit.inputs]

    def output_paths(self, edit: EditRow) -> list[str]:
        """The saved result files of an edit, in order (exact-size versions where they exist)."""
        return [
            str(self.store.path_for(output.shown_sha256, "png"))
            for output in edit.outputs
            if output.state == "saved" and output.shown_sha256
        ]

    def rerun_request(self, owner: str, edit_id: str, *, new_seed: bool = False) -> EditRequest:
        """The request that repeats an edit of `owner` exactly (same inputs, parameters and seed), or with a
        fresh random seed."""
        edit = self.history.get(owner, edit_id)
        self.history.touch(owner, edit_id)
        return replace(self.region_request(edit, **({"seed": None} if new_seed else {})), rerun_of=edit_id)

    def delete(self, owner: str, edit_id: str) -> None:
        """Delete an edit of `owner` and every file of it that no other edit refers to or is storing."""
        for sha256, ext in self.history.delete(owner, edit_id):
            self.store.remove(sha256, ext)

    def discard(self, owner: str, edit_id: str, index: int, discarded: bool = True) -> None:
        """Discard a result of `owner` (hidden, kept until the quota needs its space), or keep it again."""
        self.history.discard(owner, edit_id, index, discarded)

    def enforce_quotas(self, owner: str) -> list[str]:
        """While the owner's share or the total is over its cap, evict discarded results first (longest discarded
        first, none a later version was made from), then the least recently used unstarred edits; return the
        ids of the edits evicted whole. Pinned edits (running, or cells of a running exploration) are never
        evicted, so usage may stay over a cap until they are let go of."""
        evicted: list[str] = []
        caps = ((owner, self.settings.owner_storage_mb), (None, self.settings.max_storage_mb))
        with self._evicting:  # edits finishing together would otherwise evict from the same snapshot
            for scope, megabytes in caps:
                limit = megabytes * 1024 * 1024
                self._evict_discarded(scope, limit)
                for edit_owner, edit_id in self.history.eviction_order(scope):
                    if self.history.usage_bytes(scope) <= limit:
                        break
                    if edit_id in self._pins:
                        continue
                    try:
                        self.delete(edit_owner, edit_id)
                    except NotFoundError:  # deleted meanwhile (by its owner, or another process)
                        continue
                    evicted.append(edit_id)
        if evicted:
            log.info("storage caps: evicted %d edit(s)", len(evicted))
        return evicted

    def _evict_discarded(self, scope: str | None, limit: int) -> None:
        """Remove discarded results (their edits stay) while `scope`'s usage is over `limit`."""
        for result_owner, edit_id, index in self.history.discarded_order(scope):
            if self.history.usage_bytes(scope) <= limit:
                return
            if edit_id in self._pins:
                continue
            try:
                files = self.history.drop_output(result_owner, edit_id, index)
            except NotFoundError:  # its edit was deleted meanwhile
                continue
            for sha256, ext in files:
                self.store.remove(sha256, ext)
            log.info("storage caps: evicted discarded result %d of edit %s", index, edit_id)

    def close(self) -> None:
        """Let running edits finish, then stop the simulator this studio started."""
        self._stopping.set()
        self.pacer.close()  # edits waiting for their turn end unsent, so closing does not wait for them
        self._workers.shutdown(wait=True)
        self._background.shutdown()
        self._resumer.join()
        self._leases.join()
        if self._own_simulator and self.simulator is not None:
            self.simulator.stop()
        self.history.close()

    def _finish_output(
        self, edit_id: str, image: SavedImage, exact_size: Size | None, hold: Hold, tool: Tool | None = None
    ) -> SavedImage:
        """Record a landed result (stored under `hold`); when an exact size was asked for, also keep a Lanczos
        resample of it at that size (the original stays untouched beside it); for a region edit, its composite
        (the raw output stays beside it)."""
        self.history.mark_saved(edit_id, image.index, image.sha256, image.width, image.height, image.size_bytes)
        if tool is not None:
            return self._composite(edit_id, image, tool, hold)
        if exact_size is None or (image.width, image.height) == (exact_size.width, exact_size.height):
            return image
        with Image.open(image.path) as original:
            resized = original.convert("RGB").resize((exact_size.width, exact_size.height), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, "PNG", compress_level=1)
        stored = self.store.put_bytes(buffer.getvalue(), "png", hold)
        self.history.mark_exact(edit_id, image.index, stored.sha256)
        return replace(image, exact_path=str(stored.path))

    def _composite(self, edit_id: str, image: SavedImage, tool: Tool, hold: Hold) -> SavedImage:
        """Make, keep and record the composite of a landed result of a region edit. Should that fail (a bug, an
        unreadable file), the raw result is kept and shown, and the composite's details say why."""
        try:
            with Image.open(image.path) as raw:
                composite = tool.compose(raw)
        except Exception as exc:  # the model's result is saved and paid for: it must reach the visitor anyway
            log.exception("result %d of edit %s: no composite", image.index, edit_id)
            return replace(image, composite={"failed": f"no composite could be made ({type(exc).__name__})"})
        stored = self.store.put_bytes(composite.png, "png", hold)
        details = {**composite.details, "size": f"{composite.width}*{composite.height}"}
        self.history.mark_composite(edit_id, image.index, stored.sha256, stored.size, details)
        return replace(image, composite_path=str(stored.path), composite=details)

    def _keep_inputs(self, request: EditRequest, hold: Hold) -> list[InputRow]:
        """The inputs to keep: as sent, but for a mask's or an expansion's Image 1, which is kept as given (its
        crop is made again from it and the plan)."""
        rows = [self._keep_input(image, hold) for image in request.images]
        original = request.original
        if original is None:
            return rows
        stored = self.store.put_bytes(original.data, original.ext, hold)
        first = InputRow(1, stored.sha256, original.ext, original.width, original.height, stored.size, ())
        return [first, *rows[1:]]

    def _keep_region(self, request: EditRequest, hold: Hold) -> tuple[dict[str, Any] | None, list[FileRow]]:
        """A region edit's plan as history keeps it, and its mask's file (under `hold`)."""
        tool = request.tool
        if tool is None:
            return None, []
        files = []
        if isinstance(tool, RegionPlan):
            stored = self.store.put_bytes(tool.mask_png, "png", hold)
            files.append(FileRow("mask", stored.sha256, "png", stored.size))
        return tool.describe(), files

    def region_request(self, edit: EditRow, **changes: Any) -> EditRequest:
        """The request that repeats `edit` (a region edit's plan made again from its stored Image 1 and mask),
        with `changes` to its parameters."""
        params = edit.params.create_args() | changes
        region = edit.plan or {}
        kind = region.get("kind")
        if kind == "mask":
            mask = region["files"]["mask"]
            params["mask"] = str(self.store.path_for(mask["sha256"], mask["ext"]))
            params["region_settings"] = RegionSettings(region["margin"], region["feather"])
        elif kind == "expand":
            params["expand"] = Expansion.from_dict(region["expand"])
        elif kind == "align":
            params |= {"align": True, "keep_unchanged": bool(region.get("keep_unchanged"))}
        if kind in ("mask", "expand"):
            params |= {"size": None, "exact_size": None}
        return EditRequest.create(self.input_paths(edit), edit.params.prompt, **params)

    def _thumbnail(self, sha256: str) -> None:
        try:
            self.store.thumbnail(sha256, "png")
        except OSError:  # evicted meanwhile, or unreadable: History makes it (or does without) later
            log.debug("no thumbnail for %s", sha256)

    def _keep_input(self, image: PreparedImage, hold: Hold) -> InputRow:
        """Inputs go to the store too (under `hold` until the edit is recorded), so any edit can be re-run
        exactly."""
        ext = image.mime.split("/")[-1].replace("jpeg", "jpg")
        stored = self.store.put_bytes(image.data, ext, hold)
        return InputRow(image.slot, stored.sha256, ext, image.width, image.height, stored.size, image.notes)

    def _record_failure(self, edit_id: str, failure: errors.DownloadError, index: int | None = None) -> None:
        # Only a transient failure stays pending: the resume loop tries again while the link lives.
        self.history.mark_output(
            edit_id, index or failure.params["index"], failed=not failure.resumable, reason=failure.message("en")
        )

    def _is_dead_simulator(self, base_url: str) -> bool:
        """Simulated results live in that simulator's memory only: once it stopped they are gone. (Another
        process's simulator that still runs keeps them.)"""
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost") or self.settings.base_url_override:
            return False
        if self.simulator is not None and base_url == self.simulator.base_url:
            return False
        return not port_open(parts.hostname, parts.port or 80)

    def _resume_loop(self) -> None:
        """Resume what stopped processes (this one's earlier run, another replica) left mid-way as soon as
        their leases run out, and retry what failed for now every RESUME_EVERY."""
        tick = self.history.lease_seconds / 3
        last_full = -math.inf
        while True:
            try:
                if self._stopping.is_set():
                    return
                self.history.interrupted_calls(INTERRUPTED, STOPPED_WAITING)
                self.store.remove_orphans()  # what stopped processes left half-written, or held
                full = time.monotonic() - last_full >= self.RESUME_EVERY
                if full:
                    last_full = time.monotonic()
                resumed = self.resume_pending(orphans_only=not full)
                if resumed:
                    log.info("saved %d result(s) left pending by an earlier run or another replica", resumed)
            except Exception:  # the loop must survive anything: it is what makes results durable
                log.exception("resuming pending downloads failed; will try again")
            if self._stopping.wait(tick):
                return

    def _lease_loop(self) -> None:
        """Renew the leases of the edits this process works on, three times per lease."""
        while not self._stopping.wait(self.history.lease_seconds / 3):
            try:
                self.history.renew_leases()
            except Exception:  # a database hiccup: the next round renews them
                log.exception("renewing this process's leases failed; will try again")
