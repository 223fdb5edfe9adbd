"""One edit run for the page or the API: submitted to the studio, its results reported as they land."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from core.request import EditRequest
from core.studio import Stage, Studio
from ui import gallery
from ui.gallery import Entry
from ui.strings import status
from ui.visitors import Visitor

Report = Callable[..., Any]
"""gr.Progress, or anything called like it: (fraction, desc=text)."""


class Requested(Protocol):
    """What `run_edit` runs: an EditForm, or an edit of history to repeat."""

    def to_request(self) -> EditRequest:
        """The validated request, or the InvalidRequestError that says what is wrong."""
        ...


def run_edit(
    studio: Studio, form: Requested, who: Visitor, earlier: list[Entry], progress: Report
) -> Iterator[tuple[list[Entry] | None, dict[str, Any] | None, str]]:
    """Run one edit and yield (this session's results, record, status line) as the results land; the
    record comes with the last yield. New results go first, `earlier` ones stay below them; results are
    None in a yield that only tells how long the edit still waits (once a second while it waits for its
    turn under the rate limit, or to retry). A refusal or a failure is raised as the core EditError: the
    caller shows it its own way. Closing the generator (a Cancel, a closed tab) cancels an edit not sent yet."""
    lang = who.lang
    progress(0.0, desc=status("preparing", lang))
    studio.check_allowance(who.caller)  # before any image is decoded
    request = form.to_request()
    job = studio.submit(request, who.caller)
    params = request.params.as_dict()
    landed: list[Entry] = []
    try:
        for step in job.progress():
            if step.stage is Stage.WAITING and step.waiting:
                progress(0.0, desc=step.waiting.message(lang))
                yield None, None, step.waiting.message(lang)  # a Cancel lands at a yield
            elif step.stage is Stage.CALLING:
                progress(0.05, desc=status("calling", lang))
            elif step.stage is Stage.RETRYING and step.retry:
                line = status("retrying", lang, **vars(step.retry))
                progress(0.05, desc=line)
                yield None, None, line
            elif step.stage is Stage.DOWNLOADING:
                progress(0.8, desc=status("downloading", lang, done=0, total=step.total))
            elif step.stage is Stage.SAVED and step.image:
                progress(0.8 + 0.2 * step.done / max(step.total, 1), desc=status("downloading", lang, **vars(step)))
                image = step.image
                path = image.exact_path or image.path
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
