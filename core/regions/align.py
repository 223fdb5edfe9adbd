"""Whole-image alignment: the model's output with its shift and zoom against Image 1 undone, and optionally
the pixels it left unchanged copied back from Image 1, so compare views show only real changes."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from core.regions import colour, register
from core.regions.plan import Composite

KEEP_BELOW = 10  # a pixel differing from Image 1 by less than this (of 255, after a global colour match) is kept
KEEP_SOFT = 14  # ... fading to the model's own pixel at KEEP_BELOW + KEEP_SOFT


def align_output(image_1: Image.Image, raw: Image.Image, keep_unchanged: bool = False) -> Composite:
    """`raw` registered against Image 1 (resampled to raw's size); with `keep_unchanged`, Image 1's pixels
    where the aligned output hardly differs from them (a soft mask), so untouched areas lose the model's drift."""
    reference = np.asarray(image_1.convert("RGB").resize(raw.size, Image.Resampling.LANCZOS))
    moving = np.asarray(raw.convert("RGB"))
    transform = register.estimate(reference, moving)
    aligned = register.warp(moving, transform)
    details: dict[str, object] = {"raw_size": f"{raw.width}*{raw.height}", "transform": transform.as_dict()}
    if keep_unchanged:
        matched, _correction = colour.match_colour(aligned, reference, np.ones(aligned.shape[:2], bool))
        difference = np.abs(matched.astype(np.int16) - reference.astype(np.int16)).max(axis=2).astype(np.float32)
        difference = cv2.GaussianBlur(difference, (5, 5), 0)
        weight = np.clip((difference - KEEP_BELOW) / KEEP_SOFT, 0.0, 1.0)[..., None]
        aligned = np.rint(reference * (1.0 - weight) + aligned * weight).astype(np.uint8)
        details["kept_unchanged"] = round(float((weight == 0).mean()), 4)
    buffer = io.BytesIO()
    Image.fromarray(aligned).save(buffer, "PNG", compress_level=1)
    return Composite(buffer.getvalue(), raw.width, raw.height, details)


class AlignPlan:
    """An edit of the whole image whose outputs are aligned to Image 1 (as it was sent)."""

    def __init__(self, image_1: bytes, keep_unchanged: bool) -> None:
        self._image_1 = image_1
        self.keep_unchanged = keep_unchanged

    def describe(self) -> dict[str, object]:
        return {"kind": "align", "keep_unchanged": self.keep_unchanged}

    def compose(self, raw: Image.Image) -> Composite:
        with Image.open(io.BytesIO(self._image_1)) as image_1:
            return align_output(image_1, raw, self.keep_unchanged)
