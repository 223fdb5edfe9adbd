"""Examples on inputs the project may ship (see assets/README.md): what the models do best, in English and
Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "examples"


@dataclass(frozen=True)
class Example:
    """A setup to start from: images for slots 1 to 3, a prompt and a number of results, in both languages."""

    label: str
    label_zh: str
    images: tuple[str | None, str | None, str | None]
    prompt: str
    prompt_zh: str
    n: int

    def paths(self) -> list[str | None]:
        """The slots' files, Image 1 to 3."""
        return [str(ASSETS / name) if name else None for name in self.images]

    def text(self, lang: str) -> tuple[str, str]:
        """(label, prompt) in `lang`."""
        return (self.label_zh, self.prompt_zh) if lang == "zh" else (self.label, self.prompt)


EXAMPLES: tuple[Example, ...] = (
    Example(
        "Change the text on a sign",
        "修改招牌上的文字",
        ("sign.png", None, None),
        'Change the big word on the sign from "OPEN" to "CLOSED"; keep the font, colours and lighting.',
        "把招牌上的大字从“OPEN”改成“CLOSED”，保持字体、颜色和光线不变。",
        2,
    ),
    Example(
        "Restyle a photo",
        "照片换风格",
        ("astronaut.jpg", None, None),
        "Turn this photo into a soft watercolour painting.",
        "把这张照片变成柔和的水彩画。",
        4,
    ),
    Example(
        "Remove an object",
        "移除物体",
        ("coffee.jpg", None, None),
        "Remove the spoon from the saucer.",
        "移除碟子上的勺子。",
        1,
    ),
    Example(
        "Combine two photos",
        "合成两张照片",
        ("cat.jpg", "rocket.jpg", None),
        "The cat in Image 1 sits on the grass in front of the rocket launch in Image 2, watching it lift off.",
        "图1中的猫坐在图2火箭发射场前的草地上，看着火箭升空。",
        2,
    ),
    Example(
        "Fuse three images",
        "融合三张图片",
        ("astronaut.jpg", "cat.jpg", "sign.png"),
        "The astronaut in Image 1 holds the cat from Image 2 and stands next to the sign from Image 3.",
        "图1中的宇航员抱着图2中的猫，站在图3的招牌旁边。",
        4,
    ),
)
