"""Input images: decoded safely, checked against the models' limits, encoded for a data URI.

`prepare_image` turns what the user put in a slot (a path, raw bytes or a PIL image) into the bytes
that will be sent, or raises one of the `errors.ImageError` kinds naming the slot.

Encoding rules, in order:
- A JPEG or PNG that is in range, upright, in a plain mode (L, RGB, RGBA), not animated, without a
  huge EXIF block and small enough is sent as its original bytes, untouched.
- Otherwise the image is rotated per EXIF, converted to L, RGB or RGBA (alpha only when some pixel is
  not opaque), downscaled so its longer side is at most 3072 px, and re-encoded without EXIF (its ICC
  profile is kept when it still describes the pixels):
  PNG when it has alpha; PNG for lossless sources (PNG, BMP, TIFF, GIF) up to 4 MP when that fits;
  else JPEG quality 95.
- If that is too big for the data URI budget, JPEG quality drops to 85 then 75, then the image is
  scaled down until it fits (an image with alpha stays PNG and is only scaled down).
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from PIL import ExifTags, Image, ImageOps

from core import errors
from core.catalog import INPUT_MAX_BYTES, INPUT_SIDE_MAX, INPUT_SIDE_MIN
from core.units import megabytes

logger = logging.getLogger(__name__)

ACCEPTED_FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF")
MAX_MEGAPIXELS = 64
"""Declared sizes above this are refused before any pixel is decoded (8000x6000 = 48 MP still opens)."""

_JPEG_QUALITIES = (95, 85, 75)
_LOSSLESS_FORMATS = frozenset({"PNG", "BMP", "TIFF", "GIF"})
# PNG encoding of larger images is slow and rarely smaller than JPEG for photos.
_PNG_MAX_PIXELS = 4_000_000
# Lanczos downscales first reduce by whole factors when the scale is at least twice this (Pillow's reducing_gap).
_REDUCING_GAP = 3.0
# Above this many source pixels a downscale is split between two threads.
_BANDED_MIN_PIXELS = 4_000_000
# A JPEG APP1 segment holds at most 64 KB; a bigger EXIF block is junk worth re-encoding to drop.
_EXIF_KEPT_MAX = 64 * 1024
_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}
_AS_IS_MODES = frozenset({"L", "RGB", "RGBA"})
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_MODE_NAMES = {
    "1": "1-bit black and white",
    "L": "grayscale",
    "LA": "grayscale with alpha",
    "P": "palette",
    "PA": "palette with alpha",
    "I;16": "16-bit grayscale",
    "I;16L": "16-bit grayscale",
    "I;16B": "16-bit grayscale",
    "I;16N": "16-bit grayscale",
    "I": "32-bit grayscale",
    "F": "floating-point grayscale",
}

# Each reason in English and Chinese: the error carries both, for the message in either language.
_EMPTY = ("the file is empty", "文件为空")
_CORRUPT = ("the file is truncated or corrupt", "文件不完整或已损坏")
_NOT_AN_IMAGE = ("not an image file", "不是图片文件")
_HEIF = ("HEIC/HEIF photos are not supported", "不支持 HEIC/HEIF 照片")
_SVG = ("SVG drawings are not supported", "不支持 SVG 矢量图")
_UNOPENABLE = ("the file could not be opened", "无法打开该文件")


ImageSource = str | os.PathLike[str] | bytes | Image.Image
"""What a slot can hold: a path, the file's bytes, or a PIL image."""


@dataclass(frozen=True)
class PreparedImage:
    """An input image as it will be sent, and what was done to it."""

    slot: int
    data: bytes
    mime: str
    width: int
    height: int
    original_width: int
    original_height: int
    source_format: str
    sha256: str
    notes: tuple[str, ...]

    @property
    def data_uri(self) -> str:
        """The image as a `data:` URI, the form DashScope takes for local images."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def prepare_image(source: ImageSource, slot: int) -> PreparedImage:
    """The image for `slot` (1-3), ready to send; raises an `errors.ImageError` naming the slot.

    A path or bytes is decoded as JPEG, PNG, BMP, TIFF, WEBP or GIF whatever its name says; a PIL
    image is always re-encoded (its `source_format` is its `format`, or "" when made in memory).
    """
    if isinstance(source, Image.Image):
        return _prepare(source, slot, original=None)
    data = _read(source, slot)
    with _open(data, slot) as image:
        return _prepare(image, slot, original=data)


def read_dimensions(source: ImageSource) -> tuple[int, int] | None:
    """The upright width and height, from the header alone; None when unreadable or over the pixel cap.

    Cheap enough to call on every change of a slot: no pixel is decoded.
    """
    slot = 0  # the errors raised below are only a signal here, never shown
    try:
        if isinstance(source, Image.Image):
            return _upright(source, slot, header_only=True)[1]
        with _open(_read(source, slot), slot) as image:
            return _upright(image, slot, header_only=True)[1]
    except errors.ImageError:
        return None


# --- reading and identifying --------------------------------------------------------------------


def _read(source: str | os.PathLike[str] | bytes, slot: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as file:
                data = file.read()
        except OSError as exc:
            raise _unreadable(slot, _UNOPENABLE) from exc
    if not data:
        raise _unreadable(slot, _EMPTY)
    return data


def _open(data: bytes, slot: int) -> Image.Image:
    """The header of `data` parsed by an accepted format's plugin; no pixel is decoded yet."""
    Image.init()
    for fmt in ACCEPTED_FORMATS:
        with _decoding(slot):
            image = _parse_header(data, fmt)
        if image is not None:
            return image
    other = _other_format(data)
    if other is not None:
        raise errors.ImageFormatError(slot=slot, format=other)
    raise _unreadable(slot, _unrecognised_reason(data))


def _parse_header(data: bytes, fmt: str) -> Image.Image | None:
    """Pillow's `fmt` plugin's reading of `data`, or None when `data` lacks that format's signature.

    The plugin is called directly rather than through `Image.open` so that the pixel cap applied is
    ours: `Image.open` refuses large bombs itself, before their declared size can be reported.
    """
    factory, accept = Image.OPEN[fmt]
    verdict = accept(data[:16]) if accept else True
    if not verdict or isinstance(verdict, str):  # a string means "looks like it, but unsupported"
        return None
    return factory(io.BytesIO(data), "")


def _other_format(data: bytes) -> str | None:
    """The name of another format Pillow recognises `data` as, if any."""
    for fmt in Image.ID:
        if fmt in ACCEPTED_FORMATS:
            continue
        try:
            image = _parse_header(data, fmt)
        except Exception:  # plugins without a signature check say "not mine" by raising
            continue
        if image is not None:
            image.close()
            return image.format
    return None


def _unrecognised_reason(data: bytes) -> tuple[str, str]:
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return _HEIF
    if b"<svg" in data[:4096].lower():
        return _SVG
    return _NOT_AN_IMAGE


def _unreadable(slot: int, reason: tuple[str, str]) -> errors.ImageUnreadableError:
    return errors.ImageUnreadableError(slot=slot, reason=reason[0], reason_zh=reason[1])


@contextmanager
def _decoding(slot: int) -> Iterator[None]:
    """Turn whatever Pillow raises on a broken file into ImageUnreadableError."""
    try:
        yield
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error, ...
        logger.debug("image %d failed to decode", slot, exc_info=True)
        raise _unreadable(slot, _CORRUPT) from exc


# --- checking and decoding ----------------------------------------------------------------------


def _prepare(image: Image.Image, slot: int, original: bytes | None) -> PreparedImage:
    orientation, size = _upright(image, slot)
    fmt = image.format or ""
    with _decoding(slot):
        # An MPO's extra frames are previews, depth or gain maps of the same photo, not animation.
        animated = fmt != "MPO" and bool(getattr(image, "is_animated", False))
    target = _fitted_size(slot, *size)
    with _decoding(slot):
        if original is not None and target != size:
            _draft(image, target, orientation)
        image.load()  # decoding everything also proves an untouched file is not truncated
    untouched = target == size and orientation == 1 and not animated
    if original is not None and untouched and _sendable_as_is(image, fmt, original):
        return _prepared(slot, _Encoded(original, _MIME[fmt], size, []), size, fmt)
    over_budget = original is not None and untouched and fmt in _MIME and not _fits(len(original), _MIME[fmt])
    notes = [_first_frame_note(fmt)] if animated else []
    encoded = _reencode(image, size, target, orientation, fmt in _LOSSLESS_FORMATS, over_budget)
    return _prepared(slot, encoded._replace(notes=notes + encoded.notes), size, fmt)


def _upright(image: Image.Image, slot: int, *, header_only: bool = False) -> tuple[int, tuple[int, int]]:
    """The EXIF orientation (1-8) and the size once turned upright; refuses bombs before reading EXIF.

    A PNG may store EXIF after its pixels, which Pillow finds only by decoding them all;
    `header_only` skips that search.
    """
    width, height = image.size
    if width * height > MAX_MEGAPIXELS * 1_000_000:
        raise errors.ImageTooLargeError(slot=slot, width=width, height=height, limit=MAX_MEGAPIXELS)
    if header_only and image.format == "PNG" and "exif" not in image.info:
        value = 1
    else:
        with _decoding(slot):
            value = image.getexif().get(ExifTags.Base.Orientation, 1)
    orientation = value if isinstance(value, int) and 1 <= value <= 8 else 1
    return orientation, (height, width) if orientation in _SWAPPING_ORIENTATIONS else (width, height)


def _fitted_size(slot: int, width: int, height: int) -> tuple[int, int]:
    """The size to send: the same, or scaled so the longer side is INPUT_SIDE_MAX."""
    if min(width, height) < INPUT_SIDE_MIN:
        raise errors.ImageTooSmallError(slot=slot, width=width, height=height, minimum=INPUT_SIDE_MIN)
    scale = INPUT_SIDE_MAX / max(width, height)
    if scale >= 1:
        return width, height
    fitted = (round(width * scale), round(height * scale))
    if min(fitted) < INPUT_SIDE_MIN:
        raise errors.ImageAspectRatioError(
            slot=slot,
            width=width,
            height=height,
            minimum=INPUT_SIDE_MIN,
            maximum=INPUT_SIDE_MAX,
            ratio=INPUT_SIDE_MAX // INPUT_SIDE_MIN,
        )
    return fitted


def _draft(image: Image.Image, target: tuple[int, int], orientation: int) -> None:
    """Let the JPEG decoder skip detail the downscale would drop (no-op for other formats)."""
    stored = target[::-1] if orientation in _SWAPPING_ORIENTATIONS else target
    image.draft(image.mode, stored)


def _sendable_as_is(image: Image.Image, fmt: str, original: bytes) -> bool:
    return (
        fmt in _MIME
        and image.mode in _AS_IS_MODES
        and len(image.info.get("exif") or b"") <= _EXIF_KEPT_MAX
        and _fits(len(original), _MIME[fmt])
    )


def _first_frame_note(fmt: str) -> str:
    if fmt == "TIFF":
        return "first page of a multi-page TIFF"
    return f"first frame of an animated {fmt}"


# --- converting and encoding --------------------------------------------------------------------


class _Encoded(NamedTuple):
    data: bytes
    mime: str
    size: tuple[int, int]
    notes: list[str]


def _reencode(
    image: Image.Image,
    size: tuple[int, int],
    target: tuple[int, int],
    orientation: int,
    lossless: bool,
    over_budget: bool,
) -> _Encoded:
    """Rotate, convert, downscale and encode `image` (declared `size`) to send at `target` size.

    `over_budget` says the original bytes were re-encoded only because they were too big.
    """
    source_mode = image.mode
    icc = image.info.get("icc_profile")
    exif_bytes = len(image.info.get("exif") or b"")
    notes = []
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
        notes.append("rotated per EXIF orientation")
    image, note = _to_sendable_mode(image)
    notes += [note] if note else []
    if target != size:
        if image.size != target:
            image = _downscale(image, target)
        notes.append(f"downscaled from {size[0]}x{size[1]} to {target[0]}x{target[1]}")
    keep_icc = icc if _profile_still_valid(source_mode, image.mode) else None
    encoded = _encode(image, lossless, keep_icc, over_budget)
    if exif_bytes:
        encoded.notes.append(f"removed EXIF metadata ({_kilobytes(exif_bytes)})")
    return encoded._replace(notes=notes + encoded.notes)


def _downscale(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` Lanczos-resampled to `size`.

    A big opaque image is done as two horizontal bands, the lower one on a second thread: Pillow releases
    the GIL while it resamples, and each band reads the source rows around its own box, so the result is
    the one-call result (each value within one step of rounding) in about 60% of the time when a core is
    free. Alpha is left to one call: Pillow resamples it premultiplied, where a rounding step is magnified.
    """
    width, height = size
    scale = image.height / height
    whole_factor = max(image.width / width, scale) >= 2 * _REDUCING_GAP  # Pillow would reduce first: not banded
    small = image.width * image.height < _BANDED_MIN_PIXELS
    if small or whole_factor or height < 2 or image.mode not in ("RGB", "L"):
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    split = height // 2
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="downscale") as helper:
        lower = helper.submit(
            image.resize,
            (width, height - split),
            Image.Resampling.LANCZOS,
            (0, split * scale, image.width, image.height),
        )
        upper = image.resize((width, split), Image.Resampling.LANCZOS, (0, 0, image.width, split * scale))
        result = Image.new(upper.mode, size)
        result.paste(upper, (0, 0))
        result.paste(lower.result(), (0, split))
    result.info = dict(upper.info)
    return result


def _to_sendable_mode(image: Image.Image) -> tuple[Image.Image, str | None]:
    """The image as L, RGB or RGBA (alpha kept when any pixel uses it), and a note if it changed."""
    mode = image.mode
    name = _MODE_NAMES.get(mode, mode)
    if mode.startswith("I") or mode == "F":
        return _to_8_bit(image), f"converted {name} to 8-bit grayscale"
    if mode == "1":
        return image.convert("L"), f"converted {name} to grayscale"
    if mode not in _AS_IS_MODES or "transparency" in image.info:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        # An alpha nobody sees would force PNG, which is slower and larger than JPEG for photos.
        return image.convert("RGB"), f"converted {name} to RGB (its transparency was unused)"
    return image, None if image.mode == mode else f"converted {name} to {image.mode}"


def _to_8_bit(image: Image.Image) -> Image.Image:
    """Scale deep grayscale to 8 bits: by the 16-bit range when it holds, else by its own range.

    A plain `convert("L")` clips every value above 255 to white.
    """
    wide = image.convert("I") if image.mode.startswith("I;16") else image
    low, high = wide.getextrema()
    if wide.mode == "I" and low >= 0 and high <= 65535:
        low, high = 0, 65535
    scale = 255 / (high - low) if high > low else 0
    return wide.point(lambda value: value * scale - low * scale).convert("L")


def _profile_still_valid(source_mode: str, mode: str) -> bool:
    """Whether the source's ICC profile still describes the pixels after conversion."""
    if source_mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return False
    # A palette's entries are RGB, though Pillow gives "P" as its own base mode.
    source_base = "RGB" if source_mode == "P" else Image.getmodebase(source_mode)
    return source_base == Image.getmodebase(mode)


def _encode(image: Image.Image, lossless_source: bool, icc: bytes | None, over_budget: bool) -> _Encoded:
    """The first encoding that fits the data URI budget, with a note of what it took."""
    if image.mode == "RGBA":
        attempts: list[tuple[str, int | None]] = [("PNG", None)]
    else:
        small = image.width * image.height <= _PNG_MAX_PIXELS
        attempts = [("PNG", None)] if lossless_source and small else []
        attempts += [("JPEG", quality) for quality in _JPEG_QUALITIES]
    for number, (fmt, quality) in enumerate(attempts):
        data = _save(image, fmt, quality, icc)
        if _fits(len(data), _MIME[fmt]):
            note = _encoding_note(fmt, quality, forced=over_budget or number > 0)
            return _Encoded(data, _MIME[fmt], image.size, [note])
    return _shrink_to_fit(image, fmt, quality, icc, len(data))


def _shrink_to_fit(
    image: Image.Image, fmt: str, quality: int | None, icc: bytes | None, encoded_bytes: int
) -> _Encoded:
    """Scale down until the encoding fits, keeping the short side at least INPUT_SIDE_MIN.

    This ends: at that floor the image has at most 384x3072 px, which even as noise encodes far
    under the budget (raw RGBA is under 5 MB).
    """
    mime = _MIME[fmt]
    budget = INPUT_MAX_BYTES - len(_uri_prefix(mime))
    floor = INPUT_SIDE_MIN / min(image.size)
    scale = 1.0
    while True:
        # Encoded size follows the pixel count: shrink the area by the overshoot, with a margin.
        scale = max(floor, scale * math.sqrt(budget / _base64_length(encoded_bytes)) * 0.95)
        size = (round(image.width * scale), round(image.height * scale))
        data = _save(_downscale(image, size), fmt, quality, icc)
        if _fits(len(data), mime):
            limit = megabytes(INPUT_MAX_BYTES)
            notes = [f"downscaled to {size[0]}x{size[1]} to stay under {limit}"]
            return _Encoded(data, mime, size, [*notes, _encoding_note(fmt, quality, forced=True)])
        encoded_bytes = len(data)


def _save(image: Image.Image, fmt: str, quality: int | None, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    # icc_profile is always given: PNG would otherwise copy a stale one from image.info.
    options: dict[str, object] = {"icc_profile": icc}
    if quality is not None:
        options["quality"] = quality
    else:
        # Level 1 is several times faster than the default 6 on photos, for about 10% more bytes.
        options["compress_level"] = 1
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _encoding_note(fmt: str, quality: int | None, *, forced: bool) -> str:
    how = f"JPEG (quality {quality})" if quality is not None else fmt
    reason = f" to stay under {megabytes(INPUT_MAX_BYTES)}" if forced else ""
    return f"re-encoded as {how}{reason}"


# --- sizes --------------------------------------------------------------------------------------


def _uri_prefix(mime: str) -> str:
    return f"data:{mime};base64,"


def _base64_length(byte_count: int) -> int:
    return 4 * math.ceil(byte_count / 3)


def _fits(byte_count: int, mime: str) -> bool:
    """Whether `byte_count` bytes make a data URI under INPUT_MAX_BYTES."""
    return len(_uri_prefix(mime)) + _base64_length(byte_count) < INPUT_MAX_BYTES


def _kilobytes(byte_count: int) -> str:
    return f"{math.ceil(byte_count / 1024)} KB"


def _prepared(slot: int, encoded: _Encoded, original_size: tuple[int, int], fmt: str) -> PreparedImage:
    return PreparedImage(
        slot=slot,
        data=encoded.data,
        mime=encoded.mime,
        width=encoded.size[0],
        height=encoded.size[1],
        original_width=original_size[0],
        original_height=original_size[1],
        source_format=fmt,
        sha256=hashlib.sha256(encoded.data).hexdigest(),
        notes=tuple(encoded.notes),
    )
