"""Event handlers: turn component values into a core request, call core, turn results into values."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import gradio as gr

from core import catalog, errors, sizes
from core.images import prepare_image, read_dimensions
from core.request import EditRequest, Size
from core.studio import EditResult, Stage, Studio
from ui.strings import language_of, status

SIZE_AUTO = "auto"
SIZE_CUSTOM = "custom"


def fail(error: errors.EditError, lang: str) -> gr.Error:
    """A core error as a message box in the visitor's language (escaped: it may quote the service)."""
    return gr.Error(html.escape(error.message(lang)))


def size_value(mode: str, width: float | None, height: float | None) -> str:
    """The size string core takes, from the size picker: "auto", a preset's W*H, or the custom W*H."""
    if mode == SIZE_AUTO:
        return "auto"
    if mode == SIZE_CUSTOM:
        return f"{int(width or 0)}*{int(height or 0)}"
    return str(sizes.preset_size(mode))


def size_preview(mode: str, width: float | None, height: float | None, *slots: str | None, lang: str) -> str:
    """What the run will produce, shown before it runs."""
    if mode != SIZE_AUTO:
        try:
            size = Size(*map(int, size_value(mode, width, height).split("*")))
        except ValueError:
            return ""
        return status("fixed_size", lang, width=size.width, height=size.height)
    for slot in range(len(slots), 0, -1):
        dims = read_dimensions(slots[slot - 1]) if slots[slot - 1] else None
        if dims:
            size = sizes.auto_size(*dims)
            return status("auto_size", lang, width=size.width, height=size.height, slot=slot)
    return status("auto_size_none", lang)


def cost_line(n: float, price: Any, lang: str) -> str:
    """How many images this run bills (and roughly what that costs, when a price is configured)."""
    count = int(n or 1)
    if price is None:
        return status("cost", lang, count=count)
    return status("cost_price", lang, count=count, amount=price.amount * count, currency=price.currency)


def model_info(model_id: str, lang: str) -> str:
    """A line saying what the chosen model can do."""
    spec = catalog.get_model(model_id)
    return status(
        "model_info",
        lang,
        max_n=spec.max_n,
        size=status("custom_size" if spec.custom_size else "auto_only", lang),
        rewrite=status("rewrite_yes" if spec.prompt_extend else "rewrite_no", lang),
    )


def check_slot(path: str | None, slot: int, request: gr.Request) -> str | None:
    """Judge a dropped file at once: keep it if usable, else explain and empty the slot."""
    if not path:
        return None
    try:
        prepare_image(path, slot)
    except errors.EditError as error:
        gr.Warning(html.escape(error.message(language_of(request))))
        return None
    return path


def build_request(
    images: list[str | None],
    prompt: str,
    negative: str,
    model: str,
    region: str,
    size: str,
    n: Any,
    seed: Any,
    prompt_extend: bool,
    watermark: bool,
) -> EditRequest:
    """One EditRequest from page or API values. Prompt rewriting is left to the model's default where the
    model has none (its checkbox is disabled on the page)."""
    spec = catalog.get_model(model)
    return EditRequest.create(
        images,
        prompt,
        model=model,
        region=region,
        negative_prompt=negative,
        size=size,
        n=n,
        seed=seed,
        prompt_extend=prompt_extend if spec.prompt_extend else None,
        watermark=watermark,
    )


def details(result: EditResult, index: int) -> dict[str, Any]:
    """What a designer wants to know about one result."""
    params = result.request.params
    image = result.images[index]
    return {
        "file": image.path,
        "width": image.width,
        "height": image.height,
        "model": params.model,
        "seed": params.seed,
        "size": str(params.size) if params.size else "auto",
        "prompt": params.prompt,
        "negative_prompt": params.negative_prompt,
        "request_id": result.request_id,
        "simulated": result.simulated,
    }


def run_edit(
    studio: Studio,
    request_values: dict[str, Any],
    user_key: str | None,
    history: list[dict[str, Any]],
    lang: str,
    progress: gr.Progress,
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None, str]]:
    """Run one edit and yield (session results, record, status) as the results land.

    New results go first; earlier ones of this session stay below them.
    """
    progress(0.0, desc=status("preparing", lang))
    try:
        request = build_request(**request_values)
        job = studio.submit(request, user_key=user_key)
    except errors.EditError as error:
        raise fail(error, lang) from None
    landed: list[dict[str, Any]] = []
    for step in job.progress():
        if step.stage is Stage.CALLING:
            progress(0.05, desc=status("calling", lang))
        elif step.stage is Stage.RETRYING and step.retry:
            notice = step.retry
            progress(0.05, desc=status("retrying", lang, **vars(notice)))
        elif step.stage is Stage.DOWNLOADING:
            progress(0.8, desc=status("downloading", lang, done=0, total=step.total))
        elif step.stage is Stage.SAVED and step.image:
            progress(0.8 + 0.2 * step.done / max(step.total, 1), desc=status("downloading", lang, **vars(step)))
            landed.append({"path": step.image.path, "caption": f"#{step.image.index} · seed {request.params.seed}"})
            yield landed + history, None, status("downloading", lang, done=step.done, total=step.total)
    try:
        result = job.result()
    except errors.EditError as error:
        raise fail(error, lang) from None
    entries = [
        {"path": image.path, "caption": f"#{image.index} · seed {request.params.seed}", "details": details(result, i)}
        for i, image in enumerate(result.images)
    ]
    line = status(
        "done",
        lang,
        count=len(result.images),
        seconds=result.seconds,
        seed=request.params.seed,
        width=result.usage.width,
        height=result.usage.height,
        request_id=result.request_id,
    )
    if result.failures:
        reasons = "; ".join(failure.message(lang) for failure in result.failures)
        line += "\n\n" + status("partial", lang, saved=len(result.images), total=request.params.n, reasons=reasons)
    yield entries + history, result.record(), line
