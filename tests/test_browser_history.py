"""Designer details and the History tab in headless Chromium, as a visitor notices them.

Same set-up as test_browser.py (browser_support.py): one app over a simulator-mode studio and one browser
for the module, a fresh offline context per test, waits on what the page shows. With UPDATE_SCREENSHOTS=1
the tests refresh their screenshots in docs/screenshots/.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - the fixture_* are pytest fixtures, requested by name
    LAPTOP,
    ROOT,
    OpenPage,
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
    model_label,
    results,
    screenshot,
    set_count,
    toast,
    upload,
)
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from core import catalog, sizes
from core.simulator import Simulator
from core.studio import Studio

pytestmark = pytest.mark.browser

TALL = {"width": LAPTOP["width"], "height": 1250}  # from the tabs down to the size preview
PHOTOS = ROOT / "assets" / "examples"  # the shipped example photos: the screenshots show real pictures

EDIT = catalog.get_model(catalog.DEFAULT_MODEL).size


def photo(name: str) -> Path:
    return PHOTOS / name


def dimensions(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


# ---- helpers -----------------------------------------------------------------------------------------


def slot_image(page: Page, slot: int) -> Locator:
    return page.locator(f"#slot-{slot} img")


def expect_slots(page: Page, *names: str | None) -> None:
    """Slots 1 to 3 hold the named input files (None: empty)."""
    for slot, name in enumerate(names, start=1):
        if name is None:
            expect(slot_image(page, slot)).to_have_count(0)
        else:
            expect(slot_image(page, slot)).to_have_attribute("src", re.compile(re.escape(name) + "$"))


def choose_size(page: Page, label: str) -> None:
    page.locator("#size-mode").get_by_text(label, exact=True).click()


def run(page: Page, prompt: str, expected: int = 1) -> None:
    """Generate with `prompt`; `expected` counts this session's results, earlier runs' included."""
    page.locator("#prompt textarea").fill(prompt)
    generate(page, expected)


def raw_record(page: Page, selector: str) -> Locator:
    """The gr.JSON of a Details view, its "Raw record" accordion opened (a closed one renders nothing)."""
    record = page.locator(selector)
    if not record.count():
        page.locator(f"{selector}-raw").get_by_role("button", name="Raw record").click()
    expect(record).to_be_visible()
    return record


def shown_json(page: Page, selector: str) -> dict:
    """What a gr.JSON shows, parsed back: it lays every token out on a line of its own, and writes an empty
    list or object as "Array(0)" / "Object(0)" between the brackets."""
    text = raw_record(page, selector).inner_text()
    compact = "".join(text[text.index("{") :].splitlines())
    return json.loads(compact.replace("[Array(0)]", "[]").replace("{Object(0)}", "{}"))


def natural_size(image: Locator) -> tuple[int, int]:
    expect(image).to_have_js_property("complete", True)
    return tuple(image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]"))


def open_history(page: Page) -> Locator:
    """Switch to the History tab; return its thumbnails."""
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-usage")).to_contain_text("edit(s) shown")
    return page.locator("#history-gallery button.thumbnail-item")


def captions(page: Page) -> Locator:
    return page.locator("#history-gallery .caption-label")


def select_edit(page: Page, items: Locator, index: int, prompt: str) -> None:
    items.nth(index).click()
    expect(page.locator("#history-details-summary")).to_contain_text(prompt)


def shows_whole(image: Locator) -> bool:
    """Whether the picture an <img> draws fits inside its box (and the box inside its tile): nothing cut off."""
    expect(image).to_have_js_property("complete", True)
    return image.evaluate(
        """(img) => {
            const w = img.naturalWidth, h = img.naturalHeight, bw = img.clientWidth, bh = img.clientHeight;
            const scale = {
                contain: Math.min(bw / w, bh / h),
                "scale-down": Math.min(1, bw / w, bh / h),
                cover: Math.max(bw / w, bh / h),
                none: 1,
            }[getComputedStyle(img).objectFit];
            const box = img.getBoundingClientRect(), tile = img.closest("button").getBoundingClientRect();
            const inside = box.left >= tile.left - 0.5 && box.right <= tile.right + 0.5
                && box.top >= tile.top - 0.5 && box.bottom <= tile.bottom + 0.5;
            return scale !== undefined && w * scale <= bw + 0.5 && h * scale <= bh + 0.5 && inside;
        }"""
    )


def custom_size(page: Page, width: int, height: int) -> None:
    choose_size(page, "Custom")
    for label, value in (("Width", width), ("Height", height)):
        field = page.get_by_label(label, exact=True)
        field.fill(str(value))
        field.press("Enter")


def two_runs(page: Page) -> None:
    """An edit of one photo with qwen-image-edit-plus, then one of two photos with qwen-image-edit-max."""
    upload(page, 1, photo("rocket.jpg"))
    run(page, "Paint the sky violet")
    upload(page, 2, photo("cat.jpg"))
    choose_model(page, "qwen-image-edit-max")
    run(page, "Put the cat from Image 2 on the sofa in Image 1", expected=2)  # the first one's stays below


# ---- Studio: sizes, references, reorder, compare, recall ---------------------------------------------


def test_swap_buttons_reorder_the_slots_and_the_run_sends_that_order(page: Page, sim: Simulator, screenshots: Path):
    names = ["astronaut.jpg", "cat.jpg", "rocket.jpg"]
    for slot, name in enumerate(names, start=1):
        upload(page, slot, photo(name))

    page.get_by_role("button", name="⇄ Swap 2 and 3").click()
    expect_slots(page, "astronaut.jpg", "rocket.jpg", "cat.jpg")
    page.get_by_role("button", name="⇄ Swap 1 and 2").click()
    expect_slots(page, "rocket.jpg", "astronaut.jpg", "cat.jpg")

    set_count(page, 2)
    run(page, "The astronaut in Image 2 holds the cat from Image 3 in front of the launch in Image 1", expected=2)
    assert sim.stats.requests[-1]["image_count"] == 3
    sent = [(i["width"], i["height"]) for i in shown_json(page, "#details")["inputs"]]
    assert sent == [dimensions(photo(name)) for name in ("rocket.jpg", "astronaut.jpg", "cat.jpg")]
    expect(page.locator("#size-preview")).to_contain_text("follows Image 3")
    screenshot(page, screenshots, "reordered-3-images.png")


def test_the_size_preview_shows_the_output_size_before_running(open_page: OpenPage, sim: Simulator, screenshots: Path):
    page = open_page(viewport=TALL)
    calls = sim.stats.generation_calls
    preview = page.locator("#size-preview")
    expect(preview).to_contain_text("about 1024 x 1024")
    upload(page, 1, photo("astronaut.jpg"))  # 512 x 512
    expect(preview).to_have_text("→ about 1024 x 1024 (follows Image 1)")
    upload(page, 2, photo("cat.jpg"))
    cat = dimensions(photo("cat.jpg"))
    auto = sizes.auto_size(*cat, EDIT)
    expect(preview).to_have_text(f"→ about {auto.width} x {auto.height} (follows Image 2)")

    choose_size(page, "Match Image 3")
    expect(preview).to_have_text("Add Image 3 to match its size.")
    choose_size(page, "Match Image 1")
    expect(preview).to_have_text("→ 512 x 512 (keeps Image 1's shape; aspect off by 0.0%)")
    choose_size(page, "Match Image 2")
    matched, error = sizes.match_size(*cat, EDIT)
    assert error > 0  # the cat's 676 x 450 has no exact multiple-of-16 twin: the preview says how far off
    expect(preview).to_have_text(
        f"→ {matched.width} x {matched.height} (keeps Image 2's shape; aspect off by {error * 100:.1f}%)"
    )
    assert sim.stats.generation_calls == calls  # all of it before anything runs
    screenshot(page, screenshots, "size-preview.png", top=page.locator("#tabs"))

    page.locator("#prompt textarea").fill("Make it dusk")
    generate(page, 1)
    assert sim.stats.requests[-1]["parameters"]["size"] == f"{matched.width}*{matched.height}"


def test_exact_input_size_gives_results_of_the_inputs_pixels_and_keeps_the_original(
    page: Page, images: list[Path], studio: Studio
):
    upload(page, 1, images[1])  # 900 x 700: no size the service makes is exactly that
    choose_size(page, "Match Image 1")
    page.get_by_label("Exact input size").check()
    set_count(page, 2)
    run(page, "Make it dusk", expected=2)

    for k in range(2):
        assert natural_size(results(page).nth(k).locator("img")) == (900, 700)
    results(page).first.click()
    expect(page.locator("#details-summary")).to_contain_text("Exact size: 900 x 700")
    record = shown_json(page, "#details")
    assert record["exact_size"] == "900*700"
    matched, _error = sizes.match_size(900, 700, EDIT)
    assert (record["width"], record["height"]) == (matched.width, matched.height)  # as the service made it
    kept = {}
    for key in ("file", "exact_size_file"):
        sha256, ext = record[key].split(".")
        with Image.open(studio.store.path_for(sha256, ext)) as stored:
            kept[key] = stored.size
    assert kept == {"file": (matched.width, matched.height), "exact_size_file": (900, 700)}


def test_at_references_reach_the_model_as_image_n_and_a_missing_image_is_refused(
    page: Page, images: list[Path], sim: Simulator
):
    upload(page, 1, images[0])
    upload(page, 2, images[1])
    run(page, "Put the hat from @2 on the dog in @Image1")
    assert sim.stats.requests[-1]["text"] == "Put the hat from Image 2 on the dog in Image 1"
    expect(page.locator("#details-summary")).to_contain_text("Prompt: Put the hat from Image 2 on the dog in Image 1")

    calls = sim.stats.generation_calls
    prompt = "Blend @1, @2 and @3"
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#generate").click()

    message = "The prompt mentions @3, but slot 3 is empty. Add an image there or change the prompt."
    expect(toast(page, "error")).to_contain_text(message)
    expect(page.locator("#run-status")).to_contain_text(message)
    expect(page.locator("#prompt textarea")).to_have_value(prompt)
    expect(results(page)).to_have_count(1)
    assert sim.stats.generation_calls == calls


def test_compare_shows_slider_side_by_side_and_difference_for_the_selected_result(page: Page, screenshots: Path):
    upload(page, 1, photo("cat.jpg"))  # 3:2, edited at 16:9: the output is cropped, and the views show it
    choose_size(page, "16:9")
    run(page, "Shift everything a little to the right")
    results(page).first.click()
    expect(raw_record(page, "#details")).to_contain_text('"prompt_as_sent"')  # the selected result's record
    section = page.locator("#outputs")
    page.locator("#viewer").get_by_role("tab", name="Result").click()
    expect(page.locator("#shown img")).to_have_js_property("complete", True)
    result_size = natural_size(page.locator("#shown img"))
    page.locator("#viewer").get_by_role("tab", name="Slider").click()

    halves = page.locator("#compare img")
    expect(halves).to_have_count(2)
    assert natural_size(halves.nth(0)) == natural_size(halves.nth(1)) == result_size  # Image 1, resampled
    screenshot(page, screenshots, "compare-slider.png", top=section)

    page.locator("#viewer").get_by_role("tab", name="Side by side").click()
    pair = page.locator("#side img")
    expect(pair).to_be_visible()
    assert natural_size(pair) == (2 * result_size[0] + 8, result_size[1])
    screenshot(page, screenshots, "compare-side-by-side.png", top=section)

    page.locator("#viewer").get_by_role("tab", name="Difference").click()
    heat = page.locator("#diff img")
    expect(heat).to_be_visible()
    assert natural_size(heat) == result_size
    screenshot(page, screenshots, "compare-difference.png", top=section)


def test_use_these_settings_restores_the_controls_and_leaves_the_images(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    choose_model(page, "qwen-image-edit-max")
    choose_size(page, "4:3")
    set_count(page, 2)
    page.get_by_label("Random seed").uncheck()
    page.get_by_label("Seed", exact=True).fill("4242")
    page.get_by_label("Prompt rewriting").uncheck()
    run(page, "Make it look like a 1970s postcard", expected=2)

    prompt = page.locator("#prompt textarea")
    prompt.fill("Something else entirely")
    choose_model(page, "qwen-image-edit-plus")
    choose_size(page, "Auto (follow last image)")
    set_count(page, 3)
    page.get_by_label("Seed", exact=True).fill("7")
    upload(page, 2, images[1])
    results(page).nth(1).click()
    page.locator("#recall").click()

    expect(toast(page, "info")).to_contain_text("Settings recalled")
    expect(prompt).to_have_value("Make it look like a 1970s postcard")
    expect_model(page, "qwen-image-edit-max")
    four_three = sizes.preset_size("4:3", EDIT)
    expect(page.locator("#size-mode").get_by_label("Custom")).to_be_checked()
    expect(page.get_by_label("Width")).to_have_value(str(four_three.width))
    expect(page.get_by_label("Height")).to_have_value(str(four_three.height))
    expect(page.locator("#n input[type=number]")).to_have_value("2")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("4242")
    expect(page.get_by_label("Random seed")).not_to_be_checked()
    expect(page.get_by_label("Prompt rewriting")).not_to_be_checked()
    expect_slots(page, "input-1.png", "input-2.png", None)

    # One click puts back the setup the recall replaced, and the button goes.
    page.locator("#undo").click()
    expect(prompt).to_have_value("Something else entirely")
    expect_model(page, "qwen-image-edit-plus")
    expect(page.locator("#n input[type=number]")).to_have_value("3")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("7")
    expect(page.locator("#undo")).to_be_hidden()


# ---- History -----------------------------------------------------------------------------------------


def test_history_lists_edits_newest_first_and_search_and_model_filter_narrow_it(page: Page):
    two_runs(page)
    items = open_history(page)

    expect(items).to_have_count(2)
    expect(captions(page).nth(0)).to_contain_text("Qwen Image Edit Max")
    expect(captions(page).nth(1)).to_contain_text("Qwen Image Edit Plus")
    for item in items.all():
        assert natural_size(item.locator("img"))[0] <= 320  # a thumbnail, not the full result
    expect(page.locator("#history-usage")).to_contain_text(re.compile(r"2 edit\(s\) shown · [\d.]+ MB stored of"))

    search = page.get_by_label("Search prompts")
    search.fill("sky")
    search.press("Enter")
    expect(items).to_have_count(1)
    expect(page.locator("#history-usage")).to_contain_text("1 edit(s) shown")
    expect(captions(page).first).to_contain_text("Paint the sky violet")
    search.fill("")
    search.press("Enter")
    expect(items).to_have_count(2)

    page.locator("#history-model input").click()
    page.get_by_role("option", name="qwen-image-edit-max", exact=True).click()
    expect(items).to_have_count(1)
    select_edit(page, items, 0, "Put the cat from Image 2")
    details = shown_json(page, "#history-details")
    assert details["model"] == "qwen-image-edit-max"
    assert details["usage"]["image_count"] == 1 and details["status"] == "done"


def test_reopen_in_studio_brings_back_inputs_settings_and_results(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    upload(page, 2, images[1])
    page.get_by_label("Random seed").uncheck()
    page.get_by_label("Seed", exact=True).fill("31337")
    set_count(page, 2)
    run(page, "The cat of Image 2 on the chair of Image 1", expected=2)
    made = sorted(results(page).locator("img").evaluate_all("(imgs) => imgs.map((img) => img.src)"))

    for slot in (1, 2):  # each removal leaves its slot empty
        page.locator(f"#slot-{slot}").get_by_role("button", name="Remove Image").click()
    expect_slots(page, None, None, None)
    page.locator("#prompt textarea").fill("")
    set_count(page, 1)
    items = open_history(page)
    select_edit(page, items, 0, "The cat of Image 2")
    page.get_by_role("button", name="Reopen in Studio").click()

    expect(page.get_by_role("tab", name="Studio")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#run-status")).to_contain_text("Reopened")
    expect(page.locator("#prompt textarea")).to_have_value("The cat of Image 2 on the chair of Image 1")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("31337")
    expect(page.locator("#n input[type=number]")).to_have_value("2")
    for slot in (1, 2):
        expect(slot_image(page, slot)).to_be_visible()
    expect(slot_image(page, 3)).to_have_count(0)
    assert [natural_size(slot_image(page, k)) for k in (1, 2)] == [(1024, 1024), (900, 700)]
    expect(results(page)).to_have_count(2)
    back = sorted(results(page).locator("img").evaluate_all("(imgs) => imgs.map((img) => img.src)"))
    assert [src.rsplit("/", 1)[-1] for src in back] == [src.rsplit("/", 1)[-1] for src in made]


def test_rerun_with_the_same_seed_makes_a_new_edit_with_that_seed(page: Page, images: list[Path], sim: Simulator):
    upload(page, 1, images[0])
    run(page, "Add falling snow")
    first = sim.stats.requests[-1]
    items = open_history(page)
    select_edit(page, items, 0, "Add falling snow")
    calls = sim.stats.generation_calls

    page.get_by_role("button", name="Re-run (same seed)").click()

    expect(page.get_by_role("tab", name="Studio")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#run-status")).to_contain_text(f"Re-ran with seed {first['parameters']['seed']}:")
    expect(results(page)).to_have_count(2)  # the new result on top of the first run's
    assert sim.stats.generation_calls == calls + 1
    again = sim.stats.requests[-1]
    assert again["parameters"]["seed"] == first["parameters"]["seed"]
    assert again["text"] == first["text"] and again["model"] == first["model"]
    expect(page.get_by_label("Seed", exact=True)).to_have_value(str(first["parameters"]["seed"]))
    expect(open_history(page)).to_have_count(2)


def test_star_marks_an_edit_and_delete_removes_it(page: Page, screenshots: Path):
    two_runs(page)
    upload(page, 3, photo("astronaut.jpg"))
    run(page, "The astronaut from Image 3 pets the cat in Image 2 by the rocket in Image 1", expected=3)
    items = open_history(page)
    expect(items).to_have_count(3)

    select_edit(page, items, 1, "Put the cat from Image 2")
    page.get_by_role("button", name="Star / unstar").click()
    starred = captions(page).nth(1)
    expect(starred).to_have_text(re.compile("^★ "))
    assert starred.evaluate("(caption) => caption.scrollWidth <= caption.clientWidth")  # not cut off
    expect(captions(page).filter(has_text="★")).to_have_count(1)
    assert shown_json(page, "#history-details")["starred"] is True
    screenshot(page, screenshots, "history.png")

    page.get_by_role("button", name="Star / unstar").click()
    expect(captions(page).filter(has_text="★")).to_have_count(0)

    select_edit(page, items, 0, "The astronaut from Image 3")
    page.locator("#history-delete").click()
    page.get_by_role("button", name="Delete this edit? Click again").click()
    expect(toast(page, "info")).to_contain_text("Deleted")
    expect(items).to_have_count(2)
    expect(page.locator("#history-usage")).to_contain_text("2 edit(s) shown")
    select_edit(page, items, 0, "Put the cat from Image 2")


def test_download_as_zip_holds_the_pngs_and_edits_json(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    set_count(page, 2)
    run(page, "Turn it into a mosaic", expected=2)
    items = open_history(page)
    select_edit(page, items, 0, "Turn it into a mosaic")
    edit_id = shown_json(page, "#history-details")["id"]

    page.get_by_role("button", name="Download as zip").click()
    link = page.locator("#history-download a[download]")
    expect(link).to_have_attribute("download", re.compile(r"^qwen-edits-.+\.zip$"))
    with page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))

    names = set(archive.namelist())
    (record,) = json.loads(archive.read("edits.json"))
    folder = record["folder"]
    assert {f"{folder}/result-1.png", f"{folder}/result-2.png", "edits.json"} <= names
    for name in names - {"edits.json"}:
        with Image.open(io.BytesIO(archive.read(name))) as picture:
            assert picture.format == "PNG"
    assert record["id"] == edit_id and record["prompt"] == "Turn it into a mosaic" and record["n"] == 2
    assert folder.endswith(f"_turn-it-into-a-mosaic_{edit_id[:4]}")
    assert record["results"] == [f"{folder}/result-1.png", f"{folder}/result-2.png"]


def test_a_zip_of_an_exact_size_edit_has_portable_names_in_a_folder_named_for_its_date_and_prompt(
    page: Page, images: list[Path]
):
    upload(page, 1, images[1])  # 900 x 700: the exact-size file sits beside the original
    choose_size(page, "Match Image 1")
    page.get_by_label("Exact input size").check()
    run(page, "Make it a watercolour, please!")
    items = open_history(page)
    select_edit(page, items, 0, "Make it a watercolour")
    details = shown_json(page, "#history-details")

    page.get_by_role("button", name="Download as zip").click()
    with page.expect_download() as download:
        page.locator("#history-download a[download]").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))

    names = archive.namelist()
    assert [name for name in names if set(name) & set('*:?"<>|\\')] == []  # every name valid on Windows too
    when = time.strftime("%Y-%m-%d_%H%M", time.localtime(details["created"]))
    folder = f"{when}_make-it-a-watercolour-please_{details['id'][:4]}"
    assert sorted(names) == sorted(
        [f"{folder}/result-1.png", f"{folder}/result-1-exact-900x700.png", f"{folder}/input-1.png", "edits.json"]
    )
    with Image.open(io.BytesIO(archive.read(f"{folder}/result-1-exact-900x700.png"))) as exact:
        assert exact.size == (900, 700)
    (record,) = json.loads(archive.read("edits.json"))
    assert record["results"] == [f"{folder}/result-1.png", f"{folder}/result-1-exact-900x700.png"]


def test_another_visitor_does_not_see_the_first_visitors_edits(open_page: OpenPage, images: list[Path]):
    first = open_page()
    upload(first, 1, images[0])
    run(first, "A secret birthday card")
    expect(open_history(first)).to_have_count(1)

    second = open_page()
    items = open_history(second)
    expect(second.locator("#history-usage")).to_contain_text("0 edit(s) shown")
    expect(second.locator("#history-usage")).to_contain_text("No edits yet")
    expect(items).to_have_count(0)
    first.get_by_role("button", name="Refresh").click()
    expect(first.locator("#history-gallery button.thumbnail-item")).to_have_count(1)  # theirs are still there


def test_an_edit_whose_files_are_gone_is_still_listed(page: Page, studio: Studio, tmp_path: Path):
    own = tmp_path / "vanishing.png"
    Image.new("RGB", (640, 480), (12, 200, 140)).save(own)  # its own input: no other test shares the file
    upload(page, 1, own)
    run(page, "A card whose files will vanish")
    with sqlite3.connect(studio.settings.data_dir / "history.sqlite3") as db:
        owner, edit_id = db.execute(
            "SELECT owner, id FROM edits WHERE prompt = 'A card whose files will vanish'"
        ).fetchone()
    edit = studio.history.get(owner, edit_id)
    gone = [(o.sha256, "png") for o in edit.outputs] + [(i.sha256, i.ext) for i in edit.inputs]
    for sha256, ext in gone:
        studio.store.path_for(sha256, ext).unlink()
        for thumb in studio.store.thumbs.glob(f"{sha256}-*"):
            thumb.unlink()

    items = open_history(page)
    expect(items).to_have_count(1)  # listed on a plain tile, not silently dropped
    expect(captions(page).first).to_contain_text(catalog.get_model(edit.model).label)
    select_edit(page, items, 0, "A card whose files will vanish")
    page.get_by_role("button", name="Reopen in Studio").click()
    expect(page.get_by_role("tab", name="Studio")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#prompt textarea")).to_have_value("A card whose files will vanish")  # settings come back
    expect(toast(page, "error")).to_have_count(0)


def test_history_tiles_tell_prompt_date_model_and_status_and_show_a_wide_result_whole(page: Page, screenshots: Path):
    upload(page, 1, photo("rocket.jpg"))
    custom_size(page, 2048, 512)
    run(page, "Paint a long banner of the launch pad at dusk, with the crowd watching from the dunes")
    items = open_history(page)

    label = catalog.get_model(catalog.DEFAULT_MODEL).label
    expect(captions(page).first).to_have_text(
        re.compile(rf"^Paint a long banner of the launch pad… · \d{{4}}-\d\d-\d\d \d\d:\d\d · {label} · saved$")
    )
    thumbnail = items.first.locator("img")
    assert natural_size(thumbnail) == (320, 80)  # the 2048 x 512 result, shrunk whole
    assert shows_whole(thumbnail)
    screenshot(page, screenshots, "history-wide.png")


def test_history_tiles_and_details_read_in_chinese(open_page: OpenPage, screenshots: Path):
    page = open_page(locale="zh-CN")
    upload(page, 1, photo("cat.jpg"))
    page.locator("#prompt textarea").fill("把猫换成一只橘色的狐狸")
    page.locator("#generate").click()
    expect(page.locator("#run-status")).to_contain_text("已保存")
    page.get_by_role("tab", name="历史").click()
    expect(page.locator("#history-usage")).to_contain_text("显示 1 条编辑")

    model = catalog.get_model(catalog.DEFAULT_MODEL)
    expect(captions(page).first).to_contain_text("把猫换成一只橘色的狐狸 · ")
    expect(captions(page).first).to_contain_text(f" · {model.label_zh} · 已保存")
    page.locator("#history-gallery button.thumbnail-item").first.click()
    summary = page.locator("#history-details-summary")
    expect(summary).to_contain_text("提示词：把猫换成一只橘色的狐狸")
    expect(summary).to_contain_text(f"模型：{model.label_zh}（{model.id}）")
    expect(summary).to_contain_text("状态：已保存")
    expect(summary).to_contain_text("开关：提示词改写 开 · 水印 关")
    expect(summary).to_contain_text("文件：")
    screenshot(page, screenshots, "history-zh.png")


def test_details_are_a_readable_summary_with_the_raw_record_one_click_away(page: Page, screenshots: Path):
    upload(page, 1, photo("cat.jpg"))
    page.get_by_label("Random seed").uncheck()
    page.get_by_label("Seed", exact=True).fill("2024")
    set_count(page, 2)
    run(page, "Give the cat a *tiny* crown", expected=2)
    results(page).first.click()

    summary = page.locator("#details-summary")
    model = catalog.get_model(catalog.DEFAULT_MODEL)
    expect(summary).to_contain_text("Prompt: Give the cat a *tiny* crown")  # as written, not as Markdown
    expect(summary).to_contain_text(f"Model: {model.label} ({model.id})")
    expect(summary).to_contain_text(re.compile(r"Size: \d+ x \d+ \(asked for: auto\)"))
    expect(summary).to_contain_text("Seed: 2024 · Images: 2")
    expect(summary).to_contain_text("Switches: prompt rewriting on · watermark off")
    expect(summary).to_contain_text(re.compile(r"Request: \S+ · Edit: \S+"))
    expect(summary).to_contain_text(re.compile(r"Files: [0-9a-f]{12}…\.png"))
    expect(summary).not_to_contain_text("{")
    expect(page.locator("#details")).to_have_count(0)  # the raw record is one click away, not in the way
    assert shown_json(page, "#details")["seed"] == 2024
    screenshot(page, screenshots, "details.png", top=page.locator("#details-summary"))

    items = open_history(page)
    select_edit(page, items, 0, "Give the cat a *tiny* crown")
    history_summary = page.locator("#history-details-summary")
    expect(history_summary).to_contain_text("Status: saved")
    expect(history_summary).to_contain_text(re.compile(r"When: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))
    expect(page.locator("#history-details")).to_have_count(0)


def test_delete_asks_first_then_leaves_nothing_selected(page: Page):
    two_runs(page)
    items = open_history(page)
    delete = page.locator("#history-delete")

    select_edit(page, items, 0, "Put the cat from Image 2")
    delete.click()
    expect(delete).to_have_text("Delete this edit? Click again")
    select_edit(page, items, 1, "Paint the sky violet")  # another edit: the question was about the first
    expect(delete).to_have_text("Delete")
    delete.click()
    expect(delete).to_have_text("Delete this edit? Click again")
    expect(items).to_have_count(2)  # nothing deleted yet
    delete.click()

    expect(toast(page, "info")).to_contain_text("Deleted")
    expect(items).to_have_count(1)
    expect(captions(page).first).to_contain_text("Put the cat from Image 2")
    expect(delete).to_have_text("Delete")
    expect(page.locator("#history-gallery button.thumbnail-item.selected")).to_have_count(0)
    expect(page.locator("#history-details-summary")).not_to_contain_text("Prompt")
    page.get_by_role("button", name="Star / unstar").click()  # nothing highlighted, nothing starred
    expect(toast(page, "error")).to_contain_text("Select an edit first")
    expect(captions(page).filter(has_text="★")).to_have_count(0)

    select_edit(page, items, 0, "Put the cat from Image 2")
    expect(page.locator("#history-gallery button.thumbnail-item.selected")).to_have_count(1)
    page.get_by_role("button", name="Star / unstar").click()
    expect(captions(page).first).to_have_text(re.compile("^★ Put the cat"))


def test_reopen_offers_undo_that_puts_the_studio_setup_back(page: Page, images: list[Path]):
    upload(page, 1, images[0])
    run(page, "Frame it in gold")
    upload(page, 2, images[1])
    prompt = page.locator("#prompt textarea")
    prompt.fill("Work in progress, not run yet")
    set_count(page, 3)
    items = open_history(page)
    select_edit(page, items, 0, "Frame it in gold")
    page.get_by_role("button", name="Reopen in Studio").click()

    expect(page.get_by_role("tab", name="Studio")).to_have_attribute("aria-selected", "true")
    expect(prompt).to_have_value("Frame it in gold")
    expect(slot_image(page, 1)).to_be_visible()  # the edit's own input, from the store
    expect(slot_image(page, 2)).to_have_count(0)
    undo = page.locator("#undo")
    expect(undo).to_have_text("↶ Undo: edit reopened")
    expect(results(page)).to_have_count(1)  # the reopened edit's result, shown once

    undo.click()
    expect(prompt).to_have_value("Work in progress, not run yet")
    expect(page.locator("#n input[type=number]")).to_have_value("3")
    expect_slots(page, "input-1.png", "input-2.png", None)
    expect(undo).to_be_hidden()


def test_rerun_shows_its_progress_in_the_studio_and_ends_with_its_own_line(
    page: Page, images: list[Path], sim: Simulator
):
    upload(page, 1, images[0])
    run(page, "Add falling snow")
    prompt = page.locator("#prompt textarea")
    prompt.fill("A setup the re-run replaces")
    items = open_history(page)
    select_edit(page, items, 0, "Add falling snow")

    sim.configure(latency=5.0)  # long enough to see the run in flight on a loaded machine
    try:
        page.get_by_role("button", name="Re-run (new seed)").click()
        expect(page.get_by_role("tab", name="Studio")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#run-status")).to_contain_text("Re-running this edit")
        # While it runs, the status line counts the seconds, as for Generate (the gallery's own progress text
        # is Gradio's, sent on its own schedule: not what this test is about).
        expect(page.locator("#run-status")).to_contain_text("Waiting for Qwen")
        expect(prompt).to_have_value("Add falling snow")
    finally:
        sim.configure(latency=0.0)
    status = page.locator("#run-status")
    expect(status).to_contain_text(re.compile(r"Re-ran with seed \d+: a new edit, kept in History\."))
    expect(status).to_contain_text("1 image(s) saved in")
    expect(status).not_to_contain_text("Reopened")
    seed = sim.stats.requests[-1]["parameters"]["seed"]
    expect(status).to_contain_text(f"Re-ran with seed {seed}:")
    expect(results(page)).to_have_count(2)  # the new result on top of the first one
    expect(page.get_by_label("Seed", exact=True)).to_have_value(str(seed))

    undo = page.locator("#undo")
    expect(undo).to_have_text("↶ Undo: re-run")
    undo.click()
    expect(prompt).to_have_value("A setup the re-run replaces")
