"""Recipes on the page, in headless Chromium: the change-text form fills and writes its prompt and suggestions,
warns live when the lengths differ a lot, runs, and is undone; the Chinese page labels the form in Chinese and
writes the Chinese template, with the new text rendered into Image 2; screenshots of the form (English, Chinese,
phone).

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio and one browser for
the module, a fresh offline context per test, waits on what the page shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import queue_calls
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    LAPTOP,
    PHONE,
    ROOT,
    OpenPage,
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
    results,
    screenshot,
    upload,
)
from gradio.utils import get_upload_folder
from playwright.sync_api import Page, expect

from core import catalog
from core.recipes import get_recipe
from core.simulator import Simulator

pytestmark = pytest.mark.browser

SIGN = ROOT / "assets" / "examples" / "sign.png"
CHANGE_TEXT = get_recipe("change-text")
TALL = {"width": LAPTOP["width"], "height": 1900}  # the setup column whole: slots, the recipe form, the prompt


def open_recipes(page: Page, label: str) -> None:
    """Open the Recipes accordion and pick the recipe labelled `label`."""
    page.locator("#recipes").locator("button, .label-wrap").first.click()
    page.locator("#recipe-picker input").click()
    page.get_by_role("option", name=label, exact=True).click()
    expect(page.locator("#recipe-write")).to_be_visible()


def field(page: Page, place: int) -> object:
    return page.locator(f"#recipe-text-{place} textarea")


def test_change_text_fills_warns_writes_runs_and_undoes(page: Page, sim: Simulator, screenshots: Path):
    """Pick "Change text": its form and example show; a new text much longer than the old one warns at once,
    a like length does not; Write puts `Replace "OPEN" with "CLOSED"` in the prompt (still editable) and the
    suggested model, size and n; Generate sends that prompt and two results land; Undo brings the visitor's
    own prompt and settings back."""
    upload(page, 1, SIGN)
    prompt = page.locator("#prompt textarea")
    prompt.fill("my own prompt")
    open_recipes(page, CHANGE_TEXT.label)
    expect(page.locator("#recipe-about")).to_contain_text(CHANGE_TEXT.example_prompt("en"))
    expect(page.locator("#recipe-text-0")).to_contain_text("Old text")
    field(page, 0).fill("OPEN")
    field(page, 1).fill("CLOSED UNTIL FURTHER NOTICE")
    warning = page.locator("#recipe-warning")
    expect(warning).to_contain_text("much longer")
    page.set_viewport_size(TALL)
    screenshot(page, screenshots, "recipe-change-text-en.png", top=page.locator("#recipes"))
    field(page, 1).fill("CLOSED")
    expect(warning).to_be_hidden()
    page.locator("#recipe-write").click()

    written = CHANGE_TEXT.prompt({"old": "OPEN", "new": "CLOSED"}, "en")
    expect(prompt).to_have_value(written)
    expect_model(page, CHANGE_TEXT.model)
    expect(page.locator("#n input[type=number]")).to_have_value(str(CHANGE_TEXT.n))
    expect(page.locator("#size-mode input[value='match-1']")).to_be_checked()
    expect(page.locator("#undo")).to_contain_text("recipe written")
    expect(page.locator("#model-info")).to_contain_text(CHANGE_TEXT.model)

    prompt.fill(written + " Use red letters.")  # the written prompt stays the visitor's to edit
    generate(page, CHANGE_TEXT.n)
    sent = sim.stats.requests[-1]
    assert sent["text"] == written + " Use red letters."
    assert sent["model"] == CHANGE_TEXT.model and sent["image_count"] == 1

    page.locator("#undo").click()
    expect(prompt).to_have_value("my own prompt")
    expect_model(page, catalog.DEFAULT_MODEL)
    expect(page.locator("#size-mode input[value='auto']")).to_be_checked()
    expect(results(page)).to_have_count(CHANGE_TEXT.n)  # Undo puts the setup back, not the results away


def test_the_chinese_page_labels_the_form_in_chinese_and_renders_the_new_text_into_image_2(
    open_page: OpenPage, sim: Simulator, screenshots: Path
):
    """On a Chinese browser the picker, the fields and the example read in Chinese; Write with "render the new
    text" puts the Chinese template in the prompt, the rendered text in Image 2, and the run sends both images."""
    page = open_page(locale="zh-CN")
    upload(page, 1, SIGN)
    open_recipes(page, CHANGE_TEXT.label_zh)
    expect(page.locator("#recipe-text-0")).to_contain_text("原文字")
    expect(page.locator("#recipe-text-1")).to_contain_text("新文字")
    expect(page.locator("#recipe-about")).to_contain_text(CHANGE_TEXT.example_prompt("zh"))
    expect(page.locator("#recipe-render")).to_contain_text("把新文字渲染为参考图")
    field(page, 0).fill("OPEN")
    field(page, 1).fill("营业中")
    page.locator("#recipe-render input").check()
    page.locator("#recipe-write").click()

    written = CHANGE_TEXT.prompt({"old": "OPEN", "new": "营业中"}, "zh", reference=2)
    expect(page.locator("#prompt textarea")).to_have_value(written)
    assert "图2" in written and "营业中" in written
    expect(page.locator("#slot-2 img")).to_have_attribute("src", re.compile(r"recipe-text"))
    expect(page.locator("#undo")).to_contain_text("撤销")
    expect(page.locator("#model-info")).to_contain_text(CHANGE_TEXT.model)
    page.set_viewport_size(TALL)
    screenshot(page, screenshots, "recipe-change-text-zh.png")

    generate(page, CHANGE_TEXT.n)
    sent = sim.stats.requests[-1]
    assert sent["text"] == written and sent["image_count"] == 2

    page.locator("#undo").click()  # the rendered text goes with the prompt it came with
    expect(page.locator("#slot-2 img")).to_have_count(0)
    expect(page.locator("#prompt textarea")).to_have_value("")


def test_the_recipe_form_fits_a_phone(open_page: OpenPage, screenshots: Path):
    """At 390 px the relight form (two choices and a text) stacks in one column, its labels whole; a choice
    picked there is written into the prompt."""
    page = open_page(viewport=PHONE)
    relight = get_recipe("relight")
    open_recipes(page, relight.label)
    expect(page.locator("#recipe-choice-0")).to_contain_text("Direction")
    expect(page.locator("#recipe-text-1")).to_contain_text("Colour of the light")
    expect(page.locator("#recipe-choice-2")).to_contain_text("Time of day")
    page.locator("#recipe-choice-0 input").click()
    page.get_by_role("option", name="the right", exact=True).click()
    page.locator("#recipe-write").click()
    written = relight.prompt({"direction": "right", "colour": "warm golden", "time": "golden-hour"}, "en")
    expect(page.locator("#prompt textarea")).to_have_value(written)
    box = page.locator("#recipe-write").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, screenshots, "recipe-relight-phone.png", top=page.locator("#recipes"))


def test_explore_writes_one_prompt_per_value_of_the_studio_recipe_and_counts_them(page: Page):
    """The Studio's recipe (change text, old text filled there) in Explore: vary "New text" over three values and
    the plan's prompts are the three prompts it writes, the cost line counting three edits per seed."""
    open_recipes(page, CHANGE_TEXT.label)
    field(page, 0).fill("OPEN")
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-recipe").locator("button, .label-wrap").first.click()
    expect(page.locator("#explore-recipe-line")).to_contain_text(CHANGE_TEXT.label)
    expect(page.locator("#explore-recipe-field input")).to_have_value("Old text (as it reads in the image)")
    page.locator("#explore-recipe-field input").click()
    page.get_by_role("option", name="New text", exact=True).click()
    page.locator("#explore-recipe-values textarea").fill("CLOSED\nSOLD OUT\nBACK SOON")
    page.locator("#explore-seeds textarea, #explore-seeds input").first.fill("7")
    page.locator("#explore-recipe-write").click()

    prompts = [CHANGE_TEXT.prompt({"old": "OPEN", "new": new}, "en") for new in ("CLOSED", "SOLD OUT", "BACK SOON")]
    expect(page.locator("#explore-prompts textarea")).to_have_value("\n".join(prompts))
    expect(page.locator("#explore-cost")).to_contain_text("3 edit(s), 3 image(s) billed")


def _write_event(url: str) -> int:
    """The fn_index of the handler that writes the prompt (the step after Undo's copy of the setup)."""
    conf = queue_calls.config(url)
    ids = {c["props"].get("elem_id"): c["id"] for c in conf["components"] if c.get("props", {}).get("elem_id")}
    (index,) = [
        index
        for index, dependency in enumerate(conf["dependencies"])
        if dependency.get("backend_fn") and {ids["recipe-picker"], ids["recipe-render"]} <= set(dependency["inputs"])
    ]
    return index


@pytest.mark.parametrize(
    ("forged", "says"),
    [
        ({"recipe-picker": "make-it-pop"}, "not in the list of choices"),  # Gradio's own refusal
        ({"recipe-text-1": "W" * 10_000}, "longer than 200 characters"),
        ({"recipe-font": "../../../etc/passwd"}, "not in the list of choices"),
        ({"recipe-text-1": "营业中", "recipe-font": "dejavu-sans"}, "has no glyphs for 营 业 中"),
    ],
)
def test_a_forged_write_is_refused_with_its_reason_and_renders_nothing(app_url: str, forged: dict, says: str):
    """Called straight through the queue, as any client can: an unknown recipe or font (Gradio refuses a value
    its dropdown does not offer), a text no form gives, a font without the characters: each refused naming it,
    no file rendered."""
    index = _write_event(app_url)
    values = {"recipe-picker": "change-text", "recipe-text-0": "OPEN", "recipe-text-1": "CLOSED"}
    values |= {"recipe-render": True, "recipe-font": "noto-sans", **forged}
    folder = Path(get_upload_folder()) / "recipe-text"
    before = set(folder.glob("*.png")) if folder.exists() else set()
    answer = queue_calls.call(app_url, index, queue_calls.page_values(app_url, index, values, {}))
    assert answer["success"] is False and says in answer["output"]["error"]
    assert (set(folder.glob("*.png")) if folder.exists() else set()) == before


def test_the_chinese_camera_form_on_a_phone_offers_the_moves_in_chinese(open_page: OpenPage, screenshots: Path):
    """The Chinese page at 390 px: the camera-angle form's move and degrees in Chinese, written in Chinese."""
    page = open_page(locale="zh-CN", viewport=PHONE)
    camera = get_recipe("camera-angle")
    open_recipes(page, camera.label_zh)
    expect(page.locator("#recipe-choice-0")).to_contain_text("镜头运动")
    expect(page.locator("#recipe-number-1")).to_contain_text("角度")
    page.locator("#recipe-choice-0 input").click()
    page.get_by_role("option", name="将镜头转为俯视（鸟瞰）视角，从正上方往下看", exact=True).click()
    page.locator("#recipe-write").click()
    expect(page.locator("#prompt textarea")).to_have_value(camera.prompt({"move": "birds-eye"}, "zh"))
    screenshot(page, screenshots, "recipe-camera-phone-zh.png", top=page.locator("#recipes"))


def test_rendering_with_images_2_and_3_in_use_is_refused_and_leaves_them(app_url: str, tmp_path: Path):
    """Both slots a rendered text may go to hold the visitor's images: Write refuses, naming them, and replaces
    neither."""
    index = _write_event(app_url)
    photo = tmp_path / "mine.png"
    photo.write_bytes(SIGN.read_bytes())
    values = {"recipe-picker": "change-text", "recipe-text-0": "OPEN", "recipe-text-1": "CLOSED"}
    values |= {"recipe-render": True, "recipe-font": "noto-sans"}
    values |= {"slot-2": queue_calls.upload(app_url, str(photo)), "slot-3": queue_calls.upload(app_url, str(photo))}
    answer = queue_calls.call(app_url, index, queue_calls.page_values(app_url, index, values, {}))
    assert answer["success"] is False
    assert "an empty slot (Image 2 or Image 3), and each of them holds an image" in answer["output"]["error"]
