"""The image slots keep their numbers, in headless Chromium: "Image k" in the prompt names slot k wherever the
other images are, a removed image leaves its slot empty (and comes back with Undo), and the prompt is checked
against the slots and the model's limit as it is typed.

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio and one browser
for the module, a fresh offline context per test, waits on what the page shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
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
    results,
    screenshot,
    upload,
)
from playwright.sync_api import Locator, Page, expect

from core.simulator import Simulator

pytestmark = pytest.mark.browser

SHOTS = Path("/work/shots/slots")


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


def choose_model(page: Page, model: str) -> None:
    page.locator("#model input").click()
    page.get_by_role("option", name=model, exact=True).click()
    expect(page.locator("#model input")).to_have_value(model)


def look(page: Page, name: str) -> None:
    """A screenshot kept for the report (looked at by hand)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, SHOTS, name)


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
    expect(page.locator("#details")).to_contain_text('"Put the moon of Image 2 over the house in Image 1"')
    look(page, "use-as-3-runs.png")
