"""Zips waiting to be downloaded: one per owner at a time, each in a folder of its own with an unguessable
name, gone when the owner makes the next one or when it is an hour old."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from pathlib import Path

MAX_AGE = 3600.0  # seconds a zip waits for its download


class ExportShelf:
    """A folder of export zips that stays small however often people click "download": an owner's new zip
    replaces their last one, and anything older than `max_age` is swept whenever a zip is placed."""

    def __init__(self, root: Path, max_age: float = MAX_AGE) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self._max_age = max_age
        self._latest: dict[str, Path] = {}
        self._lock = threading.Lock()

    def place(self, owner: str, name: str) -> Path:
        """A fresh path named `name` to write the owner's next zip to; their previous zip and every zip
        older than the shelf's age are removed first."""
        folder = self.root / secrets.token_hex(16)
        folder.mkdir()
        with self._lock:
            previous = self._latest.get(owner)
            self._latest[owner] = folder
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)  # a download already under way keeps its open file
        self._sweep(keep=folder)
        return folder / name

    def _sweep(self, keep: Path) -> None:
        cutoff = time.time() - self._max_age
        for folder in self.root.iterdir():
            if folder != keep and folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            self._latest = {owner: path for owner, path in self._latest.items() if path.exists()}
