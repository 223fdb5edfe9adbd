"""Marks on Image 1, the edit area's fourth choice: arrows, boxes, short notes and freehand strokes drawn with
mouse drags over a copy of Image 1, then "Send with marks" puts the marked copy in Image 2 and the marks template
(core/marks.py) at the start of the prompt, with Undo. Image 1 itself is never drawn on, and what Generate
sends is then what the slots and the prompt show.

Drawing is our own small script over a plain image (CANVAS_JS), not gr.ImageEditor: an arrow needs the drag's
direction (where it started and ended), which the editor's painted layers do not keep. The script sends only
the drag's points, as fractions of the picture, through a hidden textbox; the server turns them into a mark with
the chosen tool (core.marks.mark_from_drag), keeps the marks in the tab's state, and draws the copy shown. A
forged value is checked as any other (core.marks.marks_from): marks are data, never a path or an owner.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder
from PIL import Image

from core import errors, marks
from core.catalog import INPUT_SIDE_MAX
from core.images import read_dimensions
from core.regions import mask_layers
from ui.alerts import fail, warn
from ui.forms import AREA_MARKS, AREA_WHOLE
from ui.regions import backdrop_of
from ui.slots import InputSlot
from ui.strings import I18N, language_of
from ui.tabs.studio.undo import UndoBar
from ui.tabs.studio.view import MarksPanel
from ui.wiring import PRIVATE

RECENT_DRAGS = 8  # drags the script sends each time (CANVAS_JS's RECENT)
DRAG_CHARS_MAX = 160_000  # RECENT_DRAGS drags of MAX_POINTS points as JSON need far less; a longer value is forged

CANVAS_JS = """
<style>
#marks-canvas img { cursor: crosshair; touch-action: none; user-select: none; -webkit-user-drag: none; }
</style>
<script>
(() => {
  // A drag over the marks canvas: its points as fractions of the picture, drawn as a line while it lasts, then
  // handed to the server through the hidden #marks-drag textbox (the server makes the mark with the chosen tool).
  const RECENT = 8;
  let drag = null;
  let count = 0;
  let recent = [];
  const fraction = (img, event) => {
    const box = img.getBoundingClientRect();
    const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
    const x = (event.clientX - box.left - (box.width - width) / 2) / width;
    const y = (event.clientY - box.top - (box.height - height) / 2) / height;
    const clamp = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
    return [clamp(x), clamp(y)];
  };
  const draw = () => {
    const { overlay, img, points } = drag;
    const box = img.getBoundingClientRect();
    const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
    const context = overlay.getContext("2d");
    context.clearRect(0, 0, overlay.width, overlay.height);
    context.strokeStyle = "rgb(255, 32, 64)";
    context.lineWidth = 3;
    context.setLineDash([6, 4]);
    context.beginPath();
    points.forEach(([x, y], i) => {
      const px = (box.width - width) / 2 + x * width, py = (box.height - height) / 2 + y * height;
      if (i === 0) context.moveTo(px, py); else context.lineTo(px, py);
    });
    context.stroke();
  };
  document.addEventListener("pointerdown", (event) => {
    const img = event.target instanceof Element ? event.target.closest("#marks-canvas img") : null;
    if (!img || event.button !== 0 || !img.naturalWidth) return;
    event.preventDefault();
    const box = img.getBoundingClientRect();
    const overlay = document.createElement("canvas");
    overlay.width = box.width;
    overlay.height = box.height;
    overlay.style.cssText = `position:fixed;left:${box.left}px;top:${box.top}px;pointer-events:none;z-index:50`;
    document.body.appendChild(overlay);
    drag = { img, overlay, points: [fraction(img, event)] };
  });
  document.addEventListener("pointermove", (event) => {
    if (!drag) return;
    drag.points.push(fraction(drag.img, event));
    draw();
  });
  const finish = (event, keep) => {
    if (!drag) return;
    const { overlay, points, img } = drag;
    drag = null;
    overlay.remove();
    if (!keep) return;
    points.push(fraction(img, event));
    const step = Math.max(1, Math.ceil(points.length / 250));
    const thinned = points.filter((_, i) => i % step === 0 || i === points.length - 1);
    const field = document.querySelector("#marks-drag textarea, #marks-drag input");
    if (!field) return;
    // The last few drags go each time: a change event waits while one runs and then sends only the newest value,
    // so a drag made meanwhile still arrives (the server draws each number once).
    recent = [...recent, { n: ++count, points: thinned }].slice(-RECENT);
    field.value = JSON.stringify({ drags: recent });
    field.dispatchEvent(new Event("input", { bubbles: true }));
  };
  document.addEventListener("pointerup", (event) => finish(event, true));
  document.addEventListener("pointercancel", (event) => finish(event, false));
})();
</script>
"""


def render() -> MarksPanel:
    """The marks column of the edit area (shown while the area is Marks): the canvas, the tools and Send."""
    with gr.Column(visible=False, elem_id="area-marks") as column:
        needs_image = gr.Markdown(I18N("marks_needs_image"), elem_classes="hint", elem_id="marks-needs-image")
        canvas = gr.Image(
            label=I18N("marks_canvas"),
            show_label=False,
            type="pil",
            interactive=False,
            buttons=[],
            visible=False,
            elem_id="marks-canvas",
        )
        tool = gr.Radio(
            [
                (I18N("marks_arrow"), marks.ARROW),
                (I18N("marks_box"), marks.BOX),
                (I18N("marks_note"), marks.NOTE),
                (I18N("marks_stroke"), marks.STROKE),
            ],
            value=marks.ARROW,
            label=I18N("marks_tool"),
            elem_id="marks-tool",
        )
        with gr.Row(elem_id="marks-style"):
            note = gr.Textbox(
                "",
                label=I18N("marks_note_text"),
                placeholder=I18N("marks_note_placeholder"),
                max_length=marks.MAX_NOTE,
                elem_id="marks-note",
                scale=3,
            )
            colour = gr.Dropdown(
                [(I18N(f"marks_colour_{name}"), name) for name in marks.COLOURS],
                value="red",
                label=I18N("marks_colour"),
                elem_id="marks-colour",
                min_width=90,
                scale=1,
            )
            width = gr.Slider(*marks.WIDTH_RANGE, value=6, step=1, label=I18N("marks_width"), elem_id="marks-width")
        with gr.Row(elem_classes="button-row", elem_id="marks-tools"):
            undo_last = gr.Button(I18N("marks_undo"), size="sm", elem_id="marks-undo")
            clear = gr.Button(I18N("marks_clear"), size="sm", elem_id="marks-clear")
            send = gr.Button(I18N("marks_send"), size="sm", variant="primary", elem_id="marks-send")
        gr.Markdown(I18N("marks_hint"), elem_classes="hint")
        drag = gr.Textbox("", visible="hidden", elem_id="marks-drag")
    return MarksPanel(
        column=column,
        needs_image=needs_image,
        canvas=canvas,
        tool=tool,
        note=note,
        colour=colour,
        width=width,
        undo_last=undo_last,
        clear=clear,
        send=send,
        drag=drag,
        state=gr.State({"marks": [], "seen": 0}),
    )


def listen(
    panel: MarksPanel, area: gr.Radio, image_1: InputSlot, image_2: InputSlot, prompt: gr.Textbox, undo: UndoBar
) -> None:
    """The column shown with the Marks area; the canvas kept on Image 1 (a new Image 1 starts with no marks); a
    drag made into a mark; Undo last mark and Clear; Send with marks (with the Undo bar)."""
    local: dict[str, Any] = {"queue": False, **PRIVATE}
    drawing: dict[str, Any] = {"concurrency_id": "marks", "concurrency_limit": 4, **PRIVATE}
    area.change(lambda chosen: gr.update(visible=chosen == AREA_MARKS), area, panel.column, **local)

    def follow(path: str | None, kept: Any) -> list[Any]:
        shown = preview(path, ())
        return [
            {"marks": [], "seen": _seen(kept)},
            gr.update(value=shown, visible=shown is not None),
            gr.update(visible=shown is None),
        ]

    image_1.change(follow, [image_1, panel.state], [panel.state, panel.canvas, panel.needs_image], **drawing)

    def on_drag(
        value: str, kept: Any, tool: str, note: str, colour: str, width: float, path: str | None, request: gr.Request
    ) -> Any:
        lang = language_of(request)
        try:
            now, seen = list(_marks_of(kept)), _seen(kept)
            drags = [(n, points) for n, points in _drags(value) if n > seen]
        except errors.EditError as error:
            raise fail(error, lang) from None
        if not drags or not path:
            return gr.skip(), gr.skip()
        for n, points in drags:
            seen = max(seen, n)
            try:
                if len(now) >= marks.MAX_MARKS:
                    raise errors.MarksError(
                        detail=f"at most {marks.MAX_MARKS} marks", detail_zh=f"最多 {marks.MAX_MARKS} 个标记"
                    )
                now.append(marks.mark_from_drag(tool, points, colour, int(width or 6), note or ""))
            except errors.EditError as error:  # a drag that makes no mark: said, and the marks stay as they were
                warn(html.escape(error.message(lang)), lang)
        return {"marks": [m.as_dict() for m in now], "seen": seen}, preview(path, tuple(now))

    panel.drag.change(
        on_drag,
        [panel.drag, panel.state, panel.tool, panel.note, panel.colour, panel.width, image_1],
        [panel.state, panel.canvas],
        **drawing,
    )

    def redraw(drop_last: bool):
        def run(kept: Any, path: str | None, request: gr.Request) -> list[Any]:
            try:
                now = _marks_of(kept)[:-1] if drop_last else ()
            except errors.EditError as error:
                raise fail(error, language_of(request)) from None
            return [{"marks": [m.as_dict() for m in now], "seen": _seen(kept)}, preview(path, now)]

        return run

    panel.undo_last.click(redraw(True), [panel.state, image_1], [panel.state, panel.canvas], **drawing)
    panel.clear.click(redraw(False), [panel.state, image_1], [panel.state, panel.canvas], **drawing)

    def send(kept: Any, path: str | None, instruction: str, request: gr.Request) -> list[Any]:
        lang = language_of(request)
        try:
            drawn = _marks_of(kept)
        except errors.EditError as error:
            raise fail(error, lang) from None
        if not path or read_dimensions(path) is None:
            raise fail(errors.MarksError(detail="Image 1 is empty", detail_zh="图1为空"), lang)
        if not drawn:
            raise fail(errors.MarksError(detail="nothing is drawn yet", detail_zh="还没有画任何标记"), lang)
        return [marked_copy(path, drawn), marks.marks_prompt(instruction or "", lang), AREA_WHOLE]

    undo.replacing(panel.send.click, "marks", send, [panel.state, image_1, prompt], [image_2, prompt, area], **drawing)


def _marks_of(kept: Any) -> tuple[marks.Mark, ...]:
    """The marks of the tab's state ({"marks": [...], "seen": n}), checked as a forged value would be."""
    return marks.marks_from(kept.get("marks") if isinstance(kept, dict) else None)


def _seen(kept: Any) -> int:
    """The number of the last drag the state has drawn (0 for none)."""
    seen = kept.get("seen") if isinstance(kept, dict) else None
    return seen if isinstance(seen, int) else 0


def _drags(value: Any) -> list[tuple[int, list[Any]]]:
    """The numbered drags of the hidden textbox's JSON ({"drags": [{"n": 1, "points": [[x, y], ...]}, ...]}),
    oldest first; none for an empty value. Their points are checked by core when each becomes a mark."""
    if not isinstance(value, str) or not value:
        return []
    if len(value) > DRAG_CHARS_MAX:
        raise errors.MarksError(detail="the drags are longer than the canvas makes", detail_zh="拖动数据过长")
    try:
        drags = json.loads(value).get("drags")
    except (ValueError, AttributeError):
        raise errors.MarksError(detail="the drags are not readable", detail_zh="无法读取拖动数据") from None
    if not isinstance(drags, list) or len(drags) > RECENT_DRAGS:
        raise errors.MarksError(detail="the drags are not a short list", detail_zh="拖动数据不对")
    numbered = []
    for drag in drags:
        n, points = (drag.get("n"), drag.get("points")) if isinstance(drag, dict) else (None, None)
        if not isinstance(n, int) or not isinstance(points, list):
            raise errors.MarksError(detail="a drag has no number or points", detail_zh="拖动数据缺少编号或点")
        numbered.append((n, points))
    return sorted(numbered, key=lambda drag: drag[0])


def preview(path: str | None, drawn: tuple[marks.Mark, ...]) -> Image.Image | None:
    """The canvas: the editor's small copy of Image 1 with `drawn` on it; None without a readable Image 1."""
    backdrop = backdrop_of(path)
    return None if backdrop is None else marks.render_marks(backdrop, drawn)


def marked_copy(path: str, drawn: tuple[marks.Mark, ...]) -> str:
    """Image 1 upright with `drawn` on it, at its own size up to the largest side an input is sent at (larger,
    core would only scale it down again), as a PNG in Gradio's upload folder named by its content; Image 1's own
    file is only read."""
    with Image.open(path) as opened:
        opened.draft("RGB", (INPUT_SIDE_MAX, INPUT_SIDE_MAX))  # a large JPEG decodes at a fraction of its size
        marked = marks.render_marks(mask_layers.backdrop(opened, INPUT_SIDE_MAX), drawn)
    buffer = io.BytesIO()
    marked.save(buffer, "PNG")
    data = buffer.getvalue()
    folder = Path(get_upload_folder()) / "marked"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
    if not target.exists():
        target.write_bytes(data)
    return str(target)
