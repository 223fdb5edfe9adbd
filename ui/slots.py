"""The input image slot: a gr.Image that hands over the uploaded file untouched, so core judges it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio_client import utils as client_utils

URL_REFUSED = (
    "Image inputs must be uploaded files (or data: URIs), not web addresses: this server does not fetch URLs "
    "on anyone's behalf. Download the image and upload it."
)


class InputSlot(gr.Image):
    """gr.Image opens every upload with PIL before the handler runs, and a bad file then surfaces as a
    bare "Error". This slot returns the uploaded path as it is; core decodes it and explains problems.

    It also refuses http(s) addresses given instead of a file (through the API): Gradio would fetch them
    server-side, and the server fetches nothing but DashScope's results."""

    is_template = True  # rendered by the front end's own Image component

    def preprocess(self, payload: Any) -> str | None:
        """The uploaded file's path, or None for an empty slot."""
        return None if payload is None else str(payload.path)

    async def async_move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        """Gradio's input step; refused for web addresses (see the class docstring)."""
        if url_or_file_path is not None and client_utils.is_http_url_like(str(url_or_file_path)):
            raise gr.Error(URL_REFUSED)
        return await super().async_move_resource_to_block_cache(url_or_file_path)
