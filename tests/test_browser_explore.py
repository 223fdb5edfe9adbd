"""The Explore tab in headless Chromium: a 4 prompts x 3 seeds grid runs from the page, fills in as cells
finish, exports a zip with a contact sheet, and a cell opens in the Studio. Set-up as in browser_support.py."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
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
    screenshot,
    upload,
)
from PIL import Image
from playwright.sync_api import Page, expect

from core.simulator import Simulator
from core.workflows.contact_sheet import GAP, HEADER_HEIGHT, LABEL_WIDTH

PROMPTS = "give the cat a {red|blue} scarf\nmake it {night|winter}"


def _open_explore(page: Page, image: Path) -> None:
    upload(page, 1, image)
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-prompts textarea").fill(PROMPTS)
    expect(page.locator("#explore-cost")).to_contain_text("12 edit(s), 12 image(s) billed")


def test_a_4_by_3_grid_runs_fills_in_and_exports(page: Page, images: list[Path], sim: Simulator, screenshots: Path):
    sim.configure(latency=0.4)
    try:
        _open_explore(page, images[0])
        page.locator("#explore-run").click()
        status = page.locator("#explore-status")
        expect(status).to_contain_text("cell(s) finished")  # it reports while the grid fills
        expect(status).to_contain_text("12 done, 0 failed, 0 cancelled, of 12 cell(s).")
    finally:
        sim.configure(latency=0.0)
    tiles = page.locator("#explore-grid button.thumbnail-lg")
    expect(tiles).to_have_count(12)
    assert {r["text"] for r in sim.stats.requests[-12:]} == {
        "give the cat a red scarf",
        "give the cat a blue scarf",
        "make it night",
        "make it winter",
    }
    assert {r["parameters"]["seed"] for r in sim.stats.requests[-12:]} == {1, 2, 3}
    assert sim.stats.max_in_flight <= 4  # the exploration's parallel-cells cap (QWEN_EDIT_EXPLORE_CONCURRENCY)
    screenshot(page, screenshots, "explore-grid.png", top=page.locator("#tabs"))

    with page.expect_download() as download:
        page.locator("#explore-export").click()
        page.locator("#explore-download a").first.click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        names = set(archive.namelist())
        cells = json.loads(archive.read("cells.json"))
        sheet = Image.open(io.BytesIO(archive.read("contact-sheet.png")))
    assert {"cells.csv", "cells.json", "contact-sheet.png"} <= names
    assert sum(name.startswith("images/") for name in names) == 12
    assert len(cells["cells"]) == 12 and cells["plan"]["seeds"] == [1, 2, 3]
    # 3 seed columns by 4 prompt rows of 256 px tiles, with a label column and a header row
    assert sheet.size == (LABEL_WIDTH + 3 * (256 + GAP) + GAP, HEADER_HEIGHT + 4 * (256 + GAP) + GAP)


def test_a_cell_opens_in_the_studio_with_its_settings(page: Page, images: list[Path]):
    _open_explore(page, images[0])
    page.locator("#explore-seeds textarea, #explore-seeds input").first.fill("7")
    expect(page.locator("#explore-cost")).to_contain_text("4 edit(s)")
    page.locator("#explore-run").click()
    expect(page.locator("#explore-status")).to_contain_text("4 done")
    page.locator("#explore-grid button.thumbnail-lg").nth(2).click()
    page.locator("#explore-open").click()

    expect(page.get_by_role("tab", name="Studio")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#prompt textarea")).to_have_value("make it night")
    expect(page.locator("#seed input")).to_have_value("7")
    expect(page.locator("#gallery button.thumbnail-lg")).to_have_count(1)


def test_a_plan_over_the_cap_is_refused_before_anything_runs(page: Page, images: list[Path], sim: Simulator):
    _open_explore(page, images[0])
    page.locator("#explore-seeds textarea, #explore-seeds input").first.fill(", ".join(str(s) for s in range(1, 14)))
    calls = sim.stats.generation_calls
    page.locator("#explore-run").click()
    expect(page.locator('[data-testid="toast-body"].error')).to_contain_text("the limit is 48")
    assert sim.stats.generation_calls == calls


@pytest.mark.parametrize(
    ("seeds", "sizes"),
    [("-1, -1", "auto"), ("7", "auto, AUTO, 1024x1024, 1024*1024")],
    ids=["two-random-seeds", "two-sizes-written-twice"],
)
def test_the_cost_line_counts_the_edits_the_run_sends(page: Page, images: list[Path], sim: Simulator, seeds, sizes):
    upload(page, 1, images[0])
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-prompts textarea").fill("make it night")
    page.locator("#explore-seeds textarea, #explore-seeds input").first.fill(seeds)
    page.get_by_label("Sizes").fill(sizes)
    expect(page.locator("#explore-cost")).to_contain_text("2 edit(s), 2 image(s) billed")
    calls = sim.stats.generation_calls

    page.locator("#explore-run").click()

    expect(page.locator("#explore-status")).to_contain_text("2 done, 0 failed, 0 cancelled, of 2 cell(s).")
    assert sim.stats.generation_calls - calls == 2


def test_cancel_stops_every_cell_not_sent_and_the_status_ends_with_the_summary(
    page: Page, images: list[Path], sim: Simulator
):
    _open_explore(page, images[0])
    calls = sim.stats.generation_calls
    sim.configure(latency=3.0)  # the first cells are still at the model when Cancel comes
    try:
        page.locator("#explore-run").click()
        _wait_for(lambda: sim.stats.in_flight == 4, "the run's 4 parallel cells at the model")
        # Cancel reaches the run once the page has its first report (the run is then in the page's state).
        expect(page.locator("#explore-status")).to_contain_text("of 12 cell(s) finished")
        page.locator("#explore-cancel").click()
        # The 4 cells sent land (they are billed); the 8 others never leave.
        expect(page.locator("#explore-status")).to_contain_text("4 done, 0 failed, 8 cancelled, of 12 cell(s).")
    finally:
        sim.configure(latency=0.0)
    assert sim.stats.generation_calls - calls == 4
    expect(page.locator("#explore-grid button.thumbnail-lg")).to_have_count(12)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
