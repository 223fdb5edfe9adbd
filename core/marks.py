"""Marks drawn on an image as a visual instruction: arrows, boxes, short notes and freehand strokes, as data;
the marked copy they make; and the prompt that tells the model what the two images are.

The model gets the clean original as Image 1 and the marked copy as Image 2 (the same picture, same size), with
`marks_prompt`: edit Image 1 as the marks in Image 2 ask, and show no mark in the result. Points are fractions of
the image's width and height (0 to 1), so the same marks draw on the editor's small copy and on the full image;
widths are pixels at a longest side of 1024, scaled with the image.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from core import errors

ARROW, BOX, NOTE, STROKE = "arrow", "box", "note", "stroke"
KINDS = (ARROW, BOX, NOTE, STROKE)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 32, 64),
    "yellow": (255, 214, 0),
    "blue": (24, 110, 255),
    "green": (0, 200, 90),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}
WIDTH_RANGE = (2, 24)
MAX_MARKS = 40
MAX_POINTS = 256  # a freehand stroke keeps at most this many points (evenly taken from what was drawn)
MAX_NOTE = 60  # characters of a note: a short label, the instruction itself goes in the prompt
REFERENCE_SIDE = 1024

FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),  # Debian's fonts-noto-cjk: Chinese and Latin
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),  # Latin, Greek, Cyrillic; no Chinese
)

TEMPLATES: dict[str, str] = {
    "en": "Image 2 is Image 1 with editing marks drawn on it: arrows, boxes, lines and short written notes. "
    "Edit Image 1 as the marks in Image 2 ask, changing only what they point to and keeping everything else "
    "as it is. Remove the marks: the result shows no arrow, box, line or note text.",
    "zh": "图2是在图1上画了编辑标记（箭头、方框、线条和简短的文字批注）的副本。请按照图2中标记所示的修改来编辑图1，"
    "只改动标记所指的部分，其余保持不变。去掉所有标记：结果中不要出现箭头、方框、线条或批注文字。",
}
INSTRUCTION_LEAD = {"en": " Changes: ", "zh": "修改要求："}


Point = tuple[float, float]


@dataclass(frozen=True)
class Mark:
    """One mark: an arrow (tail, head), a box (two corners), a note (its top-left point and text) or a freehand
    stroke (its points), in a colour of COLOURS and a width."""

    kind: str
    points: tuple[Point, ...]
    colour: str = "red"
    width: int = 6
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The mark as plain data (what the page keeps between events)."""
        return {
            "kind": self.kind,
            "points": [list(p) for p in self.points],
            "colour": self.colour,
            "width": self.width,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, value: Any) -> Mark:
        """A mark from `as_dict`'s form; MarksError naming what is wrong."""
        if not isinstance(value, Mapping):
            raise _broken("a mark is not a record", "标记不是一条记录")
        kind, colour, text = value.get("kind"), value.get("colour", "red"), value.get("text", "")
        if kind not in KINDS:
            raise _broken(f"unknown kind {str(kind)[:20]!r}", "未知的标记类型")
        if colour not in COLOURS:
            raise _broken(f"unknown colour {str(colour)[:20]!r}", "未知的颜色")
        width = value.get("width", 6)
        if not isinstance(width, int | float) or not WIDTH_RANGE[0] <= width <= WIDTH_RANGE[1]:
            raise _broken(f"width outside {WIDTH_RANGE[0]}..{WIDTH_RANGE[1]}", "线宽超出范围")
        if not isinstance(text, str) or len(text) > MAX_NOTE:
            raise _broken(f"a note is longer than {MAX_NOTE} characters", f"批注超过 {MAX_NOTE} 个字符")
        points = _points(value.get("points"))
        wanted = {ARROW: 2, BOX: 2, NOTE: 1}.get(kind)
        if (wanted is not None and len(points) != wanted) or not points:
            raise _broken(f"a {kind} with {len(points)} point(s)", "标记的点数不对")
        if kind == NOTE and not text.strip():
            raise errors.NoteTextMissingError()
        return cls(kind, points, colour, int(width), text.strip() if kind == NOTE else "")


def _broken(detail: str, detail_zh: str) -> errors.MarksError:
    return errors.MarksError(detail=detail, detail_zh=detail_zh)


def _points(value: Any) -> tuple[Point, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) > MAX_POINTS:
        raise _broken(f"points are not a list of at most {MAX_POINTS}", "点的列表不对")
    points = []
    for point in value:
        if not isinstance(point, Sequence) or len(point) != 2:
            raise _broken("a point is not a pair", "点不是一对坐标")
        x, y = point
        if not all(isinstance(c, int | float) and math.isfinite(c) and 0 <= c <= 1 for c in (x, y)):
            raise _broken("a point lies outside the image", "点在图片之外")
        points.append((float(x), float(y)))
    return tuple(points)


def marks_from(value: Any) -> tuple[Mark, ...]:
    """The marks of a list of `Mark.as_dict` records (None: no marks); MarksError when there are too many or
    one is broken."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) > MAX_MARKS:
        raise _broken(f"more than {MAX_MARKS} marks, or not a list", f"标记超过 {MAX_MARKS} 个")
    return tuple(Mark.from_dict(item) for item in value)


def mark_from_drag(kind: str, drag: Sequence[Point], colour: str, width: int, text: str = "") -> Mark:
    """The mark a drag of the pointer makes with tool `kind`: an arrow from where it started to where it ended,
    the box of those two corners, a note where it ended, or the stroke itself (thinned to MAX_POINTS).
    MarksError for a drag that makes no mark (an arrow or box with no length); NoteTextMissingError for a note
    without text."""
    points = _points(list(drag)[:1] + _thinned(list(drag)[1:-1], MAX_POINTS - 2) + list(drag)[-1:])
    if not points:
        raise _broken("nothing was drawn", "没有画出任何内容")
    start, end = points[0], points[-1]
    if kind in (ARROW, BOX) and math.dist(start, end) < 0.01:
        raise _broken(f"the {kind} has no length: drag from one end to the other", "请从一端拖到另一端")
    shape = {ARROW: (start, end), BOX: (start, end), NOTE: (end,)}.get(kind, points)
    return Mark.from_dict({"kind": kind, "points": shape, "colour": colour, "width": width, "text": text})


def _thinned(points: list[Point], most: int) -> list[Point]:
    if len(points) <= most:
        return points
    step = len(points) / most
    return [points[int(i * step)] for i in range(most)]


def render_marks(image: Image.Image, marks: Iterable[Mark]) -> Image.Image:
    """An upright RGB copy of `image` with `marks` drawn on it; `image` itself is left as it is."""
    marked = ImageOps.exif_transpose(image).convert("RGB")
    draw = ImageDraw.Draw(marked)
    scale = max(marked.size) / REFERENCE_SIDE
    for mark in marks:
        colour = COLOURS[mark.colour]
        width = max(1, round(mark.width * scale))
        points = [(x * (marked.width - 1), y * (marked.height - 1)) for x, y in mark.points]
        if mark.kind == ARROW:
            _arrow(draw, points[0], points[1], colour, width)
        elif mark.kind == BOX:
            (x0, y0), (x1, y1) = points
            draw.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), outline=colour, width=width)
        elif mark.kind == NOTE:
            _note(draw, points[0], mark.text, colour, scale)
        elif len(points) == 1:
            x, y = points[0]
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=colour)
        else:
            draw.line(points, fill=colour, width=width, joint="curve")
    return marked


def _arrow(draw: ImageDraw.ImageDraw, tail: Point, head: Point, colour: tuple[int, int, int], width: int) -> None:
    angle = math.atan2(head[1] - tail[1], head[0] - tail[0])
    length = max(5 * width, 14)
    wing = math.radians(28)
    left = (head[0] - length * math.cos(angle - wing), head[1] - length * math.sin(angle - wing))
    right = (head[0] - length * math.cos(angle + wing), head[1] - length * math.sin(angle + wing))
    # The shaft stops inside the head, so its square end never shows past the point.
    shaft_end = (head[0] - 0.8 * length * math.cos(angle), head[1] - 0.8 * length * math.sin(angle))
    draw.line([tail, shaft_end], fill=colour, width=width)
    draw.polygon([head, left, right], fill=colour)


def _note(draw: ImageDraw.ImageDraw, at: Point, text: str, colour: tuple[int, int, int], scale: float) -> None:
    font = note_font(max(14, round(36 * scale)))
    box = draw.textbbox(at, text, font=font)
    pad = max(3, round(6 * scale))
    backing = (0, 0, 0) if sum(colour) > 382 else (255, 255, 255)  # a plate the note reads on, whatever is under
    draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=backing, outline=colour)
    draw.text(at, text, fill=colour, font=font)


@lru_cache(maxsize=16)
def note_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The notes' font at `size` pixels: Noto Sans CJK (Chinese and Latin) where installed, else DejaVu Sans,
    else Pillow's own font (see `note_font_name`)."""
    for path in FONT_CANDIDATES:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def note_font_name() -> str:
    """Which font the notes are drawn in here: the first of FONT_CANDIDATES installed, or Pillow's default."""
    return next((path.name for path in FONT_CANDIDATES if path.exists()), "Pillow default")


def marks_prompt(instruction: str, lang: str = "en") -> str:
    """The template telling the model what Image 1 (clean) and Image 2 (marked) are, in `lang` ("en" or "zh"),
    then the visitor's own `instruction` (a template already at its start, in either language, is not repeated)."""
    rest = without_template(instruction).strip()
    lang = lang if lang in TEMPLATES else "en"
    return TEMPLATES[lang] + (INSTRUCTION_LEAD[lang] + rest if rest else "")


def without_template(prompt: str) -> str:
    """`prompt` without a marks template (and its lead-in) at its start."""
    text = prompt.lstrip()
    for lang, template in TEMPLATES.items():
        if text.startswith(template):
            text = text[len(template) :]
            lead = INSTRUCTION_LEAD[lang]
            return text[len(lead) :] if text.startswith(lead) else text
    return prompt


def asks_for_marks(prompt: str) -> bool:
    """Whether `prompt` starts with a marks template (in either language)."""
    return without_template(prompt) != prompt
