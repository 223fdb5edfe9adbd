"""Examples: one click loads a setup (images, prompt, number of results) without running it; Undo puts the
visitor's own setup back."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.examples import EXAMPLES, Example
from ui.strings import I18N, language_of
from ui.tabs.studio.view import ExampleButtons, StudioView


def render() -> ExampleButtons:
    """A row of small buttons, one per example, labelled in the page's language."""
    with gr.Column(elem_id="examples"):
        gr.Markdown(I18N("examples"), elem_classes="hint")
        with gr.Row(elem_classes="example-row"):
            buttons = tuple(
                gr.Button(I18N(f"example_{k}"), size="sm", elem_id=f"example-{k}", elem_classes="example")
                for k in range(1, len(EXAMPLES) + 1)
            )
    return ExampleButtons(buttons)


def listen(view: StudioView) -> None:
    """Each button fills Images 1 to 3 (emptying any slot after them), the prompt in the visitor's language
    and the number of results; nothing runs."""
    targets = [*view.all_slots, view.prompt.prompt, view.controls.n]
    for button, example in zip(view.examples.buttons, EXAMPLES, strict=True):
        view.undo.replacing(button.click, "example", _loader(example, len(view.all_slots)), None, targets)


def _loader(example: Example, slots: int):
    def load(request: gr.Request) -> list[Any]:
        images = example.paths()
        _label, prompt = example.text(language_of(request))
        return [*images, *([None] * (slots - len(images))), prompt, example.n]

    return load
