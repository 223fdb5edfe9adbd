"""Size presets and the preview of "auto": always inside the bounds, and what the service really returns."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from core import catalog, sizes
from core.caller import Caller
from core.request import EditRequest
from ui.sizing import size_preview

EDIT = catalog.get_model(catalog.DEFAULT_MODEL).size  # each side in [512, 2048]
SIDE_MIN, SIDE_MAX = EDIT.side_min, EDIT.side_max


@pytest.mark.parametrize("name", list(sizes.ASPECT_PRESETS))
def test_each_preset_is_about_one_megapixel_in_bounds_with_its_aspect(name):
    size = sizes.preset_size(name, EDIT)
    w_ratio, h_ratio = sizes.ASPECT_PRESETS[name]
    assert size.width % 16 == 0 and size.height % 16 == 0
    assert min(size.width, size.height) >= SIDE_MIN and max(size.width, size.height) <= SIDE_MAX
    assert abs(size.width / size.height - w_ratio / h_ratio) < 0.02
    assert 0.9 < size.width * size.height / catalog.DEFAULT_PIXELS < 1.1


@given(st.integers(384, 3072), st.integers(384, 3072))
def test_auto_size_is_always_inside_the_bounds(width, height):
    size = sizes.auto_size(width, height, EDIT)
    assert SIDE_MIN <= size.width <= SIDE_MAX and SIDE_MIN <= size.height <= SIDE_MAX
    assert size.width % 16 == 0 and size.height % 16 == 0


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (768, 1024), (3000, 400), (500, 500), (1920, 1080)])
def test_the_auto_preview_is_the_size_the_service_returns(studio, make_image, width, height):
    result = studio.edit(EditRequest.create([make_image(width, height)], "x", seed=1))
    expected = sizes.auto_size(width, height, EDIT)
    assert (result.images[0].width, result.images[0].height) == (expected.width, expected.height)


MATCH_TABLE = [
    # input (w, h) -> size asked for, aspect error below
    ((1024, 768), (1024, 768), 0.0),
    ((4000, 3000), (2048, 1536), 0.0),
    ((3072, 2304), (2048, 1536), 0.0),
    ((1920, 1080), (1920, 1088), 0.008),
    ((1080, 1920), (1088, 1920), 0.008),
    ((500, 500), (512, 512), 0.0),
    ((384, 1500), (512, 2000), 0.004),
    ((3000, 500), (2048, 512), 0.34),  # 6:1 cannot fit inside [512, 2048]: the nearest it can be, and said so
]


@pytest.mark.parametrize(("source", "expected", "max_error"), MATCH_TABLE)
def test_match_image_keeps_the_inputs_shape_inside_the_bounds(source, expected, max_error):
    size, error = sizes.match_size(*source, EDIT)
    assert (size.width, size.height) == expected
    assert error <= max_error + 1e-9


@given(st.integers(384, 3072), st.integers(384, 3072))
def test_match_size_is_always_inside_the_bounds_with_a_small_error_when_the_aspect_fits(width, height):
    size, error = sizes.match_size(width, height, EDIT)
    assert SIDE_MIN <= size.width <= SIDE_MAX and SIDE_MIN <= size.height <= SIDE_MAX
    assert size.width % 16 == 0 and size.height % 16 == 0
    if max(width, height) / min(width, height) <= 3.5:
        assert error < 0.035


def test_exact_input_size_results_have_the_inputs_pixels_and_keep_the_original(studio, make_image):
    source = make_image(1000, 750)
    matched, _ = sizes.match_size(1000, 750, EDIT)
    request = EditRequest.create([source], "x", n=2, seed=3, size=str(matched), exact_size=sizes.Size(1000, 750))
    result = studio.edit(request, Caller("me"))

    for image in result.images:
        assert (image.width, image.height) == (matched.width, matched.height)  # the untouched original
        with Image.open(image.exact_path) as exact:
            assert exact.size == (1000, 750)
    (edit,) = studio.history.list("me")
    assert edit.exact_size == "1000*750" and all(o.exact_sha256 for o in edit.outputs)


@pytest.mark.parametrize(
    ("model", "width", "height"),
    [
        ("qwen-image-edit-plus", 130, 131),  # upscaled to 384x387 before it is sent
        ("qwen-image-edit-plus", 4000, 4500),  # scaled down to 2731x3072
        ("qwen-image-2.0", 1023, 6001),  # to 524x3072, past 2.0's aspect limit
    ],
)
def test_the_auto_preview_of_an_input_resized_before_sending_is_the_size_returned(
    studio, tmp_path, make_image, model, width, height
):
    path = tmp_path / "input.png"
    path.write_bytes(make_image(width, height))
    preview = size_preview("auto", None, None, [str(path)], model, "en")
    result = studio.edit(EditRequest.create([str(path)], "x", model=model, seed=1))

    (image,) = result.images
    assert f"about {image.width} x {image.height} " in preview


AREA = catalog.get_model("qwen-image-2.0").size  # 512*512 to 2048*2048 pixels, at most 8:1


@pytest.mark.parametrize(("width", "height"), [(1414, 11296), (11296, 1414)])  # 16 MP, sent as 385x3072
def test_match_image_of_a_strip_near_the_aspect_limit_is_a_size_the_model_takes(width, height):
    size, _error = sizes.match_size(width, height, AREA)
    assert AREA.allows(size.width, size.height)
    EditRequest.create([], "x", model="qwen-image-2.0", size=str(size))  # the app takes what it offered


@given(st.integers(384, 2400), st.floats(7.5, 8.0))
def test_match_size_on_an_area_model_is_allowed_for_every_strip_the_app_can_send(short, aspect):
    long = round(short * aspect)
    for width, height in ((long, short), (short, long)):
        size, _error = sizes.match_size(width, height, AREA)
        assert AREA.allows(size.width, size.height) and size.width % 16 == 0 and size.height % 16 == 0
