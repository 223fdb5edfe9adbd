"""A region edit's plan: the crop of Image 1 around the mask that is sent, at a size the model takes, and the
composite made from each of the model's outputs (registered, colour-matched, feathered into the original)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from core import catalog
from core.regions import colour, register
from core.regions.blend import blend, feather, paste_mode
from core.regions.geometry import Box, context_box
from core.regions.mask import mask_image
from core.regions.png import StripEncoder
from core.sizes import Size, size_for_aspect

DEFAULT_MARGIN = 0.30  # context around the mask's bounding box, as a share of its width and height
DEFAULT_FEATHER = 16  # pixels of the original over which the edit fades out around the mask
MAX_DRIFT = 24  # pixels the model may shift its output by: the crop's margin keeps the feather band clear of it
RING = 32  # pixels past the feather band where the colours of the output are matched to the original's


@dataclass(frozen=True)
class RegionSettings:
    """How a region edit crops and blends (the operator's settings, recorded with each edit)."""

    margin: float = DEFAULT_MARGIN
    feather: int = DEFAULT_FEATHER

    def as_dict(self) -> dict[str, Any]:
        return {"margin": self.margin, "feather": self.feather}

    @classmethod
    def current(cls) -> RegionSettings:
        """The operator's settings, as `configure` last set them (the defaults until then)."""
        return _configured[0]


_configured = [RegionSettings()]


def configure(margin_percent: int, feather: int) -> None:
    """Set the process's region settings (`QWEN_EDIT_REGION_MARGIN`, `QWEN_EDIT_REGION_FEATHER`)."""
    _configured[0] = RegionSettings(margin_percent / 100, feather)


@dataclass(frozen=True)
class Composite:
    """One output pasted into the original: its PNG, and how it was lined up and blended."""

    png: bytes
    width: int
    height: int
    details: dict[str, Any]


class RegionPlan:
    """Image 1 (upright, full resolution) and its mask, the box around the mask that is sent, and the size it
    is sent (and asked for) at. The original's PNG strips are compressed in the background while the model works."""

    def __init__(
        self,
        original: Image.Image,
        mask: np.ndarray,
        model: catalog.Model,
        settings: RegionSettings,
    ) -> None:
        self.settings = settings
        mode = paste_mode(original.mode)
        self.original = original if original.mode == mode else original.convert(mode)
        self.marked = Box.of(mask)
        at_least = 2 * settings.feather + MAX_DRIFT
        box = context_box(self.marked, self.original.size, settings.margin, at_least)
        self.sent = sent_size(box.width, box.height, model)
        self.box = box.with_aspect(self.sent.width / self.sent.height, self.original.size)
        self.mask = mask[self.box.slices()].copy()
        buffer = io.BytesIO()
        mask_image(mask).save(buffer, "PNG", compress_level=1)  # kept in the store: mostly black, ~100 kB at 24 MP
        self.mask_png = buffer.getvalue()
        self._encoder = StripEncoder(self.original).prepare()
        self._crop: Image.Image | None = None

    def crop(self) -> Image.Image:
        """What is sent as Image 1: the box, in RGB, resampled (Lanczos) to the sent size (made once)."""
        if self._crop is None:
            region = self.original.crop(self.box.as_tuple()).convert("RGB")
            self._crop = region.resize((self.sent.width, self.sent.height), Image.Resampling.LANCZOS)
        return self._crop

    def describe(self) -> dict[str, Any]:
        """What history keeps of the plan (with the mask's file)."""
        return {
            "kind": "mask",
            "box": list(self.box.as_tuple()),
            "marked": list(self.marked.as_tuple()),
            "sent": str(self.sent),
            "original": {"width": self.original.width, "height": self.original.height, "mode": self.original.mode},
            **self.settings.as_dict(),
        }

    def compose(self, raw: Image.Image) -> Composite:
        """The original with the model's output (`raw`, any size) in the mask: registered at the model's own
        resolution against the crop that was sent (only where the box lies outside the mask and its feather
        band), resampled to the box, colour-matched in a ring around the band, blended with the feathered mask.
        Outside the mask and its band, every pixel is the original's."""
        box, sent = self.box, (self.sent.width, self.sent.height)
        moving = np.asarray(
            raw.convert("RGB").resize(sent, Image.Resampling.LANCZOS) if raw.size != sent else raw.convert("RGB")
        )
        scale = sent[0] / box.width
        mask_sent = cv2.resize(self.mask.astype(np.uint8), sent, interpolation=cv2.INTER_NEAREST).astype(bool)
        transform = register.estimate(
            np.asarray(self.crop()), moving, _farther(mask_sent, self.settings.feather * scale)
        )
        aligned = Image.fromarray(register.warp(moving, transform)).resize(
            (box.width, box.height), Image.Resampling.LANCZOS
        )
        region = np.asarray(self.original.crop(box.as_tuple()))
        reference = np.asarray(Image.fromarray(region, self.original.mode).convert("RGB"))
        distance = _distance(self.mask)
        outside = distance > self.settings.feather
        ring = outside & (distance <= self.settings.feather + RING)
        corrected, correction = colour.match_colour(np.asarray(aligned), reference, ring if ring.any() else outside)
        blended = blend(region, corrected, feather(self.mask, self.settings.feather), self.original.mode)
        rows = np.asarray(self.original.crop((0, box.top, self.original.width, box.bottom))).copy()
        rows[:, box.left : box.right] = blended
        details = {
            "raw_size": f"{raw.width}*{raw.height}",
            "transform": transform.as_dict(),
            "colour": correction.as_dict(),
        }
        png = self._encoder.encode(box.top, rows)
        return Composite(png, self.original.width, self.original.height, details)


def _distance(mask: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the mask (0 inside it)."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _farther(mask: np.ndarray, pixels: float) -> np.ndarray:
    """The pixels farther than `pixels` from the mask."""
    return _distance(mask) > pixels


def sent_size(width: int, height: int, model: catalog.Model) -> Size:
    """The size a crop of width x height is sent (and, where the model takes one, asked for) at: about
    catalog.DEFAULT_PIXELS pixels at its aspect, sides multiples of 16, inside the model's rule."""
    if model.size.settable:
        return size_for_aspect(width, height, model.size)
    aspect = width / height
    side = catalog.SIZE_STEP
    return Size(
        max(side, round((catalog.DEFAULT_PIXELS * aspect) ** 0.5 / side) * side),
        max(side, round((catalog.DEFAULT_PIXELS / aspect) ** 0.5 / side) * side),
    )
