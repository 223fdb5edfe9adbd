"""Colour matching: undo the model's colour shift of an edited crop, judged in a ring where it should not differ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

GAIN_RANGE = (0.5, 2.0)  # beyond this the ring is not telling the truth (e.g. it was repainted)
OFFSET_MAX = 64.0  # levels either way
MIN_PIXELS = 64  # ring pixels needed for a fit; fewer leave the colours as they are
FLAT_STD = 2.0  # a channel this flat in the ring fixes only an offset, not a gain
OUTLIER_SIGMAS = 2.5
ROUNDS = 3  # refits, each without the previous fit's outliers


@dataclass(frozen=True)
class ColourCorrection:
    """Per channel (r, g, b): corrected = gain * value + offset, clipped to 0..255."""

    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {"gain": [round(g, 4) for g in self.gain], "offset": [round(o, 2) for o in self.offset]}


def match_colour(image: np.ndarray, reference: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, ColourCorrection]:
    """`image` (HxWx3 uint8) with each channel's gain and offset fitted so that it matches `reference` inside
    `ring` (HxW bool), applied to the whole image; and the correction. Outliers in the ring (content that did
    change) are left out of the fit; too small a ring leaves the colours alone."""
    if image.shape != reference.shape or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image and reference must be HxWx3 of one size, not {image.shape} and {reference.shape}")
    if ring.shape != image.shape[:2]:
        raise ValueError(f"ring must be {image.shape[0]}x{image.shape[1]}, not {ring.shape}")
    if int(ring.sum()) < MIN_PIXELS:
        return image.copy(), ColourCorrection()
    source = image[ring].astype(np.float64)
    target = reference[ring].astype(np.float64)
    fits = [_fit(source[:, channel], target[:, channel]) for channel in range(3)]
    correction = ColourCorrection(
        gain=(fits[0][0], fits[1][0], fits[2][0]), offset=(fits[0][1], fits[1][1], fits[2][1])
    )
    corrected = image.astype(np.float32) * np.float32(correction.gain) + np.float32(correction.offset)
    return np.clip(np.rint(corrected), 0, 255).astype(np.uint8), correction


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Gain and offset with y ~ gain * x + offset by least squares, refitted without outliers, clamped.
    Clipped levels (0 or 255 on either side) say nothing about the line and are left out when others remain."""
    keep = (x > 0) & (x < 255) & (y > 0) & (y < 255)
    if keep.sum() < MIN_PIXELS:
        keep = np.ones(x.shape, bool)
    gain, offset = 1.0, 0.0
    for _ in range(ROUNDS):
        xs, ys = x[keep], y[keep]
        if xs.size < MIN_PIXELS:
            break
        gain = 1.0 if xs.std() < FLAT_STD else float(np.clip(np.polyfit(xs, ys, 1)[0], *GAIN_RANGE))
        offset = float(np.clip(np.mean(ys - gain * xs), -OFFSET_MAX, OFFSET_MAX))
        error = y - (gain * x + offset)
        spread = 1.4826 * np.median(np.abs(error[keep] - np.median(error[keep]))) + 0.5
        keep = np.abs(error - np.median(error[keep])) <= OUTLIER_SIGMAS * spread
    return gain, offset
