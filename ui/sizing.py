"""The size control's values (Auto, Match Image k, a preset, Custom W x H) as core sizes, and the preview."""

from __future__ import annotations

from core import sizes
from core.images import read_dimensions
from core.sizes import Size
from ui.strings import status

SIZE_AUTO = "auto"
SIZE_CUSTOM = "custom"
MATCH_PREFIX = "match-"


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


def _dims(path: str | None) -> tuple[int, int] | None:
    return read_dimensions(path) if path else None
