"""The Studio's draft of each owner: the images in its slots, its prompts and settings, the results it shows and
when its last run started, kept in the history database so that a reload, a restart or a crash loses none of it.

A draft's images are in the content store like every input, and the draft refers to them (`History.references`
asks the drafts too), so the store keeps them while the draft does; an image replaced in the draft is released.
Nothing here takes an owner from a client or trusts a path: the shell passes the owner it verified, a file
already in the store joins a draft only when that owner refers to it already, and anything else must be an image
outside the data dir.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from core.history import EditRow, History
from core.history.database import Connection
from core.store import ContentStore, Hold

IN_FLIGHT = ("calling", "waiting", "downloading")
"""History statuses of an edit that has not landed yet."""
_SHOWABLE = (*IN_FLIGHT, "done")
SETTINGS_MAX_CHARS = 64 * 1024  # the settings of a draft, as JSON: the prompts and a dozen values
SHOWN_MAX = 100  # edits whose results a draft shows
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tiff"}
_OBJECT_NAME = re.compile(r"^([0-9a-f]{64})\.([a-z0-9]{1,5})$")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class DraftImage:
    """An image in a slot of a draft (Image `slot`), stored in the content store; `source` is the path it was
    saved from, so the same file is not hashed again."""

    slot: int
    sha256: str
    ext: str
    bytes: int
    source: str


@dataclass(frozen=True)
class Draft:
    """One owner's Studio setup as last saved (empty for an owner who has none)."""

    owner: str
    settings: dict[str, Any] = field(default_factory=dict)
    shown: tuple[str, ...] = ()  # ids of the edits whose results the Studio shows, in its order
    images: tuple[DraftImage, ...] = ()
    running_since: float | None = None  # when the Studio last started a run

    def image(self, slot: int) -> DraftImage | None:
        """The image in Image `slot`, if any."""
        return next((image for image in self.images if image.slot == slot), None)

    def refers(self, sha256: str) -> bool:
        """True when one of the draft's images is the file with this digest."""
        return any(image.sha256 == sha256 for image in self.images)


class Drafts:
    """Every owner's draft, in the history database; its images in `store`. Files under `private` (the data
    dir: the database, the owner secret) never join a draft, but for the store's own images."""

    def __init__(self, history: History, store: ContentStore, private: Path) -> None:
        self._history = history
        self._store = store
        self._private = Path(private).resolve()

    def get(self, owner: str) -> Draft:
        """The owner's draft (an empty one when they have none)."""
        with self._history.reading() as db:
            row = db.execute("SELECT * FROM drafts WHERE owner = ?", (owner,)).fetchone()
            if row is None:
                return Draft(owner)
            images = tuple(
                DraftImage(r["slot"], r["sha256"], r["ext"], r["bytes"], r["source"])
                for r in db.execute("SELECT * FROM draft_images WHERE owner = ? ORDER BY slot", (owner,))
            )
        return Draft(owner, json.loads(row["settings"]), tuple(json.loads(row["shown"])), images, row["running_since"])

    def path(self, image: DraftImage) -> Path | None:
        """Where a draft's image is in the store, or None when it is gone."""
        path = self._store.path_for(image.sha256, image.ext)
        return path if path.is_file() else None

    def save_settings(self, owner: str, settings: Mapping[str, Any]) -> bool:
        """Keep the draft's prompts and settings (JSON values); False, keeping nothing, when they are larger than
        any the page makes."""
        text = json.dumps(dict(settings), ensure_ascii=False)
        if len(text) > SETTINGS_MAX_CHARS:
            return False
        with self._history.transaction() as db:
            _ensure(db, owner)
            db.execute("UPDATE drafts SET settings = ? WHERE owner = ?", (text, owner))
        return True

    def save_shown(self, owner: str, edit_ids: Sequence[str]) -> tuple[str, ...]:
        """Keep which edits' results the Studio shows, in order; ids that are not edits of `owner` are dropped.
        Returns the ids kept."""
        wanted = list(dict.fromkeys(i for i in edit_ids if isinstance(i, str) and i))[:SHOWN_MAX]
        with self._history.transaction() as db:
            found: set[str] = set()
            if wanted:  # "IN ()" is SQLite's only
                marks = ",".join("?" * len(wanted))
                sql = f"SELECT id FROM edits WHERE owner = ? AND id IN ({marks})"
                found = {row[0] for row in db.execute(sql, (owner, *wanted))}
            kept = tuple(i for i in wanted if i in found)
            _ensure(db, owner)
            db.execute("UPDATE drafts SET shown = ? WHERE owner = ?", (json.dumps(kept), owner))
        if not self.unshown(owner):  # the last run is shown whole: nothing left for a reload to find
            with self._history.transaction() as db:
                db.execute("UPDATE drafts SET running_since = NULL WHERE owner = ?", (owner,))
        return kept

    def mark_running(self, owner: str) -> None:
        """The Studio starts a run now: edits of `owner` from now on are its run's until the draft shows them."""
        with self._history.transaction() as db:
            _ensure(db, owner)
            db.execute("UPDATE drafts SET running_since = ? WHERE owner = ?", (time.time(), owner))

    def unshown(self, owner: str) -> list[EditRow]:
        """The owner's edits, newest first, started since the Studio's last run started, that have not failed or
        been cancelled and whose results the draft does not show (yet): the run a reload cut off."""
        draft = self.get(owner)
        if draft.running_since is None:
            return []
        return [
            e
            for e in self._history.list(owner, limit=20)
            if e.created >= draft.running_since and e.status in _SHOWABLE and e.id not in draft.shown
        ]

    def save_images(self, owner: str, paths: Sequence[str | None]) -> Draft:
        """Keep the files in Image 1 onwards (None: an empty slot) as the draft's images; return the draft.

        A file already in the store is kept only when the owner refers to it (in this draft or an edit of theirs);
        another file only when it is an image outside the private folder. Anything else leaves its slot empty.
        Images the draft no longer has are released (removed unless something else needs them)."""
        before = self.get(owner)
        with self._store.hold() as hold:
            kept = [
                image
                for slot, path in enumerate(paths, start=1)
                if path and (image := self._image(owner, before, slot, Path(path), hold)) is not None
            ]
            with self._history.transaction() as db:
                _ensure(db, owner)
                db.execute("DELETE FROM draft_images WHERE owner = ?", (owner,))
                db.executemany(
                    "INSERT INTO draft_images VALUES (?, ?, ?, ?, ?, ?)",
                    [(owner, i.slot, i.sha256, i.ext, i.bytes, i.source) for i in kept],
                )
        for sha256, ext in {(i.sha256, i.ext) for i in before.images} - {(i.sha256, i.ext) for i in kept}:
            self._store.remove(sha256, ext)
        return self.get(owner)

    def _image(self, owner: str, before: Draft, slot: int, path: Path, hold: Hold) -> DraftImage | None:
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        stored = self._stored(resolved)
        if stored is not None:
            sha256, ext = stored
            if not (before.refers(sha256) or self._history.owns_file(owner, sha256)):
                return None
            return DraftImage(slot, sha256, ext, resolved.stat().st_size, str(path))
        if resolved.is_relative_to(self._private) or not resolved.is_file():
            return None
        known = next((i for i in before.images if i.source == str(path)), None)
        if known is not None and self.path(known) is not None:  # saved before: not hashed again
            return replace(known, slot=slot)
        ext = _image_ext(resolved)
        if ext is None:
            return None
        with self._store.writer(ext, hold=hold) as stream, resolved.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                stream.write(chunk)
        assert stream.stored is not None
        return DraftImage(slot, stream.stored.sha256, ext, stream.stored.size, str(path))

    def _stored(self, resolved: Path) -> tuple[str, str] | None:
        """(sha256, ext) when `resolved` is an object of the store."""
        match = _OBJECT_NAME.match(resolved.name)
        if match is None or resolved != self._store.path_for(match[1], match[2]).resolve():
            return None
        return match[1], match[2]


def _ensure(db: Connection, owner: str) -> None:
    """The owner's drafts row exists, its time of change is now."""
    db.execute(
        """INSERT INTO drafts (owner, updated) VALUES (?, ?)
           ON CONFLICT (owner) DO UPDATE SET updated = excluded.updated""",
        (owner, time.time()),
    )


def _image_ext(path: Path) -> str | None:
    """The extension of an image file, by what Pillow reads of its header; None for anything else."""
    try:
        with Image.open(path) as image:
            kind = image.format or ""
    except Exception:  # whatever Pillow raises, the file is not an image to keep
        return None
    return _EXTENSIONS.get(kind)
