"""More references and none, in headless Chromium: "More images" on a model that takes ten, a refusal that
loses nothing after switching to one that takes three, and a prompt-only run on a text-to-image model.

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio and one browser
for the module, a fresh offline context per test, waits on what the page shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    PHONE,
    OpenPage,
    choose_model,
    expect_model,
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
    toast,
    upload,
)
from PIL import Image
from playwright.sync_api import Page, expect

from core.simulator import Simulator

pytestmark = pytest.mark.browser

REFUSED = "qwen-image-edit-plus takes up to 3 images and 5 are given: Images 4 and 5 will not be sent"


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five PNGs told apart by their width and colour, for Images 1 to 5."""
    folder = tmp_path_factory.mktemp("references")
    paths = []
    for k in range(5):
        path = folder / f"reference-{k + 1}.png"
        Image.new("RGB", (640 + 64 * k, 640), (40 + 40 * k, 150, 220 - 40 * k)).save(path)
        paths.append(path)
    return paths


def open_more_images(page: Page) -> None:
    """Open "More images" (it shows once the model takes more than three)."""
    more = page.locator("#more-images")
    expect(more).to_be_visible()
    more.get_by_role("button", name="More images").click()
    expect(page.locator("#slot-4")).to_be_visible()
    expect(page.locator("#slot-5")).to_be_hidden()  # the next slot appears once this one is filled


def fill_five(page: Page, five: list[Path]) -> None:
    choose_model(page, "qwen-image-2.1-pro")
    open_more_images(page)
    for slot, path in enumerate(five, start=1):
        upload(page, slot, path)


def test_five_references_on_qwen_image_2_1_pro_then_plus_refuses_images_4_and_5_and_keeps_them(
    page: Page, five: list[Path], sim: Simulator, screenshots: Path
):
    expect(page.locator("#more-images")).to_be_hidden()  # the default model takes three: nothing more shown
    fill_five(page, five)
    expect(page.locator("#slot-6")).to_be_visible()  # one empty slot after the last image, up to Image 10
    expect(page.locator("#slot-7")).to_be_hidden()
    expect(page.locator("#images-note")).to_be_hidden()
    page.locator("#prompt textarea").fill("The hat of Image 5 on the cat of Image 1")
    screenshot(page, screenshots, "more-images.png", top=page.locator("#inputs"))

    generate(page, expected=1)
    sent = sim.stats.requests[-1]
    assert (sent["model"], sent["image_count"]) == ("qwen-image-2.1-pro", 5)
    assert sent["text"] == "The hat of Image 5 on the cat of Image 1"
    calls = sim.stats.generation_calls

    choose_model(page, "qwen-image-edit-plus")
    note = page.locator("#images-note")
    expect(note).to_contain_text(REFUSED)
    expect(note).to_contain_text("qwen-image-2.1-pro")
    for slot in range(1, 6):  # nothing cleared, and Images 4 and 5 stay in view
        expect(page.locator(f"#slot-{slot} img")).to_be_visible()
    expect(page.locator("#slot-6")).to_be_hidden()

    page.locator("#generate").click()
    expect(toast(page, "error")).to_contain_text(REFUSED)
    expect(page.locator("#run-status")).to_contain_text(REFUSED)
    assert sim.stats.generation_calls == calls
    for slot in range(1, 6):
        expect(page.locator(f"#slot-{slot} img")).to_be_visible()
    screenshot(page, screenshots, "more-images-refused.png", top=page.locator("#inputs"))

    page.locator("#slot-5").get_by_role(
        "button", name="Remove Image"
    ).click()  # the visitor decides: one image fewer ...
    expect(note).to_contain_text("4 are given: Image 4 will not be sent")
    choose_model(page, "qwen-image-2.1-pro")  # ... and a model that takes them all
    expect(note).to_be_hidden()


def test_the_refusal_on_a_phone(open_page: OpenPage, five: list[Path], screenshots: Path):
    page = open_page(viewport=PHONE)
    fill_five(page, five)
    choose_model(page, "qwen-image-edit-plus")
    expect(page.locator("#images-note")).to_contain_text(REFUSED)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, screenshots, "more-images-phone.png", full_page=True)


def test_a_prompt_alone_runs_on_a_text_to_image_model(page: Page, sim: Simulator):
    page.locator("#prompt textarea").fill("A red fox in the snow")
    page.locator("#generate").click()
    expect(toast(page, "error")).to_contain_text("qwen-image-edit-plus edits input images")
    calls = sim.stats.generation_calls

    choose_model(page, "qwen-image-2.0")
    expect(page.locator("#images-note")).to_contain_text("can also start from the prompt alone")
    generate(page, expected=1)
    sent = sim.stats.requests[-1]
    assert (sent["model"], sent["image_count"]) == ("qwen-image-2.0", 0)
    assert sim.stats.generation_calls == calls + 1


def test_reopening_an_edit_of_five_images_brings_back_more_images_and_a_prompt_only_edit_none(
    page: Page, five: list[Path]
):
    fill_five(page, five)
    page.locator("#prompt textarea").fill("Image 5 beside Image 1")
    generate(page, expected=1)
    choose_model(page, "qwen-image-2.0")
    for slot in range(1, 6):  # empty every slot: a prompt alone
        page.locator(f"#slot-{slot}").get_by_role("button", name="Remove Image").click()
        expect(page.locator(f"#slot-{slot} img")).to_have_count(0)
    page.locator("#prompt textarea").fill("A red fox in the snow")
    generate(page, expected=2)

    page.get_by_role("tab", name="History").click()
    items = page.locator("#history-gallery button.thumbnail-item")
    expect(items).to_have_count(2)
    items.nth(1).click()  # the older edit: five images on qwen-image-2.1-pro
    expect(page.locator("#history-details-summary")).to_contain_text("Image 5 beside Image 1")
    page.get_by_role("button", name="Reopen in Studio").click()
    expect_model(page, "qwen-image-2.1-pro")
    for slot in range(1, 6):
        expect(page.locator(f"#slot-{slot} img")).to_be_visible()
    expect(page.locator("#slot-6")).to_be_visible()
    expect(page.locator("#images-note")).to_be_hidden()

    page.get_by_role("tab", name="History").click()
    items.nth(0).click()  # the newer one: no input at all
    expect(page.locator("#history-details-summary")).to_contain_text("A red fox in the snow")
    page.get_by_role("button", name="Reopen in Studio").click()
    expect_model(page, "qwen-image-2.0")
    expect(page.locator("#run-status")).to_contain_text("Reopened")
    for slot in range(1, 6):
        expect(page.locator(f"#slot-{slot} img")).to_have_count(0)
    expect(page.locator("#images-note")).to_contain_text("can also start from the prompt alone")
