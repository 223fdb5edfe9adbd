"""Every benchmark in one run, against the simulator: a table, docs/benchmarks.md and a plot.

    python -m benchmarks.run            # the full run (about 10 minutes on 2 cores), writes docs/
    python -m benchmarks.run --quick    # a smoke run in about a minute, writes to a temp dir

Needs the `bench` extra (matplotlib): `pip install -e ".[bench]"`. Only loopback addresses are contacted:
a simulator process (model latency, per-connection bandwidth) and `python app.py` processes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from gradio_client import handle_file

from benchmarks import (
    memory,
    one_edit,
    photo_sized,
    prep,
    region_pipeline,
    regions,
    reopen,
    replicas,
    startup,
    visitors,
)
from benchmarks.figures import Figure, Report, Row, Target, percentile, ratios, table
from benchmarks.inputs import photo_file
from benchmarks.note import markdown
from benchmarks.report import plot
from benchmarks.services import AppProcess, SimulatorProcess, machine_busy_seconds
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


@dataclass(frozen=True)
class Config:
    """What a run measures and how often."""

    latency: float = 8.0  # model seconds per call
    bandwidth: float = 1_000_000  # bytes/s per download connection
    runs: int = 3  # runs of the slow scenarios (a, c)
    fast_runs: int = 7  # runs of the fast ones (b, d)
    start_runs: int = 5  # cold starts (e)
    n: int = 6
    size: str = "2048*2048"
    crowd_sizes: tuple[int, ...] = (1, 8, 32)
    crowd_n: int = 2
    concurrency: int = 32  # QWEN_EDIT_CONCURRENCY of the app under test: every visitor of the largest crowd at once
    history_edits: int = 200


FULL = Config()
QUICK = Config(
    latency=1.0,
    bandwidth=4_000_000,
    runs=1,
    fast_runs=2,
    start_runs=1,
    n=2,
    size="1024*1024",
    crowd_sizes=(1, 4),
    concurrency=4,
    history_edits=40,
)


def scenario_a(report: Report, config: Config, work: Path, simulator: SimulatorProcess) -> None:
    """One edit through core and the baseline, run by run, against the physical limit."""
    inputs = tuple(photo_file(work / "inputs", 1024, 1024, "JPEG", seed=seed) for seed in (1, 2, 3))
    job = one_edit.Job(inputs, config.n, config.size)
    studio = one_edit.studio_for(simulator.base_url, work / "core-data")
    ours, theirs, limits = [], [], []
    try:
        one_edit.ours(studio, job, seed=1)  # warm-up: imports, first connections, SQLite
        for run in range(config.runs):
            seed = 100 + run  # ours and the baseline get the same results, so the same bytes to download
            ours.append(one_edit.ours(studio, job, seed))
            theirs.append(one_edit.theirs(simulator.base_url, job, seed, work / "baseline" / str(run)))
            limits.append(one_edit.physical_limit(config.latency, config.bandwidth, ours[-1].result_bytes))
            _progress(f"(a) run {run + 1}: ours {ours[-1].total:.2f} s, baseline {theirs[-1].total:.2f} s")
    finally:
        studio.close()  # its background thumbnails are made by now: they are taken away before each is timed
    thumbnails = []
    for run in ours:  # each result's first thumbnail, as the background (or a History page) makes it
        for cached in studio.store.thumbs.glob(f"{run.result_sha256[0]}-*.jpg"):
            cached.unlink()
        started = time.perf_counter()
        studio.store.thumbnail(run.result_sha256[0], "png")
        thumbnails.append(time.perf_counter() - started)
    renders = [one_edit.render_seconds(job, seed=100 + run) for run in range(config.runs)]
    limit = Figure.of(limits)
    mine = Figure.of(run.total for run in ours)
    base = Figure.of(run.total for run in theirs)
    largest = max(max(run.result_bytes) for run in ours)
    report.add(Row("a", "physical limit: model latency + slowest single download", limit, "s"))
    report.add(Row("a", "ours (core): input files -> every result saved", mine, "s"))
    report.add(Row("a", "baseline (benchmarks/baseline.py)", base, "s"))
    report.add(Row("a", "ours / physical limit", ratios(mine, limit), "x", Target(1.10)))
    report.add(Row("a", "baseline / ours (speed-up)", ratios(base, mine), "x", Target(3.0, at_most=False)))
    phases = {
        name: Figure.of(getattr(run, name) for run in ours) for name in ("prep", "record", "call", "download", "finish")
    }
    report.facts["a"] = {
        "job": job,
        "largest_mb": largest / 1e6,
        "phases": phases,
        "baseline_phases": {
            name: Figure.of(getattr(run, name) for run in theirs) for name in ("encode", "call", "download")
        },
        "ceiling": _ceiling(config.latency, config.n, largest, config.bandwidth),
        "ceiling_2mbs": _ceiling(config.latency, config.n, largest, 2_000_000),
        "render": Figure.of(renders),
    }
    report.add(
        Row(
            "d",
            f"thumbnail of one {config.size.replace('*', 'x')} result, made the first time",
            Figure.of(thumbnails).scaled(1000),
            "ms",
        )
    )


def _ceiling(latency: float, n: int, largest: int, bandwidth: float) -> float:
    """The best speed-up any client can have over a sequential one: (latency + n downloads) / (latency + one)."""
    download = largest / bandwidth
    return (latency + n * download) / (latency + download)


def scenario_a_app(report: Report, config: Config, work: Path, app: AppProcess) -> list[str]:
    """The same edit through `/edit` of the running app; returns the app-side paths of its results."""
    inputs = tuple(photo_file(work / "inputs", 1024, 1024, "JPEG", seed=seed) for seed in (1, 2, 3))
    (client,) = visitors.clients(app.url, 1, work / "downloads-a")
    visit = visitors.Visit(inputs, one_edit.PROMPT, n=config.n, size=config.size, seed=1)
    visit.run(client)  # warm-up
    seconds, files = [], []
    for run in range(config.runs):
        visit = replace(visit, seed=100 + run)
        started = time.perf_counter()
        client.predict(
            *[handle_file(str(path)) for path in inputs],
            prompt=visit.prompt,
            size=visit.size,
            n=visit.n,
            seed=visit.seed,
            api_name="/edit",
        )
        seconds.append(time.perf_counter() - started)
        _progress(f"(a) through the app, run {run + 1}: {seconds[-1]:.2f} s")
    _images, record = client.predict(
        *[handle_file(str(path)) for path in inputs],
        prompt="once more",
        size=config.size,
        n=1,
        seed=7,
        api_name="/edit",
    )
    files = list(record["files"])
    through_app = Figure.of(seconds)
    limit = report.find("a", "physical limit: model latency + slowest single download")
    report.add(Row("a", "ours through the app: /edit with gradio_client", through_app, "s"))
    if limit is not None:
        report.add(Row("a", "through the app / physical limit", ratios(through_app, limit.figure), "x"))
    return files


def scenario_b(report: Report, config: Config, work: Path) -> None:
    """Input preparation, per image and for three 3072 px inputs at once."""
    folder = work / "inputs"
    outcomes = {}
    for case in prep.cases(folder):
        prep.time_one(case)  # warm-up: Pillow plugins, first allocation
        samples = []
        for _ in range(config.fast_runs):
            seconds, outcome = prep.time_one(case)
            samples.append(seconds)
        outcomes[case.label] = outcome
        target = Target(case.target_ms) if case.target_ms else Target(400)
        report.add(Row("b", case.label, Figure.of(samples).scaled(1000), "ms", target))
    three = prep.three_3072(folder)
    prep.time_set(three)
    samples = [prep.time_set(three) for _ in range(config.fast_runs)]
    report.add(Row("b", "three 3072x3072 JPEGs, one edit", Figure.of(samples).scaled(1000), "ms", Target(3 * 400)))
    by_label = {case.label: case for case in prep.cases(folder)}
    slowest = max((r for r in report.rows if r.label in by_label), key=lambda r: r.figure.median)
    case = by_label[slowest.label]
    report.facts["b"] = {"outcomes": outcomes, "slowest": case.label, "profile": prep.profile(case)}
    _progress("(b) done")


def scenario_c_f(report: Report, config: Config, work: Path, app: AppProcess, simulator: SimulatorProcess) -> None:
    """Crowds through the app: wall time and p95 against one user (c), and the app's peak memory (f)."""
    sizes = config.crowd_sizes
    people = visitors.clients(app.url, max(sizes), work / "downloads-c")
    visit = visitors.Visit((photo_file(work / "inputs", 1024, 1024, "JPEG", seed=31),), n=config.crowd_n)
    visitors.crowd(people, visit)  # warm-up at full size: thread pools, connections, caches
    observed: dict[int, list[visitors.ObservedCrowd]] = {size: [] for size in sizes}
    for run in range(config.runs):
        for size in sizes:
            seen = visitors.observed_crowd(app, simulator, people[:size], visit)
            observed[size].append(seen)
            _progress(
                f"(c) run {run + 1}, {size} users: wall {seen.run.wall:.2f} s, p95 {seen.run.p95:.2f} s, "
                f"peak RSS {seen.peak_rss / MB:.0f} MB"
            )
    one = Figure.of(seen.run.wall for seen in observed[sizes[0]])
    figures: dict[int, dict[str, Figure]] = {}
    for size in sizes:
        runs = observed[size]
        figures[size] = {
            "wall": Figure.of(seen.run.wall for seen in runs),
            "p95": Figure.of(seen.run.p95 for seen in runs),
            "peak_mb": Figure.of(seen.peak_rss / MB for seen in runs),
            "idle_mb": Figure.of(seen.rss_before / MB for seen in runs),
            "per_request_mb": Figure.of((seen.peak_rss - seen.rss_before) / MB / size for seen in runs),
            "studio_p95": Figure.of(percentile(seen.run.studio, 0.95) for seen in runs),
        }
    for size in sizes:
        report.add(Row("c", f"{size} user{'s' if size > 1 else ''}: wall time", figures[size]["wall"], "s"))
    for size in sizes[1:]:
        target = Target(1.3) if size == sizes[-1] else None
        report.add(Row("c", f"{size} users: wall / one user's wall", ratios(figures[size]["wall"], one), "x", target))
    for size in sizes:
        report.add(Row("c", f"{size} user{'s' if size > 1 else ''}: p95 latency", figures[size]["p95"], "s"))
    for size in (sizes[0], sizes[-1]):
        label = f"{size} user{'s' if size > 1 else ''}: p95 of the edit inside the app (Studio.edit)"
        report.add(Row("c", label, figures[size]["studio_p95"], "s"))
    largest = sizes[-1]
    report.add(Row("c", f"{largest} users: p95 / one user's latency", ratios(figures[largest]["p95"], one), "x"))
    report.add(Row("f", "app RSS before a crowd", figures[sizes[0]]["idle_mb"], "MB"))
    for size in sizes:
        report.add(Row("f", f"peak RSS, {size} user{'s' if size > 1 else ''}", figures[size]["peak_mb"], "MB"))
    per_request = figures[largest]["per_request_mb"]
    report.add(Row("f", f"peak above idle per concurrent request ({largest} users)", per_request, "MB"))
    bound = Figure.of(
        idle + config.concurrency * extra
        for idle, extra in zip(figures[largest]["idle_mb"].values, per_request.values, strict=True)
    )
    report.add(Row("f", f"bound: idle + concurrency limit ({config.concurrency}) x per request", bound, "MB"))
    cpu = {name: statistics.median(seen.cpu[name] for seen in observed[largest]) for name in observed[largest][0].cpu}
    in_order = [observed[size][run].rss_before / MB for run in range(config.runs) for size in sizes]
    report.facts["c"] = {"sizes": sizes, "cpu": cpu, "visit": visit, "largest": largest, "rss_before": in_order}
    report.facts["crowd_figures"] = figures


def scenario_c_default(report: Report, config: Config, work: Path, simulator: SimulatorProcess) -> None:
    """The largest crowd again, against an app at the default concurrency (QWEN_EDIT_CONCURRENCY unset)."""
    largest = config.crowd_sizes[-1]
    default = Settings().concurrency
    if largest <= default:
        return
    with AppProcess(simulator.base_url, work / "default-concurrency") as app:
        people = visitors.clients(app.url, largest, work / "downloads-c16")
        visit = visitors.Visit((photo_file(work / "inputs", 1024, 1024, "JPEG", seed=31),), n=config.crowd_n)
        visitors.crowd(people[:1], visit)  # warm-up
        walls = []
        for run in range(config.runs):
            walls.append(visitors.crowd(people, visit).wall)
            _progress(f"(c) run {run + 1}, {largest} users at the default concurrency {default}: {walls[-1]:.2f} s")
    one = report.facts["crowd_figures"][config.crowd_sizes[0]]["wall"]
    report.add(
        Row(
            "c",
            f"{largest} users, default concurrency {default}: wall / one user's",
            ratios(Figure.of(walls), one),
            "x",
        )
    )


def scenario_d(report: Report, config: Config, work: Path) -> None:
    """Reopening edits and the first page of a long history, through core."""
    archive = reopen.build(work / "history-data", config.history_edits)
    _progress(f"(d) history of {config.history_edits} edits built")
    cold = []
    for _ in range(config.fast_runs):
        reopen.forget_thumbnails(archive)
        cold.append(reopen.time_call(reopen.first_page, archive))
    warm = [reopen.time_call(reopen.first_page, archive) for _ in range(config.fast_runs)]
    picks = reopen.pick(archive, config.fast_runs + 1)
    reopen.reopen(archive, picks[0])  # warm-up
    reopened = [reopen.time_call(reopen.reopen, archive, edit_id) for edit_id in picks[1:]]
    edits = config.history_edits
    report.add(
        Row(
            "d",
            "reopen an edit from history (record, touch, 4 files)",
            Figure.of(reopened).scaled(1000),
            "ms",
            Target(100),
        )
    )
    report.add(
        Row(
            "d", f"first page of {edits} edits (24, thumbnails cached)", Figure.of(warm).scaled(1000), "ms", Target(100)
        )
    )
    report.add(
        Row("d", f"first page of {edits} edits, thumbnails made now", Figure.of(cold).scaled(1000), "ms", Target(100))
    )


def scenario_d_app(report: Report, config: Config, app: AppProcess, files: list[str]) -> None:
    """A result already saved, fetched again from the app the way the page shows it."""
    url = f"{app.url}gradio_api/file={files[0]}"
    _fetch(url)
    samples = []
    for _ in range(config.fast_runs):
        started = time.perf_counter()
        size = _fetch(url)
        samples.append(time.perf_counter() - started)
    report.add(
        Row(
            "d",
            f"a cached {config.size.replace('*', 'x')} result served by the app",
            Figure.of(samples).scaled(1000),
            "ms",
            Target(100),
        )
    )
    report.facts["d"] = {"served_mb": size / 1e6}


def scenario_e(report: Report, config: Config, work: Path) -> None:
    """`python app.py` to the first page, and `import gradio` alone."""
    starts, imports = [], []
    for run in range(config.start_runs):  # in turn, so both see the same conditions
        starts.append(startup.cold_start(work))
        imports.append(startup.import_gradio())
        _progress(f"(e) cold start {run + 1}: {starts[-1]:.2f} s (import gradio alone {imports[-1]:.2f} s)")
    report.add(Row("e", "python app.py -> first page served", Figure.of(starts), "s", Target(4.0)))
    report.add(Row("e", "of which: import gradio alone", Figure.of(imports), "s"))


def _fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        return len(response.read())


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def cpu_check() -> float:
    """Milliseconds of a fixed piece of CPU work (the best of three): a page's figures are comparable with
    another's only where the machine ran this as fast."""
    data = bytes(32 << 20)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(2_000_000):
            total += number
        hashlib.sha256(data).digest()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def machine_facts(config: Config) -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "machine": f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": ", ".join(f"{name} {version(name)}" for name in ("gradio", "gradio_client", "dashscope", "pillow")),
        "config": config,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: short latency, one run each, small crowds")
    parser.add_argument("--out", type=Path, help="where to write benchmarks.md and benchmarks.png (default: docs/)")
    parser.add_argument("--runs", type=int, help="runs of the slow scenarios (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for other processes to leave the CPU (a shared machine)",
    )
    parser.add_argument("--only", nargs="+", choices=list("abcdefg"), help="run only these scenarios (f comes with c)")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    if args.runs:
        config = replace(config, runs=args.runs)
    out = args.out or (Path(tempfile.mkdtemp(prefix="qwen-bench-out-")) if args.quick else ROOT / "docs")
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    work = Path(tempfile.mkdtemp(prefix="qwen-bench-"))
    report = Report(facts=machine_facts(config))
    speed_before = cpu_check()
    started, busy_before, own_before = time.perf_counter(), machine_busy_seconds(), _own_cpu()
    load_before = os.getloadavg()[0]
    try:
        wanted = set(args.only or "abcdefg") | ({"c"} if args.only and "f" in args.only else set())
        if "b" in wanted:
            scenario_b(report, config, work)
        if "d" in wanted:
            scenario_d(report, config, work)
        if "e" in wanted:
            scenario_e(report, config, work)
        with SimulatorProcess(latency=config.latency, bandwidth=config.bandwidth, log=work / "simulator.log") as sim:
            if "a" in wanted:
                scenario_a(report, config, work, sim)
            if wanted & {"a", "c", "d"}:
                with AppProcess(sim.base_url, work, concurrency=config.concurrency) as app:
                    if wanted & {"a", "d"}:
                        files = scenario_a_app(report, config, work, app)
                        scenario_d_app(report, config, app, files)
                    if "c" in wanted:
                        scenario_c_f(report, config, work, app, sim)
            if "c" in wanted:
                scenario_c_default(report, config, work, sim)
        if "g" in wanted:  # its own simulator (photo-sized results) and app
            photo_sized.scenario_g(report, photo_sized.QUICK if args.quick else photo_sized.FULL, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    other = max(0.0, machine_busy_seconds() - busy_before - (_own_cpu() - own_before))
    report.facts["run"] = {
        "seconds": elapsed,
        "other_cores": other / elapsed,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "cpu_check_ms": (speed_before, cpu_check()),
    }
    report.rows.sort(key=lambda row: row.scenario)  # stable: each scenario keeps its own order
    print(table(report.rows))
    out.mkdir(parents=True, exist_ok=True)
    plot(report, out / "benchmarks.png")
    page, previous = markdown(report, image="benchmarks.png"), out / "benchmarks.md"
    # The memory, region and replica sections come from their own commands (benchmarks/memory.py, regions.py,
    # region_pipeline.py, replicas.py): kept from the page it replaces.
    old = previous.read_text() if previous.exists() else ""
    for heading in (memory.SECTION, regions.SECTION, region_pipeline.SEAMS, region_pipeline.OVERHEAD, replicas.SECTION):
        kept = memory.kept_section(old, heading)
        page = memory.with_section(page, kept, heading) if kept else page
    previous.write_text(page)
    print(f"\nwrote {out / 'benchmarks.md'} and {out / 'benchmarks.png'} in {elapsed / 60:.1f} min", file=sys.stderr)
    missed = [row for row in report.rows if row.met is False]
    return 1 if missed and not args.quick else 0


def wait_for_quiet(limit: float, *, threshold: float = 0.25, window: float = 5.0) -> None:
    """Wait (at most `limit` seconds) until other processes use under `threshold` cores over `window` seconds."""
    deadline = time.perf_counter() + limit
    while True:
        busy = machine_busy_seconds()
        time.sleep(window)
        cores = (machine_busy_seconds() - busy) / window
        if cores < threshold:
            _progress(f"the machine is quiet ({cores:.2f} cores busy)")
            return
        if time.perf_counter() > deadline:
            _progress(f"still {cores:.2f} cores busy elsewhere; measuring anyway")
            return
        _progress(f"waiting for a quiet machine: {cores:.2f} cores busy elsewhere")


def _own_cpu() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


if __name__ == "__main__":
    sys.exit(main())
