"""Marks drawn on Image 1 (core/marks.py): drawing them on a copy, the template that tells the model what the two
images are, refusals of broken marks, and an edit that sends the clean original and the marked copy in order
while history keeps Image 1 exactly as uploaded."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from core import catalog, errors, marks
from core.caller import LOCAL_OWNER
from core.marks import Mark
from core.request import EditRequest
from ui.forms import AREA_MARKS, AREA_PAINT, AREA_WHOLE, StudioForm

ARROW = Mark(marks.ARROW, ((0.1, 0.5), (0.8, 0.5)), "red", 8)
BOX = Mark(marks.BOX, ((0.2, 0.2), (0.4, 0.6)), "blue", 6)
NOTE = Mark(marks.NOTE, ((0.5, 0.1),), "yellow", 6, "改成红色 red")


def grey(width: int = 800, height: int = 600) -> Image.Image:
    return Image.new("RGB", (width, height), (128, 128, 128))


def test_marks_are_drawn_on_a_copy_and_the_image_given_is_left_as_it_was():
    image = grey()
    before = np.asarray(image).copy()
    marked = marks.render_marks(image, [ARROW, BOX, NOTE])

    assert np.array_equal(np.asarray(image), before)
    assert marked.size == image.size and marked.mode == "RGB"
    pixels = np.asarray(marked)
    assert tuple(pixels[300, 400]) == marks.COLOURS["red"]  # on the arrow's shaft
    assert tuple(pixels[300, 630]) == marks.COLOURS["red"]  # its head, near the point
    assert tuple(pixels[120, 160]) == marks.COLOURS["blue"]  # the box's top-left corner
    assert tuple(pixels[240, 240]) == (128, 128, 128)  # inside the box: only its outline is drawn
    note = pixels[40:110, 380:790]
    assert (np.abs(note.astype(int) - marks.COLOURS["yellow"]).sum(axis=2) < 60).sum() > 200  # the note's glyphs


def test_the_same_marks_land_at_the_same_places_on_a_small_copy_and_on_the_full_image():
    small, full = marks.render_marks(grey(400, 300), [BOX]), marks.render_marks(grey(1600, 1200), [BOX])
    changed = [np.argwhere(np.any(np.asarray(m) != 128, axis=2)) for m in (small, full)]
    assert np.allclose(changed[0].min(axis=0) * 4, changed[1].min(axis=0), atol=6)
    assert np.allclose(changed[0].max(axis=0) * 4, changed[1].max(axis=0), atol=6)


def test_notes_use_a_font_with_chinese_glyphs_where_noto_cjk_is_installed():
    name = marks.note_font_name()
    if not marks.FONT_CANDIDATES[0].exists():
        pytest.skip(f"fonts-noto-cjk is not installed here: notes use {name}")
    assert name.startswith("NotoSansCJK")
    font = marks.note_font(32)
    assert font.getbbox("红")[2] > 20  # a real glyph, not an empty box of the default font


def test_a_drag_becomes_an_arrow_from_its_start_to_its_end_a_box_of_its_corners_or_a_note_where_it_ended():
    drag = [(0.1, 0.1), (0.3, 0.2), (0.5, 0.6)]
    assert marks.mark_from_drag(marks.ARROW, drag, "red", 6).points == ((0.1, 0.1), (0.5, 0.6))
    assert marks.mark_from_drag(marks.BOX, drag, "red", 6).points == ((0.1, 0.1), (0.5, 0.6))
    assert marks.mark_from_drag(marks.NOTE, drag, "red", 6, " here ").points == ((0.5, 0.6),)
    assert marks.mark_from_drag(marks.NOTE, drag, "red", 6, " here ").text == "here"
    long = [(i / 2000, 0.5) for i in range(2000)]
    stroke = marks.mark_from_drag(marks.STROKE, long, "red", 6)
    assert len(stroke.points) == marks.MAX_POINTS and stroke.points[0] == long[0] and stroke.points[-1] == long[-1]


def test_a_click_with_the_arrow_tool_and_a_note_without_text_are_refused_with_what_to_do():
    with pytest.raises(errors.MarksError) as no_length:
        marks.mark_from_drag(marks.ARROW, [(0.5, 0.5), (0.5, 0.5)], "red", 6)
    assert "drag from one end to the other" in no_length.value.message("en")
    with pytest.raises(errors.NoteTextMissingError) as no_text:
        marks.mark_from_drag(marks.NOTE, [(0.5, 0.5)], "red", 6, "  ")
    assert "批注文字" in no_text.value.message("zh")


@pytest.mark.parametrize(
    "value",
    [
        "marks",
        [{"kind": "circle", "points": [[0, 0]]}],
        [{"kind": "arrow", "points": [[0, 0], [2, 0.5]]}],
        [{"kind": "arrow", "points": [[0, 0], [float("nan"), 0.5]]}],
        [{"kind": "box", "points": [[0, 0]]}],
        [{"kind": "stroke", "points": [[0, 0]], "colour": "#123456"}],
        [{"kind": "stroke", "points": [[0, 0]], "width": 500}],
        [{"kind": "note", "points": [[0, 0]], "text": "x" * 500}],
        [{"kind": "stroke", "points": [[0, 0]]}] * (marks.MAX_MARKS + 1),
    ],
)
def test_marks_a_forged_call_makes_up_are_refused(value):
    with pytest.raises(errors.MarksError):
        marks.marks_from(value)


def test_marks_survive_their_plain_form():
    kept = [m.as_dict() for m in (ARROW, BOX, NOTE)]
    assert marks.marks_from(kept) == (ARROW, BOX, NOTE)


def test_the_template_names_both_images_asks_to_remove_the_marks_and_is_followed_by_the_instruction():
    english = marks.marks_prompt("make the boxed cup red", "en")
    assert english.startswith(marks.TEMPLATES["en"]) and english.endswith("Changes: make the boxed cup red")
    assert "Image 1" in english and "Image 2" in english and "Remove the marks" in english
    chinese = marks.marks_prompt("把方框里的杯子改成红色", "zh")
    assert chinese.startswith(marks.TEMPLATES["zh"]) and "图1" in chinese and "图2" in chinese
    assert chinese.endswith("修改要求：把方框里的杯子改成红色")
    assert marks.marks_prompt("", "en") == marks.TEMPLATES["en"]


def test_sending_twice_does_not_repeat_the_template_and_a_switch_of_language_replaces_it():
    once = marks.marks_prompt("make it red", "en")
    assert marks.marks_prompt(once, "en") == once
    assert marks.marks_prompt(once, "zh") == marks.TEMPLATES["zh"] + "修改要求：make it red"
    assert marks.asks_for_marks(once) and not marks.asks_for_marks("make it red")


def test_an_edit_with_marks_sends_the_clean_original_then_the_marked_copy_and_keeps_image_1_as_uploaded(
    studio, sim, tmp_path
):
    x, y = np.meshgrid(np.linspace(0, 255, 720), np.linspace(0, 255, 540))
    upload = tmp_path / "photo.png"
    Image.fromarray(np.stack([x, y, (x + y) / 2], axis=-1).astype(np.uint8)).save(upload)
    uploaded = upload.read_bytes()
    marked = tmp_path / "marked.png"
    with Image.open(upload) as opened:
        marks.render_marks(opened, [ARROW, BOX, NOTE]).save(marked)

    request = EditRequest.create([str(upload), str(marked)], marks.marks_prompt("make the boxed area red"), seed=7)
    result = studio.edit(request)

    sent = sim.stats.requests[-1]
    assert sent["image_count"] == 2
    assert sent["text"] == marks.TEMPLATES["en"] + " Changes: make the boxed area red"
    digests = [hashlib.sha256(image.data_uri.encode()).hexdigest() for image in request.images]
    assert sent["image_digests"] == digests
    assert upload.read_bytes() == uploaded
    row = studio.history.get(LOCAL_OWNER, result.edit_id)
    first, second = row.inputs
    kept = studio.store.path_for(first.sha256, first.ext)
    assert np.array_equal(np.asarray(Image.open(kept)), np.asarray(Image.open(io.BytesIO(uploaded))))
    assert not np.array_equal(
        np.asarray(Image.open(studio.store.path_for(second.sha256, second.ext))), np.asarray(Image.open(kept))
    )


def studio_form(area: str, prompt: str, image_1: str, paint: object = None) -> StudioForm:
    return StudioForm(
        images=(image_1, None, None),
        prompt=prompt,
        negative_prompt="",
        model=catalog.DEFAULT_MODEL,
        region=catalog.DEFAULT_REGION,
        size_mode="auto",
        width=None,
        height=None,
        n=1,
        seed=1,
        random_seed=False,
        prompt_extend=True,
        watermark=False,
        exact=False,
        area=area,
        paint=paint,
        align=False,
        keep_unchanged=False,
        expand_left=0,
        expand_top=0,
        expand_right=0,
        expand_bottom=0,
    )


def test_generate_with_the_marks_area_open_says_to_send_the_marks_first(tmp_path):
    image = tmp_path / "photo.png"
    grey().save(image)
    with pytest.raises(errors.MarksNotSentError) as refused:
        studio_form(AREA_MARKS, "make it red", str(image)).edit_form()
    assert "Send with marks" in refused.value.message("en") and "带标记发送" in refused.value.message("zh")


def test_a_painted_region_under_a_marks_prompt_is_refused_and_without_one_is_a_region_edit(tmp_path):
    image = tmp_path / "photo.png"
    grey().save(image)
    layer = Image.new("RGBA", (800, 600))
    layer.paste((255, 0, 0, 120), (100, 100, 300, 300))
    painted = {"layers": [layer]}
    with pytest.raises(errors.MarksWithRegionError):
        studio_form(AREA_PAINT, marks.marks_prompt("make it red"), str(image), painted).edit_form()
    assert studio_form(AREA_PAINT, "make it red", str(image), painted).edit_form().mask is not None
    assert studio_form(AREA_WHOLE, marks.marks_prompt("make it red"), str(image)).edit_form().mask is None
