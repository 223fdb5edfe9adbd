"""The image slots: three side by side, and "More images" (Image 4 onwards) for models that take more; upload,
paste or webcam; a bad file explained on drop; swap; what the chosen model will not take. A slot keeps its
number: an image stays where it was put, and removing one leaves its slot empty (with Undo)."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from core import catalog, errors
from core.catalog import INPUT_SIDE_MIN
from core.images import prepare_image
from core.request import check_image_count
from ui.alerts import inform, warn
from ui.slots import InputSlot
from ui.strings import I18N, language_of, status
from ui.tabs.studio.undo import UndoBar
from ui.tabs.studio.view import Inputs
from ui.wiring import PRIVATE

SLOTS = (1, 2, 3)
EXTRA_SLOTS = tuple(range(len(SLOTS) + 1, max(model.max_images for model in catalog.MODELS) + 1))
"""Image 4 to the most any model takes: shown under "More images" while the chosen model takes them."""


def render() -> Inputs:
    """Slots side by side, the swap buttons, the hint about the output's aspect, then "More images" (hidden
    while the model takes three at most) and the note on what the model takes."""
    with gr.Row():
        slots = tuple(_slot(k, height=176) for k in SLOTS)
    with gr.Row(elem_classes="button-row swap-row"):
        swap_buttons = (
            gr.Button(I18N("swap_12"), size="sm", elem_id="swap-12"),
            gr.Button(I18N("swap_23"), size="sm", elem_id="swap-23"),
        )
    gr.Markdown(I18N("slots_hint"), elem_classes="hint")
    with gr.Accordion(I18N("more_images"), open=False, visible=False, elem_id="more-images") as more:
        more_hint = gr.Markdown("", elem_classes="hint", elem_id="more-images-hint")
        with gr.Row(elem_id="more-slots"):
            extra_slots = tuple(_slot(k, height=160, visible=False, extra=True) for k in EXTRA_SLOTS)
    note = gr.Markdown("", visible=False, elem_id="images-note")
    return Inputs(slots, swap_buttons, extra_slots, more, more_hint, note)


def _slot(k: int, *, height: int, visible: bool = True, extra: bool = False) -> InputSlot:
    return InputSlot(
        label=I18N(f"image_{k}"),
        type="filepath",
        image_mode=None,
        sources=["upload", "clipboard", "webcam"],
        height=height,
        min_width=100,
        visible=visible,
        elem_id=f"slot-{k}",
        elem_classes=["slot", "extra-slot"] if extra else "slot",
    )


def listen(inputs: Inputs, model: gr.Dropdown, undo: UndoBar) -> None:
    """Check each dropped file at once; slots keep their numbers (a removed image leaves its slot empty, with
    Undo); swap neighbours; follow the model."""
    slots = list(inputs.all_slots)

    for k, slot in enumerate(slots, start=1):

        def check(path: str | None, request: gr.Request, k: int = k) -> Any:
            # A good file is already in place: writing it back could undo a swap made while it was checked.
            return gr.skip() if check_slot(path, k, request) else None

        slot.upload(check, [slot], [slot], **PRIVATE)
        undo.removing(slot, k)

    for first, button in enumerate(inputs.swap_buttons):
        pair = slots[first : first + 2]
        button.click(_swap(first), pair, pair, queue=False, **PRIVATE)

    def follow(values: dict[Any, Any], request: gr.Request) -> list[Any]:
        paths = [values[slot] for slot in slots]
        return model_view(values[model], paths, language_of(request))

    shown = [inputs.more, inputs.more_hint, *inputs.extra_slots, inputs.note]
    for trigger in (model.change, *(slot.change for slot in slots)):
        trigger(follow, {model, *slots}, shown, queue=False, **PRIVATE)


def model_view(model_id: str, paths: list[str | None], lang: str) -> list[Any]:
    """What the slots show for `model_id` given the files in every slot (Image 1 onwards): "More images"
    while the model takes more than three or one of them is filled (open then, so nothing hidden is sent or
    forgotten), its filled slots and one empty slot after them (up to the model's maximum), and the note.
    The note says which images the model will not take (Generate refuses them: core checks the count
    again), or that the model can start from the prompt alone."""
    try:
        spec = catalog.get_model(model_id)
    except errors.EditError:  # a forged value: the slots stay as they are, Generate refuses the name
        return [gr.skip()] * (3 + len(EXTRA_SLOTS))
    filled = [k for k, path in enumerate(paths, start=1) if path]
    extra_filled = any(k > len(SLOTS) for k in filled)
    takes_more = spec.max_images > len(SLOTS)
    note = _note(spec, filled, lang)
    if not (takes_more or extra_filled):  # hidden, and what is inside it left alone: no work for the browser
        return [gr.update(visible=False), gr.skip(), *(gr.skip() for _ in EXTRA_SLOTS), note]
    more = gr.update(visible=True, open=True) if extra_filled else gr.update(visible=True)
    hint = status("more_images_hint" if takes_more else "more_images_none", lang, model=spec.id, max=spec.max_images)
    # One empty slot after the last image, while the model takes more.
    offered = min(spec.max_images, max([*filled, len(SLOTS)]) + 1)
    extra = [gr.update(visible=k <= offered or k in filled) for k in EXTRA_SLOTS]
    return [more, hint, *extra, note]


def _note(spec: catalog.Model, filled: list[int], lang: str) -> dict[str, Any]:
    try:
        check_image_count(spec.id, filled)
    except errors.TooManyImagesError as error:
        return gr.update(value="⚠ " + html.escape(error.message(lang)), visible=True)
    except errors.NoImageError:  # an empty page is where every edit starts: Generate explains it
        pass
    if spec.min_images == 0 and not filled:
        return gr.update(value=status("prompt_only", lang, model=spec.id), visible=True)
    return gr.update(value="", visible=False)


def check_slot(path: str | None, slot: int, request: gr.Request) -> str | None:
    """Judge a dropped file at once: keep it if usable (saying so when it will be sent upscaled), else explain and
    empty the slot."""
    if not path:
        return None
    lang = language_of(request)
    try:
        prepared = prepare_image(path, slot)
    except errors.EditError as error:
        warn(html.escape(error.message(lang)), lang)
        return None
    if prepared.upscaled:
        inform(
            status(
                "upscaled",
                lang,
                slot=slot,
                width=prepared.original_width,
                height=prepared.original_height,
                sent_width=prepared.width,
                sent_height=prepared.height,
                minimum=INPUT_SIDE_MIN,
            ),
            lang,
        )
    return path


def _swap(first: int):
    """Exchange slots `first` and `first + 1` (0-based), and nothing else: an empty one stays empty."""

    def run(left: str | None, right: str | None) -> tuple[str | None, str | None]:
        return right, left

    return run
