"""Boxes in an image's pixels: the crop around a mask, grown for context and kept inside the image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_SIDE = 256  # a crop is at least this many pixels a side (or the whole image's side): the model needs context
MAX_ASPECT = 3.0  # a thin mask's crop is widened to at most this aspect, so it is not squeezed when sent


@dataclass(frozen=True)
class Box:
    """A rectangle of pixels, right and bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom

    def slices(self) -> tuple[slice, slice]:
        """Index an (height, width, ...) array with this: rows, then columns."""
        return slice(self.top, self.bottom), slice(self.left, self.right)

    def with_aspect(self, aspect: float, size: tuple[int, int]) -> Box:
        """This box grown on one axis (about its centre, kept inside an image of `size`) to the aspect ratio
        `aspect` (width / height) where the image has room, so a crop sent at that aspect is not stretched."""
        width, height = self.width, self.height
        if width / height < aspect:
            width = min(size[0], round(height * aspect))
        else:
            height = min(size[1], round(width / aspect))
        left = min(max(0, round((self.left + self.right - width) / 2)), size[0] - width)
        top = min(max(0, round((self.top + self.bottom - height) / 2)), size[1] - height)
        return Box(left, top, left + width, top + height)

    @classmethod
    def of(cls, mask: np.ndarray) -> Box:
        """The bounding box of the True pixels of `mask` (which has some)."""
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        return cls(int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)


def context_box(marked: Box, size: tuple[int, int], margin: float, at_least: int) -> Box:
    """`marked` grown by `margin` of its own width and height on each side (and by `at_least` pixels), to at
    least MIN_SIDE a side and at most MAX_ASPECT, then moved (not cut) to lie inside an image of `size`."""
    width, height = size
    grow_x = max(marked.width * margin, at_least)
    grow_y = max(marked.height * margin, at_least)
    want_w = marked.width + 2 * grow_x
    want_h = marked.height + 2 * grow_y
    want_w, want_h = max(want_w, want_h / MAX_ASPECT, MIN_SIDE), max(want_h, want_w / MAX_ASPECT, MIN_SIDE)
    box_w, box_h = min(width, math.ceil(want_w)), min(height, math.ceil(want_h))
    centre_x, centre_y = (marked.left + marked.right) / 2, (marked.top + marked.bottom) / 2
    left = min(max(0, round(centre_x - box_w / 2)), width - box_w)
    top = min(max(0, round(centre_y - box_h / 2)), height - box_h)
    return Box(left, top, left + box_w, top + box_h)
