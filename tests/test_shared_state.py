"""What replicas of the app share through the history database, on both engines: two Studios on one database
stand for two replicas (on PostgreSQL, each with a data dir of its own). Hourly limits, pacing under the
account's rate limits and owner tokens hold across them; an edit one of them leaves is taken over by the
other once its lease runs out, and never while the lease lives."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator

import pytest
from conftest import FAST_RETRY
from test_pacing import FAST_LIMIT, MAX, Steps, edit_in_thread, edit_request

from core import errors
from core.caller import Caller
from core.history import History
from core.identity import OwnerTokens
from core.pacing import account_of
from core.processes import FOREIGN_STALE_SECONDS
from core.request import EditRequest
from core.settings import Settings
from core.simulator import Simulator
from core.store import ContentStore
from core.studio import INTERRUPTED, Stage, Studio

ELSEWHERE = "another-host:4026531836:4242"  # a runner on another machine: its pid says nothing here


@pytest.fixture
def replicas(sim: Simulator, tmp_path, database_url) -> Iterator[Callable[..., Studio]]:
    """Make Studios on the test's database (`replica(env, own_data_dir=False)`); all are closed at the end."""
    made: list[Studio] = []

    def replica(env: dict[str, str] | None = None, *, own_data_dir: bool = False) -> Studio:
        env = dict(env or {})
        if database_url:
            env["QWEN_EDIT_DATABASE_URL"] = database_url
        data_dir = tmp_path / (f"data{len(made)}" if own_data_dir and database_url else "data")
        studio = Studio(Settings.from_env(env, data_dir=data_dir, simulate=True), simulator=sim, retry=FAST_RETRY)
        made.append(studio)
        return studio

    yield replica
    for studio in made:
        studio.close()


@pytest.fixture
def hosted(sim: Simulator, tmp_path, database_url) -> Iterator[list[Studio]]:
    """Two replicas on the host's key (so the hourly limit applies), 2 edits an hour each visitor."""
    env = {"DASHSCOPE_API_KEY": "sk-host", "DASHSCOPE_HTTP_BASE_URL": sim.base_url, "QWEN_EDIT_RATE_LIMIT": "2"}
    if database_url:
        env["QWEN_EDIT_DATABASE_URL"] = database_url
    studios = [Studio(Settings.from_env(env, data_dir=tmp_path / "data"), retry=FAST_RETRY) for _ in range(2)]
    yield studios
    for studio in studios:
        studio.close()


def test_the_hourly_limit_holds_across_replicas_and_a_restart(hosted, sim, make_image, tmp_path, database_url):
    first, second = hosted
    visitor = Caller("visitor", address="10.0.0.1")
    request = EditRequest.create([make_image()], "x", seed=1)
    first.edit(request, visitor)
    assert second.allowance(visitor) == 1
    second.edit(request, visitor)
    with pytest.raises(errors.RateLimitedError):
        first.edit(request, visitor)
    with pytest.raises(errors.RateLimitedError):
        second.edit(request, Caller("new-browser", address="10.0.0.1"))  # the address's count is shared too
    first.close()
    restarted = Studio(first.settings, retry=FAST_RETRY)
    try:
        assert restarted.allowance(visitor) == 0
    finally:
        restarted.close()
    assert sim.stats.generation_calls == 2


def test_edits_sent_at_once_through_two_replicas_take_turns_under_the_accounts_limit(replicas, sim, make_image):
    sim.configure(enforce_rate_limits=True, rate_limits={MAX: FAST_LIMIT})
    env = {"QWEN_EDIT_RATE_LIMITS": f"{MAX}={FAST_LIMIT}"}
    first, second = replicas(env), replicas(env, own_data_dir=True)
    started = [
        edit_in_thread(studio, edit_request(make_image, seed=seed))
        for studio, seed in zip((first, second, first, second), range(1, 5), strict=True)
    ]
    results = [future.result(timeout=60) for _steps, future in started]

    sent = sorted(steps.at(Stage.CALLING)[0] for steps, _future in started)
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert all(len(result.images) == 1 for result in results)
    assert sim.stats.throttled == 0  # the simulator refuses any call less than a second after the last
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert sum(bool(steps.waits()) for steps, _future in started) >= 3  # only the first went at once


def test_a_429_seen_by_one_replica_holds_the_other_back(replicas, sim, make_image):
    sim.configure(enforce_rate_limits=True, rate_limits={MAX: FAST_LIMIT})
    env = {"QWEN_EDIT_RATE_LIMITS": f"{MAX}={FAST_LIMIT}"}
    first, second = replicas(env), replicas(env, own_data_dir=True)
    request = edit_request(make_image)
    account = account_of(first.endpoint(request.params.region).api_key)
    first.pacer.line(account, request.model.rate_group, first.settings.rate_limit(request.model)).push_back(3.0)
    steps = Steps()
    began = time.monotonic()
    second.edit(request, on_progress=steps)
    assert steps.at(Stage.CALLING)[0] - began >= 2.5
    assert steps.waits()


def test_a_token_issued_by_one_replica_is_accepted_by_another_with_its_own_data_dir(replicas, database_url):
    first, second = replicas(), replicas(own_data_dir=True)
    assert first.settings.data_dir != second.settings.data_dir or not database_url
    token = OwnerTokens.shared(first.history, first.settings.data_dir).issue()
    owner = OwnerTokens.shared(second.history, second.settings.data_dir).owner(token)
    assert owner is not None and owner.startswith("browser:")
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")  # one character off
    assert OwnerTokens.shared(second.history, second.settings.data_dir).owner(forged) is None


def test_a_token_issued_before_the_secret_moved_to_the_database_stays_valid(tmp_path):
    old = OwnerTokens.in_data_dir(tmp_path).issue()
    history = History(tmp_path / "history.sqlite3")
    try:
        assert OwnerTokens.shared(history, tmp_path).owner(old) is not None
    finally:
        history.close()


def _left_pending(studio: Studio, sim: Simulator, make_image) -> str:
    """An edit whose result could not be downloaded for now: its output is pending, its lease let go."""
    sim.inject("download_reset", times=FAST_RETRY.attempts)
    result = studio.edit(EditRequest.create([make_image()], "x", n=1, seed=1), Caller("me"))
    assert not result.images
    return result.edit_id


def test_a_pending_result_leased_by_a_replica_elsewhere_is_taken_over_only_once_the_lease_runs_out(
    replicas, sim, make_image
):
    first = replicas()
    edit_id = _left_pending(first, sim, make_image)
    with first.history.transaction() as db:  # as if a replica on another machine had it mid-download
        db.execute("UPDATE edits SET runner = ?, lease_until = ? WHERE id = ?", (ELSEWHERE, time.time() + 2, edit_id))
    second = replicas()
    assert second.resume_pending() == 0  # its lease lives: that replica may be downloading it right now
    assert second.history.get("me", edit_id).outputs[0].state == "pending"
    time.sleep(2.1)
    assert second.resume_pending(orphans_only=True) == 1
    edit = second.history.get("me", edit_id)
    assert edit.status == "done" and edit.outputs[0].state == "saved" and edit.lease_until is None


def test_a_renewed_lease_keeps_the_edit_its_runners(replicas, sim, make_image):
    first = replicas({"QWEN_EDIT_LEASE_SECONDS": "1"})
    edit_id = _left_pending(first, sim, make_image)
    with first.history.transaction() as db:  # this process works on it again (as its resume would)
        db.execute("UPDATE edits SET lease_until = ? WHERE id = ?", (time.time() + 1, edit_id))
    time.sleep(1.5)  # longer than the lease: only the renewals (every third of it) keep it
    assert first.history.get("me", edit_id).lease_until > time.time()


def test_a_call_cut_off_on_another_machine_is_marked_interrupted_when_its_lease_runs_out(replicas, sim, make_image):
    first = replicas()
    result = first.edit(EditRequest.create([make_image()], "x", n=1, seed=1), Caller("me"))
    with first.history.transaction() as db:
        db.execute(
            "UPDATE edits SET status = 'calling', runner = ?, lease_until = ? WHERE id = ?",
            (ELSEWHERE, time.time() + 60, result.edit_id),
        )
    assert first.history.interrupted_calls(INTERRUPTED, "never sent") == 0  # its runner may still be at it
    with first.history.transaction() as db:
        db.execute("UPDATE edits SET lease_until = ? WHERE id = ?", (time.time() - 1, result.edit_id))
    first.history.interrupted_calls(INTERRUPTED, "never sent")  # (or the resume loop's round did already)
    edit = first.history.get("me", result.edit_id)
    assert (edit.status, edit.error) == ("failed", INTERRUPTED)


def test_a_hold_from_a_replica_on_another_machine_keeps_its_file_until_the_hold_is_an_hour_old(tmp_path):
    store = ContentStore(tmp_path / "store", registry=History(tmp_path / "history.sqlite3"))  # no row refers to it
    stored = store.put_bytes(b"shared bytes", "png")
    marker = tmp_path / "store" / "holds" / f"{stored.sha256}.0badc0de-4242.{'0' * 32}"  # its pid means nothing here
    marker.touch()
    assert not store.remove(stored.sha256, "png") and stored.path.is_file()
    an_hour_ago = time.time() - FOREIGN_STALE_SECONDS - 1
    os.utime(marker, (an_hour_ago, an_hour_ago))
    assert store.remove(stored.sha256, "png") and not stored.path.exists()


def test_a_partial_file_of_another_machine_survives_a_start_until_it_is_an_hour_old(tmp_path):
    ContentStore(tmp_path / "store")
    partial = tmp_path / "store" / "tmp" / "0badc0de-4242-abcdefgh.part"
    partial.write_bytes(b"half a download")
    ContentStore(tmp_path / "store")  # another replica starts and sweeps what stopped processes left
    assert partial.is_file()
    an_hour_ago = time.time() - FOREIGN_STALE_SECONDS - 1
    os.utime(partial, (an_hour_ago, an_hour_ago))
    ContentStore(tmp_path / "store")
    assert not partial.exists()


def test_edits_at_once_through_two_replicas_on_a_model_without_a_limit_never_wait(replicas, sim, make_image):
    env = {"QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-plus=off"}
    first, second = replicas(env), replicas(env, own_data_dir=True)
    request = edit_request(make_image, model="qwen-image-edit-plus")
    started = [edit_in_thread(studio, request) for studio in (first, second) * 6]
    assert all(len(future.result(timeout=60).images) == 1 for _steps, future in started)
    assert not any(steps.waits() for steps, _future in started)  # the replicas' claims never hold each other back
