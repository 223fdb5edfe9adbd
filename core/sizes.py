"""Output sizes: the Size value, aspect presets, and what the service's default rule will produce."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
_STEP = catalog.SIZE_STEP


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


def size_for_aspect(
    width_ratio: float, height_ratio: float, rule: catalog.SizeRule, pixels: int = catalog.DEFAULT_PIXELS
) -> Size:
    """The W*H of about `pixels` pixels nearest the aspect ratio that `rule` allows, sides multiples of 16.

    Of the multiples of 16 just below and above the ideal sides, the pair whose aspect comes closest wins
    (then the one nearest the pixel count). An aspect beyond the rule's limit is brought inside it.
    """
    aspect = _inside_aspect(width_ratio / height_ratio, rule)
    return _fit(math.sqrt(pixels * aspect), math.sqrt(pixels / aspect), aspect, rule)


def preset_size(name: str, rule: catalog.SizeRule) -> Size:
    """The size of an aspect preset such as "16:9"."""
    return size_for_aspect(*ASPECT_PRESETS[name], rule)


def auto_size(last_width: int, last_height: int, rule: catalog.SizeRule) -> Size:
    """What the service's default rule gives: about 1024*1024 pixels, the last input's aspect ratio."""
    return size_for_aspect(last_width, last_height, rule)


def default_size(model: catalog.Model, inputs: Sequence[tuple[int, int]]) -> Size | None:
    """The size a call without one produces: the last input's rule, the text-to-image size, or None when
    the model picks the size itself."""
    if not inputs:
        return Size.from_text(model.text_size) if model.text_size else None
    if model.default_size == "last_input":
        return auto_size(*inputs[-1], model.size)
    return None


def match_size(width: int, height: int, rule: catalog.SizeRule) -> tuple[Size, float]:
    """The W*H to ask for so the output keeps an input's shape: the input's own pixel count where the rule
    allows (scaled into its bounds otherwise), sides multiples of 16, the aspect ratio nearest the input's.

    Returns the size and its relative aspect error (0.01 = the ratio is 1% off the input's).
    """
    aspect = _inside_aspect(width / height, rule)
    if rule.kind == "area":
        pixels = min(max(width * height, rule.pixels_min), rule.pixels_max)
        ideal_w, ideal_h = math.sqrt(pixels * aspect), math.sqrt(pixels / aspect)
    else:
        scale = min(1.0, rule.side_max / max(width, height))
        scale = max(scale, rule.side_min / min(width, height))
        ideal_w, ideal_h = width * scale, height * scale
    size = _fit(ideal_w, ideal_h, aspect, rule)
    return size, aspect_error(size, width, height)


def aspect_error(size: Size, width: int, height: int) -> float:
    """How far `size`'s aspect ratio is from width:height, relatively (0.0 = identical)."""
    return abs((size.width / size.height) / (width / height) - 1)


def _fit(ideal_w: float, ideal_h: float, aspect: float, rule: catalog.SizeRule) -> Size:
    """The allowed pair of multiples of 16 around (ideal_w, ideal_h) nearest `aspect`, then the pixel count.
    At an area rule's aspect and pixel limits at once none of the nearest may be allowed: then a step further."""
    for reach in range(3):
        pairs = [(w, h) for w in _sides(ideal_w, rule, reach) for h in _sides(ideal_h, rule, reach)]
        allowed = [pair for pair in pairs if rule.kind != "area" or rule.allows(*pair)]
        if allowed:
            break
    allowed = allowed or pairs
    width, height = min(
        allowed,
        key=lambda pair: (abs(math.log(pair[0] / pair[1] / aspect)), abs(pair[0] * pair[1] - ideal_w * ideal_h)),
    )
    return Size(width, height)


def _sides(ideal: float, rule: catalog.SizeRule, reach: int = 0) -> set[int]:
    low, high = math.floor(ideal / _STEP) - reach, math.ceil(ideal / _STEP) + reach
    steps = [step * _STEP for step in range(low, high + 1)]
    if rule.kind == "area":
        return {max(_STEP, step) for step in steps}
    return {max(rule.side_min, min(rule.side_max, step)) for step in steps}


def _inside_aspect(aspect: float, rule: catalog.SizeRule) -> float:
    if rule.kind != "area" or not rule.max_aspect:
        return aspect
    return min(max(aspect, 1 / rule.max_aspect), rule.max_aspect)
