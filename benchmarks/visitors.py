"""Many visitors at once through the real Gradio app (gradio_client), against the simulator's model latency.

    python -m benchmarks.visitors --latency 2 --visitors 1 8 32

Prints, per crowd size, the wall time for everyone to finish and the median / p95 per-visitor latency,
and their ratio to one visitor alone. Ideal: every crowd takes about one visitor's time.
`python -m benchmarks.run` uses the same crowd for scenarios (c) and (f).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from gradio_client import Client, handle_file

from benchmarks.figures import percentile
from benchmarks.inputs import photo_file
from benchmarks.services import AppProcess, SimulatorProcess, cpu_seconds, machine_busy_seconds

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Visit:
    """What each visitor asks for through `/edit`."""

    inputs: tuple[Path, ...]
    prompt: str = "make it blue"
    n: int = 1
    size: str = "auto"
    seed: int = 1
    fetch_to: Path | None = None
    """None: `gradio_client` downloads each result (one after another, hashing each). A folder: the client
    downloads nothing (`download_files=False`) and the results are streamed into the folder all at once, as a
    browser's gallery fetches its images."""

    def run(self, client: Client) -> float:
        """One edit, its results downloaded; returns the seconds the studio itself took."""
        slots = [handle_file(str(path)) for path in self.inputs] + [None] * (3 - len(self.inputs))
        images, record = client.predict(
            *slots, prompt=self.prompt, size=self.size, n=self.n, seed=self.seed, api_name="/edit"
        )
        if len(images) != self.n:
            raise RuntimeError(f"asked for {self.n} results, got {len(images)}")
        if self.fetch_to is not None:
            fetch_at_once([item["image"]["url"] for item in images], self.fetch_to)
        return float(record["seconds"])


def fetch_at_once(urls: Sequence[str], folder: Path) -> None:
    """Every URL streamed to a file of `folder` at the same time, one thread per link, in 1 MiB chunks."""
    folder.mkdir(parents=True, exist_ok=True)

    def fetch(url: str) -> None:
        with requests.get(url, stream=True, timeout=120) as answer:
            answer.raise_for_status()
            with tempfile.NamedTemporaryFile(dir=folder, suffix=".png", delete=False) as file:
                for chunk in answer.iter_content(CHUNK):
                    file.write(chunk)

    with ThreadPoolExecutor(len(urls)) as pool:
        list(pool.map(fetch, urls))


@dataclass(frozen=True)
class CrowdRun:
    """One crowd: wall seconds until the last visitor had their results, each visitor's seconds, and of
    those the seconds the studio's edit took inside the app (the rest is upload, queue, Gradio, download)."""

    wall: float
    latencies: tuple[float, ...]
    studio: tuple[float, ...]

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 0.95)


def clients(url: str, count: int, downloads: Path | None) -> list[Client]:
    """`count` independent visitors (each its own session), connected before any timing starts; None for
    `downloads`: the clients download nothing themselves (see `Visit.fetch_to`)."""
    files = str(downloads) if downloads is not None else False
    return [
        Client(url, verbose=False, download_files=files, analytics_enabled=False, ssl_verify=False)
        for _ in range(count)
    ]


def crowd(visitors: Sequence[Client], visit: Visit) -> CrowdRun:
    """Every visitor runs `visit` at the same moment; wall time counts from the start signal."""
    latencies: list[float] = []
    studio: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(visitors) + 1)

    def one(client: Client) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            inside = visit.run(client)
        except BaseException as error:  # reported after the crowd, not lost in a thread
            with lock:
                failures.append(error)
            return
        with lock:
            latencies.append(time.perf_counter() - began)
            studio.append(inside)

    threads = [threading.Thread(target=one, args=(client,), daemon=True) for client in visitors]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(visitors)} visitors failed: {failures[0]!r}")
    return CrowdRun(wall, tuple(latencies), tuple(studio))


@dataclass(frozen=True)
class ObservedCrowd:
    """A crowd run with what it cost the machine: the app's memory and each process's CPU seconds."""

    visitors: int
    run: CrowdRun
    rss_before: int  # app RSS (bytes) just before the crowd
    peak_rss: int  # app VmHWM (bytes) during the crowd
    cpu: dict[str, float]  # CPU seconds during the crowd: "app", "simulator", "clients", "other"


def observed_crowd(
    app: AppProcess, simulator: SimulatorProcess, visitors: Sequence[Client], visit: Visit
) -> ObservedCrowd:
    """`crowd`, with the app's peak RSS (reset just before) and the CPU each process used meanwhile."""
    peak_was_reset = app.reset_peak()
    rss_before = app.memory()["VmRSS"]
    pids = {"app": app.pid, "simulator": simulator.pid, "clients": os.getpid()}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy_before = machine_busy_seconds()
    run = crowd(visitors, visit)
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    cpu["other"] = max(0.0, machine_busy_seconds() - busy_before - sum(cpu.values()))
    peak = app.memory()["VmHWM"]
    if not peak_was_reset:  # without clear_refs the peak is since start; still an upper bound
        peak = max(peak, rss_before)
    return ObservedCrowd(len(visitors), run, rss_before, peak, cpu)


def main() -> None:
    """Serve the app (its own process) over a simulator (its own process) and measure each crowd size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=2.0, help="simulated model seconds per call")
    parser.add_argument("--bandwidth", type=float, default=None, help="bytes/s per download (default: unthrottled)")
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--n", type=int, default=1, help="results per edit")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qwen-bench-"))
    visit = Visit((photo_file(work, 1024, 1024, "JPEG", seed=1),), n=args.n)
    with (
        SimulatorProcess(latency=args.latency, bandwidth=args.bandwidth, log=work / "simulator.log") as sim,
        AppProcess(sim.base_url, work, concurrency=max(args.visitors)) as app,
    ):
        people = clients(app.url, max(args.visitors), work / "downloads")
        crowd(people[:1], visit)  # warm-up
        print(f"model latency {args.latency:.1f} s; app concurrency {max(args.visitors)}")
        print("| visitors | wall (s) | median (s) | p95 (s) | wall / one visitor |")
        print("|---:|---:|---:|---:|---:|")
        one_visitor = None
        for count in args.visitors:
            run = crowd(people[:count], visit)
            one_visitor = one_visitor or run.wall
            median = statistics.median(run.latencies)
            print(f"| {count} | {run.wall:.2f} | {median:.2f} | {run.p95:.2f} | {run.wall / one_visitor:.2f} |")


if __name__ == "__main__":
    main()
