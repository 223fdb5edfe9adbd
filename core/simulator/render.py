"""The simulator's stand-in for the model: deterministic, plausible-looking "edits" of the inputs.

An output is the last input scaled to cover the canvas, the other inputs as insets, drifted when the
runtime config asks (shifted, zoomed and colour-shifted like the real model's outputs), a tint whose hue
comes from the seed and the output's index, a light film grain, the prompt written along the bottom and a
"SIMULATED" mark.
It is a pure function of (inputs, prompt, seed, index, size, drift, noise), so tests can compare bytes, and an
identical request can be answered from a cache of earlier renders instead of spending the CPU again.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import struct
import textwrap
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.simulator.config import Drift

TINT_STRENGTH = 0.22
GRAIN_STRENGTH = 0.06
GRAIN_ROWS = 64
BAND_DARKEN = 0.55
INSET_FRACTION = 0.25
INSET_HEIGHT_SHARE = 0.7
MAX_PROMPT_LINES = 4
CACHE_CAPACITY = 256 * 1024 * 1024  # bytes of rendered PNGs kept for identical requests

# inputs digest, prompt, seed, size, drift, noise, index
RenderKey = tuple[str, str, int, tuple[int, int], Drift | None, bool, int]


@dataclass(frozen=True)
class RenderJob:
    """Everything one call's outputs depend on."""

    inputs: tuple[Image.Image, ...]  # decoded RGB inputs, in request order
    prompt: str
    seed: int
    size: tuple[int, int]
    inputs_digest: str = ""  # identifies the inputs' bytes; "" means the outputs are never cached
    drift: Drift | None = None
    noise: bool = False  # seeded per-pixel noise in place of the composed inputs (see _render_one)

    def key(self, index: int) -> RenderKey | None:
        """What output `index` depends on, or None when it must not be cached."""
        if not self.inputs_digest:
            return None
        return (self.inputs_digest, self.prompt, self.seed, self.size, self.drift, self.noise, index)


class RenderCache:
    """Rendered outputs by everything they depend on, the oldest dropped beyond `capacity` bytes.

    Identical requests (a crowd of benchmark visitors sending the same edit, a client re-sending a call)
    get the same bytes without rendering again, and requests that arrive together share the render in
    flight: the simulator's CPU is not the model's, and must not crowd out the client being measured.
    """

    def __init__(self, capacity: int = CACHE_CAPACITY) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[RenderKey, Future[bytes]] = OrderedDict()
        self._sizes: dict[RenderKey, int] = {}  # finished entries only
        self._size = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def lookup(self, key: RenderKey) -> Future[bytes] | None:
        """The render of `key`, finished or in flight, if there is one."""
        with self._lock:
            future = self._entries.get(key)
            if future is not None:
                self._entries.move_to_end(key)
            return future

    def claim(self, key: RenderKey, start: Callable[[], Future[bytes]]) -> Future[bytes]:
        """The render of `key`: the one already there, else the one `start()` begins (it must not block)."""
        with self._lock:
            future = self._entries.get(key)
            if future is not None:
                return future
            future = start()
            self._entries[key] = future
        future.add_done_callback(lambda done: self._finished(key, done))
        return future

    def _finished(self, key: RenderKey, future: Future[bytes]) -> None:
        with self._lock:
            if self._entries.get(key) is not future:
                return
            if future.cancelled() or future.exception() is not None:
                del self._entries[key]  # a failed render is tried again by the next request
                return
            self._sizes[key] = len(future.result())
            self._size += self._sizes[key]
            for old in [k for k in self._entries if k in self._sizes and k != key]:
                if self._size <= self._capacity:
                    break
                del self._entries[old]
                self._size -= self._sizes.pop(old)


def render_all(job: RenderJob, count: int, pool: Executor, cache: RenderCache | None = None) -> list[bytes]:
    """The PNG bytes of outputs 0..count-1, rendered concurrently on `pool` (or taken from `cache`)."""
    base: Image.Image | None = None
    futures = []
    for index in range(count):
        key = job.key(index) if cache is not None else None
        future = cache.lookup(key) if cache is not None and key is not None else None
        if future is None:
            if base is None and not job.noise:  # composed only when something is rendered from it
                base = drifted(_compose_base(job.inputs, job.size), job.drift)
            start = _starter(pool, job, base, index)
            future = cache.claim(key, start) if cache is not None and key is not None else start()
        futures.append(future)
    return [future.result() for future in futures]


def _starter(pool: Executor, job: RenderJob, base: Image.Image | None, index: int) -> Callable[[], Future[bytes]]:
    return lambda: pool.submit(_render_one, job, base, index)


def _render_one(job: RenderJob, base: Image.Image | None, index: int) -> bytes:
    """Output number `index` as PNG bytes: the composed base, tinted, captioned and marked; with `job.noise`,
    seeded noise in every pixel instead (it does not compress: 2048x2048 weighs 12 MB, like a photo's PNG)."""
    width = job.size[0]
    mark = f"SIMULATED  seed {job.seed}  #{index + 1}"
    if base is None:  # job.noise: nothing was composed
        pixels = np.random.default_rng([job.seed, index]).bytes(job.size[0] * job.size[1] * 3)
        image = Image.frombytes("RGB", job.size, pixels)
        _draw_mark(image, mark, max(12, width // 64))
        return _stored_png(image)
    tint = Image.new("RGB", job.size, _tint_colour(job.seed, index))
    image = Image.blend(Image.blend(base, tint, TINT_STRENGTH), _grain(job.size, job.seed, index), GRAIN_STRENGTH)
    _draw_caption(image, job.prompt)
    _draw_mark(image, mark, max(12, width // 64))
    buffer = io.BytesIO()
    # Speed over size: level 1 keeps six 2048x2048 outputs well under the latency budget.
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _stored_png(image: Image.Image) -> bytes:
    """`image` (RGB) as a PNG whose rows are stored unfiltered and uncompressed: noise would not shrink anyway,
    and this takes a few milliseconds where Pillow's encoder takes a second for 2048x2048."""
    width, height = image.size
    rows = np.zeros((height, width * 3 + 1), np.uint8)  # each row: filter type 0, then its pixels
    rows[:, 1:] = np.asarray(image).reshape(height, width * 3)

    def chunk(kind: bytes, data: bytes) -> bytes:  # the simulator stands alone: core.png_stream's, written again
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    idat = zlib.compress(rows.tobytes(), 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _compose_base(inputs: tuple[Image.Image, ...], size: tuple[int, int]) -> Image.Image:
    """The last input covering the canvas, earlier inputs as framed insets down the right edge; with no
    input (text-to-image), a plain gradient."""
    if not inputs:
        return Image.linear_gradient("L").resize(size).convert("RGB")
    base = _cover(inputs[-1], size)
    insets = inputs[:-1]
    if not insets:
        return base
    width, height = size
    margin, border = max(8, width // 64), 3
    # Insets share the top part of the right edge, clear of the caption band at the bottom.
    box_w = width * INSET_FRACTION
    box_h = (height * INSET_HEIGHT_SHARE - margin * (len(insets) + 1)) / len(insets)
    top = margin
    for source in insets:
        scale = min(box_w / source.width, box_h / source.height)
        inset_size = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
        inset = source.resize(inset_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        frame = Image.new("RGB", (inset_size[0] + 2 * border, inset_size[1] + 2 * border), "white")
        frame.paste(inset, (border, border))
        base.paste(frame, (width - frame.width - margin, top))
        top += frame.height + margin
    return base


def drifted(image: Image.Image, drift: Drift | None) -> Image.Image:
    """`image` with its content moved, zoomed and turned about the centre and its colours changed as `drift`
    says (see Drift for the directions); `image` itself when there is no drift."""
    if drift is None:
        return image
    pixels = np.asarray(image)
    height, width = pixels.shape[:2]
    # OpenCV puts pixel centres on integers, so the canvas centre is ((w - 1) / 2, (h - 1) / 2).
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), drift.rotation, 1.0 + drift.zoom)
    matrix[:, 2] += (drift.dx, drift.dy)
    moved = cv2.warpAffine(pixels, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    coloured = moved * np.float32(drift.gain) + np.float32(drift.offset)
    return Image.fromarray(np.clip(np.rint(coloured), 0, 255).astype(np.uint8), "RGB")


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` scaled to cover `size` and centre-cropped to it, in one resize; the crop box lies inside `image`.

    Comparing the aspect ratios in integers picks the side that sets the scale, and that side is kept whole,
    so no rounding error can put the box outside the image (which Pillow refuses).
    """
    width, height = size
    if width * image.height >= height * image.width:  # the canvas is relatively wider: keep the full width
        crop_w, crop_h = float(image.width), image.width * height / width
    else:
        crop_w, crop_h = image.height * width / height, float(image.height)
    left, top = (image.width - crop_w) / 2, (image.height - crop_h) / 2
    box = (left, top, left + crop_w, top + crop_h)
    return image.resize(size, Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)


def _grain(size: tuple[int, int], seed: int, index: int) -> Image.Image:
    """Seeded monochrome film grain, so outputs weigh more like photos than flat fills do as PNG.

    Grains are 2x2 pixels: a third of the encoding time of per-pixel noise. A band of GRAIN_ROWS
    full-width rows repeats down the canvas; the repeat lies far beyond zlib's 32 KB window, so it
    does not compress away, and the band costs little to make.
    """
    width, height = size
    rows = min(GRAIN_ROWS, height)
    cells = (max(1, width // 2), max(1, rows // 2))
    noise = random.Random(f"{seed}:{index}").randbytes(cells[0] * cells[1])
    band = Image.frombytes("L", cells, noise).resize((width, rows), Image.Resampling.NEAREST).convert("RGB")
    grain = Image.new("RGB", size)
    for top in range(0, height, rows):
        grain.paste(band, (0, top))
    return grain


def _tint_colour(seed: int, index: int) -> tuple[int, int, int]:
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=2).digest()
    hue = int.from_bytes(digest, "big") / 65536
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return round(red * 255), round(green * 255), round(blue * 255)


def _draw_caption(image: Image.Image, prompt: str) -> None:
    """The prompt, wrapped, in white on a darkened band along the bottom."""
    width, height = image.size
    font_size = max(14, width // 40)
    font = _font(font_size)
    chars_per_line = max(10, int(width / (font_size * 0.55)))
    lines = textwrap.wrap(" ".join(prompt.split()), chars_per_line) or [""]
    if len(lines) > MAX_PROMPT_LINES:
        lines = [*lines[: MAX_PROMPT_LINES - 1], lines[MAX_PROMPT_LINES - 1][:-1] + "…"]
    line_height = round(font_size * 1.3)
    band_height = line_height * len(lines) + font_size
    box = (0, height - band_height, width, height)
    band = image.crop(box)
    image.paste(Image.blend(band, Image.new("RGB", band.size, "black"), BAND_DARKEN), box)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        y = height - band_height + font_size // 2 + number * line_height
        draw.text((font_size // 2, y), line, font=font, fill="white")


def _draw_mark(image: Image.Image, text: str, font_size: int) -> None:
    draw = ImageDraw.Draw(image)
    font = _font(font_size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = font_size // 2
    draw.rectangle((0, 0, right - left + 2 * pad, bottom - top + 2 * pad), fill="black")
    draw.text((pad - left, pad - top), text, font=font, fill="white")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: nothing to fetch. Loaded per call (~0.1 ms) so threads never share a face.
    return ImageFont.load_default(size=size)
