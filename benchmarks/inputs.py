"""Photo-like input images made with Pillow, so encoded sizes behave like camera photos.

Flat fills compress to almost nothing and pure noise to nothing at all; these images are smooth colour
fields with hard-edged shapes and a fine grain, which lands where photos do: about 2.7 bits per pixel as
JPEG quality 90 and about 15 as PNG.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

JPEG_QUALITY = 90
_SHAPES = 40
_GRAIN_SIGMA = 64
_GRAIN_SHARE = 0.12


def photo(width: int, height: int, seed: int) -> Image.Image:
    """A deterministic RGB image of `width` x `height` that encodes like a photo."""
    rnd = random.Random(seed)
    cells = (max(2, width // 48), max(2, height // 48))
    noise = rnd.randbytes(cells[0] * cells[1] * 3)
    base = Image.frombytes("RGB", cells, noise).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(_SHAPES):
        x, y = rnd.randrange(width), rnd.randrange(height)
        radius = rnd.randrange(max(2, width // 40), max(3, width // 6))
        fill = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        box = (x - radius, y - radius // 2, x + radius, y + radius // 2)
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=fill)
    grain = Image.effect_noise((width, height), _GRAIN_SIGMA).convert("RGB")
    return Image.blend(base.filter(ImageFilter.SMOOTH), grain, _GRAIN_SHARE)


def photo_file(folder: Path, width: int, height: int, fmt: str, seed: int) -> Path:
    """`photo(...)` saved as JPEG (quality 90) or PNG under `folder`; made once, then reused."""
    ext = {"JPEG": "jpg", "PNG": "png"}[fmt]
    path = Path(folder) / f"photo-{width}x{height}-{seed}.{ext}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {"compress_level": 6}
        tmp = path.with_suffix(".part")
        photo(width, height, seed).save(tmp, fmt, **options)
        tmp.replace(path)
    return path


def small_png(folder: Path, seed: int, side: int = 96) -> Path:
    """A small, distinct PNG (for building a history with real files quickly)."""
    path = Path(folder) / f"small-{side}-{seed}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        photo(side, side, seed).save(path, "PNG", compress_level=1)
    return path
