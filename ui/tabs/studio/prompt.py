"""The prompt with its live character count (red past the model's limit) and the check of its image references
as it is typed, and the negative prompt."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import gradio as gr

from core import catalog, errors
from core.references import reference_problems
from ui.slots import InputSlot
from ui.strings import I18N, language_of, status
from ui.tabs.studio.view import PromptFields
from ui.wiring import PRIVATE

# The count against the chosen model's limit, worked out in the browser as you type (in code points, as core
# counts) and marked past the limit (the CSS colours it). Only the numbers change: the line keeps the wording
# of the page's language, read from its paragraph (a progress timer may be showing over the block).
_COUNT_JS = (
    "(p, m) => {"
    f"const limits = {json.dumps({model.id: model.prompt_max for model in catalog.MODELS})};"
    "const count = [...(p || '')].length, limit = limits[m];"
    "const line = document.querySelector('#prompt-count');"
    "line.toggleAttribute('data-over', limit !== undefined && count > limit);"
    "const text = (line.querySelector('p') || line).innerText;"
    "return limit === undefined ? text : text.replace(/^\\d+(\\D+?)\\d+/, (_, between) => count + between + limit);"
    "}"
)


def render() -> PromptFields:
    prompt = gr.Textbox(label=I18N("prompt"), placeholder=I18N("prompt_placeholder"), lines=3, elem_id="prompt")
    limit = catalog.get_model(catalog.DEFAULT_MODEL).prompt_max
    counter = gr.Markdown(status("chars", "en", count=0, limit=limit), elem_id="prompt-count")
    references = gr.Markdown("", visible=False, elem_id="prompt-references")
    negative = gr.Textbox(
        label=I18N("negative_prompt"), placeholder=I18N("negative_placeholder"), lines=1, elem_id="negative"
    )
    return PromptFields(prompt, counter, negative, references)


def listen(fields: PromptFields, model: gr.Dropdown, slots: Sequence[InputSlot]) -> None:
    """The count as you type; the references checked on every change of the prompt, the model or a slot."""
    for trigger in (fields.prompt.change, model.change):
        trigger(None, [fields.prompt, model], fields.counter, js=_COUNT_JS)

    def on_model(model_id: str, request: gr.Request):
        """The negative prompt only where the model takes one (its text kept, so switching back restores it)."""
        spec = catalog.get_model(model_id)
        if spec.negative_prompt:
            return gr.update(interactive=True, info="")
        return gr.update(interactive=False, info=status("no_negative", language_of(request), model=spec.id))

    model.change(on_model, model, fields.negative, **PRIVATE)

    def check(values: dict[Any, Any], request: gr.Request) -> Any:
        paths = [values[slot] for slot in slots]
        return references_line(values[fields.prompt], values[model], paths, language_of(request))

    # Change events run the latest value once the one in flight is done: typing sends no flood of checks.
    for trigger in (fields.prompt.change, model.change, *(slot.change for slot in slots)):
        trigger(check, {fields.prompt, model, *slots}, fields.references, queue=False, **PRIVATE)


def references_line(prompt: str | None, model_id: str, paths: Sequence[str | None], lang: str) -> dict[str, Any]:
    """What Generate would refuse in the prompt's image references (core's own check, `reference_problems`),
    one line per slot named, or nothing."""
    filled = [slot for slot, path in enumerate(paths, start=1) if path]
    try:
        problems = reference_problems(prompt or "", filled, model_id)
    except errors.EditError:  # a forged model name: Generate refuses it
        problems = []
    if not problems:
        return gr.update(value="", visible=False)
    lines = ["⚠ " + html.escape(problem.message(lang)) for problem in problems]
    return gr.update(value="  \n".join(lines), visible=True)
