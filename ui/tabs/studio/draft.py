"""The visitor's draft, kept on the server (`core.drafts`): every slot, the prompts, every setting and the results
shown are saved as they change and come back at the next page load, without running anything; an edit started
before a reload shows its results when it lands.

Images are saved on a slot's change only, the text and settings apart from them (no image is hashed again for a
keystroke). Every handler asks who is asking: a client that names no owner this server signed keeps nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio.components import Component
from gradio.utils import get_upload_folder

from core.drafts import IN_FLIGHT
from core.history import NotFoundError
from core.studio import Studio
from ui import gallery
from ui.gallery import Entry
from ui.strings import status
from ui.tabs.studio.view import DraftKeeping, StudioView
from ui.visitors import Visitor
from ui.wiring import PRIVATE, Page

POLL_SECONDS = 1.5


def render() -> DraftKeeping:
    """The poll (idle until the page finds an edit of the visitor's still running) and what it waits for."""
    return DraftKeeping(timer=gr.Timer(POLL_SECONDS, active=False), awaited=gr.State([]))


def listen(view: StudioView, page: Page) -> None:
    """Save each part of the draft as it changes (a run's start is marked by Generate); poll an edit started
    before the reload."""
    studio, owner_state = page.studio, page.owner_state
    slots, settings = list(view.all_slots), _settings_controls(view)
    save = {"queue": False, "trigger_mode": "always_last", **PRIVATE}

    def save_images(values: dict[Any, Any], request: gr.Request) -> None:
        who = page.visitor(values[owner_state], None, request)
        if who.verified:
            paths = [_readable(values[slot], studio.store.objects) for slot in slots]
            studio.drafts.save_images(who.owner, paths)
            studio.enforce_quotas(who.owner)  # the draft's images count in the owner's share

    gr.on(
        [slot.change for slot in slots], save_images, {*slots, owner_state}, None, api_name="save_draft_images", **save
    )

    def save_settings(values: dict[Any, Any], request: gr.Request) -> None:
        who = page.visitor(values[owner_state], None, request)
        if who.verified:
            kept = {name: values[c] for name, c in settings.items() if _fits(c, values[c])}
            studio.drafts.save_settings(who.owner, kept)

    triggers = [c.change for c in settings.values()]
    gr.on(triggers, save_settings, {*settings.values(), owner_state}, None, api_name="save_draft_settings", **save)

    def save_shown(entries: list[Entry] | None, owners: Any, request: gr.Request) -> None:
        who = page.visitor(owners, None, request)
        if who.verified:
            studio.drafts.save_shown(who.owner, [e.get("edit_id") for e in entries or [] if isinstance(e, dict)])

    view.results.state.change(save_shown, [view.results.state, owner_state], None, api_name="save_draft_shown", **save)

    keeping, results = view.draft, view.results

    def poll(awaited: list[str] | None, entries: list[Entry] | None, owners: Any, request: gr.Request):
        return _landed(studio, page.visitor(owners, None, request), awaited or [], entries or [])

    keeping.timer.tick(
        poll,
        [keeping.awaited, results.state, owner_state],
        [results.gallery, results.state, results.status, keeping.timer, keeping.awaited],
        queue=False,
        **PRIVATE,
    )


def restore_on(load: Any, view: StudioView, page: Page) -> None:
    """After the page's load event: the visitor's draft back in the Studio (nothing runs), and the poll started
    when an edit of theirs started before the reload has not landed yet."""
    studio, owner_state = page.studio, page.owner_state
    slots, settings = list(view.all_slots), _settings_controls(view)
    results, keeping = view.results, view.draft
    outputs = [*slots, *settings.values(), results.gallery, results.state, results.status, keeping.timer]
    outputs.append(keeping.awaited)

    def restore(owners: Any, request: gr.Request) -> list[Any]:
        who = page.visitor(owners, None, request)
        if not who.verified:
            return [gr.skip()] * len(outputs)
        draft = studio.drafts.get(who.owner)
        images = []
        for k in range(1, len(slots) + 1):
            image = draft.image(k)
            path = studio.drafts.path(image) if image else None
            images.append(str(path) if path else gr.skip())
        values = [
            draft.settings[name] if _fits(c, draft.settings.get(name)) else gr.skip() for name, c in settings.items()
        ]
        unshown = studio.drafts.unshown(who.owner)  # the last run's edits, when a reload cut it off
        awaited = [e.id for e in unshown if e.status in IN_FLIGHT]
        fresh = _entries(studio, who.owner, [e.id for e in unshown if e.status not in IN_FLIGHT])
        entries = fresh + _entries(studio, who.owner, list(draft.shown))
        if fresh:  # landed while the page was away: shown from now on
            studio.drafts.save_shown(who.owner, [e["edit_id"] for e in entries])
        shown = [gallery.items(entries), entries] if entries else [gr.skip(), gr.skip()]
        line: Any = gr.skip()
        if awaited:
            line = status("draft_running", who.lang)
        elif fresh:
            line = status("draft_landed", who.lang, count=len(fresh))
        return [*images, *values, *shown, line, gr.Timer(active=bool(awaited)), awaited]

    load.then(restore, owner_state, outputs, queue=False, **PRIVATE)


def _settings_controls(view: StudioView) -> dict[str, Component]:
    """The draft's text and settings: every control of the form but the slots and the paint editor (the painted
    region is not kept: it belongs to the picture in Image 1), by the form's field names."""
    setup = set(view.setup)
    return {name: c for name, c in view.form.controls.items() if isinstance(c, Component) and c in setup}


def _readable(path: Any, objects: Path) -> str | None:
    """A slot's file when it is one the page may hand over: an upload, or a file of the store's `objects` (core
    checks that the owner refers to it)."""
    if not isinstance(path, str) or not path:
        return None
    resolved = Path(path).resolve()
    folders = (Path(get_upload_folder()).resolve(), objects.resolve())
    return path if any(resolved.is_relative_to(folder) for folder in folders) else None


def _fits(component: Component, value: Any) -> bool:
    """Whether `value` is one the control can hold (what a draft saves and restores: nothing a forged call sent
    that the page could not show)."""
    if isinstance(component, gr.Radio | gr.Dropdown):
        return isinstance(value, str) and value in [choice[1] for choice in component.choices]
    if isinstance(component, gr.Checkbox):
        return isinstance(value, bool)
    if isinstance(component, gr.Textbox):
        return isinstance(value, str)
    if isinstance(component, gr.Number | gr.Slider):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        low, high = getattr(component, "minimum", None), getattr(component, "maximum", None)
        return (low is None or value >= low) and (high is None or value <= high)
    return False


def _entries(studio: Studio, owner: str, edit_ids: list[str]) -> list[Entry]:
    """The results of the owner's edits in that order (an edit deleted or evicted meanwhile is left out)."""
    entries: list[Entry] = []
    for edit_id in edit_ids:
        try:
            entries += gallery.history_entries(studio, studio.history.get(owner, edit_id))
        except NotFoundError:
            continue
    return entries


def _landed(studio: Studio, who: Visitor, awaited: list[str], entries: list[Entry]) -> list[Any]:
    """One look at the edits started before the reload: their results so far on top of the others shown, the
    status line once none is still running, and the poll stopped then."""
    still, landed = [], []
    for edit_id in awaited:
        try:
            edit = studio.history.get(who.owner, edit_id)
        except NotFoundError:  # deleted meanwhile, or never this visitor's
            continue
        if edit.status in IN_FLIGHT:
            still.append(edit_id)
        landed += gallery.history_entries(studio, edit)
    shown = landed + [e for e in entries if e.get("edit_id") not in awaited]
    changed = [e["path"] for e in shown] != [e.get("path") for e in entries]
    if changed and who.verified:  # kept here: a State set by an event outside the queue tells no listener
        studio.drafts.save_shown(who.owner, [e["edit_id"] for e in shown if e["edit_id"] not in still])
    results = [gallery.items(shown), shown] if changed else [gr.skip(), gr.skip()]
    if still:
        return [*results, gr.skip(), gr.skip(), still]
    line = status("draft_landed" if landed else "draft_failed", who.lang, count=len(landed))
    return [*results, line, gr.Timer(active=False), []]
