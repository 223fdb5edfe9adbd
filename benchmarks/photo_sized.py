"""Scenario (g): photo-sized results. Each result is an incompressible 2048x2048 PNG of about 12 MB (the
simulator's `--noise`), fetched at a set bandwidth per link, against an ideal client measured in the same run.

The ideal client is what no front end can beat: one raw POST of the SDK's wire format, then every result
streamed to disk at once, one thread per link, in 1 MiB chunks, with no checks. One visitor (n=6) and a
crowd (16 visitors, n=2 each) go through `/edit` of the running app with `gradio_client`, then fetch their
results from the app all at once as a browser's gallery does, so their time includes the uploads, the queue,
the studio's downloads, checks and history, and the transfer of each result from the app. The same visits
with `gradio_client` downloading the results itself (one after another, hashing each) are measured too.
Every call asks for a random seed, so every result is new to the simulator (no render cache) and to the
studio's store (no shared file, no thumbnail made before). One visitor is also measured with a real photograph
(`assets/examples/coffee.jpg`) as its input and the simulator's ordinary renders of it as results: PNGs of a
photograph, lighter than noise.

    python -m benchmarks.photo_sized            # the table alone, against a fresh simulator and app
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
PHOTOGRAPH = Path(__file__).resolve().parent.parent / "assets" / "examples" / "coffee.jpg"
PROMPT = "the same street at golden hour"


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
    visitors.fetch_at_once(links, out)
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


def visitor_job(url: str, downloads: Path | None, visit: visitors.Visit) -> Callable[[], object]:
    """A crowd job: connects one client, then returns its visit (run when the crowd starts)."""
    (client,) = visitors.clients(url, 1, downloads)
    return lambda: visit.run(client)


def _ideal(origin: str, inputs: tuple[Path, ...], config: PhotoConfig, out: Path) -> Callable[[], object]:
    return lambda: ideal_edit(origin, inputs, config.crowd_n, config.size, out)


@dataclass
class _Runs:
    """Scenario (g)'s measurements, run by run."""

    ideal: list[float] = field(default_factory=list)
    alone: list[float] = field(default_factory=list)
    alone_library: list[float] = field(default_factory=list)
    ideal_many: list[float] = field(default_factory=list)
    single: list[float] = field(default_factory=list)
    crowds: list[Crowd] = field(default_factory=list)
    crowds_library: list[float] = field(default_factory=list)
    photo_ideal: list[float] = field(default_factory=list)
    photo_alone: list[float] = field(default_factory=list)
    photo_bytes: list[float] = field(default_factory=list)


def scenario_g(report: Report, config: PhotoConfig, work: Path) -> None:
    """One visitor and a crowd through `/edit`, each beside the ideal client, run by run. A visitor fetches its
    results at once as a browser's gallery does; the same visits with `gradio_client` downloading each result
    (one after another, hashing it) are measured beside them."""
    inputs = (photo_file(work / "inputs-g", 1024, 1024, "JPEG", seed=5),)
    simulator = SimulatorProcess(
        latency=config.latency, bandwidth=config.bandwidth, noise=True, log=work / "simulator-g.log"
    )
    with simulator as sim, AppProcess(sim.base_url, work / "app-g", concurrency=config.crowd * 2) as app:
        origin = sim.base_url.removesuffix("/api/v1")
        browser, library = visitors.clients(app.url, 1, None), visitors.clients(app.url, 1, work / "downloads-g")
        one = visitors.Visit(inputs, PROMPT, n=config.n, size=config.size, seed=-1, fetch_to=work / "fetched-g")
        one_library, many = replace(one, fetch_to=None), replace(one, n=config.crowd_n)
        photo = replace(one, inputs=(PHOTOGRAPH,), fetch_to=work / "fetched-photo-g")
        ideal_edit(origin, inputs, config.n, config.size, work / "ideal-warm")  # first connections
        one.run(browser[0])  # warm-up of the app: imports, first connections, SQLite
        runs = _Runs()
        for run in range(config.runs):
            settle(app)
            runs.ideal.append(ideal_edit(origin, inputs, config.n, config.size, work / f"ideal-{run}"))
            runs.alone.append(visitors.crowd(browser, one).wall)
            settle(app)
            runs.alone_library.append(visitors.crowd(library, one_library).wall)
            folder = work / f"crowd-{run}"
            jobs = [partial(_ideal, origin, inputs, config, folder / f"ideal-{k}") for k in range(config.crowd)]
            settle(app)
            runs.ideal_many.append(crowd_of_processes(jobs, None, sim.pid).wall)
            runs.single.append(visitors.crowd(browser, many).wall)
            jobs = [partial(visitor_job, app.url, None, many) for _ in range(config.crowd)]
            runs.crowds.append(crowd_of_processes(jobs, app, sim.pid))
            settle(app)
            jobs = [
                partial(visitor_job, app.url, folder / f"visitor-{k}", replace(many, fetch_to=None))
                for k in range(config.crowd)
            ]
            runs.crowds_library.append(crowd_of_processes(jobs, app, sim.pid).wall)
            sim.configure(noise=False)  # a photograph's PNGs
            settle(app)
            runs.photo_ideal.append(ideal_edit(origin, photo.inputs, config.n, config.size, folder / "ideal-photo"))
            runs.photo_bytes.append(sum(f.stat().st_size for f in (folder / "ideal-photo").iterdir()) / config.n)
            runs.photo_alone.append(visitors.crowd(browser, photo).wall)
            sim.configure(noise=True)
            print(
                f"(g) run {run + 1}: ideal {runs.ideal[-1]:.2f} s, one visitor {runs.alone[-1]:.2f} s "
                f"({runs.alone_library[-1]:.2f} s with gradio_client's downloads); {config.crowd} ideal "
                f"{runs.ideal_many[-1]:.2f} s, {config.crowd} visitors {runs.crowds[-1].wall:.2f} s "
                f"({runs.crowds_library[-1]:.2f} s); a photograph: ideal {runs.photo_ideal[-1]:.2f} s, "
                f"one visitor {runs.photo_alone[-1]:.2f} s",
                flush=True,
            )
    report.facts["g"] = {
        "config": config,
        "cpu": {name: Figure.of(o.cpu[name] for o in runs.crowds) for name in ("app", "simulator", "clients")},
    }
    _report_g(report, config, runs)


def _report_g(report: Report, config: PhotoConfig, runs: _Runs) -> None:
    mb, crowd, n = config.size.replace("*", "x"), config.crowd, config.crowd_n
    ideal, alone, alone_library = Figure.of(runs.ideal), Figure.of(runs.alone), Figure.of(runs.alone_library)
    ideal_crowd, crowds = Figure.of(runs.ideal_many), Figure.of(observed.wall for observed in runs.crowds)
    crowds_library = Figure.of(runs.crowds_library)
    report.add(Row("g", f"ideal client: n={config.n} at {mb}", ideal, "s"))
    report.add(Row("g", f"one visitor through /edit: n={config.n}", alone, "s"))
    report.add(Row("g", "one visitor / ideal client", ratios(alone, ideal), "x", Target(1.10)))
    report.add(Row("g", "the same, gradio_client downloading each result / ideal", ratios(alone_library, ideal), "x"))
    report.add(Row("g", f"{crowd} ideal clients at once: n={n} each", ideal_crowd, "s"))
    report.add(Row("g", f"{crowd} visitors at once through /edit", crowds, "s"))
    report.add(Row("g", f"{crowd} visitors / {crowd} ideal clients", ratios(crowds, ideal_crowd), "x", Target(1.5)))
    report.add(
        Row("g", "the same, gradio_client downloading each result / ideal", ratios(crowds_library, ideal_crowd), "x")
    )
    report.add(Row("g", f"{crowd} visitors / one visitor's n={n}", ratios(crowds, Figure.of(runs.single)), "x"))
    report.add(Row("g", f"peak RSS, {crowd} visitors", Figure.of(o.peak_rss / 1e6 for o in runs.crowds), "MB"))
    report.add(Row("g", f"app CPU, {crowd} visitors", Figure.of(o.cpu["app"] for o in runs.crowds), "s"))
    photo_ideal, photo_alone = Figure.of(runs.photo_ideal), Figure.of(runs.photo_alone)
    each = Figure.of(runs.photo_bytes).median / 1e6
    report.add(Row("g", f"a photograph, ideal client: n={config.n}, {each:.1f} MB each", photo_ideal, "s"))
    report.add(Row("g", f"a photograph, one visitor through /edit: n={config.n}", photo_alone, "s"))
    photo_ratio = ratios(photo_alone, photo_ideal)
    report.add(Row("g", "a photograph, one visitor / ideal client", photo_ratio, "x", Target(1.10)))


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
