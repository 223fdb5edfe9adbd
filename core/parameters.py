"""EditParameters: everything about an edit but its images, validated, and its one dict form.

`as_dict` is the only serializer of an edit's parameters: history rows, API records, exports and the
page all read and write that dict, with the same field names.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import catalog, errors
from core.sizes import Size

_SIZE_RE = re.compile(r"^\s*(\d{1,6})\s*[*xX×]\s*(\d{1,6})\s*$")
_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


@dataclass(frozen=True)
class EditParameters:
    """Everything about an edit except its images; validated on construction."""

    prompt: str
    model: str = catalog.DEFAULT_MODEL
    region: str = catalog.DEFAULT_REGION
    negative_prompt: str = ""
    size: Size | None = None
    n: int = 1
    seed: int = 0
    seed_was_random: bool = False
    prompt_extend: bool = True
    watermark: bool = False
    exact_size: Size | None = None  # resample each result to these exact pixels (kept beside the original)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready values, as records and history keep them ("auto" for no explicit size)."""
        return {
            "model": self.model,
            "region": self.region,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "size": str(self.size) if self.size else "auto",
            "n": self.n,
            "seed": self.seed,
            "seed_was_random": self.seed_was_random,
            "prompt_extend": self.prompt_extend,
            "watermark": self.watermark,
            "exact_size": str(self.exact_size) if self.exact_size else None,
        }

    def create_args(self) -> dict[str, Any]:
        """The keyword arguments of `create` (after the prompt) that make these parameters again, checked
        again: to repeat an edit, or to build one like it (`| {"seed": None}` for a fresh seed)."""
        return {
            "model": self.model,
            "region": self.region,
            "negative_prompt": self.negative_prompt,
            "size": self.size,
            "n": self.n,
            "seed": self.seed,
            "prompt_extend": self.prompt_extend,
            "watermark": self.watermark,
            "exact_size": self.exact_size,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> EditParameters:
        """The parameters `as_dict` wrote (history rows, records): trusted, so not validated again."""
        return cls(
            prompt=str(values["prompt"]),
            model=str(values["model"]),
            region=str(values["region"]),
            negative_prompt=str(values["negative_prompt"]),
            size=parse_size(values["size"]),
            n=int(values["n"]),
            seed=int(values["seed"]),
            seed_was_random=bool(values["seed_was_random"]),
            prompt_extend=bool(values["prompt_extend"]),
            watermark=bool(values["watermark"]),
            exact_size=Size.from_text(str(values["exact_size"])) if values.get("exact_size") else None,
        )

    @classmethod
    def create(
        cls,
        prompt: str,
        *,
        model: str = catalog.DEFAULT_MODEL,
        region: str = catalog.DEFAULT_REGION,
        negative_prompt: str | None = "",
        size: str | Size | None = None,
        n: Any = 1,
        seed: Any = None,
        prompt_extend: bool | None = None,
        watermark: bool = False,
        exact_size: Size | None = None,
    ) -> EditParameters:
        """Check and normalise user-given values; raise the InvalidRequestError that names what is wrong.

        `size` "auto"/""/None follows the service's default rule; "W*H" (also "WxH") is explicit.
        `seed` None or -1 draws a random seed, recorded so the run can be repeated.
        `prompt_extend` None means the model's default (on where the model has it).
        """
        spec = catalog.get_model(model)
        region_id = catalog.get_region(region).id
        prompt = _check_text(prompt or "", "prompt", "prompt", "提示词", spec.prompt_max)
        if not prompt.strip():
            raise errors.EmptyPromptError()
        negative = negative_prompt or ""
        if not spec.negative_prompt:
            if negative.strip():
                raise errors.NegativePromptNotSupportedError(model=spec.id)
            negative = ""
        negative = _check_text(negative, "negative_prompt", "negative prompt", "反向提示词", spec.negative_max)
        parsed_size = parse_size(size)
        if parsed_size is not None:
            check_size(parsed_size, spec)
        count = _check_count(n, spec)
        seed_value, was_random = _check_seed(seed)
        _check_switch(watermark, "watermark", "Watermark", "水印")
        if prompt_extend is not None:
            _check_switch(prompt_extend, "prompt_extend", "Prompt rewriting", "提示词改写")
        if prompt_extend is None:
            prompt_extend = spec.prompt_extend
        elif prompt_extend and not spec.prompt_extend:
            raise errors.PromptExtendNotSupportedError(model=spec.id)
        return cls(
            prompt=prompt,
            model=spec.id,
            region=region_id,
            negative_prompt=negative,
            size=parsed_size,
            n=count,
            seed=seed_value,
            seed_was_random=was_random,
            prompt_extend=bool(prompt_extend),
            watermark=bool(watermark),
            exact_size=exact_size,
        )


def parse_size(value: str | Size | None) -> Size | None:
    """ "auto"/""/None -> None; "W*H" (or WxH) -> Size; else SizeFormatError. Bounds are the model's:
    `check_size`."""
    if value is None or isinstance(value, Size):
        return value
    text = str(value).strip()
    if text.lower() in ("", "auto"):
        return None
    match = _SIZE_RE.match(text)
    if not match:
        raise errors.SizeFormatError(value=text)
    return Size(int(match.group(1)), int(match.group(2)))


def check_size(size: Size, spec: catalog.Model) -> None:
    """Refuse an explicit size `spec`'s size rule does not take, saying which bound it breaks."""
    rule = spec.size
    if not rule.settable:
        raise errors.SizeNotSupportedError(model=spec.id)
    if rule.allows(size.width, size.height):
        return
    if rule.kind == "sides":
        raise errors.SizeOutOfRangeError(value=str(size), low=rule.side_min, high=rule.side_max)
    pixels = size.width * size.height
    if not rule.pixels_min <= pixels <= rule.pixels_max:
        low, high = rule.pixel_range
        raise errors.SizeAreaError(value=str(size), pixels=pixels, model=spec.id, low=low, high=high)
    ratio = max(size.width, size.height) / min(size.width, size.height)
    raise errors.SizeAspectError(value=str(size), ratio=ratio, model=spec.id, limit=rule.max_aspect)


def _check_text(text: str, field: str, label: str, label_zh: str, limit: int) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
        raise errors.InvalidTextError(field=field, label=label, label_zh=label_zh)
    broken = _first_surrogate(text)
    if broken is not None:
        raise errors.BrokenTextError(field=field, label=label, label_zh=label_zh, position=broken + 1)
    if len(text) > limit:
        raise errors.TextTooLongError(
            field=field, label=label, label_zh=label_zh, length=len(text), limit=limit, excess=len(text) - limit
        )
    return text


def _first_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in `text`, or None.

    JSON can carry one ("\\ud83c": half of an emoji cut in two) and a str can hold it, but UTF-8 cannot encode
    it: the history database and the request body would both fail on it, so it is refused before either.
    """
    for index, ch in enumerate(text):
        if unicodedata.category(ch) == "Cs":
            return index
    return None


def _check_switch(value: Any, field: str, label: str, label_zh: str) -> None:
    if not isinstance(value, bool):
        raise errors.SwitchValueError(field=field, label=label, label_zh=label_zh, value=value)


def _as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a numeric string; None otherwise (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _check_count(value: Any, spec: catalog.Model) -> int:
    count = _as_int(value)
    if count is None or not 1 <= count <= spec.max_n:
        raise errors.CountOutOfRangeError(value=value, model=spec.id, max_n=spec.max_n)
    return count


def _check_seed(value: Any) -> tuple[int, bool]:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "random")):
        return secrets.randbelow(catalog.SEED_MAX + 1), True
    seed = _as_int(value)
    if seed == -1:
        return secrets.randbelow(catalog.SEED_MAX + 1), True
    if seed is None or not 0 <= seed <= catalog.SEED_MAX:
        raise errors.SeedOutOfRangeError(value=value, high=catalog.SEED_MAX)
    return seed, False
