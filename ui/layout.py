"""The page: header, the Studio, History and Explore tabs, and the `/edit` API; then launch options."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
from starlette.middleware import Middleware
from starlette.responses import FileResponse

from core import catalog
from core.identity import OwnerTokens
from core.studio import Studio
from core.workflows.plan import PlanForm
from core.workflows.shelf import ExportShelf
from ui import api
from ui.affinity import ReplicaCookie
from ui.guards import RefuseRemoteFiles
from ui.strings import I18N, language_of, status
from ui.tabs import explore, explore_grid, history, versions_tree
from ui.tabs import studio as studio_tab
from ui.tabs.studio import draft as studio_draft
from ui.tabs.studio.controls import model_choices, model_info, region_choices, side_hint
from ui.tabs.studio.marks import CANVAS_JS
from ui.tabs.studio.run import cost_line
from ui.theme import CSS, HEAD_JS, THEME
from ui.visitors import Visitors
from ui.wiring import Page

CACHE_PURGE = (3600, 24 * 3600)  # every hour, Gradio's uploads and file copies older than a day are removed
SERVE_CHUNK = 1024 * 1024  # bytes read per step when a file is served
STUDIO_TAB = "studio"
HISTORY_TAB = "history"
EXPLORE_TAB = "explore"


def build_app(studio: Studio, *, browser_secret: str) -> gr.Blocks:
    """The whole page over `studio`. `browser_secret` keeps what visitors' browsers store (their own key, their
    anonymous history id) readable across restarts."""
    settings = studio.settings
    # Content-addressed, unguessable names and nothing else in these folders: served in place, never listed.
    exports = ExportShelf(settings.data_dir / "exports")
    # Unguessable names and nothing else in these folders: served in place (not copied into Gradio's cache),
    # never listed. Everything else Gradio keeps (uploads, copies of returned files) is purged when old.
    gr.set_static_paths([studio.store.objects, studio.store.thumbs, exports.root])
    # Gradio serves files with Starlette's FileResponse, which reads 64 KB per hop to a worker thread; results
    # weigh 6-12 MB, and 1 MiB pieces served them 1.3-1.6x faster (measured with benchmarks/photo_sized.py).
    FileResponse.chunk_size = SERVE_CHUNK
    with gr.Blocks(
        title="Qwen Edit Studio", analytics_enabled=False, delete_cache=CACHE_PURGE, fill_width=True
    ) as demo:
        key_state = gr.BrowserState({"api_key": ""}, storage_key="qwen-edit-key", secret=browser_secret)
        owner_state = gr.BrowserState({"token": ""}, storage_key="qwen-edit-owner", secret=browser_secret)
        visitors = Visitors(OwnerTokens.shared(studio.history, settings.data_dir), settings.trusted_proxies)
        page = Page(studio, visitors, owner_state, key_state, exports)

        with gr.Row(elem_id="header"):
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
        api.register(studio, visitors)

        studio_tab.listen(studio_view, page)
        history.listen(history_view, page, studio_view, tabs, STUDIO_TAB)
        explore.listen(explore_view, page, studio_view, tabs, STUDIO_TAB)

        def on_load(keys: dict[str, Any] | None, owners: dict[str, Any] | None, request: gr.Request):
            lang = language_of(request)
            line = status("key_stored", lang) if (keys or {}).get("api_key") else ""
            if settings.require_user_key and not line:
                line = status("key_required", lang)
            return (
                visitors.token_state(owners),  # this browser's owner: a token only this server can issue
                line,
                model_info(catalog.DEFAULT_MODEL, lang),
                status("auto_size_none", lang),
                cost_line(1, settings.price_per_image, lang),
                status("chars", lang, count=0, limit=catalog.get_model(catalog.DEFAULT_MODEL).prompt_max),
                explore.cost_line(PlanForm(), settings.explore_max_cells, settings.price_per_image, lang),
                gr.update(choices=region_choices(lang)),
                gr.update(choices=model_choices(lang)),
                gr.update(info=side_hint(catalog.DEFAULT_MODEL, lang)),
                gr.update(info=side_hint(catalog.DEFAULT_MODEL, lang)),
                explore_grid.empty(lang),
                versions_tree.empty(lang),
            )

        load = demo.load(
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
                studio_view.controls.region,
                studio_view.controls.model,
                studio_view.controls.width,
                studio_view.controls.height,
                explore_view.panel.grid,
                history_view.versions.tree,
            ],
            api_visibility="private",
            queue=False,
        )
        studio_draft.restore_on(load, studio_view, page)
    return demo


def launch_options(studio: Studio) -> dict[str, Any]:
    """Keyword arguments for `launch()` that the page needs.

    Also switches off the web server's own reading of X-Forwarded-For (uvicorn trusts it from 127.0.0.1 by
    default and rewrites the client address with whatever it says): the visitor's address is worked out
    in one place, from the socket and `QWEN_EDIT_TRUSTED_PROXIES` (ui.visitors).
    """
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    settings = studio.settings
    middleware = [Middleware(RefuseRemoteFiles)]
    if settings.replica:  # behind nginx with other replicas: the browser keeps coming back here
        middleware.append(Middleware(ReplicaCookie, name=settings.replica))
    return {
        "i18n": I18N,
        "theme": THEME,
        "css": CSS,
        "head": HEAD_JS + CANVAS_JS,
        "max_file_size": f"{settings.max_upload_mb}mb",
        "max_threads": max(40, 3 * settings.concurrency),
        "show_error": False,
        "app_kwargs": {"middleware": middleware},
    }
