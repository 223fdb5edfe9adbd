"""Batches of edits: one JSON object per line, each an EditRequest, resumable through a small state file.

A line's keys are the page's fields (REQUEST_KEYS); images are paths, or links fetched only from hosts the
result downloads accept. Each finished line writes its PNGs and JSON record to the output folder and is
recorded as done, so running the batch again sends only the lines still missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core import catalog, errors
from core.downloads import DownloadPolicy, SavedImage, download_all
from core.images import ImageSource
from core.request import EditRequest
from core.store import ContentStore
from core.studio import LOCAL_OWNER, EditResult, Studio

log = logging.getLogger(__name__)

STATE_FILE = ".qwen-edit-batch.jsonl"
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
)
TEXT_KEYS = frozenset({"prompt", "negative_prompt", "model", "region", "size"})
FLAG_KEYS = frozenset({"prompt_extend", "watermark"})


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
        if key in FLAG_KEYS and not isinstance(value, bool):
            raise LineError(f'"{key}" must be true or false, not {json.dumps(value)}')
    params = {key: value for key, value in entry.items() if key not in ("images", "prompt") and value is not None}
    params.setdefault("region", studio.settings.region)
    sources = image_sources(entry.get("images"), studio, params["region"], base_dir, user_key)
    return EditRequest.create(sources, entry.get("prompt") or "", **params)


def image_sources(
    images: Any, studio: Studio, region: str, base_dir: Path, user_key: str | None = None
) -> list[ImageSource]:
    """Paths (relative to `base_dir`) as given; http(s) links fetched under the result-download host rules
    (DashScope's result storage, or the endpoint's own host), any other link refused."""
    if isinstance(images, str):
        images = [images]
    if not isinstance(images, list) or not all(isinstance(item, str) for item in images):
        raise LineError('"images" must be a list of 1 to 3 file paths or links')
    if len(images) > catalog.MAX_IMAGES:  # EditRequest refuses these; fetch nothing first
        return list(images)
    return [_image_source(item, slot, studio, region, base_dir, user_key) for slot, item in enumerate(images, 1)]


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


def describe(error: errors.EditError, images: Any, lang: str = "en") -> str:
    """The error's message; for an image, followed by the path or link it was given as."""
    message = error.message(lang)
    slot = error.params.get("slot") if isinstance(error, errors.ImageError) else None
    if isinstance(images, str):
        images = [images]
    if isinstance(slot, int) and isinstance(images, list) and 0 < slot <= len(images):
        return f"{message} [{images[slot - 1]}]"
    return message


def save_result(result: EditResult, out: Path, stem: str) -> tuple[list[Path], Path]:
    """Copy the result PNGs to `out/<stem>-<k>.png` and write `out/<stem>.json`; return both."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for image in result.images:
        target = out / f"{stem}-{image.index}.png"
        shutil.copyfile(image.path, target)
        files.append(target)
    record = out / f"{stem}.json"
    _write_json(record, {**result.record(), "output_files": [str(path) for path in files]})
    return files, record


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
        owner: str = LOCAL_OWNER,
        user_key: str | None = None,
        lang: str = "en",
    ) -> None:
        text = source.read_text(encoding="utf-8")
        self.lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
        self.source = source
        self.out = out
        self._studio = studio
        self._owner = owner
        self._user_key = user_key
        self._lang = lang
        out.mkdir(parents=True, exist_ok=True)
        self.state = BatchState(out / STATE_FILE)

    def done_earlier(self) -> list[int]:
        """Numbers of the lines a previous run finished (and that have not changed since)."""
        return [number for number, text in self.lines if self.state.is_done(number, text)]

    def cut_short_earlier(self) -> list[int]:
        """Numbers of the lines a previous run sent but never finished: they run again."""
        return [number for number, text in self.lines if self.state.was_cut_short(number, text)]

    def run_line(self, number: int, text: str) -> LineOutcome:
        """Send one line and save its results as `line-NNNN-K.png` and `line-NNNN.json`; never raises."""
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as error:
            return LineOutcome(number, "failed", f"not valid JSON ({error.msg}, column {error.colno})")
        if not isinstance(entry, dict):
            return LineOutcome(number, "failed", "not a JSON object")
        try:
            request = request_from_entry(entry, self._studio, self.source.parent, self._user_key)
            self.state.mark_sent(number, text)
            result = self._studio.edit(request, owner=self._owner, user_key=self._user_key)
        except LineError as error:
            return LineOutcome(number, "failed", str(error))
        except errors.EditError as error:
            return LineOutcome(number, "failed", describe(error, entry.get("images"), self._lang))
        except Exception as error:  # one broken line must not stop the others
            log.exception("batch line %d failed unexpectedly", number)
            return LineOutcome(number, "failed", f"unexpected error: {error}")
        try:
            files, _record = save_result(result, self.out, f"line-{number:04d}")
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
