"""PNGs checked as they stream in: what Pillow's verify() refuses is refused, piece by piece, whatever the
pieces' sizes; the size comes from IHDR."""

from __future__ import annotations

import io
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from core.png_stream import DamagedPng, PngStream


def png_bytes(width: int = 64, height: int = 48, *, text: bool = True) -> bytes:
    """A small PNG of noise-like rows (several IDAT chunks), with a text chunk before them."""
    image = Image.frombytes("RGB", (width, height), bytes((i * 7919) % 251 for i in range(width * height * 3)))
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", "made for a test")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, compress_level=0)
    return buffer.getvalue()


def streamed(data: bytes, pieces: list[int]) -> tuple[int, int]:
    stream, offset = PngStream(), 0
    for size in pieces:
        stream.feed(data[offset : offset + size])
        offset += size
    stream.feed(data[offset:])
    return stream.finish()


def pillow_accepts(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.verify()
    except Exception:
        return False
    return True


@given(pieces=st.lists(st.integers(1, 3000), max_size=12))
@settings(max_examples=60, deadline=None)
def test_a_sound_png_in_any_pieces_gives_its_size(pieces: list[int]) -> None:
    assert streamed(png_bytes(), pieces) == (64, 48)


GOOD = png_bytes(40, 30)


@given(position=st.integers(0, len(GOOD) - 1), flip=st.integers(1, 255), piece=st.integers(1, 5000))
@settings(max_examples=300, deadline=None)
def test_any_flipped_byte_is_refused_where_pillow_refuses_it(position: int, flip: int, piece: int) -> None:
    damaged = bytearray(GOOD)
    damaged[position] ^= flip
    if pillow_accepts(bytes(damaged)):  # e.g. a chunk's ancillary/critical bit: still a valid file
        return
    with pytest.raises(DamagedPng):
        streamed(bytes(damaged), [piece] * (len(GOOD) // piece))


@pytest.mark.parametrize("cut", [1, 8, 20, len(GOOD) // 2, len(GOOD) - 1])
def test_a_file_cut_short_is_damaged(cut: int) -> None:
    stream = PngStream()
    stream.feed(GOOD[:cut])
    with pytest.raises(DamagedPng):
        stream.finish()


def test_other_files_and_trailing_bytes_are_told_apart() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG")
    with pytest.raises(DamagedPng) as not_png:
        PngStream().feed(buffer.getvalue())
    assert not_png.value.not_png
    with pytest.raises(DamagedPng) as trailing:
        streamed(GOOD + b"x", [])
    assert not trailing.value.not_png


def test_a_png_without_image_data_or_with_ihdr_out_of_place_is_refused() -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = chunk(b"IHDR", (8).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]))
    signature = b"\x89PNG\r\n\x1a\n"
    with pytest.raises(DamagedPng, match="IDAT"):
        streamed(signature + ihdr + chunk(b"IEND", b""), [])
    with pytest.raises(DamagedPng, match="IHDR"):
        streamed(signature + chunk(b"tEXt", b"a\x00b") + ihdr, [])
