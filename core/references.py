"""References to input images in a prompt name the user's slots: "Image 3", "图3", `@3`, `@Image3` and `@图3`
all mean the image in slot 3, wherever the other images are. Before sending, each becomes the models' own
wording for the place that slot's image is sent at (slot 3 sent second is "Image 2" to the model); a reference
to an empty slot, or to more images than the model takes, is refused before any call."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core import catalog, errors

# Image numbers 1 to 10 (the most any model takes); "图12" is no reference, rather than one to 图1.
_NUMBER = r"(?:10|[1-9])"
_END = r"(?![0-9A-Za-z_])"  # "@2x" and "image 2048 px" are no references; "@图2的" and "Image 2，" are
_REFERENCE = re.compile(
    # "@1", "@image2", "@Image 2", "@img2", "@图2" (our own forms: written as the models' wording when sent)
    rf"@\s*(?:(?:image|img|pic|picture)\s*|(?P<at_zh>[图圖])\s*)?(?P<at>{_NUMBER}){_END}"
    # the models' own wording, "Image 2" and "图2": only the number changes when sent
    rf"|\b(?P<en_word>image\s*)(?P<en>{_NUMBER}){_END}"
    rf"|(?P<zh_word>[图圖]\s*)(?P<zh>{_NUMBER})(?!\d)",
    re.IGNORECASE,
)


def reference_problems(prompt: str, slots: Sequence[int], model_id: str) -> list[errors.ImageReferenceError]:
    """What stops the references in `prompt` from being sent with images in `slots` (the user's slot numbers
    of the images given, in order) to `model_id`, one problem per slot named, in the prompt's order: a slot
    past the most images the model takes (ReferenceBeyondModelError), or an empty one (ImageReferenceError).
    Nothing is raised: the page shows these as the prompt is typed, `normalise_references` refuses them."""
    spec = catalog.get_model(model_id)
    problems: dict[int, errors.ImageReferenceError] = {}
    for match in _REFERENCE.finditer(prompt):
        slot = _slot(match)
        if slot in problems or slot in slots:
            continue
        written = match.group(0).strip()
        if slot > spec.max_images:
            takes_more = [(m.id, m.max_images) for m in catalog.MODELS if m.max_images >= slot]
            problems[slot] = errors.ReferenceBeyondModelError.for_model(
                written, slot, spec.id, spec.max_images, takes_more
            )
        else:
            problems[slot] = errors.ImageReferenceError(reference=written, number=slot)
    return list(problems.values())


def normalise_references(prompt: str, slots: Sequence[int], model_id: str) -> str:
    """The prompt as sent with images in `slots` (the user's slot numbers, in order): each reference to a slot
    becomes one to the place its image is sent at, `@N` / `@ImageN` written "Image N" and `@图N` "图N" ("Image 3"
    and "图3" keep their wording, only the number changes). Raises the first of `reference_problems`."""
    problems = reference_problems(prompt, slots, model_id)
    if problems:
        raise problems[0]
    place = {slot: position for position, slot in enumerate(slots, start=1)}

    def rewrite(match: re.Match[str]) -> str:
        sent = place[_slot(match)]
        if match.group("at"):
            return f"图{sent}" if match.group("at_zh") else f"Image {sent}"
        return f"{match.group('en_word') or match.group('zh_word')}{sent}"

    return _REFERENCE.sub(rewrite, prompt)


def _slot(match: re.Match[str]) -> int:
    return int(match.group("at") or match.group("en") or match.group("zh"))
