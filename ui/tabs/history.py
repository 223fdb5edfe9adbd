"""The History tab: this browser's edits, newest first; search, filter, reopen, re-run, star, delete, zip."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from core import catalog, errors
from core.history import EditRow, NotFoundError
from core.studio import Studio
from core.units import MEBIBYTE, megabytes
from core.workflows.export import archive_name, export_zip
from ui import gallery
from ui.alerts import fail, inform, refuse
from ui.forms import recall_values, settings_of
from ui.placeholders import placeholder
from ui.strings import I18N, language_of, status
from ui.tabs.studio import StudioView
from ui.wiring import PRIVATE, Page

PAGE = 24


@dataclass(frozen=True)
class Listing:
    """Search and filter, the usage line, the edits as thumbnails, and "more"."""

    search: gr.Textbox
    model: gr.Dropdown
    refresh: gr.Button
    usage: gr.Markdown
    gallery: gr.Gallery
    more: gr.Button
    listed: gr.State  # ids of the edits shown, in gallery order
    limit: gr.State  # how many are shown


@dataclass(frozen=True)
class Actions:
    """What can be done with the selected edit (or all shown), and its details."""

    reopen: gr.Button
    star: gr.Button
    rerun: gr.Button
    rerun_new: gr.Button
    zip_one: gr.Button
    zip_all: gr.Button
    delete: gr.Button
    download: gr.File
    details: gr.JSON
    selected: gr.State  # id of the edit last selected


@dataclass(frozen=True)
class HistoryView:
    """The tab: the listing on the left, the actions on the right."""

    listing: Listing
    actions: Actions


def render() -> HistoryView:
    """Create the tab's components."""
    with gr.Row(elem_id="history-filters"):
        search = gr.Textbox(label=I18N("history_search"), scale=4, elem_id="history-search")
        model = gr.Dropdown(
            [(I18N("history_all_models"), "")] + [(m.id, m.id) for m in catalog.MODELS],
            value="",
            label=I18N("history_model"),
            scale=2,
            elem_id="history-model",
        )
        refresh = gr.Button(I18N("history_refresh"), scale=1, elem_id="history-refresh")
    usage = gr.Markdown("", elem_id="history-usage")
    with gr.Row(equal_height=False):
        with gr.Column(scale=7):
            edits = gr.Gallery(
                label=I18N("history_edits"),
                columns=6,
                height=560,
                object_fit="cover",
                allow_preview=False,
                elem_id="history-gallery",
            )
            more = gr.Button(I18N("history_more"), size="sm", elem_id="history-more")
        with gr.Column(scale=4):
            actions = _render_actions()
    listing = Listing(search, model, refresh, usage, edits, more, gr.State([]), gr.State(PAGE))
    return HistoryView(listing, actions)


def _render_actions() -> Actions:
    with gr.Row(elem_classes="button-row"):
        reopen = gr.Button(I18N("history_reopen"), variant="primary", size="sm", elem_id="history-reopen")
        star = gr.Button(I18N("history_star"), size="sm", elem_id="history-star")
    with gr.Row(elem_classes="button-row"):
        rerun = gr.Button(I18N("history_rerun"), size="sm", elem_id="history-rerun")
        rerun_new = gr.Button(I18N("history_rerun_new"), size="sm", elem_id="history-rerun-new")
    with gr.Row(elem_classes="button-row"):
        zip_one = gr.Button(I18N("history_zip"), size="sm", elem_id="history-zip")
        zip_all = gr.Button(I18N("history_zip_all"), size="sm", elem_id="history-zip-all")
        delete = gr.Button(I18N("history_delete"), variant="stop", size="sm", elem_id="history-delete")
    download = gr.File(label=I18N("history_file"), interactive=False, elem_id="history-download")
    details = gr.JSON(label=I18N("record"), elem_id="history-details")
    return Actions(reopen, star, rerun, rerun_new, zip_one, zip_all, delete, download, details, gr.State(None))


def listen(view: HistoryView, page: Page, studio_view: StudioView, tabs: gr.Tabs, studio_tab_id: str) -> None:
    """Wire the tab's events, piece by piece."""
    show = _listen_listing(view, page, tabs)
    _listen_selection(view, page)
    reopen = _Reopen(page.studio, studio_view, tabs, studio_tab_id)
    _listen_reopen_and_rerun(view, page, reopen)
    _listen_star_and_delete(view, page, show)
    _listen_zips(view, page)


def _require(edit_id: str | None, request: gr.Request) -> str:
    if not edit_id:
        raise refuse("history_pick", language_of(request))
    return edit_id


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


@dataclass(frozen=True)
class _Shown:
    """An event that lists the edits again, for the actions that change them to chain on."""

    fn: Any
    inputs: list[Any]
    outputs: list[Any]

    def after(self, event: Any) -> None:
        event.then(self.fn, self.inputs, self.outputs, **PRIVATE)


def _listen_listing(view: HistoryView, page: Page, tabs: gr.Tabs) -> _Shown:
    """The visitor's edits, listed on refresh, search, filter, "more" and every tab change."""
    studio, owner_state = page.studio, page.owner_state
    listing = view.listing

    def show(search: str, model: str, limit: int, owners: dict[str, Any] | None, request: gr.Request):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        edits = studio.history.list(owner, search=search or "", model=model or "", limit=limit)
        # An edit whose files are gone (evicted, deleted) is still listed, on a plain tile.
        items = [(_thumbnail(studio, e) or placeholder("failed"), _caption(e, lang)) for e in edits]
        quota = studio.settings.owner_storage_mb * MEBIBYTE
        used = megabytes(studio.history.usage_bytes(owner))
        line = status("history_line", lang, count=len(edits), used=used, quota=megabytes(quota))
        if not edits:
            line += " · " + status("history_empty", lang)
        return items, [e.id for e in edits], line

    shown = _Shown(
        show,
        [listing.search, listing.model, listing.limit, owner_state],
        [listing.gallery, listing.listed, listing.usage],
    )
    for trigger in (listing.refresh.click, listing.search.submit, listing.model.change, tabs.select):
        trigger(show, shown.inputs, shown.outputs, **PRIVATE)
    shown.after(listing.more.click(lambda limit: limit + PAGE, listing.limit, listing.limit, **PRIVATE))
    return shown


def _listen_selection(view: HistoryView, page: Page) -> None:
    """A click on a thumbnail selects that edit and shows its parameters."""
    studio, owner_state = page.studio, page.owner_state

    def select(listed: list[str], owners: dict[str, Any] | None, evt: gr.SelectData, request: gr.Request):
        edit_id = listed[evt.index] if evt.index < len(listed) else None
        if edit_id is None:
            return None, None
        return edit_id, studio.history.get(page.visitor(owners, None, request).owner, edit_id).parameters()

    actions = view.actions
    view.listing.gallery.select(
        select, [view.listing.listed, owner_state], [actions.selected, actions.details], **PRIVATE
    )


@dataclass(frozen=True)
class _Reopen:
    """Puts an edit back in the Studio tab: its inputs, settings and results."""

    studio: Studio
    studio_view: StudioView
    tabs: gr.Tabs
    studio_tab_id: str

    @property
    def outputs(self) -> list[Any]:
        view = self.studio_view
        return [*view.all_slots, *view.settings_controls, *view.shown_results, self.tabs]

    def values(self, owner: str, edit_id: str, line: str) -> list[Any]:
        edit = self.studio.history.get(owner, edit_id)
        self.studio.history.touch(owner, edit_id)
        inputs = [path for path in self.studio.input_paths(edit) if Path(path).is_file()]
        entries = gallery.history_entries(self.studio, edit)
        return [
            *(inputs + [None] * (len(self.studio_view.all_slots) - len(inputs))),
            *recall_values(settings_of(edit.parameters())),
            gallery.items(entries),
            entries,
            line,
            gr.Tabs(selected=self.studio_tab_id),
        ]


def _listen_reopen_and_rerun(view: HistoryView, page: Page, reopen: _Reopen) -> None:
    """Reopen brings the edit back; Re-run repeats it (same seed or a new one) and brings the new one back."""
    studio, owner_state = page.studio, page.owner_state
    actions = view.actions

    def reopen_fn(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        owner = page.visitor(owners, None, request).owner
        return reopen.values(owner, _require(edit_id, request), status("reopened", language_of(request)))

    actions.reopen.click(reopen_fn, [actions.selected, owner_state], reopen.outputs, **PRIVATE)

    def rerun(new_seed: bool):
        def run(edit_id: str | None, owners: dict[str, Any] | None, keys: dict[str, Any] | None, request: gr.Request):
            who = page.visitor(owners, keys, request)
            try:
                request_again = studio.rerun_request(who.owner, _require(edit_id, request), new_seed=new_seed)
                result = studio.submit(request_again, who.caller).result()
            except errors.EditError as error:
                raise fail(error, who.lang) from None
            except NotFoundError:
                raise refuse("history_pick", who.lang) from None
            return reopen.values(who.owner, result.edit_id, status("reopened", who.lang))

        return run

    for button, new_seed in ((actions.rerun, False), (actions.rerun_new, True)):
        button.click(
            rerun(new_seed),
            [actions.selected, owner_state, page.key_state],
            reopen.outputs,
            concurrency_id="edit",
            **PRIVATE,
        )


def _listen_star_and_delete(view: HistoryView, page: Page, shown: _Shown) -> None:
    """Star protects an edit from eviction (a second click unstars); Delete removes it and its files."""
    studio, owner_state = page.studio, page.owner_state
    actions = view.actions

    def star(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        owner = page.visitor(owners, None, request).owner
        edit = studio.history.get(owner, _require(edit_id, request))
        studio.history.star(owner, edit.id, not edit.starred)
        return studio.history.get(owner, edit.id).parameters()

    shown.after(actions.star.click(star, [actions.selected, owner_state], actions.details, **PRIVATE))

    def delete(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        studio.delete(page.visitor(owners, None, request).owner, _require(edit_id, request))
        inform(status("history_deleted", language_of(request)), language_of(request))
        return None, None

    deleted = actions.delete.click(
        delete, [actions.selected, owner_state], [actions.selected, actions.details], **PRIVATE
    )
    shown.after(deleted)


def _listen_zips(view: HistoryView, page: Page) -> None:
    """A zip of the selected edit, or of every edit shown."""
    studio, owner_state = page.studio, page.owner_state
    actions = view.actions

    def zip_of(ids: list[str], owner: str) -> str:
        edits = [studio.history.get(owner, edit_id) for edit_id in ids]
        return str(export_zip(edits, studio.store, page.exports.place(owner, archive_name("qwen-edits"))))

    def zip_one(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        return zip_of([_require(edit_id, request)], page.visitor(owners, None, request).owner)

    def zip_all(listed: list[str], owners: dict[str, Any] | None, request: gr.Request):
        return zip_of(listed, page.visitor(owners, None, request).owner) if listed else None

    actions.zip_one.click(zip_one, [actions.selected, owner_state], actions.download, **PRIVATE)
    actions.zip_all.click(zip_all, [view.listing.listed, owner_state], actions.download, **PRIVATE)
