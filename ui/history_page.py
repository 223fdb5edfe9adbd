"""The History tab: this browser's edits, newest first; search, filter, reopen, re-run, star, delete, zip."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from core import catalog, errors
from core.history import EditRow, NotFoundError
from core.studio import Studio
from core.workflows.export import archive_name, export_zip
from ui import handlers
from ui.placeholders import placeholder
from ui.strings import I18N, language_of, status
from ui.studio_page import StudioView, recall_values

PAGE = 24


@dataclass
class HistoryView:
    """The tab's components."""

    search: gr.Textbox
    model: gr.Dropdown
    refresh: gr.Button
    usage: gr.Markdown
    gallery: gr.Gallery
    more: gr.Button
    details: gr.JSON
    reopen: gr.Button
    rerun: gr.Button
    rerun_new: gr.Button
    star: gr.Button
    delete: gr.Button
    zip_one: gr.Button
    zip_all: gr.Button
    download: gr.File
    listed: gr.State  # ids of the edits shown, in gallery order
    limit: gr.State  # how many are shown
    selected: gr.State  # id of the edit last selected


def render() -> HistoryView:
    """Create the tab's components."""
    i18n = I18N
    with gr.Row(elem_id="history-filters"):
        search = gr.Textbox(label=i18n("history_search"), scale=4, elem_id="history-search")
        model = gr.Dropdown(
            [(i18n("history_all_models"), "")] + [(m.id, m.id) for m in catalog.MODELS],
            value="",
            label=i18n("history_model"),
            scale=2,
            elem_id="history-model",
        )
        refresh = gr.Button(i18n("history_refresh"), scale=1, elem_id="history-refresh")
    usage = gr.Markdown("", elem_id="history-usage")
    with gr.Row(equal_height=False):
        with gr.Column(scale=7):
            gallery = gr.Gallery(
                label=i18n("history_edits"),
                columns=6,
                height=560,
                object_fit="cover",
                allow_preview=False,
                elem_id="history-gallery",
            )
            more = gr.Button(i18n("history_more"), size="sm", elem_id="history-more")
        with gr.Column(scale=4):
            with gr.Row(elem_classes="button-row"):
                reopen = gr.Button(i18n("history_reopen"), variant="primary", size="sm", elem_id="history-reopen")
                star = gr.Button(i18n("history_star"), size="sm", elem_id="history-star")
            with gr.Row(elem_classes="button-row"):
                rerun = gr.Button(i18n("history_rerun"), size="sm", elem_id="history-rerun")
                rerun_new = gr.Button(i18n("history_rerun_new"), size="sm", elem_id="history-rerun-new")
            with gr.Row(elem_classes="button-row"):
                zip_one = gr.Button(i18n("history_zip"), size="sm", elem_id="history-zip")
                zip_all = gr.Button(i18n("history_zip_all"), size="sm", elem_id="history-zip-all")
                delete = gr.Button(i18n("history_delete"), variant="stop", size="sm", elem_id="history-delete")
            download = gr.File(label=i18n("history_file"), interactive=False, elem_id="history-download")
            details = gr.JSON(label=i18n("record"), elem_id="history-details")
    listed = gr.State([])
    limit = gr.State(PAGE)
    selected = gr.State(None)
    # Every component above is a field of the view, under the same name.
    return HistoryView(**{name: value for name, value in locals().items() if name in HistoryView.__annotations__})


def _caption(edit: EditRow, lang: str) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(edit.created))
    return status(
        "history_item", lang, when=when, model=edit.model, status=edit.status, star="★ " if edit.starred else ""
    )


def _thumbnail(studio: Studio, edit: EditRow) -> str | None:
    """The first saved result, else the first input: as a small cached JPEG."""
    saved = next((o for o in edit.outputs if o.state == "saved" and o.sha256), None)
    try:
        if saved:
            return str(studio.store.thumbnail(saved.sha256, "png"))
        if edit.inputs:
            return str(studio.store.thumbnail(edit.inputs[0].sha256, edit.inputs[0].ext))
    except OSError:  # a file evicted or deleted under us: the edit is still listed, without a picture
        return None
    return None


def _megabytes(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB"


def listen(
    view: HistoryView,
    studio: Studio,
    owner_state: gr.BrowserState,
    key_state: gr.BrowserState,
    studio_view: StudioView,
    tabs: gr.Tabs,
    studio_tab_id: str,
) -> None:
    """Wire the tab's events."""

    def owner_of(owners: dict[str, Any] | None, request: gr.Request) -> str:
        return handlers.visitor(owners, None, request).owner

    def show(search: str, model: str, limit: int, owners: dict[str, Any] | None, request: gr.Request):
        owner, lang = owner_of(owners, request), language_of(request)
        edits = studio.history.list(owner, search=search or "", model=model or "", limit=limit)
        # An edit whose files are gone (evicted, deleted) is still listed, on a plain tile.
        items = [(_thumbnail(studio, e) or placeholder("failed"), _caption(e, lang)) for e in edits]
        quota = studio.settings.owner_storage_mb * 1024 * 1024
        line = status(
            "history_line",
            lang,
            count=len(edits),
            used=_megabytes(studio.history.usage_bytes(owner)),
            quota=_megabytes(quota),
        )
        if not edits:
            line += " · " + status("history_empty", lang)
        return (
            items,
            [e.id for e in edits],
            line,
        )

    list_inputs = [view.search, view.model, view.limit, owner_state]
    list_outputs = [view.gallery, view.listed, view.usage]
    options: dict[str, Any] = {"api_visibility": "private"}
    for trigger in (view.refresh.click, view.search.submit, view.model.change):
        trigger(show, list_inputs, list_outputs, **options)
    view.more.click(lambda limit: limit + PAGE, view.limit, view.limit, **options).then(
        show, list_inputs, list_outputs, **options
    )
    tabs.select(show, list_inputs, list_outputs, **options)

    def select(listed: list[str], owners: dict[str, Any] | None, evt: gr.SelectData, request: gr.Request):
        edit_id = listed[evt.index] if evt.index < len(listed) else None
        if edit_id is None:
            return None, None
        return edit_id, studio.history.get(owner_of(owners, request), edit_id).parameters()

    view.gallery.select(select, [view.listed, owner_state], [view.selected, view.details], **options)

    def require(edit_id: str | None, request: gr.Request) -> str:
        if not edit_id:
            raise gr.Error(status("history_pick", language_of(request)))
        return edit_id

    studio_outputs = [
        *studio_view.slots,
        *studio_view.settings_controls,
        studio_view.gallery,
        studio_view.results_state,
        studio_view.run_status,
        tabs,
    ]

    def into_studio(owner: str, edit_id: str, line: str) -> list[Any]:
        edit = studio.history.get(owner, edit_id)
        studio.history.touch(owner, edit_id)
        inputs = [path for path in studio.input_paths(edit) if Path(path).is_file()]
        entries = handlers.history_entries(studio, edit)
        return [
            *(inputs + [None] * (3 - len(inputs))),
            *recall_values(handlers.settings_of(edit.parameters())),
            [(e["path"], e["caption"]) for e in entries],
            entries,
            line,
            gr.Tabs(selected=studio_tab_id),
        ]

    def reopen(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        owner = owner_of(owners, request)
        return into_studio(owner, require(edit_id, request), status("reopened", language_of(request)))

    view.reopen.click(reopen, [view.selected, owner_state], studio_outputs, **options)

    def rerun(new_seed: bool):
        def run(edit_id: str | None, owners: dict[str, Any] | None, keys: dict[str, Any] | None, request: gr.Request):
            who = handlers.visitor(owners, keys, request)
            try:
                job = studio.submit(
                    studio.rerun_request(who.owner, require(edit_id, request), new_seed=new_seed), who.caller
                )
                result = job.result()
            except errors.EditError as error:
                raise handlers.fail(error, who.lang) from None
            except NotFoundError:
                raise gr.Error(status("history_pick", who.lang)) from None
            return into_studio(who.owner, result.edit_id, status("reopened", who.lang))

        return run

    for button, new_seed in ((view.rerun, False), (view.rerun_new, True)):
        button.click(
            rerun(new_seed),
            [view.selected, owner_state, key_state],
            studio_outputs,
            concurrency_id="edit",
            **options,
        )

    def star(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        owner = owner_of(owners, request)
        edit = studio.history.get(owner, require(edit_id, request))
        studio.history.star(owner, edit.id, not edit.starred)
        return studio.history.get(owner, edit.id).parameters()

    view.star.click(star, [view.selected, owner_state], view.details, **options).then(
        show, list_inputs, list_outputs, **options
    )

    def delete(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        studio.delete(owner_of(owners, request), require(edit_id, request))
        gr.Info(status("history_deleted", language_of(request)))
        return None, None

    view.delete.click(delete, [view.selected, owner_state], [view.selected, view.details], **options).then(
        show, list_inputs, list_outputs, **options
    )

    def zip_of(ids: list[str], owner: str) -> str:
        edits = [studio.history.get(owner, edit_id) for edit_id in ids]
        folder = Path(tempfile.mkdtemp(prefix="qwen-edits-"))
        return str(export_zip(edits, studio.store, folder / archive_name("qwen-edits")))

    def zip_one(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        return zip_of([require(edit_id, request)], owner_of(owners, request))

    def zip_all(listed: list[str], owners: dict[str, Any] | None, request: gr.Request):
        return zip_of(listed, owner_of(owners, request)) if listed else None

    view.zip_one.click(zip_one, [view.selected, owner_state], view.download, **options)
    view.zip_all.click(zip_all, [view.listed, owner_state], view.download, **options)
