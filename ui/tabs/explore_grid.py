"""The Explore grid as an HTML table built on the server: a header row with the column axis's values, a header
column with the rows' values, and per cell a square thumbnail (served in place from the store's thumbnails, a
static path) with a caption of what sets the cell apart. It scrolls inside its own area, headers kept in view.

A click on a cell sends only its index in the plan (`select`); the handlers look the cell up in the run's
server-side state, so nothing a client sends names a path or an edit.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from urllib.parse import quote

import gradio as gr

from core import catalog
from core.workflows.contact_sheet import TILE_COLOURS
from core.workflows.explore import CellOutcome, CellState
from core.workflows.plan import Plan, varying_parts
from ui.strings import I18N, label, status

Thumbnail = Callable[[CellOutcome], Path]
"""The stored thumbnail of a finished cell's first image."""

# Scoped to the grid by Gradio (a rule outside a block targets the component itself). Cells grow to fill the
# area's width (`--cols` is set per grid) between a readable minimum and a maximum; past the minimum the area
# scrolls both ways, its headers kept at its edges, and scroll padding keeps a cell scrolled into view out
# from under them. No dollar-brace here: Gradio reads this text as a JS template.
CSS = """
.grid-area {
  container-type: inline-size;
  max-height: min(72vh, 660px); overflow: auto; overscroll-behavior: contain;
  border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg);
  background: var(--background-fill-secondary);
  scroll-padding-top: 48px; scroll-padding-left: 130px;
}
table {
  --head: clamp(88px, 17cqw, 170px);
  --cell: clamp(124px, calc((100cqw - var(--head) - (var(--cols) + 2) * 6px - 2px) / var(--cols)), 240px);
  border-collapse: separate; border-spacing: 6px; margin: 0; padding: 0; border: 0; width: max-content;
  table-layout: fixed;
}
.grid-empty { padding: 24px; opacity: 0.7; font-size: 0.9em; }
th { font-size: 12px; line-height: 1.3; font-weight: 600; text-align: left; vertical-align: top;
  background: var(--background-fill-secondary); padding: 4px; border: 0; overflow-wrap: anywhere;
  box-sizing: border-box; }
thead th { position: sticky; top: 0; z-index: 2; width: var(--cell); }
th.row-head, th.corner { position: sticky; left: 0; width: var(--head); min-width: var(--head); }
th.row-head { z-index: 1; }
th.corner { z-index: 3; font-weight: 400; opacity: 0.85; }
.row-head .value { display: block; }
td { padding: 0; border: 0; vertical-align: top; }
button.cell { display: flex; flex-direction: column; gap: 4px; width: var(--cell); padding: 4px; margin: 0;
  box-sizing: border-box; border: 2px solid transparent; border-radius: var(--radius-md);
  background: var(--background-fill-primary); cursor: pointer; text-align: left; font: inherit; color: inherit; }
button.cell:hover { border-color: var(--border-color-accent); }
button.cell.selected { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
.thumb { display: flex; align-items: center; justify-content: center; width: 100%; aspect-ratio: 1;
  border-radius: var(--radius-sm); overflow: hidden; }
.thumb img { width: 100%; height: 100%; object-fit: contain; margin: 0; }
.state { padding: 8px; font-size: 12px; line-height: 1.3; color: #1f2937; overflow: hidden;
  display: -webkit-box; -webkit-line-clamp: 6; -webkit-box-orient: vertical; overflow-wrap: anywhere; }
.caption { font-size: 12px; line-height: 1.3; overflow-wrap: anywhere; }
@media (max-width: 767px) {
  .grid-area { max-height: 70vh; }
}
"""

# One listener for the whole grid (its cells are redrawn as the run goes): a click marks the cell and sends
# its index; a redraw of the same run keeps the mark, a new run drops it.
JS = """
let chosen = null;
let run = null;
const mark = () => {
  const area = element.querySelector(".grid-area");
  if (!area) return;
  if (area.dataset.run !== run) { run = area.dataset.run; chosen = null; }
  const top = area.querySelector("thead");
  const side = area.querySelector("th.row-head");
  if (top && side) {  // the headers' real size: a cell scrolled into view lands beside them, not under
    area.style.scrollPaddingTop = `${top.offsetHeight + 6}px`;
    area.style.scrollPaddingLeft = `${side.offsetWidth + 12}px`;
  }
  element.querySelectorAll("button.cell").forEach((cell) => {
    const on = cell.dataset.cell === chosen;
    cell.classList.toggle("selected", on);
    cell.setAttribute("aria-pressed", on ? "true" : "false");
  });
};
element.addEventListener("click", (event) => {
  const cell = event.target.closest("button.cell");
  if (!cell || !element.contains(cell)) return;
  mark();
  chosen = cell.dataset.cell;
  mark();
  trigger("select", { index: Number(chosen), value: null });
});
watch("value", mark);
"""


def render() -> gr.HTML:
    """The grid's area, empty until a run fills it."""
    return gr.HTML(
        "",
        label=I18N("explore_grid"),
        css_template=CSS,
        js_on_load=JS,
        apply_default_css=False,
        elem_id="explore-grid",
    )


def empty(lang: str) -> str:
    """The area before any run."""
    return f'<div class="grid-area grid-empty">{escape(status("grid_empty", lang))}</div>'


def table(
    plan: Plan,
    outcomes: dict[int, CellOutcome],
    rows: str,
    columns: str,
    lang: str,
    thumbnail: Thumbnail,
    run: str,
) -> str:
    """The grid of `plan` as it stands (cells without an outcome are waiting), rows x columns of two axes."""
    grid = plan.grid(rows, columns)
    values = _Values(plan, lang)
    named = " + ".join(label(f"axis_{axis}", lang) for axis in grid.row_axes)
    corner = status("grid_corner", lang, rows=named, columns=label(f"axis_{columns}", lang))
    head = [f'<th class="corner" scope="col">{escape(corner)}</th>']
    for position in range(len(plan.values(columns))):
        short, full = values.of(columns, position)
        head.append(f'<th class="col-head" scope="col" title="{escape(full)}">{escape(short)}</th>')
    cells: list[list[str]] = [[""] * len(head[1:]) for _ in grid.row_keys]
    for cell, (row, column) in zip(plan.cells, grid.positions, strict=True):
        cells[row][column] = _cell(plan, cell.index, outcomes.get(cell.index), values, lang, thumbnail)
    body = []
    for key, row_cells in zip(grid.row_keys, cells, strict=True):
        pairs = [values.of(axis, position) for axis, position in zip(grid.row_axes, key, strict=True)]
        shown = "".join(f'<span class="value">{escape(short)}</span>' for short, _ in pairs)
        title = escape(" · ".join(full for _, full in pairs))
        tds = "".join(f"<td>{html}</td>" for html in row_cells)
        body.append(f'<tr><th class="row-head" scope="row" title="{title}">{shown}</th>{tds}</tr>')
    area = escape(status("grid_area", lang, rows=len(grid.row_keys), columns=len(head) - 1))
    return (
        f'<div class="grid-area" role="region" aria-label="{area}" tabindex="0" data-run="{escape(run)}">'
        f'<table style="--cols: {len(head) - 1}"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


class _Values:
    """Each axis value as a header or caption shows it (short) and as its hover text says it (full)."""

    def __init__(self, plan: Plan, lang: str) -> None:
        self._plan = plan
        self._lang = lang
        self._parts = varying_parts(plan.prompts)

    def of(self, axis: str, position: int) -> tuple[str, str]:
        value = self._plan.values(axis)[position]
        if axis == "prompt":
            return self._parts[position], value
        if axis == "seed":
            seed = status("grid_seed", self._lang, seed=value)
            return seed, seed
        if axis == "model":
            name = catalog.get_model(value).text(self._lang)[0]
            return name, f"{name} ({value})"
        size = status("grid_auto_size", self._lang) if value == "auto" else value
        return size, size


def _cell(
    plan: Plan,
    index: int,
    outcome: CellOutcome | None,
    values: _Values,
    lang: str,
    thumbnail: Thumbnail,
) -> str:
    """A cell's button: its picture (or a shaded box saying what became of it) over its caption."""
    cell = plan.cells[index]
    varied = plan.varied or ("seed",)
    caption = " · ".join(values.of(axis, cell.at(axis))[0] for axis in varied)
    full = " · ".join(values.of(axis, cell.at(axis))[1] for axis in ("prompt", "seed", "model", "size"))
    if outcome is not None and outcome.state is CellState.DONE and outcome.result and outcome.result.images:
        source = "gradio_api/file=" + quote(str(thumbnail(outcome)))
        picture = f'<img src="{escape(source)}" alt="{escape(full)}" loading="lazy">'
        extra = len(outcome.result.images) - 1
        caption += f" (+{extra})" if extra else ""
        tile = TILE_COLOURS["done"]
    else:
        kind, line = _state_line(outcome, lang)
        picture = f'<span class="state">{escape(line)}</span>'
        full += f" · {line}"
        tile = TILE_COLOURS[kind]
    return (
        f'<button type="button" class="cell" data-cell="{index}" title="{escape(full)}" aria-pressed="false">'
        f'<span class="thumb" style="background: rgb{tile}">{picture}</span>'
        f'<span class="caption">{escape(caption)}</span></button>'
    )


def _state_line(outcome: CellOutcome | None, lang: str) -> tuple[str, str]:
    """(tile kind, what the cell says) for a cell without a picture."""
    if outcome is None:
        return "waiting", status("cell_pending", lang)
    if outcome.state is CellState.CANCELLED:
        return "cancelled", status("cell_cancelled", lang)
    reason = outcome.error.message(lang) if outcome.error else ""
    return "failed", status("cell_failed", lang, reason=reason)
