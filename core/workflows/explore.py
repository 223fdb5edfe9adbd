"""Running an exploration: a plan's cells edited on a Studio, at most `explore_concurrency` at a time
per run and `explore_global_concurrency` across all runs, each saved to history as it lands, whoever
listens."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from core import errors
from core.caller import LOCAL, Caller
from core.studio import EditResult, Progress, Studio
from core.workflows.plan import Cell, Plan

log = logging.getLogger(__name__)


class CellState(Enum):
    """How a cell ended."""

    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class CellOutcome:
    """A finished cell: its result, or the error it ended with, or cancelled before it was sent."""

    cell: Cell
    state: CellState
    result: EditResult | None = None
    error: errors.EditError | None = None


class ExploreRun:
    """A plan running on a studio, in threads of its own: the cells go on (and land in history) whoever
    listens. `run_plan` starts one. Every cell's edit is pinned against quota eviction until the last cell is
    over, so the whole run can still be shown and exported then."""

    def __init__(
        self,
        studio: Studio,
        plan: Plan,
        caller: Caller,
        *,
        on_outcome: Callable[[CellOutcome], None] | None,
        on_progress: Callable[[Cell, Progress], None] | None,
    ) -> None:
        self.plan = plan
        self._studio = studio
        self._caller = caller
        self._on_outcome = on_outcome
        self._on_progress = on_progress
        self._todo: queue.SimpleQueue[Cell] = queue.SimpleQueue()
        for cell in plan.cells:
            self._todo.put(cell)
        self._cancel = threading.Event()
        self._changed = threading.Condition()
        self._finished: list[CellOutcome] = []
        self._pins = studio.pin_group()
        workers = max(1, min(studio.settings.explore_concurrency, plan.count))
        # Each worker runs one cell at a time: never more calls in flight than the run's setting, and each
        # cell holds one of the studio's explore slots: never more than the global setting across runs.
        for number in range(workers):
            threading.Thread(target=self._work, name=f"explore-{number}").start()

    @property
    def done(self) -> int:
        """Cells finished so far (done, failed or cancelled)."""
        with self._changed:
            return len(self._finished)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Every cell not sent yet ends as cancelled: those not started before this returns, those waiting for
        their turn under the rate limit a moment later; cells already sent finish and are saved (they may be
        billed)."""
        self._cancel.set()
        while True:
            try:
                cell = self._todo.get_nowait()
            except queue.Empty:
                return
            self._publish(CellOutcome(cell, CellState.CANCELLED))

    def outcomes(self) -> Iterator[CellOutcome]:
        """Each cell's outcome as it finishes, until every cell is accounted for. Several iterators may run
        at once, each sees every outcome."""
        seen = 0
        while seen < self.plan.count:
            with self._changed:
                self._changed.wait_for(lambda known=seen: len(self._finished) > known)
                fresh = self._finished[seen:]
            seen += len(fresh)
            yield from fresh

    def wait(self, timeout: float | None = None) -> tuple[CellOutcome, ...]:
        """Every outcome, in plan order, once all cells are over (TimeoutError after `timeout` seconds)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._finished) == self.plan.count, timeout):
                raise TimeoutError(f"{len(self._finished)} of {self.plan.count} cells finished")
            return tuple(sorted(self._finished, key=lambda outcome: outcome.cell.index))

    def _work(self) -> None:
        while True:
            # A slot first, then a cell: a cell no worker runs yet stays in the queue, where cancel() finds it.
            with self._studio.explore_slots:
                try:
                    cell = self._todo.get_nowait()
                except queue.Empty:
                    return
                outcome = CellOutcome(cell, CellState.CANCELLED) if self._cancel.is_set() else self._run(cell)
            self._publish(outcome)

    def _run(self, cell: Cell) -> CellOutcome:
        report = self._on_progress
        try:
            result = self._studio.edit(
                cell.request,
                self._caller,
                on_progress=(lambda progress: report(cell, progress)) if report else None,
                pin_to=self._pins,
                cancelled=self._cancel.is_set,  # asked right before the request goes out
            )
        except errors.EditCancelledError:
            return CellOutcome(cell, CellState.CANCELLED)
        except errors.EditError as error:
            return CellOutcome(cell, CellState.FAILED, error=error)
        except Exception as exc:  # one broken cell must not stop the others
            log.exception("explore cell %d failed unexpectedly", cell.index + 1)
            return CellOutcome(cell, CellState.FAILED, error=errors.EditError(detail=str(exc) or type(exc).__name__))
        if not result.images:
            failed = errors.NothingSavedError.listing(result.failures, request_id=result.request_id)
            return CellOutcome(cell, CellState.FAILED, result=result, error=failed)
        return CellOutcome(cell, CellState.DONE, result=result)

    def _publish(self, outcome: CellOutcome) -> None:
        # The callback first: once wait() returns, every callback has run.
        if self._on_outcome:
            try:
                self._on_outcome(outcome)
            except Exception:  # a listener's bug must not stop the run
                log.exception("explore outcome callback failed")
        with self._changed:
            self._finished.append(outcome)
            over = len(self._finished) == self.plan.count
            self._changed.notify_all()
        if over:
            self._pins.release()


def run_plan(
    studio: Studio,
    plan: Plan,
    caller: Caller = LOCAL,
    *,
    on_outcome: Callable[[CellOutcome], None] | None = None,
    on_progress: Callable[[Cell, Progress], None] | None = None,
) -> ExploreRun:
    """Start running `plan`'s cells on `studio` for `caller` and return at once; each cell is one
    `Studio.edit` (history, key, hourly allowance) as a single edit is. A plan that does not fit the
    caller's hourly allowance is refused whole (AllowanceExceededError) before any cell is sent.

    `on_outcome` is called as each cell finishes, `on_progress` at each step of a cell (both from worker
    threads); `ExploreRun.outcomes()` yields the same outcomes to a single loop.
    """
    studio.check_allowance(caller, plan.count)
    return ExploreRun(studio, plan, caller, on_outcome=on_outcome, on_progress=on_progress)
