"""The input image slot: a gr.Image that hands over the uploaded file untouched, so core judges it."""

from __future__ import annotations

from typing import Any

import gradio as gr


class InputSlot(gr.Image):
    """gr.Image opens every upload with PIL before the handler runs, and a bad file then surfaces as a
    bare "Error". This slot returns the uploaded path as it is; core decodes it and explains problems."""

    is_template = True  # rendered by the front end's own Image component

    def preprocess(self, payload: Any) -> str | None:
        """The uploaded file's path, or None for an empty slot."""
        return None if payload is None else str(payload.path)
