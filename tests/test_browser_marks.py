"""Marks on the page, in headless Chromium: an arrow, a box and a note drawn with mouse drags on Image 1's copy,
Send with marks (the marked copy in Image 2, the template in the prompt), a run that sends the clean original and
the marked copy in that order with the template, and history keeping Image 1 exactly as uploaded; the Chinese
page's labels; screenshots of the editor on a laptop and a phone.

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio and one browser for
the module, a fresh offline context per test, waits on what the page shows.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    PHONE,
    SETTLE_JS,
    OpenPage,
    fixture_app_url,
    fixture_browser,
    fixture_no_leftover_faults,
    fixture_open_page,
    fixture_page,
    fixture_requests_made,
    fixture_screenshots,
    fixture_sim,
    fixture_studio,
    generate,
    screenshot,
    upload,
)
from PIL import Image
from playwright.sync_api import Page, expect

from core import marks
from core.images import prepare_image
from core.simulator import Simulator
from core.studio import Studio

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", name="photo")
def fixture_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 900x600 gradient: every pixel differs from its neighbours, so a mark drawn on Image 1 would show."""
    x, y = np.meshgrid(np.linspace(0, 255, 900), np.linspace(0, 255, 600))
    path = tmp_path_factory.mktemp("marks") / "photo.png"
    Image.fromarray(np.stack([x, y, (x + y) / 2], axis=-1).astype(np.uint8)).save(path)
    return path


def open_marks(page: Page, photo: Path) -> None:
    """Image 1 in its slot, the edit area open on Marks, the canvas showing Image 1's copy."""
    upload(page, 1, photo)
    page.locator("#area-panel").locator("button, .label-wrap").first.click()
    page.locator("#area label").nth(3).click()
    expect(page.locator("#marks-canvas img")).to_be_visible()
    page.locator("#area-panel").scroll_into_view_if_needed()


def drag(page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
    """One drag over the canvas's picture from `start` to `end` (fractions of it), and the canvas redrawn."""
    picture = page.locator("#marks-canvas img")
    before = picture.get_attribute("src")
    box = shown_box(page)
    x0, y0 = box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1]
    x1, y1 = box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps)
    page.mouse.up()
    expect(picture).not_to_have_attribute("src", before or "")


def shown_box(page: Page) -> dict[str, float]:
    """Where the picture itself is inside the canvas's <img> (fitted into it, with bands on two sides)."""
    return page.locator("#marks-canvas img").evaluate(
        """(img) => {
            const box = img.getBoundingClientRect();
            const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
            const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
            return { x: box.left + (box.width - width) / 2, y: box.top + (box.height - height) / 2, width, height };
        }"""
    )


def choose(page: Page, tool: int) -> None:
    page.locator("#marks-tool label").nth(tool).click()


def look(page: Page, folder: Path, name: str) -> None:
    """A small PNG of the edit area alone, as marks-`name` (in docs/screenshots with UPDATE_SCREENSHOTS=1)."""
    page.mouse.move(0, 0)
    page.evaluate(SETTLE_JS)
    shot = Image.open(io.BytesIO(page.locator("#area-panel").screenshot(animations="disabled"))).convert("RGB")
    palette = shot.quantize(256, method=Image.Quantize.MEDIANCUT)
    small = shot.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
    small.save(folder / f"marks-{name}", optimize=True)


def newest_inputs(studio: Studio) -> list[Path]:
    with studio.history.reading() as db:
        owner, edit_id = db.execute("SELECT owner, id FROM edits ORDER BY created DESC LIMIT 1").fetchone()
    return [studio.store.path_for(row.sha256, row.ext) for row in studio.history.get(owner, edit_id).inputs]


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as opened:
        return np.asarray(opened.convert("RGB"))


def test_marks_drawn_on_image_1_are_sent_as_image_2_with_the_template_and_image_1_stays_clean(
    open_page: OpenPage, photo: Path, sim: Simulator, studio: Studio, screenshots: Path
):
    page = open_page(viewport={"width": 1440, "height": 1300})  # the whole edit area in view, for its screenshot
    open_marks(page, photo)
    drag(page, (0.15, 0.8), (0.55, 0.45))  # an arrow, the default tool
    choose(page, 1)
    drag(page, (0.6, 0.2), (0.85, 0.5))  # a box
    page.locator("#marks-note textarea").fill("red here")
    choose(page, 2)
    drag(page, (0.62, 0.6), (0.62, 0.6), steps=1)  # a note, placed with a click
    look(page, screenshots, "editor-laptop.png")

    page.locator("#prompt textarea").fill("make the boxed area red")
    page.locator("#marks-send").click()
    expect(page.locator("#slot-2 img")).to_be_visible()
    expected = marks.TEMPLATES["en"] + " Changes: make the boxed area red"
    expect(page.locator("#prompt textarea")).to_have_value(expected)
    expect(page.locator("#undo")).to_contain_text("marked copy put in Image 2")
    expect(page.locator("#area-marks")).to_be_hidden()  # the area is back on Whole image: the slots are what goes
    screenshot(page, screenshots, "marks-sent-laptop.png")

    calls = sim.stats.generation_calls
    generate(page, 1)
    assert sim.stats.generation_calls == calls + 1
    sent = sim.stats.requests[-1]
    assert sent["image_count"] == 2 and sent["text"] == expected
    assert sent["image_digests"][0] == hashlib.sha256(prepare_image(str(photo), 1).data_uri.encode()).hexdigest()

    original, marked = newest_inputs(studio)
    assert np.array_equal(pixels(original), pixels(photo))  # the kept Image 1 is the upload, pixel for pixel
    drawn = pixels(marked)
    assert drawn.shape == pixels(photo).shape
    middle = drawn[round(0.625 * 599), round(0.35 * 899)].astype(int)  # halfway along the arrow
    assert np.abs(middle - marks.COLOURS["red"]).max() < 40
    assert np.abs(drawn[round(0.2 * 599), round(0.725 * 899)].astype(int) - marks.COLOURS["red"]).max() < 40

    page.locator("#undo").click()  # Send with marks undone: Image 2 empty, the prompt as typed, the Marks area back
    expect(page.locator("#slot-2 img")).to_have_count(0)
    expect(page.locator("#prompt textarea")).to_have_value("make the boxed area red")
    expect(page.locator("#marks-canvas img")).to_be_visible()


def test_undo_last_mark_and_clear_take_marks_away_and_a_note_needs_its_text(page: Page, photo: Path):
    open_marks(page, photo)
    picture = page.locator("#marks-canvas img")
    bare = picture.get_attribute("src")
    drag(page, (0.2, 0.2), (0.5, 0.5))
    choose(page, 2)
    page.mouse.move(0, 0)
    box = shown_box(page)
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7)
    expect(page.locator('[data-testid="toast-body"]', has_text="Type the note's text first")).to_be_visible()
    page.locator("#marks-undo").click()
    expect(picture).to_have_attribute("src", bare or "")  # the arrow gone: the canvas is Image 1's copy again
    choose(page, 3)
    drag(page, (0.3, 0.3), (0.4, 0.4))  # a freehand stroke
    page.locator("#marks-clear").click()
    expect(picture).to_have_attribute("src", bare or "")
    page.locator("#marks-send").click()
    expect(page.locator('[data-testid="toast-body"]', has_text="nothing is drawn yet")).to_be_visible()
    expect(page.locator("#slot-2 img")).to_have_count(0)


def test_the_chinese_page_labels_the_marks_tools_in_chinese_fits_a_phone_and_writes_the_chinese_template(
    open_page: OpenPage, photo: Path, screenshots: Path
):
    page = open_page(locale="zh-CN", viewport=PHONE)
    open_marks(page, photo)
    expect(page.locator("#area")).to_contain_text("标记")
    expect(page.locator("#marks-tool")).to_contain_text("➚ 箭头")
    expect(page.locator("#marks-tool")).to_contain_text("✎ 批注")
    expect(page.locator("#marks-send")).to_have_text("带标记发送")
    expect(page.locator("#marks-undo")).to_have_text("↶ 撤销上一个标记")
    drag(page, (0.2, 0.75), (0.6, 0.35))
    page.locator("#marks-note textarea").fill("改成红色")
    choose(page, 2)
    drag(page, (0.55, 0.7), (0.55, 0.7), steps=1)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width} px)"
    look(page, screenshots, "editor-phone-zh.png")

    page.locator("#prompt textarea").fill("把方框里的部分改成红色")
    page.locator("#marks-send").click()  # the Chinese page writes the Chinese template
    expect(page.locator("#prompt textarea")).to_have_value(marks.TEMPLATES["zh"] + "修改要求：把方框里的部分改成红色")
    expect(page.locator("#slot-2 img")).to_be_visible()
