"""Download edits as a zip: the result PNGs (and inputs) plus a JSON of every parameter."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

from core.history import EditRow
from core.store import ContentStore


def export_zip(edits: Sequence[EditRow], store: ContentStore, destination: Path) -> Path:
    """Write `destination` holding, per edit, `<edit id>/result-<k>.png` (and `result-<k>-exact-<W*H>.png` where an
    exact input size was asked for), `<edit id>/input-<slot>.<ext>` and
    one `edits.json` with every edit's parameters and file names. Missing files are listed, not fatal."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    manifest = []
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs don't compress
        for edit in edits:
            entry = {**edit.parameters(), "results": [], "inputs": [], "missing": []}
            for output in edit.outputs:
                name = f"{edit.id}/result-{output.index}.png"
                _add(archive, store, output.sha256, "png", name, entry, "results")
                if output.exact_sha256:  # the resample to the input's exact size, beside the original
                    name = f"{edit.id}/result-{output.index}-exact-{edit.exact_size}.png"
                    _add(archive, store, output.exact_sha256, "png", name, entry, "results")
            for image in edit.inputs:
                name = f"{edit.id}/input-{image.slot}.{image.ext}"
                _add(archive, store, image.sha256, image.ext, name, entry, "inputs")
            manifest.append(entry)
        archive.writestr("edits.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return destination


def _add(
    archive: zipfile.ZipFile, store: ContentStore, sha256: str | None, ext: str, name: str, entry: dict, key: str
) -> None:
    path = store.path_for(sha256, ext) if sha256 else None
    if path is not None and path.is_file():
        archive.write(path, name)
        entry[key].append(name)
    else:
        entry["missing"].append(name)
