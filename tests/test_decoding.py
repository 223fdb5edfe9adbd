"""Decoding inputs is bounded: refusals come before any pixel is decoded, big decodes take turns, JPEGs shrink."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageFile

from core import errors, images
from core.images import prepare_image
from core.settings import Settings

DEADLINE = 30  # seconds; only reached when the behaviour under test is broken
MIB = 1024 * 1024


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def limits() -> Iterator[Callable[..., None]]:
    """Set this process's input limits from Settings fields for one test; the defaults come back after it."""
    yield lambda **fields: images.configure(Settings(**fields))
    images.configure(Settings())


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """Every pixel decode of a file from now on, as (format, size decoded at)."""
    seen: list[tuple[str, tuple[int, int]]] = []
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile):
        if self.tile:  # pixels still to decode (later calls only return the loaded image)
            seen.append((self.format, self.size))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


# --- the decode budget --------------------------------------------------------------------------


def test_with_a_small_budget_two_large_images_are_never_decoded_at_once(limits, budget_waits, monkeypatch):
    limits(decode_budget_mb=1)  # each image below costs far more: each must be decoded alone
    lock = threading.Lock()
    decoding, most, first = 0, 0, True
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile):
        nonlocal decoding, most, first
        if not self.tile:
            return original(self)
        with lock:
            decoding += 1
            most = max(most, decoding)
            leading, first = first, False
        try:
            if leading:  # the other preparation is provably at the budget's door while this one decodes
                assert budget_waits.get(timeout=DEADLINE).startswith("prepare")
            return original(self)
        finally:
            with lock:
                decoding -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    files = [encode(Image.new("RGB", (2000, 2000), colour), "PNG") for colour in ((200, 0, 0), (0, 0, 200))]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare") as pool:
        prepared = list(pool.map(prepare_image, files, [1, 2]))

    assert most == 1
    assert [(image.slot, image.width, image.height) for image in prepared] == [(1, 2000, 2000), (2, 2000, 2000)]


def test_an_image_costing_more_than_the_whole_budget_is_still_prepared(limits):
    limits(decode_budget_mb=1)

    prepared = prepare_image(encode(Image.new("RGB", (4000, 3000), (40, 90, 160)), "PNG"), 1)

    assert (prepared.width, prepared.height) == (3072, 2304)


# --- refused before decoding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [((20000, 100), errors.ImageTooSmallError), ((8000, 400), errors.ImageAspectRatioError)],
    ids=["too small", "too long and narrow"],
)
def test_a_png_refused_for_its_sides_is_refused_without_a_pixel_decoded(decodes, size, expected):
    data = encode(Image.new("L", size), "PNG")

    with pytest.raises(expected):
        prepare_image(data, 1)

    assert decodes == []


def test_a_file_over_the_upload_cap_is_refused_from_its_size_on_disk(limits, tmp_path, decodes):
    limits(max_upload_mb=1)
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.write(encode(Image.new("RGB", (500, 500)), "PNG"))
        file.truncate(8 * 1024 * MIB)  # 8 GB, sparse: reading it would take minutes

    with pytest.raises(errors.ImageUnreadableError) as caught:
        prepare_image(path, 2)

    assert caught.value.message("en").startswith("Image 2 cannot be read (the file is larger than the 1 MB upload")
    assert "1 MB 的上传上限" in caught.value.message("zh")
    assert decodes == []


def test_bytes_over_the_upload_cap_are_refused_before_decoding(limits, decodes):
    limits(max_upload_mb=1)
    data = encode(Image.new("RGB", (500, 500)), "PNG") + b"\0" * MIB

    with pytest.raises(errors.ImageUnreadableError, match="larger than the 1 MB upload limit"):
        prepare_image(data, 1)

    assert decodes == []


def test_a_device_that_never_ends_is_read_no_further_than_the_cap(limits):
    limits(max_upload_mb=1)

    with pytest.raises(errors.ImageUnreadableError, match="larger than the 1 MB upload limit"):
        prepare_image("/dev/zero", 1)


def test_a_file_at_the_upload_cap_is_still_read(limits, tmp_path):
    limits(max_upload_mb=1)
    photo = encode(Image.new("RGB", (500, 500), (40, 90, 160)), "JPEG")
    path = tmp_path / "padded.jpg"
    path.write_bytes(photo + b"\0" * (MIB - len(photo)))  # bytes after the end of a JPEG are ignored

    assert prepare_image(path, 1).width == 500


# --- less decoded, fewer copies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "orientation", "decoded_at"),
    [
        ((8000, 6000), 1, (4000, 3000)),
        ((8000, 6000), 6, (4000, 3000)),  # sent 2304x3072: the draft is asked for in the stored orientation
        ((16000, 4000), 1, (4000, 1000)),
        ((6000, 6000), 1, (6000, 6000)),  # half would be 3000 px, under the 3072 sent: decoded whole
    ],
)
def test_a_large_jpeg_is_decoded_at_the_smallest_scale_that_covers_the_size_sent(
    decodes, stored, orientation, decoded_at
):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.new("RGB", stored, (40, 90, 160)), "JPEG", exif=exif)

    prepared = prepare_image(data, 1)

    assert decodes == [("JPEG", decoded_at)]
    assert max(prepared.width, prepared.height) == 3072


def test_a_pil_image_given_is_left_as_it_was():
    given = Image.new("RGBA", (4000, 3000), (40, 90, 160, 255))

    prepared = prepare_image(given, 1)

    assert (prepared.width, prepared.height, prepared.mime) == (3072, 2304, "image/jpeg")
    assert given.getpixel((10, 10)) == (40, 90, 160, 255)  # not closed, not converted in place


def test_a_turned_transparent_png_is_downscaled_then_turned_with_its_alpha():
    stored = Image.new("RGBA", (4000, 3000), (0, 0, 255, 0))
    stored.paste((255, 0, 0, 255), (0, 0, 400, 400))  # top-left as stored: top-right once turned upright
    exif = Image.Exif()
    exif[0x0112] = 6

    prepared = prepare_image(encode(stored, "PNG", exif=exif), 1)

    sent = Image.open(io.BytesIO(prepared.data))
    assert (prepared.mime, sent.mode, sent.size) == ("image/png", "RGBA", (2304, 3072))
    assert sent.getpixel((2300, 5)) == (255, 0, 0, 255) and sent.getpixel((5, 5))[3] == 0
    assert prepared.notes[:2] == ("rotated per EXIF orientation", "downscaled from 3000x4000 to 2304x3072")
