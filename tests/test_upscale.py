"""Inputs with a side from 128 to 383 px are upscaled (Lanczos, aspect kept) so the short side is 384, the
models' recommended minimum, with a note to the user; smaller ones are refused, saying the minimum."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops
from queue_calls import call, fn_index, page_values, upload
from test_app import edit
from test_app import served as served  # the app fixture, used by name

from core import errors
from core.images import prepare_image
from core.request import EditRequest


def _photo(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Detail everywhere, so a resample of the wrong kind (or a crop) shows."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 60)
    bands = {"RGB": (gradient, noise, gradient), "RGBA": (gradient, noise, gradient, gradient)}[mode]
    return Image.merge(mode, bands)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_200x300_input_is_sent_at_384x576_and_the_simulator_accepts_it(studio, sim):
    request = EditRequest.create([_png(_photo(200, 300))], "make it blue", seed=1)
    (image,) = request.images
    result = studio.edit(request)

    assert (image.width, image.height) == (384, 576)
    assert image.notes[0].startswith("upscaled from 200x300 to 384x576")
    assert len(result.images) == 1  # the simulator, which refuses sides under 384 as the guide's range, took it
    assert sim.stats.generation_calls == 1


@pytest.mark.parametrize(
    ("given", "sent"),
    [((383, 500), (384, 501)), ((500, 383), (501, 384)), ((128, 128), (384, 384)), ((128, 1024), (384, 3072))],
)
def test_the_short_side_becomes_384_and_the_aspect_is_kept(given, sent):
    prepared = prepare_image(_png(_photo(*given)), 1)
    assert (prepared.width, prepared.height) == sent and prepared.upscaled


def test_the_upscale_is_a_lanczos_resample_of_the_whole_image():
    source = _photo(256, 192)
    prepared = prepare_image(_png(source), 1)

    with Image.open(io.BytesIO(prepared.data)) as sent:
        assert sent.format == "PNG"  # lossless in, lossless out
        expected = source.resize((512, 384), Image.Resampling.LANCZOS)
        assert ImageChops.difference(sent.convert("RGB"), expected).getbbox() is None


def test_a_small_transparent_input_keeps_its_alpha_when_upscaled():
    prepared = prepare_image(_png(_photo(200, 200, "RGBA")), 1)
    with Image.open(io.BytesIO(prepared.data)) as sent:
        assert sent.mode == "RGBA" and sent.size == (384, 384)


def test_a_small_photo_turned_by_exif_is_upscaled_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 300x200, shown 200x300
    buffer = io.BytesIO()
    _photo(300, 200).save(buffer, "JPEG", exif=exif)
    prepared = prepare_image(buffer.getvalue(), 2)

    assert (prepared.original_width, prepared.original_height) == (200, 300)
    assert (prepared.width, prepared.height) == (384, 576)


@pytest.mark.parametrize("size", [(127, 500), (500, 127), (64, 64), (1, 1)])
def test_an_input_below_the_minimum_is_refused_with_a_message_saying_the_minimum(size):
    with pytest.raises(errors.ImageTooSmallError) as caught:
        prepare_image(_png(_photo(*size)), 3)

    assert "Image 3" in caught.value.message("en") and "at least 128 pixels" in caught.value.message("en")
    assert "upscaled to 384" in caught.value.message("en")
    assert "至少需要 128 像素" in caught.value.message("zh")


def test_a_small_input_too_long_to_fit_once_upscaled_is_refused_as_too_narrow():
    with pytest.raises(errors.ImageAspectRatioError) as caught:
        prepare_image(_png(_photo(150, 1500)), 1)  # 384 px wide would make it 3840 px long
    assert "at most 8 times" in caught.value.message("en")


def test_the_edit_api_record_notes_the_upscale(served, tmp_path):
    client, _studio, _sim = served
    path = tmp_path / "small.png"
    path.write_bytes(_png(_photo(300, 200)))
    _images, record = edit(client, [str(path)], prompt="add a hat", seed=2)

    (given,) = record["inputs"]
    assert (given["width"], given["height"]) == (576, 384)
    assert given["notes"][0].startswith("upscaled from 300x200 to 576x384")


def test_the_page_says_so_when_a_dropped_image_will_be_sent_upscaled(served, tmp_path):
    client, _studio, _sim = served
    path = tmp_path / "small.png"
    path.write_bytes(_png(_photo(300, 200)))
    url = client.src
    check = fn_index(url, "slot-1", "upload")
    notices: list[str] = []
    answer = call(url, check, page_values(url, check, {"slot-1": upload(url, str(path))}, {}), notices=notices)

    assert answer["success"]
    assert notices == [
        "Image 1 is 300x200: it will be sent upscaled to 576x384, as the models work best from 384 px a side. "
        "A larger original gives them more detail."
    ]
