"""Input images: decoded safely, checked against the models' limits, encoded for a data URI.

`prepare_image` turns what the user put in a slot (a path, raw bytes or a PIL image) into the bytes
that will be sent, or raises one of the `errors.ImageError` kinds naming the slot.

Memory, in order: a file over the upload cap is refused from its size, unread; an image is refused
from its header (format, pixel cap, sides, aspect) before any pixel is decoded; then its decode waits
for room in a budget shared by every request in the process (`configure` sets both from `Settings`),
so large images arriving together are decoded in turn. A JPEG is decoded at the smallest scale
(1/2, 1/4, 1/8) that still covers the size to send; other formats are decoded whole, and each full-size
copy is freed as soon as the next step has made its own.

Encoding rules, in order:
- A JPEG or PNG that is in range, upright, in a plain mode (L, RGB, RGBA), not animated, without a
  huge EXIF block and small enough is sent as its original bytes, untouched.
- Otherwise the image is rotated per EXIF, converted to L, RGB or RGBA (alpha only when some pixel is
  not opaque), upscaled so its shorter side is at least 384 px or downscaled so its longer side is at
  most 3072 px (the range the models' guide recommends), and re-encoded without EXIF (its ICC profile is
  kept when it still describes the pixels):
  PNG when it has alpha; PNG for lossless sources (PNG, BMP, TIFF, GIF) up to 4 MP when that fits;
  else JPEG quality 95.
- If that is too big for the data URI budget, JPEG quality drops to 85 then 75, then the image is
  scaled down until it fits (an image with alpha stays PNG and is only scaled down).
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
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

from PIL import ExifTags, Image

from core import errors
from core.budget import MemoryBudget
from core.catalog import INPUT_MAX_BYTES, INPUT_SIDE_MAX, INPUT_SIDE_MIN
from core.settings import Settings
from core.units import MEBIBYTE, megabytes

logger = logging.getLogger(__name__)

ACCEPTED_FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF")
MAX_MEGAPIXELS = 64
"""Declared sizes above this are refused before any pixel is decoded (8000x6000 = 48 MP still opens)."""
INPUT_SIDE_FLOOR = 128
"""Images whose shorter side is below this are refused; from here up to INPUT_SIDE_MIN (384) they are upscaled.

The guide calls 384 to 3072 px a recommendation, and gives no hard minimum of its own, so the floor is ours:
from 128 px the upscale is at most 3x, which keeps the shapes and lettering a designer means to edit. Below
it an input is an icon or a thumbnail: a 64 px side is 6x blown up into blur, about two of the vision
encoder's 28 px patches of real detail, and the model would invent nearly everything it "edits". Such a
file is almost always a mistake (the thumbnail instead of the photo), better said than silently sent.
"""

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
# The turn that makes each EXIF orientation upright (the EXIF standard's table, as Pillow's exif_transpose).
_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# What preparing an image holds at its peak, in copies of its decoded pixels at 4 bytes each (how Pillow
# keeps 8-bit pixels; measured on 64 MP worst cases with benchmarks/memory.py): a conversion or a resample
# makes a second copy beside the first, and WebP's decoder (libwebp's animation decoder, the only one
# Pillow uses) keeps two canvases of its own and hands over a third copy before Pillow's.
_COPIES = 2
_WEBP_COPIES = 4
_PIXEL_BYTES = 4
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


def _over_cap(limit: int) -> tuple[str, str]:
    return (f"the file is larger than the {megabytes(limit)} upload limit", f"文件超过 {megabytes(limit)} 的上传上限")


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
    def upscaled(self) -> bool:
        """True when the image is sent larger than it was given (a side was below INPUT_SIDE_MIN)."""
        return self.width * self.height > self.original_width * self.original_height

    @property
    def data_uri(self) -> str:
        """The image as a `data:` URI, the form DashScope takes for local images."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


class _Limits:
    """What `configure` set for this process: the largest file read, and the budget decodes share."""

    def __init__(self, settings: Settings) -> None:
        self.max_file_bytes = settings.max_upload_mb * MEBIBYTE
        self.decoding = MemoryBudget(settings.decode_budget_mb * MEBIBYTE, name="image decoding")

    def apply(self, settings: Settings) -> None:
        self.max_file_bytes = settings.max_upload_mb * MEBIBYTE
        self.decoding.resize(settings.decode_budget_mb * MEBIBYTE)


_limits = _Limits(Settings())

# glibc serves allocations under 32 MB from per-thread arenas, which keep what is freed for their own
# thread: with Pillow's 16 MB blocks, 8 threads decoding in turn left about three times the decode
# budget resident (benchmarks/memory.py). Larger blocks are mapped and unmapped whole, so freed pixels
# go back to the system. A larger size set by the operator (PILLOW_BLOCK_SIZE) is kept.
_PILLOW_BLOCK_BYTES = 64 * MEBIBYTE
Image.core.set_block_size(max(Image.core.get_block_size(), _PILLOW_BLOCK_BYTES))
# What the arenas still keep (downscaled copies, resampling bands) grows with the number of arenas, one per
# thread that ever allocated: two arenas bring 8 edits of three 64 MP WebPs from 1.9 GB to 1.4 GB of app
# RSS. Like MALLOC_ARENA_MAX=2, but set from here so no environment is needed; an operator's
# MALLOC_ARENA_MAX wins.
_MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def _limit_malloc_arenas() -> None:
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_ARENA_MAX, _MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc: its allocator keeps no per-thread arenas to bound
        return


_limit_malloc_arenas()


def configure(settings: Settings) -> None:
    """Apply the operator's upload cap and decode budget to every later preparation in this process.

    Both are process-wide, like the memory they protect: the last call wins, and until one is made the
    settings' defaults hold.
    """
    _limits.apply(settings)


def prepare_image(source: ImageSource, slot: int) -> PreparedImage:
    """The image for `slot` (1-3), ready to send; raises an `errors.ImageError` naming the slot.

    A path or bytes is decoded as JPEG, PNG, BMP, TIFF, WEBP or GIF whatever its name says; a PIL
    image is always re-encoded (its `source_format` is its `format`, or "" when made in memory) and is
    left as it was given. Every refusal from the file's size or its header comes before any pixel is
    decoded; the decode itself may wait for room in the process's decode budget.
    """
    if isinstance(source, Image.Image):
        return _prepare(source, slot, original=None)
    data = _read(source, slot)
    image = _open(data, slot)
    try:
        return _prepare(image, slot, original=data)
    finally:
        image.close()  # frees the pixels now, not when the last reference goes


class Decoded(NamedTuple):
    """A file's bytes, its format and its pixels at full resolution, upright."""

    data: bytes
    format: str
    image: Image.Image


def decode_upright(source: str | os.PathLike[str] | bytes, slot: int) -> Decoded:
    """The file's bytes and its pixels at full resolution, turned upright per EXIF, for region edits (which
    paste into the original, not into what is sent). Refused as `prepare_image` refuses (same caps, from
    the header first); the decode waits for room in the decode budget. The caller closes the image."""
    data = _read(source, slot)
    image = _open(data, slot)
    fmt = image.format or ""
    orientation, size = _header_size(image, slot)
    _fitted_size(slot, *size)  # an image that could not be sent whole is refused the same way
    with _limits.decoding.hold(_decode_cost(image, size)), _decoding(slot):
        image.load()
        orientation = _orientation(image, slot, header_only=False)
        if orientation != 1:
            turned = image.transpose(_TRANSPOSES[orientation])
            image.close()
            image = turned
    return Decoded(data, fmt, image)


def read_dimensions(source: ImageSource) -> tuple[int, int] | None:
    """The upright width and height, from the header alone; None when unreadable or over a cap.

    Cheap enough to call on every change of a slot: no pixel is decoded.
    """
    slot = 0  # the errors raised below are only a signal here, never shown
    try:
        if isinstance(source, Image.Image):
            return _header_size(source, slot)[1]
        with _open(_read(source, slot), slot) as image:
            return _header_size(image, slot)[1]
    except errors.ImageError:
        return None


def sent_dimensions(source: ImageSource) -> tuple[int, int] | None:
    """The width and height `prepare_image` will send the image at (scaled into the service's range), from the
    header alone; None when unreadable or refused. What the service's size follows; an image that only fits
    the data-URI cap smaller is scaled down further, which the header cannot tell."""
    dims = read_dimensions(source)
    if dims is None:
        return None
    try:
        return _fitted_size(0, *dims)
    except errors.ImageError:
        return None


# --- reading and identifying --------------------------------------------------------------------


def _read(source: str | os.PathLike[str] | bytes, slot: int) -> bytes:
    """The file's bytes; refuses a file over the upload cap from its size, without reading it."""
    limit = _limits.max_file_bytes
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size > limit:
                    raise _unreadable(slot, _over_cap(limit))
                # As many bytes as the file says it has and one more: a buffer of the cap's size would cost an
                # mmap of tens of MB per upload. A file that grew, or a device reporting no size, is read on up
                # to one byte past the cap.
                data = file.read(size + 1)
                if len(data) > size:
                    data += file.read(limit + 1 - len(data))
        except OSError as exc:
            raise _unreadable(slot, _UNOPENABLE) from exc
    if not data:
        raise _unreadable(slot, _EMPTY)
    if len(data) > limit:
        raise _unreadable(slot, _over_cap(limit))
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
    """Refuse `image` from its header, or decode and encode it while holding its decode cost.

    The refusals for the sides and the aspect do not depend on the orientation, so they are made from
    the header's; a PNG whose EXIF follows its pixels is then turned once they are decoded.
    """
    stored = image.size
    orientation, size = _header_size(image, slot)
    target = _fitted_size(slot, *size)
    if original is not None and target != size:
        with _decoding(slot):
            _draft(image, target, orientation)
    with _limits.decoding.hold(_decode_cost(image, target)):
        late = _orientation(image, slot, header_only=False)  # may decode a PNG: inside the budget
        if late != orientation:
            orientation, size = late, _turned(stored, late)
            target = _fitted_size(slot, *size)
        return _decode_and_encode(image, slot, original, size, target, orientation)


def _decode_and_encode(
    image: Image.Image,
    slot: int,
    original: bytes | None,
    size: tuple[int, int],
    target: tuple[int, int],
    orientation: int,
) -> PreparedImage:
    """Decode `image` (declared upright `size`) and make what is sent at `target` size."""
    fmt = image.format or ""
    with _decoding(slot):
        # An MPO's extra frames are previews, depth or gain maps of the same photo, not animation.
        animated = fmt != "MPO" and bool(getattr(image, "is_animated", False))
        image.load()  # decoding everything also proves an untouched file is not truncated
    untouched = target == size and orientation == 1 and not animated
    if original is not None and untouched and _sendable_as_is(image, fmt, original):
        return _prepared(slot, _Encoded(original, _MIME[fmt], size, []), size, fmt)
    over_budget = original is not None and untouched and fmt in _MIME and not _fits(len(original), _MIME[fmt])
    notes = [_first_frame_note(fmt)] if animated else []
    lossless = fmt in _LOSSLESS_FORMATS
    encoded = _reencode(image, size, target, orientation, lossless, over_budget, owned=original is not None)
    return _prepared(slot, encoded._replace(notes=notes + encoded.notes), size, fmt)


def _header_size(image: Image.Image, slot: int) -> tuple[int, tuple[int, int]]:
    """The EXIF orientation (1-8) and the upright size, from the header; refuses bombs before reading EXIF."""
    width, height = image.size
    if width * height > MAX_MEGAPIXELS * 1_000_000:
        raise errors.ImageTooLargeError(slot=slot, width=width, height=height, limit=MAX_MEGAPIXELS)
    orientation = _orientation(image, slot, header_only=True)
    return orientation, _turned(image.size, orientation)


def _orientation(image: Image.Image, slot: int, *, header_only: bool) -> int:
    """The EXIF orientation, 1 when absent or invalid.

    A PNG may store EXIF after its pixels, which Pillow finds only by decoding them all;
    `header_only` skips that search.
    """
    if header_only and image.format == "PNG" and "exif" not in image.info:
        return 1
    with _decoding(slot):
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _turned(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """`size` as stored, once turned upright per `orientation`."""
    return size[::-1] if orientation in _SWAPPING_ORIENTATIONS else size


def _decode_cost(image: Image.Image, target: tuple[int, int]) -> int:
    """The bytes that preparing `image` for `target` holds at its peak, from its header (after any draft).

    The decoded copies, plus the image at the size sent, which is made while the last of them lives.
    """
    copies = _WEBP_COPIES if image.format == "WEBP" else _COPIES
    return (image.width * image.height * copies + target[0] * target[1]) * _PIXEL_BYTES


def _fitted_size(slot: int, width: int, height: int) -> tuple[int, int]:
    """The size to send: the same; or scaled up so the shorter side is INPUT_SIDE_MIN; or down so the longer
    side is INPUT_SIDE_MAX. Refused below INPUT_SIDE_FLOOR, and when both sides cannot fit the range."""
    if min(width, height) < INPUT_SIDE_FLOOR:
        raise errors.ImageTooSmallError(
            slot=slot, width=width, height=height, minimum=INPUT_SIDE_FLOOR, recommended=INPUT_SIDE_MIN
        )
    if min(width, height) < INPUT_SIDE_MIN:
        scale = INPUT_SIDE_MIN / min(width, height)
    elif max(width, height) > INPUT_SIDE_MAX:
        scale = INPUT_SIDE_MAX / max(width, height)
    else:
        return width, height
    fitted = (round(width * scale), round(height * scale))
    if min(fitted) < INPUT_SIDE_MIN or max(fitted) > INPUT_SIDE_MAX:
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
    """Let the JPEG decoder skip detail the downscale would drop (no-op for other formats).

    Pillow implements `draft` for JPEG (and MPO) only; its WebP plugin decodes through libwebp's
    animation decoder, which has no scaled output, and PNG has no reduced decode at all.
    """
    image.draft(image.mode, _turned(target, orientation))


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
    *,
    owned: bool,
) -> _Encoded:
    """Convert, downscale, turn upright and encode `image` (declared upright `size`) to send at `target` size.

    `over_budget` says the original bytes were re-encoded only because they were too big. `owned` says
    `image` may be freed once a step has replaced it (not so for an image the caller gave). The turn is
    made last, on the small image.
    """
    source_mode = image.mode
    icc = image.info.get("icc_profile")
    exif_bytes = len(image.info.get("exif") or b"")
    notes = ["rotated per EXIF orientation"] if orientation != 1 else []
    pixels = _Pixels(image, owned=owned)
    note = _to_sendable_mode(pixels)
    notes += [note] if note else []
    stored_target = _turned(target, orientation)
    if target != size:
        if pixels.image.size != stored_target:
            _resize_pixels(pixels, stored_target)
        if target[0] > size[0]:
            notes.append(
                f"upscaled from {size[0]}x{size[1]} to {target[0]}x{target[1]}: the models work best from "
                f"{INPUT_SIDE_MIN} px a side, and a small image gives them little detail"
            )
        else:
            notes.append(f"downscaled from {size[0]}x{size[1]} to {target[0]}x{target[1]}")
    if orientation != 1:
        pixels.replace(pixels.image.transpose(_TRANSPOSES[orientation]))
    keep_icc = icc if _profile_still_valid(source_mode, pixels.image.mode) else None
    encoded = _encode(pixels.image, lossless, keep_icc, over_budget)
    pixels.close()
    if exif_bytes:
        encoded.notes.append(f"removed EXIF metadata ({_kilobytes(exif_bytes)})")
    return encoded._replace(notes=notes + encoded.notes)


def _resize_pixels(pixels: _Pixels, size: tuple[int, int]) -> None:
    """Resample the image to `size` (down, or up for a small image); alpha is resampled premultiplied.

    Pillow's resize of RGBA premultiplies a full-size copy while the straight one lives on (and then
    skips `reducing_gap`); premultiplied here as a step of its own, the straight copy is freed first.
    """
    if pixels.image.mode != "RGBA":
        pixels.replace(_resample(pixels.image, size))
        return
    pixels.replace(pixels.image.convert("RGBa"))
    pixels.replace(_resample(pixels.image, size))
    pixels.replace(pixels.image.convert("RGBA"))


class _Pixels:
    """The image a preparation is working on: each step's output replaces it, and frees it if it is ours.

    Pillow frees an image's pixels on `close()` whoever still refers to it, so a step's input is gone as
    soon as its output exists: at most two full-size copies live at once.
    """

    def __init__(self, image: Image.Image, *, owned: bool) -> None:
        self.image = image
        self._owned = owned

    def replace(self, result: Image.Image) -> None:
        """Work on `result` from now on, freeing the previous image unless the caller gave it."""
        if result is self.image:
            return
        if self._owned:
            self.image.close()
        self.image, self._owned = result, True

    def close(self) -> None:
        """Free the current image, unless the caller gave it."""
        if self._owned:
            self.image.close()


def _resample(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` Lanczos-resampled to `size` (an upscale is always one call: its source is small).

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


def _to_sendable_mode(pixels: _Pixels) -> str | None:
    """Make the image L, RGB or RGBA (alpha kept when any pixel uses it); a note if its mode changed."""
    mode = pixels.image.mode
    name = _MODE_NAMES.get(mode, mode)
    if mode.startswith("I") or mode == "F":
        _to_8_bit(pixels)
        return f"converted {name} to 8-bit grayscale"
    if mode == "1":
        pixels.replace(pixels.image.convert("L"))
        return f"converted {name} to grayscale"
    if mode not in _AS_IS_MODES or "transparency" in pixels.image.info:
        has_alpha = "A" in pixels.image.getbands() or "transparency" in pixels.image.info
        pixels.replace(pixels.image.convert("RGBA" if has_alpha else "RGB"))
    if pixels.image.mode == "RGBA" and pixels.image.getchannel("A").getextrema() == (255, 255):
        # An alpha nobody sees would force PNG, which is slower and larger than JPEG for photos.
        pixels.replace(pixels.image.convert("RGB"))
        return f"converted {name} to RGB (its transparency was unused)"
    return None if pixels.image.mode == mode else f"converted {name} to {pixels.image.mode}"


def _to_8_bit(pixels: _Pixels) -> None:
    """Scale deep grayscale to 8 bits: by the 16-bit range when it holds, else by its own range.

    A plain `convert("L")` clips every value above 255 to white.
    """
    if pixels.image.mode.startswith("I;16"):
        pixels.replace(pixels.image.convert("I"))
    low, high = pixels.image.getextrema()
    if pixels.image.mode == "I" and low >= 0 and high <= 65535:
        low, high = 0, 65535
    scale = 255 / (high - low) if high > low else 0
    pixels.replace(pixels.image.point(lambda value: value * scale - low * scale))
    pixels.replace(pixels.image.convert("L"))


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
        data = _save(_resample(image, size), fmt, quality, icc)
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
