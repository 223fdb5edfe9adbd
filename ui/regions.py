"""The paint editor of the region panel and the mask it hands to an edit.

`RegionEditor` is a gr.ImageEditor that paints over a small upright copy of Image 1 (core's `backdrop`) and
hands over its layers only: the background and composite are the server's own copy, never decoded again.
`mask_file` turns those layers into a mask at Image 1's full upright size, saved in Gradio's upload folder
(which the app already serves to no one but itself and cleans with its uploads), under its content's name.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder
from PIL import Image

from core.images import read_dimensions
from core.regions import mask_layers
from ui.alerts import quiet

PAINT = (255, 45, 85)
PAINT_OPACITY = 0.45
PAINT_RGBA = (*PAINT, round(PAINT_OPACITY * 255))
LAYER_SIDE_MAX = 4096
"""A layer larger than this was not painted on our backdrop (BACKDROP_SIDE): a forged value, refused unread."""

LayerValue = dict[str, Any]


class RegionEditor(gr.ImageEditor):
    """The editor's value as {"layers": [RGBA PIL images]}: what was painted, nothing else decoded."""

    is_template = True  # rendered by the front end's own ImageEditor component

    def preprocess(self, payload: Any) -> LayerValue | None:
        """The painted layers: the files the page uploaded for this value (a layer anywhere but Gradio's upload
        folder is not read: only a forged call names one), or the blobs of its store, taken out as Gradio's own
        step does."""
        if payload is None:
            return None
        if payload.id is not None:
            cached = self.blob_storage.pop(payload.id, None)
            return {"layers": [_open(layer) for layer in (cached.layers if cached else []) if layer]}
        uploads = Path(get_upload_folder()).resolve()
        paths = [Path(layer.path).resolve() for layer in payload.layers if layer.path]
        return {"layers": [_open(path.read_bytes()) for path in paths if path.is_relative_to(uploads)]}


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if max(image.size) > LAYER_SIDE_MAX:
        raise quiet("The painted region is larger than the editor makes.", "region layer refused: too large")
    return image.convert("RGBA")


def editor_value(image_1: str | None, layer: Image.Image | None = None) -> dict[str, Any] | None:
    """What the editor shows for Image 1's file: its backdrop, with `layer` painted over it (or nothing painted);
    None without a readable Image 1."""
    backdrop = backdrop_of(image_1)
    if backdrop is None:
        return None
    return {"background": backdrop, "layers": [layer] if layer is not None else [], "composite": None}


def backdrop_of(image_1: str | None) -> Image.Image | None:
    """The copy of Image 1 the editor paints on; None when there is no Image 1 or it cannot be read (the slot's
    own check has said why)."""
    if not image_1 or read_dimensions(image_1) is None:  # from the header: unreadable or over a cap
        return None
    with Image.open(image_1) as opened:
        opened.draft("RGB", (mask_layers.BACKDROP_SIDE, mask_layers.BACKDROP_SIDE))  # a JPEG decodes small
        return mask_layers.backdrop(opened)


def layers_of(value: LayerValue | None) -> list[Image.Image]:
    """The painted layers of an editor value (none for an empty editor or one a forged call filled oddly)."""
    layers = (value or {}).get("layers") if isinstance(value, dict) else None
    return [layer for layer in layers or [] if isinstance(layer, Image.Image)]


def mask_file(value: LayerValue | None, image_1: str | None) -> str | None:
    """The painted region as a mask file at Image 1's full upright size (white = may change); None when nothing
    is painted or there is no readable Image 1 (core then says Image 1 is missing, or edits the whole image)."""
    size = read_dimensions(image_1) if image_1 else None
    if size is None:
        return None
    mask = mask_layers.mask_from_layers(layers_of(value), size)
    if mask is None:
        return None
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    data = buffer.getvalue()
    folder = Path(get_upload_folder()) / "region-masks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
    if not path.exists():
        path.write_bytes(data)
    return str(path)
