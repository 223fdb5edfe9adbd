"""The prompt with its live character count, and the negative prompt."""

from __future__ import annotations

import gradio as gr

from core import catalog
from ui.strings import I18N, language_of, status
from ui.tabs.studio.view import PromptFields
from ui.wiring import PRIVATE

# Counted in the browser as you type; only the number changes, so the line keeps its language.
_COUNT_JS = "(p) => document.querySelector('#prompt-count').innerText.replace(/^\\d+/, [...(p || '')].length)"


def render() -> PromptFields:
    prompt = gr.Textbox(label=I18N("prompt"), placeholder=I18N("prompt_placeholder"), lines=3, elem_id="prompt")
    limit = catalog.get_model(catalog.DEFAULT_MODEL).prompt_max
    counter = gr.Markdown(status("chars", "en", count=0, limit=limit), elem_id="prompt-count")
    negative = gr.Textbox(
        label=I18N("negative_prompt"), placeholder=I18N("negative_placeholder"), lines=1, elem_id="negative"
    )
    return PromptFields(prompt, counter, negative)


def listen(fields: PromptFields, model: gr.Dropdown) -> None:
    fields.prompt.change(None, fields.prompt, fields.counter, js=_COUNT_JS)

    def on_model(model_id: str, prompt: str, request: gr.Request):
        """The count against the model's own limit; the negative prompt only where the model takes one (its
        text kept, so switching back restores it)."""
        spec = catalog.get_model(model_id)
        lang = language_of(request)
        counter = status("chars", lang, count=len(prompt or ""), limit=spec.prompt_max)
        if spec.negative_prompt:
            return counter, gr.update(interactive=True, info="")
        return counter, gr.update(interactive=False, info=status("no_negative", lang, model=spec.id))

    model.change(on_model, [model, fields.prompt], [fields.counter, fields.negative], **PRIVATE)
