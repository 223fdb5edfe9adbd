"""Waiting for DashScope's rate limit, in headless Chromium: the page and the Explore tab say how long, and
Cancel during the wait sends nothing. The module's studio keeps the catalog's limits (edit-max: 2 a minute);
each test first takes edit-max's turn itself, so the page's next call has to wait. Set-up as in
browser_support.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    choose_model,
    fixture_app_url,
    fixture_browser,
    fixture_images,
    fixture_no_leftover_faults,
    fixture_open_page,
    fixture_page,
    fixture_requests_made,
    fixture_sim,
    upload,
)
from playwright.sync_api import Page, expect

from core.request import EditRequest
from core.settings import Settings
from core.simulator import Simulator
from core.studio import Studio

pytestmark = pytest.mark.browser

MAX = "qwen-image-edit-max"
WAITING = "Waiting for DashScope's limit of 2 edits a minute on qwen-image-edit-max — starts in about"


@pytest.fixture(scope="module", name="studio")
def fixture_studio(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """The module's simulator-mode studio, pacing as the catalog says, against a simulator that enforces it."""
    from conftest import FAST_RETRY

    sim.configure(enforce_rate_limits=True)
    settings = Settings(data_dir=tmp_path_factory.mktemp("browser") / "data", simulate=True)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    yield studio
    studio.close()


def take_the_turn(studio: Studio, image: Path) -> int:
    """Send an edit-max call now, so the next one waits about 30 s; return the simulator's calls so far."""
    studio.edit(EditRequest.create([image], "a first edit", model=MAX, size="512*512", seed=1))
    assert studio.simulator is not None
    return studio.simulator.stats.generation_calls


def statuses(studio: Studio) -> list[str]:
    """The status of every finished edit in history, whoever's."""
    return [studio.history.get(owner, edit_id).status for owner, edit_id in studio.history.eviction_order()]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_page_says_how_long_an_edit_waits_and_cancel_sends_nothing(
    page: Page, images: list[Path], studio: Studio, sim: Simulator
):
    upload(page, 1, images[0])
    choose_model(page, MAX)
    page.locator("#prompt textarea").fill("Make it look like a watercolour")
    calls = take_the_turn(studio, images[0])

    page.locator("#generate").click()
    expect(page.locator("#run-status")).to_contain_text(WAITING)
    page.locator("#cancel").click()

    expect(page.locator("#run-status")).to_have_text("Run 1 stopped; this edit was not sent and is not billed.")
    wait_for(lambda: "cancelled" in statuses(studio), "the waiting edit to end as cancelled")
    assert sim.stats.generation_calls == calls and sim.stats.throttled == 0


def test_explore_says_how_long_its_cells_wait_and_cancel_sends_none_of_them(
    page: Page, images: list[Path], studio: Studio, sim: Simulator
):
    upload(page, 1, images[0])
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-prompts textarea").fill("give the cat a red scarf")
    models = page.locator("#explore-models")
    models.get_by_label(MAX, exact=True).check()
    models.get_by_label("qwen-image-edit-plus", exact=True).uncheck()
    expect(page.locator("#explore-cost")).to_contain_text("3 edit(s)")
    calls = take_the_turn(studio, images[0])

    page.locator("#explore-run").click()
    status = page.locator("#explore-status")
    expect(status).to_contain_text("0 of 3 cell(s) finished… " + WAITING)
    page.locator("#explore-cancel").click()

    expect(status).to_contain_text("0 done, 0 failed, 3 cancelled, of 3 cell(s).")
    assert sim.stats.generation_calls == calls and sim.stats.throttled == 0
