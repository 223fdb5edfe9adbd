"""Staging after a run: keep only the selected candidate (the run's others are discarded) or discard it. A
discarded result leaves the strip, the versions tree and History's default view; History's "Show discarded"
finds it again (Restore) until the storage quota needs its space.

The entry a handler acts on is the session's own selection, and its edit is looked up for the visitor: another
owner's edit is not found and nothing changes."""

from __future__ import annotations

from typing import Any

import gradio as gr

from core.history import NotFoundError
from ui.alerts import inform, refuse
from ui.gallery import Entry, items
from ui.strings import language_of, status
from ui.tabs.studio.view import Results
from ui.wiring import PRIVATE, Page


def listen(results: Results, page: Page) -> None:
    """Wire Keep only this and Discard on the selected result."""
    studio = page.studio

    def stage(keep: bool):
        def act(chosen: Entry | None, entries: list[Entry] | None, owners: Any, request: gr.Request):
            owner, lang = page.visitor(owners, None, request).owner, language_of(request)
            if not chosen or not isinstance(chosen.get("edit_id"), str) or not isinstance(chosen.get("index"), int):
                raise refuse("pick_result", lang)
            edit_id, index = chosen["edit_id"], chosen["index"]
            try:
                edit = studio.history.get(owner, edit_id)
            except NotFoundError:
                raise refuse("pick_result", lang) from None
            saved = {o.index for o in edit.outputs if o.state == "saved" and not o.discarded}
            gone = sorted(saved - {index}) if keep else [index] if index in saved else []
            for other in gone:
                studio.discard(owner, edit_id, other)
            left = [e for e in entries or [] if not (e.get("edit_id") == edit_id and e.get("index") in gone)]
            inform(status("kept_only" if keep else "discarded_one", lang, count=len(gone)), lang)
            return items(left, lang), left

        return act

    inputs = [results.selected, results.state, page.owner_state]
    for button, keep in ((results.keep, True), (results.discard, False)):
        button.click(stage(keep), inputs, [results.gallery, results.state], **PRIVATE)
