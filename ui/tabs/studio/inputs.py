"""The three image slots: upload, paste or webcam; a bad file explained on drop; swap and close up."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from core import errors
from core.catalog import INPUT_SIDE_MIN
from core.images import prepare_image
from ui.slots import InputSlot
from ui.strings import I18N, language_of, status
from ui.tabs.studio.view import Inputs
from ui.wiring import PRIVATE

SLOTS = (1, 2, 3)


def render() -> Inputs:
    """Slots side by side, the swap buttons and the hint about the output's aspect."""
    with gr.Row():
        slots = tuple(
            InputSlot(
                label=I18N(f"image_{k}"),
                type="filepath",
                image_mode=None,
                sources=["upload", "clipboard", "webcam"],
                height=220,
                elem_id=f"slot-{k}",
                elem_classes="slot",
            )
            for k in SLOTS
        )
    with gr.Row(elem_classes="button-row swap-row"):
        swap_buttons = (
            gr.Button(I18N("swap_12"), size="sm", elem_id="swap-12"),
            gr.Button(I18N("swap_23"), size="sm", elem_id="swap-23"),
        )
    gr.Markdown(I18N("slots_hint"), elem_classes="hint")
    return Inputs(slots, swap_buttons)


def listen(inputs: Inputs) -> None:
    """Check each dropped file at once; keep filled slots to the left; swap neighbours."""
    slots = list(inputs.slots)

    def compact(*paths: str | None):
        closed = close_up(list(paths))
        return [gr.skip() if new == old else new for new, old in zip(closed, paths, strict=True)]

    for k, slot in zip(SLOTS, slots, strict=True):

        def check(path: str | None, request: gr.Request, k: int = k) -> Any:
            # A good file is already in place: writing it back could undo a move made while it was checked.
            return gr.skip() if check_slot(path, k, request) else None

        # An image dropped after an empty slot moves left: "Image k" always names the k-th image sent.
        slot.upload(check, [slot], [slot], **PRIVATE).then(compact, slots, slots, queue=False, **PRIVATE)
        slot.clear(compact, slots, slots, queue=False, **PRIVATE)

    for first, button in enumerate(inputs.swap_buttons):
        button.click(_swap(first), slots, slots, queue=False, **PRIVATE)


def check_slot(path: str | None, slot: int, request: gr.Request) -> str | None:
    """Judge a dropped file at once: keep it if usable (saying so when it will be sent upscaled), else explain and
    empty the slot."""
    if not path:
        return None
    lang = language_of(request)
    try:
        prepared = prepare_image(path, slot)
    except errors.EditError as error:
        gr.Warning(html.escape(error.message(lang)))
        return None
    if prepared.upscaled:
        gr.Info(
            status(
                "upscaled",
                lang,
                slot=slot,
                width=prepared.original_width,
                height=prepared.original_height,
                sent_width=prepared.width,
                sent_height=prepared.height,
                minimum=INPUT_SIDE_MIN,
            )
        )
    return path


def close_up(slots: list[str | None]) -> list[str | None]:
    """Filled slots moved left, so "Image k" always names the k-th image sent."""
    filled = [path for path in slots if path]
    return filled + [None] * (len(slots) - len(filled))


def _swap(first: int):
    def run(*paths: str | None):
        swapped = list(paths)
        swapped[first], swapped[first + 1] = swapped[first + 1], swapped[first]
        return close_up(swapped)

    return run
