"""Region edits, registration: how well each method undoes the simulator's drift, and how long it takes.

    python -m benchmarks.regions            # the table, printed (about a minute on 2 cores)
    python -m benchmarks.regions --write    # and put in docs/benchmarks.md, section "Region edits: registration"

Each case is an image at about 1 MP (structured test images made with Pillow, and the bundled photos in
assets/examples resampled to about 1 MP) with an ellipse inside it changed, rendered by the simulator's own
renderer with a known drift (shift, zoom, colour gain and offset), then its tint, grain, caption band and
"SIMULATED" mark. Each method estimates the drift from the original and the output with the ellipse masked
out; the error is against the drift injected.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from benchmarks import memory
from benchmarks.inputs import photo
from core.regions import register
from core.simulator.config import Drift
from core.simulator.render import RenderJob, render_all

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmarks.md"
SECTION = "## Region edits: registration"
PHOTOS = ("astronaut.jpg", "cat.jpg", "coffee.jpg", "rocket.jpg", "sign.png")
SHIFTS = (-24.0, -13.6, -5.25, 0.0, 3.4, 9.8, 17.3, 24.0)
ZOOMS = (-0.03, -0.017, -0.006, 0.0, 0.008, 0.021, 0.03)
CASES_PER_IMAGE = 8
PROMPT = "replace the ellipse with a bouquet of flowers"


@dataclass(frozen=True)
class Case:
    """One registration problem with its known answer."""

    name: str
    reference: np.ndarray
    moving: np.ndarray
    valid: np.ndarray
    drift: Drift


@dataclass(frozen=True)
class Outcome:
    """One method's errors over a group of cases."""

    method: str
    group: str
    shift_errors: list[float]  # px
    scale_errors: list[float]  # percentage points
    fallbacks: int
    seconds: list[float]


def images() -> dict[str, Image.Image]:
    """The test images, each at about 1 MP with sides in multiples of 16."""
    found = {f"structured {seed}": photo(1024, 1024, seed) for seed in (1, 2)}
    found["structured text"] = _text_card()
    for name in PHOTOS:
        with Image.open(ROOT / "assets" / "examples" / name) as image:
            found[name] = _about_one_megapixel(image.convert("RGB"))
    return found


def _about_one_megapixel(image: Image.Image) -> Image.Image:
    k = (1024 * 1024 / (image.width * image.height)) ** 0.5
    size = (round(image.width * k / 16) * 16, round(image.height * k / 16) * 16)
    return image.resize(size, Image.Resampling.LANCZOS)


def _text_card() -> Image.Image:
    """A poster-like card: flat panels and lines of text, the hard case for area methods."""
    image = Image.new("RGB", (1184, 880), (236, 230, 218))
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(5)
    for _ in range(14):
        x, y = rng.integers(0, 1100), rng.integers(0, 800)
        w, h = rng.integers(60, 300), rng.integers(40, 200)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    for row in range(12):
        draw.text((40, 40 + row * 66), "Region edits keep every other pixel " * 2, fill=(20, 20, 20), font_size=30)
    return image


def cases(image: Image.Image, name: str, pool: ThreadPoolExecutor, seed: int) -> list[Case]:
    """CASES_PER_IMAGE drifts of `image` from the grid, each with a changed ellipse masked out."""
    rng = np.random.default_rng(seed)
    width, height = image.size
    box = (int(width * 0.35), int(height * 0.3), int(width * 0.65), int(height * 0.62))
    mask = Image.new("L", image.size)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    changed = Image.composite(ImageOps.invert(image).rotate(90), image, mask)
    valid = np.asarray(mask) == 0
    found = []
    for number in range(CASES_PER_IMAGE):
        drift = Drift(
            dx=float(rng.choice(SHIFTS)),
            dy=float(rng.choice(SHIFTS)),
            zoom=float(rng.choice(ZOOMS)),
            gain=tuple(float(v) for v in rng.uniform(0.85, 1.15, 3)),
            offset=tuple(float(v) for v in rng.uniform(-12, 12, 3)),
        )
        job = RenderJob((changed,), PROMPT, seed * 100 + number, image.size, drift=drift)
        (png,) = render_all(job, 1, pool)
        moving = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        found.append(Case(f"{name} #{number}", np.asarray(image), moving, valid, drift))
    return found


def measure(method: str, group: str, chosen: list[Case]) -> Outcome:
    """`method`'s estimate of every case in `chosen`, against the drift injected."""
    estimator = register.ESTIMATORS[method]
    shift_errors, scale_errors, seconds, fallbacks = [], [], [], 0
    for case in chosen:
        started = time.perf_counter()
        found = register.estimate_with(estimator, case.reference, case.moving, case.valid)
        seconds.append(time.perf_counter() - started)
        fallbacks += found.method.startswith("identity")
        shift_errors.append(float(np.hypot(found.dx - case.drift.dx, found.dy - case.drift.dy)))
        scale_errors.append(abs(found.scale - (1 + case.drift.zoom)) * 100)
    return Outcome(method, group, shift_errors, scale_errors, fallbacks, seconds)


def table(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| method | images | shift error: median | worst | zoom error: median | worst | fell back to identity "
        "| time per estimate (median) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        lines.append(
            f"| {'**' + o.method + '** (chosen)' if o.method == register.CHOSEN else o.method} | {o.group} "
            f"| {statistics.median(o.shift_errors):.2f} px | {max(o.shift_errors):.2f} px "
            f"| {statistics.median(o.scale_errors):.3f} % | {max(o.scale_errors):.3f} % "
            f"| {o.fallbacks} of {len(o.seconds)} | {statistics.median(o.seconds) * 1000:.0f} ms |"
        )
    return lines


def section(outcomes: list[Outcome], count: int, names: list[str]) -> str:
    return "\n".join(
        [
            SECTION,
            "",
            "```bash",
            ".venv/bin/python -m benchmarks.regions --write   # this section (about 2 minutes on 2 cores)",
            "```",
            "",
            f"{count} cases: {len(names)} images at about 1 MP ({', '.join(names)}), {CASES_PER_IMAGE} drifts each,",
            f"drawn from shifts of {', '.join(f'{s:g}' for s in SHIFTS)} px (each axis), zooms of",
            f"{', '.join(f'{z * 100:g}' for z in ZOOMS)} %, per-channel gain 0.85..1.15 and offset ±12; each",
            "rendered by the simulator's renderer (`core.simulator.render`, so with its tint, grain, caption band",
            "and mark, none of which the input has) with an ellipse of about 8 % of the picture repainted and",
            "masked out. Errors are against the injected drift: shift as a distance in px at about 1 MP, zoom in",
            "percentage points. Goal: median <= 0.5 px and <= 0.2 %. Times are on this 2-core machine while",
            "other work shared it, so read them as relative.",
            "",
            *table(outcomes),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"put the table in {PAGE.relative_to(ROOT)}")
    parser.add_argument("--methods", nargs="*", default=list(register.ESTIMATORS), help="the methods to measure")
    args = parser.parse_args()
    found = images()
    with ThreadPoolExecutor(max_workers=2) as pool:
        groups: dict[str, list[Case]] = {"structured": [], "photos": []}
        for number, (name, image) in enumerate(found.items()):
            group = "structured" if name.startswith("structured") else "photos"
            groups[group].extend(cases(image, name, pool, number + 1))
    outcomes = [measure(method, group, chosen) for method in args.methods for group, chosen in groups.items()]
    print("\n".join(table(outcomes)))
    if args.write:
        text = section(outcomes, sum(map(len, groups.values())), list(found))
        PAGE.write_text(memory.with_section(PAGE.read_text(), text, SECTION))


if __name__ == "__main__":
    main()
