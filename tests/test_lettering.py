"""Text rendered as a reference image (core/lettering.py): Chinese in Noto CJK with real glyphs (not "tofu"
boxes), a font lacking the characters refused naming them, a missing font refused naming its package."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from core import errors, lettering
from core.images import INPUT_SIDE_MAX, INPUT_SIDE_MIN
from core.lettering import Font, find_font, get_font, render_text

TEXT = "营业中"


def ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L")) < 128


def components(image: Image.Image) -> int:
    """Separate pieces of ink (8-connected): a hollow tofu box is one; a Chinese character is several strokes."""
    count, _labels = cv2.connectedComponents(ink(image).astype(np.uint8), connectivity=8)
    return count - 1


def glyph(char: str, font: Font) -> Image.Image:
    where = find_font(font)
    face = lettering.ImageFont.truetype(where.path, lettering.SIZE, index=where.index)
    image = Image.new("L", (lettering.SIZE * 2, lettering.SIZE * 2), 255)
    lettering.ImageDraw.Draw(image).text((20, 20), char, font=face, fill=0)
    return image


@pytest.fixture(name="noto")
def fixture_noto() -> Font:
    font = get_font("noto-sans")
    try:
        find_font(font)
    except errors.FontMissingError:
        pytest.fail("fonts-noto-cjk is not installed: .ci/run and the README's setup install it")
    return font


def test_chinese_text_renders_black_on_white_with_real_glyphs(noto: Font):
    image = render_text(TEXT, noto.id)
    pixels = np.asarray(image)
    assert image.mode == "RGB" and set(np.unique(pixels)) >= {0, 255}
    assert (pixels[0] == 255).all() and (pixels[-1] == 255).all()  # a clean white margin round the text
    # 营 业 中 are drawn with many separate strokes, more than one piece of ink per character; each character
    # is its own shape (three tofu boxes would be three identical single pieces).
    assert components(image) > 2 * len(TEXT)
    shapes = [ink(glyph(char, noto)) for char in TEXT]
    assert all((a != b).any() for a, b in ((shapes[0], shapes[1]), (shapes[1], shapes[2]), (shapes[0], shapes[2])))


def test_a_font_without_cjk_draws_tofu_and_is_refused_naming_the_characters(noto: Font):
    dejavu = get_font("dejavu-sans")
    boxes = [ink(glyph(char, dejavu)) for char in TEXT]
    assert (boxes[0] == boxes[1]).all() and (boxes[1] == boxes[2]).all()  # the same box for each: tofu
    assert not (ink(glyph(TEXT[0], noto)) == boxes[0]).all()
    with pytest.raises(errors.GlyphsMissingError) as caught:
        render_text("OPEN 营业中", dejavu.id)
    assert "营 业 中" in caught.value.message("en") and "Noto Sans CJK" in caught.value.message("en")
    assert "没有 营 业 中 的字形" in caught.value.message("zh")
    assert render_text("OPEN", dejavu.id).size[0] > 0  # Latin it has


def test_a_missing_font_is_refused_naming_its_package():
    absent = Font(
        "nope", "Nope Sans", "无此字体", "Nope Sans Zz", "Nope Sans Zz", ("/nonexistent/Nope.ttf",), "fonts-nope"
    )
    with pytest.raises(errors.FontMissingError) as caught:
        find_font(absent)
    assert "Nope Sans" in caught.value.message("en") and "apt-get install fonts-nope" in caught.value.message("en")
    assert "无此字体" in caught.value.message("zh")
    with pytest.raises(errors.FontMissingError):
        get_font("comic")


def test_a_long_text_is_wrapped_into_a_shape_every_model_takes(noto: Font):
    long = render_text("CLOSED FOR THE WINTER HOLIDAYS, SEE YOU IN MARCH " * 2, noto.id)
    chinese = render_text("冬季休息期间暂停营业三月再见" * 3, noto.id)
    for image in (long, chinese):
        width, height = image.size
        assert max(width, height) <= lettering.MAX_ASPECT * min(width, height)
        assert max(width, height) / min(width, height) <= INPUT_SIDE_MAX / INPUT_SIDE_MIN


def test_the_longest_text_a_form_takes_renders_within_the_input_limits(noto: Font):
    """200 characters (a recipe field's most; line breaks are spaces) stay a few megapixels, never a huge canvas."""
    image = render_text("\n".join(["营业"] * 66) + "中中", noto.id)
    assert image.width * image.height < 8_000_000
    with pytest.raises(ValueError, match="1 to 200 characters"):
        render_text("x" * 201, noto.id)
