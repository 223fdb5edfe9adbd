"""The Studio as a workspace, in headless Chromium over a simulator-mode studio: at 1440x900 the setup, the
prompt, Generate, the current result with its compare view and the strip of results are all in the window
without scrolling, the viewer is the largest thing on the page, and the settings keep their own column; on a
phone it is one column. Each layout is screenshotted in English and Chinese (docs/screenshots/ with
UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    LAPTOP,
    PHONE,
    ROOT,
    OpenPage,
    fixture_app_url,
    fixture_browser,
    fixture_images,
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
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PHOTOS = ROOT / "assets" / "examples"
PROMPTS = {"en": "The cat in Image 1 sits in front of the rocket in Image 2", "zh": "图1中的猫坐在图2的火箭前面"}
LOCALES = {"en": "en-US", "zh": "zh-CN"}

BOXES_JS = """(selectors) => Object.fromEntries(selectors.map((s) => {
    const r = document.querySelector(s).getBoundingClientRect();
    return [s, { top: r.top, bottom: r.bottom, left: r.left, right: r.right, area: r.width * r.height }];
}))"""


def two_photo_run(page: Page, lang: str) -> None:
    upload(page, 1, PHOTOS / "cat.jpg")
    upload(page, 2, PHOTOS / "rocket.jpg")
    page.locator("#prompt textarea").fill(PROMPTS[lang])
    generate(page, expected=1)
    expect(page.locator("#compare img")).to_have_count(2)  # the new result, against Image 1, at once


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_on_a_laptop_the_setup_generate_and_the_result_with_its_compare_view_fit_one_window(
    open_page: OpenPage, lang: str, screenshots: Path
):
    page = open_page(locale=LOCALES[lang], viewport=LAPTOP)
    two_photo_run(page, lang)
    page.evaluate("() => window.scrollTo(0, 0)")

    wanted = ["#slot-1", "#slot-3", "#prompt", "#generate", "#compare", "#gallery", "#run-status", "#model"]
    boxes = page.evaluate(BOXES_JS, wanted)
    for selector, box in boxes.items():
        assert box["top"] >= 0 and box["bottom"] <= LAPTOP["height"], f"{selector} is not in the window: {box}"
        assert box["left"] >= 0 and box["right"] <= LAPTOP["width"], f"{selector} is cut off at the side: {box}"
    others = page.evaluate(BOXES_JS, ["#slot-1", "#prompt", "#gallery", "#size-mode", "#model-info", "#examples"])
    assert all(boxes["#compare"]["area"] > box["area"] for box in others.values()), "the viewer is not the largest"
    columns = page.evaluate(BOXES_JS, ["#inputs", "#outputs", "#side-panel"])
    widths = {name: box["right"] - box["left"] for name, box in columns.items()}
    assert widths["#outputs"] > widths["#inputs"] > widths["#side-panel"] * 0.9
    assert page.evaluate("() => document.documentElement.scrollWidth") <= LAPTOP["width"]
    # Settings live in their own column, beside the viewer, and fold away keeping their values.
    assert boxes["#model"]["left"] > boxes["#compare"]["right"]
    settings = page.locator("#settings")
    settings.get_by_role("button").first.click()
    expect(page.locator("#model")).to_be_hidden()
    settings.get_by_role("button").first.click()
    expect(page.locator("#model")).to_be_visible()
    screenshot(page, screenshots, f"studio-laptop-{lang}.png")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_on_a_phone_the_studio_is_one_column_that_nothing_overflows(open_page: OpenPage, lang: str, screenshots: Path):
    page = open_page(locale=LOCALES[lang], viewport=PHONE)
    two_photo_run(page, lang)

    order = ["#slot-1", "#prompt", "#generate", "#compare", "#gallery", "#use-as-1", "#settings"]
    tops = page.evaluate(
        "(selectors) => selectors.map((s) => document.querySelector(s).getBoundingClientRect().top + scrollY)", order
    )
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, screenshots, f"studio-phone-{lang}.png", full_page=True)
