"""The Studio tab: image slots, prompt, settings, Generate, a progressive gallery, compare and recall.

Each group of widgets has its own module with `render()` (create them) and `listen()` (wire them);
this module lays the groups out as on the page and wires them in turn.
"""

from __future__ import annotations

import gradio as gr

from core.studio import Studio
from ui.tabs.studio import controls, draft, inputs, key, prompt, results, run, undo
from ui.tabs.studio.view import StudioView, setup_of, studio_form
from ui.wiring import Page

__all__ = ["StudioView", "listen", "render"]


def render(studio: Studio) -> StudioView:
    """Inputs, prompt, Generate and settings on the left; results on the right."""
    settings = studio.settings
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=360, elem_id="inputs"):
            input_group = inputs.render()
            prompt_group = prompt.render()
            run_group = run.render(settings)
            undo_place = gr.Row(elem_id="undo-row")
            control_group = controls.render(settings)
            key_group = key.render(settings)
        with gr.Column(scale=6, min_width=360, elem_id="outputs"):
            result_group = results.render(input_group.slots, prompt_group.prompt, control_group.n)
    with undo_place:  # the setup's controls exist only now
        undo_bar = undo.render(setup_of(studio_form(input_group, prompt_group, control_group)))
    keeping = draft.render()
    return StudioView(input_group, prompt_group, run_group, control_group, key_group, result_group, undo_bar, keeping)


def listen(view: StudioView, page: Page) -> None:
    """Wire the tab's events, group by group."""
    run.listen(view, page)
    inputs.listen(view.inputs, view.controls.model)
    prompt.listen(view.prompt, view.controls.model)
    controls.listen(view.controls, view.all_slots)
    results.listen(view)
    key.listen(view.key, page.key_state)
    undo.listen(view.undo)
    draft.listen(view, page)
