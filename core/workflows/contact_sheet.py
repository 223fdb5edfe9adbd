"""The contact sheet of an exploration: the whole run as one labelled image, rows x columns of two axes."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from core.workflows.explore import CellOutcome
from core.workflows.plan import Plan

# Geometry, in pixels: a label column, a header row, a gap around every slot.
LABEL_WIDTH = 240
HEADER_HEIGHT = 56
GAP = 8
_FONT_SIZE = 14
_LINE_HEIGHT = _FONT_SIZE + 4
_BACKGROUND = (255, 255, 255)

TILE_COLOURS = {
    "done": (244, 244, 244),
    "waiting": (226, 232, 240),
    "failed": (254, 226, 226),
    "cancelled": (241, 245, 249),
}
"""The colour of a tile without a picture (or behind one), by what became of its cell; the page's
placeholder tiles use the same."""

TILE_OF_STATE = {"done": "done", "failed": "failed", "cancelled": "cancelled", "not run": "waiting"}


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
            draw.rectangle((x, y, x + slot_width - 1, y + thumb - 1), fill=TILE_COLOURS["done"])
            for image in outcome.result.images:
                with Image.open(image.path) as picture:
                    fitted = picture.convert("RGB")
                fitted.thumbnail((thumb, thumb), Image.Resampling.LANCZOS, reducing_gap=2.0)
                left = x + (image.index - 1) * thumb + (thumb - fitted.width) // 2
                sheet.paste(fitted, (left, y + (thumb - fitted.height) // 2))
            continue
        state = outcome.state.value if outcome else "not run"
        draw.rectangle((x, y, x + slot_width - 1, y + thumb - 1), fill=TILE_COLOURS[TILE_OF_STATE[state]])
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
