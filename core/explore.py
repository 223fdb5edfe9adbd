"""Prompt exploration: the same inputs edited over a grid of prompt variants x seeds x models x sizes.

`Plan.create` expands form values into cells, each an EditRequest checked by the same rules (and messages)
as a single edit, so a bad value is refused before anything runs; `count`, `images_billed` and `cost` are
known before running. `run_plan` runs the cells on a Studio, at most `settings.explore_concurrency` at a
time, each saved to history as it lands. `export_run` writes the whole run as a zip with a contact sheet.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import math
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from core import catalog, errors
from core.images import ImageSource
from core.references import normalise_references
from core.request import EditParameters, EditRequest, Size, parse_size
from core.settings import Price
from core.studio import LOCAL_OWNER, EditResult, Progress, Studio

log = logging.getLogger(__name__)

AXES = ("prompt", "seed", "model", "size")
"""The dimensions of a plan, in the order cells are laid out (prompt outermost)."""

# `{a|b|c}`: a group needs at least one `|`, so other braces in a prompt stay as written.
_GROUP = re.compile(r"\{([^{}]*\|[^{}]*)\}")

# Contact sheet geometry, in pixels: a label column, a header row, a gap around every slot.
LABEL_WIDTH = 240
HEADER_HEIGHT = 56
GAP = 8
_FONT_SIZE = 14
_LINE_HEIGHT = _FONT_SIZE + 4
_BACKGROUND = (255, 255, 255)
_SLOT_COLOURS = {
    "done": (244, 244, 244),
    "failed": (250, 226, 226),
    "cancelled": (232, 232, 232),
    "not run": (232, 232, 232),
}


# --- the plan -----------------------------------------------------------------------------------


def expand_prompts(prompts: str | Sequence[str]) -> tuple[str, ...]:
    """The prompt variants: one per line (or per item), each `{a|b|c}` group multiplying its line's variants.

    Blank lines are skipped, repeated variants kept once, and runs of spaces left by an empty alternative
    (`{very |}`) collapsed.
    """
    variants = (variant for line in _prompt_lines(prompts) for variant in _expand_line(line))
    return tuple(dict.fromkeys(variants))


def _prompt_lines(prompts: str | Sequence[str]) -> list[str]:
    items = prompts.splitlines() if isinstance(prompts, str) else list(prompts)
    return [str(item).strip() for item in items if str(item or "").strip()]


def _variant_count(line: str) -> int:
    return math.prod(len(group.split("|")) for group in _GROUP.findall(line))


def _expand_line(line: str) -> Iterator[str]:
    parts = _GROUP.split(line)  # literal, group, literal, group, ..., literal
    choices = [[part] if position % 2 == 0 else part.split("|") for position, part in enumerate(parts)]
    for combination in itertools.product(*choices):
        yield re.sub(r" {2,}", " ", "".join(combination)).strip()


@dataclass(frozen=True)
class Cell:
    """One edit of a plan: its position on each axis and the validated request."""

    index: int  # 0-based, in plan order
    coordinates: tuple[int, int, int, int]  # position on each of AXES
    request: EditRequest

    def at(self, axis: str) -> int:
        """The cell's position on `axis` (one of AXES)."""
        return self.coordinates[AXES.index(axis)]

    @property
    def params(self) -> EditParameters:
        return self.request.params


@dataclass(frozen=True)
class Grid:
    """Cells laid out for display: rows and columns are two axes; any other axis with more than one
    value is folded into the rows, so no cell is hidden."""

    rows: str
    columns: str
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    positions: tuple[tuple[int, int], ...]  # (row, column) of each cell, by cell index


@dataclass(frozen=True)
class Plan:
    """An exploration: the axes' values and every cell, validated. Build it with `Plan.create`."""

    prompts: tuple[str, ...]
    seeds: tuple[int, ...]
    models: tuple[str, ...]
    sizes: tuple[str, ...]  # "auto" or "W*H"
    cells: tuple[Cell, ...]

    @property
    def count(self) -> int:
        """Edits the plan runs (one call each)."""
        return len(self.cells)

    @property
    def images_billed(self) -> int:
        """Images the plan bills if every cell succeeds: the sum of n over cells."""
        return sum(cell.params.n for cell in self.cells)

    def cost(self, price: Price | None) -> Decimal | None:
        """What the images cost at `price` (None when no price is configured)."""
        return None if price is None else price.amount * self.images_billed

    def values(self, axis: str) -> tuple[str, ...]:
        """The values along `axis`, as strings ("auto" for the service's default size)."""
        if axis == "seed":
            return tuple(str(seed) for seed in self.seeds)
        return {"prompt": self.prompts, "model": self.models, "size": self.sizes}[_axis(axis)]

    def label(self, axis: str, position: int) -> str:
        """A short caption for a value: the prompt itself, "seed 42", the model id, "1024*1024"."""
        value = self.values(axis)[position]
        return {"seed": f"seed {value}", "size": "auto size" if value == "auto" else value}.get(axis, value)

    def grid(self, rows: str = "prompt", columns: str = "seed") -> Grid:
        """The cells as rows x columns of two distinct axes (ValueError otherwise)."""
        if _axis(rows) == _axis(columns):
            raise ValueError(f"rows and columns must be different axes, both are {rows!r}")
        folded = [axis for axis in AXES if axis not in (rows, columns) and len(self.values(axis)) > 1]
        keys = [(cell.at(rows), *(cell.at(axis) for axis in folded)) for cell in self.cells]
        row_keys = sorted(set(keys))
        row_labels = tuple(
            " · ".join(self.label(axis, position) for axis, position in zip((rows, *folded), key, strict=True))
            for key in row_keys
        )
        row_of = {key: row for row, key in enumerate(row_keys)}
        return Grid(
            rows=rows,
            columns=columns,
            row_labels=row_labels,
            column_labels=tuple(self.label(columns, i) for i in range(len(self.values(columns)))),
            positions=tuple((row_of[key], cell.at(columns)) for key, cell in zip(keys, self.cells, strict=True)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The axes and totals, JSON-ready: with the seeds actually used, the plan can be run again."""
        return {
            "prompts": list(self.prompts),
            "seeds": list(self.seeds),
            "models": list(self.models),
            "sizes": list(self.sizes),
            "count": self.count,
            "images_billed": self.images_billed,
        }

    @classmethod
    def create(
        cls,
        images: Sequence[ImageSource | None],
        prompts: str | Sequence[str],
        *,
        max_cells: int,
        seeds: str | int | Iterable[Any] = (),
        random_seeds: Any = 0,
        models: str | Iterable[str] = (),
        sizes: str | Size | Iterable[str | Size | None] = (),
        negative_prompt: str = "",
        n: Any = 1,
        region: str = catalog.DEFAULT_REGION,
        prompt_extend: bool | None = None,
        watermark: bool = False,
    ) -> Plan:
        """Expand and validate a plan; raise the InvalidRequestError of the first bad value, before any call.

        `prompts`: see `expand_prompts`. `seeds`: a fixed list, or text such as "1, 2, 3" (-1 or None
        entries are drawn at random), plus `random_seeds` more drawn at random, all drawn once here and
        recorded; with neither, one random seed. `models` (default: the default model) and `sizes` (default:
        "auto") take one value or a list. Other values apply to every cell. Repeated values are kept once.
        Plans of more than `max_cells` cells are refused with PlanTooLargeError before any is built.
        """
        lines = _prompt_lines(prompts)
        if not lines:
            raise errors.EmptyPromptError()
        model_ids = _unique(catalog.get_model(model).id for model in _listed(models)) or (catalog.DEFAULT_MODEL,)
        size_values = _unique(parse_size(size) for size in _listed(sizes)) or (None,)
        fixed = re.split(r"[,\s]+", seeds.strip()) if isinstance(seeds, str) else _listed(seeds)
        seed_values = _seeds([seed for seed in fixed if seed != ""], random_seeds, max_cells)
        axis_sizes = (sum(_variant_count(line) for line in lines), len(seed_values), len(model_ids), len(size_values))
        if math.prod(axis_sizes) > max_cells:  # checked before expanding, so a huge template costs nothing
            prompts_n, seeds_n, models_n, sizes_n = axis_sizes
            raise errors.PlanTooLargeError(
                count=math.prod(axis_sizes),
                prompts=prompts_n,
                seeds=seeds_n,
                models=models_n,
                sizes=sizes_n,
                limit=max_cells,
            )
        variants = expand_prompts(lines)
        common = {
            "region": region,
            "negative_prompt": negative_prompt,
            "n": n,
            "prompt_extend": prompt_extend,
            "watermark": watermark,
        }
        axes = (variants, seed_values, model_ids, size_values)
        combos = list(itertools.product(*(range(len(values)) for values in axes)))
        parameters = [_cell_parameters(axes, coordinates, common) for coordinates in combos]
        # Images last (the costly part), prepared once for every cell by the same checks as a single edit.
        first = parameters[0]
        base = EditRequest.create(images, first.prompt, model=first.model, size=first.size, seed=first.seed, **common)
        cells = tuple(
            Cell(index, coordinates, EditRequest(base.images, _with_references(params, len(base.images))))
            for index, (coordinates, params) in enumerate(zip(combos, parameters, strict=True))
        )
        return cls(
            prompts=variants,
            seeds=tuple(seed for seed, _ in seed_values),
            models=model_ids,
            sizes=tuple(str(size) if size else "auto" for size in size_values),
            cells=cells,
        )


def _axis(name: str) -> str:
    if name not in AXES:
        raise ValueError(f"unknown axis {name!r}; axes are {', '.join(AXES)}")
    return name


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


def _listed(values: Any) -> list[Any]:
    """One value (a single dropdown choice) or several."""
    if values is None:
        return []
    if isinstance(values, (str, int, Size)):
        return [values]
    return list(values)


def _seeds(fixed: list[Any], random_count: Any, max_cells: int) -> tuple[tuple[int, bool], ...]:
    """(seed, drawn at random) for each distinct seed; every value checked as a single edit's seed is."""
    if isinstance(random_count, float) and random_count.is_integer():  # number fields give floats
        random_count = int(random_count)
    if isinstance(random_count, bool) or not isinstance(random_count, int) or not 0 <= random_count <= max_cells:
        raise errors.RandomSeedCountError(value=random_count, limit=max_cells)
    resolved = [_resolve_seed(value) for value in fixed]
    resolved += [_resolve_seed(None) for _ in range(random_count)]
    if not resolved:
        resolved = [_resolve_seed(None)]
    unique: dict[int, bool] = {}
    for seed, drawn in resolved:
        unique.setdefault(seed, drawn)
    return tuple(unique.items())


def _resolve_seed(value: Any) -> tuple[int, bool]:
    params = EditParameters.create("seed", seed=value)  # the one place seeds are checked and drawn
    return params.seed, params.seed_was_random


def _cell_parameters(
    axes: tuple[tuple[Any, ...], ...], coordinates: tuple[int, ...], common: dict[str, Any]
) -> EditParameters:
    prompt, (seed, drawn), model, size = (values[i] for values, i in zip(axes, coordinates, strict=True))
    params = EditParameters.create(prompt, model=model, size=size, seed=seed, **common)
    return replace(params, seed_was_random=drawn)  # history says the seed was random, as it was


def _with_references(params: EditParameters, image_count: int) -> EditParameters:
    return replace(params, prompt=normalise_references(params.prompt, image_count))


# --- running ------------------------------------------------------------------------------------


class CellState(Enum):
    """How a cell ended."""

    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class CellOutcome:
    """A finished cell: its result, or the error it ended with, or cancelled before it started."""

    cell: Cell
    state: CellState
    result: EditResult | None = None
    error: errors.EditError | None = None


class ExploreRun:
    """A plan running on a studio, in threads of its own: the cells go on (and land in history) whoever
    listens. `run_plan` starts one."""

    def __init__(
        self,
        studio: Studio,
        plan: Plan,
        *,
        owner: str,
        user_key: str | None,
        client_ip: str | None,
        on_outcome: Callable[[CellOutcome], None] | None,
        on_progress: Callable[[Cell, Progress], None] | None,
    ) -> None:
        self.plan = plan
        self._studio = studio
        self._owner = owner
        self._user_key = user_key
        self._client_ip = client_ip
        self._on_outcome = on_outcome
        self._on_progress = on_progress
        self._todo: queue.SimpleQueue[Cell] = queue.SimpleQueue()
        for cell in plan.cells:
            self._todo.put(cell)
        self._cancel = threading.Event()
        self._changed = threading.Condition()
        self._finished: list[CellOutcome] = []
        workers = max(1, min(studio.settings.explore_concurrency, plan.count))
        # Each worker runs one cell at a time: never more calls in flight than the setting.
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
        """Cells not started yet end as cancelled; those in flight finish (they may already be billed)."""
        self._cancel.set()

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
                owner=self._owner,
                user_key=self._user_key,
                client_ip=self._client_ip,
                on_progress=(lambda progress: report(cell, progress)) if report else None,
            )
        except errors.EditError as error:
            return CellOutcome(cell, CellState.FAILED, error=error)
        except Exception as exc:  # one broken cell must not stop the others
            log.exception("explore cell %d failed unexpectedly", cell.index + 1)
            return CellOutcome(cell, CellState.FAILED, error=errors.EditError(detail=str(exc) or type(exc).__name__))
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
            self._changed.notify_all()


def run_plan(
    studio: Studio,
    plan: Plan,
    *,
    owner: str = LOCAL_OWNER,
    user_key: str | None = None,
    client_ip: str | None = None,
    on_outcome: Callable[[CellOutcome], None] | None = None,
    on_progress: Callable[[Cell, Progress], None] | None = None,
) -> ExploreRun:
    """Start running `plan`'s cells on `studio` and return at once. `owner`, `user_key` and `client_ip` are
    passed to every `Studio.edit` (history, key, hourly limit on the host's key) as for a single edit.

    `on_outcome` is called as each cell finishes, `on_progress` at each step of a cell (both from worker
    threads); `ExploreRun.outcomes()` yields the same outcomes to a single loop.
    """
    return ExploreRun(
        studio,
        plan,
        owner=owner,
        user_key=user_key,
        client_ip=client_ip,
        on_outcome=on_outcome,
        on_progress=on_progress,
    )


# --- export -------------------------------------------------------------------------------------

_RECORD_FIELDS = (
    "cell",
    "state",
    "prompt_variant",
    "prompt",
    "seed",
    "seed_was_random",
    "model",
    "size",
    "n",
    "negative_prompt",
    "region",
    "prompt_extend",
    "watermark",
    "edit_id",
    "request_id",
    "width",
    "height",
    "seconds",
    "files",
    "error",
)


def cell_records(plan: Plan, outcomes: Sequence[CellOutcome], lang: str = "en") -> list[dict[str, Any]]:
    """One JSON-ready row per cell, in plan order, with every parameter; cells without an outcome are
    "not run". `files` are the result names inside the export zip."""
    by_index = {outcome.cell.index: outcome for outcome in outcomes}
    records = []
    for cell in plan.cells:
        outcome = by_index.get(cell.index)
        result = outcome.result if outcome else None
        params = cell.params.as_dict()
        records.append(
            {
                "cell": cell.index + 1,
                "state": outcome.state.value if outcome else "not run",
                "prompt_variant": cell.at("prompt") + 1,
                **{field: params[field] for field in _RECORD_FIELDS if field in params},
                "edit_id": result.edit_id if result else None,
                "request_id": result.request_id if result else None,
                "width": result.usage.width if result else None,
                "height": result.usage.height if result else None,
                "seconds": round(result.seconds, 3) if result else None,
                "files": [_result_name(plan, cell, image.index) for image in result.images] if result else [],
                "error": outcome.error.message(lang) if outcome and outcome.error else None,
            }
        )
    return records


def _result_name(plan: Plan, cell: Cell, index: int) -> str:
    width = len(str(plan.count))
    return f"images/cell-{cell.index + 1:0{width}d}-{index}.png"


def export_run(
    plan: Plan,
    outcomes: Sequence[CellOutcome],
    destination: Path,
    *,
    rows: str = "prompt",
    columns: str = "seed",
    thumb: int = 256,
) -> Path:
    """Write `destination` (a zip): `images/cell-<k>-<i>.png` for every result, `inputs/input-<slot>.<ext>`,
    `cells.csv` and `cells.json` (the plan's axes and every cell's parameters, state and files) and
    `contact-sheet.png` (the grid, rows x columns). Works on a partial or cancelled run too."""
    records = cell_records(plan, outcomes)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs don't compress
        for outcome in outcomes:
            for image in outcome.result.images if outcome.result is not None else ():
                archive.write(image.path, _result_name(plan, outcome.cell, image.index))
        for image in plan.cells[0].request.images:
            archive.writestr(f"inputs/input-{image.slot}.{image.mime.split('/')[-1]}", image.data)
        archive.writestr("cells.json", json.dumps({"plan": plan.as_dict(), "cells": records}, ensure_ascii=False))
        archive.writestr("cells.csv", _csv(records))
        sheet = io.BytesIO()
        contact_sheet(plan, outcomes, rows=rows, columns=columns, thumb=thumb).save(sheet, "PNG")
        archive.writestr("contact-sheet.png", sheet.getvalue())
    return destination


def _csv(records: list[dict[str, Any]]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=_RECORD_FIELDS)
    writer.writeheader()
    for record in records:
        writer.writerow({**record, "files": " ".join(record["files"])})
    return text.getvalue()


def contact_sheet(
    plan: Plan, outcomes: Sequence[CellOutcome], *, rows: str = "prompt", columns: str = "seed", thumb: int = 256
) -> Image.Image:
    """The run as one labelled image: a header row of column labels, a column of row labels, and per cell
    its n results side by side, each fitted in a `thumb` square. Failed, cancelled and not-run cells are
    shaded boxes saying so. Size: LABEL_WIDTH + columns x (n x thumb + GAP) + GAP wide,
    HEADER_HEIGHT + rows x (thumb + GAP) + GAP high."""
    grid = plan.grid(rows, columns)
    n = max(cell.params.n for cell in plan.cells)
    slot_width = n * thumb
    size = (
        LABEL_WIDTH + len(grid.column_labels) * (slot_width + GAP) + GAP,
        HEADER_HEIGHT + len(grid.row_labels) * (thumb + GAP) + GAP,
    )
    sheet = Image.new("RGB", size, _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=_FONT_SIZE)
    _text(draw, (GAP, GAP), f"rows: {rows}\ncolumns: {columns}", font, LABEL_WIDTH - 2 * GAP, 3)
    for column, label in enumerate(grid.column_labels):
        _text(draw, (_slot_x(column, slot_width), GAP), label, font, slot_width, 3)
    for row, label in enumerate(grid.row_labels):
        _text(draw, (GAP, _slot_y(row, thumb)), label, font, LABEL_WIDTH - 2 * GAP, thumb // _LINE_HEIGHT)
    by_index = {outcome.cell.index: outcome for outcome in outcomes}
    for cell, (row, column) in zip(plan.cells, grid.positions, strict=True):
        x, y = _slot_x(column, slot_width), _slot_y(row, thumb)
        outcome = by_index.get(cell.index)
        if outcome is not None and outcome.result is not None:
            draw.rectangle((x, y, x + slot_width - 1, y + thumb - 1), fill=_SLOT_COLOURS["done"])
            for image in outcome.result.images:
                with Image.open(image.path) as picture:
                    fitted = picture.convert("RGB")
                fitted.thumbnail((thumb, thumb), Image.Resampling.LANCZOS, reducing_gap=2.0)
                left = x + (image.index - 1) * thumb + (thumb - fitted.width) // 2
                sheet.paste(fitted, (left, y + (thumb - fitted.height) // 2))
            continue
        state = outcome.state.value if outcome else "not run"
        draw.rectangle((x, y, x + slot_width - 1, y + thumb - 1), fill=_SLOT_COLOURS[state])
        detail = f"{state}: {outcome.error.message('en')}" if outcome and outcome.error else state
        _text(draw, (x + GAP, y + GAP), detail, font, slot_width - 2 * GAP, (thumb - 2 * GAP) // _LINE_HEIGHT)
    return sheet


def _slot_x(column: int, slot_width: int) -> int:
    return LABEL_WIDTH + GAP + column * (slot_width + GAP)


def _slot_y(row: int, thumb: int) -> int:
    return HEADER_HEIGHT + GAP + row * (thumb + GAP)


def _text(
    draw: ImageDraw.ImageDraw,
    origin: tuple[int, int],
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    max_lines: int,
) -> None:
    lines = [line for paragraph in text.splitlines() for line in _wrap(paragraph, font, width)]
    if len(lines) > max_lines > 0:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1].rstrip() + "…"]
    for number, line in enumerate(lines[: max(max_lines, 0)]):
        draw.text((origin[0], origin[1] + number * _LINE_HEIGHT), line, fill=(20, 20, 20), font=font)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """Greedy word wrap; a word wider than the line (or a run of CJK text) is cut where it overflows."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while font.getlength(current) > width and len(current) > 1:
            cut = next(i for i in range(len(current), 0, -1) if font.getlength(current[:i]) <= width or i == 1)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines
