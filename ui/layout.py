"""The page: header, the Studio, History and Explore tabs, and the `/edit` API; then launch options."""

from __future__ import annotations

import uuid
from typing import Any

import gradio as gr

from core import catalog
from core.studio import Studio
from core.workflows.plan import PlanForm
from ui import api
from ui.strings import I18N, language_of, status
from ui.tabs import explore, history
from ui.tabs import studio as studio_tab
from ui.tabs.studio.controls import model_info
from ui.tabs.studio.run import cost_line
from ui.theme import CSS, HEAD_JS, THEME

STUDIO_TAB = "studio"
HISTORY_TAB = "history"
EXPLORE_TAB = "explore"


def build_app(studio: Studio, *, browser_secret: str) -> gr.Blocks:
    """The whole page over `studio`. `browser_secret` keeps what visitors' browsers store (their own key, their
    anonymous history id) readable across restarts."""
    settings = studio.settings
    # Content-addressed, unguessable names and nothing else in these folders: served in place, never listed.
    gr.set_static_paths([studio.store.objects, studio.store.thumbs])
    with gr.Blocks(title="Qwen Edit Studio", analytics_enabled=False) as demo:
        key_state = gr.BrowserState({"api_key": ""}, storage_key="qwen-edit-key", secret=browser_secret)
        owner_state = gr.BrowserState({"owner": ""}, storage_key="qwen-edit-owner", secret=browser_secret)

        gr.Markdown("# " + I18N("title"), elem_id="title")
        gr.Markdown(I18N("subtitle"), elem_classes="subtitle")
        if studio.simulated:
            gr.Markdown(I18N("banner_simulated"), elem_id="sim-banner", elem_classes="banner")

        with gr.Tabs(selected=STUDIO_TAB, elem_id="tabs") as tabs:
            with gr.Tab(I18N("tab_studio"), id=STUDIO_TAB, elem_id="tab-studio"):
                studio_view = studio_tab.render(studio)
            with gr.Tab(I18N("tab_history"), id=HISTORY_TAB, elem_id="tab-history"):
                history_view = history.render()
            with gr.Tab(I18N("tab_explore"), id=EXPLORE_TAB, elem_id="tab-explore"):
                explore_view = explore.render()
        api.register(studio)

        studio_tab.listen(studio_view, studio, owner_state, key_state)
        history.listen(history_view, studio, owner_state, key_state, studio_view, tabs, STUDIO_TAB)
        explore.listen(explore_view, studio, owner_state, key_state, studio_view, tabs, STUDIO_TAB)

        def on_load(keys: dict[str, Any] | None, owners: dict[str, Any] | None, request: gr.Request):
            lang = language_of(request)
            line = status("key_stored", lang) if (keys or {}).get("api_key") else ""
            if settings.require_user_key and not line:
                line = status("key_required", lang)
            owner = (owners or {}).get("owner") or uuid.uuid4().hex  # this browser's anonymous history id
            return (
                {"owner": owner},
                line,
                model_info(catalog.DEFAULT_MODEL, lang),
                status("auto_size_none", lang),
                cost_line(1, settings.price_per_image, lang),
                status("chars", lang, count=0, limit=catalog.PROMPT_MAX_CHARS),
                explore.cost_line(PlanForm(), settings.explore_max_cells, settings.price_per_image, lang),
            )

        demo.load(
            on_load,
            [key_state, owner_state],
            [
                owner_state,
                studio_view.key.line,
                studio_view.controls.model_line,
                studio_view.controls.preview,
                studio_view.run.cost,
                studio_view.prompt.counter,
                explore_view.plan.cost,
            ],
            api_visibility="private",
            queue=False,
        )
    return demo


def launch_options(studio: Studio) -> dict[str, Any]:
    """Keyword arguments for `launch()` that the page needs."""
    settings = studio.settings
    return {
        "i18n": I18N,
        "theme": THEME,
        "css": CSS,
        "head": HEAD_JS,
        "max_file_size": f"{settings.max_upload_mb}mb",
        "max_threads": max(40, 3 * settings.concurrency),
        "show_error": False,
    }
