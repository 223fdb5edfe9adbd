"""Scenario (g): photo-sized results. Each result is an incompressible 2048x2048 PNG of about 12 MB (the
simulator's `--noise`), fetched at a set bandwidth per link, against an ideal client measured in the same run.

The ideal client is what no front end can beat: one raw POST of the SDK's wire format, then every result
streamed to disk at once, one thread per link, in 1 MiB chunks, with no checks. One visitor (n=6) and a
crowd (16 visitors, n=2 each) go through `/edit` of the running app with `gradio_client`, so their time
includes the uploads, the queue, the studio's downloads, checks and history, and the client's download of
each result from the app. Every call asks for a random seed, so every result is new to the simulator (no
render cache) and to the studio's store (no shared file, no thumbnail made before).

    python -m benchmarks.photo_sized            # the table alone, against a fresh simulator and app
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import requests

from benchmarks import visitors
from benchmarks.figures import Figure, Report, Row, Target, ratios, table
from benchmarks.inputs import photo_file
from benchmarks.services import BENCH_KEY, AppProcess, SimulatorProcess, cpu_seconds, machine_busy_seconds
from core.simulator.server import GENERATION_PATH

MODEL = "qwen-image-edit-plus"
PROMPT = "the same street at golden hour"
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PhotoConfig:
    """What scenario (g) asks for."""

    latency: float = 3.0  # model seconds per call
    bandwidth: float = 8_000_000  # bytes/s per download link
    size: str = "2048*2048"
    n: int = 6  # one visitor's results
    crowd: int = 16  # visitors at once
    crowd_n: int = 2  # each crowd visitor's results
    runs: int = 3


FULL = PhotoConfig()
QUICK = PhotoConfig(latency=1.0, bandwidth=16_000_000, size="1024*1024", n=2, crowd=4, runs=1)


def ideal_edit(origin: str, inputs: tuple[Path, ...], n: int, size: str, out: Path) -> float:
    """One edit by the ideal client; returns its seconds, from the POST to the last result on disk."""
    content: list[dict[str, str]] = [
        {"image": f"data:image/jpeg;base64,{base64.b64encode(path.read_bytes()).decode()}"} for path in inputs
    ]
    payload = {
        "model": MODEL,
        "input": {"messages": [{"role": "user", "content": [*content, {"text": PROMPT}]}]},
        "parameters": {"n": n, "size": size, "watermark": False},
    }
    started = time.perf_counter()
    answer = requests.post(
        f"{origin}{GENERATION_PATH}", json=payload, headers={"Authorization": f"Bearer {BENCH_KEY}"}, timeout=120
    )
    answer.raise_for_status()
    links = [item["image"] for item in answer.json()["output"]["choices"][0]["message"]["content"]]
    if len(links) != n:
        raise RuntimeError(f"asked for {n} results, got {len(links)} links")
    out.mkdir(parents=True, exist_ok=True)

    def fetch(number: int, link: str) -> None:
        with requests.get(link, stream=True, timeout=120) as download, open(out / f"{number}.png", "wb") as file:
            download.raise_for_status()
            for chunk in download.iter_content(CHUNK):
                file.write(chunk)

    with ThreadPoolExecutor(len(links)) as pool:
        list(pool.map(fetch, range(len(links)), links))
    return time.perf_counter() - started


def settle(app: AppProcess, window: float = 0.5, limit: float = 60.0) -> None:
    """Wait until the app has finished its background work (History's thumbnails wait for a quiet moment), so
    the ideal client is not measured against it: under 5 % of a core over `window` seconds."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        used = cpu_seconds(app.pid)
        time.sleep(window)
        if cpu_seconds(app.pid) - used < 0.05 * window:
            return


@dataclass(frozen=True)
class Crowd:
    """One crowd of processes: wall seconds until the last had every result, and what the app and the
    simulator spent meanwhile (CPU seconds, the app's peak RSS in bytes); `clients` is the rest of the machine."""

    wall: float
    cpu: dict[str, float]
    peak_rss: int


def crowd_of_processes(jobs: list[Callable[[], Callable[[], object]]], app: AppProcess | None, sim: int) -> Crowd:
    """Each job in its own process, as visitors on their own machines would be (16 clients in one Python
    process would share one GIL, and measure it): each prepares (connects), then all start at one signal."""
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(len(jobs) + 1)
    outcomes: multiprocessing.Queue[str] = context.Queue()
    processes = [context.Process(target=_one_of_a_crowd, args=(job, ready, outcomes)) for job in jobs]
    for process in processes:
        process.start()
    if app is not None:
        app.reset_peak()
    pids = {"simulator": sim, **({"app": app.pid} if app is not None else {})}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy = machine_busy_seconds()
    ready.wait(timeout=120)
    began = time.perf_counter()
    failures = [outcome for outcome in (outcomes.get(timeout=600) for _ in processes) if outcome]
    wall = time.perf_counter() - began
    for process in processes:
        process.join(timeout=30)
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(jobs)} clients failed: {failures[0]}")
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    cpu["clients"] = max(0.0, machine_busy_seconds() - busy - sum(cpu.values()))
    return Crowd(wall, cpu, app.memory()["VmHWM"] if app is not None else 0)


def _one_of_a_crowd(job: Callable[[], Callable[[], object]], ready: Any, outcomes: Any) -> None:
    run = job()
    ready.wait(timeout=120)
    try:
        run()
    except BaseException as error:  # told to the parent, which raises it
        outcomes.put(repr(error))
        return
    outcomes.put("")


def _visitor(url: str, downloads: Path, visit: visitors.Visit) -> Callable[[], object]:
    (client,) = visitors.clients(url, 1, downloads)
    return lambda: visit.run(client)


def _ideal(origin: str, inputs: tuple[Path, ...], config: PhotoConfig, out: Path) -> Callable[[], object]:
    return lambda: ideal_edit(origin, inputs, config.crowd_n, config.size, out)


def scenario_g(report: Report, config: PhotoConfig, work: Path) -> None:
    """One visitor and a crowd through `/edit`, each beside the ideal client, run by run."""
    inputs = (photo_file(work / "inputs-g", 1024, 1024, "JPEG", seed=5),)
    simulator = SimulatorProcess(
        latency=config.latency, bandwidth=config.bandwidth, noise=True, log=work / "simulator-g.log"
    )
    with simulator as sim, AppProcess(sim.base_url, work / "app-g", concurrency=config.crowd * 2) as app:
        origin = sim.base_url.removesuffix("/api/v1")
        people = visitors.clients(app.url, 1, work / "downloads-g")
        one = visitors.Visit(inputs, PROMPT, n=config.n, size=config.size, seed=-1)
        many = replace(one, n=config.crowd_n)
        ideal_edit(origin, inputs, config.n, config.size, work / "ideal-warm")  # first connections
        one.run(people[0])  # warm-up of the app: imports, first connections, SQLite
        ideal, alone, ideal_many, crowds, single = [], [], [], [], []
        for run in range(config.runs):
            settle(app)
            ideal.append(ideal_edit(origin, inputs, config.n, config.size, work / f"ideal-{run}"))
            alone.append(visitors.crowd(people[:1], one).wall)
            folder = work / f"crowd-{run}"
            jobs = [partial(_ideal, origin, inputs, config, folder / f"ideal-{k}") for k in range(config.crowd)]
            settle(app)
            ideal_many.append(crowd_of_processes(jobs, None, sim.pid).wall)
            single.append(visitors.crowd(people[:1], many).wall)
            jobs = [partial(_visitor, app.url, folder / f"visitor-{k}", many) for k in range(config.crowd)]
            observed = crowd_of_processes(jobs, app, sim.pid)
            crowds.append(observed)
            print(
                f"(g) run {run + 1}: ideal {ideal[-1]:.2f} s, one visitor {alone[-1]:.2f} s; "
                f"{config.crowd} ideal {ideal_many[-1]:.2f} s, {config.crowd} visitors {observed.wall:.2f} s",
                flush=True,
            )
    report.facts["g"] = {
        "config": config,
        "cpu": {name: Figure.of(o.cpu[name] for o in crowds) for name in ("app", "simulator", "clients")},
    }
    mb = config.size.replace("*", "x")
    ideal_fig, alone_fig = Figure.of(ideal), Figure.of(alone)
    ideal_crowd_fig = Figure.of(ideal_many)
    crowd_fig = Figure.of(observed.wall for observed in crowds)
    report.add(Row("g", f"ideal client: n={config.n} at {mb}", ideal_fig, "s"))
    report.add(Row("g", f"one visitor through /edit: n={config.n}", alone_fig, "s"))
    report.add(Row("g", "one visitor / ideal client", ratios(alone_fig, ideal_fig), "x", Target(1.10)))
    report.add(Row("g", f"{config.crowd} ideal clients at once: n={config.crowd_n} each", ideal_crowd_fig, "s"))
    report.add(Row("g", f"{config.crowd} visitors at once through /edit", crowd_fig, "s"))
    report.add(
        Row(
            "g",
            f"{config.crowd} visitors / {config.crowd} ideal clients",
            ratios(crowd_fig, ideal_crowd_fig),
            "x",
            Target(1.5),
        )
    )
    report.add(
        Row(
            "g",
            f"{config.crowd} visitors / one visitor's n={config.crowd_n}",
            ratios(crowd_fig, Figure.of(single)),
            "x",
        )
    )
    report.add(Row("g", f"peak RSS, {config.crowd} visitors", Figure.of(o.peak_rss / 1e6 for o in crowds), "MB"))
    report.add(Row("g", f"app CPU, {config.crowd} visitors", Figure.of(o.cpu["app"] for o in crowds), "s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    config = QUICK if args.quick else FULL
    if args.runs:
        config = replace(config, runs=args.runs)
    report = Report(facts={})
    scenario_g(report, config, Path(tempfile.mkdtemp(prefix="qwen-bench-g-")))
    print(table(report.rows))
    cpu = report.facts["g"]["cpu"]
    print("CPU seconds during a crowd (medians): " + ", ".join(f"{k} {v.median:.1f}" for k, v in cpu.items()))


if __name__ == "__main__":
    main()
