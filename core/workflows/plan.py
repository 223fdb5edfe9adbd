"""Exploration plans: the same inputs edited over a grid of prompt variants x seeds x models x sizes.

A `PlanForm` is a plan as a person writes it (the Explore tab's fields, a plan file's keys). `PlanForm.draft`
expands and checks it without any image, cheaply: every caller that shows what a plan costs asks it, so the
number shown is the number run. `Plan.create` adds the images (prepared once, by the same checks as a single
edit) and gives every cell its EditRequest.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core import catalog, errors
from core.images import ImageSource
from core.parameters import EditParameters, parse_size
from core.recipes import Recipe
from core.references import normalise_references
from core.request import EditRequest, check_image_count
from core.settings import Price
from core.sizes import Size

AXES = ("prompt", "seed", "model", "size")
"""The dimensions of a plan, in the order cells are laid out (prompt outermost)."""

# `{a|b|c}`: a group needs at least one `|`, so other braces in a prompt stay as written.
_GROUP = re.compile(r"\{([^{}]*\|[^{}]*)\}")
# Words for telling prompts apart: a CJK character (written unspaced), a run of other letters and digits, or
# a punctuation mark.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")
_PUNCTUATION = " ,.;:!?，。；：！？、"
ELLIPSIS = "…"

Coordinates = tuple[int, int, int, int]


def expand_prompts(prompts: str | Sequence[str]) -> tuple[str, ...]:
    """The prompt variants: one per line (or per item), each `{a|b|c}` group multiplying its line's variants.

    Blank lines are skipped, repeated variants kept once, and runs of spaces left by an empty alternative
    (`{very |}`) collapsed.
    """
    variants = (variant for line in _prompt_lines(prompts) for variant in _expand_line(line))
    return tuple(dict.fromkeys(variants))


def varying_parts(prompts: Sequence[str]) -> tuple[str, ...]:
    """What sets each prompt apart, for captions and headers: the leading words it shares with another prompt
    and the trailing ones, cut off and marked "…" ("give the cat a red scarf" beside "give the cat a blue
    scarf" is "…red…"). At least one word is kept; a prompt that would read like another's part, or a lone
    prompt, is kept whole."""
    words = [list(_WORD.finditer(prompt)) for prompt in prompts]
    texts = [[match.group() for match in found] for found in words]
    parts = []
    for index, (prompt, found) in enumerate(zip(prompts, words, strict=True)):
        others = [other for position, other in enumerate(texts) if position != index]
        lead = max((_shared_run(texts[index], other) for other in others), default=0)
        trail = max((_shared_run(texts[index][::-1], other[::-1]) for other in others), default=0)
        trail = min(trail, len(found) - lead - 1)
        if lead >= len(found) or (lead == 0 and trail <= 0):
            parts.append(prompt)
            continue
        end = len(found) - max(trail, 0)
        middle = prompt[found[lead].start() : found[end - 1].end()]
        middle = middle.strip(_PUNCTUATION) or middle
        parts.append((ELLIPSIS if lead else "") + middle + (ELLIPSIS if trail > 0 else ""))
    if len(set(parts)) < len(parts):  # two parts alike would tell nothing apart
        return tuple(prompts)
    return tuple(parts)


def _shared_run(words: list[str], other: list[str]) -> int:
    """How many words the two lists share from their start."""
    count = 0
    for mine, theirs in zip(words, other, strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def recipe_prompts(
    recipe: Recipe, values: Mapping[str, Any], field: str, options: str | Sequence[Any], lang: str
) -> tuple[str, ...]:
    """The prompt variants of a recipe over one field: a prompt per value of `field` (`options`: one per line,
    or a list), the other fields as in `values`, in `lang`; each value is checked as the form checks it (the
    RecipeError of the first bad one), repeated prompts kept once. A plan takes them as its prompts."""
    recipe.field(field)
    given = _prompt_lines(options)
    if not given:
        raise errors.RecipeFieldEmptyError(
            field=field,
            recipe=recipe.label,
            recipe_zh=recipe.label_zh,
            label=recipe.field(field).label,
            label_zh=recipe.field(field).label_zh,
        )
    return tuple(dict.fromkeys(recipe.prompt({**values, field: option}, lang) for option in given))


def split_values(text: str) -> list[str]:
    """Values written in one field, separated by commas or white space ("1, 2 3" -> ["1", "2", "3"])."""
    return [part for part in re.split(r"[,\s]+", text or "") if part]


@dataclass(frozen=True)
class PlanForm:
    """A plan as written: text and lists not yet expanded. The defaults are the Explore form's.

    `prompts`: see `expand_prompts`. `seeds`: text such as "1, 2, 3" or a list (-1 or None entries are drawn
    at random), plus `random_seeds` more drawn at random; with neither, one random seed. `models` and `sizes`
    take one value or a list ("auto, 1024*1024" as text too); none means the default model and "auto".
    The other values apply to every cell.
    """

    prompts: str | Sequence[str] = ""
    seeds: str | int | Iterable[Any] = "1, 2, 3"
    random_seeds: Any = 0
    models: str | Iterable[str] = (catalog.DEFAULT_MODEL,)
    sizes: str | Size | Iterable[str | Size | None] = "auto"
    n: Any = 1
    negative_prompt: str = ""
    region: str = catalog.DEFAULT_REGION
    prompt_extend: bool | None = None
    watermark: bool = False

    def draft(self, max_cells: int) -> Draft:
        """Expand and check every value, without images; raise the InvalidRequestError of the first bad one.

        Plans of more than `max_cells` cells are refused with PlanTooLargeError before any cell is built.
        Random seeds are drawn here, once, and recorded.
        """
        lines = _prompt_lines(self.prompts)
        if not lines:
            raise errors.EmptyPromptError()
        model_ids = _unique(catalog.get_model(model).id for model in _listed(self.models)) or (catalog.DEFAULT_MODEL,)
        sizes = split_values(self.sizes) if isinstance(self.sizes, str) else _listed(self.sizes)
        size_values = _unique(parse_size(size) for size in sizes) or (None,)
        fixed = split_values(self.seeds) if isinstance(self.seeds, str) else _listed(self.seeds)
        seed_values = _seeds([seed for seed in fixed if seed != ""], self.random_seeds, max_cells)
        axis_sizes = (sum(_variant_count(line) for line in lines), len(seed_values), len(model_ids), len(size_values))
        if math.prod(axis_sizes) > max_cells:  # checked before expanding, so a huge template costs nothing
            prompts_n, seeds_n, models_n, sizes_n = axis_sizes
            raise errors.PlanTooLargeError(
                count=math.prod(axis_sizes),
                prompts=prompts_n,
                seeds=seeds_n,
                models=models_n,
                sizes=sizes_n,
                limit=max_cells,
            )
        axes = (expand_prompts(lines), seed_values, model_ids, size_values)
        combos = tuple(itertools.product(*(range(len(values)) for values in axes)))
        return Draft(
            prompts=axes[0],
            seeds=tuple(seed for seed, _ in seed_values),
            models=model_ids,
            sizes=tuple(str(size) if size else "auto" for size in size_values),
            coordinates=combos,
            parameters=tuple(self._cell_parameters(axes, coordinates) for coordinates in combos),
        )

    def _cell_parameters(self, axes: tuple[tuple[Any, ...], ...], coordinates: Coordinates) -> EditParameters:
        prompt, (seed, drawn), model, size = (values[i] for values, i in zip(axes, coordinates, strict=True))
        params = EditParameters.create(
            prompt,
            model=model,
            size=size,
            seed=seed,
            region=self.region,
            negative_prompt=self.negative_prompt,
            n=self.n,
            prompt_extend=self.prompt_extend,
            watermark=self.watermark,
        )
        return replace(params, seed_was_random=drawn)  # history says the seed was random, as it was


@dataclass(frozen=True)
class _Axes:
    """The values along each axis, and the totals of the cells' `parameters` (in plan order)."""

    prompts: tuple[str, ...]
    seeds: tuple[int, ...]
    models: tuple[str, ...]
    sizes: tuple[str, ...]  # "auto" or "W*H"

    if TYPE_CHECKING:
        parameters: tuple[EditParameters, ...]

    def values(self, axis: str) -> tuple[str, ...]:
        """The values along `axis`, as strings ("auto" for the service's default size)."""
        if axis == "seed":
            return tuple(str(seed) for seed in self.seeds)
        return {"prompt": self.prompts, "model": self.models, "size": self.sizes}[_axis(axis)]

    @property
    def varied(self) -> tuple[str, ...]:
        """The axes with more than one value, in AXES order: what differs between cells."""
        return tuple(axis for axis in AXES if len(self.values(axis)) > 1)

    @property
    def count(self) -> int:
        """Edits the plan runs (one call each)."""
        return len(self.parameters)

    @property
    def images_billed(self) -> int:
        """Images the plan bills if every cell succeeds: the sum of n over cells."""
        return sum(params.n for params in self.parameters)

    def cost(self, price: Price | None) -> Decimal | None:
        """What the images cost at `price` (None when no price is configured)."""
        return None if price is None else price.amount * self.images_billed

    def check_image_count(self, slots: Sequence[int]) -> None:
        """Refuse, before anything runs, a plan whose cells' models cannot all take images in `slots` (the
        user's slot numbers of the images given): PlanImageCountError names each such model and its cells (a
        single edit's own rule, per model)."""
        count = len(slots)
        refusals = []
        for model_id in self.models:
            try:
                check_image_count(model_id, slots)
            except (errors.NoImageError, errors.TooManyImagesError):
                spec = catalog.get_model(model_id)
                cells = [index for index, params in enumerate(self.parameters, 1) if params.model == model_id]
                refusals.append((model_id, cells, spec.min_images, spec.max_images))
        if refusals:
            raise errors.PlanImageCountError.for_cells(count, refusals)


@dataclass(frozen=True)
class Draft(_Axes):
    """A checked plan before its images: the axes and each cell's parameters, in plan order."""

    coordinates: tuple[Coordinates, ...]
    parameters: tuple[EditParameters, ...]


@dataclass(frozen=True)
class Cell:
    """One edit of a plan: its position on each axis and the validated request."""

    index: int  # 0-based, in plan order
    coordinates: Coordinates  # position on each of AXES
    request: EditRequest

    def at(self, axis: str) -> int:
        """The cell's position on `axis` (one of AXES)."""
        return self.coordinates[AXES.index(axis)]

    @property
    def params(self) -> EditParameters:
        return self.request.params


@dataclass(frozen=True)
class Grid:
    """Cells laid out for display: rows and columns are two axes; any other axis with more than one
    value is folded into the rows, so no cell is hidden."""

    rows: str
    columns: str
    row_axes: tuple[str, ...]  # `rows`, then the axes folded into them
    row_keys: tuple[tuple[int, ...], ...]  # each row's position on each of `row_axes`
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    positions: tuple[tuple[int, int], ...]  # (row, column) of each cell, by cell index


@dataclass(frozen=True)
class Plan(_Axes):
    """An exploration: the axes' values and every cell, validated. Build it with `Plan.create`."""

    cells: tuple[Cell, ...]

    @property
    def parameters(self) -> tuple[EditParameters, ...]:
        """Each cell's parameters, in plan order."""
        return tuple(cell.params for cell in self.cells)

    def label(self, axis: str, position: int) -> str:
        """A short caption for a value: the prompt itself, "seed 42", the model id, "1024*1024"."""
        value = self.values(axis)[position]
        return {"seed": f"seed {value}", "size": "auto size" if value == "auto" else value}.get(axis, value)

    def grid(self, rows: str = "prompt", columns: str = "seed") -> Grid:
        """The cells as rows x columns of two distinct axes (ValueError otherwise)."""
        if _axis(rows) == _axis(columns):
            raise ValueError(f"rows and columns must be different axes, both are {rows!r}")
        folded = [axis for axis in AXES if axis not in (rows, columns) and len(self.values(axis)) > 1]
        keys = [(cell.at(rows), *(cell.at(axis) for axis in folded)) for cell in self.cells]
        row_keys = sorted(set(keys))
        row_labels = tuple(
            " · ".join(self.label(axis, position) for axis, position in zip((rows, *folded), key, strict=True))
            for key in row_keys
        )
        row_of = {key: row for row, key in enumerate(row_keys)}
        return Grid(
            rows=rows,
            columns=columns,
            row_axes=(rows, *folded),
            row_keys=tuple(row_keys),
            row_labels=row_labels,
            column_labels=tuple(self.label(columns, i) for i in range(len(self.values(columns)))),
            positions=tuple((row_of[key], cell.at(columns)) for key, cell in zip(keys, self.cells, strict=True)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The axes and totals, JSON-ready: with the seeds actually used, the plan can be run again."""
        return {
            "prompts": list(self.prompts),
            "seeds": list(self.seeds),
            "models": list(self.models),
            "sizes": list(self.sizes),
            "count": self.count,
            "images_billed": self.images_billed,
        }

    @classmethod
    def create(
        cls, images: Sequence[ImageSource | None], prompts: str | Sequence[str], *, max_cells: int, **values: Any
    ) -> Plan:
        """Expand and validate a plan (`values` are PlanForm's other fields; those not given are empty, not
        the form's defaults); raise the InvalidRequestError of the first bad value, before any call."""
        given = {"seeds": (), "models": (), "sizes": (), **values}
        return cls.from_draft(images, PlanForm(prompts, **given).draft(max_cells))

    @classmethod
    def from_draft(cls, images: Sequence[ImageSource | None], draft: Draft) -> Plan:
        """The draft's cells with their images, prepared once for every cell by the same checks as a single
        edit; references in each prompt name the slots given and are renumbered as sent (`core.references`).
        Every cell's model must take those images (`check_image_count`)."""
        draft.check_image_count([slot for slot, image in enumerate(images, start=1) if image is not None])
        first = draft.parameters[0]
        base = EditRequest.create(images, first.prompt, **first.create_args())
        slots = [image.slot for image in base.images]
        cells = tuple(
            Cell(index, coordinates, EditRequest(base.images, _with_references(params, slots)))
            for index, (coordinates, params) in enumerate(zip(draft.coordinates, draft.parameters, strict=True))
        )
        return cls(prompts=draft.prompts, seeds=draft.seeds, models=draft.models, sizes=draft.sizes, cells=cells)


FORM_FIELDS = tuple(field.name for field in fields(PlanForm))
"""A plan's keys, as the form and a plan file name them."""


def _prompt_lines(prompts: str | Sequence[str]) -> list[str]:
    items = prompts.splitlines() if isinstance(prompts, str) else list(prompts)
    return [str(item).strip() for item in items if str(item or "").strip()]


def _variant_count(line: str) -> int:
    return math.prod(len(group.split("|")) for group in _GROUP.findall(line))


def _expand_line(line: str) -> Iterator[str]:
    parts = _GROUP.split(line)  # literal, group, literal, group, ..., literal
    choices = [[part] if position % 2 == 0 else part.split("|") for position, part in enumerate(parts)]
    for combination in itertools.product(*choices):
        yield re.sub(r" {2,}", " ", "".join(combination)).strip()


def _axis(name: str) -> str:
    if name not in AXES:
        raise ValueError(f"unknown axis {name!r}; axes are {', '.join(AXES)}")
    return name


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


def _listed(values: Any) -> list[Any]:
    """One value (a single dropdown choice) or several."""
    if values is None:
        return []
    if isinstance(values, (str, int, Size)):
        return [values]
    return list(values)


def _seeds(fixed: list[Any], random_count: Any, max_cells: int) -> tuple[tuple[int, bool], ...]:
    """(seed, drawn at random) for each distinct seed; every value checked as a single edit's seed is."""
    if isinstance(random_count, float) and random_count.is_integer():  # number fields give floats
        random_count = int(random_count)
    if isinstance(random_count, bool) or not isinstance(random_count, int) or not 0 <= random_count <= max_cells:
        raise errors.RandomSeedCountError(value=random_count, limit=max_cells)
    resolved = [_resolve_seed(value) for value in fixed]
    resolved += [_resolve_seed(None) for _ in range(random_count)]
    if not resolved:
        resolved = [_resolve_seed(None)]
    unique: dict[int, bool] = {}
    for seed, drawn in resolved:
        unique.setdefault(seed, drawn)
    return tuple(unique.items())


def _resolve_seed(value: Any) -> tuple[int, bool]:
    params = EditParameters.create("seed", seed=value)  # the one place seeds are checked and drawn
    return params.seed, params.seed_was_random


def _with_references(params: EditParameters, slots: Sequence[int]) -> EditParameters:
    return replace(params, prompt=normalise_references(params.prompt, slots, params.model))
