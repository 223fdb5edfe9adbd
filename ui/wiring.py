"""What every tab's wiring shares: the studio, who is asking, the browser states, and event options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from core.studio import Studio
from core.workflows.shelf import ExportShelf
from ui.runs import Runs
from ui.visitors import Visitor, Visitors

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
"""Page events stay out of "Use via API". That hides them only: any client can still call them through the
queue with any inputs, so every handler re-derives who is asking (ui.visitors)."""


@dataclass(frozen=True)
class Page:
    """The studio behind the page, who is asking, the two values each browser keeps (its owner token and
    its own key), the shelf the page's zips wait on, and the run each tab has in flight."""

    studio: Studio
    visitors: Visitors
    owner_state: gr.BrowserState
    key_state: gr.BrowserState
    exports: ExportShelf
    runs: Runs = field(default_factory=Runs)

    def tab(self, who: Visitor, request: gr.Request) -> tuple[str, str | None]:
        """The key of the browser tab behind a page event, for `runs`: its owner and its session."""
        return who.owner, request.session_hash

    def visitor(self, owner_state: Any, key_state: Any, request: gr.Request) -> Visitor:
        """Who is behind a page event (see Visitors.page); `key_state` None for events that bill nothing."""
        return self.visitors.page(owner_state, key_state, request)
