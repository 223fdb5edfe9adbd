"""PNG's chunk format, written (`chunk`) and checked as the bytes stream in (`PngStream`): the signature, every
chunk's length, type and CRC, IHDR first, at least one IDAT and nothing after IEND; the same checks as Pillow's
`verify()`, without reading the file again.

A download feeds each piece it writes; at the end `finish()` gives the image's width and height (from IHDR)
or raises DamagedPng. Only chunk headers are buffered, never chunk data: memory stays a few bytes whatever
the file's size.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_LENGTH = 2**31 - 1  # the PNG spec's limit for one chunk


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class DamagedPng(ValueError):
    """The bytes are no PNG, or a damaged or incomplete one; `not_png` when the signature itself is wrong."""

    def __init__(self, reason: str, *, not_png: bool = False) -> None:
        super().__init__(reason)
        self.not_png = not_png


class PngStream:
    """Feed a PNG's bytes in order with `feed`; `finish` when they are all in."""

    def __init__(self) -> None:
        self._pending = b""  # bytes of a signature, chunk header or CRC not yet complete
        self._need = len(SIGNATURE)  # bytes wanted for the current field
        self._field = "signature"  # "signature", "header", "data", "crc" or "end"
        self._kind = b""
        self._crc = 0
        self._ihdr = b""
        self._seen: set[bytes] = set()
        self.size: tuple[int, int] | None = None

    def feed(self, data: bytes | memoryview) -> None:
        """Check the next piece of the file; raises DamagedPng as soon as something is wrong."""
        view = memoryview(data)
        while view:
            if self._field == "end":
                raise DamagedPng("bytes after IEND")
            if self._field == "data":
                taken, view = view[: self._need], view[self._need :]
                self._crc = zlib.crc32(taken, self._crc)
                if self._kind == b"IHDR":
                    self._ihdr += taken
                self._need -= len(taken)
                if self._need == 0:
                    self._field, self._need = "crc", 4
                continue
            wanted = self._need - len(self._pending)
            self._pending += view[:wanted].tobytes()
            view = view[wanted:]
            if len(self._pending) == self._need:
                field, self._pending = self._pending, b""
                self._complete(field)

    def finish(self) -> tuple[int, int]:
        """The image's (width, height) once the whole file was fed; DamagedPng when it stops short."""
        if self._field != "end":
            raise DamagedPng("the file ends before IEND")
        assert self.size is not None
        return self.size

    def _complete(self, field: bytes) -> None:
        if self._field == "signature":
            if field != SIGNATURE:
                raise DamagedPng("not a PNG signature", not_png=True)
            self._field, self._need = "header", 8
        elif self._field == "header":
            length, kind = struct.unpack(">I4s", field)
            self._start_chunk(length, kind)
        else:  # the CRC of the chunk just read
            if struct.unpack(">I", field)[0] != self._crc:
                raise DamagedPng(f"the CRC of a {self._kind.decode()} chunk is wrong")
            self._end_chunk()

    def _start_chunk(self, length: int, kind: bytes) -> None:
        if length > _MAX_LENGTH or not kind.isalpha() or not kind.isascii():
            raise DamagedPng("a chunk header is damaged")
        if not self._seen and kind != b"IHDR":
            raise DamagedPng("IHDR is not the first chunk")
        if kind == b"IHDR" and (self._seen or length != 13):
            raise DamagedPng("a misplaced or damaged IHDR")
        self._kind, self._crc = kind, zlib.crc32(kind)
        self._field, self._need = ("data", length) if length else ("crc", 4)

    def _end_chunk(self) -> None:
        kind = self._kind
        self._seen.add(kind)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", self._ihdr[:8])
            if not width or not height:
                raise DamagedPng("IHDR gives an empty image")
            self.size = (width, height)
        if kind == b"IEND":
            if b"IDAT" not in self._seen:
                raise DamagedPng("no image data (IDAT)")
            self._field = "end"
        else:
            self._field, self._need = "header", 8
