"""History never loses a result: real SQLite files and a real PostgreSQL server (a test that asks for
`database_url` runs on both), real processes killed with SIGKILL, real downloads."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FAST_RETRY
from PIL import Image

from core import errors
from core.caller import Caller
from core.history import History, InputRow, NotFoundError
from core.history.migrations import MIGRATIONS, m001_initial
from core.parameters import EditParameters
from core.request import EditRequest
from core.settings import Settings
from core.sizes import Size
from core.studio import INTERRUPTED, Progress, Stage, Studio
from core.workflows.export import export_zip

ROOT = Path(__file__).resolve().parent.parent
N = 4


def _studio(data_dir: Path, sim, **settings) -> Studio:
    """A studio as a restarted app would be: same data dir, DashScope at the simulator's address."""
    return Studio(
        Settings(data_dir=data_dir, api_key="sk-crash-test", base_url_override=sim.base_url, **settings),
        retry=FAST_RETRY,
    )


def _run_driver(data_dir: Path, sim, *more: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "crash_driver.py"), str(data_dir), sim.base_url, str(N), *more],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_until(condition, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"driver ended before {what}: {process.stdout.read().decode(errors='replace')}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _query(data_dir: Path, sql: str) -> list[tuple]:
    path = data_dir / "history.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=5) as db:
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


def _pending_rows(data_dir: Path) -> int:
    return len(_query(data_dir, "SELECT 1 FROM outputs"))


def _partial_files(data_dir: Path) -> bool:
    """A result is half downloaded: its link is recorded and a partial file has bytes (an input being stored
    before the call also passes through a partial file; that is not mid-download)."""
    tmp = data_dir / "store" / "tmp"
    return _pending_rows(data_dir) > 0 and tmp.is_dir() and any(_size(p) > 0 for p in tmp.iterdir())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into place meanwhile
        return 0


def _all_saved(data_dir: Path) -> bool:
    return _query(data_dir, "SELECT status FROM edits") == [("done",)]


def _wait_for_resume(studio: Studio, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while studio.history.pending_outputs() and time.monotonic() < deadline:
        studio.resume_pending()
    assert not studio.history.pending_outputs()


def test_an_edit_waiting_for_its_turn_when_the_app_is_killed_is_told_apart_as_never_sent(sim, tmp_path):
    """Killed while its second edit on edit-max waits for the account's limit (2 a minute): after a restart
    that edit reads as cancelled, never sent and not billed, not as a call cut off mid-way."""
    process = _run_driver(tmp_path, sim, "qwen-image-edit-max", "2")
    try:
        _wait_until(lambda: ("waiting",) in _query(tmp_path, "SELECT status FROM edits"), process, "the wait")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)

    studio = _studio(tmp_path, sim)
    try:
        waited, done = studio.history.list("crash")  # newest first
        assert (waited.status, done.status) == ("cancelled", "done")
        assert "never sent and nothing was billed" in waited.error
        assert sim.stats.generation_calls == 1
    finally:
        studio.close()


@pytest.mark.parametrize(
    ("stage", "bandwidth", "reached"),
    [
        ("after the call, before any download", 20_000, _pending_rows),
        ("mid-download", 200_000, _partial_files),
        ("after saving, before the page updates", None, _all_saved),
    ],
)
def test_killing_the_app_at_any_stage_after_the_call_loses_no_result(sim, tmp_path, stage, bandwidth, reached):
    sim.configure(bandwidth=bandwidth)
    process = _run_driver(tmp_path, sim)
    try:
        _wait_until(lambda: reached(tmp_path), process, stage)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    sim.configure(bandwidth=None)

    studio = _studio(tmp_path, sim)
    try:
        _wait_for_resume(studio)
        (edit,) = studio.history.list("crash")
        assert edit.status == "done" and [o.state for o in edit.outputs] == ["saved"] * N
        for output in edit.outputs:
            with Image.open(studio.store.path_for(output.sha256, "png")) as png:
                png.verify()
    finally:
        studio.close()
    assert not list((tmp_path / "store" / "tmp").iterdir())  # the killed run's partial file is gone too


def test_killing_the_app_while_waiting_for_the_model_records_the_edit_as_interrupted(sim, tmp_path):
    sim.configure(latency=30)
    process = _run_driver(tmp_path, sim)
    try:
        _wait_until(lambda: sim.stats.in_flight > 0, process, "the call")
        neighbour = _studio(tmp_path, sim)  # another process on the same data dir, started meanwhile
        try:
            assert neighbour.history.list("crash")[0].status == "calling"  # a live process's edit is left alone
        finally:
            neighbour.close()
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)

    studio = _studio(tmp_path, sim)
    try:
        (edit,) = studio.history.list("crash")
        assert edit.status == "failed" and edit.error == INTERRUPTED
        assert edit.inputs and studio.store.path_for(edit.inputs[0].sha256, edit.inputs[0].ext).is_file()
    finally:
        studio.close()


def test_a_download_that_keeps_failing_stays_pending_and_is_finished_later(sim, tmp_path, make_image):
    studio = _studio(tmp_path, sim)
    try:
        sim.inject("download_reset", times=FAST_RETRY.attempts)
        result = studio.edit(EditRequest.create([make_image()], "x", n=1, seed=1), Caller("me"))
        assert not result.images
        (edit,) = studio.history.list("me")
        assert edit.status == "downloading" and edit.outputs[0].state == "pending"

        assert studio.resume_pending() == 1
        assert studio.history.get("me", result.edit_id).status == "done"
    finally:
        studio.close()


def test_an_expired_pending_link_is_marked_failed_with_the_reason(sim, tmp_path, make_image):
    sim.configure(link_ttl=0.5)
    studio = _studio(tmp_path, sim)
    try:
        sim.inject("download_reset", times=FAST_RETRY.attempts)
        result = studio.edit(EditRequest.create([make_image()], "x", n=1, seed=1), Caller("me"))
        deadline = time.monotonic() + 5
        while time.time() < studio.history.get("me", result.edit_id).outputs[0].expires and time.monotonic() < deadline:
            time.sleep(0.05)
        studio.resume_pending()
        output = studio.history.get("me", result.edit_id).outputs[0]
        assert output.state == "failed" and "expired" in output.reason
    finally:
        studio.close()


def test_a_failed_call_is_in_history_with_its_reason(studio, sim, make_image, database_url):
    sim.inject("content_inspection")
    with pytest.raises(errors.ContentInspectionError):
        studio.edit(EditRequest.create([make_image()], "x", seed=1), Caller("me"))
    (edit,) = studio.history.list("me")
    assert edit.status == "failed" and "content check" in edit.error and edit.request_id


def test_one_owner_cannot_see_reopen_or_delete_another_owners_edits(studio, make_image, database_url):
    mine = studio.edit(EditRequest.create([make_image()], "mine", seed=1), Caller("alice"))
    studio.edit(EditRequest.create([make_image()], "theirs", seed=1), Caller("bob"))

    assert [e.prompt for e in studio.history.list("alice")] == ["mine"]
    with pytest.raises(NotFoundError):
        studio.history.get("bob", mine.edit_id)
    with pytest.raises(NotFoundError):
        studio.delete("bob", mine.edit_id)
    with pytest.raises(NotFoundError):
        studio.history.star("bob", mine.edit_id)
    assert studio.history.get("alice", mine.edit_id).status == "done"


def test_history_lists_newest_first_and_filters_by_prompt_and_model(studio, make_image, database_url):
    for prompt, model in [
        ("red hat", "qwen-image-edit-plus"),
        ("blue sky", "qwen-image-edit"),
        ("red car", "qwen-image-edit"),
    ]:
        studio.edit(EditRequest.create([make_image()], prompt, model=model, seed=1), Caller("me"))

    assert [e.prompt for e in studio.history.list("me")] == ["red car", "blue sky", "red hat"]
    assert [e.prompt for e in studio.history.list("me", search="red")] == ["red car", "red hat"]
    assert [e.prompt for e in studio.history.list("me", search="red", model="qwen-image-edit")] == ["red car"]
    assert studio.history.list("me", search="100%_") == []


def test_deleting_an_edit_removes_only_files_no_other_edit_uses(studio, make_image, database_url):
    shared_input = make_image(700, 500)
    first = studio.edit(EditRequest.create([shared_input], "a", seed=1), Caller("me"))
    second = studio.edit(EditRequest.create([shared_input], "b", seed=2), Caller("me"))
    studio.delete("me", first.edit_id)

    assert not Path(first.images[0].path).exists()
    assert Path(second.images[0].path).exists()
    kept_input = studio.history.get("me", second.edit_id).inputs[0]
    assert studio.store.path_for(kept_input.sha256, kept_input.ext).exists()


def test_over_the_owner_quota_the_least_recently_used_unstarred_edits_go_first(sim, tmp_path, make_image, database_url):
    studio = Studio(
        Settings(data_dir=tmp_path, simulate=True, database_url=database_url), simulator=sim, retry=FAST_RETRY
    )
    try:
        ids = [
            studio.edit(
                EditRequest.create([make_image(600, 600, (i * 40, 80, 90))], f"e{i}", seed=i), Caller("me")
            ).edit_id
            for i in range(3)
        ]
        studio.history.star("me", ids[0])
        studio.history.touch("me", ids[1])  # reopened: used more recently than ids[2]
        studio.settings = replace(studio.settings, owner_storage_mb=1)  # now over the cap
        big = studio.edit(
            EditRequest.create([make_image(1500, 1500)], "big", n=2, size="2048*2048", seed=9), Caller("me")
        )

        remaining = [e.id for e in studio.history.list("me")]
        assert big.edit_id in remaining and ids[0] in remaining  # the new one and the starred one stay
        assert ids[2] not in remaining  # least recently used goes first
        assert studio.history.usage_bytes("me") <= 1024 * 1024 or remaining == [big.edit_id, ids[0]]
    finally:
        studio.close()


def test_an_edit_is_never_evicted_while_it_runs(sim, tmp_path, make_image, database_url):
    # Every finished edit is over the cap.
    settings = Settings(data_dir=tmp_path, simulate=True, owner_storage_mb=0, database_url=database_url)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    evicted: list[str] = []

    def saved(progress: Progress) -> None:
        if progress.stage is Stage.SAVED:  # its result is recorded: another edit's quota check comes now
            evicted.extend(studio.enforce_quotas("me"))

    try:
        result = studio.edit(EditRequest.create([make_image()], "x", n=1, seed=1), Caller("me"), on_progress=saved)
        assert evicted == [] and Path(result.images[0].path).is_file()
        assert studio.enforce_quotas("me") == [result.edit_id]  # once it has returned, it may go
    finally:
        studio.close()


def test_eight_writers_and_a_reader_at_once(tmp_path, database_url):
    history = History(database_url or tmp_path / "h.sqlite3")
    params = EditParameters.from_dict(
        {
            "model": "qwen-image-edit-plus",
            "region": "singapore",
            "prompt": "p",
            "negative_prompt": "",
            "size": "auto",
            "n": 1,
            "seed": 1,
            "seed_was_random": False,
            "prompt_extend": True,
            "watermark": False,
        }
    )
    reads: list[int] = []
    stop = threading.Event()

    def write(owner: str) -> None:
        for _ in range(25):
            edit_id = history.start_edit(
                owner, params, [InputRow(1, "ab" * 32, "png", 500, 500, 10, ())], simulated=True, base_url="x"
            )
            history.record_answer(edit_id, "rid", ("http://x/1.png",), (1, 1, 1), time.time())
            history.mark_saved(edit_id, 1, "cd" * 32, 1, 1, 10)

    def read() -> None:
        while not stop.is_set():
            reads.append(sum(len(history.list(f"w{i}", limit=100)) for i in range(8)))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert all(len(history.list(f"w{i}", limit=100)) == 25 for i in range(8))
    assert reads == sorted(reads)  # a reader only ever sees history grow
    assert all(e.status == "done" for e in history.list("w0", limit=100))
    history.close()


def test_a_database_of_the_first_schema_is_migrated_keeping_its_edits(tmp_path):
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
        m001_initial(db)
        db.execute("INSERT INTO migrations VALUES ('m001_initial', 0)")
        db.execute(
            """INSERT INTO edits (id, owner, created, model, region, prompt, negative_prompt, size, n, seed,
               seed_was_random, prompt_extend, watermark, simulated, base_url, status)
               VALUES ('old', 'me', 1.0, 'qwen-image-edit', 'beijing', 'old edit', '', 'auto', 1, 3, 0, 0, 0, 0,
               'https://dashscope.aliyuncs.com/api/v1', 'done')"""
        )
    history = History(path)
    (edit,) = history.list("me")
    assert edit.prompt == "old edit" and edit.starred is False and edit.last_used == 1.0
    assert history.migrate() == len(MIGRATIONS)


def test_a_zip_of_edits_holds_the_pngs_and_every_parameter(studio, make_image, tmp_path, database_url):
    result = studio.edit(
        EditRequest.create(
            [make_image(), make_image(600, 800)], "swap", n=2, seed=8, size="1024*1024", exact_size=Size(600, 800)
        ),
        Caller("me"),
    )
    edit = studio.history.get("me", result.edit_id)
    archive = export_zip([edit], studio.store, tmp_path / "out.zip")

    folder = f"{time.strftime('%Y-%m-%d_%H%M', time.localtime(edit.created))}_swap_{result.edit_id[:4]}"
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("edits.json"))
        assert {f"{folder}/result-1.png", f"{folder}/result-2.png"} <= names
        assert {f"{folder}/input-1.png", f"{folder}/input-2.png"} <= names
        with z.open(f"{folder}/result-1.png") as png:
            assert Image.open(png).size == (1024, 1024)
        with z.open(f"{folder}/result-1-exact-600x800.png") as png:
            assert Image.open(png).size == (600, 800)
    (entry,) = manifest
    assert entry["seed"] == 8 and entry["prompt"] == "swap" and entry["size"] == "1024*1024" and entry["n"] == 2
    assert entry["request_id"] == result.request_id and not entry["missing"] and entry["folder"] == folder


def test_a_zip_gives_each_edit_its_own_folder_when_date_and_prompt_are_the_same(
    studio, make_image, tmp_path, database_url
):
    request = EditRequest.create([make_image()], "Make it a watercolour: soft, *wet* edges?", seed=3)
    edits = [studio.history.get("me", studio.edit(request, Caller("me")).edit_id) for _ in range(2)]
    first = edits[0].id
    other = first[:4] + ("1" if first[4] == "0" else "0") + edits[1].id[5:]  # the same first 4 hex, not 5
    twin = replace(edits[1], id=other, created=edits[0].created)
    archive = export_zip([edits[0], twin, edits[0]], studio.store, tmp_path / "out.zip")

    with zipfile.ZipFile(archive) as z:
        folders = [entry["folder"] for entry in json.loads(z.read("edits.json"))]
        names = z.namelist()
    stamp = time.strftime("%Y-%m-%d_%H%M", time.localtime(edits[0].created))
    assert folders[0] == f"{stamp}_make-it-a-watercolour-soft-wet_{edits[0].id[:4]}"
    assert folders[1] == f"{stamp}_make-it-a-watercolour-soft-wet_{twin.id[:5]}"
    assert len(set(folders)) == 3 and all(f"{folder}/result-1.png" in names for folder in folders)
    assert [name for name in names if set(name) & set('*:?"<>|\\')] == []


def test_rerunning_an_edit_repeats_inputs_parameters_and_seed_or_draws_a_new_seed(
    studio, sim, make_image, database_url
):
    first = studio.edit(
        EditRequest.create([make_image(), make_image(640, 640)], "swap Image 1 and Image 2", n=2, seed=77), Caller("me")
    )
    same = studio.edit(studio.rerun_request("me", first.edit_id), Caller("me"))
    fresh = studio.rerun_request("me", first.edit_id, new_seed=True)

    assert [i.sha256 for i in same.images] == [i.sha256 for i in first.images]  # the simulator is deterministic
    assert sim.stats.requests[-1]["parameters"] == sim.stats.requests[-2]["parameters"]
    assert fresh.params.seed_was_random and fresh.params.prompt == "swap Image 1 and Image 2"
    with pytest.raises(NotFoundError):
        studio.rerun_request("someone-else", first.edit_id)


def test_edits_finishing_together_over_the_quota_all_succeed(sim, tmp_path, make_image, database_url):
    settings = Settings(data_dir=tmp_path, simulate=True, owner_storage_mb=1, database_url=database_url)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    sim.configure(latency=0.5)  # all eight answers arrive together, so their quota checks overlap
    failures: list[Exception] = []

    def run(i: int) -> None:
        try:
            studio.edit(
                EditRequest.create([make_image(700, 700, (i * 20, 90, 90))], f"e{i}", n=2, seed=i), Caller("me")
            )
        except Exception as error:  # any failure here is the bug
            failures.append(error)

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert studio.history.list("me")  # the newest stay; older ones were evicted to fit the cap
    finally:
        studio.close()
