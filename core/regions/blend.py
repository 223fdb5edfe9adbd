"""Feathered pasting: the model's pixels inside the mask, a soft band around it, the original's everywhere else."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

PASTE_MODES = {"RGB": "RGB", "RGBA": "RGBA", "L": "L", "LA": "LA"}  # kept as they are; any other becomes RGB(A)


def feather(mask: np.ndarray, width: int) -> np.ndarray:
    """Blend weights (float32, 0..1) for `mask` (bool): 1 inside, falling smoothly to exactly 0 at `width`
    pixels outside it, 0 beyond. So the model's edit covers the mask and fades out in a band around it."""
    outside = (~mask).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    if width <= 0:
        return mask.astype(np.float32)
    ramp = np.clip(1.0 - distance / width, 0.0, 1.0)
    return (ramp * ramp * (3.0 - 2.0 * ramp)).astype(np.float32)  # smoothstep: no visible edge at either end


def paste_mode(mode: str) -> str:
    """The mode a composite of an original in `mode` is kept in: its own where the model's colour fits it."""
    if mode in PASTE_MODES:
        return PASTE_MODES[mode]
    return "RGBA" if mode in ("PA", "RGBa", "La") or mode.endswith("A") else "RGB"


def blend(region: np.ndarray, patch: np.ndarray, alpha: np.ndarray, mode: str) -> np.ndarray:
    """`region` (pixels of an original in `mode`, a PASTE_MODES value) with `patch` (RGB uint8 of its size)
    blended in by `alpha`: where alpha is 0 the result is exactly `region`'s bytes; an alpha channel stays the
    original's (the model's output has none)."""
    colour = _in_mode(patch, mode)
    result = region.copy()
    weight = alpha[..., None] if region.ndim == 3 else alpha
    if mode in ("RGBA", "LA"):  # the colour channels take the edit; transparency stays the original's
        channels = region.shape[2] - 1
        colour = colour if mode == "RGBA" else colour[..., None]
        mixed = region[..., :channels] * (1.0 - weight) + colour * weight
        result[..., :channels] = np.rint(mixed).astype(np.uint8)
    else:
        result = np.rint(region * (1.0 - weight) + colour * weight).astype(np.uint8)
    untouched = alpha <= 0.0
    result[untouched] = region[untouched]  # exactly the original's bytes, whatever the arithmetic did
    return result


def _in_mode(patch: np.ndarray, mode: str) -> np.ndarray:
    """The RGB patch as the colour channels of `mode`: grey (ITU-R 601, as Pillow converts) for L and LA."""
    if mode in ("L", "LA"):
        return np.asarray(Image.fromarray(patch, "RGB").convert("L"), dtype=np.float32)
    return patch.astype(np.float32)
