"""Region edits, the pipeline: seams of a naive paste against ours, and the overhead on a 24 MP photo.

    python -m benchmarks.region_pipeline            # the tables, printed (about a minute on 2 cores)
    python -m benchmarks.region_pipeline --write    # and put in docs/benchmarks.md (two sections) with
                                                    # docs/region-seams.png

Seams: each bundled photo (assets/examples, enlarged 3x so a mask's box is sent smaller than it is) with a
mask, planned by `RegionPlan`; the crop sent is rendered by the simulator's renderer with a known drift and
no change asked for (a null edit: the ideal composite is the original itself, so whatever differs is the
pipeline's doing). NAIVE resizes the raw output to the box and pastes it hard inside the mask (no
registration, no colour match, no feather); OURS is `RegionPlan.compose`.

Overhead: a 6000x4000 JPEG (a bundled photo enlarged, with grain; quality 92) and a 300x300 mask, through
`EditRequest.create` and `compose` in a fresh process (for its memory peak).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from benchmarks import memory
from core import catalog
from core.regions.plan import RegionPlan, RegionSettings
from core.simulator.config import Drift
from core.simulator.render import RenderJob, render_all

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmarks.md"
PICTURE = ROOT / "docs" / "region-seams.png"
SEAMS = "## Region edits: seams"
OVERHEAD = "## Region edits: overhead on 24 MP"
PHOTOS = ("astronaut.jpg", "cat.jpg", "coffee.jpg", "rocket.jpg", "sign.png")
DRIFT = Drift(dx=9.8, dy=-5.25, zoom=0.012, gain=(1.08, 0.95, 1.03), offset=(6.0, -4.0, 3.0))
PROMPT = "leave the picture as it is"
BIG = (6000, 4000)
BIG_MASK = 300
SEAM_BAND = 3  # px each side of the mask's edge where a hard paste's step shows


@dataclass(frozen=True)
class Seam:
    """One case's figures, naive and ours."""

    name: str
    mask: str
    box: str
    energy: tuple[float, float, float]  # gradient energy in the band: original, naive, ours
    step: tuple[float, float]  # gradient energy of the (blurred) difference from the original in the band
    edge_error: tuple[float, float]  # mean abs error against the original within SEAM_BAND of the edge
    inside_error: tuple[float, float]  # mean abs error inside the mask (the null edit: against the original)
    outside_error: tuple[float, float]  # mean abs error in the box outside the mask
    kept: tuple[int, int]  # pixels outside mask + feather: identical to the input, of all of them
    registered: str  # the transform compose found (DRIFT is the answer)


def _mask(size: tuple[int, int], shape: str) -> np.ndarray:
    width, height = size
    image = Image.new("L", size)
    draw = ImageDraw.Draw(image)
    if shape == "ellipse":
        draw.ellipse((width * 0.38, height * 0.32, width * 0.64, height * 0.6), fill=255)
    elif shape == "rectangle":
        draw.rectangle((width * 0.2, height * 0.55, width * 0.42, height * 0.8), fill=255)
    else:  # a freehand-like blob
        points = [
            (width * (0.6 + 0.12 * np.cos(t) * (1 + 0.25 * np.sin(3 * t))), height * (0.3 + 0.1 * np.sin(t)))
            for t in np.linspace(0, 2 * np.pi, 40, endpoint=False)
        ]
        draw.polygon(points, fill=255)
    return np.asarray(image) > 127


def _simulated(plan: RegionPlan, pool: ThreadPoolExecutor, seed: int) -> Image.Image:
    """The simulator's output for the crop sent, drifted by DRIFT, with nothing changed."""
    crop = plan.crop()
    (png,) = render_all(RenderJob((crop,), PROMPT, seed, crop.size, drift=DRIFT), 1, pool)
    return Image.open(io.BytesIO(png)).convert("RGB")


def naive(original: Image.Image, raw: Image.Image, plan: RegionPlan) -> np.ndarray:
    """The raw output resized to the box and pasted hard inside the mask."""
    box = plan.box
    result = np.asarray(original).copy()
    patch = np.asarray(raw.resize((box.width, box.height), Image.Resampling.LANCZOS))
    region = result[box.slices()]
    region[plan.mask] = patch[plan.mask]
    return result


def _energy(image: np.ndarray, where: np.ndarray) -> float:
    """Mean squared Sobel magnitude of `image` (grey) at `where`."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.mean((gx * gx + gy * gy)[where]))


def _step(image: np.ndarray, original: np.ndarray, where: np.ndarray) -> float:
    """Mean squared Sobel magnitude at `where` of the difference from the original, blurred (sigma 2 px) so
    the simulator's per-pixel grain drops out and a seam's step stays."""
    difference = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) - cv2.cvtColor(
        original, cv2.COLOR_RGB2GRAY
    ).astype(np.float32)
    smooth = cv2.GaussianBlur(difference, (0, 0), 2.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.mean((gx * gx + gy * gy)[where]))


def _error(image: np.ndarray, original: np.ndarray, where: np.ndarray) -> float:
    return float(np.mean(np.abs(image.astype(np.int16) - original.astype(np.int16))[where]))


def _distances(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's distance to the mask (0 inside) and to the outside (0 outside)."""
    out = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return out, inside


def kept_pixels(composite: np.ndarray, original: np.ndarray, mask: np.ndarray, feather: int) -> tuple[int, int]:
    """Pixels outside the mask and its feather band identical to the original's, and how many there are."""
    out, _inside = _distances(mask)
    beyond = out > feather
    same = np.all(composite == original, axis=-1) if composite.ndim == 3 else composite == original
    return int(np.count_nonzero(same & beyond)), int(np.count_nonzero(beyond))


def seams() -> tuple[list[Seam], Image.Image]:
    """Every photo with each mask shape: naive and ours, and the picture of the first cases."""
    settings = RegionSettings()
    model = catalog.get_model(catalog.DEFAULT_MODEL)
    found, tiles = [], []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for number, name in enumerate(PHOTOS):
            with Image.open(ROOT / "assets" / "examples" / name) as image:
                base = image.convert("RGB")
            original = base.resize((base.width * 3, base.height * 3), Image.Resampling.LANCZOS)
            pixels = np.asarray(original)
            for shape in ("ellipse", "rectangle", "blob"):
                mask = _mask(original.size, shape)
                plan = RegionPlan(original, mask, model, settings)
                raw = _simulated(plan, pool, number + 1)
                composite = plan.compose(raw)
                ours = np.asarray(Image.open(io.BytesIO(composite.png)).convert("RGB"))
                found_transform = composite.details["transform"]
                hard = naive(original, raw, plan)
                box = plan.box.slices()
                out, inside = _distances(mask)
                band = ((out > 0) & (out <= settings.feather)) | ((inside > 0) & (inside <= settings.feather))
                edge = ((out > 0) & (out <= SEAM_BAND)) | ((inside > 0) & (inside <= SEAM_BAND))
                in_box = np.zeros_like(mask)
                in_box[box] = True
                outside = in_box & ~mask
                found.append(
                    Seam(
                        name,
                        shape,
                        f"{plan.box.width}x{plan.box.height} sent at {plan.sent}",
                        (_energy(pixels, band), _energy(hard, band), _energy(ours, band)),
                        (_step(hard, pixels, band), _step(ours, pixels, band)),
                        (_error(hard, pixels, edge), _error(ours, pixels, edge)),
                        (_error(hard, pixels, mask), _error(ours, pixels, mask)),
                        (_error(hard, pixels, outside), _error(ours, pixels, outside)),
                        kept_pixels(ours, pixels, mask, settings.feather),
                        f"{found_transform['method'].split(':')[0]} ({found_transform['dx']:.1f}, "
                        f"{found_transform['dy']:.1f}), {(found_transform['scale'] - 1) * 100:.1f} %",
                    )
                )
                if shape == "ellipse" and len(tiles) < 3:
                    tiles.append(_tile(hard, ours, mask))
    return found, _sheet(tiles)


def _tile(hard: np.ndarray, ours: np.ndarray, mask: np.ndarray, side: int = 360) -> Image.Image:
    """The same side x side area (on the mask's left edge, at its middle) of naive and ours, side by side."""
    rows, cols = np.nonzero(mask)
    middle = (rows.min() + rows.max()) // 2
    left = max(0, int(cols[rows == middle].min()) - side // 2)
    top = max(0, int(middle) - side // 2)
    area = (slice(top, top + side), slice(left, left + side))
    pair = Image.new("RGB", (2 * side + 8, side + 28), (255, 255, 255))
    draw = ImageDraw.Draw(pair)
    for place, (label, pixels) in enumerate((("naive paste", hard), ("ours (RegionPlan.compose)", ours))):
        pair.paste(Image.fromarray(pixels[area]), (place * (side + 8), 28))
        draw.text((place * (side + 8) + 4, 4), label, fill=(0, 0, 0), font_size=18)
    return pair


def _sheet(tiles: list[Image.Image]) -> Image.Image:
    sheet = Image.new("RGB", (tiles[0].width, sum(t.height + 8 for t in tiles)), (255, 255, 255))
    top = 0
    for tile in tiles:
        sheet.paste(tile, (0, top))
        top += tile.height + 8
    return sheet


def seam_table(found: list[Seam]) -> list[str]:
    lines = [
        "| photo | mask | box | gradient energy in band: original | naive | ours | seam step: naive | ours "
        "| edge error: naive | ours | inside mask: naive | ours | box outside mask: naive | ours "
        "| kept outside mask + feather | registered as |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for s in found:
        lines.append(
            f"| {s.name} | {s.mask} | {s.box} | {s.energy[0]:.0f} | {s.energy[1]:.0f} | {s.energy[2]:.0f} "
            f"| {s.step[0]:.1f} | {s.step[1]:.1f} "
            f"| {s.edge_error[0]:.1f} | {s.edge_error[1]:.1f} | {s.inside_error[0]:.1f} | {s.inside_error[1]:.1f} "
            f"| {s.outside_error[0]:.2f} | {s.outside_error[1]:.2f} "
            f"| {s.kept[0]} of {s.kept[1]} ({100 * s.kept[0] / s.kept[1]:.0f} %) | {s.registered} |"
        )
    return lines


def big_jpeg(path: Path) -> None:
    """A 6000x4000 JPEG (quality 92): the astronaut photo enlarged, with grain so it encodes like a photo."""
    with Image.open(ROOT / "assets" / "examples" / "astronaut.jpg") as image:
        base = image.convert("RGB").resize(BIG, Image.Resampling.BICUBIC)
    pixels = np.asarray(base).astype(np.int16)
    pixels += np.random.default_rng(7).integers(-6, 7, pixels.shape, dtype=np.int16)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=92)


def _peak_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def overhead_child(path: Path, pillow: bool) -> dict[str, float | int | str]:
    """One region edit of the 24 MP JPEG, timed in steps (run in a fresh process, for its memory peak); with
    `pillow`, also Pillow's PNG saves of the whole composite (the first run only: they take seconds)."""
    from core.request import EditRequest

    data = path.read_bytes()
    width, height = BIG
    mask = Image.new("L", BIG)
    left, top = int(width * 0.55), int(height * 0.4)
    ImageDraw.Draw(mask).rectangle((left, top, left + BIG_MASK - 1, top + BIG_MASK - 1), fill=255)
    before = _peak_kb()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    request = EditRequest.create([data], PROMPT, mask=mask)
    planned = time.perf_counter()
    plan = request.tool
    assert isinstance(plan, RegionPlan)
    with ThreadPoolExecutor(max_workers=2) as pool:
        crop = plan.crop()
        (png,) = render_all(RenderJob((crop,), PROMPT, 3, crop.size, drift=DRIFT), 1, pool)
    raw = Image.open(io.BytesIO(png)).convert("RGB")
    rendered = time.perf_counter()
    strips = [plan._encoder._strip(i) for i in range(plan._encoder.strip_count)]  # the background work, waited for
    for future in strips:
        future.result()
    prepared = time.perf_counter()  # the background strips done: the model takes longer than this
    composite = plan.compose(raw)
    composed = time.perf_counter()
    second = plan.compose(raw)
    composed_again = time.perf_counter()
    peak = _peak_kb()
    picture = Image.open(io.BytesIO(composite.png))
    picture.load()
    pixels = np.asarray(picture)
    saves: dict[str, float | int | str] = {}
    if pillow:
        timed = time.perf_counter()
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        saves["pillow_png"] = time.perf_counter() - timed
        saves["pillow_bytes"] = len(buffer.getvalue())
        timed = time.perf_counter()
        picture.save(io.BytesIO(), "PNG", compress_level=1)
        saves["pillow_png_fast"] = time.perf_counter() - timed
    original = np.asarray(plan.original)
    kept, beyond = kept_pixels(pixels, original, np.asarray(mask) > 127, plan.settings.feather)
    assert second.png == composite.png
    return {
        "create": planned - started,
        "render": rendered - planned,
        "strips_done_after_create": prepared - planned,
        "compose": composed - prepared,
        "compose_again": composed_again - composed,
        "png_bytes": len(composite.png),
        **saves,
        "jpeg_bytes": len(data),
        "rss_before_mb": before / 1024,
        "rss_peak_mb": peak / 1024,
        "box": f"{plan.box.width}x{plan.box.height} sent at {plan.sent}",
        "kept": kept,
        "load": load,
        "beyond": beyond,
    }


def overhead(runs: int) -> list[dict[str, float | int | str]]:
    path = Path("/tmp/region-pipeline-24mp.jpg")
    if not path.exists():
        big_jpeg(path)
    found = []
    for number in range(runs):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.region_pipeline", "--child", str(path), *(["--pillow"] * (number == 0))],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return found


def overhead_table(found: list[dict[str, float | int | str]]) -> list[str]:
    def ms(key: str) -> str:
        values = sorted(float(f[key]) for f in found if key in f)
        spread = f" ({values[0] * 1000:.0f}..{values[-1] * 1000:.0f})" if len(values) > 1 else " (one run)"
        return f"{values[len(values) // 2] * 1000:.0f} ms{spread}"

    first = found[0]
    loads = ", ".join(f"{float(f['load']):.1f}" for f in found)
    create, compose = sorted(float(f["create"]) for f in found), sorted(float(f["compose"]) for f in found)
    added = create[len(create) // 2] + compose[len(compose) // 2]
    return [
        "| step | median (min..max) |",
        "|---|---:|",
        "| `EditRequest.create(..., mask=...)`: decode the JPEG, read the mask, plan, crop, prepare "
        f"| {ms('create')} |",
        f"| strip pre-compression, in the background: done this long after `create` | "
        f"{ms('strips_done_after_create')} |",
        f"| `compose()` per output: registration, colour, blend, PNG strips of the changed rows | {ms('compose')} |",
        f"| `compose()` of a second output (strips shared) | {ms('compose_again')} |",
        f"| **added to the model's time** (create + compose) | **{added * 1000:.0f} ms** |",
        f"| for comparison: Pillow PNG save of the whole composite (default level 6) | {ms('pillow_png')} |",
        f"| for comparison: Pillow PNG save, compress_level=1 | {ms('pillow_png_fast')} |",
        f"| the simulator's render of the crop (stands in for the model) | {ms('render')} |",
        "",
        f"Box {first['box']}. JPEG {int(first['jpeg_bytes']) / 1e6:.1f} MB; composite PNG (strips, level 1) "
        f"{int(first['png_bytes']) / 1e6:.1f} MB, Pillow's level 6 {int(first['pillow_bytes']) / 1e6:.1f} MB. "
        f"Peak RSS of the process {float(first['rss_peak_mb']):.0f} MB (of which {float(first['rss_before_mb']):.0f}"
        f" MB before the request: interpreter, imports). Outside the mask and its feather band, "
        f"{first['kept']} of {first['beyond']} pixels are identical to the decoded input "
        f"({100 * int(first['kept']) / int(first['beyond']):.2f} %). Load average (1 min) at the runs' start: "
        f"{loads} (2 cores: above 2, other work shared them).",
    ]


def sections(found: list[Seam], runs: list[dict[str, float | int | str]]) -> tuple[str, str]:
    seam = "\n".join(
        [
            SEAMS,
            "",
            "```bash",
            ".venv/bin/python -m benchmarks.region_pipeline --write   # this section and the next (about 1 minute)",
            "```",
            "",
            "Each bundled photo enlarged 3x, with an ellipse, a rectangle and a blob as masks; the crop sent is",
            "rendered by the simulator's renderer (tint, grain, caption band, mark) with a drift of",
            f"({DRIFT.dx:g}, {DRIFT.dy:g}) px and {DRIFT.zoom * 100:g} % zoom at the model's size, gain {DRIFT.gain}"
            f" and offset {DRIFT.offset}, and",
            "nothing changed: the ideal composite is the original, so every difference is the pipeline's.",
            "NAIVE: the raw output resized to the box and pasted hard inside the mask. OURS: `RegionPlan.compose`.",
            f"Band: within the feather ({RegionSettings().feather} px) of the mask's edge, both sides; gradient",
            "energy is the mean squared Sobel magnitude (grey) there, the original's the goal (the simulator's",
            "grain raises it wherever its pixels are blended in, so it favours a paste that stops at the edge);",
            "seam step: the same of the difference from the original, blurred 2 px so grain drops out (0 = no",
            "seam). Edge error: mean",
            f"abs difference from the original within {SEAM_BAND} px of the edge. Kept: pixels outside the mask",
            "and its feather band byte-identical to the input. Picture: docs/region-seams.png (left edge of the",
            "ellipse, naive left, ours right).",
            "",
            *seam_table(found),
            "",
        ]
    )
    over = "\n".join(
        [
            OVERHEAD,
            "",
            f"A {BIG[0]}x{BIG[1]} JPEG (quality 92) with a {BIG_MASK}x{BIG_MASK} mask, {len(runs)} runs, each in a",
            "fresh process. The strips of the original's PNG are compressed in the background from `create` on,",
            "while the model works, so `compose` is timed once they are done (the model takes longer than that).",
            "Goal (issue 16): at most 1 s above the model's own time on this 2-core machine.",
            "",
            *overhead_table(runs),
            "",
        ]
    )
    return seam, over


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"put the tables in {PAGE.relative_to(ROOT)}")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes timing the 24 MP edit")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pillow", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(overhead_child(args.child, args.pillow)))
        return
    found, picture = seams()
    print("\n".join(seam_table(found)))
    runs = overhead(args.runs)
    print("\n".join(overhead_table(runs)))
    if args.write:
        picture.save(PICTURE, optimize=True)
        seam, over = sections(found, runs)
        page = memory.with_section(PAGE.read_text(), seam, SEAMS)
        PAGE.write_text(memory.with_section(page, over, OVERHEAD))


if __name__ == "__main__":
    main()
