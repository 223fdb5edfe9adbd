"""The Explore tab in headless Chromium: a 4 prompts x 3 seeds grid runs from the page, fills in as cells
finish, exports a zip with a contact sheet, and a cell opens in the Studio or is starred; a 3 x 4 grid shows
its headers and every cell whole inside its area at laptop and phone width, in English and Chinese. Set-up as
in browser_support.py."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    LAPTOP,
    PHONE,
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
    screenshot,
    toast,
    upload,
)
from PIL import Image
from playwright.sync_api import Page, expect

from core.simulator import Simulator
from core.workflows.contact_sheet import GAP, HEADER_HEIGHT, LABEL_WIDTH

PROMPTS = "give the cat a {red|blue} scarf\nmake it {night|winter}"
SCARVES = "give the cat a {red|blue|green} scarf"  # 3 variants that differ in one word, mid-prompt
SEEDS = "11, 22, 33, 44"
VIEWPORTS = pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])

# Where a cell is once scrolled into view inside the grid's own scrolling area: its box against the area's,
# whether a click at its middle reaches it (not a sticky header over it), and its picture's box.
PLACE_JS = """(el) => {
    el.scrollIntoView({ block: "nearest", inline: "nearest" });
    const area = el.closest(".grid-area").getBoundingClientRect();
    const box = el.getBoundingClientRect();
    const picture = el.querySelector(".thumb").getBoundingClientRect();
    const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return {
        inside: box.left >= area.left - 1 && box.right <= area.right + 1
            && box.top >= area.top - 1 && box.bottom <= area.bottom + 1,
        reached: el.contains(hit),
        width: picture.width,
        height: picture.height,
    };
}"""
# Whether all of an element's text shows: nothing hidden past its edges.
SHOWS_ALL_JS = "(el) => el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1"


def _open_explore(page: Page, image: Path) -> None:
    upload(page, 1, image)
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-prompts textarea").fill(PROMPTS)
    expect(page.locator("#explore-cost")).to_contain_text("12 edit(s), 12 image(s) billed")


def _run_scarves(page: Page, image: Path, tab: str = "Explore", prompts: str = SCARVES) -> None:
    upload(page, 1, image)
    page.get_by_role("tab", name=tab).click()
    page.locator("#explore-prompts textarea").fill(prompts)
    page.locator("#explore-seeds textarea, #explore-seeds input").first.fill(SEEDS)
    page.locator("#explore-run").click()


@VIEWPORTS
def test_a_3_by_4_grid_has_headers_and_every_cell_shows_whole_inside_its_area(
    open_page: OpenPage, images: list[Path], screenshots: Path, viewport: dict[str, int]
):
    page = open_page(viewport=viewport)
    _run_scarves(page, images[0])
    expect(page.locator("#explore-status")).to_contain_text("12 done, 0 failed, 0 cancelled, of 12 cell(s).")

    grid = page.locator("#explore-grid")
    expect(grid.locator("th.col-head")).to_have_text(["seed 11", "seed 22", "seed 33", "seed 44"])
    heads = grid.locator("th.row-head")
    expect(heads).to_have_text(["…red…", "…blue…", "…green…"])  # the part that varies, not the common start
    expect(heads.first).to_have_attribute("title", "give the cat a red scarf")
    cells = grid.locator("button.cell")
    expect(cells).to_have_count(12)
    expect(cells.nth(5)).to_contain_text("…blue… · seed 22")
    title = "give the cat a blue scarf · seed 22 · Qwen Image Edit Plus (qwen-image-edit-plus) · auto size"
    expect(cells.nth(5)).to_have_attribute("title", title)
    for index in range(12):  # the last row and column too
        place = cells.nth(index).evaluate(PLACE_JS)
        assert place["inside"] and place["reached"], f"cell {index} is clipped or covered: {place}"
        assert place["width"] >= 96 and 0.8 <= place["width"] / place["height"] <= 1.25, place  # square, readable
        assert cells.nth(index).locator(".caption").evaluate(SHOWS_ALL_JS), f"cell {index}'s caption is cut"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page overflows"
    grid.locator(".grid-area").evaluate("(el) => el.scrollTo(0, 0)")
    name = "laptop" if viewport == LAPTOP else "phone"
    screenshot(page, screenshots, f"explore-grid-{name}-en.png", top=page.locator("#explore-grid"))


@VIEWPORTS
def test_the_chinese_page_shows_the_grid_its_headers_and_cell_states_in_chinese(
    open_page: OpenPage, images: list[Path], sim: Simulator, screenshots: Path, viewport: dict[str, int]
):
    page = open_page(locale="zh-CN", viewport=viewport)
    sim.configure(latency=1.5)
    sim.inject("content_inspection")  # the first cell sent fails
    try:
        _run_scarves(page, images[0], tab="探索", prompts="给猫戴上{红色|蓝色|绿色}围巾")
        grid = page.locator("#explore-grid")
        expect(grid.locator("button.cell").filter(has_text="等待中").first).to_be_visible()
        expect(grid.locator("button.cell").filter(has_text="失败：").first).to_be_visible()
        page.locator("#explore-cancel").click()
        expect(page.locator("#explore-status")).to_contain_text("取消")
        expect(page.locator("#explore-status")).not_to_contain_text("…")
    finally:
        sim.configure(latency=0.0)
    expect(grid.locator("th.col-head")).to_have_text(["种子 11", "种子 22", "种子 33", "种子 44"])
    expect(grid.locator("button.cell").filter(has_text="已取消").first).to_be_visible()
    expect(grid.locator("th.row-head")).to_have_text(["…红…", "…蓝…", "…绿…"])
    expect(grid.locator("th.corner")).to_contain_text("提示词")
    expect(page.locator("#explore-rows input")).to_have_value("提示词")
    expect(page.locator("#explore-prompts textarea")).to_have_attribute(
        "placeholder", "给猫戴上{红色|蓝色}围巾\n把画面变成{夜晚|冬天}"
    )
    words = grid.inner_text() + page.locator("#tab-explore").inner_text()
    for english in ("waiting", "cancelled", "failed", "seed", "auto size", "prompt"):
        assert english not in words.lower(), f"{english!r} left in English on the Chinese page"
    name = "laptop" if viewport == LAPTOP else "phone"
    screenshot(page, screenshots, f"explore-grid-{name}-zh.png", top=page.locator("#explore-grid"))


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
    tiles = page.locator("#explore-grid button.cell")
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
    page.locator("#explore-grid button.cell").nth(2).click()
    page.locator("#explore-open").click()

    expect(page.get_by_role("tab", name="Studio")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#prompt textarea")).to_have_value("make it night")
    expect(page.locator("#seed input")).to_have_value("7")
    expect(page.locator("#gallery button.thumbnail-lg")).to_have_count(1)


def test_a_starred_cell_is_starred_in_history(page: Page, images: list[Path]):
    _open_explore(page, images[0])
    page.locator("#explore-seeds textarea, #explore-seeds input").first.fill("5")
    page.locator("#explore-run").click()
    expect(page.locator("#explore-status")).to_contain_text("4 done")
    page.locator("#explore-star").click()
    expect(toast(page, "error")).to_contain_text("Select a result first")

    cell = page.locator("#explore-grid button.cell").nth(1)
    cell.click()
    expect(cell).to_have_attribute("aria-pressed", "true")
    page.locator("#explore-star").click()
    expect(toast(page, "info")).to_contain_text("Starred")

    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-gallery")).to_contain_text("★")
    expect(page.locator("#history-gallery .caption-label").filter(has_text="★")).to_have_count(1)


def test_a_prompt_written_as_html_shows_as_text(page: Page, images: list[Path]):
    prompt = 'write <i onmouseover="alert(1)">A&amp;B</i> on the sign'
    upload(page, 1, images[0])
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-prompts textarea").fill(prompt)
    page.locator("#explore-seeds textarea, #explore-seeds input").first.fill("1, 2")
    page.locator("#explore-run").click()
    expect(page.locator("#explore-status")).to_contain_text("2 done")

    grid = page.locator("#explore-grid")
    expect(grid.locator("th.row-head")).to_have_text(prompt)  # a lone prompt is shown whole
    expect(grid.locator("th.row-head")).to_have_attribute("title", prompt)
    expect(grid.locator("i")).to_have_count(0)


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
    expect(page.locator("#explore-grid button.cell")).to_have_count(12)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
