"""Form values as one object: what a tab's controls hold, read in one piece and turned into core requests.

A handler takes one `values` dict (Gradio passes one when an event's inputs are a set) and reads its form
through a `Binding`, instead of taking a parameter per control.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gradio.components import Component

from core import catalog, errors
from core.marks import asks_for_marks
from core.regions.expand import Expansion
from core.request import EditRequest
from core.sizes import Size
from core.workflows.plan import PlanForm
from ui.regions import mask_file
from ui.sizing import SIZE_AUTO, SIZE_CUSTOM, exact_target, size_value

Form = TypeVar("Form")
Control = Component | tuple[Component, ...]


@dataclass(frozen=True)
class Binding(Generic[Form]):
    """Which control holds each field of a form (a tuple of controls for a tuple field, such as the slots)."""

    form: type[Form]
    controls: Mapping[str, Control]

    @property
    def inputs(self) -> set[Component]:
        """Every control, as an event's `inputs`: the handler then gets one dict of their values."""
        return {c for control in self.controls.values() for c in _each(control)}

    def read(self, values: Mapping[Component, Any]) -> Form:
        """The form held by the controls in `values`."""
        return self.form(
            **{
                name: tuple(values[c] for c in control) if isinstance(control, tuple) else values[control]
                for name, control in self.controls.items()
            }
        )


def _each(control: Control) -> tuple[Component, ...]:
    return control if isinstance(control, tuple) else (control,)


@dataclass(frozen=True)
class EditForm:
    """One edit as the page or the API gives it, before core validates it."""

    images: tuple[str | None, ...]
    prompt: str
    negative_prompt: str = ""
    model: str = catalog.DEFAULT_MODEL
    region: str = catalog.DEFAULT_REGION
    size: str = "auto"
    n: Any = 1
    seed: Any = -1
    prompt_extend: bool = True
    watermark: bool = False
    exact_size: Size | None = None
    mask: str | None = None
    align: bool = False
    keep_unchanged: bool = False
    expand: Expansion | None = None

    def to_request(self) -> EditRequest:
        """The EditRequest, or the InvalidRequestError that says what is wrong. Prompt rewriting is left to
        the model's default where the model has none (its checkbox is disabled on the page)."""
        spec = catalog.get_model(self.model)
        return EditRequest.create(
            self.images,
            self.prompt,
            model=self.model,
            region=self.region,
            negative_prompt=self.negative_prompt,
            size=self.size,
            n=self.n,
            seed=self.seed,
            prompt_extend=self.prompt_extend if spec.prompt_extend else None,
            watermark=self.watermark,
            exact_size=self.exact_size,
            mask=self.mask,
            align=self.align,
            keep_unchanged=self.keep_unchanged,
            expand=self.expand,
        )


@dataclass(frozen=True)
class StudioForm:
    """The Studio tab's controls: the slots, the prompt and every setting."""

    images: tuple[str | None, ...]
    prompt: str
    negative_prompt: str
    model: str
    region: str
    size_mode: str
    width: float | None
    height: float | None
    n: float
    seed: float | None
    random_seed: bool
    prompt_extend: bool
    watermark: bool
    exact: bool
    area: str  # the edit area: "whole", "paint", "expand" (ui/tabs/studio/region.py) or "marks" (marks.py)
    paint: Any  # the paint editor's layers
    align: bool
    keep_unchanged: bool
    expand_left: float | None
    expand_top: float | None
    expand_right: float | None
    expand_bottom: float | None

    def edit_form(self) -> EditForm:
        """The edit these controls ask for: the size mode resolved against the slots, the seed drawn when
        "random" is ticked, and only the chosen edit area's tool: the painted region as a mask file (nothing
        painted: an ordinary edit), the canvas expansion, or Align (with Keep unchanged). Refused: the Marks area
        (its marks are sent once Send with marks has put them in Image 2 and the prompt), and a painted region
        under a marks prompt."""
        slots = list(self.images)
        if self.area == AREA_MARKS:  # the marks go out as Image 2 and the prompt, which Send with marks writes
            raise errors.MarksNotSentError()
        whole = self.area not in (AREA_PAINT, AREA_EXPAND)
        align = whole and self.align is True
        mask = mask_file(self.paint, slots[0] if slots else None) if self.area == AREA_PAINT else None
        if mask is not None and asks_for_marks(self.prompt):
            raise errors.MarksWithRegionError()
        sides = (self.expand_left, self.expand_top, self.expand_right, self.expand_bottom)
        return EditForm(
            images=self.images,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt if _takes_negative(self.model) else "",
            model=self.model,
            region=self.region,
            size=size_value(self.size_mode, self.width, self.height, slots, self.model),
            n=self.n,
            seed=-1 if self.random_seed else self.seed,
            prompt_extend=self.prompt_extend,
            watermark=self.watermark,
            exact_size=exact_target(self.size_mode, slots) if self.exact else None,
            mask=mask,
            align=align,
            keep_unchanged=align and self.keep_unchanged is True,
            expand=Expansion.from_dict(dict(zip(SIDES, [s or 0 for s in sides], strict=True)))
            if self.area == AREA_EXPAND
            else None,
        )


def _takes_negative(model_id: str) -> bool:
    """Whether the model takes a negative prompt (the page disables the field where it does not, keeping
    its text); an unknown model is core's to refuse."""
    return model_id not in catalog.model_ids() or catalog.get_model(model_id).negative_prompt


RECALLED = (
    "prompt",
    "negative_prompt",
    "model",
    "size_mode",
    "width",
    "height",
    "n",
    "seed",
    "random_seed",
    "prompt_extend",
    "watermark",
    "area",
    "align",
    "keep_unchanged",
    "expand_left",
    "expand_top",
    "expand_right",
    "expand_bottom",
)
"""The StudioForm fields that "use these settings" fills, in the order of `recall_values`."""

_SETTINGS = ("prompt", "negative_prompt", "model", "size", "n", "seed", "prompt_extend", "watermark")
AREA_WHOLE, AREA_PAINT, AREA_EXPAND, AREA_MARKS = "whole", "paint", "expand", "marks"
SIDES = ("left", "top", "right", "bottom")


def settings_of(params: Mapping[str, Any], region: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings of an edit's parameter dict (EditParameters.as_dict's fields) that the page can recall,
    with its region tool (the record's `region_edit`: a mask, an expansion or the alignment; None for none)."""
    return {**{key: params[key] for key in _SETTINGS}, "region_edit": dict(region) if region else None}


def recall_values(settings: Mapping[str, Any]) -> list[Any]:
    """Values for the RECALLED controls from an edit's settings: its own seed, not a random one."""
    size = str(settings["size"])
    custom = size != "auto"
    width, height = size.split("*") if custom else (1024, 1024)
    values = {
        **{key: settings[key] for key in ("prompt", "negative_prompt", "model", "n", "seed")},
        "size_mode": SIZE_CUSTOM if custom else SIZE_AUTO,
        "width": int(width),
        "height": int(height),
        "random_seed": False,
        "prompt_extend": settings["prompt_extend"],
        "watermark": settings["watermark"],
        **_area_values(settings.get("region_edit")),
    }
    return [values[name] for name in RECALLED]


def _area_values(region: Mapping[str, Any] | None) -> dict[str, Any]:
    """The edit-area controls for an edit's region tool: the area, Align and Keep unchanged, the sides. A mask's
    region is not painted back (its file is in the edit's record): the area turns to Paint, to paint again."""
    kind = (region or {}).get("kind")
    sides = dict.fromkeys(SIDES, 0)
    if kind == "expand":
        sides |= {side: int(region["expand"].get(side, 0)) for side in SIDES}  # type: ignore[index]
    return {
        "area": {"mask": AREA_PAINT, "expand": AREA_EXPAND}.get(kind, AREA_WHOLE),
        "align": kind == "align",
        "keep_unchanged": kind == "align" and bool(region.get("keep_unchanged")),  # type: ignore[union-attr]
        **{f"expand_{side}": value for side, value in sides.items()},
    }


@dataclass(frozen=True)
class ExploreForm:
    """The Explore tab's plan fields with the Studio's images and shared settings, and the grid's axes."""

    images: tuple[str | None, ...]
    prompts: str
    seeds: str
    random_seeds: float | None
    models: list[str]
    sizes: str
    n: float
    negative_prompt: str
    region: str
    prompt_extend: bool
    watermark: bool
    rows: str
    columns: str

    def plan_form(self) -> PlanForm:
        """The plan as core reads it."""
        return PlanForm(
            prompts=self.prompts,
            seeds=self.seeds,
            random_seeds=self.random_seeds,
            models=self.models,
            sizes=self.sizes,
            n=self.n,
            negative_prompt=self.negative_prompt,
            region=self.region,
            prompt_extend=self.prompt_extend,
            watermark=self.watermark,
        )
