"""Scenario (a): one edit, timed from the input files on disk to every result saved, ours against the baseline.

Ours is core as the app runs it (`EditRequest.create` then `Studio.edit`: inputs checked and kept, the call,
parallel downloads into the content store, history written at each step). The physical limit is what no
client can beat: the model's latency plus the slowest single download at the per-connection bandwidth.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from benchmarks import baseline
from benchmarks.services import BENCH_KEY
from core.request import EditRequest
from core.settings import Settings, parse_rate_limits
from core.simulator.render import RenderJob, render_all
from core.sizes import Size
from core.studio import Progress, Stage, Studio

PROMPT = "the person in Image 1 wears the jacket of Image 2, standing in the street of Image 3"


@dataclass(frozen=True)
class Job:
    """What scenario (a) asks for."""

    inputs: tuple[Path, ...]
    n: int
    size: str
    prompt: str = PROMPT


@dataclass(frozen=True)
class OursRun:
    """Seconds per phase of one edit through core, and the bytes of each result."""

    prep: float  # EditRequest.create: decode, check, encode
    record: float  # history row and inputs kept in the store, before the call
    call: float  # the SDK call, until the links arrive
    download: float  # links -> last result saved (fsync'd, verified, in history)
    finish: float  # after the last result: quotas, the returned record
    result_bytes: tuple[int, ...]
    result_sha256: tuple[str, ...]

    @property
    def total(self) -> float:
        return self.prep + self.record + self.call + self.download + self.finish


def studio_for(base_url: str, data_dir: Path) -> Studio:
    """A studio that treats the simulator as DashScope (a key and a base URL), as the app would, but unpaced (the
    simulator has no account limits)."""
    settings = Settings(
        api_key=BENCH_KEY,
        base_url_override=base_url,
        data_dir=data_dir,
        rate_limit_per_hour=100_000,
        rate_limits=parse_rate_limits("qwen-image-edit-plus=off"),
    )
    return Studio(settings)


def ours(studio: Studio, job: Job, seed: int) -> OursRun:
    """One edit through core, with the time of each phase."""
    marks: dict[Stage, float] = {}

    def on_progress(step: Progress) -> None:
        marks[step.stage] = time.perf_counter()  # SAVED keeps the last result's time

    started = time.perf_counter()
    request = EditRequest.create(list(job.inputs), job.prompt, n=job.n, size=job.size, seed=seed)
    prepared = time.perf_counter()
    result = studio.edit(request, on_progress=on_progress)
    ended = time.perf_counter()
    if len(result.images) != job.n:
        raise RuntimeError(f"asked for {job.n} results, saved {len(result.images)}: {result.failures}")
    return OursRun(
        prep=prepared - started,
        record=marks[Stage.CALLING] - prepared,
        call=marks[Stage.DOWNLOADING] - marks[Stage.CALLING],
        download=marks[Stage.SAVED] - marks[Stage.DOWNLOADING],
        finish=ended - marks[Stage.SAVED],
        result_bytes=tuple(image.size_bytes for image in result.images),
        result_sha256=tuple(image.sha256 for image in result.images),
    )


def theirs(base_url: str, job: Job, seed: int, out: Path) -> baseline.BaselineRun:
    """The same edit the straightforward way (benchmarks/baseline.py)."""
    return baseline.edit(
        list(job.inputs), job.prompt, base_url=base_url, api_key=BENCH_KEY, out=out, n=job.n, size=job.size, seed=seed
    )


def render_seconds(job: Job, seed: int) -> float:
    """What the simulator's own rendering of this job's results costs, measured in this process (no cache):
    it runs inside the model latency, so it must stay under it."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        inputs = []
        for path in job.inputs:
            with Image.open(path) as image:
                inputs.append(image.convert("RGB"))
        size = Size.from_text(job.size)
        render_job = RenderJob(tuple(inputs), job.prompt, seed, (size.width, size.height))
        started = time.perf_counter()
        render_all(render_job, job.n, pool)
        return time.perf_counter() - started


def physical_limit(latency: float, bandwidth: float, result_bytes: tuple[int, ...]) -> float:
    """Model latency plus the slowest single download: what a perfect client would take."""
    return latency + max(result_bytes) / bandwidth
