"""The settings panel: model and region, output size with its preview, n, seed and the two switches."""

from __future__ import annotations

from typing import Any

import gradio as gr

from core import catalog, errors, sizes
from core.settings import Settings
from ui.sizing import MATCH_PREFIX, SIZE_AUTO, SIZE_CUSTOM, size_preview
from ui.slots import InputSlot
from ui.strings import I18N, language_of, status
from ui.tabs.studio.inputs import SLOTS
from ui.tabs.studio.view import Controls
from ui.wiring import PRIVATE


def render(settings: Settings) -> Controls:
    """The settings accordion (open: a designer sees what a run will do)."""
    with gr.Accordion(I18N("settings"), open=True, elem_id="settings"):
        with gr.Row():
            model = gr.Dropdown(
                model_choices("en"),
                value=catalog.DEFAULT_MODEL,
                label=I18N("model"),
                elem_id="model",
            )
            region = gr.Radio(region_choices("en"), value=settings.region, label=I18N("region"), elem_id="region")
        model_line = gr.Markdown(model_info(catalog.DEFAULT_MODEL, "en"), elem_id="model-info")
        changes = gr.Markdown("", visible=False, elem_id="model-changes")
        size_mode = gr.Radio(
            [(I18N("size_auto"), SIZE_AUTO)]
            + [(I18N(f"match_{k}"), f"{MATCH_PREFIX}{k}") for k in SLOTS]
            + [(name, name) for name in sizes.ASPECT_PRESETS]
            + [(I18N("size_custom"), SIZE_CUSTOM)],
            value=SIZE_AUTO,
            label=I18N("size"),
            elem_id="size-mode",
        )
        with gr.Row(visible=False) as custom_row:
            # No minimum/maximum: they differ by model, and core's message says which bound a size breaks
            # (Gradio's own refusal would name neither the model nor the rule).
            hint = side_hint(catalog.DEFAULT_MODEL, "en")
            width = gr.Number(1024, label=I18N("width"), info=hint, step=catalog.SIZE_STEP, precision=0)
            height = gr.Number(1024, label=I18N("height"), info=hint, step=catalog.SIZE_STEP, precision=0)
        preview = gr.Markdown(status("auto_size_none", "en"), elem_id="size-preview")
        exact = gr.Checkbox(False, label=I18N("exact_size"), info=I18N("exact_size_info"), elem_id="exact")
        n = gr.Slider(1, 6, value=1, step=1, label=I18N("n"), elem_id="n")
        with gr.Row():
            # No bounds here: Gradio's refusal would be generic; core names the range in the visitor's language.
            seed = gr.Number(0, label=I18N("seed"), precision=0, elem_id="seed")
            random_seed = gr.Checkbox(True, label=I18N("random_seed"), elem_id="random-seed")
        with gr.Row():
            prompt_extend = gr.Checkbox(
                True, label=I18N("prompt_extend"), info=I18N("prompt_extend_info"), elem_id="prompt-extend"
            )
            watermark = gr.Checkbox(False, label=I18N("watermark"), info=I18N("watermark_info"))
    return Controls(
        model=model,
        region=region,
        model_line=model_line,
        changes=changes,
        kept=gr.State({}),
        size_mode=size_mode,
        custom_row=custom_row,
        width=width,
        height=height,
        preview=preview,
        exact=exact,
        n=n,
        seed=seed,
        random_seed=random_seed,
        prompt_extend=prompt_extend,
        watermark=watermark,
    )


def listen(controls: Controls, slots: tuple[InputSlot, ...]) -> None:
    _listen_size(controls, slots)
    _listen_model(controls)


def model_info(model_id: str, lang: str) -> str:
    """What the chosen model is and can do: its name and description, outputs, inputs, sizes, rewriting and
    the account's rate limit."""
    spec = catalog.get_model(model_id)
    label, about = spec.text(lang)
    rule = spec.size
    if rule.kind == "area":
        low, high = rule.pixel_range
        size = status("size_area", lang, low=low, high=high)
    else:
        size = status("custom_size" if rule.settable else "auto_only", lang)
    if spec.min_images:
        inputs = status("inputs_range", lang, low=spec.min_images, high=spec.max_images)
    else:
        inputs = status("inputs_optional", lang, high=spec.max_images)
    rate = spec.rate
    return status(
        "model_info",
        lang,
        label=label,
        model=spec.id,
        about=about,
        outputs=status("outputs_one", lang) if spec.max_n == 1 else status("outputs_many", lang, max_n=spec.max_n),
        inputs=inputs,
        size=size,
        rewrite=status("rewrite_yes" if spec.prompt_extend else "rewrite_no", lang)
        + (status("thinking", lang) if spec.thinking else ""),
        rate=status("rate_limit", lang, requests=rate.requests, seconds=f"{rate.seconds:g}")
        if rate
        else status("rate_unknown", lang),
    )


def model_choices(lang: str) -> list[tuple[str, str]]:
    """The model picker's (label, id) pairs, labelled in `lang`."""
    return [(m.text(lang)[0], m.id) for m in catalog.MODELS]


def region_choices(lang: str) -> list[tuple[str, str]]:
    """The region picker's (name, id) pairs, named in `lang`."""
    return [(region.name_zh if lang == "zh" else region.name, region.id) for region in catalog.REGIONS]


def side_hint(model_id: str, lang: str) -> str:
    """What a side of a custom size may be under the model's rule."""
    rule = catalog.get_model(model_id).size
    if rule.kind == "area":
        low, high = rule.pixel_range
        return status("side_area", lang, low=low, high=high)
    return status("side_range", lang, low=rule.side_min, high=rule.side_max)


def _listen_size(controls: Controls, slots: tuple[InputSlot, ...]) -> None:
    """The W x H a run will produce, shown as the size, the custom sides or the slots change."""

    def refresh_preview(values: dict[Any, Any], request: gr.Request) -> str:
        images = [values[slot] for slot in slots]
        return size_preview(
            values[controls.size_mode],
            values[controls.width],
            values[controls.height],
            images,
            values[controls.model],
            language_of(request),
        )

    preview_inputs = {controls.model, controls.size_mode, controls.width, controls.height, *slots}
    triggers = (
        controls.model.change,
        controls.size_mode.change,
        controls.width.change,
        controls.height.change,
        *(s.change for s in slots),
    )
    for trigger in triggers:
        trigger(refresh_preview, preview_inputs, controls.preview, queue=False, **PRIVATE)
    controls.size_mode.change(
        lambda mode: gr.update(visible=mode == SIZE_CUSTOM),
        controls.size_mode,
        controls.custom_row,
        queue=False,
        **PRIVATE,
    )


def _listen_model(controls: Controls) -> None:
    """What the chosen model allows: n's range, the size control, prompt rewriting. A value the model forces
    (n down to its maximum, the size to Auto, rewriting off) is announced and kept, and comes back when a
    model that takes it is picked again."""

    def on_model(
        model_id: str, n_value: float, size_mode: str, extend: bool, kept: dict[str, Any] | None, request: gr.Request
    ):
        try:
            spec = catalog.get_model(model_id)
        except errors.UnknownModelError:  # a forged value: nothing changes, Generate refuses the name
            return [gr.skip()] * 8
        lang = language_of(request)
        label = spec.text(lang)[0]
        kept = dict(kept or {})
        forced, restored = [], []
        # Each control is set only when it must change: a value picked while this event was under way is kept.
        count: dict[str, Any] = gr.update(
            interactive=spec.max_n > 1, info=status("n_fixed", lang, model=label) if spec.max_n == 1 else ""
        )
        if spec.max_n > 1:  # a slider refuses maximum == minimum: a one-image model pins it at 1, disabled
            count["maximum"] = spec.max_n
        n_now = int(n_value or 1)
        if n_now > spec.max_n:
            count["value"] = spec.max_n
            kept.setdefault("n", n_now)
            forced.append(status("forced_n", lang, value=spec.max_n, was=n_now))
        elif "n" in kept and kept["n"] <= spec.max_n and kept["n"] != n_now:
            count["value"] = kept.pop("n")
            restored.append(status("restored_n", lang, value=count["value"]))
        size: dict[str, Any] = gr.update(
            interactive=spec.custom_size, info="" if spec.custom_size else status("size_fixed", lang, model=label)
        )
        if not spec.custom_size and size_mode != SIZE_AUTO:
            size["value"] = SIZE_AUTO
            kept.setdefault("size_mode", size_mode)
            forced.append(status("forced_size", lang))
        elif spec.custom_size and "size_mode" in kept:
            size["value"] = kept.pop("size_mode")
            restored.append(status("restored_size", lang))
        rewrite: dict[str, Any] = gr.update(interactive=spec.prompt_extend)
        if not spec.prompt_extend and extend:
            rewrite["value"] = False
            kept.setdefault("prompt_extend", True)
            forced.append(status("forced_rewrite", lang))
        elif spec.prompt_extend and kept.pop("prompt_extend", False) and not extend:
            rewrite["value"] = True
            restored.append(status("restored_rewrite", lang))
        hint = side_hint(spec.id, lang)
        return (
            count,
            size,
            rewrite,
            model_info(model_id, lang),
            gr.update(info=hint),
            gr.update(info=hint),
            _changes_line(label, forced, restored, lang),
            kept,
        )

    # On every change, recalled and reopened ones too: what the model allows.
    controls.model.change(
        on_model,
        [controls.model, controls.n, controls.size_mode, controls.prompt_extend, controls.kept],
        [
            controls.n,
            controls.size_mode,
            controls.prompt_extend,
            controls.model_line,
            controls.width,
            controls.height,
            controls.changes,
            controls.kept,
        ],
        **PRIVATE,
    )


def _changes_line(label: str, forced: list[str], restored: list[str], lang: str) -> dict[str, Any]:
    """What a model switch changed by itself, and what it gave back."""
    lines = []
    if forced:
        lines.append(status("forced", lang, model=label, changes="; ".join(forced)))
    if restored:
        lines.append(status("restored", lang, changes="; ".join(restored)))
    return gr.update(value="  \n".join(lines), visible=bool(lines))
