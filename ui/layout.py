"""The studio page: layout top to bottom, then the event wiring. Handler bodies live in ui.handlers."""

from __future__ import annotations

from typing import Any

import gradio as gr

from core import catalog, sizes
from core.studio import Studio
from ui import handlers
from ui.examples import example_labels, example_rows
from ui.slots import InputSlot
from ui.strings import I18N, language_of, status
from ui.theme import CSS, HEAD_JS, THEME

SLOTS = (1, 2, 3)


def build_app(studio: Studio, *, browser_secret: str) -> gr.Blocks:
    """The whole page over `studio`. `browser_secret` keeps visitors' stored keys readable across restarts."""
    settings = studio.settings
    i18n = I18N
    gr.set_static_paths([studio.store.objects])  # content-addressed, unguessable names; nothing else there
    with gr.Blocks(title="Qwen Edit Studio", analytics_enabled=False) as demo:
        key_state = gr.BrowserState({"api_key": ""}, storage_key="qwen-edit-key", secret=browser_secret)
        results_state = gr.State([])
        selected_state = gr.State(None)

        gr.Markdown("# " + i18n("title"), elem_id="title")
        gr.Markdown(i18n("subtitle"), elem_classes="subtitle")
        if studio.simulated:
            gr.Markdown(i18n("banner_simulated"), elem_id="sim-banner", elem_classes="banner")

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
                gr.Markdown(i18n("slots_hint"), elem_classes="hint")
                prompt = gr.Textbox(
                    label=i18n("prompt"), placeholder=i18n("prompt_placeholder"), lines=3, elem_id="prompt"
                )
                counter = gr.Markdown(
                    status("chars", "en", count=0, limit=catalog.PROMPT_MAX_CHARS), elem_id="prompt-count"
                )
                negative = gr.Textbox(label=i18n("negative_prompt"), placeholder=i18n("negative_placeholder"), lines=1)
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
                    n = gr.Slider(1, 6, value=1, step=1, label=i18n("n"), elem_id="n")
                    with gr.Row():
                        seed = gr.Number(0, label=i18n("seed"), precision=0, minimum=0, maximum=catalog.SEED_MAX)
                        random_seed = gr.Checkbox(True, label=i18n("random_seed"), elem_id="random-seed")
                    with gr.Row():
                        prompt_extend = gr.Checkbox(True, label=i18n("prompt_extend"), info=i18n("prompt_extend_info"))
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
                examples = gr.Examples(
                    example_rows(),
                    inputs=[*slots, prompt, n],
                    label=i18n("examples"),
                    example_labels=example_labels(),
                    elem_id="examples",
                )
                with gr.Accordion(i18n("compare"), open=False):
                    compare_with = gr.Radio(
                        [(i18n(f"image_{k}"), k) for k in SLOTS], value=1, label=i18n("compare_with")
                    )
                    slider = gr.ImageSlider(label=i18n("compare"), type="filepath", elem_id="compare")
                selected_details = gr.JSON(label=i18n("record"), elem_id="details")

        # Published for scripts and MCP; hidden from the page.
        with gr.Column(visible=False):
            api_images = [InputSlot(type="filepath", image_mode=None, label=f"image_{k}") for k in SLOTS]
            api_prompt = gr.Textbox(label="prompt")
            api_negative = gr.Textbox("", label="negative_prompt")
            api_model = gr.Textbox(catalog.DEFAULT_MODEL, label="model")
            api_size = gr.Textbox("auto", label="size")
            api_n = gr.Number(1, label="n", precision=0)
            api_seed = gr.Number(-1, label="seed", precision=0)
            api_extend = gr.Checkbox(True, label="prompt_extend")
            api_watermark = gr.Checkbox(False, label="watermark")
            api_key = gr.Textbox("", label="api_key")
            api_gallery = gr.Gallery(format="png", label="images")
            api_record = gr.JSON(label="record")
            api_button = gr.Button()

        # ---- wiring ----
        def lang(request: gr.Request) -> str:
            return language_of(request)

        def generate_fn(
            i1: str | None,
            i2: str | None,
            i3: str | None,
            p: str,
            neg: str,
            mdl: str,
            reg: str,
            mode: str,
            w: float,
            h: float,
            count: float,
            sd: float,
            rnd: bool,
            ext: bool,
            wm: bool,
            keys: dict[str, Any] | None,
            history: list[dict[str, Any]] | None,
            request: gr.Request,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's documented way to get a progress bar
        ):
            request_values = {
                "images": [i1, i2, i3],
                "prompt": p,
                "negative": neg,
                "model": mdl,
                "region": reg,
                "size": handlers.size_value(mode, w, h),
                "n": count,
                "seed": -1 if rnd else sd,
                "prompt_extend": ext,
                "watermark": wm,
            }
            user_key = (keys or {}).get("api_key") or None
            try:
                for entries, record, line in handlers.run_edit(
                    studio, request_values, user_key, history or [], lang(request), progress
                ):
                    gallery_value = [(e["path"], e["caption"]) for e in entries]
                    seed_update = gr.update(value=record["seed"]) if record else gr.update()
                    yield gallery_value, entries, line, seed_update, record
            except gr.Error as error:  # the reason stays on the page after its message box has gone
                yield gr.skip(), gr.skip(), f"⚠ {error.message}", gr.skip(), gr.skip()
                raise

        gen_inputs = [*slots, prompt, negative, model, region, size_mode, width, height, n, seed, random_seed]
        gen_inputs += [prompt_extend, watermark, key_state, results_state]
        gen_outputs = [gallery, results_state, run_status, seed, selected_details]
        # Progress (and a failure's overlay) on the gallery only: the status line and details stay readable.
        run_options: dict[str, Any] = {
            "api_visibility": "private",
            "concurrency_id": "edit",
            "show_progress_on": gallery,
        }
        gen_event = generate.click(generate_fn, gen_inputs, gen_outputs, **run_options)
        example_event = examples.load_input_event.then(generate_fn, gen_inputs, gen_outputs, **run_options)
        cancel.click(None, None, None, cancels=[gen_event, example_event])

        for k, slot in zip(SLOTS, slots, strict=True):

            def check(path: str | None, request: gr.Request, k: int = k) -> str | None:
                return handlers.check_slot(path, k, request)

            slot.upload(check, [slot], [slot], api_visibility="private")

        def refresh_preview(mode, w, h, i1, i2, i3, request: gr.Request):
            return handlers.size_preview(mode, w, h, i1, i2, i3, lang=lang(request))

        preview_inputs = [size_mode, width, height, *slots]
        for trigger in (size_mode.change, width.change, height.change, *(s.change for s in slots)):
            trigger(refresh_preview, preview_inputs, preview, api_visibility="private", queue=False)
        size_mode.change(
            lambda mode: gr.update(visible=mode == handlers.SIZE_CUSTOM),
            size_mode,
            custom_row,
            api_visibility="private",
            queue=False,
        )

        def on_model(model_id: str, n_value: float, mode: str, request: gr.Request):
            spec = catalog.get_model(model_id)
            lng = lang(request)
            size_note = "" if spec.custom_size else " · " + status("no_custom_size", lng, model=spec.id)
            count = gr.update(value=min(int(n_value or 1), spec.max_n), interactive=spec.max_n > 1)
            if spec.max_n > 1:  # a slider refuses maximum == minimum: a one-image model pins it at 1, disabled
                count["maximum"] = spec.max_n
            return (
                count,
                gr.update(interactive=spec.custom_size, value=mode if spec.custom_size else handlers.SIZE_AUTO),
                gr.update(interactive=spec.prompt_extend, value=spec.prompt_extend),
                handlers.model_info(model_id, lng) + size_note,
            )

        model.change(
            on_model, [model, n, size_mode], [n, size_mode, prompt_extend, model_line], api_visibility="private"
        )

        def on_count(count: float, request: gr.Request) -> str:
            return handlers.cost_line(count, settings.price_per_image, lang(request))

        n.change(on_count, n, cost, api_visibility="private", queue=False)
        # Counted in the browser as you type; only the number changes, so the line keeps its language.
        count_js = "(p) => document.querySelector('#prompt-count').innerText.replace(/^\\d+/, [...(p || '')].length)"
        prompt.change(None, prompt, counter, js=count_js)

        def on_select(entries: list[dict[str, Any]], evt: gr.SelectData):
            entry = entries[evt.index] if entries and evt.index < len(entries) else None
            return entry, (entry or {}).get("details")

        gallery.select(on_select, results_state, [selected_state, selected_details], api_visibility="private")

        for k, button in zip(SLOTS, use_buttons, strict=True):
            button.click(_chain, [selected_state], [slots[k - 1]], api_visibility="private")

        def compare(entry, k, i1, i2, i3):
            source = (i1, i2, i3)[int(k) - 1]
            if not entry or not source:
                return None
            return (source, entry["path"])

        for trigger in (gallery.select, compare_with.change):
            trigger(
                compare,
                [selected_state, compare_with, *slots],
                slider,
                api_visibility="private",
                queue=False,
            )

        def save_key_fn(key: str, request: gr.Request):
            key = (key or "").strip()
            if not key:
                return gr.update(), gr.update(), ""
            return {"api_key": key}, "", status("key_saved", lang(request))

        save_key.click(save_key_fn, key_box, [key_state, key_box, key_line], api_visibility="private")

        def forget_key_fn(request: gr.Request):
            return {"api_key": ""}, "", status("key_forgotten", lang(request))

        forget_key.click(forget_key_fn, None, [key_state, key_box, key_line], api_visibility="private")

        def on_load(keys: dict[str, Any] | None, request: gr.Request):
            lng = lang(request)
            line = status("key_stored", lng) if (keys or {}).get("api_key") else ""
            if settings.require_user_key and not line:
                line = status("key_required", lng)
            return (
                line,
                handlers.model_info(catalog.DEFAULT_MODEL, lng),
                status("auto_size_none", lng),
                handlers.cost_line(1, settings.price_per_image, lng),
                status("chars", lng, count=0, limit=catalog.PROMPT_MAX_CHARS),
            )

        demo.load(
            on_load, key_state, [key_line, model_line, preview, cost, counter], api_visibility="private", queue=False
        )

        def api_edit(
            image_1: str,
            image_2: str | None = None,
            image_3: str | None = None,
            prompt: str = "",
            negative_prompt: str = "",
            model: str = catalog.DEFAULT_MODEL,
            size: str = "auto",
            n: int = 1,
            seed: int = -1,
            prompt_extend: bool = True,
            watermark: bool = False,
            api_key: str = "",
            request: gr.Request = None,  # type: ignore[assignment]
        ):
            """Edit one to three images with a Qwen image-edit model; results are saved PNGs.

            Args:
                image_1: the first input image (required).
                image_2: an optional second input image.
                image_3: an optional third input image.
                prompt: what to change, e.g. "the girl in Image 1 wears the dress of Image 2" (max 800 chars).
                negative_prompt: what to avoid (max 500 chars).
                model: one of qwen-image-edit-max, qwen-image-edit-plus (and their dated snapshots) or qwen-image-edit.
                size: "auto" (about 1024*1024, aspect of the last image) or "W*H" with W, H in [512, 2048].
                n: number of images, 1 to 6 (1 for qwen-image-edit).
                seed: 0 to 2147483647, or -1 for a random seed (the seed used is in the record).
                prompt_extend: let the service rewrite the prompt (ignored by models without rewriting).
                watermark: add the "Qwen-Image" mark.
                api_key: your own DashScope key for this call only (never stored); required when the host asks.
            """
            lng = lang(request)
            values = {
                "images": [image_1, image_2, image_3],
                "prompt": prompt,
                "negative": negative_prompt,
                "model": model,
                "region": settings.region,
                "size": size,
                "n": n,
                "seed": seed,
                "prompt_extend": prompt_extend,
                "watermark": watermark,
            }
            final: tuple[Any, ...] = ([], None)
            for entries, record, _line in handlers.run_edit(studio, values, api_key or None, [], lng, _no_progress):
                final = ([e["path"] for e in entries], record)
            return final

        api_button.click(
            api_edit,
            [
                *api_images,
                api_prompt,
                api_negative,
                api_model,
                api_size,
                api_n,
                api_seed,
                api_extend,
                api_watermark,
                api_key,
            ],
            [api_gallery, api_record],
            api_name="edit",
            concurrency_id="edit",
        )
    return demo


def _no_progress(*_args: Any, **_kwargs: Any) -> None:
    """API calls have no progress bar."""


def _chain(entry: dict[str, Any] | None, request: gr.Request) -> Any:
    if not entry:
        gr.Warning(status("pick_result", language_of(request)))
        return gr.update()
    return entry["path"]


def launch_options(studio: Studio) -> dict[str, Any]:
    """Keyword arguments for `launch()` that the page needs."""
    settings = studio.settings
    return {
        "i18n": I18N,
        "theme": THEME,
        "css": CSS,
        "head": HEAD_JS,
        "max_file_size": f"{settings.max_upload_mb}mb",
        "max_threads": max(40, 3 * settings.concurrency),
        "show_error": False,
    }
