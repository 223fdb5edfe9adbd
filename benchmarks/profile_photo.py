"""Where the app's CPU goes under scenario (g)'s crowd: py-spy samples the running app while sixteen visitors
each get two photo-sized results through `/edit`, and each sample is put on the step it was spent in.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python -m benchmarks.profile_photo          # prints CPU ms per result for each step

A sample is counted for the innermost step its stack passes through (so hashing inside the download loop
counts as hashing, not as the download), py-spy only counts threads on the CPU, and the figures are per
result (the crowd's CPU seconds over its number of results).
"""

from __future__ import annotations

import argparse
import collections
import signal
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks import visitors
from benchmarks.inputs import photo_file
from benchmarks.photo_sized import PROMPT, PhotoConfig
from benchmarks.services import AppProcess, SimulatorProcess

RATE = 250  # samples per second

# (step, markers): a sample belongs to the innermost frame that contains one of a step's markers.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("receive the uploads (multipart, to Gradio's cache)", ("multipart", "upload (gradio/route", "FileUpload")),
    ("prepare the inputs (decode, check, encode)", ("core/request.py", "core/images.py")),
    ("the SDK call (request, wait, parse)", ("dashscope/",)),
    ("download: read the socket", ("iter_content", "urllib3/response.py", "http/client.py", "ssl.py")),
    ("hash and write while streaming", ("write (core/store.py)",)),
    ("fsync and rename", ("fsync", "_fsync_dir")),
    ("verify the PNG (structure and CRCs)", ("_verify_png",)),
    ("check the PNG as it streams", ("core/png_stream.py",)),
    ("the download loop itself", ("_fetch (core/downloads.py)",)),
    ("thumbnails", ("thumbnail (core/store.py)", "thumbnails")),
    ("history (SQLite)", ("core/history/",)),
    ("Gradio: postprocess the outputs", ("postprocess", "move_files_to_cache", "processing_utils")),
    ("Gradio: serve the results to the client", ("starlette/responses.py", "file_response", "FileResponse")),
    ("Gradio: queue, events, JSON", ("gradio/queueing.py", "gradio/route_utils.py", "orjson", "json")),
)


# Leaves of threads that wait: py-spy's --nonblocking cannot always tell them from running ones.
IDLE = ("Condition.wait", "select (selectors.py)", "_wait_for_tstate_lock", "block_thread", "Event.wait", "sleep")


def _step(stack: str) -> str | None:
    """The step a sample's stack was spent in; None for a waiting thread."""
    frames = stack.split(";")
    if any(marker in frames[-1] for marker in IDLE):
        return None
    for frame in reversed(frames):  # innermost first
        for name, markers in STEPS:
            if any(marker in frame for marker in markers):
                return name
    return "other (event loop, threads, imports)"


def profile(config: PhotoConfig, work: Path) -> tuple[dict[str, int], int]:
    """Samples per step while the crowd runs, and the number of results the crowd received."""
    inputs = (photo_file(work / "inputs", 1024, 1024, "JPEG", seed=5),)
    simulator = SimulatorProcess(latency=config.latency, bandwidth=config.bandwidth, noise=True, log=work / "sim.log")
    with simulator as sim, AppProcess(sim.base_url, work / "app", concurrency=config.crowd * 2) as app:
        # Connected before the sampling starts (a client's connection is not part of an edit); in this process, as
        # the app is what is sampled. New results each time, fetched at once as a browser's gallery does.
        people = visitors.clients(app.url, config.crowd, None)
        visit = visitors.Visit(inputs, PROMPT, n=config.crowd_n, size=config.size, seed=-1, fetch_to=work / "fetched")
        visitors.crowd(people, visit)  # warm-up: the app's first of everything
        raw = work / "profile.txt"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(app.pid),
                "--format",
                "raw",
                "--nolineno",
                "--rate",
                str(RATE),
                "--nonblocking",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(config.runs):
                visitors.crowd(people, visit)
        finally:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
    samples: dict[str, int] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        step = _step(stack) if stack else None
        if step is not None:
            samples[step] += int(count)
    return samples, config.runs * config.crowd * config.crowd_n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="crowds sampled (after one warm-up)")
    args = parser.parse_args()
    config = replace(PhotoConfig(), runs=args.runs)
    samples, results = profile(config, Path(tempfile.mkdtemp(prefix="qwen-profile-")))
    total = sum(samples.values())
    print(f"{results} results of {config.size}; {total / RATE:.1f} CPU s sampled in the app")
    print("| step | CPU ms per result | share |")
    print("|---|---:|---:|")
    for name, count in sorted(samples.items(), key=lambda item: -item[1]):
        print(f"| {name} | {count / RATE / results * 1000:.1f} | {count / total:.0%} |")
    print(f"| all | {total / RATE / results * 1000:.1f} | 100% |")


if __name__ == "__main__":
    main()
