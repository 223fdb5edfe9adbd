"""Event handlers: turn component values into a core request, call core, turn results into values."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from core import catalog, errors, sizes
from core.caller import Caller
from core.history import EditRow
from core.images import prepare_image, read_dimensions
from core.request import EditRequest
from core.sizes import Size
from core.studio import EditResult, Stage, Studio
from ui.strings import language_of, status

SIZE_AUTO = "auto"
SIZE_CUSTOM = "custom"
MATCH_PREFIX = "match-"


@dataclass(frozen=True)
class Visitor:
    """Who is asking: the caller core acts for (owner, own key, address) and the language to answer in."""

    caller: Caller
    lang: str

    @property
    def owner(self) -> str:
        return self.caller.owner


def visitor(owner_state: dict[str, Any] | None, key_state: dict[str, Any] | None, request: gr.Request) -> Visitor:
    """The visitor behind a page event: a signed-in user's name, else this browser's anonymous id."""
    username = getattr(request, "username", None)
    owner = f"user:{username}" if username else (owner_state or {}).get("owner") or f"tab:{request.session_hash}"
    key = (key_state or {}).get("api_key") or None
    return Visitor(Caller(owner, key, client_ip(request)), language_of(request))


def api_visitor(api_key: str, request: gr.Request | None) -> Visitor:
    """An API or MCP caller: owner "key:<hash of the key it brought>", else "api"."""
    return Visitor(Caller.for_api(api_key, client_ip(request)), language_of(request))


def client_ip(request: gr.Request | None) -> str | None:
    """The caller's address, the first hop of X-Forwarded-For behind a proxy (as on Spaces)."""
    if request is None:
        return None
    forwarded = (request.headers.get("x-forwarded-for") or "") if request.headers is not None else ""
    if forwarded.strip():
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else None


def fail(error: errors.EditError, lang: str) -> gr.Error:
    """A core error as a message box in the visitor's language (escaped: it may quote the service)."""
    return gr.Error(html.escape(error.message(lang)))


def _dims(path: str | None) -> tuple[int, int] | None:
    return read_dimensions(path) if path else None


def size_value(mode: str, width: float | None, height: float | None, slots: list[str | None]) -> str:
    """The size string core takes: "auto", a preset's W*H, the W*H matching an input, or the custom W*H."""
    if mode == SIZE_AUTO:
        return "auto"
    if mode == SIZE_CUSTOM:
        return f"{int(width or 0)}*{int(height or 0)}"
    if mode.startswith(MATCH_PREFIX):
        dims = _dims(slots[int(mode.removeprefix(MATCH_PREFIX)) - 1])
        return str(sizes.match_size(*dims)[0]) if dims else "auto"
    return str(sizes.preset_size(mode))


def exact_target(mode: str, slots: list[str | None]) -> Size | None:
    """The input whose exact pixels results are resampled to: the matched image, else the last one given."""
    if mode.startswith(MATCH_PREFIX):
        dims = _dims(slots[int(mode.removeprefix(MATCH_PREFIX)) - 1])
    else:
        dims = next((d for d in map(_dims, reversed(slots)) if d), None)
    return Size(*dims) if dims else None


def size_preview(mode: str, width: float | None, height: float | None, slots: list[str | None], lang: str) -> str:
    """What the run will produce, shown before it runs."""
    if mode == SIZE_AUTO:
        for slot in range(len(slots), 0, -1):
            dims = _dims(slots[slot - 1])
            if dims:
                size = sizes.auto_size(*dims)
                return status("auto_size", lang, width=size.width, height=size.height, slot=slot)
        return status("auto_size_none", lang)
    if mode.startswith(MATCH_PREFIX):
        slot = int(mode.removeprefix(MATCH_PREFIX))
        dims = _dims(slots[slot - 1])
        if not dims:
            return status("match_empty", lang, slot=slot)
        size, error = sizes.match_size(*dims)
        return status("match_size", lang, width=size.width, height=size.height, slot=slot, error=error * 100)
    try:
        size = Size.from_text(size_value(mode, width, height, slots))
    except ValueError:
        return ""
    return status("fixed_size", lang, width=size.width, height=size.height)


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


def close_up(slots: list[str | None]) -> list[str | None]:
    """Filled slots moved left, so "Image k" always names the k-th image sent."""
    filled = [path for path in slots if path]
    return filled + [None] * (len(slots) - len(filled))


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
    exact_size: Size | None = None,
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
        exact_size=exact_size,
    )


def settings_of(params: dict[str, Any]) -> dict[str, Any]:
    """The controls' values that repeat an edit's settings ("use these settings")."""
    return {key: params[key] for key in ("prompt", "negative_prompt", "model", "size", "n", "seed")} | {
        "prompt_extend": params["prompt_extend"],
        "watermark": params["watermark"],
    }


def entry(path: str, edit_id: str, index: int, params: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """One gallery item with what the page needs to explain, chain, compare and recall it."""
    return {
        "path": path,
        "caption": f"#{index} · seed {params['seed']}",
        "edit_id": edit_id,
        "settings": settings_of(params),
        "details": info,
    }


def result_entries(result: EditResult) -> list[dict[str, Any]]:
    """Gallery items for a finished edit: the exact-size version where one was made."""
    params = result.request.params.as_dict()
    items = []
    for image in result.images:
        info = {
            "file": Path(image.path).name,
            "exact_size_file": Path(image.exact_path).name if image.exact_path else None,
            "width": image.width,
            "height": image.height,
            **params,
            "prompt_as_sent": result.request.params.prompt,
            "request_id": result.request_id,
            "edit_id": result.edit_id,
            "simulated": result.simulated,
        }
        items.append(entry(image.exact_path or image.path, result.edit_id, image.index, params, info))
    return items


def history_entries(studio: Studio, edit: EditRow) -> list[dict[str, Any]]:
    """Gallery items for an edit reopened from history."""
    params = edit.parameters()
    paths = studio.output_paths(edit)
    saved = [o for o in edit.outputs if o.state == "saved"]
    return [
        entry(path, edit.id, output.index, params, {**params, "file": Path(path).name})
        for path, output in zip(paths, saved, strict=True)
        if Path(path).is_file()  # evicted or deleted files are skipped, not shown broken
    ]


def run_edit(
    studio: Studio,
    request_values: dict[str, Any],
    who: Visitor,
    history: list[dict[str, Any]],
    progress: gr.Progress,
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None, str]]:
    """Run one edit and yield (session results, record, status) as the results land.

    New results go first; earlier ones of this session stay below them.
    """
    lang = who.lang
    progress(0.0, desc=status("preparing", lang))
    try:
        request = build_request(**request_values)
        job = studio.submit(request, who.caller)
    except errors.EditError as error:
        raise fail(error, lang) from None
    params = request.params.as_dict()
    landed: list[dict[str, Any]] = []
    for step in job.progress():
        if step.stage is Stage.CALLING:
            progress(0.05, desc=status("calling", lang))
        elif step.stage is Stage.RETRYING and step.retry:
            progress(0.05, desc=status("retrying", lang, **vars(step.retry)))
        elif step.stage is Stage.DOWNLOADING:
            progress(0.8, desc=status("downloading", lang, done=0, total=step.total))
        elif step.stage is Stage.SAVED and step.image:
            progress(0.8 + 0.2 * step.done / max(step.total, 1), desc=status("downloading", lang, **vars(step)))
            image = step.image
            landed.append(entry(image.exact_path or image.path, "", image.index, params, {}))
            yield landed + history, None, status("downloading", lang, done=step.done, total=step.total)
    try:
        result = job.result()
    except errors.EditError as error:
        raise fail(error, lang) from None
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
    yield result_entries(result) + history, result.record(), line
