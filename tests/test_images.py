"""Input images: what is sent for good files, and the exact refusal, naming the slot, for bad ones."""

import base64
import io
import random
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from core import errors
from core.catalog import INPUT_MAX_BYTES
from core.images import PreparedImage, prepare_image, read_dimensions

RED, BLUE = (255, 0, 0), (0, 0, 255)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gradient(width: int, height: int) -> Image.Image:
    """An RGB image dark at the left, bright at the right: easy to see if it was clipped or flipped."""
    ramp = Image.linear_gradient("L").rotate(90).resize((width, height))
    return Image.merge("RGB", (ramp, ramp, Image.new("L", (width, height), 128)))


def noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Incompressible pixels, the same on every run."""
    size = width * height * len(mode)
    return Image.frombytes(mode, (width, height), random.Random(0).randbytes(size))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares `width`x`height` but which holds no pixel data at all."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def with_orientation(image: Image.Image, orientation: int, **options) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif, **options)


def animation(fmt: str) -> bytes:
    red, blue = Image.new("RGB", (400, 400), RED), Image.new("RGB", (400, 400), BLUE)
    return encode(red, fmt, save_all=True, append_images=[blue], duration=100)


def sent(prepared: PreparedImage) -> Image.Image:
    """The image exactly as DashScope will decode it."""
    header, payload = prepared.data_uri.split(",", 1)
    assert header == f"data:{prepared.mime};base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image


def prepare_file(tmp_path: Path, name: str, data: bytes, slot: int = 1) -> PreparedImage:
    path = tmp_path / name
    path.write_bytes(data)
    return prepare_image(path, slot)


# --- bad input: refused with the exact error, naming the slot, in both languages --------------------

BAD_INPUTS: list[tuple[str, str, Callable[[], bytes], type[errors.ImageError], str]] = [
    ("zero-byte file", "empty.png", lambda: b"", errors.ImageUnreadableError, "the file is empty"),
    (
        "truncated PNG",
        "cut.png",
        lambda: (data := encode(noise(600, 400), "PNG"))[: len(data) // 2],
        errors.ImageUnreadableError,
        "truncated or corrupt",
    ),
    (
        "truncated JPEG",
        "cut.jpg",
        lambda: (data := encode(noise(600, 400), "JPEG"))[: len(data) // 2],
        errors.ImageUnreadableError,
        "truncated or corrupt",
    ),
    (
        "PNG cut inside its header",
        "header.png",
        lambda: encode(gradient(600, 400), "PNG")[:20],
        errors.ImageUnreadableError,
        "truncated or corrupt",
    ),
    (
        "text renamed .png",
        "notes.png",
        lambda: b"Shopping list: eggs, milk, a better picture.\n" * 20,
        errors.ImageUnreadableError,
        "not an image file",
    ),
    (
        "SVG drawing",
        "logo.svg",
        lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="500" height="500"/>',
        errors.ImageUnreadableError,
        "SVG drawings are not supported",
    ),
    (
        "garbage named .heic",
        "photo.heic",
        lambda: b"\x00\x01garbage, not a photo\xff" * 40,
        errors.ImageUnreadableError,
        "not an image file",
    ),
    (
        "HEIC photo",
        "IMG_0001.HEIC",
        lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200,
        errors.ImageUnreadableError,
        "HEIC/HEIF photos are not supported",
    ),
    ("ICO icon", "icon.png", lambda: encode(gradient(64, 64), "ICO"), errors.ImageFormatError, "in ICO format"),
    ("PPM image", "frame.jpg", lambda: encode(gradient(500, 500), "PPM"), errors.ImageFormatError, "in PPM format"),
    (
        "PNG declaring 30000x30000",
        "bomb.png",
        lambda: png_declaring(30000, 30000),
        errors.ImageTooLargeError,
        "30000x30000 pixels, more than the 64 megapixels",
    ),
    (
        "PNG declaring 8200x8200, just over 64 MP",
        "big.png",
        lambda: png_declaring(8200, 8200),
        errors.ImageTooLargeError,
        "8200x8200",
    ),
    (
        "20000x100 strip",
        "strip.png",
        lambda: encode(Image.new("L", (20000, 100)), "PNG"),
        errors.ImageTooSmallError,
        "20000x100",
    ),
    ("1x1 pixel", "dot.png", lambda: encode(Image.new("RGB", (1, 1)), "PNG"), errors.ImageTooSmallError, "1x1"),
    ("127 px wide", "narrow.png", lambda: encode(gradient(127, 500), "PNG"), errors.ImageTooSmallError, "127x500"),
    ("127 px high", "low.png", lambda: encode(gradient(500, 127), "PNG"), errors.ImageTooSmallError, "500x127"),
    (
        "127 px wide once upright per EXIF",
        "turned.jpg",
        lambda: with_orientation(gradient(500, 127), 6),
        errors.ImageTooSmallError,
        "127x500",
    ),
    (
        "10000x600 panorama",
        "panorama.png",
        lambda: encode(Image.new("L", (10000, 600)), "PNG"),
        errors.ImageAspectRatioError,
        "at most 8 times",
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "expected", "fragment"),
    [pytest.param(name, build, error, fragment, id=case) for case, name, build, error, fragment in BAD_INPUTS],
)
def test_bad_input_is_refused_with_its_own_error_naming_the_slot(tmp_path, name, data, expected, fragment):
    with pytest.raises(errors.ImageError) as caught:
        prepare_file(tmp_path, name, data(), slot=2)

    assert type(caught.value) is expected
    assert fragment in caught.value.message("en")
    assert caught.value.message("en").startswith("Image 2 ")
    assert caught.value.message("zh").startswith(("图2 ", "无法读取图2"))  # the slot's own label: 图2


def test_decompression_bomb_is_refused_from_its_header_without_decoding(tmp_path):
    # The file holds no pixels: any attempt to decode it would fail as corrupt, not as too large.
    started = time.perf_counter()
    with pytest.raises(errors.ImageTooLargeError) as caught:
        prepare_image(png_declaring(30000, 30000), 3)

    assert time.perf_counter() - started < 1
    assert caught.value.params == {"slot": 3, "width": 30000, "height": 30000, "limit": 64}


def test_missing_file_is_refused_as_unreadable():
    with pytest.raises(errors.ImageUnreadableError) as caught:
        prepare_image("/nonexistent/photo.png", 1)

    assert "could not be opened" in caught.value.message("en")


# --- good input: what is sent -------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_jpeg_or_png_in_range_is_sent_as_its_original_bytes(tmp_path, fmt, mime):
    original = encode(gradient(1200, 800), fmt)

    prepared = prepare_file(tmp_path, "photo", original)

    assert prepared.data == original
    assert (prepared.mime, prepared.source_format, prepared.notes) == (mime, fmt, ())
    assert (prepared.width, prepared.height) == (prepared.original_width, prepared.original_height) == (1200, 800)
    assert prepared.data_uri == f"data:{mime};base64," + base64.b64encode(original).decode()
    assert len(prepared.sha256) == 64


def test_image_of_exactly_384_px_is_accepted(tmp_path):
    prepared = prepare_file(tmp_path, "small.png", encode(gradient(384, 384), "PNG"))

    assert (prepared.width, prepared.height) == (384, 384)


def test_file_extension_is_ignored_in_favour_of_the_contents(tmp_path):
    prepared = prepare_file(tmp_path, "really-a-jpeg.png", encode(gradient(500, 500), "JPEG"))

    assert (prepared.mime, prepared.source_format) == ("image/jpeg", "JPEG")


def test_raw_bytes_are_prepared_like_a_file(tmp_path):
    data = encode(gradient(500, 500), "PNG")

    assert prepare_image(data, 1) == prepare_file(tmp_path, "same.png", data)


def test_pil_image_is_encoded_since_it_has_no_file():
    prepared = prepare_image(gradient(640, 480), 2)

    assert (prepared.slot, prepared.mime, prepared.source_format) == (2, "image/jpeg", "")
    assert prepared.notes == ("re-encoded as JPEG (quality 95)",)
    assert sent(prepared).size == (640, 480)


def test_8000x6000_jpeg_is_downscaled_to_3072x2304(tmp_path):
    prepared = prepare_file(tmp_path, "camera.jpg", encode(Image.new("RGB", (8000, 6000), (40, 90, 160)), "JPEG"))

    assert (prepared.width, prepared.height) == sent(prepared).size == (3072, 2304)
    assert (prepared.original_width, prepared.original_height) == (8000, 6000)
    assert "downscaled from 8000x6000 to 3072x2304" in prepared.notes
    assert prepared.mime == "image/jpeg"


def test_exif_orientation_6_is_applied_so_width_and_height_swap(tmp_path):
    stored = gradient(600, 400)
    stored.paste(RED, (0, 0, 60, 60))  # top-left as stored; top-right once turned upright

    prepared = prepare_file(tmp_path, "phone.jpg", with_orientation(stored, 6))

    upright = sent(prepared)
    assert (prepared.width, prepared.height) == (prepared.original_width, prepared.original_height) == (400, 600)
    assert upright.size == (400, 600)
    assert upright.getpixel((370, 30))[0] > 200 > upright.getpixel((30, 30))[0]
    assert "rotated per EXIF orientation" in prepared.notes
    assert "exif" not in upright.info


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    prepared = prepare_file(tmp_path, "print.jpg", encode(gradient(600, 400).convert("CMYK"), "JPEG"))

    assert sent(prepared).mode == "RGB"
    assert prepared.mime == "image/jpeg"
    assert "converted CMYK to RGB" in prepared.notes


def test_16_bit_png_is_scaled_to_8_bits_keeping_its_gradient(tmp_path):
    ramp = Image.linear_gradient("L").rotate(90).resize((512, 512)).convert("I").point(lambda v: v * 257)
    deep = encode(ramp.convert("I;16"), "PNG")

    prepared = prepare_file(tmp_path, "scan.png", deep)

    image = sent(prepared)
    assert image.mode == "L"
    assert image.getpixel((5, 256)) < 20 and image.getpixel((506, 256)) > 235  # not clipped to white
    assert "converted 16-bit grayscale to 8-bit grayscale" in prepared.notes


def test_palette_png_with_transparency_keeps_its_alpha(tmp_path):
    palette = Image.new("P", (500, 500), 1)
    palette.putpalette([0, 0, 0, *RED])
    palette.paste(0, (0, 0, 250, 500))

    prepared = prepare_file(tmp_path, "sticker.png", encode(palette, "PNG", transparency=0))

    image = sent(prepared)
    assert (prepared.mime, image.mode) == ("image/png", "RGBA")
    assert image.getpixel((10, 10))[3] == 0 and image.getpixel((400, 10)) == (*RED, 255)
    assert "converted palette to RGBA" in prepared.notes


@pytest.mark.parametrize(
    ("mode", "sent_mode", "note"),
    [
        ("1", "L", "converted 1-bit black and white to grayscale"),
        ("LA", "RGBA", "converted grayscale with alpha to RGBA"),
        ("P", "RGB", "converted palette to RGB"),
    ],
)
def test_other_modes_are_sent_as_grayscale_rgb_or_rgba(tmp_path, mode, sent_mode, note):
    image = gradient(500, 500).convert(mode)
    if mode == "LA":
        image.putalpha(Image.linear_gradient("L").resize((500, 500)))

    prepared = prepare_file(tmp_path, "mode.png", encode(image, "PNG"))

    assert sent(prepared).mode == sent_mode
    assert note in prepared.notes


def test_alpha_that_no_pixel_uses_is_dropped_so_jpeg_can_be_sent():
    prepared = prepare_image(gradient(500, 500).convert("RGBA"), 1)

    assert prepared.mime == "image/jpeg"
    assert "converted RGBA to RGB (its transparency was unused)" in prepared.notes


@pytest.mark.parametrize(
    ("fmt", "note"),
    [
        ("GIF", "first frame of an animated GIF"),
        ("WEBP", "first frame of an animated WEBP"),
        ("PNG", "first frame of an animated PNG"),
        ("TIFF", "first page of a multi-page TIFF"),
    ],
)
def test_animation_sends_its_first_frame_only(tmp_path, fmt, note):
    prepared = prepare_file(tmp_path, "moving", animation(fmt))

    red, _, blue = sent(prepared).convert("RGB").getpixel((200, 200))
    assert red > 240 and blue < 15
    assert note in prepared.notes


def test_png_over_10_mb_is_re_encoded_as_jpeg_to_fit(tmp_path):
    original = encode(noise(2000, 2000), "PNG", compress_level=0)
    assert len(original) > 12 * 10**6

    prepared = prepare_file(tmp_path, "noise.png", original)

    assert len(prepared.data_uri) < INPUT_MAX_BYTES
    assert (prepared.mime, prepared.width, prepared.height) == ("image/jpeg", 2000, 2000)
    assert "re-encoded as JPEG (quality 95) to stay under 10 MB" in prepared.notes


def test_image_with_alpha_over_10_mb_is_downscaled_keeping_its_alpha(tmp_path):
    original = encode(noise(1600, 1600, "RGBA"), "PNG", compress_level=0)

    prepared = prepare_file(tmp_path, "cutout.png", original)

    image = sent(prepared)
    assert len(prepared.data_uri) < INPUT_MAX_BYTES
    assert (prepared.mime, image.mode) == ("image/png", "RGBA")
    assert 384 <= prepared.width < 1600 and prepared.width == prepared.height
    assert f"downscaled to {prepared.width}x{prepared.height} to stay under 10 MB" in prepared.notes


def test_huge_exif_block_is_not_sent(tmp_path):
    exif = Image.Exif()
    exif[0x010E] = "x" * 3_000_000  # ImageDescription
    original = encode(gradient(600, 400), "PNG", exif=exif)

    prepared = prepare_file(tmp_path, "tagged.png", original)

    assert len(prepared.data) < 100_000
    assert "exif" not in sent(prepared).info
    assert "removed EXIF metadata (2930 KB)" in prepared.notes


def test_colour_profile_survives_re_encoding(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    prepared = prepare_file(tmp_path, "p3.jpg", with_orientation(gradient(600, 400), 6, icc_profile=profile))

    assert sent(prepared).info.get("icc_profile") == profile


@pytest.mark.parametrize(("fmt", "mime"), [("BMP", "image/png"), ("TIFF", "image/png"), ("WEBP", "image/jpeg")])
def test_bmp_tiff_and_webp_are_re_encoded_lossless_ones_as_png(tmp_path, fmt, mime):
    prepared = prepare_file(tmp_path, "picture", encode(gradient(600, 400), fmt))

    assert (prepared.mime, prepared.source_format) == (mime, fmt)
    assert sent(prepared).size == (600, 400)


# --- dimensions for the auto-size preview -------------------------------------------------------


def test_dimensions_are_read_upright_from_the_header(tmp_path):
    path = tmp_path / "phone.jpg"
    path.write_bytes(with_orientation(gradient(600, 400), 6))

    assert read_dimensions(path) == (400, 600)
    assert read_dimensions(gradient(640, 480)) == (640, 480)


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", png_declaring(30000, 30000)],
    ids=["empty", "text", "decompression bomb"],
)
def test_dimensions_of_an_unusable_file_are_none(data):
    assert read_dimensions(data) is None
