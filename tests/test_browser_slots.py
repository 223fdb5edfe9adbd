"""The image slots keep their numbers, in headless Chromium: "Image k" in the prompt names slot k wherever the
other images are, a removed image leaves its slot empty (and comes back with Undo), and the prompt is checked
against the slots and the model's limit as it is typed.

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio and one browser
for the module, a fresh offline context per test, waits on what the page shows.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    OpenPage,
    choose_model,
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
    results,
    screenshot,
    upload,
)
from playwright.sync_api import Locator, Page, expect

from core import catalog
from core.simulator import Simulator

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "qwen-edit-screenshots" / "slots"  # looked at by hand, never in the tree


def slot_image(page: Page, slot: int) -> Locator:
    return page.locator(f"#slot-{slot} img")


def expect_slots(page: Page, *names: str | None) -> None:
    """Slots 1 to 3 hold the named input files (None: empty)."""
    for slot, name in enumerate(names, start=1):
        if name is None:
            expect(slot_image(page, slot)).to_have_count(0)
        else:
            expect(slot_image(page, slot)).to_have_attribute("src", re.compile(re.escape(name) + "$"))


def remove(page: Page, slot: int) -> None:
    page.locator(f"#slot-{slot}").get_by_role("button", name="Remove Image").click()


def look(page: Page, name: str, top: Locator | None = None) -> None:
    """A screenshot kept for the report (looked at by hand)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, SHOTS, name, top=top)


def test_use_as_image_3_with_slot_2_empty_runs_and_the_model_reads_image_2(
    page: Page, images: list[Path], sim: Simulator
):
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Make it night")
    generate(page, expected=1)
    results(page).first.click()
    result_src = results(page).first.locator("img").get_attribute("src")

    page.locator("#use-as-3").click()
    expect(slot_image(page, 3)).to_have_attribute("src", result_src)  # exactly slot 3: slot 2 stays empty
    expect(slot_image(page, 2)).to_have_count(0)
    expect(page.locator("#size-preview")).to_contain_text("follows Image 3")

    page.locator("#prompt textarea").fill("Put the moon of Image 3 over the house in @1")
    generate(page, expected=2)
    request = sim.stats.requests[-1]
    assert request["image_count"] == 2
    assert request["text"] == "Put the moon of Image 2 over the house in Image 1"  # slot 3 is sent second
    expect(page.locator("#details-summary")).to_contain_text("Put the moon of Image 2 over the house in Image 1")
    look(page, "use-as-3-runs.png")


def test_slots_keep_their_images_where_they_were_put(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    upload(page, 3, images[2])  # after an empty slot: it stays in slot 3
    expect_slots(page, "input-1.png", None, "input-3.png")
    expect(page.locator("#size-preview")).to_contain_text("follows Image 3")

    remove(page, 1)  # its slot stays empty; nothing moves left
    expect_slots(page, None, None, "input-3.png")
    expect(page.locator("#undo")).to_have_text("↶ Undo: Image 1 removed")

    page.get_by_role("button", name="⇄ Swap 2 and 3").click()  # exactly these two
    expect_slots(page, None, "input-3.png", None)
    upload(page, 3, images[1])
    page.get_by_role("button", name="⇄ Swap 1 and 2").click()
    expect_slots(page, "input-3.png", None, "input-2.png")
    look(page, "slots-stay.png")


def test_removing_an_image_is_undone_in_one_click(page: Page, images: list[Path], sim: Simulator):
    for slot, path in enumerate(images, start=1):
        upload(page, slot, path)
    prompt = page.locator("#prompt textarea")
    prompt.fill("Image 1 and Image 3 side by side")

    remove(page, 2)
    expect_slots(page, "input-1.png", None, "input-3.png")
    undo = page.locator("#undo")
    expect(undo).to_have_text("↶ Undo: Image 2 removed")
    look(page, "undo-removed.png", top=page.locator("#prompt"))
    undo.click()
    expect_slots(page, "input-1.png", "input-2.png", "input-3.png")
    expect(prompt).to_have_value("Image 1 and Image 3 side by side")
    expect(undo).to_be_hidden()

    # The image put back is sent as Image 2 again.
    prompt.fill("Image 2 between @1 and @3")
    generate(page, expected=1)
    assert sim.stats.requests[-1]["image_count"] == 3
    assert sim.stats.requests[-1]["text"] == "Image 2 between Image 1 and Image 3"


def test_use_as_image_k_replaces_that_slot_only_and_is_undone(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    upload(page, 2, images[1])
    page.locator("#use-as-2").click()  # nothing selected yet: said, and nothing to undo
    expect(page.locator('[data-testid="toast-body"].error')).to_contain_text("Select a result first.")
    expect(page.locator("#slot-2 .error")).to_have_count(0)  # no "Error" pill over the slot
    expect_slots(page, "input-1.png", "input-2.png", None)
    expect(page.locator("#undo")).to_be_hidden()
    page.locator("#prompt textarea").fill("Make it night")
    generate(page, expected=1)
    results(page).first.click()
    result_src = results(page).first.locator("img").get_attribute("src")

    page.locator("#use-as-2").click()
    expect(slot_image(page, 2)).to_have_attribute("src", result_src)
    expect(slot_image(page, 1)).to_have_attribute("src", re.compile("input-1.png$"))
    expect(slot_image(page, 3)).to_have_count(0)
    undo = page.locator("#undo")
    expect(undo).to_have_text("↶ Undo: result put in Image 2")
    undo.click()
    expect_slots(page, "input-1.png", "input-2.png", None)
    expect(undo).to_be_hidden()


def test_references_are_checked_as_the_prompt_is_typed(page: Page, images: list[Path], sim: Simulator):
    upload(page, 1, images[0])
    line = page.locator("#prompt-references")
    expect(line).to_be_hidden()
    calls = sim.stats.generation_calls

    page.locator("#prompt textarea").fill("Put the hat of @3 on Image 1")
    expect(line).to_have_text("⚠ The prompt mentions @3, but slot 3 is empty. Add an image there or change the prompt.")
    look(page, "reference-empty-slot.png")
    upload(page, 3, images[2])
    expect(line).to_be_hidden()

    choose_model(page, "qwen-image-edit-max")
    page.locator("#prompt textarea").fill("Put the hat of @4 on Image 1")
    expect(line).to_contain_text("The prompt mentions @4, but qwen-image-edit-max takes at most 3 images.")
    choose_model(page, "qwen-image-2.1-pro")  # takes ten: now slot 4 is only empty
    expect(line).to_contain_text("but slot 4 is empty")
    assert sim.stats.generation_calls == calls  # all of it before Generate


def test_the_counter_turns_red_past_the_models_limit(page: Page):
    counter = page.locator("#prompt-count")
    edit_limit = catalog.get_model("qwen-image-edit-max").prompt_max
    wider = catalog.get_model("qwen-image-2.0").prompt_max
    assert edit_limit < wider
    choose_model(page, "qwen-image-edit-max")
    prompt = page.locator("#prompt textarea")
    prompt.fill("a" * edit_limit)
    expect(counter).to_have_text(f"{edit_limit} / {edit_limit} characters")
    expect(counter).not_to_have_attribute("data-over", "")

    prompt.fill("a" * (edit_limit + 1))
    expect(counter).to_have_text(f"{edit_limit + 1} / {edit_limit} characters")
    expect(counter).to_have_attribute("data-over", "")
    red = counter.locator("p").evaluate("(p) => getComputedStyle(p).color")
    assert red != counter.locator("p").evaluate("(p) => getComputedStyle(document.body).color")
    look(page, "counter-red.png", top=page.locator("#prompt textarea"))

    choose_model(page, "qwen-image-2.0")  # a longer limit: within it again
    expect(counter).to_have_text(f"{edit_limit + 1} / {wider} characters")
    expect(counter).not_to_have_attribute("data-over", "")


def test_the_chinese_page_names_slots_and_empty_references_as_its_labels_do(open_page: OpenPage, images: list[Path]):
    page = open_page(locale="zh-CN")
    upload(page, 1, images[0])
    prompt = "把@图2的帽子戴到图1上"
    page.locator("#prompt textarea").fill(prompt)
    message = "提示词中提到了 @图2，但图2是空的。请在图2中添加图片，或修改提示词。"
    expect(page.locator("#prompt-references")).to_have_text("⚠ " + message)
    expect(page.locator("#slot-2")).to_contain_text("图2")
    page.locator("#generate").click()
    expect(page.locator('[data-testid="toast-body"].error')).to_contain_text(message)
    look(page, "zh-reference-empty-slot.png")
