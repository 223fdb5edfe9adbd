"""Gallery entries: each result shown with what the page needs to explain, chain, compare and recall it, and
captions that tell results apart (model, seed, size, and the part of the prompt that differs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core import catalog
from core.history import EditRow
from core.images import read_dimensions
from core.studio import EditResult, Studio
from ui.forms import settings_of
from ui.strings import status

Entry = dict[str, Any]
PART_MAX = 40  # characters of the differing part of a prompt shown in a caption


def entry(
    path: str,
    edit_id: str,
    index: int,
    params: Mapping[str, Any],
    info: Mapping[str, Any],
    size: str = "",
    *,
    region: Mapping[str, Any] | None = None,
    raw: str | None = None,
    original: str | None = None,
) -> Entry:
    """One result: its file, edit, recallable settings, details and (when known) its size as W×H. A region
    edit's result (`path` its composite) also has its `region` tool, its `raw` model output, Image 1 as given
    (`original`, for a mask or an alignment: an expansion's canvas is another size) and, for a mask, the `box`
    of Image 1 the raw output was pasted into."""
    kind = (region or {}).get("kind")
    box = (region or {}).get("box") if kind == "mask" else None
    return {
        "path": path,
        "index": index,
        "size": size,
        "edit_id": edit_id,
        "settings": settings_of(params, region),
        "details": dict(info),
        "raw": raw if region and raw and raw != path else None,
        "original": original if kind in ("mask", "align") else None,
        "box": list(box) if box else None,
    }


def items(entries: Sequence[Entry], lang: str = "en") -> list[tuple[str, str]]:
    """The (file, caption) pairs a gr.Gallery shows."""
    parts = varying_parts([e["settings"]["prompt"] for e in entries])
    return [(e["path"], caption(e, part, lang)) for e, part in zip(entries, parts, strict=True)]


def caption(item: Entry, part: str, lang: str) -> str:
    """What tells this result from the others shown: the model's label, the seed, the size and `part`."""
    settings = item["settings"]
    model = settings["model"]
    label = catalog.get_model(model).text(lang)[0] if model in catalog.model_ids() else model
    bits = [label, status("caption_seed", lang, seed=settings["seed"])]
    if item.get("size"):
        bits.append(item["size"])
    if part:
        bits.append(f"“{part}”")
    return " · ".join(bits)


def varying_parts(prompts: Sequence[str]) -> list[str]:
    """For each prompt, the words in which it differs from the others (their common start and end cut,
    at word boundaries, then shortened to PART_MAX characters); nothing where all prompts are the same."""
    if len(set(prompts)) < 2:
        return [""] * len(prompts)
    words = [prompt.split() for prompt in prompts]
    start = _common_start(words)
    end = _common_start([list(reversed(w[start:])) for w in words])
    parts = [" ".join(w[start : len(w) - end]) for w in words]
    return [part if len(part) <= PART_MAX else part[: PART_MAX - 1].rstrip() + "…" for part in parts]


def _common_start(lists: Sequence[Sequence[str]]) -> int:
    """How many leading items all of `lists` share."""
    count = 0
    for column in zip(*lists, strict=False):
        if len(set(column)) > 1:
            break
        count += 1
    return count


def shown_size(path: str) -> str:
    """The shown file's W×H, read from its header."""
    dims = read_dimensions(path)
    return f"{dims[0]}×{dims[1]}" if dims else ""


def result_entries(result: EditResult) -> list[Entry]:
    """Entries for a finished edit: the exact-size version where one was made."""
    params = result.request.params.as_dict()
    whole = result.record()
    record = {key: value for key, value in whole.items() if key != "files"}
    raws = whole.get("raw_files") or [None] * len(result.images)
    entries = []
    for image, raw in zip(result.images, raws, strict=True):
        info = {  # the edit's whole record (its inputs too), with this result's own file and size
            **record,
            "file": Path(image.path).name,
            "exact_size_file": Path(image.exact_path).name if image.exact_path else None,
            "width": image.width,
            "height": image.height,
            "prompt_as_sent": result.request.params.prompt,
        }
        path = image.shown_path
        region = whole.get("region_edit")
        original = whole.get("original_file")
        size = shown_size(path)
        entries.append(
            entry(path, result.edit_id, image.index, params, info, size, region=region, raw=raw, original=original)
        )
    return entries


def history_entries(studio: Studio, edit: EditRow) -> list[Entry]:
    """Entries for an edit reopened from history; evicted or deleted files are skipped, not shown broken, and so
    are discarded results."""
    params = edit.parameters()
    paths = studio.output_paths(edit)
    saved = [o for o in edit.outputs if o.state == "saved"]
    original = studio.input_paths(edit)[0] if edit.plan and edit.inputs else None
    return [
        entry(
            path,
            edit.id,
            output.index,
            params,
            {**params, "file": Path(path).name, "region_edit": edit.plan, "composite": output.composite},
            shown_size(path),
            region=edit.plan,
            raw=str(studio.store.path_for(output.sha256, "png")) if edit.plan and output.sha256 else None,
            original=original,
        )
        for path, output in zip(paths, saved, strict=True)
        if Path(path).is_file() and not output.discarded
    ]
