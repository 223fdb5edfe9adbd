"""The Studio's draft survives a reload, a restart and a run in flight, in headless Chromium; and it is this
browser's alone.

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio for the module, a
fresh offline context per test. The restart test serves its own app twice on one port (the browser keeps its
owner token per address), over one data dir.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
import queue_calls
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    TIMEOUT_MS,
    OpenPage,
    _free_port,
    choose_model,
    expect_model,
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
    load,
    results,
    screenshot,
    set_count,
    upload,
)
from conftest import FAST_RETRY, UNPACED
from playwright.sync_api import Browser, Page, expect

from core.caller import Caller
from core.identity import OwnerTokens
from core.request import EditRequest
from core.settings import Settings
from core.simulator import Simulator
from core.studio import Studio
from ui.layout import build_app, launch_options

pytestmark = pytest.mark.browser

STORE_IMAGE = re.compile(r"/store/objects/[0-9a-f]{2}/[0-9a-f]{64}\.png$")


# ---- helpers -----------------------------------------------------------------------------------------


def fill_setup(page: Page, images: list[Path]) -> None:
    """Two images, both prompts, a model, a custom size, n, a fixed seed and the watermark."""
    upload(page, 1, images[0])
    upload(page, 2, images[1])
    choose_model(page, "qwen-image-edit-max")
    page.locator("#prompt textarea").fill("Put the blue card on the red table")
    page.locator("#negative textarea").fill("blurry, text")
    page.locator("#size-mode").get_by_text("Custom", exact=True).click()
    page.get_by_label("Width").fill("1200")
    page.get_by_label("Width").press("Tab")
    page.get_by_label("Height").fill("896")
    page.get_by_label("Height").press("Tab")
    set_count(page, 2)
    page.locator("#random-seed input").uncheck()
    page.locator("#seed input").fill("4242")
    page.locator("#seed input").press("Tab")
    page.get_by_label("Watermark").check()


def expect_setup(page: Page) -> None:
    """What fill_setup left, as the page shows it after a reload: the images now served from the store."""
    for slot in (1, 2):
        expect(page.locator(f"#slot-{slot} img")).to_have_attribute("src", STORE_IMAGE)
    expect(page.locator("#slot-3 img")).to_have_count(0)
    expect(page.locator("#prompt textarea")).to_have_value("Put the blue card on the red table")
    expect(page.locator("#negative textarea")).to_have_value("blurry, text")
    expect_model(page, "qwen-image-edit-max")
    expect(page.locator("#size-mode input[value=custom]")).to_be_checked()
    expect(page.get_by_label("Width")).to_have_value("1200")
    expect(page.get_by_label("Height")).to_have_value("896")
    expect(page.locator("#n input[type=number]")).to_have_value("2")
    expect(page.locator("#random-seed input")).not_to_be_checked()
    expect(page.locator("#seed input")).to_have_value("4242")
    expect(page.get_by_label("Watermark")).to_be_checked()
    expect(page.locator("#cost")).to_contain_text("bills 2 image(s)")


def reload(page: Page) -> None:
    load(page, page.url)


def wait_for_row(studio: Studio, predicate, what: str, timeout: float = TIMEOUT_MS / 1000):
    """The newest edit of any owner once `predicate` holds for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(studio.history.path) as db:
            row = db.execute("SELECT id, owner, status FROM edits ORDER BY created DESC").fetchone()
        if row is not None and predicate(row):
            return row
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ---- reload and restart ------------------------------------------------------------------------------


def test_a_reload_brings_back_the_images_prompts_settings_and_results(
    page: Page, images: list[Path], sim: Simulator, screenshots: Path
):
    fill_setup(page, images)
    generate(page, 2)
    calls = sim.stats.generation_calls

    reload(page)
    expect_setup(page)
    expect(results(page)).to_have_count(2)
    assert sim.stats.generation_calls == calls  # brought back, not run again
    screenshot(page, screenshots, "reloaded-setup.png", full_page=True)


def test_a_draft_survives_a_restart_of_the_server(browser: Browser, sim: Simulator, images: list[Path], tmp_path):
    data_dir, port = tmp_path / "data", _free_port()

    def serve() -> tuple[Studio, object]:
        studio = Studio(
            Settings(data_dir=data_dir, simulate=True, rate_limits=UNPACED), simulator=sim, retry=FAST_RETRY
        )
        demo = build_app(studio, browser_secret="test-secret")
        demo.queue()
        demo.launch(
            prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **launch_options(studio)
        )
        return studio, demo

    studio, demo = serve()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        load(page, f"http://127.0.0.1:{port}/")
        fill_setup(page, images)
        expect(page.locator("#seed input")).to_have_value("4242")
        page.wait_for_timeout(500)  # the last change's save is on its way
        demo.close()
        studio.close()

        studio, demo = serve()  # a new process would find the same data dir
        reload(page)
        expect_setup(page)
    finally:
        context.close()
        demo.close()
        studio.close()


# ---- a run in flight ---------------------------------------------------------------------------------


def test_a_run_started_before_a_reload_shows_its_results_when_it_lands(
    page: Page, images: list[Path], sim: Simulator, studio: Studio, screenshots: Path
):
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Make it dusk")
    sim.configure(latency=8.0)  # long enough for a reload on a busy machine
    try:
        page.locator("#generate").click()
        wait_for_row(studio, lambda row: row[2] == "calling", "the edit to be sent")
        reload(page)
        status = page.locator("#run-status")
        expect(status).to_contain_text("started before the reload is still running")
        expect(results(page)).to_have_count(0)
        screenshot(page, screenshots, "reload-mid-run.png")
        expect(results(page)).to_have_count(1, timeout=15_000)
        expect(status).to_contain_text("has landed")
    finally:
        sim.configure(latency=0.0)
    screenshot(page, screenshots, "reload-mid-run-landed.png")
    reload(page)  # and it is part of the draft's results from now on
    expect(results(page)).to_have_count(1)
    expect(page.locator("#run-status")).not_to_contain_text("still running")


# ---- whose draft -------------------------------------------------------------------------------------


def test_another_browser_sees_a_blank_studio(open_page: OpenPage, images: list[Path], screenshots: Path):
    mine = open_page()
    upload(mine, 1, images[0])
    mine.locator("#prompt textarea").fill("Only mine")
    generate(mine, 1)

    theirs = open_page()
    expect(theirs.locator("#prompt textarea")).to_have_value("")
    expect(theirs.locator("#slot-1 img")).to_have_count(0)
    expect(results(theirs)).to_have_count(0)
    screenshot(theirs, screenshots, "another-browser-blank.png")

    reload(mine)  # the first browser's draft was kept all along
    expect(mine.locator("#prompt textarea")).to_have_value("Only mine")
    expect(results(mine)).to_have_count(1)


def event_index(url: str, api_name: str) -> int:
    """The fn_index of the page event named `api_name`."""
    dependencies = queue_calls.config(url)["dependencies"]
    (index,) = [i for i, dependency in enumerate(dependencies) if dependency.get("api_name") == api_name]
    return index


def _predict(url: str, index: int, data: list, session: str) -> dict:
    """Call a page event that skips the queue (as the page does: /run/predict by fn_index)."""
    body = {"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}
    return httpx.post(url.rstrip("/") + "/gradio_api/run/predict", json=body, timeout=30).json()


def test_a_forged_save_keeps_nobody_elses_file_and_an_unsigned_one_keeps_nothing(
    app_url: str, studio: Studio, make_image_bytes: bytes, images: list[Path]
):
    other = studio.edit(EditRequest.create([make_image_bytes], "theirs"), Caller("browser:someone-else"))
    theirs = studio.history.get("browser:someone-else", other.edit_id).inputs[0]
    their_file = str(studio.store.path_for(theirs.sha256, theirs.ext))
    token = OwnerTokens.in_data_dir(studio.settings.data_dir).issue()
    me = OwnerTokens.in_data_dir(studio.settings.data_dir).owner(token)

    index = event_index(app_url, "save_draft_images")
    forged = {"slot-1": {"path": their_file, "meta": {"_type": "gradio.FileData"}}}
    data = queue_calls.page_values(app_url, index, forged, {"qwen-edit-owner": {"token": token}})
    answer = _predict(app_url, index, data, "forger")
    assert "error" not in answer or not answer["error"], answer
    assert studio.drafts.get(me).images == ()  # another owner's stored file is not taken into this draft

    mine = {"slot-1": queue_calls.upload(app_url, str(images[0]))}
    signed = queue_calls.page_values(app_url, index, mine, {"qwen-edit-owner": {"token": token}})
    _predict(app_url, index, signed, "forger")
    assert len(studio.drafts.get(me).images) == 1  # the caller's own upload is kept

    unsigned = queue_calls.page_values(app_url, index, mine, {"qwen-edit-owner": {"token": "forged.token"}})
    _predict(app_url, index, unsigned, "forger-2")
    with sqlite3.connect(studio.history.path) as db:
        owners = [row[0] for row in db.execute("SELECT owner FROM draft_images")]
    assert me in owners and not [owner for owner in owners if owner.startswith("anon:")]  # unsigned: nothing kept


@pytest.fixture(name="make_image_bytes")
def fixture_make_image_bytes(images: list[Path]) -> bytes:
    return images[2].read_bytes()
