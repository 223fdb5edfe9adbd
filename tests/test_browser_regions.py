"""Region edits on the page, in headless Chromium: paint on Image 1 (mouse drags on the editor's canvas), the
paint tools (rectangle, invert, clear), the Chinese page's labels, and a run whose composite keeps every pixel
of Image 1 outside the painted region and its feather band; screenshots of the tools and of the compare views.

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio and one browser for
the module, a fresh offline context per test, waits on what the page shows.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cv2
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
    results,
    upload,
)
from PIL import Image
from playwright.sync_api import Page, expect

from core.regions.plan import RegionSettings
from core.studio import Studio

pytestmark = pytest.mark.browser

WAIT_S = 45  # the editor uploads its layers before each tool runs: slow on a loaded 2-core machine


@pytest.fixture(scope="module", name="photo")
def fixture_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 900x600 gradient with a few shapes: every pixel tells where it is, so a shifted paste would show."""
    x, y = np.meshgrid(np.linspace(0, 255, 900), np.linspace(0, 255, 600))
    pixels = np.stack([x, y, (x + y) / 2], axis=-1).astype(np.uint8)
    pixels[100:180, 600:700] = (250, 250, 40)
    pixels[380:520, 120:200] = (30, 30, 200)
    path = tmp_path_factory.mktemp("regions") / "photo.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module", name="flat")
def fixture_flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One flat colour, so paint shows plainly on the canvas."""
    path = tmp_path_factory.mktemp("regions-flat") / "flat.png"
    Image.new("RGB", (900, 600), (60, 140, 200)).save(path)
    return path


def open_paint(page: Page, image: Path) -> None:
    """Image 1 in its slot, the edit area open on "Painted region", the editor showing Image 1."""
    upload(page, 1, image)
    page.locator("#area-panel").locator("button, .label-wrap").first.click()
    page.locator("#area label").nth(1).click()
    expect(page.locator("#region-editor canvas").first).to_be_visible()
    page.locator("#area-panel").scroll_into_view_if_needed()
    shows(page, FAR, WHITE, same=False)  # Image 1 is on the canvas


def canvas_box(page: Page) -> dict[str, float]:
    box = page.locator("#region-editor canvas").first.bounding_box()
    assert box is not None
    return box


def paint(page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 24) -> None:
    """One brush stroke from `start` to `end`, as fractions of the canvas's width and height."""
    box = canvas_box(page)
    x0, y0 = box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1]
    x1, y1 = box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps)
    page.mouse.up()


def pixel(page: Page, at: tuple[float, float]) -> np.ndarray:
    """The colour the editor's canvas shows at `at` (fractions of its width and height)."""
    shot = Image.open(io.BytesIO(page.locator("#region-editor").screenshot())).convert("RGB")
    editor = page.locator("#region-editor").bounding_box()
    box = canvas_box(page)
    assert editor is not None
    x = box["x"] - editor["x"] + box["width"] * at[0]
    y = box["y"] - editor["y"] + box["height"] * at[1]
    return np.asarray(shot)[round(y), round(x)].astype(int)


def shows(page: Page, at: tuple[float, float], colour: np.ndarray, same: bool) -> None:
    """Wait until the canvas shows `colour` at `at` (same) or clearly something else."""
    deadline = time.monotonic() + WAIT_S
    while True:
        close = bool(np.abs(pixel(page, at) - colour).max() <= 12)
        if close == same:
            return
        assert time.monotonic() < deadline, (
            f"the canvas at {at} shows {pixel(page, at)}, expected {'' if same else 'not '}{colour}"
        )
        page.wait_for_timeout(200)


def look(page: Page, folder: Path, name: str, panel: str) -> None:
    """A small PNG (256 colours, dithered so gradients stay smooth) of `panel` alone, as regions-`name`, with the
    pointer off every control (in docs/screenshots with UPDATE_SCREENSHOTS=1; looked at by hand)."""
    page.mouse.move(0, 0)
    page.evaluate(SETTLE_JS)
    shot = Image.open(io.BytesIO(page.locator(panel).first.screenshot(animations="disabled"))).convert("RGB")
    palette = shot.quantize(256, method=Image.Quantize.MEDIANCUT)
    small = shot.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
    small.save(folder / f"regions-{name}", optimize=True)


def shown_in_full(page: Page, view: str) -> None:
    """Wait until `view` has made its pictures and loaded them all."""
    expect(page.locator(f"{view} .wrap.full:not(.hide)")).to_have_count(0)  # its progress shown no more
    pictures = page.locator(f"{view} img")
    expect(pictures.first).to_be_visible()
    for k in range(pictures.count()):
        expect(pictures.nth(k)).to_have_js_property("complete", True)


def served_path(src: str) -> Path:
    """The local file behind a /gradio_api/file= address the page shows."""
    return Path(unquote(urlsplit(src).path.split("/file=", 1)[1]))


def grown(mask: np.ndarray, pixels: int) -> np.ndarray:
    """`mask` and every pixel within `pixels` of it."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def last_mask(studio: Studio) -> Path:
    """The mask file history keeps for the module's newest edit (the page's only one with a mask)."""
    with studio.history.reading() as db:
        owner, edit_id = db.execute("SELECT owner, id FROM edits ORDER BY created DESC LIMIT 1").fetchone()
    kept = studio.history.get(owner, edit_id).plan["files"]["mask"]
    return studio.store.path_for(kept["sha256"], kept["ext"])


PAINTED = (0.5, 0.5)  # on the stroke, on the canvas
CORNER = (0.44, 0.585)  # inside the box of the diagonal stroke below, off the stroke itself
FAR = (0.5, 0.3)  # far from it, still on the image (fitted into the canvas, letterboxed above and below)
WHITE = np.array([255, 255, 255])


def test_invert_and_clear_change_what_the_canvas_shows_painted(page: Page, flat: Path, screenshots: Path):
    open_paint(page, flat)
    bare = pixel(page, FAR)
    shows(page, PAINTED, bare, same=True)
    paint(page, (0.4, 0.5), (0.6, 0.5))
    shows(page, PAINTED, bare, same=False)  # the see-through red over Image 1
    shows(page, FAR, bare, same=True)
    look(page, screenshots, "tools-painted-laptop.png", "#area-panel")

    page.locator("#paint-invert").click()
    shows(page, PAINTED, bare, same=True)  # first: the canvas shows the inverted paint, not a passing overlay
    shows(page, FAR, bare, same=False)
    look(page, screenshots, "tools-inverted-laptop.png", "#area-panel")

    page.locator("#paint-clear").click()
    shows(page, FAR, bare, same=True)
    shows(page, PAINTED, bare, same=True)


def test_the_chinese_page_labels_the_region_tools_in_chinese(open_page: OpenPage, flat: Path):
    page = open_page(locale="zh-CN")
    expect(page.locator("#area-panel")).to_contain_text("编辑范围")
    open_paint(page, flat)
    expect(page.locator("#area")).to_contain_text("涂抹区域")
    expect(page.locator("#paint-rectangle")).to_have_text("▭ 矩形")
    expect(page.locator("#paint-invert")).to_have_text("◐ 反选")
    expect(page.locator("#paint-clear")).to_have_text("✕ 清除")
    page.locator("#area label").nth(2).click()
    expect(page.locator("#expand-left")).to_contain_text("左")


def edit_a_rectangle(page: Page, photo: Path, prompt: str) -> None:
    """Paint one diagonal stroke on Image 1, turn it into its box, and run `prompt` on that region."""
    open_paint(page, photo)
    corner = pixel(page, CORNER)
    paint(page, (0.42, 0.45), (0.58, 0.6))
    shows(page, CORNER, corner, same=True)  # off the stroke
    page.locator("#paint-rectangle").click()
    shows(page, CORNER, corner, same=False)  # the box replaced the stroke
    page.locator("#prompt textarea").fill(prompt)
    generate(page, expected=1)


def test_a_painted_rectangle_is_all_that_changes_and_compare_shows_original_and_raw(
    page: Page, photo: Path, studio: Studio, screenshots: Path
):
    edit_a_rectangle(page, photo, "Make it night")
    look(page, screenshots, "tools-rectangle-laptop.png", "#area-panel")

    with Image.open(last_mask(studio)) as opened:
        mask = np.asarray(opened.convert("L")) >= 128
    with Image.open(photo) as opened:
        original = np.asarray(opened.convert("RGB"))
    assert mask.shape == original.shape[:2]  # at Image 1's full size
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert mask[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1].all()  # a rectangle

    src = results(page).first.locator("img").get_attribute("src")
    with Image.open(served_path(src)) as opened:
        composite = np.asarray(opened.convert("RGB"))
    assert composite.shape == original.shape
    band = grown(mask, RegionSettings().feather + 2)
    assert (composite[~band] == original[~band]).all()
    inside = ~grown(~mask, 4)
    assert (composite[inside] != original[inside]).any(axis=-1).mean() > 0.5

    expect(page.locator("#compare-with")).to_contain_text("Original")
    expect(page.locator("#compare-with")).to_contain_text("Raw output")
    expect(page.locator("#compare-with input[value=original]")).to_be_checked()
    shown_in_full(page, "#compare")
    look(page, screenshots, "compare-original-laptop.png", "#viewer-group")
    page.locator("#view-diff-button, button[role=tab]").filter(has_text="Difference").click()
    expect(page.locator("#diff img")).to_be_visible()
    look(page, screenshots, "compare-original-diff-laptop.png", "#viewer-group")
    with_original = page.locator("#compare img").first.get_attribute("src")
    page.locator("#compare-with label").filter(has_text="Raw output").click()
    expect(page.locator("#compare-with input[value=raw]")).to_be_checked()
    page.locator("button[role=tab]").filter(has_text="Slider").click()
    expect(page.locator("#compare img").first).not_to_have_attribute("src", with_original or "")
    shown_in_full(page, "#compare")
    look(page, screenshots, "compare-raw-laptop.png", "#viewer-group")


def test_a_region_edit_reopened_from_history_shows_its_composite_and_compares_with_original_and_raw(
    page: Page, photo: Path
):
    edit_a_rectangle(page, photo, "Paint the box gold")
    composite = served_path(results(page).first.locator("img").get_attribute("src")).name
    page.locator("#slot-1").get_by_role("button", name="Remove Image").click()
    page.get_by_role("tab", name="History").click()
    items = page.locator("#history-gallery button.thumbnail-item")
    items.first.click()
    expect(page.locator("#history-details-summary")).to_contain_text("Paint the box gold")
    page.get_by_role("button", name="Reopen in Studio").click()

    expect(page.locator("#run-status")).to_contain_text("Reopened")
    expect(results(page)).to_have_count(1)
    assert served_path(results(page).first.locator("img").get_attribute("src")).name == composite
    expect(page.locator("#compare-with input[value=original]")).to_be_checked()
    expect(page.locator("#compare-with")).to_contain_text("Raw output")
    expect(page.locator("#compare img").first).to_be_visible()
    page.locator("#compare-with label").filter(has_text="Raw output").click()
    expect(page.locator("#compare-with input[value=raw]")).to_be_checked()
    expect(page.locator("#compare img").first).to_be_visible()


def test_phone_screenshots_of_the_paint_tools(open_page: OpenPage, flat: Path, screenshots: Path):
    page = open_page(viewport=PHONE)
    open_paint(page, flat)
    paint(page, (0.3, 0.4), (0.7, 0.6))
    look(page, screenshots, "tools-painted-phone.png", "#area-panel")
