"""Plain tiles for gallery items that have no picture (yet): made once per process, in the temp dir."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from PIL import Image

COLOURS = {"waiting": (226, 232, 240), "failed": (254, 226, 226), "cancelled": (241, 245, 249)}


@functools.cache
def placeholder(kind: str) -> str:
    """The path of a 256 px tile for `kind` ("waiting", "failed" or "cancelled")."""
    path = Path(tempfile.mkdtemp(prefix="qwen-tiles-")) / f"{kind}.png"
    Image.new("RGB", (256, 256), COLOURS[kind]).save(path)
    return str(path)
