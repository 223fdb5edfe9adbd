"""Size presets and the preview of "auto": always inside the bounds, and what the service really returns."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import catalog, sizes
from core.request import EditRequest


@pytest.mark.parametrize("name", list(sizes.ASPECT_PRESETS))
def test_each_preset_is_about_one_megapixel_in_bounds_with_its_aspect(name):
    size = sizes.preset_size(name)
    w_ratio, h_ratio = sizes.ASPECT_PRESETS[name]
    assert size.width % 16 == 0 and size.height % 16 == 0
    assert min(size.width, size.height) >= catalog.SIZE_MIN and max(size.width, size.height) <= catalog.SIZE_MAX
    assert abs(size.width / size.height - w_ratio / h_ratio) < 0.02
    assert 0.9 < size.width * size.height / catalog.DEFAULT_PIXELS < 1.1


@given(st.integers(384, 3072), st.integers(384, 3072))
def test_auto_size_is_always_inside_the_bounds(width, height):
    size = sizes.auto_size(width, height)
    assert catalog.SIZE_MIN <= size.width <= catalog.SIZE_MAX and catalog.SIZE_MIN <= size.height <= catalog.SIZE_MAX
    assert size.width % 16 == 0 and size.height % 16 == 0


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (768, 1024), (3000, 400), (500, 500), (1920, 1080)])
def test_the_auto_preview_is_the_size_the_service_returns(studio, make_image, width, height):
    result = studio.edit(EditRequest.create([make_image(width, height)], "x", seed=1))
    expected = sizes.auto_size(width, height)
    assert (result.images[0].width, result.images[0].height) == (expected.width, expected.height)
