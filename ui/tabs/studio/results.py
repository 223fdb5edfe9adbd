"""Results: the viewer (the selected result before/after, side by side, as a difference, or alone), the
strip of this session's results, the run's status, chaining and recall, and details."""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from core.compare import aligned_input, difference_map, pair_difference, pair_side_by_side, raw_pair, side_by_side
from ui import details as details_panel
from ui.alerts import inform, refuse
from ui.forms import recall_values
from ui.strings import I18N, language_of, status
from ui.tabs.studio.inputs import SLOTS
from ui.tabs.studio.view import Results, StudioView
from ui.wiring import PRIVATE

VIEW_RESULT, VIEW_SLIDER, VIEW_SIDE, VIEW_DIFF = "result", "slider", "side", "diff"
WITH_ORIGINAL, WITH_RAW = "original", "raw"  # "Compare with" for a region edit: Image 1 as given, its raw output
VIEWER_HEIGHT = 330  # px: with the strip of results and the status line, the middle column fits 1440x900


def render() -> Results:
    """The viewer first and largest, then the strip of results, the status line and what to do with the
    selected result."""
    with gr.Group(elem_id="viewer-group"):
        with gr.Row(elem_id="viewer-bar"):
            compare_with = gr.Radio(
                compare_choices(None),
                value=1,
                label=I18N("compare_with"),
                elem_id="compare-with",
            )
        with gr.Tabs(selected=VIEW_SLIDER, elem_id="viewer") as viewer:
            with gr.Tab(I18N("compare_slider"), id=VIEW_SLIDER, elem_id="view-slider") as slider_tab:
                slider = gr.ImageSlider(
                    label=I18N("compare"),
                    type="filepath",
                    format="png",
                    show_label=False,
                    height=VIEWER_HEIGHT,
                    max_height=VIEWER_HEIGHT,
                    elem_id="compare",
                )
            with gr.Tab(I18N("compare_side"), id=VIEW_SIDE, elem_id="view-side") as side_tab:
                side = gr.Image(
                    label=I18N("compare_side"),
                    format="png",
                    interactive=False,
                    show_label=False,
                    height=VIEWER_HEIGHT,
                    elem_id="side",
                )
            with gr.Tab(I18N("compare_diff"), id=VIEW_DIFF, elem_id="view-diff") as diff_tab:
                diff = gr.Image(
                    label=I18N("compare_diff"),
                    format="png",
                    interactive=False,
                    show_label=False,
                    height=VIEWER_HEIGHT,
                    elem_id="diff",
                )
            with gr.Tab(I18N("view_result"), id=VIEW_RESULT, elem_id="view-result") as result_tab:
                shown = gr.Image(
                    label=I18N("view_result"),
                    type="filepath",
                    format="png",
                    interactive=False,
                    show_label=False,
                    buttons=["download", "fullscreen"],
                    height=VIEWER_HEIGHT,
                    elem_id="shown",
                )
    gallery = gr.Gallery(
        label=I18N("results"),
        format="png",
        columns=6,
        height=176,
        object_fit="contain",
        show_label=False,
        allow_preview=False,
        buttons=["download"],
        elem_id="gallery",
    )
    run_status = gr.Markdown("", elem_id="run-status")
    with gr.Row(elem_classes="button-row result-actions"):
        use_buttons = tuple(gr.Button(I18N(f"use_as_{k}"), size="sm", elem_id=f"use-as-{k}") for k in SLOTS)
        recall = gr.Button(I18N("recall"), size="sm", elem_id="recall")
    with gr.Row(elem_classes="button-row result-actions"):
        keep = gr.Button(I18N("keep_only"), size="sm", elem_id="keep-only")
        discard = gr.Button(I18N("discard"), size="sm", elem_id="discard")
    details = details_panel.render("details")
    return Results(
        gallery=gallery,
        status=run_status,
        use_buttons=use_buttons,
        recall=recall,
        keep=keep,
        discard=discard,
        viewer=viewer,
        tabs={VIEW_SLIDER: slider_tab, VIEW_SIDE: side_tab, VIEW_DIFF: diff_tab, VIEW_RESULT: result_tab},
        compare_with=compare_with,
        slider=slider,
        side=side,
        diff=diff,
        shown=shown,
        details=details,
        state=gr.State([]),
        selected=gr.State(None),
    )


def compare_choices(chosen: dict[str, Any] | None) -> list[tuple[Any, Any]]:
    """What "Compare with" offers for the selected result: the slots, and for a region edit its original (the
    composite against Image 1 as it was given: no difference outside the mask) and its raw output (against the
    composite, where it was pasted)."""
    choices: list[tuple[Any, Any]] = [(I18N(f"image_{k}"), k) for k in SLOTS]
    if chosen and chosen.get("original"):
        choices.append((I18N("compare_original"), WITH_ORIGINAL))
    if chosen and chosen.get("raw"):
        choices.append((I18N("compare_raw"), WITH_RAW))
    return choices


def listen(view: StudioView) -> None:
    results = view.results
    select = results.gallery.select(
        _on_select, results.state, [results.selected, results.details], queue=False, **PRIVATE
    )
    # New results (a run landing, an edit reopened or restored) are shown at once: the newest is selected.
    newest = results.state.change(
        _newest, results.state, [results.selected, results.details, results.gallery], queue=False, **PRIVATE
    )
    _listen_chain(view)
    _listen_compare(view, (select, newest))


def _on_select(entries: list[dict[str, Any]], evt: gr.SelectData):
    chosen = entries[evt.index] if entries and evt.index < len(entries) else None
    return chosen, (chosen or {}).get("details")


def _newest(entries: list[dict[str, Any]] | None):
    if not entries:
        return None, None, gr.skip()
    return entries[0], entries[0].get("details"), gr.update(selected_index=0)


def _listen_chain(view: StudioView) -> None:
    """ "Use as Image k" puts the selected result in slot k; "Use these settings" recalls its settings. Both
    replace part of the setup, so Undo offers it back."""
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
            raise refuse("pick_result", language_of(request))
        inform(status("recalled", language_of(request)), language_of(request))
        return recall_values(chosen["settings"])

    view.undo.replacing(results.recall.click, "recall", recall, results.selected, view.settings_controls)


def _chain(chosen: dict[str, Any] | None, request: gr.Request) -> str:
    if not chosen:  # refused, so no Undo is offered for a change that did not happen
        raise refuse("pick_result", language_of(request))
    return chosen["path"]


def _listen_compare(view: StudioView, selections: tuple[Any, ...]) -> None:
    """The selected result alone and against an input, kept in step with the selection, "Compare with" and
    the slots. Only the view in sight is made (side by side and the difference when their tab is opened); the
    viewer turns to the result alone when there is no input to compare it with, and to the slider when a new
    result has one."""
    results = view.results
    options: dict[str, Any] = {"concurrency_id": "compare", "concurrency_limit": 4, **PRIVATE}
    active = gr.State(VIEW_SLIDER)

    def made(chosen: dict[str, Any] | None, k: Any, tab: str, sources: tuple[str | None, ...]) -> list[Any]:
        """[slider, side, diff, result alone] for the selected result against Image k (or its original, or its
        raw output), `tab` the one in sight."""
        if not chosen:
            return [None, None, None, None]
        result = chosen["path"]
        if k == WITH_RAW and chosen.get("raw"):
            box = chosen.get("box")
            before, after = raw_pair(chosen["raw"], result, tuple(box) if box else None)
            side = pair_side_by_side(before, after) if tab == VIEW_SIDE else None
            heat = pair_difference(before, after)[0] if tab == VIEW_DIFF else None
            return [(before, after), side, heat, result]
        if k == WITH_ORIGINAL and chosen.get("original"):
            source = chosen["original"]
        else:
            source = sources[k - 1] if k in SLOTS else sources[0]  # a forged "Compare with": Image 1
        if not source:
            return [None, None, None, result]
        with Image.open(result) as opened:  # the slider's halves must match pixel for pixel, as in the others
            before = aligned_input(source, opened.size)
        side = side_by_side(source, result) if tab == VIEW_SIDE else None
        heat = difference_map(source, result)[0] if tab == VIEW_DIFF else None
        return [(before, result), side, heat, result]

    def on_change(chosen: dict[str, Any] | None, k: Any, tab: str, *sources: str | None) -> list[Any]:
        return made(chosen, k, tab, sources)

    def on_selection(chosen: dict[str, Any] | None, k: Any, tab: str, *sources: str | None) -> list[Any]:
        if chosen is None:
            return [*made(chosen, k, tab, sources), gr.skip(), gr.skip(), gr.skip()]
        choices = compare_choices(chosen)
        offered = [value for _label, value in choices]
        # A region edit opens on its original; another result on the slot it was compared with.
        k = WITH_ORIGINAL if WITH_ORIGINAL in offered else k if k in offered else 1
        shown = made(chosen, k, VIEW_SLIDER, sources)
        tab = VIEW_SLIDER if shown[0] else VIEW_RESULT
        return [*shown, gr.update(selected=tab), tab, gr.update(choices=choices, value=k)]

    inputs = [results.selected, results.compare_with, active, *view.slots]
    outputs = [results.slider, results.side, results.diff, results.shown]
    for selection in selections:
        selection.then(on_selection, inputs, [*outputs, results.viewer, active, results.compare_with], **options)
    for trigger in (results.compare_with.change, *(s.change for s in view.slots)):
        trigger(on_change, inputs, outputs, **options)
    for tab_id, tab in results.tabs.items():
        tab.select(lambda tab_id=tab_id: tab_id, None, active, queue=False, **PRIVATE).then(
            on_change, inputs, outputs, **options
        )
