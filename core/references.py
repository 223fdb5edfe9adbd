"""References to input images in a prompt: `@1`, `@Image2`, `@图3` become the models' own wording, and a
reference to an image that is not there is refused before any call."""

from __future__ import annotations

import re

from core import errors

# Image numbers 1 to 10 (the most any model takes); "图12" is no reference, rather than one to 图1.
_NUMBER = r"(10|[1-9])"
# "@1", "@image2", "@Image 2", "@img2", "@图2", "@10" (the @ forms are ours; normalised before sending).
_AT_REFERENCE = re.compile(rf"@\s*(?:(?:image|img|pic|picture)\s*|(图|圖)\s*)?{_NUMBER}\b", re.IGNORECASE)
# The models' own wording: "Image 2" / "图2" (checked, left as written).
_PLAIN_REFERENCE = re.compile(rf"(?:\bimage\s*{_NUMBER}\b)|(?:[图圖]\s*{_NUMBER}(?!\d))", re.IGNORECASE)


def normalise_references(prompt: str, image_count: int) -> str:
    """The prompt with `@N`, `@ImageN` written as "Image N" and `@图N` as "图N"; every reference, in either
    form, must name one of the `image_count` images sent, else ImageReferenceError names the first bad one."""

    def rewrite(match: re.Match[str]) -> str:
        chinese, number = match.group(1), int(match.group(2))
        _check(match.group(0), number, image_count)
        return f"图{number}" if chinese else f"Image {number}"

    rewritten = _AT_REFERENCE.sub(rewrite, prompt)
    for match in _PLAIN_REFERENCE.finditer(rewritten):
        _check(match.group(0), int(match.group(1) or match.group(2)), image_count)
    return rewritten


def _check(written: str, number: int, image_count: int) -> None:
    if number > image_count:
        raise errors.ImageReferenceError(reference=written.strip(), number=number, count=image_count)
