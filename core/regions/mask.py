"""Masks: which pixels of Image 1 may change, read from an image (white or opaque = may change)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core import errors

THRESHOLD = 128  # a mask pixel at or above this (luminance, or alpha where the mask has transparency) may change
ASPECT_TOLERANCE = 0.01  # a mask of Image 1's shape at another resolution is scaled to it


def read_mask(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The mask as a bool array of `size` (width, height: Image 1's upright size), True where Image 1 may change.

    A mask with transparency marks by its alpha (opaque = may change), any other by its luminance (white =
    may change). One of Image 1's shape at another resolution (painted on a preview) is scaled to it; another
    shape is refused (MaskSizeError), as is a mask that marks nothing (MaskEmptyError).
    """
    marks = _marks(image)
    width, height = size
    if marks.size != size:
        if abs((marks.width / marks.height) / (width / height) - 1) > ASPECT_TOLERANCE:
            raise errors.MaskSizeError(width=marks.width, height=marks.height, image_width=width, image_height=height)
        marks = marks.resize(size, Image.Resampling.BILINEAR)
    mask = np.asarray(marks) >= THRESHOLD
    if not mask.any():
        raise errors.MaskEmptyError()
    return mask


def mask_image(mask: np.ndarray) -> Image.Image:
    """A bool mask as the black and white image it is kept as (white = may change)."""
    return Image.fromarray(mask.astype(np.uint8) * 255, "L")


def _marks(image: Image.Image) -> Image.Image:
    """The 8-bit channel that marks: alpha when the mask has transparency somewhere, else luminance."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        alpha = image.convert("RGBA").getchannel("A")
        if alpha.getextrema()[0] < 255:
            return alpha
    return image.convert("L")
