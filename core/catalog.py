"""The Qwen image-edit models and the DashScope regions, as data."""

from __future__ import annotations

from dataclasses import dataclass

from core import errors

SIZE_MIN = 512
SIZE_MAX = 2048
PROMPT_MAX_CHARS = 800
NEGATIVE_PROMPT_MAX_CHARS = 500
SEED_MAX = 2_147_483_647
MAX_IMAGES = 3
INPUT_SIDE_MIN = 384
INPUT_SIDE_MAX = 3072
INPUT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_PIXELS = 1024 * 1024


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
class Model:
    """One model and what it can do."""

    id: str
    max_n: int
    custom_size: bool
    prompt_extend: bool
    alias_of: str | None = None
    min_images: int = 1
    max_images: int = 3
    rate: RateLimit | None = None

    @property
    def rate_group(self) -> str:
        """The id the service counts this model's calls under: an alias shares its snapshot's limit."""
        return self.alias_of or self.id

    @property
    def label(self) -> str:
        """A short description for a picker: name and abilities."""
        size = "custom size" if self.custom_size else "auto size only"
        rewrite = ", prompt rewriting" if self.prompt_extend else ""
        return f"{self.id} (up to {self.max_n} image{'s' if self.max_n > 1 else ''}, {size}{rewrite})"


@dataclass(frozen=True)
class Region:
    """A DashScope region: each has its own endpoint and its own API keys."""

    id: str
    name: str
    name_zh: str
    base_url: str


_PER_MINUTE_2 = RateLimit(2, 60.0)
_PER_SECOND_2 = RateLimit(2, 1.0)
MODELS: tuple[Model, ...] = (
    Model("qwen-image-edit-max", 6, True, True, alias_of="qwen-image-edit-max-2026-01-16", rate=_PER_MINUTE_2),
    Model("qwen-image-edit-max-2026-01-16", 6, True, True, rate=_PER_MINUTE_2),
    Model("qwen-image-edit-plus", 6, True, True, alias_of="qwen-image-edit-plus-2025-10-30", rate=_PER_SECOND_2),
    Model("qwen-image-edit-plus-2025-12-15", 6, True, True, rate=_PER_SECOND_2),
    Model("qwen-image-edit-plus-2025-10-30", 6, True, True, rate=_PER_SECOND_2),
    Model("qwen-image-edit", 1, False, False, rate=_PER_SECOND_2),
    Model("qwen-image-3.0-pro", 6, True, True, min_images=0),
    Model("qwen-image-3.0", 6, True, True, min_images=0),
    Model("qwen-image-2.1-pro", 6, True, True, min_images=0, max_images=10),
    Model("qwen-image-2.0-pro", 6, True, True, alias_of="qwen-image-2.0-pro-2026-04-22", min_images=0),
    Model("qwen-image-2.0-pro-2026-06-22", 6, True, True, min_images=0),
    Model("qwen-image-2.0-pro-2026-04-22", 6, True, True, min_images=0),
    Model("qwen-image-2.0-pro-2026-03-03", 6, True, True, min_images=0),
    Model("qwen-image-2.0", 6, True, True, alias_of="qwen-image-2.0-2026-03-03", min_images=0),
    Model("qwen-image-2.0-2026-03-03", 6, True, True, min_images=0),
)
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


def get_region(region_id: str) -> Region:
    """The region named `region_id` (case-insensitive), or UnknownRegionError."""
    for region in REGIONS:
        if region.id == str(region_id).strip().lower():
            return region
    raise errors.UnknownRegionError(region=region_id, choices=", ".join(r.id for r in REGIONS))
