"""Plain tiles for gallery items that have no picture (yet): made once per process, in the temp dir."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from PIL import Image

from core.workflows.contact_sheet import TILE_COLOURS


@functools.cache
def placeholder(kind: str) -> str:
    """The path of a 256 px tile for `kind` ("waiting", "failed" or "cancelled")."""
    path = Path(tempfile.mkdtemp(prefix="qwen-tiles-")) / f"{kind}.png"
    Image.new("RGB", (256, 256), TILE_COLOURS[kind]).save(path)
    return str(path)
