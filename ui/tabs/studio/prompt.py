"""The prompt with its live character count, and the negative prompt."""

from __future__ import annotations

import gradio as gr

from core import catalog
from ui.strings import I18N, status
from ui.tabs.studio.view import PromptFields

# Counted in the browser as you type; only the number changes, so the line keeps its language.
_COUNT_JS = "(p) => document.querySelector('#prompt-count').innerText.replace(/^\\d+/, [...(p || '')].length)"


def render() -> PromptFields:
    prompt = gr.Textbox(label=I18N("prompt"), placeholder=I18N("prompt_placeholder"), lines=3, elem_id="prompt")
    counter = gr.Markdown(status("chars", "en", count=0, limit=catalog.PROMPT_MAX_CHARS), elem_id="prompt-count")
    negative = gr.Textbox(
        label=I18N("negative_prompt"), placeholder=I18N("negative_placeholder"), lines=1, elem_id="negative"
    )
    return PromptFields(prompt, counter, negative)


def listen(fields: PromptFields) -> None:
    fields.prompt.change(None, fields.prompt, fields.counter, js=_COUNT_JS)
