"""The page follows each model's rules from the catalog: what the model is, the size bounds, the size
preview, the prompt's limit and the negative prompt, in headless Chromium over a simulator-mode studio."""

from __future__ import annotations

from pathlib import Path

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
    screenshot,
    upload,
)
from playwright.sync_api import Page, expect

from core.simulator import Simulator

pytestmark = pytest.mark.browser


def test_an_area_model_shows_what_it_is_and_takes_a_wide_custom_size(
    page: Page, images: list[Path], sim: Simulator, screenshots: Path
):
    upload(page, 1, images[0])
    choose_model(page, "qwen-image-3.0")

    info = page.locator("#model-info")
    expect(info).to_contain_text("Qwen Image 3.0")
    expect(info).to_contain_text("or a prompt alone")
    expect(info).to_contain_text("512×512 to 2048×2048 pixels in all")
    expect(info).to_contain_text("no published rate limit")
    expect(page.locator("#size-preview")).to_contain_text("the model picks the size")
    expect(page.locator("#prompt-count")).to_contain_text("/ 4500")

    page.locator("#size-mode").get_by_text("Custom").click()
    page.get_by_label("Width").fill("3072")
    page.get_by_label("Height").fill("1024")
    page.get_by_label("Height").press("Tab")
    expect(page.locator("#size-preview")).to_contain_text("3072 x 1024")
    page.locator("#prompt textarea").fill("a wide banner of Image 1")
    generate(page, expected=1)
    assert sim.stats.requests[-1]["parameters"]["size"] == "3072*1024"
    screenshot(page, screenshots, "model-area.png", top=page.locator("#settings"))

    choose_model(page, "qwen-image-edit-plus")  # 3072 is beyond this model's 2048 per side: core says so
    page.locator("#generate").click()
    expect(page.locator("#run-status")).to_contain_text("between 512 and 2048")


def test_a_model_without_a_negative_prompt_disables_it_keeping_the_text(page: Page, images: list[Path], sim: Simulator):
    upload(page, 1, images[0])
    negative = page.locator("#negative textarea")
    negative.fill("blurry")
    choose_model(page, "qwen-image-2.1-pro")

    expect(negative).to_be_disabled()
    expect(page.locator("#negative")).to_contain_text("takes no negative prompt")
    expect(negative).to_have_value("blurry")
    page.locator("#prompt textarea").fill("make it blue")
    generate(page, expected=1)
    assert "negative_prompt" not in sim.stats.requests[-1]["parameters"]

    choose_model(page, "qwen-image-edit-max")
    expect(negative).to_be_enabled()
    expect(negative).to_have_value("blurry")
    expect(page.locator("#negative")).not_to_contain_text("takes no negative prompt")


def test_the_model_line_reads_in_chinese_at_phone_width(open_page: OpenPage, screenshots: Path):
    page = open_page(locale="zh-CN", viewport=PHONE)
    choose_model(page, "qwen-image-edit-max", lang="zh")
    info = page.locator("#model-info")
    expect(info).to_contain_text("通义千问图像编辑 Max")
    expect(info).to_contain_text("每个账号每 60 秒最多调用 2 次")
    expect(page.locator("#size-preview")).to_contain_text("沿用最后一张图片的宽高比")
    expect(page.locator("#region")).to_contain_text("新加坡")
    screenshot(page, screenshots, "model-zh-phone.png", top=page.locator("#settings"))
