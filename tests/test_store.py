"""The content store under concurrent edits, deletes and evictions: real SQLite, real files, the real SDK
against the simulator."""

import sqlite3
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import FAST_RETRY, UNPACED

from core.caller import Caller
from core.request import EditRequest
from core.settings import Settings
from core.studio import Progress, Stage, Studio

LANES = 4  # owners racing side by side, each a share of the rounds


def _missing_files(studio: Studio, owner: str) -> list[str]:
    """Files that history calls saved for `owner` (inputs and saved outputs) but that are not on disk."""
    missing = []
    for edit in studio.history.list(owner, limit=10_000):
        paths = studio.input_paths(edit) + studio.output_paths(edit)
        missing += [f"{edit.id}: {path}" for path in paths if not Path(path).is_file()]
    return missing


def _race(studio: Studio, request: EditRequest, owner: str, rounds: int, remove: Callable[[str], None]) -> list[str]:
    """Rounds of: an edit identical to the previous one runs while `remove(previous edit id)` runs; the files
    history calls saved that are gone after each round."""
    caller = Caller(owner)
    lost: list[str] = []
    previous = studio.edit(request, caller).edit_id
    for number in range(rounds):
        remover = threading.Thread(target=remove, args=(previous,))

        def start_removing(progress: Progress, remover: threading.Thread = remover) -> None:
            if progress.stage is Stage.DOWNLOADING:  # the result's file is about to land and be recorded
                remover.start()

        if number % 2 == 0:  # races the inputs being stored and recorded
            remover.start()
            previous = studio.edit(request, caller).edit_id
        else:  # races the result being stored and recorded
            previous = studio.edit(request, caller, on_progress=start_removing).edit_id
        remover.join()
        lost += [f"{owner} round {number}: {gone}" for gone in _missing_files(studio, owner)]
    return lost


@pytest.mark.parametrize(("removal", "rounds"), [("delete", 500), ("eviction", 200)])
def test_removing_an_edit_while_an_identical_edit_is_saved_loses_nothing(sim, tmp_path, make_image, removal, rounds):
    # With no room at all per owner, a quota check evicts every finished edit of the owner.
    quota = {"owner_storage_mb": 0} if removal == "eviction" else {}
    settings = Settings(data_dir=tmp_path / "data", simulate=True, rate_limits=UNPACED, **quota)  # races, not waits
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)

    def lane(number: int) -> list[str]:
        owner = f"lane-{number}"
        # Identical inputs, parameters and seed: the simulator answers with identical bytes, so every edit of
        # the lane stores the very same files (as "re-run exactly" and the shared examples do).
        image = make_image(384, 384, (number * 60, 80, 40))
        request = EditRequest.create([image], "the same edit", n=1, seed=7, size="512*512")
        if removal == "delete":
            return _race(studio, request, owner, rounds // LANES, lambda edit_id: studio.delete(owner, edit_id))
        return _race(studio, request, owner, rounds // LANES, lambda _edit_id: studio.enforce_quotas(owner))

    try:
        with ThreadPoolExecutor(LANES) as pool:
            lost = [gone for lanes in pool.map(lane, range(LANES)) for gone in lanes]
        assert lost == []
        assert all(studio.history.list(f"lane-{number}") for number in range(LANES))  # the last edit stays
    finally:
        studio.close()


def _edit_with_thumbnails(studio: Studio, make_image, colour: tuple[int, int, int]) -> tuple[str, list[Path]]:
    """An edit of "me" and the thumbnails asked of its result and of its input, as History and Explore ask."""
    request = EditRequest.create([make_image(400, 400, colour)], "thumbnails", n=1, seed=3, size="512*512")
    result = studio.edit(request, Caller("me"))
    (image,) = studio.history.get("me", result.edit_id).inputs
    thumbs = [studio.store.thumbnail(result.images[0].sha256, "png"), studio.store.thumbnail(image.sha256, image.ext)]
    return result.edit_id, thumbs


def test_deleting_an_edit_removes_the_thumbnails_of_its_files(studio, make_image):
    edit_id, thumbs = _edit_with_thumbnails(studio, make_image, (10, 160, 90))
    assert all(thumb.is_file() for thumb in thumbs)

    studio.delete("me", edit_id)

    assert not any(thumb.exists() for thumb in thumbs)
    assert list(studio.store.thumbs.iterdir()) == []  # the result's thumbnail made in the background too


def test_evicting_an_edit_removes_the_thumbnails_of_its_files(sim, tmp_path, make_image):
    studio = Studio(Settings(data_dir=tmp_path / "data", simulate=True), simulator=sim, retry=FAST_RETRY)
    try:
        edit_id, thumbs = _edit_with_thumbnails(studio, make_image, (10, 60, 190))
        studio.settings = Settings(data_dir=tmp_path / "data", simulate=True, owner_storage_mb=0)  # now over it
        assert studio.enforce_quotas("me") == [edit_id]
        assert not any(thumb.exists() for thumb in thumbs)
    finally:
        studio.close()


def test_thumbnails_count_toward_their_owners_storage(studio, make_image):
    edit_id, thumbs = _edit_with_thumbnails(studio, make_image, (200, 200, 30))
    edit = studio.history.get("me", edit_id)
    files = sum(image.bytes for image in edit.inputs) + sum(output.bytes for output in edit.outputs)

    assert studio.history.usage_bytes("me") == files + sum(thumb.stat().st_size for thumb in thumbs)
    assert studio.history.usage_bytes() == studio.history.usage_bytes("me")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_history_and_the_store_are_readable_by_their_owner_only(sim, tmp_path, make_image):
    data_dir = tmp_path / "data"
    studio = Studio(Settings(data_dir=data_dir, simulate=True), simulator=sim, retry=FAST_RETRY)
    try:
        edit_id, thumbs = _edit_with_thumbnails(studio, make_image, (90, 30, 120))
        database = data_dir / "history.sqlite3"
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), *thumbs]
        files += [Path(path) for path in studio.output_paths(studio.history.get("me", edit_id))]
        assert {path.name: _mode(path) & 0o077 for path in files} == {path.name: 0 for path in files}
        assert _mode(data_dir / "store") == 0o700
    finally:
        studio.close()


def test_a_world_readable_history_from_an_older_version_is_made_private(sim, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database = data_dir / "history.sqlite3"
    with sqlite3.connect(database) as db:  # as an older version left it: the umask's 0644, WAL files beside it
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE t (x)")
    (data_dir / "store").mkdir(mode=0o755)
    database.chmod(0o644)

    Studio(Settings(data_dir=data_dir, simulate=True), simulator=sim).close()

    assert _mode(database) == 0o600 and _mode(data_dir / "store") == 0o700
