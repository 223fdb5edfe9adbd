"""The Studio tab: a workspace of three columns — the setup (image slots, prompt, Generate, examples), the
viewer with this session's results, and the settings panel — that folds into one column on a phone.

Each group of widgets has its own module with `render()` (create them) and `listen()` (wire them);
this module lays the groups out as on the page and wires them in turn.
"""

from __future__ import annotations

import gradio as gr

from core.studio import Studio
from ui.tabs.studio import (
    controls,
    draft,
    examples,
    inputs,
    key,
    marks,
    prompt,
    recipe,
    region,
    results,
    run,
    staging,
    undo,
)
from ui.tabs.studio.view import StudioView, setup_of, studio_form
from ui.wiring import Page

__all__ = ["StudioView", "listen", "render"]


def render(studio: Studio) -> StudioView:
    """The setup on the left, the viewer and results (the largest part) in the middle, the settings on the
    right, each column scrolling on its own when the window is short."""
    settings = studio.settings
    with gr.Row(equal_height=False, elem_id="workspace"):
        with gr.Column(scale=4, min_width=340, elem_id="inputs", elem_classes="pane"):
            input_group = inputs.render()
            region_group = region.render()
            with region_group.panel:  # the edit area's fourth choice, in the same accordion
                marks_group = marks.render()
            prompt_group = prompt.render()
            run_group = run.render(settings)
            undo_place = gr.Row(elem_id="undo-row")
            recipe_group = recipe.render()  # under Generate: the setup, prompt and Generate fit a laptop's window
            example_group = examples.render()
        with gr.Column(scale=7, min_width=360, elem_id="outputs"):
            result_group = results.render()
        with gr.Column(scale=3, min_width=280, elem_id="side-panel", elem_classes="pane"):
            control_group = controls.render(settings)
            key_group = key.render(settings)
    with undo_place:  # the setup's controls exist only now
        undo_bar = undo.render(setup_of(studio_form(input_group, region_group, prompt_group, control_group)))
    keeping = draft.render()
    return StudioView(
        input_group,
        region_group,
        marks_group,
        prompt_group,
        recipe_group,
        run_group,
        control_group,
        key_group,
        result_group,
        example_group,
        undo_bar,
        keeping,
    )


def listen(view: StudioView, page: Page) -> None:
    """Wire the tab's events, group by group."""
    run.listen(view, page)
    inputs.listen(view.inputs, view.controls.model, view.undo)
    region.listen(view.region, view.slots[0])
    marks.listen(view.marks, view.region.area, view.slots[0], view.slots[1], view.prompt.prompt, view.undo)
    prompt.listen(view.prompt, view.controls.model, view.all_slots)
    recipe.listen(view)
    controls.listen(view.controls, view.all_slots)
    results.listen(view)
    staging.listen(view.results, page)
    examples.listen(view)
    key.listen(view.key, page.key_state)
    undo.listen(view.undo)
    draft.listen(view, page)
