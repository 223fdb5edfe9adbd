"""PNG files of large composites, fast: encoded in strips of rows, each its own deflate run, so the strips a
composite shares with its original are compressed once (while the model works) and only the rows the edit
touched are compressed after it answers.

A strip is filtered with PNG's Sub filter (each row on its own) and deflated with a full flush, which makes its
bytes independent of the strips before it; the strips' deflate runs, an empty final block and the Adler-32 of
the whole (combined from the strips') make one valid zlib stream, written as one IDAT chunk per strip.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PIL import Image

from core.png_stream import SIGNATURE, chunk

STRIP_ROWS = 64
LEVEL = 1  # zlib's fastest: a composite is written once and read rarely
_COLOUR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
_ZLIB_HEADER = b"\x78\x01"
_FINAL_BLOCK = b"\x03\x00"  # an empty final block of fixed codes: ends the stream after the last flushed strip
_ADLER_BASE = 65521
# zlib lets go of the GIL while it compresses: strips of one composite, and of several, go on every core.
_POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="png-strips")


class _Strip:
    """One strip's compressed bytes, its Adler-32 and the length of its filtered bytes."""

    __slots__ = ("adler", "data", "length")

    def __init__(self, data: bytes, adler: int, length: int) -> None:
        self.data, self.adler, self.length = data, adler, length


def _encode_strip(rows: np.ndarray) -> _Strip:
    """Filter (Sub) and deflate rows of pixels (height, width, channels) of uint8."""
    height, width, channels = rows.shape
    flat = rows.reshape(height, width * channels)
    filtered = np.empty((height, width * channels + 1), np.uint8)
    filtered[:, 0] = 1  # filter type Sub
    filtered[:, 1 : 1 + channels] = flat[:, :channels]
    np.subtract(flat[:, channels:], flat[:, :-channels], out=filtered[:, 1 + channels :])  # wraps modulo 256
    raw = filtered.tobytes()
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    data = compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)
    return _Strip(data, zlib.adler32(raw), len(raw))


def _adler_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings joined, from each one's (zlib's adler32_combine)."""
    remainder = second_length % _ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (remainder * sum1) % _ADLER_BASE
    sum1 += (second & 0xFFFF) + _ADLER_BASE - 1
    sum2 += ((first >> 16) & 0xFFFF) + ((second >> 16) & 0xFFFF) + _ADLER_BASE - remainder
    sum1 %= _ADLER_BASE
    sum2 %= _ADLER_BASE
    return (sum2 << 16) | sum1


class StripEncoder:
    """The PNG of an image and of copies of it with some rows changed, sharing the unchanged strips' work.

    `prepare` starts compressing every strip in the background (call it early: it runs while the model works);
    `encode` gives the PNG of the image with rows replaced, compressing again only the strips those rows touch.
    """

    def __init__(self, image: Image.Image) -> None:
        if image.mode not in _COLOUR_TYPES:
            raise ValueError(f"no PNG strips for mode {image.mode}")
        self.mode = image.mode
        self.size = image.size
        self._image = image  # read strip by strip in the background: never changed while this encoder lives
        self._icc = image.info.get("icc_profile")
        self._lock = threading.Lock()
        self._strips: list[Future[_Strip] | None] = [None] * self.strip_count

    @property
    def strip_count(self) -> int:
        return -(-self.size[1] // STRIP_ROWS)

    def prepare(self) -> StripEncoder:
        """Start compressing every strip."""
        for index in range(self.strip_count):
            self._strip(index)
        return self

    def encode(self, top: int = 0, rows: np.ndarray | None = None) -> bytes:
        """The PNG of the image with `rows` (height, width[, channels], in the image's mode) put in from row `top`."""
        changed: set[int] = set()
        if rows is not None:
            rows = rows if rows.ndim == 3 else rows[..., None]
            changed = set(range(top // STRIP_ROWS, (top + rows.shape[0] - 1) // STRIP_ROWS + 1))
        strips = [
            _POOL.submit(self._changed, index, top, rows) if index in changed else self._strip(index)
            for index in range(self.strip_count)
        ]
        return self._assemble([strip.result() for strip in strips])

    def _strip(self, index: int) -> Future[_Strip]:
        with self._lock:
            future = self._strips[index]
            if future is None:
                future = _POOL.submit(self._encode_rows, index)
                self._strips[index] = future
            return future

    def _rows(self, index: int) -> np.ndarray:
        """Strip `index`'s rows of the image, as (height, width, channels)."""
        start, end = index * STRIP_ROWS, min((index + 1) * STRIP_ROWS, self.size[1])
        rows = np.asarray(self._image.crop((0, start, self.size[0], end)))
        return rows if rows.ndim == 3 else rows[..., None]

    def _encode_rows(self, index: int) -> _Strip:
        return _encode_strip(self._rows(index))

    def _changed(self, index: int, top: int, rows: np.ndarray) -> _Strip:
        start, end = index * STRIP_ROWS, min((index + 1) * STRIP_ROWS, self.size[1])
        strip = self._rows(index).copy()
        low, high = max(start, top), min(end, top + rows.shape[0])
        strip[low - start : high - start] = rows[low - top : high - top]
        return _encode_strip(strip)

    def _assemble(self, strips: Sequence[_Strip]) -> bytes:
        width, height = self.size
        header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[self.mode], 0, 0, 0)
        parts = [SIGNATURE, chunk(b"IHDR", header)]
        if self._icc:
            parts.append(chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(self._icc)))
        adler = 1
        parts.append(chunk(b"IDAT", _ZLIB_HEADER))
        for strip in strips:
            adler = _adler_combine(adler, strip.adler, strip.length)
            parts.append(chunk(b"IDAT", strip.data))
        parts.append(chunk(b"IDAT", _FINAL_BLOCK + struct.pack(">I", adler)))
        parts.append(chunk(b"IEND", b""))
        return b"".join(parts)
