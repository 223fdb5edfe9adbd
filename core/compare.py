"""Compare a result with an input: the input resampled to the result's size, side by side, and a heat map
of the per-pixel difference, so shift, zoom and crop become visible. A region edit's raw output is compared with
the part of its composite it was pasted into (`raw_pair`)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageOps


def aligned_input(input_path: str | Path, output_size: tuple[int, int]) -> Image.Image:
    """The input, upright and resampled (Lanczos) to exactly the output's size, as RGB."""
    with Image.open(input_path) as source:
        upright = ImageOps.exif_transpose(source).convert("RGB")
    return upright.resize(output_size, Image.Resampling.LANCZOS)


def raw_pair(
    raw_path: str | Path, composite_path: str | Path, box: tuple[int, int, int, int] | None
) -> tuple[Image.Image, Image.Image]:
    """(raw output, composite) at one size: the composite's `box` (left, top, right, bottom: where the raw output
    went; None for all of it) and the raw output resampled to it."""
    with Image.open(composite_path) as opened:
        composite = ImageOps.exif_transpose(opened).convert("RGB")
    if box is not None:
        composite = composite.crop(box)
    return aligned_input(raw_path, composite.size), composite


def side_by_side(input_path: str | Path, output_path: str | Path, gap: int = 8) -> Image.Image:
    """Input (at the output's size) and output next to each other on a white strip."""
    with Image.open(output_path) as opened:
        output = opened.convert("RGB")
    return pair_side_by_side(aligned_input(input_path, output.size), output, gap)


def pair_side_by_side(before: Image.Image, output: Image.Image, gap: int = 8) -> Image.Image:
    """Two images of one size next to each other on a white strip."""
    canvas = Image.new("RGB", (output.width * 2 + gap, output.height), "white")
    canvas.paste(before, (0, 0))
    canvas.paste(output, (output.width + gap, 0))
    return canvas


def difference_map(input_path: str | Path, output_path: str | Path) -> tuple[Image.Image, float]:
    """A heat map of |output - input| (black = unchanged, through red to yellow = most changed; doubled so
    that subtle shifts show) and the mean difference as a fraction of full scale (0.0 = identical)."""
    with Image.open(output_path) as opened:
        output = opened.convert("RGB")
    return pair_difference(aligned_input(input_path, output.size), output)


def pair_difference(before: Image.Image, output: Image.Image) -> tuple[Image.Image, float]:
    """`difference_map` of two RGB images of one size."""
    difference = ImageChops.difference(output, before).convert("L")
    histogram = difference.histogram()
    mean = sum(value * count for value, count in enumerate(histogram)) / (255 * max(1, sum(histogram)))
    boosted = difference.point(lambda value: min(255, value * 2))
    return ImageOps.colorize(boosted, black=(0, 0, 0), mid=(220, 30, 30), white=(255, 230, 0)), mean
