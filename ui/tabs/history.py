"""The History tab: this browser's edits, newest first; search, filter, reopen, re-run, star, delete, zip."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from core import catalog, errors
from core.history import EditRow, NotFoundError
from core.request import EditRequest
from core.studio import Studio
from core.units import MEBIBYTE, megabytes
from core.workflows.export import archive_name, export_zip
from ui import details as details_panel
from ui import gallery
from ui.alerts import fail, inform, refuse
from ui.forms import recall_values, settings_of
from ui.gallery import Entry
from ui.placeholders import placeholder
from ui.runs import run_edit
from ui.strings import I18N, language_of, status
from ui.tabs import versions
from ui.tabs.studio import StudioView
from ui.wiring import PRIVATE, Page

PAGE = 24
PROMPT_START = 40  # characters of the prompt a tile shows


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
    discarded: gr.Checkbox  # also the edits (and versions) whose results were all discarded


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
    armed: gr.State  # id of the edit whose Delete was clicked once: a second click deletes it


@dataclass(frozen=True)
class HistoryView:
    """The tab: the listing and the selected edit's versions on the left, the actions on the right."""

    listing: Listing
    actions: Actions
    versions: versions.VersionsView


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
        discarded = gr.Checkbox(False, label=I18N("history_show_discarded"), scale=1, elem_id="history-discarded")
        refresh = gr.Button(I18N("history_refresh"), scale=1, elem_id="history-refresh")
    usage = gr.Markdown("", elem_id="history-usage")
    with gr.Row(equal_height=False):
        with gr.Column(scale=7):
            edits = gr.Gallery(
                label=I18N("history_edits"),
                columns=6,
                height=560,
                object_fit="contain",  # a wide or tall result is shown whole, not cropped to a square
                allow_preview=False,
                elem_id="history-gallery",
            )
            more = gr.Button(I18N("history_more"), size="sm", elem_id="history-more")
            tree = versions.render()
        with gr.Column(scale=4):
            actions = _render_actions()
    listing = Listing(search, model, refresh, usage, edits, more, gr.State([]), gr.State(PAGE), discarded)
    return HistoryView(listing, actions, tree)


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
    details = details_panel.render("history-details")
    return Actions(
        reopen, star, rerun, rerun_new, zip_one, zip_all, delete, download, details, gr.State(None), gr.State(None)
    )


def listen(view: HistoryView, page: Page, studio_view: StudioView, tabs: gr.Tabs, studio_tab_id: str) -> None:
    """Wire the tab's events, piece by piece."""
    show = _listen_listing(view, page, tabs)
    selected = _listen_selection(view, page)
    reopen = _Reopen(page.studio, studio_view, tabs, studio_tab_id)
    _listen_reopen_and_rerun(view, page, reopen)
    deleted = _listen_star_and_delete(view, page, show)
    _listen_zips(view, page)
    actions = view.actions
    wiring = versions.Wiring(
        actions.selected, actions.details, actions.download, view.listing.discarded, studio_view, tabs, studio_tab_id
    )
    versions.listen(view.versions, page, wiring, [selected, deleted])


def _require(edit_id: str | None, request: gr.Request) -> str:
    if not edit_id:
        raise refuse("history_pick", language_of(request))
    return edit_id


def _caption(edit: EditRow, lang: str) -> str:
    """The prompt's start, when, the model's name and how it went, in `lang`."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(edit.created))
    model = catalog.get_model(edit.model).text(lang)[0] if edit.model in catalog.model_ids() else edit.model
    return status(
        "history_item",
        lang,
        prompt=_start(edit.prompt),
        when=when,
        model=model,
        status=details_panel.status_word(edit.status, lang),
        star="★ " if edit.starred else "",
    )


def _start(prompt: str) -> str:
    """The first PROMPT_START characters of a prompt, cut at a word where there is one."""
    text = " ".join(prompt.split())
    if len(text) <= PROMPT_START:
        return text
    cut = text[:PROMPT_START]
    return (cut.rsplit(" ", 1)[0] if " " in cut[PROMPT_START // 2 :] else cut) + "…"


def _thumbnail(studio: Studio, edit: EditRow) -> str | None:
    """The first saved result (a region edit's composite), else the first input: as a small cached JPEG."""
    saved = next((o for o in edit.outputs if o.state == "saved" and o.sha256 and not o.discarded), None)
    saved = saved or next((o for o in edit.outputs if o.state == "saved" and o.sha256), None)
    try:
        if saved:
            return str(
                studio.store.thumbnail(saved.composite_sha256 or saved.sha256, "png")
            )  # a region edit's: its composite
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

    def show(search: str, model: str, limit: int, discarded: bool, owners: dict[str, Any] | None, request: gr.Request):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        edits = studio.history.list(
            owner, search=search or "", model=model or "", limit=limit, discarded=bool(discarded)
        )
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
        [listing.search, listing.model, listing.limit, listing.discarded, owner_state],
        [listing.gallery, listing.listed, listing.usage],
    )
    triggers = (listing.refresh.click, listing.search.submit, listing.model.change, listing.discarded.change)
    for trigger in (*triggers, tabs.select):
        trigger(show, shown.inputs, shown.outputs, **PRIVATE)
    shown.after(listing.more.click(lambda limit: limit + PAGE, listing.limit, listing.limit, **PRIVATE))
    return shown


def _listen_selection(view: HistoryView, page: Page) -> Any:
    """A click on a thumbnail selects that edit, shows its details and disarms Delete; returns the event."""
    studio, owner_state = page.studio, page.owner_state

    def select(listed: list[str], owners: dict[str, Any] | None, evt: gr.SelectData, request: gr.Request):
        edit_id = listed[evt.index] if evt.index < len(listed) else None
        disarmed = gr.update(value=status("history_delete_button", language_of(request)))
        if edit_id is None:
            return None, None, None, disarmed
        edit = studio.history.get(page.visitor(owners, None, request).owner, edit_id)
        return edit_id, details_panel.edit_record(studio, edit), None, disarmed

    actions = view.actions
    return view.listing.gallery.select(
        select,
        [view.listing.listed, owner_state],
        [actions.selected, actions.details, actions.armed, actions.delete],
        **PRIVATE,
    )


@dataclass(frozen=True)
class _Reopen:
    """Puts an edit back in the Studio tab: its inputs and settings, and (for Reopen) its results."""

    studio: Studio
    studio_view: StudioView
    tabs: gr.Tabs
    studio_tab_id: str

    @property
    def setup(self) -> list[Any]:
        """The Studio's controls an edit's setup fills: every slot, then its settings."""
        return [*self.studio_view.all_slots, *self.studio_view.settings_controls]

    @property
    def outputs(self) -> list[Any]:
        return [*self.setup, *self.studio_view.shown_results, self.tabs]

    def setup_values(self, owner: str, edit_id: str) -> list[Any]:
        """The edit's inputs (those still stored) and settings, for `setup`."""
        edit = self.studio.history.get(owner, edit_id)
        self.studio.history.touch(owner, edit_id)
        inputs = [path for path in self.studio.input_paths(edit) if Path(path).is_file()]
        return [
            *(inputs + [None] * (len(self.studio_view.all_slots) - len(inputs))),
            *recall_values(settings_of(edit.parameters(), edit.plan)),
        ]

    def values(self, owner: str, edit_id: str, earlier: list[Entry], line: str) -> list[Any]:
        """`setup_values`, then the edit's results on top of the Studio's `earlier` ones, and `line`."""
        setup = self.setup_values(owner, edit_id)
        entries = gallery.history_entries(self.studio, self.studio.history.get(owner, edit_id))
        shown = {entry["path"] for entry in entries}
        entries += [entry for entry in earlier if entry["path"] not in shown]  # nothing shown is lost
        return [*setup, gallery.items(entries), entries, line, self.selected]

    @property
    def selected(self) -> gr.Tabs:
        return gr.Tabs(selected=self.studio_tab_id)


@dataclass(frozen=True)
class _Again:
    """An edit of history to repeat, read as `run_edit` reads a form."""

    studio: Studio
    owner: str
    edit_id: str
    new_seed: bool

    def to_request(self) -> EditRequest:
        return self.studio.rerun_request(self.owner, self.edit_id, new_seed=self.new_seed)


def _listen_reopen_and_rerun(view: HistoryView, page: Page, reopen: _Reopen) -> None:
    """Reopen brings the edit back; Re-run brings its setup back and runs it again in the Studio (same seed or
    a new one), its progress and results there as for Generate. Both offer the Studio's Undo."""
    studio, owner_state = page.studio, page.owner_state
    actions, studio_view = view.actions, reopen.studio_view
    results = studio_view.results
    undo = studio_view.undo

    def reopen_fn(edit_id: str | None, owners: dict[str, Any] | None, earlier: list[Entry], request: gr.Request):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        try:
            return reopen.values(owner, _require(edit_id, request), earlier or [], status("reopened", lang))
        except NotFoundError:
            raise refuse("history_pick", lang) from None

    inputs = [actions.selected, owner_state, results.state]
    undo.replacing(actions.reopen.click, "reopen", reopen_fn, inputs, reopen.outputs)

    def fill(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        owner, lang = page.visitor(owners, None, request).owner, language_of(request)
        try:
            setup = reopen.setup_values(owner, _require(edit_id, request))
        except NotFoundError:
            raise refuse("history_pick", lang) from None
        return [*setup, status("rerunning", lang), reopen.selected]

    def rerun(new_seed: bool):
        def run(
            edit_id: str | None,
            owners: dict[str, Any] | None,
            keys: dict[str, Any] | None,
            earlier: list[Entry] | None,
            request: gr.Request,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's documented way to get a progress bar
        ):
            who = page.visitor(owners, keys, request)
            again = _Again(studio, who.owner, _require(edit_id, request), new_seed)
            try:
                for entries, record, line in run_edit(studio, again, who, earlier or [], progress):
                    if entries is None:  # still waiting: only the status line changes
                        yield gr.skip(), gr.skip(), line, gr.skip(), gr.skip()
                        continue
                    if record:
                        line = status("rerun_done", who.lang, seed=record["seed"]) + "\n\n" + line
                    seed = gr.update(value=record["seed"]) if record else gr.update()
                    yield gallery.items(entries), entries, line, seed, record
            except errors.EditError as error:  # the reason stays on the page after its message box has gone
                alert = fail(error, who.lang)
                yield gr.skip(), gr.skip(), f"⚠ {alert.message}", gr.skip(), gr.skip()
                raise alert from None
            except NotFoundError:
                raise refuse("history_pick", who.lang) from None

        return run

    outputs = [results.gallery, results.state, results.status, studio_view.controls.seed, results.details]
    options: dict[str, Any] = {"concurrency_id": "edit", "show_progress_on": results.gallery, **PRIVATE}
    runs = []
    for button, new_seed in ((actions.rerun, False), (actions.rerun_new, True)):
        filled = undo.replacing(
            button.click, "rerun", fill, [actions.selected, owner_state], [*reopen.setup, results.status, reopen.tabs]
        )
        inputs = [actions.selected, owner_state, page.key_state, results.state]
        runs.append(filled.success(rerun(new_seed), inputs, outputs, **options))
    # The Studio's Cancel stops waiting for a re-run as for Generate (run.py writes the line).
    studio_view.run.cancel.click(None, None, None, cancels=runs, queue=False, **PRIVATE)


def _listen_star_and_delete(view: HistoryView, page: Page, shown: _Shown) -> Any:
    """Star protects an edit from eviction (a second click unstars); Delete asks first (a second click on the
    same selection deletes it and its files), then leaves nothing selected. Returns Delete's event."""
    studio, owner_state = page.studio, page.owner_state
    actions = view.actions

    def star(edit_id: str | None, owners: dict[str, Any] | None, request: gr.Request):
        owner = page.visitor(owners, None, request).owner
        edit = studio.history.get(owner, _require(edit_id, request))
        studio.history.star(owner, edit.id, not edit.starred)
        return details_panel.edit_record(studio, studio.history.get(owner, edit.id))

    shown.after(actions.star.click(star, [actions.selected, owner_state], actions.details, **PRIVATE))

    def delete(edit_id: str | None, armed: str | None, owners: dict[str, Any] | None, request: gr.Request):
        lang = language_of(request)
        edit_id = _require(edit_id, request)
        if armed != edit_id:
            return edit_id, gr.skip(), gr.skip(), edit_id, gr.update(value=status("history_delete_confirm", lang))
        with contextlib.suppress(NotFoundError):  # gone already (another tab, eviction): as the visitor wanted
            studio.delete(page.visitor(owners, None, request).owner, edit_id)
        inform(status("history_deleted", lang), lang)
        disarmed = gr.update(value=status("history_delete_button", lang))
        return None, None, gr.Gallery(selected_index=None), None, disarmed

    outputs = [actions.selected, actions.details, view.listing.gallery, actions.armed, actions.delete]
    deleted = actions.delete.click(delete, [actions.selected, actions.armed, owner_state], outputs, **PRIVATE)
    shown.after(deleted)
    return deleted


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
