"""Versions in headless Chromium, as a designer uses them: a chain of three edits made with "Use as Image 1", a
branch from step 1 made from History's tree, the tree with its branch, two versions compared; the Studio's
staging (keep one candidate, discard the others, find them again); and forged calls that name another visitor's
edit or a version that is not there, which change nothing.

Same set-up as test_browser.py (browser_support.py). With UPDATE_SCREENSHOTS=1 the test refreshes the version
tree's screenshots in docs/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    LAPTOP,
    ROOT,
    TIMEOUT_MS,
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
    load,
    results,
    screenshot,
    set_count,
    toast,
    upload,
)
from playwright.sync_api import Locator, Page, expect
from queue_calls import call, config, fn_index

from core.studio import Studio
from core.versions import lineage

pytestmark = pytest.mark.browser

PHOTO = ROOT / "assets" / "examples" / "coffee.jpg"
PHONE = {"width": 390, "height": 844}


def run(page: Page, prompt: str, expected: int) -> None:
    page.locator("#prompt textarea").fill(prompt)
    generate(page, expected)


def use_as_image_1(page: Page, prompt: str) -> None:
    """Put the newest result (the run of `prompt`) in Image 1, once the page shows it selected."""
    results(page).nth(0).click()
    expect(page.locator("#details-summary")).to_contain_text(prompt)
    before = page.locator("#slot-1 img").get_attribute("src")
    page.locator("#use-as-1").click()
    expect(page.locator("#slot-1 img")).not_to_have_attribute("src", before or "")


def open_history(page: Page, tab: str = "History") -> Locator:
    page.get_by_role("tab", name=tab).click()
    expect(page.locator("#history-usage")).to_contain_text(re.compile("edit|编辑"))
    return page.locator("#history-gallery button.thumbnail-item")


def nodes(page: Page) -> Locator:
    return page.locator("#versions-tree button.node")


def node(page: Page, step: str) -> Locator:
    return page.locator("#versions-tree button.node", has_text=step)


def pick(page: Page, step: str, prompt: str) -> None:
    """Click the version and wait for the server's answer: the line under the tree names it first."""
    node(page, step).filter(has_text=prompt).click()
    expect(node(page, step).filter(has_text=prompt)).to_have_class(re.compile(r"\bpicked\b"))
    expect(page.locator("#versions-line")).to_have_text(re.compile(rf"^\s*{re.escape(step)} · #\d [^·]*{prompt}"))


def after(url: str, index: int) -> int:
    """The fn_index of the event that follows event `index` (`.then`): Branch's own, after the Undo's copy."""
    dependencies = config(url)["dependencies"]
    return next(at for at, dep in enumerate(dependencies) if dep.get("trigger_after") == index and dep["backend_fn"])


def newest_edit(studio: Studio, owner_prompt: str) -> tuple[str, str]:
    """(owner, id) of the newest edit with this prompt."""
    with studio.history.reading() as db:
        sql = "SELECT owner, id FROM edits WHERE prompt = ? ORDER BY created DESC LIMIT 1"
        row = db.execute(sql, (owner_prompt,)).fetchone()
    return row["owner"], row["id"]


def test_a_three_step_chain_branched_from_step_one_shows_in_history_and_is_compared(
    open_page, browser, studio: Studio, app_url: str, screenshots: Path
):
    page = open_page()
    upload(page, 1, PHOTO)
    run(page, "Make it a watercolour", 1)
    use_as_image_1(page, "Make it a watercolour")
    run(page, "Add a red boat", 2)
    use_as_image_1(page, "Add a red boat")
    run(page, "Make it night", 3)

    items = open_history(page)
    expect(page.locator("#versions-tree")).to_contain_text("Select an edit above")
    items.nth(0).click()  # the newest: step 3
    expect(nodes(page)).to_have_count(4)  # the upload and three steps, one after the other
    for step, prompt in (("Step 1", "watercolour"), ("Step 2", "red boat"), ("Step 3", "night")):
        expect(node(page, step)).to_contain_text(prompt)
    expect(page.locator("#versions-line")).to_contain_text("Step 3 · #1 Make it night against Step 2 · #1")

    pick(page, "Step 1", "watercolour")  # back to step 1, and another way from there
    page.locator("#versions-branch").click()
    expect(page.locator("#undo")).to_contain_text("version put in Image 1")
    expect(page.locator("#generate")).to_be_visible()  # the Studio tab, Image 1 holding step 1's result
    run(page, "Make it snow", 4)

    open_history(page)
    page.locator("#history-gallery button.thumbnail-item").nth(0).click()  # the branch
    # The tree was shown (focused on step 3) when the tab opened; the click's own answer focuses on the snow. Wait
    # for it, or it lands after the picks below and puts the focus back (as for a visitor who clicks in the tree
    # before the edit they chose has loaded).
    expect(page.locator("#versions-line")).to_contain_text("Step 2 · #1 Make it snow against Step 1 · #1")
    expect(nodes(page)).to_have_count(5)
    expect(node(page, "Step 2")).to_have_count(2)  # siblings: the boat and the snow, both made from step 1
    newest = page.locator("#versions-tree button.node.newest")
    expect(newest).to_have_count(3)  # upload -> step 1 -> the snow: the newest branch
    expect(newest.nth(2)).to_contain_text("snow")
    owner, branch_id = newest_edit(studio, "Make it snow")
    _, first_id = newest_edit(studio, "Make it a watercolour")
    assert studio.history.get(owner, branch_id).inputs[0].parent == (first_id, 1)

    # Compare: the night (step 3) against the snow (the branch), in the slider, then as a difference.
    pick(page, "Step 2", "snow")
    page.locator("#versions-base").click()
    expect(page.locator("#versions-line")).to_contain_text("Make it snow is A")
    expect(page.locator("#versions-tree .badge.base")).to_have_count(1)
    pick(page, "Step 3", "night")
    expect(page.locator("#versions-line")).to_contain_text("Step 3 · #1 Make it night against Step 2 · #1 Make it snow")
    expect(page.locator("#versions-slider img")).to_have_count(2)
    page.locator("#versions-view").get_by_text("Difference", exact=True).click()
    expect(page.locator("#versions-other img")).to_be_visible()
    expect(page.locator("#versions-line")).to_contain_text("mean difference")
    page.locator("#versions-view").get_by_text("Slider", exact=True).click()
    expect(page.locator("#versions-other")).to_be_hidden()
    for close in page.locator('[data-testid="toast-close"]').all():  # the notes would cover the tree on a phone
        close.click()
    expect(toast(page, "info")).to_have_count(0)
    screenshot(page, screenshots, "versions-tree.png", top=page.locator("#versions-heading"))

    # The chain's zip: root to the night, each step's parameters.
    page.locator("#versions-zip").click()
    expect(page.locator("#history-download")).to_contain_text("qwen-version-chain")

    # Forged calls from someone else: this visitor's edit, a version by its position. Nothing changes.
    before = lineage(studio.history, owner, branch_id)
    zipped = call(app_url, fn_index(app_url, "versions-zip"), [branch_id, False, 1, None])
    assert zipped["success"] is False and "Pick a version" in zipped["output"]["error"]
    branched = call(app_url, after(app_url, fn_index(app_url, "versions-branch")), [branch_id, False, 1, None])
    assert branched["success"] is False
    discarded = call(app_url, fn_index(app_url, "versions-discard"), [branch_id, False, 2, None, "slider", None])
    assert discarded["success"] is False
    assert lineage(studio.history, owner, branch_id) == before

    page.set_viewport_size(PHONE)
    expect(nodes(page)).to_have_count(5)
    screenshot(page, screenshots, "versions-tree-phone.png", top=page.locator("#versions-heading"))

    # The same visitor (the same browser storage) on the Chinese page.
    context = browser.new_context(locale="zh-CN", viewport=LAPTOP, storage_state=page.context.storage_state())
    try:
        context.set_default_timeout(TIMEOUT_MS)
        chinese = context.new_page()
        load(chinese, app_url)
        open_history(chinese, "历史").nth(0).click()
        expect(nodes(chinese)).to_have_count(5)
        expect(node(chinese, "第 2 步")).to_have_count(2)
        expect(chinese.locator("#versions-line")).to_contain_text("对比")
        screenshot(chinese, screenshots, "versions-tree-zh.png", top=chinese.locator("#versions-heading"))
    finally:
        context.close()


def test_staging_keeps_one_candidate_and_the_discarded_ones_come_back_on_request(page: Page, studio: Studio):
    upload(page, 1, PHOTO)
    set_count(page, 3)
    run(page, "Three ideas for the cup", 3)
    results(page).nth(1).click()
    page.locator("#keep-only").click()
    expect(toast(page, "info")).to_contain_text("2 other(s) of its run discarded")
    expect(results(page)).to_have_count(1)
    owner, edit_id = newest_edit(studio, "Three ideas for the cup")
    assert [o.discarded is not None for o in studio.history.get(owner, edit_id).outputs] == [True, False, True]

    open_history(page).nth(0).click()
    expect(nodes(page)).to_have_count(2)  # the upload and the one kept
    page.locator("#history-discarded input").check()
    expect(nodes(page)).to_have_count(4)
    expect(page.locator("#versions-tree button.node.discarded")).to_have_count(2)
    page.locator("#versions-tree button.node.discarded").first.click()
    page.locator("#versions-restore").click()
    expect(page.locator("#versions-tree button.node.discarded")).to_have_count(1)
    assert sum(o.discarded is None for o in studio.history.get(owner, edit_id).outputs) == 2
