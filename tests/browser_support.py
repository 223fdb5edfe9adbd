"""What the browser test modules share: one app and one headless Chromium per module, a fresh offline
context per page, and helpers that act and wait as a visitor would.

A test module imports the fixtures it uses (`fixture_<name>`, requested by `<name>`) and the helpers.
With UPDATE_SCREENSHOTS=1 the `screenshots` fixture is docs/screenshots/; otherwise a temporary folder, so a
run leaves the tree clean.
"""

from __future__ import annotations

import io
import os
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from core import catalog
from core.settings import Settings
from core.simulator import Simulator
from core.studio import Studio
from ui.layout import build_app, launch_options

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000
# Assertions wait as long as actions do: a loaded 2-core machine fills a 12-cell grid in more than 5 s.
expect.set_options(timeout=TIMEOUT_MS)

OpenPage = Callable[..., Page]

# Resolves when the short animations (hover fades, a message sliding in, and any that follow them) have
# ended; long ones, such as a message's countdown bar, are left running.
SETTLE_JS = """async () => {
    const short = () => document.getAnimations().filter((a) => {
        const t = a.effect?.getTiming();
        return t && t.iterations !== Infinity && t.duration <= 1000 && a.playState === "running";
    });
    for (let round = 0; round < 20 && short().length; round++) {
        await Promise.all(short().map((a) => a.finished.catch(() => null)));
        await new Promise(requestAnimationFrame);
    }
}"""


# ---- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module", name="browser")
def fixture_browser() -> Iterator[Browser]:
    """Debian's Chromium, headless. Missing: skipped on a developer's machine, a failure in CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (see .ci/run)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", name="sim")
def fixture_sim() -> Iterator[Simulator]:
    """One simulator for the module (it replaces conftest's per-test one here)."""
    with Simulator() as simulator:
        yield simulator


@pytest.fixture(autouse=True, name="no_leftover_faults")
def fixture_no_leftover_faults(sim: Simulator) -> Iterator[None]:
    yield
    sim.clear_faults()


@pytest.fixture(scope="module", name="studio")
def fixture_studio(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """The module's simulator-mode studio over a temporary data dir (it replaces conftest's per-test one), with
    no rate limits: the page's tests do not wait for turns (test_browser_pacing.py does)."""
    from conftest import FAST_RETRY, UNPACED

    settings = Settings(data_dir=tmp_path_factory.mktemp("browser") / "data", simulate=True, rate_limits=UNPACED)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    yield studio
    studio.close()


@pytest.fixture(scope="module", name="app_url")
def fixture_app_url(studio: Studio) -> Iterator[str]:
    """The page over the module's studio, served on a free loopback port."""
    settings = studio.settings
    demo = build_app(studio, browser_secret="test-secret")
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_max)
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=_free_port(),
        quiet=True,
        **launch_options(studio),
    )
    yield demo.local_url
    demo.close()


@pytest.fixture(name="requests_made")
def fixture_requests_made() -> list[str]:
    """Every URL the pages of one test asked for (the page itself, assets, API calls, images)."""
    return []


@pytest.fixture(name="open_page")
def fixture_open_page(browser: Browser, app_url: str, requests_made: list[str]) -> Iterator[OpenPage]:
    """open_page(locale="en-US", viewport=LAPTOP): the app loaded in a fresh context, offline but for 127.0.0.1."""
    contexts = []
    elsewhere: list[str] = []

    def abort_elsewhere(route) -> None:
        elsewhere.append(route.request.url)
        route.abort()

    def open_(locale: str = "en-US", viewport: dict[str, int] = LAPTOP) -> Page:
        context = browser.new_context(locale=locale, viewport=viewport)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("request", lambda request: requests_made.append(request.url))
        context.route(lambda url: not _is_local(url), abort_elsewhere)
        page = context.new_page()
        load(page, app_url)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not elsewhere, f"the page tried to reach other hosts: {elsewhere}"


@pytest.fixture(name="page")
def fixture_page(open_page: OpenPage) -> Page:
    """The page on a laptop screen, in English."""
    return open_page()


@pytest.fixture(scope="module", name="images")
def fixture_images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three PNGs of different sizes and colours, for slots 1 to 3."""
    folder = tmp_path_factory.mktemp("inputs")
    paths = []
    for k, (size, color) in enumerate(
        [((1024, 1024), (214, 96, 77)), ((900, 700), (72, 140, 190)), ((768, 1024), (120, 170, 90))], start=1
    ):
        path = folder / f"input-{k}.png"
        Image.new("RGB", size, color).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module", name="screenshots")
def fixture_screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/screenshots with UPDATE_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


# ---- helpers -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1"


def load(page: Page, url: str) -> None:
    """Open (or reopen) the page and wait until its load event has answered and been applied."""
    with page.expect_response(lambda response: response.url.endswith("/gradio_api/run/predict")):
        page.goto(url)
    expect(page.locator("#generate")).to_be_enabled()
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def upload(page: Page, slot: int, path: Path) -> None:
    page.locator(f"#slot-{slot} input[type=file]").set_input_files(path)
    expect(page.locator(f"#slot-{slot} img")).to_be_visible()


def set_count(page: Page, n: int) -> None:
    field = page.locator("#n input[type=number]")
    field.fill(str(n))
    field.press("Enter")
    expect(page.locator("#cost")).to_contain_text(f"bills {n} image(s)")


def results(page: Page) -> Locator:
    """The results as the gallery's grid lays them out."""
    return page.locator("#gallery button.thumbnail-lg")


def generate(page: Page, expected: int) -> None:
    """Click Generate and wait until this run has finished with `expected` results in the gallery (earlier
    runs' results stay there too)."""
    status = page.locator("#run-status")
    before = status.inner_text()  # an earlier run's line also says "saved in": wait for this run's own
    page.locator("#generate").click()
    expect(status).not_to_have_text(before)
    expect(status).to_contain_text(re.compile("saved in|已保存"))  # the English or the Chinese page
    expect(results(page)).to_have_count(expected)


def model_label(model_id: str, lang: str = "en") -> str:
    """What the model picker shows for `model_id`."""
    return catalog.get_model(model_id).text(lang)[0]


def choose_model(page: Page, model_id: str, lang: str = "en") -> None:
    """Pick `model_id` in the Studio's model picker, by its label, as a visitor does."""
    page.locator("#model input").click()
    page.get_by_role("option", name=model_label(model_id, lang), exact=True).click()
    expect_model(page, model_id, lang)


def expect_model(page: Page, model_id: str, lang: str = "en") -> None:
    expect(page.locator("#model input")).to_have_value(model_label(model_id, lang))


def toast(page: Page, kind: str) -> Locator:
    return page.locator(f'[data-testid="toast-body"].{kind}')


def is_uncovered(page: Page, selector: str) -> bool:
    """Whether the middle of the first element matching `selector` is what a click there would hit."""
    return page.locator(selector).first.evaluate(
        """(el) => {
            el.scrollIntoView({ block: "center" });
            const box = el.getBoundingClientRect();
            const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
            return el.contains(hit);
        }"""
    )


def screenshot(page: Page, folder: Path, name: str, *, full_page: bool = False, top: Locator | None = None) -> None:
    """A small PNG (256 colours) of the page, with the pointer off every control: scrolled to the top, or so
    that `top` is at the top of the window."""
    page.mouse.move(0, 0)
    if top is None:
        page.evaluate("() => window.scrollTo(0, 0)")
    else:
        top.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
    page.evaluate(SETTLE_JS)
    for message in page.locator('[data-testid="toast-body"]').all():
        expect(message).to_have_css("opacity", "1")
    shot = Image.open(io.BytesIO(page.screenshot(full_page=full_page)))
    small = shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(folder / name, optimize=True)
