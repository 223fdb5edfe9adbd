"""The edit area, under the slots: the whole image (optionally aligned to Image 1), a region painted on Image 1,
or a larger canvas; or marks drawn on a copy of Image 1 (ui/tabs/studio/marks.py). One choice at a time, so the
page never offers what core refuses (a mask and an expansion together, or a mask and marks); each choice shows
only its own controls.

The paint editor works over a small copy of Image 1, kept in step with the slot; the brush paints a see-through
red, so the region shows as an overlay. "Rectangle" turns the strokes into the box around them (the editor has
no rectangle tool: a designer drags one diagonal stroke, or rough strokes over the area, and gets the box), and
"Invert" paints exactly what was not. Nothing painted: the edit is an ordinary one.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from core.images import read_dimensions
from core.regions import mask_layers
from core.regions.expand import Expansion
from ui.forms import AREA_EXPAND, AREA_MARKS, AREA_PAINT, AREA_WHOLE, SIDES
from ui.regions import PAINT_OPACITY, PAINT_RGBA, RegionEditor, backdrop_of, editor_value, layers_of
from ui.slots import InputSlot
from ui.strings import I18N
from ui.tabs.studio.view import RegionPanel
from ui.wiring import PRIVATE

ASPECTS = {"16:9": 16 / 9, "3:2": 3 / 2, "4:3": 4 / 3, "1:1": 1.0, "3:4": 3 / 4, "2:3": 2 / 3, "9:16": 9 / 16}
EDITOR_HEIGHT = 380


def render() -> RegionPanel:
    """The edit-area accordion (closed: an ordinary edit needs none of it)."""
    with gr.Accordion(I18N("area_panel"), open=False, elem_id="area-panel") as panel:
        area = gr.Radio(
            [
                (I18N("area_whole"), AREA_WHOLE),
                (I18N("area_paint"), AREA_PAINT),
                (I18N("area_expand"), AREA_EXPAND),
                (I18N("area_marks"), AREA_MARKS),
            ],
            value=AREA_WHOLE,
            label=I18N("area"),
            info=I18N("area_info"),
            elem_id="area",
        )
        with gr.Column(elem_id="area-whole") as whole:
            align = gr.Checkbox(False, label=I18N("align"), info=I18N("align_info"), elem_id="align")
            keep = gr.Checkbox(
                False,
                label=I18N("keep_unchanged"),
                info=I18N("keep_unchanged_info"),
                interactive=False,
                elem_id="keep-unchanged",
            )
        with gr.Column(visible=False, elem_id="area-paint") as paint:
            needs_image = gr.Markdown(I18N("paint_needs_image"), elem_classes="hint", elem_id="paint-needs-image")
            editor = RegionEditor(
                label=I18N("paint_label"),
                show_label=False,
                type="pil",
                image_mode="RGBA",
                sources=[],
                transforms=[],
                layers=False,
                brush=gr.Brush(colors=[(_css(PAINT_RGBA), PAINT_OPACITY)], color_mode="fixed"),
                eraser=gr.Eraser(),
                format="png",
                buttons=["fullscreen"],
                height=EDITOR_HEIGHT,
                visible=False,
                elem_id="region-editor",
            )
            with gr.Row(elem_classes="button-row", elem_id="paint-tools"):
                rectangle = gr.Button(I18N("paint_rectangle"), size="sm", elem_id="paint-rectangle")
                invert = gr.Button(I18N("paint_invert"), size="sm", elem_id="paint-invert")
                clear = gr.Button(I18N("paint_clear"), size="sm", elem_id="paint-clear")
            gr.Markdown(I18N("paint_hint"), elem_classes="hint")
        with gr.Column(visible=False, elem_id="area-expand") as expand:
            aspect = gr.Dropdown(
                [(I18N("expand_by_sides"), "")] + [(name, name) for name in ASPECTS],
                value="",
                label=I18N("expand_aspect"),
                info=I18N("expand_aspect_info"),
                elem_id="expand-aspect",
            )
            with gr.Row(elem_id="expand-sides"):
                sides = tuple(
                    gr.Number(
                        0, label=I18N(f"expand_{side}"), minimum=0, precision=0, min_width=70, elem_id=f"expand-{side}"
                    )
                    for side in SIDES
                )
            gr.Markdown(I18N("expand_hint"), elem_classes="hint")
    return RegionPanel(
        panel=panel,
        area=area,
        whole=whole,
        paint=paint,
        expand=expand,
        align=align,
        keep_unchanged=keep,
        needs_image=needs_image,
        editor=editor,
        rectangle=rectangle,
        invert=invert,
        clear=clear,
        aspect=aspect,
        sides=sides,  # type: ignore[arg-type]
    )


def _css(rgba: tuple[int, int, int, int]) -> str:
    return f"rgb({rgba[0]}, {rgba[1]}, {rgba[2]})"


def listen(panel: RegionPanel, image_1: InputSlot) -> None:
    """The chosen area's controls shown; Keep unchanged only with Align; the editor kept on Image 1; the paint
    tools; a target aspect turned into the sides it needs."""
    local: dict[str, Any] = {"queue": False, **PRIVATE}

    def show(area: str) -> list[Any]:  # the Marks column follows the same choice (marks.py)
        return [gr.update(visible=area == name) for name in (AREA_WHOLE, AREA_PAINT, AREA_EXPAND)]

    panel.area.change(show, panel.area, [panel.whole, panel.paint, panel.expand], **local)
    panel.align.change(lambda on: gr.update(interactive=bool(on)), panel.align, panel.keep_unchanged, **local)

    def follow(path: str | None) -> list[Any]:
        value = editor_value(path)
        return [gr.update(value=value, visible=value is not None), gr.update(visible=value is None)]

    # Image 1 changed (or removed): the paint referred to the old picture, so it goes with it.
    image_1.change(
        follow, image_1, [panel.editor, panel.needs_image], concurrency_id="region", concurrency_limit=4, **PRIVATE
    )

    def repaint(tool: str):
        def run(value: Any, path: str | None) -> Any:
            backdrop = backdrop_of(path)
            if backdrop is None:  # no Image 1: the editor is hidden, and stays empty
                return None
            layers = layers_of(value)
            if tool == "clear":
                layer = None
            elif tool == "invert":
                layer = mask_layers.inverted(layers, backdrop.size, PAINT_RGBA)
            else:
                layer = mask_layers.rectangle(layers, backdrop.size, PAINT_RGBA)  # None when nothing was painted
            return {"background": backdrop, "layers": [layer] if layer is not None else [], "composite": None}

        return run

    # The editor's front end keeps drawing the strokes it has when a new value comes with layers of its own, so
    # a tool's result is put in after the editor is emptied (held meanwhile in `painted`).
    # No progress is shown on the editor: the tools take a moment, and the front end could leave a stale
    # overlay of a finished step over the canvas when the steps' answers crossed on a slow machine.
    painted = gr.State(None)
    quiet = {**local, "show_progress": "hidden"}
    for button, tool in ((panel.clear, "clear"), (panel.invert, "invert"), (panel.rectangle, "rectangle")):
        button.click(
            repaint(tool),
            [panel.editor, image_1],
            painted,
            concurrency_id="region",
            concurrency_limit=4,
            show_progress="hidden",
            **PRIVATE,
        ).success(lambda: None, None, panel.editor, **quiet).success(
            lambda value: value, painted, panel.editor, **quiet
        )

    def to_aspect(aspect: str, path: str | None) -> list[Any]:
        dims = read_dimensions(path) if path and aspect in ASPECTS else None
        if dims is None:
            return [gr.skip()] * len(SIDES)
        return list(Expansion.to_aspect(*dims, ASPECTS[aspect]).sides())

    for trigger in (panel.aspect.change, image_1.change):
        trigger(to_aspect, [panel.aspect, image_1], list(panel.sides), **local)
