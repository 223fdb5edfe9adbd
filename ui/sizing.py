"""The size control's values (Auto, Match Image k, a preset, Custom W x H) as core sizes, and the preview."""

from __future__ import annotations

from core import catalog, errors, sizes
from core.images import read_dimensions, sent_dimensions
from core.parameters import check_size
from core.sizes import Size
from ui.strings import status

SIZE_AUTO = "auto"
SIZE_CUSTOM = "custom"
MATCH_PREFIX = "match-"


def size_value(mode: str, width: float | None, height: float | None, slots: list[str | None], model_id: str) -> str:
    """The size string core takes: "auto", a preset's W*H, the W*H matching an input, or the custom W*H, by
    the size rule of the model (an unknown model: the default model's, and core refuses the model)."""
    if mode == SIZE_AUTO:
        return "auto"
    if mode == SIZE_CUSTOM:
        return f"{int(width or 0)}*{int(height or 0)}"
    rule = _model(model_id).size
    if mode.startswith(MATCH_PREFIX):
        dims = _dims(slots[int(mode.removeprefix(MATCH_PREFIX)) - 1])
        return str(sizes.match_size(*dims, rule)[0]) if dims else "auto"
    return str(sizes.preset_size(mode, rule))


def exact_target(mode: str, slots: list[str | None]) -> Size | None:
    """The input whose exact pixels results are resampled to: the matched image, else the last one given."""
    if mode.startswith(MATCH_PREFIX):
        dims = _dims(slots[int(mode.removeprefix(MATCH_PREFIX)) - 1])
    else:
        dims = next((d for d in map(_dims, reversed(slots)) if d), None)
    return Size(*dims) if dims else None


def size_preview(
    mode: str, width: float | None, height: float | None, slots: list[str | None], model_id: str, lang: str
) -> str:
    """What the run will produce, shown before it runs."""
    model = _model(model_id)
    if mode == SIZE_AUTO:
        return auto_preview(model, slots, lang)
    if mode.startswith(MATCH_PREFIX):
        slot = int(mode.removeprefix(MATCH_PREFIX))
        dims = _dims(slots[slot - 1])
        if not dims:
            return status("match_empty", lang, slot=slot)
        size, error = sizes.match_size(*dims, model.size)
        return status("match_size", lang, width=size.width, height=size.height, slot=slot, error=error * 100)
    try:
        size = Size.from_text(size_value(mode, width, height, slots, model.id))
    except ValueError:
        return ""
    try:  # refused here, in the visitor's words, before Generate would refuse it
        check_size(size, model)
    except errors.EditError as error:
        return "⚠ " + error.message(lang)
    return status("fixed_size", lang, width=size.width, height=size.height)


def auto_preview(model: catalog.Model, slots: list[str | None], lang: str) -> str:
    """What "Auto" gives with these slots: the last image's shape, the model's text-to-image size, or the
    model's own choice."""
    sent = (sent_dimensions(path) if path else None for path in slots)  # as sent: a small image upscaled
    filled = [(slot, dims) for slot, dims in enumerate(sent, start=1) if dims]
    if not filled:
        if model.min_images > 0:
            return status("auto_size_none", lang)
        size = sizes.default_size(model, [])
        if size is None:
            return status("auto_size_model_text", lang)
        return status("auto_size_text", lang, width=size.width, height=size.height)
    size = sizes.default_size(model, [dims for _slot, dims in filled])
    if size is None:
        return status("auto_size_model", lang)
    return status("auto_size", lang, width=size.width, height=size.height, slot=filled[-1][0])


def _model(model_id: str) -> catalog.Model:
    try:
        return catalog.get_model(model_id)
    except errors.UnknownModelError:
        return catalog.get_model(catalog.DEFAULT_MODEL)


def _dims(path: str | None) -> tuple[int, int] | None:
    return read_dimensions(path) if path else None
