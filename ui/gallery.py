"""Gallery entries: each result shown with what the page needs to explain, chain, compare and recall it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.history import EditRow
from core.studio import EditResult, Studio
from ui.forms import settings_of

Entry = dict[str, Any]


def entry(path: str, edit_id: str, index: int, params: Mapping[str, Any], info: Mapping[str, Any]) -> Entry:
    """One result: its file, caption, edit, recallable settings and details."""
    return {
        "path": path,
        "caption": f"#{index} · seed {params['seed']}",
        "edit_id": edit_id,
        "settings": settings_of(params),
        "details": dict(info),
    }


def items(entries: Sequence[Entry]) -> list[tuple[str, str]]:
    """The (file, caption) pairs a gr.Gallery shows."""
    return [(e["path"], e["caption"]) for e in entries]


def result_entries(result: EditResult) -> list[Entry]:
    """Entries for a finished edit: the exact-size version where one was made."""
    params = result.request.params.as_dict()
    entries = []
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
        entries.append(entry(image.exact_path or image.path, result.edit_id, image.index, params, info))
    return entries


def history_entries(studio: Studio, edit: EditRow) -> list[Entry]:
    """Entries for an edit reopened from history; evicted or deleted files are skipped, not shown broken."""
    params = edit.parameters()
    paths = studio.output_paths(edit)
    saved = [o for o in edit.outputs if o.state == "saved"]
    return [
        entry(path, edit.id, output.index, params, {**params, "file": Path(path).name})
        for path, output in zip(paths, saved, strict=True)
        if Path(path).is_file()
    ]
