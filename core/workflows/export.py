"""Exports: edits from history, or a whole exploration, as one zip with every parameter beside the PNGs."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core import errors, names
from core.history import EditRow
from core.store import ContentStore
from core.workflows.contact_sheet import contact_sheet
from core.workflows.explore import CellOutcome
from core.workflows.plan import Cell, Plan


def archive_name(kind: str, when: float | None = None) -> str:
    """A zip's file name: the kind of export and the local time, e.g. "qwen-edits-20261201-101500.zip"."""
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}.zip"


def export_zip(edits: Sequence[EditRow], store: ContentStore, destination: Path) -> Path:
    """Write `destination` holding, per edit, a folder named for its date and prompt (`folder_name`) with
    `result-<k>.png` (and `result-<k>-exact-<W>x<H>.png` where an exact input size was asked for; for a region
    edit the composite, with the model's own output as `result-<k>-raw.png` and the mask as `mask.png`) and
    `input-<slot>.<ext>`, and one `edits.json` with every edit's parameters, folder and file names. Every name is
    valid on Windows too. Missing files are listed, not fatal."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs don't compress
        manifest = [_add_edit(archive, store, edit, folder_name(edit, taken)) for edit in edits]
        archive.writestr("edits.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return destination


def export_chain(steps: Sequence[tuple[EditRow, int]], store: ContentStore, destination: Path) -> Path:
    """Write `destination` holding a version's whole chain: per step (edit, the index of the result the next step
    was made from, the last the version itself), oldest first, a folder `step-<k>_<folder_name>` with that
    result and the step's inputs as `export_zip` writes them, `edits.json` with every step's parameters, and
    `chain.json`: the steps in order, each with its result's file and the file it was made from."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    chain = []
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:
        manifest = []
        for step, (edit, index) in enumerate(steps, start=1):
            chosen = replace(edit, outputs=tuple(o for o in edit.outputs if o.index == index))
            entry = _add_edit(archive, store, chosen, f"step-{step}_{folder_name(edit, taken)}")
            manifest.append(entry)
            chain.append(
                {
                    "step": step,
                    "edit_id": edit.id,
                    "prompt": edit.prompt,
                    "result": index,
                    "file": f"{entry['folder']}/result-{index}.png",
                    "made_from": chain[-1]["file"] if chain else _first_input(entry),
                }
            )
        archive.writestr("edits.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        archive.writestr("chain.json", json.dumps(chain, ensure_ascii=False, indent=2))
    return destination


def _first_input(entry: dict[str, Any]) -> str | None:
    """The name of an exported edit's Image 1 (the upload a chain starts from), if it was written."""
    return next((name for name in entry["inputs"] if name.rsplit("/", 1)[-1].startswith("input-1.")), None)


def _add_edit(archive: zipfile.ZipFile, store: ContentStore, edit: EditRow, folder: str) -> dict[str, Any]:
    """Write one edit's files under `folder`; return its manifest entry."""
    entry: dict[str, Any] = {**edit.parameters(), "folder": folder, "results": [], "inputs": [], "missing": []}
    if edit.plan is not None:  # a region edit: its plan, and its mask beside the inputs
        entry["region_edit"] = {key: value for key, value in edit.plan.items() if key != "files"}
        for role, file in edit.plan.get("files", {}).items():
            _add(archive, store, file["sha256"], file["ext"], f"{folder}/{role}.{file['ext']}", entry, "inputs")
    for output in edit.outputs:
        if output.composite_sha256:  # the composite is the result; the model's own output beside it
            name = f"{folder}/result-{output.index}.png"
            _add(archive, store, output.composite_sha256, "png", name, entry, "results")
            entry.setdefault("composites", {})[name] = output.composite
            name = f"{folder}/result-{output.index}-raw.png"
        else:
            name = f"{folder}/result-{output.index}.png"
        _add(archive, store, output.sha256, "png", name, entry, "results")
        if output.exact_sha256:  # the resample to the input's exact size, beside the original
            exact = (edit.exact_size or "").replace("*", "x")
            name = f"{folder}/result-{output.index}-exact-{exact}.png"
            _add(archive, store, output.exact_sha256, "png", name, entry, "results")
    for image in edit.inputs:
        name = f"{folder}/input-{image.slot}.{image.ext}"
        _add(archive, store, image.sha256, image.ext, name, entry, "inputs")
    return entry


def folder_name(edit: EditRow, taken: set[str]) -> str:
    """The edit's folder in a zip: "2026-12-02_1405_make-it-a-watercolour_3f2a" (date, prompt start, the start
    of its id), the id's start lengthened until no name in `taken` is the same; the name is added to `taken`."""
    for length in range(4, len(edit.id) + 1):  # the whole id at the latest (an edit listed twice)
        name = names.edit_name(edit.created, edit.prompt, edit.id[:length])
        if name not in taken:
            break
    taken.add(name)
    return name


def _add(
    archive: zipfile.ZipFile, store: ContentStore, sha256: str | None, ext: str, name: str, entry: dict, key: str
) -> None:
    path = store.path_for(sha256, ext) if sha256 else None
    if path is not None and path.is_file():
        archive.write(path, name)
        entry[key].append(name)
    else:
        entry["missing"].append(name)


_RECORD_FIELDS = (
    "cell",
    "state",
    "prompt_variant",
    "prompt",
    "seed",
    "seed_was_random",
    "model",
    "size",
    "n",
    "negative_prompt",
    "region",
    "prompt_extend",
    "watermark",
    "edit_id",
    "request_id",
    "width",
    "height",
    "seconds",
    "files",
    "error",
)


def cell_records(plan: Plan, outcomes: Sequence[CellOutcome], lang: str = "en") -> list[dict[str, Any]]:
    """One JSON-ready row per cell, in plan order, with every parameter; cells without an outcome are
    "not run". `files` are the result names inside the export zip."""
    by_index = {outcome.cell.index: outcome for outcome in outcomes}
    records = []
    for cell in plan.cells:
        outcome = by_index.get(cell.index)
        result = outcome.result if outcome else None
        params = cell.params.as_dict()
        records.append(
            {
                "cell": cell.index + 1,
                "state": outcome.state.value if outcome else "not run",
                "prompt_variant": cell.at("prompt") + 1,
                **{field: params[field] for field in _RECORD_FIELDS if field in params},
                "edit_id": result.edit_id if result else None,
                "request_id": result.request_id if result else None,
                "width": result.usage.width if result else None,
                "height": result.usage.height if result else None,
                "seconds": round(result.seconds, 3) if result else None,
                "files": [_result_name(plan, cell, image.index) for image in result.images] if result else [],
                "error": outcome.error.message(lang) if outcome and outcome.error else None,
            }
        )
    return records


def _result_name(plan: Plan, cell: Cell, index: int) -> str:
    width = len(str(plan.count))
    return f"images/cell-{cell.index + 1:0{width}d}-{index}.png"


def export_run(
    plan: Plan,
    outcomes: Sequence[CellOutcome],
    destination: Path,
    *,
    rows: str = "prompt",
    columns: str = "seed",
    thumb: int = 256,
) -> Path:
    """Write `destination` (a zip): `images/cell-<k>-<i>.png` for every result, `inputs/input-<slot>.<ext>`,
    `cells.csv` and `cells.json` (the plan's axes and every cell's parameters, state and files) and
    `contact-sheet.png` (the grid, rows x columns). Works on a partial or cancelled run too.

    A result no longer in the store raises ResultFileMissingError naming its cell, and leaves no zip behind."""
    _require_results(outcomes)
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write_run(plan, outcomes, destination, rows, columns, thumb)
    except FileNotFoundError:  # a result removed while the zip was being written
        destination.unlink(missing_ok=True)
        _require_results(outcomes)
        raise
    return destination


def _require_results(outcomes: Sequence[CellOutcome]) -> None:
    """Raise ResultFileMissingError for the first cell (in plan order) whose result file is gone."""
    for outcome in sorted(outcomes, key=lambda outcome: outcome.cell.index):
        images = outcome.result.images if outcome.result is not None else ()
        if not all(Path(image.path).is_file() for image in images):
            raise errors.ResultFileMissingError(cell=outcome.cell.index + 1)


def _write_run(
    plan: Plan, outcomes: Sequence[CellOutcome], destination: Path, rows: str, columns: str, thumb: int
) -> None:
    records = cell_records(plan, outcomes)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs don't compress
        for outcome in outcomes:
            for image in outcome.result.images if outcome.result is not None else ():
                archive.write(image.path, _result_name(plan, outcome.cell, image.index))
        for image in plan.cells[0].request.images:
            archive.writestr(f"inputs/input-{image.slot}.{image.mime.split('/')[-1]}", image.data)
        archive.writestr("cells.json", json.dumps({"plan": plan.as_dict(), "cells": records}, ensure_ascii=False))
        archive.writestr("cells.csv", _csv(records))
        sheet = io.BytesIO()
        contact_sheet(plan, outcomes, rows=rows, columns=columns, thumb=thumb).save(sheet, "PNG")
        archive.writestr("contact-sheet.png", sheet.getvalue())


def _csv(records: list[dict[str, Any]]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=_RECORD_FIELDS)
    writer.writeheader()
    for record in records:
        writer.writerow({**record, "files": " ".join(record["files"])})
    return text.getvalue()
