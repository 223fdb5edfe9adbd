"""Batches of edits: a JSONL file of requests (see `entries`), resumable through a small state file.

Each finished line writes its PNGs and JSON record to the output folder and is recorded as done, so running
the batch again sends only the lines still missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import errors
from core.caller import LOCAL, Caller
from core.studio import EditResult, Progress, Studio
from core.workflows.entries import LineError, describe, request_from_entry

log = logging.getLogger(__name__)

STATE_FILE = ".qwen-edit-batch.jsonl"
RAW_TAG = "raw"  # the last part of a raw model output's name, beside its composite: line-0001-1-raw.png


def save_result(result: EditResult, out: Path, stem: str, sep: str = "-") -> tuple[list[Path], list[Path], Path]:
    """Copy the result PNGs to `out/<stem><sep><k>.png` and write `out/<stem>.json`; return the PNGs, the raw
    outputs and the record. A region edit's PNGs are its composites (or aligned results), each with its raw
    model output beside it as `<stem><sep><k><sep>raw.png`."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    raws: list[Path] = []
    for image in result.images:
        target = out / f"{stem}{sep}{image.index}.png"
        shutil.copyfile(image.composite_path or image.path, target)
        files.append(target)
        if image.composite_path:
            raw = out / f"{stem}{sep}{image.index}{sep}{RAW_TAG}.png"
            shutil.copyfile(image.path, raw)
            raws.append(raw)
    record = out / f"{stem}.json"
    written = {"output_files": [str(path) for path in files]}
    if raws:
        written["raw_output_files"] = [str(path) for path in raws]
    _write_json(record, {**result.record(), **written})
    return files, raws, record


def _write_json(path: Path, value: Any) -> None:
    """Whole or not at all: a killed run never leaves half a record."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(partial, path)


@dataclass(frozen=True)
class LineOutcome:
    """How one line ended: done, partial (billed, some images not saved), failed, skipped, not run."""

    number: int
    status: str
    detail: str = ""
    images: int = 0
    seed: int | None = None
    seconds: float | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "partial")


class BatchState:
    """Lines sent and lines done, in a small JSONL file in the output folder. Appended and fsync'd one entry
    at a time, so a killed run loses at most the line it was writing; unreadable entries are ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._done: set[str] = set()
        self._sent: set[str] = set()
        if path.exists():
            for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(text)
                    (self._done if entry.get("edit_id") else self._sent).add(entry["key"])
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue

    @staticmethod
    def key(number: int, text: str) -> str:
        """A line is the same line while its number and its text are unchanged."""
        return f"{number}:{hashlib.sha256(text.strip().encode()).hexdigest()[:16]}"

    def is_done(self, number: int, text: str) -> bool:
        return self.key(number, text) in self._done

    def was_cut_short(self, number: int, text: str) -> bool:
        """Sent by an earlier run that stopped before it finished: that call may have been billed."""
        key = self.key(number, text)
        return key in self._sent and key not in self._done

    def mark_sent(self, number: int, text: str) -> None:
        self._append({"key": self.key(number, text), "line": number, "sent": time.time()})

    def mark_done(self, number: int, text: str, edit_id: str) -> None:
        self._append({"key": self.key(number, text), "line": number, "edit_id": edit_id, "done": time.time()})
        self._done.add(self.key(number, text))

    def _append(self, entry: dict[str, Any]) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


class Batch:
    """A JSONL file of edits run into an output folder. Reading the file may raise OSError or
    UnicodeDecodeError; after that, nothing a line holds stops the other lines."""

    def __init__(
        self,
        source: Path,
        out: Path,
        studio: Studio,
        *,
        caller: Caller = LOCAL,
        lang: str = "en",
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        text = source.read_text(encoding="utf-8")
        self.lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
        self.source = source
        self.out = out
        self._studio = studio
        self._caller = caller
        self._lang = lang
        self._on_progress = on_progress
        out.mkdir(parents=True, exist_ok=True)
        self.state = BatchState(out / STATE_FILE)

    def done_earlier(self) -> list[int]:
        """Numbers of the lines a previous run finished (and that have not changed since)."""
        return [number for number, text in self.lines if self.state.is_done(number, text)]

    def cut_short_earlier(self) -> list[int]:
        """Numbers of the lines a previous run sent but never finished: they run again."""
        return [number for number, text in self.lines if self.state.was_cut_short(number, text)]

    def run_line(self, number: int, text: str) -> LineOutcome:
        """Send one line and save its results as `line-NNNN-K.png` (and a region edit's raw outputs as
        `line-NNNN-K-raw.png`) and `line-NNNN.json`; never raises."""
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as error:
            return LineOutcome(number, "failed", f"not valid JSON ({error.msg}, column {error.colno})")
        if not isinstance(entry, dict):
            return LineOutcome(number, "failed", "not a JSON object")
        try:
            request = request_from_entry(entry, self._studio, self.source.parent, self._caller.key)
            self.state.mark_sent(number, text)
            result = self._studio.edit(request, self._caller, on_progress=self._on_progress)
        except LineError as error:
            return LineOutcome(number, "failed", str(error))
        except errors.EditError as error:
            return LineOutcome(number, "failed", describe(error, entry.get("images"), self._lang, entry.get("mask")))
        except Exception as error:  # one broken line must not stop the others
            log.exception("batch line %d failed unexpectedly", number)
            return LineOutcome(number, "failed", f"unexpected error: {error}")
        if not result.images:
            # Billed, and its links are still in history (pending where they may yet work): a rerun never sends
            # it again either.
            self.state.mark_done(number, text, result.edit_id)
            nothing = errors.NothingSavedError.listing(result.failures, request_id=result.request_id)
            return LineOutcome(number, "failed", nothing.message(self._lang), 0, request.params.seed, result.seconds)
        try:
            files, _raws, _record = save_result(result, self.out, f"line-{number:04d}")
        except OSError as error:
            return LineOutcome(number, "failed", f"could not write to {self.out} ({error}); the edit is in history")
        # Billed either way: a rerun never sends it again; results still to download stay in history.
        self.state.mark_done(number, text, result.edit_id)
        if result.failures:
            saved = f"{len(files)} of {len(files) + len(result.failures)} saved; "
            detail = saved + result.failures[0].message(self._lang)
            return LineOutcome(number, "partial", detail, len(files), request.params.seed, result.seconds)
        names = " ".join(path.name for path in files)
        return LineOutcome(number, "done", names, len(files), request.params.seed, result.seconds)
