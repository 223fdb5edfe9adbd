"""One click, one run, and a status line that tells the truth about it, in headless Chromium: Generate is
disabled and reads "Running…" while its run is in flight, a double click or Ctrl+Enter twice bills one edit,
Cancel says whether the edit was sent, and the wait shows its seconds against this model's usual time.
Set-up as in browser_support.py; the simulator's latency keeps a run in flight."""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
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
    results,
    screenshot,
    toast,
    upload,
)
from playwright.sync_api import Page, expect
from queue_calls import fn_index, page_values
from queue_calls import upload as upload_file

from core import catalog
from core.identity import OwnerTokens
from core.pacing import account_of
from core.simulator import Simulator
from core.studio import SIMULATOR_KEY, Studio

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "qwen-edit-screenshots" / "run"  # looked at by hand, never in the tree
SAVED = "image(s) saved in"
# Every text the status line shows, in order, into window.lines.
RECORD_JS = """(status) => {
    window.lines = [];
    new MutationObserver(() => {
        const text = status.innerText.trim();
        if (text && window.lines.at(-1) !== text) window.lines.push(text);
    }).observe(status, { subtree: true, childList: true, characterData: true });
}"""
# Ctrl+Enter pressed twice in quick succession, in the prompt.
TWICE_JS = """(field) => {
    for (const _ of [1, 2]) {
        field.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true }));
    }
}"""


@pytest.fixture(name="slow")
def fixture_slow(sim: Simulator) -> Iterator[Callable[[float], None]]:
    """slow(seconds): every generation of the simulator takes that long, until the test ends."""
    yield lambda seconds: sim.configure(latency=seconds)
    sim.configure(latency=0.0)


def prepare(page: Page, image: Path, prompt: str = "Make it look like a watercolour") -> None:
    upload(page, 1, image)
    page.locator("#prompt textarea").fill(prompt)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def statuses(studio: Studio) -> list[str]:
    """The status of every edit in history that is not running, whoever's."""
    return [studio.history.get(owner, edit_id).status for owner, edit_id in studio.history.eviction_order()]


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, SHOTS, name)


def runs_sent(page: Page, app_url: str) -> list[int]:
    """A list that grows by one each time the page sends a run of Generate to the server."""
    generate, sent = fn_index(app_url, "generate"), []

    def on_request(request: Any) -> None:
        if "/queue/join" in request.url and (request.post_data_json or {}).get("fn_index") == generate:
            sent.append(generate)

    page.on("request", on_request)
    return sent


def finished(page: Page) -> None:
    """Wait until the run has ended with its results, and Generate can be pressed again."""
    expect(page.locator("#run-status")).to_contain_text(SAVED)
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator("#generate")).to_have_text("Generate")


def test_a_double_click_on_generate_runs_one_edit(
    page: Page, app_url: str, images: list[Path], sim: Simulator, slow: Callable[[float], None]
):
    prepare(page, images[0])
    slow(1.5)
    calls, sent = sim.stats.generation_calls, runs_sent(page, app_url)

    page.locator("#generate").dblclick()

    finished(page)
    expect(results(page)).to_have_count(1)
    expect(toast(page, "error")).to_have_count(0)
    assert len(sent) == 1  # the page itself sent one run: the server had none to refuse
    time.sleep(0.5)  # a second run, had there been one, started with the first: it would be at the model now
    assert sim.stats.generation_calls == calls + 1


def test_ctrl_enter_twice_runs_one_edit(
    page: Page, app_url: str, images: list[Path], sim: Simulator, slow: Callable[[float], None]
):
    prepare(page, images[0])
    slow(1.5)
    calls, sent = sim.stats.generation_calls, runs_sent(page, app_url)

    page.locator("#prompt textarea").evaluate(TWICE_JS)

    finished(page)
    expect(toast(page, "error")).to_have_count(0)
    assert len(sent) == 1  # the page itself sent one run: the server had none to refuse
    time.sleep(0.5)
    assert sim.stats.generation_calls == calls + 1


def test_generate_is_disabled_and_reads_running_until_its_run_ends(
    open_page: OpenPage, images: list[Path], sim: Simulator, slow: Callable[[float], None]
):
    page = open_page()
    prepare(page, images[0])
    slow(1.5)
    button = page.locator("#generate")

    button.click()
    expect(button).to_be_disabled()
    expect(button).to_have_text("Running…")
    shoot(page, "running-en.png")
    finished(page)

    sim.inject("content_inspection")  # a failure ends the run too
    button.click()
    expect(button).to_have_text("Running…")
    expect(page.locator("#run-status")).to_contain_text("Run 2 failed")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Generate")

    chinese = open_page(locale="zh-CN")
    prepare(chinese, images[0])
    chinese.locator("#generate").click()
    expect(chinese.locator("#generate")).to_be_disabled()
    expect(chinese.locator("#generate")).to_have_text("运行中…")
    shoot(chinese, "running-zh.png")
    expect(chinese.locator("#run-status")).to_contain_text("已保存")
    expect(chinese.locator("#generate")).to_have_text("生成")


def test_cancel_before_the_edit_is_sent_says_it_is_not_sent_nor_billed(
    page: Page, images: list[Path], sim: Simulator, studio: Studio
):
    model = catalog.get_model("qwen-image-edit-max")  # used by no other test here: its line stays held back
    prepare(page, images[0])
    choose_model(page, model.id)
    line = studio.pacer.line(account_of(SIMULATOR_KEY), model.rate_group, studio.settings.rate_limit(model))
    line.push_back(60)  # as after a 429: the page's edit waits its turn, unsent
    calls = sim.stats.generation_calls

    page.locator("#generate").click()
    expect(page.locator("#run-status")).to_contain_text("starts in about")
    page.locator("#cancel").click()

    expect(page.locator("#run-status")).to_have_text("Run 1 stopped; this edit was not sent and is not billed.")
    expect(page.locator("#generate")).to_be_enabled()
    shoot(page, "cancel-unsent.png")
    wait_for(lambda: "cancelled" in statuses(studio), "the waiting edit to end as cancelled")
    assert sim.stats.generation_calls == calls


def test_cancel_after_the_edit_is_sent_says_it_will_still_land_in_history(
    page: Page, images: list[Path], sim: Simulator, studio: Studio, slow: Callable[[float], None]
):
    prepare(page, images[0], "Cancel me after sending")
    slow(3)
    calls = sim.stats.generation_calls

    page.locator("#generate").click()
    expect(page.locator("#run-status")).to_contain_text("Waiting for Qwen…")
    page.locator("#cancel").click()

    expect(page.locator("#run-status")).to_have_text(
        "Run 1: stopped waiting — this edit was already sent and will still land in History."
    )
    expect(page.locator("#generate")).to_be_enabled()
    shoot(page, "cancel-sent.png")
    assert sim.stats.generation_calls == calls + 1

    def landed() -> bool:
        return any(
            (edit := studio.history.get(owner, edit_id)).prompt == "Cancel me after sending" and edit.status == "done"
            for owner, edit_id in studio.history.eviction_order()
        )

    wait_for(landed, "the cancelled edit to land in history")


def test_the_wait_shows_its_seconds_against_the_usual_time_of_this_model(
    page: Page, images: list[Path], slow: Callable[[float], None]
):
    prepare(page, images[0])
    choose_model(page, "qwen-image-edit")  # no other test here runs it: its history starts empty
    slow(2.6)
    page.locator("#run-status").evaluate(RECORD_JS)

    page.locator("#generate").click()
    finished(page)
    first = page.evaluate("() => window.lines.splice(0)")
    slow(5)  # slower than usual, and seconds enough for a loaded machine to show a few of them
    page.locator("#generate").click()
    expect(page.locator("#run-status")).to_have_text(
        re.compile(r"Run 2 · Waiting for Qwen… [1-4] s \(usually about 3 s\)")
    )
    shoot(page, "waiting-usual.png")
    finished(page)
    second = page.evaluate("() => window.lines")

    # No history of the model yet: the seconds go by and no usual time is claimed.
    assert first[0] == "Run 1 · Preparing the images…"
    assert waited(first, "Run 1 · Waiting for Qwen… {} s")[0] == 0
    # The first run's line is gone as soon as the second starts; it waits against the first's time.
    assert second[0] == "Run 2 · Preparing the images…"
    seconds = waited(second, "Run 2 · Waiting for Qwen… {} s (usually about 3 s)")
    assert seconds[0] == 0 and len(seconds) >= 3
    assert second[-1].startswith(f"Run 2 · 1 {SAVED}")


def waited(lines: list[str], pattern: str) -> list[int]:
    """The seconds counted in the waiting lines of `lines`, each of them `pattern` with its number: one a
    second, rising (a loaded page may skip one), none past the call's end."""
    waiting = [line for line in lines if "Waiting for Qwen" in line]
    expected = re.compile(re.escape(pattern).replace(r"\{\}", r"(\d+)"))
    seconds = [int(match.group(1)) for line in waiting if (match := expected.fullmatch(line))]
    assert len(seconds) == len(waiting), waiting
    assert seconds == sorted(set(seconds)) and seconds[-1] <= 5, waiting
    return seconds


def join(url: str, index: int, data: list[Any], session: str) -> str:
    """Join the queue for dependency `index` in `session`; returns the event's id."""
    body = {"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}
    joined = httpx.post(f"{url}gradio_api/queue/join", json=body, timeout=30)
    joined.raise_for_status()
    return joined.json()["event_id"]


def completions(url: str, session: str, count: int) -> list[dict[str, Any]]:
    """The final messages of the first `count` events of `session` to complete, from its one stream."""
    done: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}, timeout=60) as stream:
        for line in stream.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                done.append(message)
                if len(done) == count:
                    return done
    raise AssertionError("the queue stream ended early")


def test_the_server_refuses_a_second_run_of_a_tab_while_its_first_is_in_flight(
    app_url: str, images: list[Path], sim: Simulator, studio: Studio, slow: Callable[[float], None]
):
    """What the page's own guard stops never reaches the server; a client that sends it anyway is refused."""
    token = OwnerTokens.in_data_dir(studio.settings.data_dir).issue()
    generate = fn_index(app_url, "generate")
    values = page_values(
        app_url,
        generate,
        {"slot-1": upload_file(app_url, str(images[0])), "prompt": "one click, one run"},
        {"qwen-edit-owner": {"token": token}, "qwen-edit-key": {"api_key": ""}},
    )
    slow(2)
    calls = sim.stats.generation_calls
    tab, other_tab = secrets.token_hex(8), secrets.token_hex(8)

    join(app_url, generate, values, tab)
    join(app_url, generate, values, tab)  # the same tab again, while its first run is in flight
    join(app_url, generate, values, other_tab)  # another tab of the same browser may run meanwhile

    first, second = completions(app_url, tab, 2)
    (other,) = completions(app_url, other_tab, 1)
    assert not first["success"] and second["success"] and other["success"]
    assert first["output"]["error"] == (
        "Run 1 is still in progress in this tab, so this one was not started (nothing was sent). "
        "Wait for it to finish, or press Cancel, then generate again."
    )
    assert sim.stats.generation_calls == calls + 2
