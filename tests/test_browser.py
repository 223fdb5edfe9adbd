"""The page in headless Chromium, as a visitor uses it, over a simulator-mode studio.

One app and one browser serve the whole module; every test opens the page in a fresh browser context (its
own storage and session) that may reach 127.0.0.1 only (fixtures and helpers in browser_support.py). With
UPDATE_SCREENSHOTS=1 the tests also refresh docs/screenshots/; otherwise their screenshots go to a temporary
folder, so a run leaves the tree clean.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    PHONE,
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
    is_uncovered,
    load,
    results,
    screenshot,
    set_count,
    toast,
    upload,
)
from playwright.sync_api import Page, expect

from core.simulator import Simulator

pytestmark = pytest.mark.browser

PROMPT = "The girl in Image 1 wears the dress of Image 2, in the pose of Image 3"
# An <img>'s natural size and the RGB of its centre pixel.
PIXELS_JS = """(img) => {
    const [width, height] = [img.naturalWidth, img.naturalHeight];
    const context = Object.assign(document.createElement("canvas"), { width, height }).getContext("2d");
    context.drawImage(img, 0, 0);
    const [r, g, b] = context.getImageData(width >> 1, height >> 1, 1, 1).data;
    return { size: [width, height], centre: [r, g, b] };
}"""


# ---- tests -------------------------------------------------------------------------------------------


def test_the_empty_page_shows_the_simulator_banner(page: Page, screenshots: Path):
    banner = page.locator("#sim-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Simulator mode")
    expect(banner).to_contain_text("DASHSCOPE_API_KEY")
    expect(page.locator("#title")).to_contain_text("Qwen Edit Studio")
    screenshot(page, screenshots, "empty.png")


def test_three_images_and_n_4_give_four_results_and_the_seed_used(
    page: Page, images: list[Path], sim: Simulator, screenshots: Path
):
    for slot, path in enumerate(images, start=1):
        upload(page, slot, path)
    expect(page.locator("#size-preview")).to_contain_text("follows Image 3")
    page.locator("#prompt textarea").fill(PROMPT)
    set_count(page, 4)

    generate(page, expected=4)

    seed = sim.stats.requests[-1]["parameters"]["seed"]
    assert sim.stats.requests[-1]["image_count"] == 3
    expect(page.locator("#run-status")).to_contain_text("4 image(s) saved in")
    expect(page.locator("#run-status")).to_contain_text(f"seed {seed}")
    expect(page.get_by_label("Seed", exact=True)).to_have_value(str(seed))
    for item in results(page).all():
        expect(item.locator("img")).to_have_js_property("complete", True)
    screenshot(page, screenshots, "fusion-4-results.png")


def test_ctrl_enter_in_the_prompt_generates(page: Page, images: list[Path], sim: Simulator):
    upload(page, 1, images[0])
    calls = sim.stats.generation_calls
    prompt = page.locator("#prompt textarea")
    prompt.fill("Add a red hat")
    prompt.press("Control+Enter")

    expect(results(page)).to_have_count(1)
    assert sim.stats.generation_calls == calls + 1
    expect(prompt).to_have_value("Add a red hat")  # the shortcut does not type a newline


def test_a_selected_result_can_become_image_1(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Make it night")
    set_count(page, 2)
    generate(page, expected=2)

    chosen = results(page).nth(1)
    chosen.click()
    result_src = chosen.locator("img").get_attribute("src")
    page.locator("#use-as-1").click()

    expect(page.locator("#slot-1 img")).to_have_attribute("src", result_src)
    expect(page.locator("#details-summary")).to_contain_text("Seed: ")


def test_a_bad_file_in_slot_2_is_explained_and_nothing_else_is_lost(page: Page, images: list[Path], tmp_path: Path):
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill(PROMPT)
    fake = tmp_path / "holiday.png"
    fake.write_text("this is a text file, not a picture")

    page.locator("#slot-2 input[type=file]").set_input_files(fake)

    expect(toast(page, "warning")).to_contain_text("Image 2 cannot be read")
    expect(page.locator("#slot-2 img")).to_have_count(0)
    expect(page.locator("#slot-1 img")).to_be_visible()
    expect(page.locator("#prompt textarea")).to_have_value(PROMPT)


def test_refusals_show_their_reason_and_earlier_results_stay(
    page: Page, images: list[Path], sim: Simulator, screenshots: Path
):
    upload(page, 1, images[0])
    upload(page, 2, images[1])
    page.locator("#prompt textarea").fill("The cat from Image 2 sits on the chair in Image 1")
    set_count(page, 2)
    generate(page, expected=2)

    sim.inject("content_inspection")
    page.locator("#generate").click()
    expect(toast(page, "error")).to_contain_text("content check refused")
    expect(page.locator("#run-status")).to_contain_text("content check refused")
    expect(results(page)).to_have_count(2)
    assert is_uncovered(page, "#gallery button.thumbnail-lg"), "an error overlay hides the earlier results"
    screenshot(page, screenshots, "error.png")

    page.locator("#prompt textarea").fill("x" * 801)
    page.locator("#generate").click()
    expect(toast(page, "error").filter(has_text="limit is 800")).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("limit is 800")
    expect(results(page)).to_have_count(2)
    assert is_uncovered(page, "#gallery button.thumbnail-lg")


def test_qwen_image_edit_limits_n_size_and_rewriting_says_why_and_gives_them_back(page: Page):
    set_count(page, 4)
    page.locator("#size-mode").get_by_text("16:9", exact=True).click()
    choose_model(page, "qwen-image-edit")

    info = page.locator("#model-info")
    expect(info).to_contain_text("1 image per run")
    expect(info).not_to_contain_text("Up to 1")
    expect(info).to_contain_text("auto size only")
    expect(info).to_contain_text("no prompt rewriting")
    changes = page.locator("#model-changes")
    expect(changes).to_contain_text("number of images set to 1 (was 4)")
    expect(changes).to_contain_text("output size set to Auto")
    expect(changes).to_contain_text("prompt rewriting off")
    expect(page.locator("#n input[type=range]")).to_be_disabled()
    expect(page.locator("#n input[type=range]")).to_have_value("1")
    expect(page.locator("#n")).to_contain_text("makes 1 image per run")  # the disabled control says why
    expect(page.locator("#cost")).to_contain_text("bills 1 image(s)")
    for choice in page.locator("#size-mode input[type=radio]").all():
        expect(choice).to_be_disabled()
    expect(page.locator("#size-mode")).to_contain_text("picks the output size itself")
    extend = page.get_by_label("Prompt rewriting")
    expect(extend).to_be_disabled()
    expect(extend).not_to_be_checked()
    expect(extend).to_have_css("opacity", "0.5")  # and looks it

    # Back on a model that takes them, the visitor's own values come back, and the page says so.
    choose_model(page, "qwen-image-edit-plus")
    expect(changes).to_contain_text("Restored: number of images 4; your output size; prompt rewriting on")
    expect(page.locator("#n input[type=number]")).to_have_value("4")
    expect(page.locator("#size-mode").get_by_label("16:9")).to_be_checked()
    expect(extend).to_be_checked()
    expect(page.locator("#cost")).to_contain_text("bills 4 image(s)")


def test_a_chinese_browser_gets_chinese_labels_and_messages(open_page: OpenPage, images: list[Path], screenshots: Path):
    page = open_page(locale="zh-CN")
    expect(page.locator("#title")).to_contain_text("Qwen 图像编辑工作室")
    expect(page.locator("#prompt")).to_contain_text("提示词")
    expect(page.locator("#generate")).to_have_text("生成")
    expect(page.locator("#model-info")).to_contain_text("每次最多 6 张")
    expect(page.locator("#prompt-count")).to_have_text("0 / 800 字符")

    upload(page, 1, images[0])
    page.locator("#generate").click()

    expect(toast(page, "error")).to_contain_text("请填写提示词")
    screenshot(page, screenshots, "chinese.png")


def test_a_visitor_key_is_kept_hidden_and_can_be_forgotten(
    page: Page, app_url: str, images: list[Path], sim: Simulator
):
    key = "sk-visitor-0123456789"
    field = page.locator("#key input")
    field.fill(key)
    page.get_by_role("button", name="Save key in this browser").click()

    expect(page.locator("#key-status")).to_contain_text("saved in this browser only")
    expect(field).to_have_value("")
    stored = page.evaluate("() => JSON.stringify(localStorage)")
    assert "qwen-edit-key" in stored and key not in stored  # kept, encrypted

    load(page, app_url)
    expect(page.locator("#key-status")).to_contain_text("A key is saved in this browser (hidden)")
    expect(field).to_have_value("")
    assert key not in page.content()
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Add a red hat")
    generate(page, expected=1)
    assert key in sim.stats.requests[-1]["authorization"]  # the stored key is the one used

    page.locator("#forget-key").click()
    expect(page.locator("#key-status")).to_contain_text("removed from this browser")

    load(page, app_url)
    expect(page.locator("#key-status")).not_to_contain_text("saved")
    expect(results(page)).to_have_count(1)  # the draft brings the first run's result back
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Add a red hat")
    generate(page, expected=2)
    assert key not in sim.stats.requests[-1]["authorization"]


def test_an_example_loads_without_running_and_undo_puts_the_visitors_setup_back(
    page: Page, sim: Simulator, images: list[Path]
):
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("My own careful prompt")
    set_count(page, 3)
    calls = sim.stats.generation_calls
    page.locator("#examples").get_by_role("button", name="Combine two photos").click()

    expect(page.locator("#prompt textarea")).to_have_value(re.compile("^The cat in Image 1"))
    expect(page.locator("#slot-2 img")).to_be_visible()
    expect(page.locator("#slot-3 img")).to_have_count(0)
    expect(page.locator("#n input[type=number]")).to_have_value("2")
    undo = page.locator("#undo")
    expect(undo).to_have_text("↶ Undo: example loaded")
    page.wait_for_timeout(1000)
    assert sim.stats.generation_calls == calls  # loaded, not run: nothing billed
    expect(results(page)).to_have_count(0)

    undo.click()
    expect(page.locator("#prompt textarea")).to_have_value("My own careful prompt")
    expect(page.locator("#slot-1 img")).to_be_visible()
    expect(page.locator("#slot-2 img")).to_have_count(0)
    expect(page.locator("#n input[type=number]")).to_have_value("3")
    expect(undo).to_be_hidden()

    page.locator("#examples").get_by_role("button", name="Combine two photos").click()
    expect(page.locator("#slot-2 img")).to_be_visible()
    generate(page, expected=2)  # then Generate runs it, once
    assert sim.stats.requests[-1]["image_count"] == 2
    assert sim.stats.generation_calls == calls + 1


def test_the_page_asks_nothing_of_any_host_but_its_own(page: Page, images: list[Path], requests_made: list[str]):
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Add a red hat")
    generate(page, expected=1)
    results(page).first.click()

    hosts = {urlsplit(url).hostname for url in requests_made if urlsplit(url).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}, sorted(url for url in requests_made if "127.0.0.1" not in url)
    assert any("/gradio_api/file=" in url for url in requests_made)  # the results came from the app itself


def test_the_character_count_follows_the_prompt_as_you_type(page: Page):
    counter = page.locator("#prompt-count")
    expect(counter).to_have_text("0 / 800 characters")
    page.locator("#prompt textarea").press_sequentially("Add a hat 🎩")
    expect(counter).to_have_text("11 / 800 characters")
    page.locator("#prompt textarea").fill("x" * 801)
    expect(counter).to_have_text("801 / 800 characters")


def test_before_after_compare_shows_the_selected_result(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Turn it into a watercolour")
    generate(page, expected=1)

    # The newest result is shown against Image 1 at once, in the viewer beside the results.
    halves = page.locator("#compare img")
    expect(halves).to_have_count(2)
    expect(halves.nth(1)).to_have_attribute("src", re.compile(r"/objects/.+\.png$"))
    # Before: Image 1 (plain red), resampled to the result's pixels so that the two halves line up.
    for half in halves.all():
        expect(half).to_have_js_property("complete", True)
    before, after = (half.evaluate(PIXELS_JS) for half in halves.all())
    assert before["size"] == after["size"]
    assert before["centre"] == [214, 96, 77]


def test_on_a_phone_the_result_buttons_wrap_without_overlapping(open_page: OpenPage, images: list[Path]):
    page = open_page(viewport=PHONE)
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Add a red hat")
    generate(page, expected=1)

    buttons = [page.locator(f"#{name}") for name in ("use-as-1", "use-as-2", "use-as-3", "recall")]
    boxes = []
    for button in buttons:
        button.scroll_into_view_if_needed()
        box = button.evaluate(
            """(el) => { const r = el.getBoundingClientRect();
                return { x: r.left, y: r.top + window.scrollY, w: r.width, h: r.height,
                         clipped: el.scrollWidth > el.clientWidth + 1 }; }"""
        )
        assert not box["clipped"], "a button's label is cut off"
        assert box["x"] >= 0 and box["x"] + box["w"] <= PHONE["width"]
        boxes.append(box)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"] or a["y"] + a["h"] <= b["y"]
            assert apart or b["y"] + b["h"] <= a["y"], f"buttons overlap: {a} {b}"
    buttons[0].click()  # and each is whole enough to be clicked
    expect(page.locator("#undo")).to_have_text("↶ Undo: result put in Image 1")


def test_on_a_phone_results_come_before_the_settings_and_nothing_overflows(
    open_page: OpenPage, images: list[Path], screenshots: Path
):
    page = open_page(viewport=PHONE)
    upload(page, 1, images[0])
    page.locator("#prompt textarea").fill("Add a red hat")
    set_count(page, 2)
    generate(page, expected=2)

    def top(selector: str) -> float:  # from the top of the document, whatever the page's scroll
        return page.locator(selector).evaluate("(el) => el.getBoundingClientRect().top + window.scrollY")

    assert top("#generate") < top("#compare-with") < top("#gallery") < top("#details-summary") < top("#settings")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    slots = [page.locator(f"#slot-{k}").bounding_box() for k in (1, 2, 3)]
    assert len({round(box["y"]) for box in slots}) == 1  # three slots side by side
    screenshot(page, screenshots, "phone.png", full_page=True)
