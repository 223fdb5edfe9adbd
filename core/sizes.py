"""Output sizes: the Size value, aspect presets, and what the service's default rule will produce."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core import catalog

ASPECT_PRESETS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "3:2": (3, 2),
    "2:3": (2, 3),
}
_STEP = 16


@dataclass(frozen=True)
class Size:
    """An explicit output size in pixels."""

    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}*{self.height}"

    @classmethod
    def from_text(cls, text: str) -> Size:
        """Size("W*H") as this class writes it (no range check: also used for input sizes)."""
        width, height = text.split("*")
        return cls(int(width), int(height))


def size_for_aspect(width_ratio: float, height_ratio: float, pixels: int = catalog.DEFAULT_PIXELS) -> Size:
    """The W*H of about `pixels` pixels nearest the aspect ratio, sides multiples of 16 inside [512, 2048].

    Of the multiples of 16 just below and above the ideal sides, the pair whose aspect comes closest wins
    (then the one nearest the pixel count).
    """
    aspect = width_ratio / height_ratio
    ideal_w, ideal_h = math.sqrt(pixels * aspect), math.sqrt(pixels / aspect)
    width, height = min(
        ((w, h) for w in _sides(ideal_w) for h in _sides(ideal_h)),
        key=lambda pair: (abs(math.log(pair[0] / pair[1] / aspect)), abs(pair[0] * pair[1] - pixels)),
    )
    return Size(width, height)


def preset_size(name: str) -> Size:
    """The size of an aspect preset such as "16:9"."""
    return size_for_aspect(*ASPECT_PRESETS[name])


def auto_size(last_width: int, last_height: int) -> Size:
    """What "auto" gives by the service's rule: about 1024*1024 pixels, the last input's aspect ratio."""
    return size_for_aspect(last_width, last_height)


def _sides(ideal: float) -> set[int]:
    steps = (math.floor(ideal / _STEP), math.ceil(ideal / _STEP))
    return {max(catalog.SIZE_MIN, min(catalog.SIZE_MAX, step * _STEP)) for step in steps}


def match_size(width: int, height: int) -> tuple[Size, float]:
    """The W*H to ask for so the output keeps an input's shape: the input's own pixel count where the bounds
    allow (scaled into [512, 2048] otherwise), sides multiples of 16, the aspect ratio nearest the input's.

    Returns the size and its relative aspect error (0.01 = the ratio is 1% off the input's).
    """
    aspect = width / height
    scale = min(1.0, catalog.SIZE_MAX / max(width, height))
    scale = max(scale, catalog.SIZE_MIN / min(width, height))
    ideal_w, ideal_h = width * scale, height * scale
    best = min(
        ((w, h) for w in _sides(ideal_w) for h in _sides(ideal_h)),
        key=lambda pair: (abs(math.log(pair[0] / pair[1] / aspect)), abs(pair[0] * pair[1] - ideal_w * ideal_h)),
    )
    size = Size(*best)
    return size, aspect_error(size, width, height)


def aspect_error(size: Size, width: int, height: int) -> float:
    """How far `size`'s aspect ratio is from width:height, relatively (0.0 = identical)."""
    return abs((size.width / size.height) / (width / height) - 1)
