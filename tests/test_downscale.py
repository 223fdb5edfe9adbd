"""Big inputs are downscaled in two bands on two threads, with the pixels one Lanczos call would give."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image, ImageChops

from core import images
from core.images import prepare_image


def _photo(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Detail everywhere (noise over a gradient), so any seam or shift between the bands would show."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 60)
    gray = Image.blend(gradient, noise, 0.5)
    return gray if mode == "L" else Image.merge("RGB", (gray, noise, gradient))


def _largest_difference(a: Image.Image, b: Image.Image) -> int:
    extrema = ImageChops.difference(a, b).getextrema()
    return max(high for _low, high in extrema) if isinstance(extrema[0], tuple) else extrema[1]


def _one_call(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


@pytest.mark.parametrize(
    ("source", "target", "mode"),
    [
        ((4000, 3000), (3072, 2304), "RGB"),  # a 48 MP camera JPEG after its half-size draft decode
        ((3000, 4000), (2304, 3072), "RGB"),
        ((4001, 2999), (3072, 2303), "RGB"),  # a scale that is not a round number
        ((4000, 3000), (3072, 2304), "L"),
    ],
)
def test_a_big_downscale_in_two_bands_matches_one_lanczos_call_to_a_rounding_step(
    source: tuple[int, int], target: tuple[int, int], mode: str
) -> None:
    image = _photo(*source, mode)
    banded = images._resample(image, target)
    assert (banded.size, banded.mode) == (target, mode)
    assert _largest_difference(banded, _one_call(image, target)) <= 1


def test_the_lower_band_is_resampled_on_another_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    original = Image.Image.resize

    def recording(self: Image.Image, *args: object, **kwargs: object) -> Image.Image:
        threads.add(threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", recording)
    images._resample(_photo(4000, 3000), (3072, 2304))
    assert len(threads) == 2


@pytest.mark.parametrize(
    ("source", "target", "mode"),
    [
        ((1600, 1200), (1024, 768), "RGB"),  # small: a second thread would cost more than it saves
        ((4000, 3000), (3072, 2304), "RGBA"),  # alpha is resampled premultiplied: kept to one call
        ((8000, 6000), (1024, 768), "RGB"),  # Pillow first reduces by whole factors: kept to one call
    ],
)
def test_small_transparent_or_whole_factor_downscales_are_one_call(
    source: tuple[int, int], target: tuple[int, int], mode: str
) -> None:
    image = _photo(*source).convert(mode)
    assert _largest_difference(images._resample(image, target), _one_call(image, target)) == 0


def test_an_oversized_png_is_still_sent_at_3072_pixels_on_its_longer_side() -> None:
    buffer = io.BytesIO()
    _photo(4000, 3000).save(buffer, "PNG", compress_level=1)
    prepared = prepare_image(buffer.getvalue(), 1)
    assert (prepared.width, prepared.height) == (3072, 2304)
    assert "downscaled from 4000x3000 to 3072x2304" in prepared.notes
    with Image.open(io.BytesIO(prepared.data)) as sent:
        assert sent.size == (3072, 2304)
