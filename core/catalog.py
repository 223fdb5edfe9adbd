"""The Qwen image models and the DashScope regions, as data.

The models are read from `core/models.toml` (their families and ids), with an operator's file named by
QWEN_EDIT_MODELS_FILE read on top: a field given there wins, a new id is a new model. Every rule that differs
between models (images, outputs, sizes, prompt limits, switches, usage keys, rate limits) is a field of
`Model`; code asks the model, never its name.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from core import errors

SEED_MAX = 2_147_483_647
INPUT_SIDE_MIN = 384
INPUT_SIDE_MAX = 3072
INPUT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_PIXELS = 1024 * 1024
SIZE_STEP = 16
BUILT_IN = Path(__file__).with_name("models.toml")
MODELS_FILE_ENV = "QWEN_EDIT_MODELS_FILE"


class CatalogFileError(ValueError):
    """A models file that cannot be used: which file, which model, which field, what is wrong."""


@dataclass(frozen=True)
class RateLimit:
    """An account-level limit: at most `requests` calls per `seconds` (all keys of an account together)."""

    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """ "2/60" -> 2 requests per 60 s; "off" -> None (no limit); ValueError for anything else."""
        if text.strip().lower() == "off":
            return None
        requests, _, seconds = text.partition("/")
        try:
            limit = cls(int(requests), float(seconds))
        except ValueError:
            raise ValueError(f"{text!r} is not requests/seconds (e.g. 2/60) or off") from None
        if limit.requests < 1 or not 0 < limit.seconds < float("inf"):
            raise ValueError(f"{text!r}: requests must be at least 1 and seconds more than 0")
        return limit

    def __str__(self) -> str:
        return f"{self.requests}/{self.seconds:g}"


@dataclass(frozen=True)
class SizeRule:
    """Which explicit output sizes a model takes.

    "sides": each side in [side_min, side_max]; "area": W*H in [pixels_min, pixels_max] and, when max_aspect
    is not 0, the longer side at most max_aspect times the shorter; "none": no size may be given.
    """

    kind: str
    side_min: int
    side_max: int
    pixels_min: int
    pixels_max: int
    max_aspect: float

    @property
    def settable(self) -> bool:
        """Whether a call may name a size at all."""
        return self.kind != "none"

    def allows(self, width: int, height: int) -> bool:
        """Whether W*H is a size this rule accepts."""
        if self.kind == "sides":
            return all(self.side_min <= side <= self.side_max for side in (width, height))
        if self.kind == "area":
            aspect_ok = not self.max_aspect or max(width, height) <= self.max_aspect * min(width, height)
            return width > 0 and height > 0 and self.pixels_min <= width * height <= self.pixels_max and aspect_ok
        return False

    @property
    def pixel_range(self) -> tuple[str, str]:
        """The lowest and highest pixel counts in all, as people write them ("512×512")."""
        return _pixels_text(self.pixels_min), _pixels_text(self.pixels_max)

    def describe(self) -> str:
        """The rule in words, for messages (English; the numbers read the same in Chinese)."""
        if self.kind == "area":
            aspect = f", aspect ratio at most {self.max_aspect:g}:1" if self.max_aspect else ""
            low, high = self.pixel_range
            return f"{low} to {high} pixels in all{aspect}"
        return f"width and height each between {self.side_min} and {self.side_max}"


@dataclass(frozen=True)
class Model:
    """One model id and every rule the service applies to it."""

    id: str
    label: str
    label_zh: str
    about: str
    about_zh: str
    min_images: int
    max_images: int
    max_n: int
    size: SizeRule
    default_size: str  # "last_input" | "model"
    text_size: str  # "W*H" for text-to-image with no size given, "" = the model's choice
    prompt_max: int
    negative_max: int  # 0: the model takes no negative prompt
    prompt_extend: bool
    thinking: bool
    usage_keys: tuple[str, str, str]  # width, height, image count
    rate: RateLimit | None
    alias_of: str | None = None

    @property
    def custom_size(self) -> bool:
        """Whether an explicit output size may be sent."""
        return self.size.settable

    @property
    def negative_prompt(self) -> bool:
        """Whether the model takes a negative prompt."""
        return self.negative_max > 0

    @property
    def rate_group(self) -> str:
        """The id the service counts this model's calls under: an alias shares its snapshot's limit."""
        return self.alias_of or self.id

    def text(self, lang: str) -> tuple[str, str]:
        """(label, description) in `lang` ("zh" or English)."""
        return (self.label_zh, self.about_zh) if lang == "zh" else (self.label, self.about)


@dataclass(frozen=True)
class Region:
    """A DashScope region: each has its own endpoint and its own API keys."""

    id: str
    name: str
    name_zh: str
    base_url: str


_FIELDS = (
    "label",
    "label_zh",
    "about",
    "about_zh",
    "images",
    "n",
    "size",
    "side",
    "pixels",
    "max_aspect",
    "default_size",
    "text_size",
    "prompt_max",
    "negative_max",
    "prompt_extend",
    "thinking",
    "usage",
    "rate",
)


def load_models(*files: Path) -> tuple[Model, ...]:
    """The models of these TOML files, each read on top of the ones before (in order of first mention)."""
    families: dict[str, dict[str, Any]] = {}
    entries: dict[str, dict[str, Any]] = {}
    for path in files:
        data = _read(path)
        for name, fields in _tables(data, "families", path).items():
            families[name] = {**families.get(name, {}), **fields}
        for model_id, fields in _tables(data, "models", path).items():
            entries[model_id] = {**entries.get(model_id, {}), **fields}
    source = ", ".join(str(path) for path in files)
    models = tuple(_model(model_id, fields, families, source) for model_id, fields in entries.items())
    ids = {model.id for model in models}
    for model in models:
        if model.alias_of is not None and model.alias_of not in ids:
            raise CatalogFileError(f'models file {source}: model "{model.id}": alias_of "{model.alias_of}" is no model')
    return models


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogFileError(f"models file {path}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogFileError(f"models file {path}: not valid TOML ({exc})") from None


def _tables(data: Mapping[str, Any], key: str, path: Path) -> dict[str, dict[str, Any]]:
    tables = data.get(key, {})
    if not isinstance(tables, dict) or not all(isinstance(value, dict) for value in tables.values()):
        raise CatalogFileError(f'models file {path}: [{key}."NAME"] must be tables of fields')
    return tables


def _model(model_id: str, fields: dict[str, Any], families: dict[str, dict[str, Any]], source: str) -> Model:
    where = f'models file {source}: model "{model_id}"'
    family_name = fields.get("family")
    if family_name is not None and family_name not in families:
        raise CatalogFileError(f'{where}: family "{family_name}" is not defined')
    merged = {**families.get(family_name, {}), **fields} if family_name else dict(fields)
    unknown = set(merged) - set(_FIELDS) - {"family", "alias_of"}
    missing = [name for name in _FIELDS if name not in merged]
    if unknown or missing:
        problem = f"unknown field(s) {', '.join(sorted(unknown))}" if unknown else f"missing {', '.join(missing)}"
        raise CatalogFileError(f"{where}: {problem}")
    try:
        return _build(model_id, merged)
    except (TypeError, ValueError) as exc:
        raise CatalogFileError(f"{where}: {exc}") from None


def _build(model_id: str, f: dict[str, Any]) -> Model:
    min_images, max_images = _pair(f["images"], "images")
    if not 0 <= min_images <= max_images:
        raise ValueError("images = [min, max] needs 0 <= min <= max")
    side_min, side_max = _pair(f["side"], "side")
    pixels_min, pixels_max = _pair(f["pixels"], "pixels")
    for name, (low, high) in (("side", (side_min, side_max)), ("pixels", (pixels_min, pixels_max))):
        if not 0 < low <= high:
            raise ValueError(f"{name} = [low, high] needs 0 < low <= high")
    aspect = f["max_aspect"]
    if isinstance(aspect, bool) or not isinstance(aspect, (int, float)) or not (aspect == 0 or aspect >= 1):
        raise ValueError(f"max_aspect must be 0 (no limit) or a number of at least 1; got {aspect!r}")
    if f["size"] not in ("sides", "area", "none"):
        raise ValueError('size must be "sides", "area" or "none"')
    if f["default_size"] not in ("last_input", "model"):
        raise ValueError('default_size must be "last_input" or "model"')
    usage = f["usage"]
    if not (isinstance(usage, list) and len(usage) == 3 and all(isinstance(key, str) for key in usage)):
        raise ValueError('usage must be ["width key", "height key", "count key"]')
    text_size = str(f["text_size"])
    size = SizeRule(f["size"], side_min, side_max, pixels_min, pixels_max, float(aspect))
    if text_size and not (
        re.fullmatch(r"\d+\*\d+", text_size) and (not size.settable or size.allows(*map(int, text_size.split("*"))))
    ):
        raise ValueError(f'text_size must be "" or a "W*H" the size rule allows; got {text_size!r}')
    return Model(
        id=model_id,
        label=_text(f["label"], "label"),
        label_zh=_text(f["label_zh"], "label_zh"),
        about=_text(f["about"], "about"),
        about_zh=_text(f["about_zh"], "about_zh"),
        min_images=min_images,
        max_images=max_images,
        max_n=_whole(f["n"], "n", low=1),
        size=size,
        default_size=f["default_size"],
        text_size=text_size,
        prompt_max=_whole(f["prompt_max"], "prompt_max", low=1),
        negative_max=_whole(f["negative_max"], "negative_max", low=0),
        prompt_extend=_flag(f["prompt_extend"], "prompt_extend"),
        thinking=_flag(f["thinking"], "thinking"),
        usage_keys=(usage[0], usage[1], usage[2]),
        rate=parse_rate(f["rate"]),
        alias_of=f.get("alias_of"),
    )


def parse_rate(value: Any) -> RateLimit | None:
    """A models file's `rate`: "N/SECONDS" -> RateLimit; "" or "off" -> None (not paced); else ValueError."""
    text = str(value).strip()
    if not text:
        return None
    try:
        return RateLimit.parse(text)
    except ValueError:
        raise ValueError(f'rate must be "N/SECONDS" such as "2/60", or "" (not paced); got {value!r}') from None


def _pair(value: Any, name: str) -> tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2):
        raise ValueError(f"{name} must be [low, high]")
    return _whole(value[0], name, low=0), _whole(value[1], name, low=0)


def _whole(value: Any, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be a whole number of at least {low}; got {value!r}")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false; got {value!r}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty text")
    return value


def _pixels_text(count: int) -> str:
    """A pixel count as people write it: "512×512" for a square, else "262,144"."""
    side = math.isqrt(count)
    return f"{side}×{side}" if side * side == count else f"{count:,}"


def _files() -> tuple[Path, ...]:
    extra = os.environ.get(MODELS_FILE_ENV, "").strip()
    return (BUILT_IN, Path(extra).expanduser()) if extra else (BUILT_IN,)


MODELS: tuple[Model, ...] = load_models(*_files())
DEFAULT_MODEL = "qwen-image-edit-plus"

REGIONS: tuple[Region, ...] = (
    Region("singapore", "Singapore", "新加坡", "https://dashscope-intl.aliyuncs.com/api/v1"),
    Region("beijing", "Beijing", "北京", "https://dashscope.aliyuncs.com/api/v1"),
)
DEFAULT_REGION = "singapore"


def get_model(model_id: str) -> Model:
    """The model named `model_id`, or UnknownModelError."""
    for model in MODELS:
        if model.id == model_id:
            return model
    raise errors.UnknownModelError(model=model_id, choices=", ".join(m.id for m in MODELS))


def model_ids() -> tuple[str, ...]:
    """Every model id, in the catalog's order."""
    return tuple(model.id for model in MODELS)


def get_region(region_id: str) -> Region:
    """The region named `region_id` (case-insensitive), or UnknownRegionError."""
    for region in REGIONS:
        if region.id == str(region_id).strip().lower():
            return region
    raise errors.UnknownRegionError(region=region_id, choices=", ".join(r.id for r in REGIONS))
