"""A content-addressed file store: each file is named by its SHA-256 and appears only when complete."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from core.processes import pid_alive


@dataclass(frozen=True)
class StoredFile:
    """A complete, fsync'd file in the store."""

    sha256: str
    path: Path
    size: int


class StreamWriter:
    """Receives a file's bytes in pieces, hashing as it goes."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self.size = 0
        self.stored: StoredFile | None = None  # set once the file is complete and in place

    def write(self, chunk: bytes) -> None:
        """Append `chunk`."""
        self._handle.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        """Hex digest of everything written so far."""
        return self._hash.hexdigest()


class ContentStore:
    """Files under `root/objects/ab/<sha256>.<ext>`; temp files under `root/tmp` on the same disk.

    Names are unguessable hashes, and the folder holds nothing else, so it may be served as static files.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.thumbs = self.root / "thumbs"
        self._tmp = self.root / "tmp"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.thumbs.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._remove_orphans()

    def _remove_orphans(self) -> None:
        """Delete partial files left by processes that died mid-write (their pid is in the name)."""
        for part in self._tmp.glob("*.part"):
            pid = part.name.split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                part.unlink(missing_ok=True)

    def path_for(self, sha256: str, ext: str) -> Path:
        """Where the file with this digest lives (whether or not it exists yet)."""
        return self.objects / sha256[:2] / f"{sha256}.{ext}"

    @contextmanager
    def writer(self, ext: str, verify: Callable[[Path], None] | None = None) -> Iterator[StreamWriter]:
        """Stream a file in; on a clean exit it is fsync'd, checked by `verify` (which raises to refuse
        it) and renamed into place; on any exception it is deleted.

        The caller reads the StoredFile from `writer.stored` after the block.
        """
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=f"{os.getpid()}-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                stream = StreamWriter(handle)
                yield stream
                handle.flush()
                os.fsync(handle.fileno())
            if verify:
                verify(tmp)
            final = self.path_for(stream.sha256, ext)
            final.parent.mkdir(exist_ok=True)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            stream.stored = StoredFile(stream.sha256, final, stream.size)
        finally:
            tmp.unlink(missing_ok=True)

    def thumbnail(self, sha256: str, ext: str, max_side: int = 320) -> Path:
        """A small JPEG of a stored image (made once, then reused), for lists of many images."""
        thumb = self.thumbs / f"{sha256}-{max_side}.jpg"
        if not thumb.exists():
            with Image.open(self.path_for(sha256, ext)) as image:
                image.draft("RGB", (max_side, max_side))  # JPEG inputs decode at reduced size
                small = image.convert("RGB")
                small.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=82)
            partial = thumb.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(buffer.getvalue())
            os.replace(partial, thumb)  # a thumbnail can always be made again: no fsync needed
        return thumb

    def put_bytes(self, data: bytes, ext: str) -> StoredFile:
        """Store `data` (a no-op rename when the same content is already there)."""
        with self.writer(ext) as stream:
            stream.write(data)
        assert stream.stored is not None
        return stream.stored


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the directory that holds the new name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
