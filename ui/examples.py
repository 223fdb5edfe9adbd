"""Clickable examples on inputs the project may ship (see assets/README.md): what the models do best."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "examples"

# (label, images for slots 1-3, prompt, n)
EXAMPLES: tuple[tuple[str, tuple[str | None, str | None, str | None], str, int], ...] = (
    (
        "Change the text on a sign",
        ("sign.png", None, None),
        'Change the big word on the sign from "OPEN" to "CLOSED"; keep the font, colours and lighting.',
        2,
    ),
    ("Restyle a photo", ("astronaut.jpg", None, None), "Turn this photo into a soft watercolour painting.", 4),
    ("Remove an object", ("coffee.jpg", None, None), "Remove the spoon from the saucer.", 1),
    (
        "Combine two photos",
        ("cat.jpg", "rocket.jpg", None),
        "The cat in Image 1 sits on the grass in front of the rocket launch in Image 2, watching it lift off.",
        2,
    ),
    (
        "Fuse three images",
        ("astronaut.jpg", "cat.jpg", "sign.png"),
        "The astronaut in Image 1 holds the cat from Image 2 and stands next to the sign from Image 3.",
        4,
    ),
)


def example_rows() -> list[list[object]]:
    """Rows for gr.Examples: [image 1, image 2, image 3, prompt, n]."""
    return [
        [*(str(ASSETS / name) if name else None for name in images), prompt, n]
        for _label, images, prompt, n in EXAMPLES
    ]


def example_labels() -> list[str]:
    """One short label per example."""
    return [label for label, *_ in EXAMPLES]
