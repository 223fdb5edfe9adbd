"""Results: the gallery, the run's status, chaining and recall, examples, compare views and details."""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from core.compare import aligned_input, difference_map, side_by_side
from ui.examples import example_labels, example_rows
from ui.forms import recall_values
from ui.slots import InputSlot
from ui.strings import I18N, language_of, status
from ui.tabs.studio.inputs import SLOTS
from ui.tabs.studio.view import Results, StudioView
from ui.wiring import PRIVATE


def render(slots: tuple[InputSlot, ...], prompt: gr.Textbox, n: gr.Slider) -> Results:
    """The gallery first; examples fill `slots`, `prompt` and `n`."""
    gallery = gr.Gallery(
        label=I18N("results"),
        format="png",
        columns=3,
        height=520,
        object_fit="contain",
        buttons=["download", "fullscreen"],
        elem_id="gallery",
    )
    run_status = gr.Markdown("", elem_id="run-status")
    with gr.Row(elem_classes="button-row"):
        use_buttons = tuple(gr.Button(I18N(f"use_as_{k}"), size="sm", elem_id=f"use-as-{k}") for k in SLOTS)
        recall = gr.Button(I18N("recall"), size="sm", elem_id="recall")
    examples = gr.Examples(
        example_rows(),
        inputs=[*slots, prompt, n],
        label=I18N("examples"),
        example_labels=example_labels(),
        elem_id="examples",
    )
    with gr.Accordion(I18N("compare"), open=False, elem_id="compare-section"):
        compare_with = gr.Radio([(I18N(f"image_{k}"), k) for k in SLOTS], value=1, label=I18N("compare_with"))
        with gr.Tabs():
            with gr.Tab(I18N("compare_slider")):
                slider = gr.ImageSlider(label=I18N("compare"), type="filepath", format="png", elem_id="compare")
            with gr.Tab(I18N("compare_side")):
                side = gr.Image(label=I18N("compare_side"), format="png", interactive=False, elem_id="side")
            with gr.Tab(I18N("compare_diff")):
                diff = gr.Image(label=I18N("compare_diff"), format="png", interactive=False, elem_id="diff")
    details = gr.JSON(label=I18N("record"), elem_id="details")
    return Results(
        gallery=gallery,
        status=run_status,
        use_buttons=use_buttons,
        recall=recall,
        examples=examples,
        compare_with=compare_with,
        slider=slider,
        side=side,
        diff=diff,
        details=details,
        state=gr.State([]),
        selected=gr.State(None),
    )


def listen(view: StudioView) -> None:
    results = view.results
    select = results.gallery.select(
        _on_select, results.state, [results.selected, results.details], queue=False, **PRIVATE
    )
    _listen_chain(view)
    _listen_compare(view, select)


def _on_select(entries: list[dict[str, Any]], evt: gr.SelectData):
    chosen = entries[evt.index] if entries and evt.index < len(entries) else None
    return chosen, (chosen or {}).get("details")


def _listen_chain(view: StudioView) -> None:
    """ "Use as Image k" puts the selected result in slot k; "Use these settings" recalls its settings."""
    results = view.results
    for k, button in zip(SLOTS, results.use_buttons, strict=True):  # exactly slot k, whatever the others hold
        view.undo.replacing(
            button.click,
            "use_as",
            _chain,
            results.selected,
            view.slots[k - 1],
            says={"slot": k},
            show_progress="hidden",
        )

    def recall(chosen: dict[str, Any] | None, request: gr.Request):
        if not chosen:
            raise gr.Error(status("pick_result", language_of(request)))
        gr.Info(status("recalled", language_of(request)))
        return recall_values(chosen["settings"])

    view.undo.replacing(results.recall.click, "recall", recall, results.selected, view.settings_controls)


def _chain(chosen: dict[str, Any] | None, request: gr.Request) -> str:
    if not chosen:  # refused, so no Undo is offered for a change that did not happen
        raise gr.Error(status("pick_result", language_of(request)))
    return chosen["path"]


def _listen_compare(view: StudioView, select: Any) -> None:
    """The selected result against an input: slider, side by side and difference, kept in step."""
    results = view.results

    def compare(chosen: dict[str, Any] | None, k: int, i1: str | None, i2: str | None, i3: str | None):
        source = (i1, i2, i3)[int(k) - 1]
        if not chosen or not source:
            return None, None, None
        result = chosen["path"]
        with Image.open(result) as opened:  # the slider's halves must match pixel for pixel, as in the others
            before = aligned_input(source, opened.size)
        heat, _mean = difference_map(source, result)
        return (before, result), side_by_side(source, result), heat

    inputs = [results.selected, results.compare_with, *view.slots]
    outputs = [results.slider, results.side, results.diff]
    select.then(compare, inputs, outputs, **PRIVATE)
    for trigger in (results.compare_with.change, *(s.change for s in view.slots)):
        trigger(compare, inputs, outputs, **PRIVATE)
