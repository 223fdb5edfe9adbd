"""Canvas expansion (outpainting): Image 1 padded on chosen sides, the model asked to extend the scene, and
the original pasted back exactly into its place in the model's canvas."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from core import catalog, errors
from core.images import MAX_MEGAPIXELS
from core.regions import colour, register
from core.regions.blend import paste_mode
from core.regions.plan import RING, Composite, sent_size
from core.regions.png import StripEncoder

MAX_GROWTH = 2.0  # each side may add up to this many times the image's own width (or height)
BLUR_SHARE = 0.05  # the padding's blur, as a share of the canvas's longer side: a soft hint, not a copy


@dataclass(frozen=True)
class Expansion:
    """Pixels to add on each side of Image 1 (at its own resolution)."""

    left: int = 0
    top: int = 0
    right: int = 0
    bottom: int = 0

    def __bool__(self) -> bool:
        return any(self.sides())

    def sides(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom

    def as_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Expansion:
        """An expansion from its dict form (as recorded, or as an API caller gives it); values are checked
        by `check`."""
        return cls(**{side: _whole(values.get(side, 0), side) for side in ("left", "top", "right", "bottom")})

    @classmethod
    def to_aspect(cls, width: int, height: int, aspect: float) -> Expansion:
        """The expansion that gives an image of width x height the aspect ratio `aspect` (width / height),
        the image centred: only the sides that must grow do."""
        if width / height < aspect:
            grow = round(height * aspect) - width
            return cls(left=grow // 2, right=grow - grow // 2)
        grow = round(width / aspect) - height
        return cls(top=grow // 2, bottom=grow - grow // 2)

    def check(self, width: int, height: int, model: catalog.Model) -> None:
        """Refuse an expansion of a width x height image that no output of `model` can hold (ExpansionError)."""
        ratio = _max_aspect(model)
        most = min(round(width * MAX_GROWTH), round(height * MAX_GROWTH))
        reason = reason_zh = ""
        if any(side < 0 for side in self.sides()):
            reason, reason_zh = "a side is negative", "某一边为负数"
        elif self.left + self.right > width * MAX_GROWTH or self.top + self.bottom > height * MAX_GROWTH:
            reason, reason_zh = "it adds more than twice the image on an axis", "某一方向扩展超过原图的两倍"
        else:
            canvas_w, canvas_h = width + self.left + self.right, height + self.top + self.bottom
            if max(canvas_w, canvas_h) > ratio * min(canvas_w, canvas_h):
                reason = f"the new canvas would be {canvas_w}x{canvas_h}"
                reason_zh = f"新画布将为 {canvas_w}x{canvas_h}"
            elif canvas_w * canvas_h > MAX_MEGAPIXELS * 1_000_000:  # what the app opens at most, made no larger
                reason = f"the new canvas would be {canvas_w}x{canvas_h}, over {MAX_MEGAPIXELS} megapixels"
                reason_zh = f"新画布将为 {canvas_w}x{canvas_h}，超过 {MAX_MEGAPIXELS} 百万像素"
        if reason:
            raise errors.ExpansionError(reason=reason, reason_zh=reason_zh, most=most, ratio=f"{ratio:g}")


def _whole(value: Any, side: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value % 1:
        raise errors.ExpansionError(
            reason=f"{side} must be a whole number of pixels", reason_zh=f"{side} 必须是整数像素", most="-", ratio="-"
        )
    return int(value)


def _max_aspect(model: catalog.Model) -> float:
    rule = model.size
    if rule.kind == "area" and rule.max_aspect:
        return rule.max_aspect
    if rule.kind == "sides":
        return rule.side_max / rule.side_min
    return 4.0  # a model that picks its own size: keep to what every input rule takes


class ExpansionPlan:
    """Image 1 on a larger canvas: mirrored and blurred into the new sides, sent at a size the model takes."""

    def __init__(self, original: Image.Image, expansion: Expansion, model: catalog.Model) -> None:
        expansion.check(original.width, original.height, model)
        mode = paste_mode(original.mode)
        self.original = original if original.mode == mode else original.convert(mode)
        self.expansion = expansion
        self.canvas = (
            original.width + expansion.left + expansion.right,
            original.height + expansion.top + expansion.bottom,
        )
        self.sent = sent_size(*self.canvas, model)

    def crop(self) -> Image.Image:
        """What is sent as Image 1: the padded canvas (the original, mirrored and blurred beyond it), RGB, at
        the sent size."""
        small = self.sent.width / self.canvas[0]
        original = self.original.convert("RGB")
        scaled = (max(1, round(original.width * small)), max(1, round(original.height * small)))
        pixels = np.asarray(original.resize(scaled, Image.Resampling.LANCZOS))
        left, top, right, bottom = (round(side * small) for side in self.expansion.sides())
        padded = cv2.copyMakeBorder(pixels, top, bottom, left, right, cv2.BORDER_REFLECT_101)
        blur = max(3, round(BLUR_SHARE * max(padded.shape[:2]))) | 1
        soft = cv2.GaussianBlur(padded, (blur, blur), 0)
        soft[top : top + scaled[1], left : left + scaled[0]] = pixels
        return Image.fromarray(soft).resize((self.sent.width, self.sent.height), Image.Resampling.LANCZOS)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "expand",
            "expand": self.expansion.as_dict(),
            "canvas": f"{self.canvas[0]}*{self.canvas[1]}",
            "sent": str(self.sent),
            "original": {"width": self.original.width, "height": self.original.height, "mode": self.original.mode},
        }

    def compose(self, raw: Image.Image) -> Composite:
        """The model's canvas at full resolution, registered and colour-matched against the original where it
        shows it, with the original pasted back exactly into its place."""
        width, height = self.canvas
        moving = np.asarray(raw.convert("RGB").resize(self.canvas, Image.Resampling.LANCZOS))
        left, top = self.expansion.left, self.expansion.top
        inside = np.zeros((height, width), bool)
        inside[top : top + self.original.height, left : left + self.original.width] = True
        reference = moving.copy()
        reference[inside] = np.asarray(self.original.convert("RGB")).reshape(-1, 3)
        transform = register.estimate(reference, moving, inside)
        aligned = register.warp(moving, transform)
        ring = inside & ~_shrunk(inside, RING)
        corrected, correction = colour.match_colour(aligned, reference, ring)
        canvas = Image.fromarray(corrected).convert(self.original.mode)
        canvas.paste(self.original, (left, top))
        if "icc_profile" in self.original.info:
            canvas.info["icc_profile"] = self.original.info["icc_profile"]
        details = {
            "raw_size": f"{raw.width}*{raw.height}",
            "transform": transform.as_dict(),
            "colour": correction.as_dict(),
        }
        return Composite(StripEncoder(canvas).encode(), width, height, details)


def _shrunk(area: np.ndarray, pixels: int) -> np.ndarray:
    """`area` eroded by `pixels`."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.erode(area.astype(np.uint8), kernel).astype(bool)
