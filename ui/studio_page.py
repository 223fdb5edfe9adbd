"""The Studio tab: three image slots, prompt, every control, a progressive gallery, compare and recall."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from core import catalog, sizes
from core.compare import aligned_input, difference_map, side_by_side
from core.studio import Studio
from ui import handlers
from ui.examples import example_labels, example_rows
from ui.slots import InputSlot
from ui.strings import I18N, language_of, status

SLOTS = (1, 2, 3)


@dataclass
class StudioView:
    """The tab's components that other parts of the page read or fill."""

    slots: list[InputSlot]
    prompt: gr.Textbox
    negative: gr.Textbox
    model: gr.Dropdown
    region: gr.Radio
    size_mode: gr.Radio
    width: gr.Number
    height: gr.Number
    n: gr.Slider
    seed: gr.Number
    random_seed: gr.Checkbox
    prompt_extend: gr.Checkbox
    watermark: gr.Checkbox
    exact: gr.Checkbox
    generate: gr.Button
    cancel: gr.Button
    cost: gr.Markdown
    counter: gr.Markdown
    model_line: gr.Markdown
    preview: gr.Markdown
    custom_row: gr.Row
    key_box: gr.Textbox
    save_key: gr.Button
    forget_key: gr.Button
    key_line: gr.Markdown
    gallery: gr.Gallery
    run_status: gr.Markdown
    use_buttons: list[gr.Button]
    swap_buttons: list[gr.Button]
    recall: gr.Button
    examples: gr.Examples
    compare_with: gr.Radio
    slider: gr.ImageSlider
    side: gr.Image
    diff: gr.Image
    details: gr.JSON
    results_state: gr.State  # this tab's results, newest first: what the gallery shows
    selected_state: gr.State  # the result last selected in the gallery

    @property
    def settings_controls(self) -> list[gr.components.Component]:
        """The controls that "use these settings" fills, in the order of `recall_values`."""
        return [
            self.prompt,
            self.negative,
            self.model,
            self.size_mode,
            self.width,
            self.height,
            self.n,
            self.seed,
            self.random_seed,
            self.prompt_extend,
            self.watermark,
        ]


def render(studio: Studio) -> StudioView:
    """Create the tab's components, top to bottom."""
    settings = studio.settings
    i18n = I18N
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=360, elem_id="inputs"):
            with gr.Row():
                slots = [
                    InputSlot(
                        label=i18n(f"image_{k}"),
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard", "webcam"],
                        height=220,
                        elem_id=f"slot-{k}",
                        elem_classes="slot",
                    )
                    for k in SLOTS
                ]
            with gr.Row(elem_classes="button-row swap-row"):
                swap_buttons = [
                    gr.Button(i18n("swap_12"), size="sm", elem_id="swap-12"),
                    gr.Button(i18n("swap_23"), size="sm", elem_id="swap-23"),
                ]
            gr.Markdown(i18n("slots_hint"), elem_classes="hint")
            prompt = gr.Textbox(label=i18n("prompt"), placeholder=i18n("prompt_placeholder"), lines=3, elem_id="prompt")
            counter = gr.Markdown(
                status("chars", "en", count=0, limit=catalog.PROMPT_MAX_CHARS), elem_id="prompt-count"
            )
            negative = gr.Textbox(
                label=i18n("negative_prompt"), placeholder=i18n("negative_placeholder"), lines=1, elem_id="negative"
            )
            with gr.Row(elem_classes="button-row"):
                generate = gr.Button(i18n("generate"), variant="primary", elem_id="generate", scale=3)
                cancel = gr.Button(i18n("cancel"), variant="stop", elem_id="cancel", scale=1)
            cost = gr.Markdown(handlers.cost_line(1, settings.price_per_image, "en"), elem_id="cost")
            with gr.Accordion(i18n("settings"), open=True, elem_id="settings"):
                with gr.Row():
                    model = gr.Dropdown(
                        [(m.id, m.id) for m in catalog.MODELS],
                        value=catalog.DEFAULT_MODEL,
                        label=i18n("model"),
                        elem_id="model",
                    )
                    region = gr.Radio(
                        [(r.name, r.id) for r in catalog.REGIONS],
                        value=settings.region,
                        label=i18n("region"),
                        elem_id="region",
                    )
                model_line = gr.Markdown(handlers.model_info(catalog.DEFAULT_MODEL, "en"), elem_id="model-info")
                size_mode = gr.Radio(
                    [(i18n("size_auto"), handlers.SIZE_AUTO)]
                    + [(i18n(f"match_{k}"), f"{handlers.MATCH_PREFIX}{k}") for k in SLOTS]
                    + [(name, name) for name in sizes.ASPECT_PRESETS]
                    + [(i18n("size_custom"), handlers.SIZE_CUSTOM)],
                    value=handlers.SIZE_AUTO,
                    label=i18n("size"),
                    elem_id="size-mode",
                )
                with gr.Row(visible=False) as custom_row:
                    width = gr.Number(1024, label=i18n("width"), minimum=512, maximum=2048, step=16, precision=0)
                    height = gr.Number(1024, label=i18n("height"), minimum=512, maximum=2048, step=16, precision=0)
                preview = gr.Markdown(status("auto_size_none", "en"), elem_id="size-preview")
                exact = gr.Checkbox(False, label=i18n("exact_size"), info=i18n("exact_size_info"), elem_id="exact")
                n = gr.Slider(1, 6, value=1, step=1, label=i18n("n"), elem_id="n")
                with gr.Row():
                    seed = gr.Number(
                        0, label=i18n("seed"), precision=0, minimum=0, maximum=catalog.SEED_MAX, elem_id="seed"
                    )
                    random_seed = gr.Checkbox(True, label=i18n("random_seed"), elem_id="random-seed")
                with gr.Row():
                    prompt_extend = gr.Checkbox(
                        True, label=i18n("prompt_extend"), info=i18n("prompt_extend_info"), elem_id="prompt-extend"
                    )
                    watermark = gr.Checkbox(False, label=i18n("watermark"), info=i18n("watermark_info"))
            key_open = settings.require_user_key or not settings.has_server_key
            with gr.Accordion(i18n("key_section"), open=key_open, elem_id="key-settings"):
                key_box = gr.Textbox(
                    label=i18n("key_field"), type="password", placeholder=i18n("key_placeholder"), elem_id="key"
                )
                with gr.Row():
                    save_key = gr.Button(i18n("key_save"), size="sm")
                    forget_key = gr.Button(i18n("key_forget"), size="sm", elem_id="forget-key")
                key_line = gr.Markdown("", elem_id="key-status")

        with gr.Column(scale=6, min_width=360, elem_id="outputs"):
            gallery = gr.Gallery(
                label=i18n("results"),
                format="png",
                columns=3,
                height=520,
                object_fit="contain",
                buttons=["download", "fullscreen"],
                elem_id="gallery",
            )
            run_status = gr.Markdown("", elem_id="run-status")
            with gr.Row(elem_classes="button-row"):
                use_buttons = [gr.Button(i18n(f"use_as_{k}"), size="sm", elem_id=f"use-as-{k}") for k in SLOTS]
                recall = gr.Button(i18n("recall"), size="sm", elem_id="recall")
            examples = gr.Examples(
                example_rows(),
                inputs=[*slots, prompt, n],
                label=i18n("examples"),
                example_labels=example_labels(),
                elem_id="examples",
            )
            with gr.Accordion(i18n("compare"), open=False, elem_id="compare-section"):
                compare_with = gr.Radio([(i18n(f"image_{k}"), k) for k in SLOTS], value=1, label=i18n("compare_with"))
                with gr.Tabs():
                    with gr.Tab(i18n("compare_slider")):
                        slider = gr.ImageSlider(label=i18n("compare"), type="filepath", format="png", elem_id="compare")
                    with gr.Tab(i18n("compare_side")):
                        side = gr.Image(label=i18n("compare_side"), format="png", interactive=False, elem_id="side")
                    with gr.Tab(i18n("compare_diff")):
                        diff = gr.Image(label=i18n("compare_diff"), format="png", interactive=False, elem_id="diff")
            details = gr.JSON(label=i18n("record"), elem_id="details")
    results_state = gr.State([])
    selected_state = gr.State(None)
    # Every component above is a field of the view, under the same name.
    return StudioView(**{name: value for name, value in locals().items() if name in StudioView.__annotations__})


def recall_values(settings: dict[str, Any]) -> list[Any]:
    """Values for `StudioView.settings_controls` from an edit's settings."""
    size = str(settings["size"])
    custom = size != "auto"
    width, height = size.split("*") if custom else (1024, 1024)
    return [
        settings["prompt"],
        settings["negative_prompt"],
        settings["model"],
        handlers.SIZE_CUSTOM if custom else handlers.SIZE_AUTO,
        int(width),
        int(height),
        settings["n"],
        settings["seed"],
        False,
        settings["prompt_extend"],
        settings["watermark"],
    ]


def listen(view: StudioView, studio: Studio, owner_state: gr.BrowserState, key_state: gr.BrowserState) -> None:
    """Wire the tab's events."""
    settings = studio.settings
    results_state, selected_state = view.results_state, view.selected_state

    def generate_fn(
        i1: str | None,
        i2: str | None,
        i3: str | None,
        prompt: str,
        negative: str,
        model: str,
        region: str,
        mode: str,
        width: float,
        height: float,
        count: float,
        seed: float,
        random_seed: bool,
        prompt_extend: bool,
        watermark: bool,
        exact: bool,
        owners: dict[str, Any] | None,
        keys: dict[str, Any] | None,
        history: list[dict[str, Any]] | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's documented way to get a progress bar
    ):
        slots = [i1, i2, i3]
        request_values = {
            "images": slots,
            "prompt": prompt,
            "negative": negative,
            "model": model,
            "region": region,
            "size": handlers.size_value(mode, width, height, slots),
            "n": count,
            "seed": -1 if random_seed else seed,
            "prompt_extend": prompt_extend,
            "watermark": watermark,
            "exact_size": handlers.exact_target(mode, slots) if exact else None,
        }
        who = handlers.visitor(owners, keys, request)
        try:
            for entries, record, line in handlers.run_edit(studio, request_values, who, history or [], progress):
                gallery_value = [(e["path"], e["caption"]) for e in entries]
                seed_update = gr.update(value=record["seed"]) if record else gr.update()
                yield gallery_value, entries, line, seed_update, record
        except gr.Error as error:  # the reason stays on the page after its message box has gone
            yield gr.skip(), gr.skip(), f"⚠ {error.message}", gr.skip(), gr.skip()
            raise

    gen_inputs = [*view.slots, view.prompt, view.negative, view.model, view.region, view.size_mode, view.width]
    gen_inputs += [view.height, view.n, view.seed, view.random_seed, view.prompt_extend, view.watermark, view.exact]
    gen_inputs += [owner_state, key_state, results_state]
    gen_outputs = [view.gallery, results_state, view.run_status, view.seed, view.details]
    # Progress (and a failure's overlay) on the gallery only: the status line and details stay readable.
    run_options: dict[str, Any] = {
        "api_visibility": "private",
        "concurrency_id": "edit",
        "show_progress_on": view.gallery,
    }
    gen_event = view.generate.click(generate_fn, gen_inputs, gen_outputs, **run_options)
    example_event = view.examples.load_input_event.then(generate_fn, gen_inputs, gen_outputs, **run_options)
    view.cancel.click(None, None, None, cancels=[gen_event, example_event])

    _listen_slots(view)
    _listen_controls(view, settings)
    _listen_results(view, results_state, selected_state)
    _listen_key(view, key_state, settings)


def _listen_slots(view: StudioView) -> None:
    def compact(*paths: str | None):
        closed = handlers.close_up(list(paths))
        return [gr.skip() if new == old else new for new, old in zip(closed, paths, strict=True)]

    for k, slot in zip(SLOTS, view.slots, strict=True):

        def check(path: str | None, request: gr.Request, k: int = k) -> Any:
            # A good file is already in place: writing it back could undo a move made while it was checked.
            return gr.skip() if handlers.check_slot(path, k, request) else None

        # An image dropped after an empty slot moves left: "Image k" always names the k-th image sent.
        slot.upload(check, [slot], [slot], api_visibility="private").then(
            compact, view.slots, view.slots, api_visibility="private", queue=False
        )
        slot.clear(compact, view.slots, view.slots, api_visibility="private", queue=False)

    def swap(first: int):
        def run(*paths: str | None):
            swapped = list(paths)
            swapped[first], swapped[first + 1] = swapped[first + 1], swapped[first]
            return handlers.close_up(swapped)

        return run

    for first, button in enumerate(view.swap_buttons):
        button.click(swap(first), view.slots, view.slots, api_visibility="private", queue=False)


def _listen_controls(view: StudioView, settings: Any) -> None:
    def refresh_preview(mode, width, height, i1, i2, i3, request: gr.Request):
        return handlers.size_preview(mode, width, height, [i1, i2, i3], language_of(request))

    preview_inputs = [view.size_mode, view.width, view.height, *view.slots]
    for trigger in (view.size_mode.change, view.width.change, view.height.change, *(s.change for s in view.slots)):
        trigger(refresh_preview, preview_inputs, view.preview, api_visibility="private", queue=False)
    view.size_mode.change(
        lambda mode: gr.update(visible=mode == handlers.SIZE_CUSTOM),
        view.size_mode,
        view.custom_row,
        api_visibility="private",
        queue=False,
    )

    def on_model(model_id: str, n_value: float, mode: str, request: gr.Request):
        spec = catalog.get_model(model_id)
        lang = language_of(request)
        size_note = "" if spec.custom_size else " · " + status("no_custom_size", lang, model=spec.id)
        count = gr.update(value=min(int(n_value or 1), spec.max_n), interactive=spec.max_n > 1)
        if spec.max_n > 1:  # a slider refuses maximum == minimum: a one-image model pins it at 1, disabled
            count["maximum"] = spec.max_n
        return (
            count,
            gr.update(interactive=spec.custom_size, value=mode if spec.custom_size else handlers.SIZE_AUTO),
            gr.update(interactive=True) if spec.prompt_extend else gr.update(interactive=False, value=False),
            handlers.model_info(model_id, lang) + size_note,
        )

    # On every change, recalled and reopened ones too: what the model allows. Rewriting keeps its value there.
    view.model.change(
        on_model,
        [view.model, view.n, view.size_mode],
        [view.n, view.size_mode, view.prompt_extend, view.model_line],
        api_visibility="private",
    )
    # A model picked by hand starts with its own default for rewriting.
    view.model.input(
        lambda model_id: catalog.get_model(model_id).prompt_extend,
        view.model,
        view.prompt_extend,
        api_visibility="private",
        queue=False,
    )

    def on_count(count: float, request: gr.Request) -> str:
        return handlers.cost_line(count, settings.price_per_image, language_of(request))

    view.n.change(on_count, view.n, view.cost, api_visibility="private", queue=False)
    # Counted in the browser as you type; only the number changes, so the line keeps its language.
    count_js = "(p) => document.querySelector('#prompt-count').innerText.replace(/^\\d+/, [...(p || '')].length)"
    view.prompt.change(None, view.prompt, view.counter, js=count_js)


def _listen_results(view: StudioView, results_state: gr.State, selected_state: gr.State) -> None:
    def on_select(entries: list[dict[str, Any]], evt: gr.SelectData):
        chosen = entries[evt.index] if entries and evt.index < len(entries) else None
        return chosen, (chosen or {}).get("details")

    select = view.gallery.select(
        on_select, results_state, [selected_state, view.details], api_visibility="private", queue=False
    )
    for k, button in zip(SLOTS, view.use_buttons, strict=True):
        button.click(_chain, [selected_state], [view.slots[k - 1]], api_visibility="private")

    def recall(chosen: dict[str, Any] | None, request: gr.Request):
        if not chosen:
            gr.Warning(status("pick_result", language_of(request)))
            return [gr.skip()] * len(view.settings_controls)
        gr.Info(status("recalled", language_of(request)))
        return recall_values(chosen["settings"])

    view.recall.click(recall, selected_state, view.settings_controls, api_visibility="private")

    def compare(chosen: dict[str, Any] | None, k: int, i1: str | None, i2: str | None, i3: str | None):
        source = (i1, i2, i3)[int(k) - 1]
        if not chosen or not source:
            return None, None, None
        result = chosen["path"]
        with Image.open(result) as opened:  # the slider's halves must match pixel for pixel, as in the others
            before = aligned_input(source, opened.size)
        heat, _mean = difference_map(source, result)
        return (before, result), side_by_side(source, result), heat

    compare_inputs = [selected_state, view.compare_with, *view.slots]
    compare_outputs = [view.slider, view.side, view.diff]
    select.then(compare, compare_inputs, compare_outputs, api_visibility="private")
    for trigger in (view.compare_with.change, *(s.change for s in view.slots)):
        trigger(compare, compare_inputs, compare_outputs, api_visibility="private")


def _listen_key(view: StudioView, key_state: gr.BrowserState, settings: Any) -> None:
    def save_key_fn(key: str, request: gr.Request):
        key = (key or "").strip()
        if not key:
            return gr.update(), gr.update(), ""
        return {"api_key": key}, "", status("key_saved", language_of(request))

    view.save_key.click(save_key_fn, view.key_box, [key_state, view.key_box, view.key_line], api_visibility="private")

    def forget_key_fn(request: gr.Request):
        return {"api_key": ""}, "", status("key_forgotten", language_of(request))

    view.forget_key.click(forget_key_fn, None, [key_state, view.key_box, view.key_line], api_visibility="private")


def _chain(chosen: dict[str, Any] | None, request: gr.Request) -> Any:
    if not chosen:
        gr.Warning(status("pick_result", language_of(request)))
        return gr.update()
    return chosen["path"]
