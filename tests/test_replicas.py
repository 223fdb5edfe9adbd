"""Two replicas of the app, real processes on one PostgreSQL database and one data dir, behind a real nginx
(`deploy/cluster.py`), with the simulator in its own process standing in for DashScope: a crowd is served
by both, a visitor's history and the hourly limit are the same whichever replica answers, and a replica
killed mid-download loses no result: the other one finishes its downloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import FAST_RETRY
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from queue_calls import call, fn_index
from test_app import _free_port

from core.caller import Caller
from core.history import History
from core.identity import OwnerTokens
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio
from deploy.cluster import Cluster
from deploy.postgres import PostgresServer
from ui.affinity import COOKIE

HOST_KEY = "sk-replicas-host"
LEASE_SECONDS = 6  # the replicas look for orphaned downloads every 2 s
HOURLY_LIMIT = 2


@dataclass
class Deployment:
    cluster: Cluster
    database_url: str
    data_dir: Path
    simulator: str  # the simulator's base URL

    def configure_simulator(self, **changes: object) -> None:
        origin = self.simulator.removesuffix("/api/v1")
        request = urllib.request.Request(f"{origin}/_sim/config", data=json.dumps(changes).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def rows(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        history = History(self.database_url, pool_size=1)
        try:
            with history.reading() as db:
                return [tuple(row) for row in db.execute(sql, parameters).fetchall()]
        finally:
            history.close()

    def logs(self) -> str:
        replicas = self.cluster.replicas.values()
        return "\n".join(f"--- {r.name}\n{r.log.read_text(errors='replace')[-4000:]}" for r in replicas)

    def partial_files(self, pid: int) -> list[Path]:
        """Downloads process `pid` has under way in the shared store (its temp files, not empty yet)."""
        return [p for p in (self.data_dir / "store" / "tmp").glob(f"*-{pid}-*.part") if _size(p) > 0]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into place meanwhile
        return 0


@pytest.fixture(scope="module")
def deployment(postgres: PostgresServer, tmp_path_factory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("replicas")
    simulator = subprocess.Popen(
        [sys.executable, "-m", "core.simulator", "--latency", "1"],
        stdout=subprocess.PIPE,
        stderr=open(root / "simulator.log", "wb"),  # noqa: SIM115 - lives as long as the process
    )
    assert simulator.stdout is not None
    base_url = simulator.stdout.readline().decode().strip()
    url = postgres.new_database()
    data_dir = root / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE_", "QWEN_EDIT_", "GRADIO_SERVER"))}
    env.update(
        DASHSCOPE_API_KEY=HOST_KEY,
        DASHSCOPE_HTTP_BASE_URL=base_url,
        QWEN_EDIT_DATABASE_URL=url,
        QWEN_EDIT_DATA_DIR=str(data_dir),
        QWEN_EDIT_RATE_LIMIT=str(HOURLY_LIMIT),
        QWEN_EDIT_LEASE_SECONDS=str(LEASE_SECONDS),
        GRADIO_ANALYTICS_ENABLED="False",
        NO_PROXY="127.0.0.1,localhost",
    )
    cluster = Cluster(2, f"127.0.0.1:{_free_port()}", root / "run", env=env, ports=[_free_port(), _free_port()])
    try:
        with cluster:
            yield Deployment(cluster, url, data_dir, base_url)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


@pytest.fixture(scope="module")
def picture(tmp_path_factory, make_image_once) -> str:
    path = tmp_path_factory.mktemp("picture") / "in.png"
    path.write_bytes(make_image_once(640, 480))
    return str(path)


@pytest.fixture(scope="module")
def make_image_once() -> Callable[..., bytes]:
    import io

    from PIL import Image

    def make(width: int, height: int) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (90, 140, 200)).save(buffer, "PNG")
        return buffer.getvalue()

    return make


def _client(deployment: Deployment, replica: str | None) -> Client:
    headers = {"Cookie": f"{COOKIE}={replica}"} if replica else None
    return Client(deployment.cluster.url, verbose=False, headers=headers)


def _runner_of(deployment: Deployment, name: str) -> str:
    return str(deployment.cluster.replicas[name].process.pid)


def test_a_new_browser_is_given_a_replica_and_keeps_it(deployment):
    first = httpx.get(deployment.cluster.url, timeout=30)
    named = first.cookies.get(COOKIE)
    assert named in ("r1", "r2")
    again = httpx.get(deployment.cluster.url, cookies={COOKIE: named}, timeout=30)
    assert again.status_code == 200 and COOKIE not in again.cookies  # already where it should be


def test_a_script_without_the_cookie_stays_on_the_replica_its_first_request_reached(deployment, picture):
    client = Client(deployment.cluster.url, verbose=False)  # its /config answer names a replica
    named = client.cookies.get(COOKIE)
    assert named in ("r1", "r2")
    # The upload lands in that replica's own Gradio temp dir: the edit works only if /edit reaches it too.
    _images, record = client.predict(handle_file(picture), prompt="no cookie", api_key="sk-script", api_name="/edit")
    assert len(record["files"]) == 1
    ((runner,),) = deployment.rows("SELECT runner FROM edits WHERE prompt = 'no cookie'")
    assert runner.endswith(f":{_runner_of(deployment, named)}")


def test_a_crowd_through_nginx_is_served_by_both_replicas(deployment, picture):
    def visitor(number: int) -> dict:
        client = _client(deployment, f"r{number % 2 + 1}")
        _images, record = client.predict(
            handle_file(picture), prompt=f"crowd {number}", seed=number, api_key=f"sk-crowd-{number}", api_name="/edit"
        )
        return record

    with ThreadPoolExecutor(max_workers=8) as pool:
        records = list(pool.map(visitor, range(8)))

    assert all(len(record["files"]) == 1 for record in records), records
    runners = {
        row[0].rpartition(":")[2] for row in deployment.rows("SELECT runner FROM edits WHERE prompt LIKE 'crowd %'")
    }
    assert runners == {_runner_of(deployment, "r1"), _runner_of(deployment, "r2")}, deployment.logs()


def test_a_visitor_sees_their_history_whichever_replica_answers_and_no_one_elses(deployment, make_image_once):
    settings = Settings(
        api_key=HOST_KEY,
        base_url_override=deployment.simulator,
        data_dir=deployment.data_dir,
        database_url=deployment.database_url,
    )
    studio = Studio(settings, retry=FAST_RETRY)  # a third replica, in this process
    try:
        tokens = OwnerTokens.shared(studio.history, settings.data_dir)
        mine, theirs = tokens.issue(), tokens.issue()
        studio.edit(EditRequest.create([make_image_once(320, 240)], "mine", seed=1), Caller(tokens.owner(mine)))
    finally:
        studio.close()

    url = deployment.cluster.url
    refresh = fn_index(url, "history-refresh")
    for replica in ("r1", "r2"):
        headers = {"Cookie": f"{COOKIE}={replica}"}
        listed = call(url, refresh, ["", "", None, False, {"token": mine}], headers=headers)
        assert len(listed["output"]["data"][0]) == 1, (replica, listed)
        others = call(url, refresh, ["", "", None, False, {"token": theirs}], headers=headers)
        assert others["output"]["data"][0] == [], (replica, others)


def test_the_hourly_limit_holds_across_replicas(deployment, picture):
    for number, replica in enumerate(("r1", "r2")):
        _client(deployment, replica).predict(handle_file(picture), prompt=f"hourly {number}", api_name="/edit")
    with pytest.raises(AppError, match="hourly limit"):
        _client(deployment, "r1").predict(handle_file(picture), prompt="one too many", api_name="/edit")
    assert len(deployment.rows("SELECT id FROM edits WHERE prompt LIKE 'hourly %' OR prompt = 'one too many'")) == 2


def test_a_replica_killed_mid_download_loses_no_result(deployment, picture):
    deployment.configure_simulator(bandwidth=60_000)  # each result takes several seconds to download
    pool = ThreadPoolExecutor(max_workers=1)
    started = pool.submit(
        _client(deployment, "r1").predict,
        handle_file(picture),
        prompt="killed mid-download",
        n=2,
        seed=7,
        api_key="sk-failover",
        api_name="/edit",
    )
    pid = _runner_of(deployment, "r1")
    deadline = time.monotonic() + 60
    while True:  # both results' links recorded, and bytes of them on r1's disk: mid-download
        rows = deployment.rows(
            """SELECT e.id, e.runner, o.state FROM edits e JOIN outputs o ON o.edit_id = e.id
               WHERE e.prompt = 'killed mid-download'"""
        )
        pending = len(rows) == 2 and all(state == "pending" for _id, _runner, state in rows)
        if pending and deployment.partial_files(int(pid)):
            break
        assert time.monotonic() < deadline, (rows, deployment.logs())
        time.sleep(0.1)
    assert rows[0][1].endswith(f":{pid}")
    deployment.cluster.kill("r1")
    killed = time.monotonic()
    deployment.configure_simulator(bandwidth=None)
    with pytest.raises(Exception):  # noqa: B017 - the visitor's stream was cut: any error of the client
        started.result(timeout=30)
    pool.shutdown()

    edit_id = rows[0][0]
    while True:
        states = deployment.rows("SELECT state FROM outputs WHERE edit_id = ?", (edit_id,))
        if all(state == "saved" for (state,) in states):
            break
        assert time.monotonic() - killed < 60, (states, deployment.logs())
        time.sleep(0.2)
    ((status, runner),) = deployment.rows("SELECT status, runner FROM edits WHERE id = ?", (edit_id,))
    assert status == "done" and runner.endswith(f":{_runner_of(deployment, 'r2')}")
    for (sha256,) in deployment.rows("SELECT sha256 FROM outputs WHERE edit_id = ?", (edit_id,)):
        assert (deployment.data_dir / "store" / "objects" / sha256[:2] / f"{sha256}.png").is_file()
    while deployment.partial_files(int(pid)):  # r2 sweeps what r1 left half-written
        assert time.monotonic() - killed < 60, deployment.partial_files(int(pid))
        time.sleep(0.2)

    moved = httpx.get(deployment.cluster.url, cookies={COOKIE: "r1"}, timeout=30)  # r1's browsers go to r2
    assert moved.status_code == 200 and moved.cookies.get(COOKIE) == "r2"
