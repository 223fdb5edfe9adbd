"""Replicas behind nginx (issue 19): a crowd through nginx to 1 replica and to 2, in one run, and a replica
killed mid-download.

    python -m benchmarks.replicas              # 32 visitors, 3 rounds per setup; writes its docs/benchmarks.md section
    python -m benchmarks.replicas --quick      # 8 visitors, 1 round; prints only

Everything is a real process on this machine: PostgreSQL (`deploy/postgres.py`), the simulator (model latency,
download bandwidth per link), N replicas of `app.py` and nginx (`deploy/cluster.py`). Each visitor is a
`gradio_client` with the cookie of its replica (visitors alternate), asks `/edit` for one 1024*1024 result of a
photo and streams it back through nginx. Prints a Markdown table: wall time and p95 per setup, the crowd's
ratio to one visitor alone, and the CPU seconds each replica, the simulator, PostgreSQL and nginx used.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gradio_client import Client, handle_file

from benchmarks import memory
from benchmarks.inputs import photo_file
from benchmarks.services import BENCH_KEY, SimulatorProcess, child_env, cpu_seconds, free_port, machine_busy_seconds
from benchmarks.visitors import Visit, crowd
from core.history import History
from deploy.cluster import Cluster
from deploy.postgres import PostgresServer
from ui.affinity import COOKIE

SECTION = "## Replicas behind nginx"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
LATENCY = 3.0  # the model's seconds per call
BANDWIDTH = 8_000_000  # bytes/s per download link, DashScope's storage to the app
SLOW_BANDWIDTH = 150_000  # while a replica is killed mid-download: each result takes seconds


@dataclass(frozen=True)
class Setup:
    """One crowd run: wall seconds, each visitor's seconds, CPU seconds per process."""

    replicas: int
    visitors: int
    wall: float
    p95: float
    cpu: dict[str, float]


@contextmanager
def deployment(replicas: int, postgres: PostgresServer, sim: SimulatorProcess, work: Path) -> Iterator[Cluster]:
    """`replicas` app processes on a fresh database and data dir, behind nginx, over `sim`."""
    env = child_env(
        DASHSCOPE_API_KEY=BENCH_KEY,
        DASHSCOPE_HTTP_BASE_URL=sim.base_url,
        QWEN_EDIT_DATABASE_URL=postgres.new_database(),
        QWEN_EDIT_DATA_DIR=str(work / f"data-{replicas}"),
        QWEN_EDIT_RATE_LIMIT="100000",
        QWEN_EDIT_LEASE_SECONDS="6",
        # As benchmarks.services.AppProcess: no account pacing, no storage caps; neither is what is measured.
        QWEN_EDIT_RATE_LIMITS="qwen-image-edit-plus=off",
        QWEN_EDIT_OWNER_STORAGE_MB="1000000",
        QWEN_EDIT_MAX_STORAGE_MB="1000000",
    )
    ports = [free_port() for _ in range(replicas)]
    with Cluster(replicas, f"127.0.0.1:{free_port()}", work / f"run-{replicas}", env=env, ports=ports) as cluster:
        yield cluster


def visitors_of(cluster: Cluster, count: int, only: str | None = None) -> list[Client]:
    """`count` clients, each sent to replica r1, r2, ... in turn by its cookie (or all to replica `only`),
    connected before any timing. They download nothing themselves (see `Visit.fetch_to`)."""
    names = [only] if only else list(cluster.replicas)
    return [
        Client(
            cluster.url,
            verbose=False,
            download_files=False,
            analytics_enabled=False,
            headers={"Cookie": f"{COOKIE}={names[number % len(names)]}"},
        )
        for number in range(count)
    ]


def measure(cluster: Cluster, postgres_pids: list[int], sim: SimulatorProcess, count: int, visit: Visit) -> Setup:
    """One crowd of `count` through nginx, with the CPU every process used meanwhile."""
    clients = visitors_of(cluster, count)
    pids = {f"replica {name}": r.process.pid for name, r in cluster.replicas.items()}
    pids["simulator"] = sim.pid
    pids["nginx (master)"] = cluster.nginx.pid  # type: ignore[union-attr]
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    pg_before = sum(_cpu_or_zero(pid) for pid in postgres_pids)
    busy = machine_busy_seconds()
    run = crowd(clients, visit)
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    cpu["postgresql"] = sum(_cpu_or_zero(pid) for pid in postgres_pids) - pg_before
    cpu["rest (clients, nginx workers)"] = max(0.0, machine_busy_seconds() - busy - sum(cpu.values()))
    return Setup(len(cluster.replicas), count, run.wall, run.p95, cpu)


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except FileNotFoundError:  # a backend that ended meanwhile
        return 0.0


def postgres_pids(server: PostgresServer) -> list[int]:
    """The server's processes (postmaster and backends), from its data dir's pid file and /proc."""
    master = int((server.data / "postmaster.pid").read_text().split()[0])
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(int(p.name)) == master]
    return [master, *children]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, IndexError, ValueError):
        return -1


@dataclass(frozen=True)
class Failover:
    results: int
    lost: int
    seconds_to_resume: float


def failover(cluster: Cluster, sim: SimulatorProcess, database_url: str, photo: Path, edits: int) -> Failover:
    """`edits` edits of 2 results each through r1, r1 killed while all their results download, then the time
    until r2 has saved every one of them (or 120 s: what is still not saved is lost)."""
    sim.configure(bandwidth=SLOW_BANDWIDTH)
    clients = visitors_of(cluster, edits, only="r1")
    pool = ThreadPoolExecutor(max_workers=edits)
    for number, client in enumerate(clients):
        pool.submit(
            client.predict,
            handle_file(str(photo)),
            prompt=f"failover {number}",
            n=2,
            seed=number,
            size="1024*1024",
            api_key=f"sk-failover-{number}",
            api_name="/edit",
        )
    history = History(database_url, pool_size=2)
    query = "SELECT o.state FROM outputs o JOIN edits e ON e.id = o.edit_id WHERE e.prompt LIKE 'failover %'"
    try:
        deadline = time.monotonic() + 120
        while True:
            with history.reading() as db:
                states = [row[0] for row in db.execute(query).fetchall()]
            if len(states) == 2 * edits:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the failover edits did not all get their links: {states}")
            time.sleep(0.1)
        time.sleep(1.0)  # every download under way
        cluster.kill("r1")
        killed = time.monotonic()
        sim.configure(bandwidth=BANDWIDTH)
        while time.monotonic() - killed < 120:
            with history.reading() as db:
                states = [row[0] for row in db.execute(query).fetchall()]
            if all(state == "saved" for state in states):
                break
            time.sleep(0.1)
        resumed = time.monotonic() - killed
    finally:
        history.close()
        pool.shutdown(wait=False, cancel_futures=True)
    return Failover(len(states), sum(state != "saved" for state in states), resumed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 visitors, one round per setup")
    parser.add_argument("--visitors", type=int, default=32)
    args = parser.parse_args()
    count, rounds = (8, 1) if args.quick else (args.visitors, 3)
    with tempfile.TemporaryDirectory(prefix="qwen-edit-replicas-") as temp:
        work = Path(temp)
        work.chmod(0o755)  # the PostgreSQL server may run as its own user
        photo = photo_file(work, 2048, 1536, "JPEG", seed=5)
        visit = Visit(inputs=(photo,), size="1024*1024", fetch_to=work / "downloads")
        postgres = PostgresServer(work / "postgres").start()
        try:
            with SimulatorProcess(latency=LATENCY, bandwidth=BANDWIDTH, log=work / "simulator.log") as sim:
                rows, alone = run_setups(postgres, sim, work, count, rounds, visit)
                with deployment(2, postgres, sim, work / "failover") as cluster:
                    url = cluster.env["QWEN_EDIT_DATABASE_URL"]
                    lost = failover(cluster, sim, url, photo, edits=4)
        finally:
            postgres.stop()
    text = report(rows, alone, lost, count, rounds)
    print(text)
    if not args.quick:
        section = f"{SECTION}\n\n`python -m benchmarks.replicas` ({time.strftime('%Y-%m-%d')}, this host).\n\n{text}\n"
        PAGE.write_text(memory.with_section(PAGE.read_text(), section, SECTION))


def run_setups(
    postgres: PostgresServer, sim: SimulatorProcess, work: Path, count: int, rounds: int, visit: Visit
) -> tuple[dict[int, list[Setup]], dict[int, float]]:
    """Per setup (1 replica, 2 replicas), `rounds` crowds of `count`, interleaved, and one visitor alone."""
    rows: dict[int, list[Setup]] = {1: [], 2: []}
    alone: dict[int, float] = {}
    with deployment(1, postgres, sim, work) as one, deployment(2, postgres, sim, work) as two:
        pids = postgres_pids(postgres)
        for cluster in (one, two):
            measure(cluster, pids, sim, 2, visit)  # warm: the first edit of each replica loads what it needs
            alone[len(cluster.replicas)] = measure(cluster, pids, sim, 1, visit).wall
        for _ in range(rounds):
            for cluster in (one, two):
                rows[len(cluster.replicas)].append(measure(cluster, postgres_pids(postgres), sim, count, visit))
    return rows, alone


def report(rows: dict[int, list[Setup]], alone: dict[int, float], lost: Failover, count: int, rounds: int) -> str:
    """The Markdown table of the run."""
    lines = [
        f"{count} visitors through nginx, one 1024*1024 result each, {LATENCY:g} s model latency, "
        f"{BANDWIDTH / 1e6:g} MB/s per link; median of {rounds} round(s), setups interleaved.",
        "",
        "| replicas | one visitor alone (s) | crowd wall (s) | crowd p95 (s) | crowd / alone | CPU s per process |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for replicas, setups in rows.items():
        wall = statistics.median(s.wall for s in setups)
        p95 = statistics.median(s.p95 for s in setups)
        names = setups[0].cpu
        cpu = ", ".join(f"{name} {statistics.median(s.cpu[name] for s in setups):.1f}" for name in names)
        lines.append(
            f"| {replicas} | {alone[replicas]:.2f} | {wall:.2f} | {p95:.2f} | {wall / alone[replicas]:.2f}x | {cpu} |"
        )
    walls = {replicas: statistics.median(s.wall for s in setups) for replicas, setups in rows.items()}
    p95s = {replicas: statistics.median(s.p95 for s in setups) for replicas, setups in rows.items()}
    one = {name: statistics.median(s.cpu[name] for s in rows[1]) for name in rows[1][0].cpu}
    two = [statistics.median(s.cpu[f"replica {name}"] for s in rows[2]) for name in ("r1", "r2")]
    used, cores = sum(one.values()), os.cpu_count() or 1
    saved = "every one saved" if not lost.lost else f"the other {lost.results - lost.lost} saved"
    lines += [
        "",
        f"2 replicas / 1 replica, crowd wall: {walls[2] / walls[1]:.2f}x (p95 {p95s[2] / p95s[1]:.2f}x).",
        "",
        f"What limits it on this {cores}-core host is the CPU, and little of it is the app's. During a crowd, the one"
        f" replica used {one['replica r1']:.1f} CPU s ({one['replica r1'] / count * 1000:.0f} ms per edit), the"
        f" simulator {one['simulator']:.1f} s and the {count} clients in the benchmark's process"
        f" {one['rest (clients, nginx workers)']:.1f} s: {used:.1f} CPU s of the {cores * walls[1]:.1f} the cores had"
        f" in {walls[1]:.2f} s. Two replicas split the app's work ({two[0]:.1f} s + {two[1]:.1f} s) but add no core,"
        " and the clients and the simulator, which stand for machines of their own, stay on the same ones: replicas"
        " pay off where each has cores of its own, and for failover.",
        "",
        f"Failover: r1 killed while {lost.results} results of 4 edits were downloading through it: {lost.lost} lost,"
        f" {saved} by r2 {lost.seconds_to_resume:.1f} s after the kill. On one host r2 sees at once that r1's"
        " process is gone (its pid) and resumes at its next round (a third of the 6 s lease set here); replicas on"
        " different machines wait for the lease to run out: up to `QWEN_EDIT_LEASE_SECONDS` (30) and a round.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
