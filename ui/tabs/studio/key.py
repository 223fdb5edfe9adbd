"""The visitor's own DashScope key: kept in their browser only, never echoed back, forgettable."""

from __future__ import annotations

import gradio as gr

from core.settings import Settings
from ui.strings import I18N, language_of, status
from ui.tabs.studio.view import KeyFields
from ui.wiring import PRIVATE


def render(settings: Settings) -> KeyFields:
    """Open when the visitor's key is needed (the host has none, or asks for theirs)."""
    key_open = settings.require_user_key or not settings.has_server_key
    with gr.Accordion(I18N("key_section"), open=key_open, elem_id="key-settings"):
        box = gr.Textbox(label=I18N("key_field"), type="password", placeholder=I18N("key_placeholder"), elem_id="key")
        with gr.Row():
            save = gr.Button(I18N("key_save"), size="sm")
            forget = gr.Button(I18N("key_forget"), size="sm", elem_id="forget-key")
        line = gr.Markdown("", elem_id="key-status")
    return KeyFields(box, save, forget, line)


def listen(fields: KeyFields, key_state: gr.BrowserState) -> None:
    def save_key(key: str, request: gr.Request):
        key = (key or "").strip()
        if not key:
            return gr.update(), gr.update(), ""
        return {"api_key": key}, "", status("key_saved", language_of(request))

    fields.save.click(save_key, fields.box, [key_state, fields.box, fields.line], **PRIVATE)

    def forget_key(request: gr.Request):
        # A dict, not "": the browser skips saving falsy values, so an empty value would not forget.
        return {"api_key": ""}, "", status("key_forgotten", language_of(request))

    fields.forget.click(forget_key, None, [key_state, fields.box, fields.line], **PRIVATE)
