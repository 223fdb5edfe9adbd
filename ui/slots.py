"""Inputs that hand over what they were given untouched, so core judges it and says what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio_client import utils as client_utils

from ui.alerts import quiet

URL_REFUSED = (
    "Image inputs must be uploaded files (or data: URIs), not web addresses: this server does not fetch URLs "
    "on anyone's behalf. Download the image and upload it. / 图片输入必须是上传的文件（或 data: URI），"
    "不能是网址：本服务器不会代为获取网址。请先下载图片再上传。"
)


class _RefusesAddresses(gr.components.Component):
    """Refuses http(s) addresses given instead of a file (through the API): Gradio would fetch them
    server-side, and the server fetches nothing but DashScope's results."""

    async def async_move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        """Gradio's input step; refused for web addresses (see the class docstring)."""
        if url_or_file_path is not None and client_utils.is_http_url_like(str(url_or_file_path)):
            raise quiet(URL_REFUSED, "image input refused: a web address instead of a file")  # a link may hold a token
        return await super().async_move_resource_to_block_cache(url_or_file_path)


class InputSlot(gr.Image, _RefusesAddresses):
    """gr.Image opens every upload with PIL before the handler runs, and a bad file then surfaces as a
    bare "Error". This slot returns the uploaded path as it is; core decodes it and explains problems.
    Web addresses are refused (`_RefusesAddresses`, second among the bases: Gradio names a template after
    its first base)."""

    is_template = True  # rendered by the front end's own Image component

    def preprocess(self, payload: Any) -> str | None:
        """The uploaded file's path, or None for an empty slot."""
        return None if payload is None else str(payload.path)


class InputFiles(gr.File, _RefusesAddresses):
    """Several files, handed over as paths (gr.File opens none of them; core does); web addresses refused."""

    is_template = True  # rendered by the front end's own File component


class RawNumber(gr.Number):
    """gr.Number refuses a value it cannot round ("abc", "2", a list) inside Gradio, and the caller then reads
    a bare "Error". This one passes the value on as sent; core checks it and names the field and range."""

    is_template = True  # rendered by the front end's own Number component

    def preprocess(self, payload: Any) -> Any:
        """The value as the caller sent it."""
        return payload
