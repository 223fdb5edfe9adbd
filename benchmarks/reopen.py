"""Scenario (d): reopening an edit from history, and the first page of a long history.

The history is built through core's own API (History and ContentStore) with real small files, as edits
would leave it. What is timed is what the History tab asks of core: for the first page, the newest edits
with a thumbnail each and the owner's storage use; for reopening, the edit's record, its "last used" mark
(a durable write) and the paths of its inputs and results, each checked on disk.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.inputs import photo
from core.history import EditRow, History, InputRow
from core.parameters import EditParameters
from core.store import ContentStore

OWNER = "bench-visitor"
FIRST_PAGE = 24  # edits the History tab shows before "more"
RESULT_SIDE = 256
INPUT_SIDE = 128
BASE_URL = "https://dashscope-intl.aliyuncs.com/api/v1"


@dataclass
class Archive:
    """A data dir's history and store, filled with `edits` finished edits of OWNER."""

    history: History
    store: ContentStore
    edit_ids: list[str]


def build(data_dir: Path, edits: int, *, inputs_per_edit: int = 2, results_per_edit: int = 2) -> Archive:
    """`edits` finished edits, oldest first, each with its own small input and result PNGs."""
    store = ContentStore(data_dir / "store")
    history = History(data_dir / "history.sqlite3")
    edit_ids = []
    for number in range(edits):
        params = EditParameters.create(f"edit number {number}: make the sky orange", n=results_per_edit, seed=number)
        inputs = []
        for slot in range(1, inputs_per_edit + 1):
            stored = store.put_bytes(_png(INPUT_SIDE, seed=number * 10 + slot), "png")
            inputs.append(InputRow(slot, stored.sha256, "png", INPUT_SIDE, INPUT_SIDE, stored.size, ()))
        edit_id = history.start_edit(OWNER, params, inputs, simulated=False, base_url=BASE_URL)
        links = tuple(
            f"https://dashscope-result-sgp.oss-ap-southeast-1.aliyuncs.com/{edit_id}/{k}.png"
            for k in range(1, results_per_edit + 1)
        )
        history.record_answer(
            edit_id, f"req-{number}", links, (RESULT_SIDE, RESULT_SIDE, results_per_edit), time.time()
        )
        for index in range(1, results_per_edit + 1):
            stored = store.put_bytes(_png(RESULT_SIDE, seed=100_000 + number * 10 + index), "png")
            history.mark_saved(edit_id, index, stored.sha256, RESULT_SIDE, RESULT_SIDE, stored.size)
        edit_ids.append(edit_id)
    return Archive(history, store, edit_ids)


def first_page(archive: Archive) -> int:
    """The History tab's first page: newest edits, a thumbnail each, the owner's storage use; returns the count."""
    edits = archive.history.list(OWNER, limit=FIRST_PAGE)
    for edit in edits:
        _thumbnail(archive.store, edit)
    archive.history.usage_bytes(OWNER)
    return len(edits)


def reopen(archive: Archive, edit_id: str) -> list[Path]:
    """Reopen one edit: its record, its "last used" mark, and its files (checked on disk)."""
    edit = archive.history.get(OWNER, edit_id)
    archive.history.touch(OWNER, edit_id)
    paths = [archive.store.path_for(image.sha256, image.ext) for image in edit.inputs]
    paths += [
        archive.store.path_for(output.exact_sha256 or output.sha256, "png")
        for output in edit.outputs
        if output.state == "saved" and output.sha256
    ]
    for path in paths:
        path.stat()  # a missing file raises: reopening must find every file
    return paths


def forget_thumbnails(archive: Archive) -> None:
    """Delete every cached thumbnail, so the next first page makes them again."""
    for thumb in archive.store.thumbs.glob("*.jpg"):
        thumb.unlink()


def time_call(function: Callable[..., object], *args: object) -> float:
    """Seconds one call of function(*args) takes."""
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def pick(archive: Archive, count: int, seed: int = 7) -> list[str]:
    """`count` edits spread over the history (not only the newest)."""
    return random.Random(seed).sample(archive.edit_ids, min(count, len(archive.edit_ids)))


def _thumbnail(store: ContentStore, edit: EditRow) -> Path | None:
    saved = next((o for o in edit.outputs if o.state == "saved" and o.sha256), None)
    if saved:
        return store.thumbnail(saved.sha256, "png")
    if edit.inputs:
        return store.thumbnail(edit.inputs[0].sha256, edit.inputs[0].ext)
    return None


def _png(side: int, seed: int) -> bytes:
    buffer = io.BytesIO()
    photo(side, side, seed).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
