"""Output size arithmetic: aspect presets, and what the service's default rule will produce."""

from __future__ import annotations

import math

from core import catalog
from core.request import Size

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


def size_for_aspect(width_ratio: float, height_ratio: float, pixels: int = catalog.DEFAULT_PIXELS) -> Size:
    """The W*H of about `pixels` pixels nearest the aspect ratio, sides multiples of 16 inside [512, 2048]."""
    aspect = width_ratio / height_ratio
    width = math.sqrt(pixels * aspect)
    height = width / aspect
    return Size(_side(width), _side(height))


def preset_size(name: str) -> Size:
    """The size of an aspect preset such as "16:9"."""
    return size_for_aspect(*ASPECT_PRESETS[name])


def auto_size(last_width: int, last_height: int) -> Size:
    """What "auto" gives by the contract's rule: about 1024*1024 pixels, the last input's aspect ratio."""
    return size_for_aspect(last_width, last_height)


def _side(value: float) -> int:
    stepped = round(value / _STEP) * _STEP
    return max(catalog.SIZE_MIN, min(catalog.SIZE_MAX, stepped))
