"""Text rendered as a reference image: the wanted words, black on white, in an installed font, so an edit model
copies their glyphs instead of guessing them (the change-text recipe's option).

Fonts are found by fontconfig (`fc-match`), else at the paths Debian's packages install them to
(`fonts-noto-cjk`, `fonts-dejavu-core`); a font that is missing, or that lacks a character of the text (it would
draw an empty box, "tofu"), is refused with a message naming it.
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core import errors

SIZE = 128  # pixels per em: large, clean strokes for the model to read
PAD = 48
MAX_CHARS = 200  # the most a recipe's text field takes (core.recipes.TEXT_MAX): the image stays under 8 megapixels
MAX_ASPECT = 4  # well inside the 8:1 that inputs may have (core.images): wrapped onto more lines past it
_PROBE = "\U000f0000"  # a private-use character no font has: what a font draws for a glyph it lacks
_TOKENS = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|\S+\s*|\s+")


@dataclass(frozen=True)
class Font:
    """A font people can pick: its names, the fontconfig pattern and family to find it by, where Debian puts
    it, and the package that installs it."""

    id: str
    label: str
    label_zh: str
    pattern: str  # asked of fc-match
    family: str  # what fc-match must answer for the font to be the one asked for
    paths: tuple[str, ...]
    package: str

    def name(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label


_NOTO = "/usr/share/fonts/opentype/noto/"
_DEJAVU = "/usr/share/fonts/truetype/dejavu/"
FONTS: tuple[Font, ...] = (
    Font(
        "noto-sans",
        "Noto Sans CJK",
        "思源黑体 (Noto Sans CJK)",
        "Noto Sans CJK SC",
        "Noto Sans CJK SC",
        (_NOTO + "NotoSansCJK-Regular.ttc",),
        "fonts-noto-cjk",
    ),
    Font(
        "noto-sans-bold",
        "Noto Sans CJK Bold",
        "思源黑体 粗体",
        "Noto Sans CJK SC:style=Bold",
        "Noto Sans CJK SC",
        (_NOTO + "NotoSansCJK-Bold.ttc",),
        "fonts-noto-cjk",
    ),
    Font(
        "noto-serif",
        "Noto Serif CJK",
        "思源宋体 (Noto Serif CJK)",
        "Noto Serif CJK SC",
        "Noto Serif CJK SC",
        (_NOTO + "NotoSerifCJK-Regular.ttc",),
        "fonts-noto-cjk",
    ),
    Font(
        "dejavu-sans",
        "DejaVu Sans (Latin only)",
        "DejaVu Sans（仅拉丁字母）",
        "DejaVu Sans",
        "DejaVu Sans",
        (_DEJAVU + "DejaVuSans.ttf",),
        "fonts-dejavu-core",
    ),
    Font(
        "dejavu-serif",
        "DejaVu Serif (Latin only)",
        "DejaVu Serif（仅拉丁字母）",
        "DejaVu Serif",
        "DejaVu Serif",
        (_DEJAVU + "DejaVuSerif.ttf",),
        "fonts-dejavu-core",
    ),
)
DEFAULT_FONT = "noto-sans"


@dataclass(frozen=True)
class FontFile:
    """Where a font's face is: the file and the face's index in it (a .ttc holds several)."""

    path: str
    index: int


def get_font(font_id: str) -> Font:
    """The font of that id; an unknown id is refused as a missing font."""
    for font in FONTS:
        if font.id == font_id:
            return font
    raise errors.FontMissingError(font=str(font_id), font_zh=str(font_id), package="fonts-noto-cjk")


@functools.cache
def find_font(font: Font) -> FontFile:
    """The file of `font`: fontconfig's answer when it names the font's family (fc-match answers with some font
    for any pattern), else the first of its known paths that exists; FontMissingError otherwise."""
    found = _fc_match(font)
    if found is not None:
        return found
    for path in font.paths:
        if Path(path).is_file():
            return FontFile(path, _face_index(path, font.family))
    raise errors.FontMissingError(font=font.label, font_zh=font.label_zh, package=font.package)


def _fc_match(font: Font) -> FontFile | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        answer = subprocess.run(
            ["fc-match", "--format=%{file}\n%{index}\n%{family}", font.pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    if len(answer) < 3 or font.family not in answer[2].split(","):
        return None
    path, index = answer[0], answer[1]
    return FontFile(path, int(index)) if Path(path).is_file() and index.isdigit() else None


def _face_index(path: str, family: str) -> int:
    """The face of `family` in a font collection (0 for a single font, or when no face is named so)."""
    for index in range(32):
        try:
            face = ImageFont.truetype(path, SIZE, index=index)
        except OSError:
            break
        if face.getname()[0] == family:
            return index
    return 0


def missing_glyphs(text: str, face: ImageFont.FreeTypeFont) -> str:
    """The characters of `text` the face has no glyph for: each draws exactly what a character no font has
    draws (the face's "missing glyph" box), in order, once each."""
    probe = face.getmask(_PROBE)
    missing = []
    for char in dict.fromkeys(text):
        if char.isspace():
            continue
        mask = face.getmask(char)
        if mask.size == probe.size and bytes(mask) == bytes(probe):
            missing.append(char)
    return "".join(missing)


def render_text(text: str, font_id: str = DEFAULT_FONT) -> Image.Image:
    """`text` black on white in the font, centred, wrapped so the image is at most MAX_ASPECT times as wide as
    it is high. Raises FontMissingError or GlyphsMissingError (naming the characters and a font that has them).
    White space runs are one space; a text longer than MAX_CHARS is a ValueError (the forms never give one)."""
    text = " ".join(text.split())
    if not text or len(text) > MAX_CHARS:
        raise ValueError(f"render_text takes 1 to {MAX_CHARS} characters; got {len(text)}")
    font = get_font(font_id)
    where = find_font(font)
    face = ImageFont.truetype(where.path, SIZE, index=where.index)
    missing = missing_glyphs(text, face)
    if missing:
        suggestion = get_font(DEFAULT_FONT)
        raise errors.GlyphsMissingError(
            font=font.label,
            font_zh=font.label_zh,
            characters=" ".join(missing[:12]),
            suggestion=suggestion.label if font.id != suggestion.id else "another font",
        )
    lines = _wrap(text, face)
    ascent, descent = face.getmetrics()
    line_height = ascent + descent
    widths = [face.getlength(line) for line in lines]
    width = math.ceil(max(widths)) + 2 * PAD
    height = line_height * len(lines) + 2 * PAD
    height = max(height, math.ceil(width / MAX_ASPECT))
    width = max(width, height // MAX_ASPECT)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    top = (height - line_height * len(lines)) // 2
    for row, (line, line_width) in enumerate(zip(lines, widths, strict=True)):
        draw.text(((width - line_width) / 2, top + row * line_height), line, font=face, fill="black")
    return image


def _wrap(text: str, face: ImageFont.FreeTypeFont) -> list[str]:
    """The text broken (between words, or between CJK characters) into lines of about the width that keeps the
    whole block near MAX_ASPECT - 1 : 1."""
    ascent, descent = face.getmetrics()
    line_height = ascent + descent
    target = max(math.sqrt(face.getlength(text) * line_height * (MAX_ASPECT - 1)), line_height * (MAX_ASPECT - 1))
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        if line.strip() and face.getlength((line + token).rstrip()) > target:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    lines.append(line.rstrip())
    return [line for line in lines if line]
