"""The region painted on Image 1, between the paint editor's layers and a mask: pure image work.

The editor paints over a smaller upright copy of Image 1 (`backdrop`); what its layers cover is the region, and
`mask_from_layers` turns that into a mask at Image 1's own upright size (white = may change, black = kept).
`inverted` and `rectangle` make the one layer that replaces the painted ones when the visitor inverts the region
or turns their strokes into the rectangle around them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

BACKDROP_SIDE = 1536
"""The longest side of the copy painted on: a mask drawn by hand needs no more, and the browser stays quick."""

Colour = tuple[int, int, int, int]


def backdrop(image: Image.Image, longest: int = BACKDROP_SIDE) -> Image.Image:
    """An upright RGB copy of `image` whose longest side is at most `longest` (the same proportions)."""
    upright = ImageOps.exif_transpose(image).convert("RGB")
    scale = longest / max(upright.size)
    if scale >= 1:
        return upright
    size = (max(1, round(upright.width * scale)), max(1, round(upright.height * scale)))
    return upright.resize(size, Image.Resampling.LANCZOS)


def painted(layers: Sequence[Image.Image]) -> np.ndarray | None:
    """Where any layer holds paint (alpha above zero), at the first layer's size; None when nothing is painted.
    A layer of another size (an edited value) is scaled to the first's."""
    covered: np.ndarray | None = None
    for layer in layers:
        alpha = layer.convert("RGBA").getchannel("A")
        if covered is not None and alpha.size != (covered.shape[1], covered.shape[0]):
            alpha = alpha.resize((covered.shape[1], covered.shape[0]), Image.Resampling.NEAREST)
        here = np.asarray(alpha) > 0
        covered = here if covered is None else covered | here
    return covered if covered is not None and covered.any() else None


def mask_from_layers(layers: Sequence[Image.Image], size: tuple[int, int]) -> Image.Image | None:
    """The painted region as an "L" mask of `size` (width, height): 255 where the image may change, 0 elsewhere;
    None when nothing is painted. Scaled up smoothly, then cut at half, so its edge follows the strokes."""
    covered = painted(layers)
    if covered is None:
        return None
    small = Image.fromarray(covered.astype(np.uint8) * 255, "L")
    if small.size != size:
        small = small.resize(size, Image.Resampling.BILINEAR)
    return small.point(lambda value: 255 if value >= 128 else 0)


def inverted(layers: Sequence[Image.Image], size: tuple[int, int], colour: Colour) -> Image.Image:
    """One layer of `size` painted in `colour` exactly where the layers are not (all of it when they are empty)."""
    covered = painted(layers)
    keep = np.zeros((size[1], size[0]), bool) if covered is None else _fit(covered, size)
    return _layer(~keep, colour)


def rectangle(layers: Sequence[Image.Image], size: tuple[int, int], colour: Colour) -> Image.Image | None:
    """One layer of `size` painted in `colour` over the smallest rectangle holding every stroke; None when
    nothing is painted."""
    covered = painted(layers)
    if covered is None:
        return None
    covered = _fit(covered, size)
    rows, columns = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
    box = np.zeros_like(covered)
    box[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1] = True
    return _layer(box, colour)


def _fit(covered: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (covered.shape[1], covered.shape[0]) == size:
        return covered
    return np.asarray(Image.fromarray(covered).resize(size, Image.Resampling.NEAREST))


def _layer(where: np.ndarray, colour: Colour) -> Image.Image:
    pixels = np.zeros((*where.shape, 4), np.uint8)
    pixels[where] = colour
    return Image.fromarray(pixels, "RGBA")
