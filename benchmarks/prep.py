"""Scenario (b): input preparation alone (decode, check, downscale or re-encode, digest), per image and per set.

Prepared exactly as every edit prepares its inputs (`core.images.prepare_image`, and `EditRequest.create`
for a set of three); no network.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.inputs import photo_file
from core.images import prepare_image
from core.request import EditRequest


@dataclass(frozen=True)
class Case:
    """One input file and what preparing it must cost at most (milliseconds)."""

    label: str
    path: Path
    target_ms: float | None
    outcome: str = ""  # what preparation did to it, filled in after a run


def cases(folder: Path) -> list[Case]:
    """1 MP and 3072 px inputs as JPEG and PNG, and a 48 MP camera JPEG that must be downscaled."""
    return [
        Case("1 MP JPEG (1024x1024)", photo_file(folder, 1024, 1024, "JPEG", seed=11), 50),
        Case("1 MP PNG (1024x1024)", photo_file(folder, 1024, 1024, "PNG", seed=12), 50),
        Case("3072x3072 JPEG", photo_file(folder, 3072, 3072, "JPEG", seed=13), 400),
        Case("3072x3072 PNG", photo_file(folder, 3072, 3072, "PNG", seed=14), 400),
        Case("8000x6000 JPEG (downscaled)", photo_file(folder, 8000, 6000, "JPEG", seed=15), None),
    ]


def three_3072(folder: Path) -> list[Path]:
    """Three different 3072x3072 JPEGs, as one edit's inputs."""
    return [photo_file(folder, 3072, 3072, "JPEG", seed=seed) for seed in (21, 22, 23)]


def time_one(case: Case) -> tuple[float, str]:
    """Seconds to prepare `case` once, and a description of what was sent."""
    started = time.perf_counter()
    prepared = prepare_image(case.path, 1)
    seconds = time.perf_counter() - started
    how = "; ".join(prepared.notes) or "sent as it is"
    return seconds, f"{prepared.width}x{prepared.height} {prepared.mime}, {len(prepared.data) / 1e6:.1f} MB: {how}"


def time_set(paths: list[Path]) -> float:
    """Seconds for `EditRequest.create` to prepare `paths` as one edit's inputs."""
    started = time.perf_counter()
    EditRequest.create(list(paths), "combine Image 1, Image 2 and Image 3", seed=1)
    return time.perf_counter() - started


def profile(case: Case) -> list[tuple[str, float]]:
    """Where one preparation of `case` spends its time: the top functions by own time, as shares (0..1)."""
    profiler = cProfile.Profile()
    profiler.runcall(prepare_image, case.path, 1)
    stats = pstats.Stats(profiler)
    rows = [(function, entry[2]) for function, entry in stats.stats.items()]  # type: ignore[attr-defined]
    total = sum(seconds for _function, seconds in rows) or 1.0
    rows.sort(key=lambda row: row[1], reverse=True)
    return [(_name(function), seconds / total) for function, seconds in rows[:3]]


def _name(function: tuple[str, int, str]) -> str:
    """Pillow's C methods show up as "<method 'resize' of 'ImagingCore' objects>": keep the readable part."""
    _file, _line, name = function
    for noise in ("<method ", "<built-in method ", " objects>", ">", "'"):
        name = name.replace(noise, "")
    return name
