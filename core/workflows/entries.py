"""Edits and plans written as JSON (batch lines, plan files): checked as the page checks its fields.

A batch line's keys are the page's fields (REQUEST_KEYS); a plan file's are PLAN_KEYS. Images are paths, or
links fetched only from hosts the result downloads accept.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core import catalog, errors
from core.downloads import DownloadPolicy, SavedImage, download_all
from core.images import ImageSource
from core.regions.expand import Expansion
from core.request import EditRequest
from core.store import ContentStore
from core.studio import Studio
from core.workflows.plan import AXES, FORM_FIELDS, Plan, PlanForm

REQUEST_KEYS = (
    "images",
    "prompt",
    "negative_prompt",
    "model",
    "region",
    "size",
    "n",
    "seed",
    "prompt_extend",
    "watermark",
    "mask",
    "align",
    "keep_unchanged",
    "expand",
)
TEXT_KEYS = frozenset({"prompt", "negative_prompt", "model", "region", "size", "mask"})
FLAG_KEYS = frozenset({"prompt_extend", "watermark"})
REGION_FLAG_KEYS = frozenset({"align", "keep_unchanged"})
SIDES = ("left", "top", "right", "bottom")
PLAN_KEYS = ("images", *FORM_FIELDS, "rows", "columns")


class LineError(ValueError):
    """A line (or plan file value) is not shaped as documented: not a request the page could have sent."""


def request_from_entry(
    entry: Mapping[str, Any], studio: Studio, base_dir: Path, user_key: str | None = None
) -> EditRequest:
    """An EditRequest from a line's keys; image paths are relative to `base_dir`, the region defaults to the
    settings'. Raises LineError for a misshapen line, else the request's own EditError."""
    unknown = sorted(set(entry) - set(REQUEST_KEYS))
    if unknown:
        raise LineError(f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(REQUEST_KEYS)}")
    for key, value in entry.items():
        if value is None:
            continue
        if key in TEXT_KEYS and not isinstance(value, str):
            raise LineError(f'"{key}" must be text, not {json.dumps(value)}')
        if key in FLAG_KEYS | REGION_FLAG_KEYS and not isinstance(value, bool):
            raise LineError(f'"{key}" must be true or false, not {json.dumps(value)}')
    params = {key: value for key, value in entry.items() if key not in ("images", "prompt") and value is not None}
    params.setdefault("region", studio.settings.region)
    regional = _region_fields(params, base_dir)
    limit = _most_images(params.get("model", catalog.DEFAULT_MODEL))
    sources = image_sources(entry.get("images"), studio, params["region"], base_dir, user_key, limit)
    return EditRequest.create(sources, entry.get("prompt") or "", **params, **regional)


def _region_fields(params: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Take a line's region-edit keys out of `params`, as EditRequest.create takes them: the mask a path
    relative to `base_dir` (a link is refused: masks are local files), the expansion an Expansion."""
    regional: dict[str, Any] = {key: params.pop(key) for key in ("mask", "align", "keep_unchanged") if key in params}
    mask = regional.get("mask")
    if mask is not None:
        if mask.lower().startswith(("http://", "https://")):
            raise LineError('"mask" must be a file path (relative to the batch file\'s folder), not a link')
        regional["mask"] = str(base_dir / Path(mask).expanduser())
    if "expand" in params:
        sides = params.pop("expand")
        if not isinstance(sides, dict) or not set(sides) <= set(SIDES):
            example = '{"left": 0, "top": 0, "right": 256, "bottom": 0}'
            raise LineError(f'"expand" must be an object of pixels per side, e.g. {example}, not {json.dumps(sides)}')
        regional["expand"] = Expansion.from_dict(sides)
    return regional


def _most_images(model_id: str) -> int:
    """The most images `model_id` takes (any model's most for a name the catalog does not know: the request
    then refuses the name itself)."""
    known = {model.id: model.max_images for model in catalog.MODELS}
    return known.get(model_id, max(known.values()))


def image_sources(
    images: Any, studio: Studio, region: str, base_dir: Path, user_key: str | None = None, limit: int | None = None
) -> list[ImageSource]:
    """Paths (relative to `base_dir`) as given; http(s) links fetched under the result-download host rules
    (DashScope's result storage, or the endpoint's own host), any other link refused. No images (the key
    missing, or an empty list) is an empty list: models that start from a prompt alone take it. More than
    `limit` images are returned unfetched, for the request to refuse."""
    images = listed_images(images)
    if limit is not None and len(images) > limit:  # the request refuses these: fetch nothing first
        return list(images)
    return [_image_source(item, slot, studio, region, base_dir, user_key) for slot, item in enumerate(images, 1)]


def listed_images(images: Any) -> list[str]:
    """The "images" value of a line or plan as a list: none (missing or empty), one path or link, or a list
    of them; LineError for anything else."""
    if images is None:
        return []
    if isinstance(images, str):
        return [images]
    if not isinstance(images, list) or not all(isinstance(item, str) for item in images):
        raise LineError('"images" must be a list of file paths or links')
    return images


def _image_source(
    item: str, slot: int, studio: Studio, region: str, base_dir: Path, user_key: str | None
) -> ImageSource:
    if not item.lower().startswith(("http://", "https://")):
        return str(base_dir / Path(item).expanduser())
    policy = DownloadPolicy(base_url=studio.endpoint(region, user_key).base_url)
    if not policy.allows(item):
        raise errors.ImageLinkRefusedError(slot=slot, host=urlsplit(item).hostname or item[:60])
    with tempfile.TemporaryDirectory(prefix="qwen-edit-link-") as scratch:
        (outcome,) = download_all([item], ContentStore(Path(scratch)), policy)
        if isinstance(outcome, SavedImage):
            return Path(outcome.path).read_bytes()
    expired = isinstance(outcome, errors.LinkExpiredError)
    raise errors.ImageUnreadableError(
        slot=slot,
        reason="the link has expired" if expired else "the link could not be downloaded",
        reason_zh="链接已过期" if expired else "链接无法下载",
    )


def describe(error: errors.EditError, images: Any, lang: str = "en", mask: str | None = None) -> str:
    """The error's message; for an image (or the mask), followed by the path or link it was given as."""
    message = error.message(lang)
    if mask is not None and isinstance(error, errors.MaskUnreadableError | errors.MaskSizeError):
        return f"{message} [{mask}]"
    slot = error.params.get("slot") if isinstance(error, errors.ImageError) else None
    if isinstance(images, str):
        images = [images]
    if isinstance(slot, int) and isinstance(images, list) and 0 < slot <= len(images):
        return f"{message} [{images[slot - 1]}]"
    return message


def plan_from_spec(spec: Mapping[str, Any], studio: Studio, base_dir: Path, user_key: str | None = None) -> Plan:
    """A Plan from a plan file's object (see PLAN_KEYS); image paths are relative to `base_dir`. The plan is
    checked before any image is read or fetched."""
    unknown = sorted(set(spec) - set(PLAN_KEYS))
    if unknown:
        raise LineError(f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(PLAN_KEYS)}")
    region = spec.get("region") or studio.settings.region
    prompts = spec.get("prompts")
    if not isinstance(prompts, (str, list)):
        raise LineError('"prompts" must be text (a variant per line) or a list of texts')
    for key in ("negative_prompt", "region", "rows", "columns"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise LineError(f'"{key}" must be text')
    for key in ("rows", "columns"):
        if spec.get(key) is not None and spec[key] not in AXES:
            raise LineError(f'"{key}" must be one of {", ".join(AXES)}')
    for key in FLAG_KEYS:
        if spec.get(key) is not None and not isinstance(spec[key], bool):
            raise LineError(f'"{key}" must be true or false')
    form = PlanForm(
        prompts=prompts,
        seeds=spec.get("seeds", ()),
        random_seeds=spec.get("random_seeds", 0),
        models=spec.get("models", ()),
        sizes=spec.get("sizes", ()),
        negative_prompt=spec.get("negative_prompt") or "",
        n=spec.get("n", 1),
        region=region,
        prompt_extend=spec.get("prompt_extend"),
        watermark=spec.get("watermark") or False,
    )
    draft = form.draft(studio.settings.explore_max_cells)
    images = listed_images(spec.get("images"))
    draft.check_image_count(range(1, len(images) + 1))  # every cell's model takes them: before fetching any
    return Plan.from_draft(image_sources(images, studio, region, base_dir, user_key), draft)
