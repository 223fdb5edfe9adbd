"""One edit run for the page or the API: submitted to the studio, its progress told each second, its results
reported as they land; and the run each tab of the page has in flight (one at a time), so Cancel can say
what it stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Protocol

from core import errors
from core.request import EditRequest
from core.studio import EditJob, Reach, Stage, Studio
from ui import gallery
from ui.gallery import Entry
from ui.strings import status
from ui.visitors import Visitor

Report = Callable[..., Any]
"""gr.Progress, or anything called like it: (fraction or None for no bar, desc=text)."""

TICK = 1.0  # seconds between the lines that count a call's time
STOPPED = {Reach.UNSENT: "stopped_unsent", Reach.SENT: "stopped_sent", Reach.REFUSED: "stopped_refused"}


class Run:
    """One run of a tab: its number (the tab's count of runs) and, once submitted, its edit. `stop` is Cancel:
    it stops the edit when not sent yet and says how far it had got."""

    def __init__(self, number: int) -> None:
        self.number = number
        self._lock = threading.Lock()
        self._job: EditJob | None = None
        self._reach: Reach | None = None  # set once stopped

    def attach(self, job: EditJob) -> None:
        """The edit this run submitted; cancelled at once if the run was stopped meanwhile."""
        with self._lock:
            self._job = job
            stopped = self._reach is not None
        if stopped:
            job.cancel()

    def stop(self) -> Reach:
        """Stop the run (again: the same answer): its edit is not sent if it was not yet."""
        with self._lock:
            if self._reach is None:
                self._reach = self._job.cancel() if self._job is not None else Reach.UNSENT
            return self._reach

    @property
    def stopped(self) -> bool:
        return self._reach is not None

    def line(self, text: str, lang: str) -> str:
        """A status line of this run: its number, then `text`."""
        return status("run_line", lang, number=self.number, line=text)

    def stopped_line(self, lang: str) -> str:
        """What the stop did, for a run that was stopped."""
        assert self._reach is not None
        return status(STOPPED[self._reach], lang, number=self.number)

    def failed_line(self, reason: str, lang: str) -> str:
        return status("run_failed", lang, number=self.number, reason=reason)


class Runs:
    """The run each tab has in flight, by a key naming the tab (owner and session): one at a time, so a double
    click cannot bill twice whatever the browser sends; a stopped run no longer counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Hashable, Run] = {}

    def start(self, tab: Hashable, number: int) -> Run:
        """A new run numbered `number`; RunInFlightError while another of the tab runs and was not stopped."""
        with self._lock:
            current = self._running.get(tab)
            if current is not None and not current.stopped:
                raise errors.RunInFlightError(number=current.number)
            run = self._running[tab] = Run(number)
            return run

    def end(self, tab: Hashable, run: Run) -> None:
        """`run` is over (whichever way)."""
        with self._lock:
            if self._running.get(tab) is run:
                del self._running[tab]

    def stop(self, tab: Hashable) -> Run | None:
        """Stop the tab's run in flight and return it (`stopped_line` says what the stop did); None when none is."""
        with self._lock:
            run = self._running.get(tab)
        if run is not None:
            run.stop()
        return run


class Requested(Protocol):
    """What `run_edit` runs: an EditForm, or an edit of history to repeat."""

    def to_request(self) -> EditRequest:
        """The validated request, or the InvalidRequestError that says what is wrong."""
        ...


def run_edit(
    studio: Studio,
    form: Requested,
    who: Visitor,
    earlier: list[Entry],
    progress: Report,
    run: Run | None = None,
) -> Iterator[tuple[list[Entry] | None, dict[str, Any] | None, str]]:
    """Run one edit and yield (this session's results, record, status line) as the results land; the
    record comes with the last yield. New results go first, `earlier` ones stay below them; results are
    None in a yield that only changes the status line: at each stage, and once a second while the edit waits
    for its turn under the rate limit, for DashScope's answer (seconds against this model's usual time) or to
    retry. A refusal or a failure is raised as the core EditError: the caller shows it its own way. When `run`
    is stopped, or the generator closed (a closed tab), an edit not sent yet is cancelled; a stopped run ends
    without a last yield (its edit, if sent, lands in history whoever listens)."""
    lang = who.lang
    progress(0.0, desc=status("preparing", lang))
    studio.check_allowance(who.caller)  # before any image is decoded
    request = form.to_request()
    usual = studio.usual_call_seconds(request.params.model)
    if run is not None and run.stopped:
        return  # stopped while its images were prepared: nothing was sent
    job = studio.submit(request, who.caller)
    if run is not None:
        run.attach(job)
    params = request.params.as_dict()
    landed: list[Entry] = []
    calling_since: float | None = None
    try:
        for step in job.progress(tick=TICK):
            if run is not None and run.stopped:
                return
            if step is None or step.stage is Stage.CALLING:
                if step is not None:
                    calling_since = time.monotonic()
                if calling_since is not None:
                    line, fraction = _calling(time.monotonic() - calling_since, usual, lang)
                    progress(fraction, desc=line)
                    yield None, None, line
            elif step.stage is Stage.WAITING and step.waiting:
                progress(0.0, desc=step.waiting.message(lang))
                yield None, None, step.waiting.message(lang)
            elif step.stage is Stage.RETRYING and step.retry:  # then the clock goes on, from the first attempt
                line = status("retrying", lang, **vars(step.retry))
                progress(0.05, desc=line)
                yield None, None, line
            elif step.stage is Stage.DOWNLOADING:
                calling_since = None
                line = status("downloading", lang, done=0, total=step.total)
                progress(0.8, desc=line)
                yield None, None, line
            elif step.stage is Stage.SAVED and step.image:
                progress(0.8 + 0.2 * step.done / max(step.total, 1), desc=status("downloading", lang, **vars(step)))
                image = step.image
                path = image.shown_path
                landed.append(gallery.entry(path, "", image.index, params, {}, gallery.shown_size(path)))
                yield landed + earlier, None, status("downloading", lang, done=step.done, total=step.total)
    finally:
        job.cancel()  # nothing if the edit was sent: it finishes and lands in history whoever listens
    result = job.result().require_images()  # nothing saved: the caller shows why, as for any failure
    line = status(
        "done",
        lang,
        count=len(result.images),
        seconds=result.seconds,
        seed=request.params.seed,
        width=result.usage.width,
        height=result.usage.height,
        request_id=result.request_id,
    )
    if result.failures:
        reasons = "; ".join(failure.message(lang) for failure in result.failures)
        line += "\n\n" + status("partial", lang, saved=len(result.images), total=request.params.n, reasons=reasons)
    yield gallery.result_entries(result) + earlier, result.record(), line


def _calling(elapsed: float, usual: float | None, lang: str) -> tuple[str, float | None]:
    """The line while DashScope works on the call, and how far along the bar is (None: no bar, when nothing
    says how long it usually takes)."""
    if usual is None:
        return status("calling", lang, elapsed=int(elapsed)), None
    line = status("calling_usual", lang, elapsed=int(elapsed), usual=max(1, round(usual)))
    return line, 0.05 + 0.75 * min(elapsed / max(usual, 0.1), 1.0)
