"""A content-addressed file store: each file is named by its SHA-256 and appears only when complete.

Files are shared: identical bytes are one file, whoever stored them. So a file is removed only when nobody
needs it any more: no row of the store's registry (history) refers to it, and no hold is on it. A hold covers
a file from just before it appears until whoever stored it has recorded it (or given up), so deleting or
evicting an edit can never unlink a file that an identical edit has stored and not yet recorded.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from PIL import Image

from core.processes import process_tag, tag_alive


@dataclass(frozen=True)
class StoredFile:
    """A complete, fsync'd file in the store."""

    sha256: str
    path: Path
    size: int


class Registry(Protocol):
    """Whoever records which stored files are in use (the history database)."""

    def references(self, sha256: str) -> bool:
        """True while any recorded row refers to the file with this digest."""
        ...

    def record_thumbnail(self, sha256: str, side: int, size: int) -> None:
        """A thumbnail of `size` bytes now exists of that file, so storage quotas can count it."""
        ...

    def forget_thumbnails(self, sha256: str) -> None:
        """That file's thumbnails are gone."""
        ...


class _Unrecorded:
    """The registry of a store whose files nobody records (a scratch folder): every file counts as in use,
    so the store never removes one, and nothing counts thumbnails."""

    def references(self, sha256: str) -> bool:
        return True

    def record_thumbnail(self, sha256: str, side: int, size: int) -> None:
        return None

    def forget_thumbnails(self, sha256: str) -> None:
        return None


@dataclass
class Hold:
    """The files one task stores and has not recorded yet (see `ContentStore.hold`)."""

    token: str = field(default_factory=lambda: f"{process_tag()}.{uuid.uuid4().hex}")
    files: dict[str, str] = field(default_factory=dict)  # sha256 -> ext


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
    """Files under `root/objects/ab/<sha256>.<ext>`; temp files under `root/tmp` on the same disk; one marker
    per held file under `root/holds`.

    Names are unguessable hashes, and the objects and thumbs folders hold nothing else, so they may be served
    as static files (by this process: the store is readable by its user only).
    """

    def __init__(self, root: Path, registry: Registry | None = None) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.thumbs = self.root / "thumbs"
        self._tmp = self.root / "tmp"
        self._holds = self.root / "holds"
        self._lock_file = self.root / "lock"
        self._registry = registry or _Unrecorded()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.chmod(0o700)  # also a store made before it was private: other users may not look inside
        for folder in (self.objects, self.thumbs, self._tmp, self._holds):
            folder.mkdir(parents=True, exist_ok=True)
        self.remove_orphans()

    def remove_orphans(self) -> None:
        """Delete partial files and holds left by processes that died (their process tag is in the name; on a
        store that replicas on other machines share, theirs once they are old: see `tag_alive`)."""
        for part in self._tmp.glob("*.part"):
            if not tag_alive(part.name.split(".", 1)[0].rsplit("-", 1)[0], part):
                part.unlink(missing_ok=True)
        for marker in self._holds.iterdir():
            if not _marker_alive(marker):
                marker.unlink(missing_ok=True)

    def path_for(self, sha256: str, ext: str) -> Path:
        """Where the file with this digest lives (whether or not it exists yet)."""
        return self.objects / sha256[:2] / f"{sha256}.{ext}"

    @contextmanager
    def hold(self) -> Iterator[Hold]:
        """A hold for the files the block stores (pass it to `writer` or `put_bytes`): none of them is removed
        before the block ends, whoever asks. At the end, those no registry row refers to (stored but never
        recorded, or recorded and deleted meanwhile) are removed, unless another hold is on them."""
        hold = Hold()
        try:
            yield hold
        finally:
            self._release(hold)

    @contextmanager
    def writer(
        self, ext: str, verify: Callable[[Path], None] | None = None, hold: Hold | None = None
    ) -> Iterator[StreamWriter]:
        """Stream a file in; on a clean exit it is fsync'd, checked by `verify` (which raises to refuse
        it), put under `hold` and renamed into place; on any exception it is deleted.

        The caller reads the StoredFile from `writer.stored` after the block.
        """
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=f"{process_tag()}-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                stream = StreamWriter(handle)
                yield stream
                handle.flush()
                os.fsync(handle.fileno())
            if verify:
                verify(tmp)
            if hold is not None:
                self._take(hold, stream.sha256, ext)  # before the file appears: no removal can slip in between
            final = self.path_for(stream.sha256, ext)
            final.parent.mkdir(exist_ok=True)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            stream.stored = StoredFile(stream.sha256, final, stream.size)
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, data: bytes, ext: str, hold: Hold | None = None) -> StoredFile:
        """Store `data` (a no-op rename when the same content is already there), under `hold` if given."""
        with self.writer(ext, hold=hold) as stream:
            stream.write(data)
        assert stream.stored is not None
        return stream.stored

    def remove(self, sha256: str, ext: str) -> bool:
        """Remove a file and its thumbnails unless it is still needed (held, or referred to by the registry);
        True if removed."""
        with self._exclusive():
            return self._remove_unused(sha256, ext)

    def thumbnail(self, sha256: str, ext: str, max_side: int = 320) -> Path:
        """A small JPEG of a stored image, for lists of many images: made once (and its size recorded with the
        registry, so quotas count it), then reused until the image is removed, which removes it too.
        FileNotFoundError when the image is not, or no longer, stored."""
        thumb = self.thumbs / f"{sha256}-{max_side}.jpg"
        if thumb.exists():
            return thumb
        source = self.path_for(sha256, ext)
        with Image.open(source) as image:
            image.draft("RGB", (max_side, max_side))  # JPEG inputs decode at reduced size
            small = image.convert("RGB")
            small.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=82)
        fd, partial = tempfile.mkstemp(dir=self._tmp, prefix=f"{process_tag()}-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
            with self._exclusive():
                if not source.exists():  # removed since it was read: its thumbnail must not outlive it
                    raise FileNotFoundError(errno.ENOENT, "removed from the store", str(source))
                os.replace(partial, thumb)  # a thumbnail can always be made again: no fsync needed
                self._registry.record_thumbnail(sha256, max_side, buffer.tell())
        finally:
            Path(partial).unlink(missing_ok=True)
        return thumb

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Taking a hold, placing a thumbnail and removing a file happen one at a time, across the threads and
        the processes that share this store."""
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a descriptor of its own per use, so threads exclude each other too
            yield
        finally:
            os.close(fd)  # releases the lock

    def _take(self, hold: Hold, sha256: str, ext: str) -> None:
        with self._exclusive():
            os.close(os.open(self._marker(hold, sha256), os.O_WRONLY | os.O_CREAT, 0o600))
        hold.files[sha256] = ext

    def _release(self, hold: Hold) -> None:
        if not hold.files:
            return
        with self._exclusive():
            for sha256 in hold.files:
                self._marker(hold, sha256).unlink(missing_ok=True)
            for sha256, ext in hold.files.items():
                self._remove_unused(sha256, ext)

    def _remove_unused(self, sha256: str, ext: str) -> bool:
        """Under the lock. Holds are looked at before the registry: a holder records a file before it lets go
        of it, so a file that is held by no one now and referred to by no row after that is free, and no hold
        can start meanwhile (taking one needs the lock)."""
        if self._held(sha256) or self._registry.references(sha256):
            return False
        self.path_for(sha256, ext).unlink(missing_ok=True)
        for thumb in self.thumbs.glob(f"{sha256}-*.jpg"):
            thumb.unlink(missing_ok=True)
        self._registry.forget_thumbnails(sha256)
        return True

    def _held(self, sha256: str) -> bool:
        return any(_marker_alive(marker) for marker in self._holds.glob(f"{sha256}.*"))

    def _marker(self, hold: Hold, sha256: str) -> Path:
        return self._holds / f"{sha256}.{hold.token}"


def _marker_alive(marker: Path) -> bool:
    """A hold marker (`<sha256>.<process tag>.<token>`) whose process may still hold the file."""
    parts = marker.name.split(".")
    return len(parts) == 3 and tag_alive(parts[1], marker)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the directory that holds the new name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
