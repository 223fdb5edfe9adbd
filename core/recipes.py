"""Recipes: the tasks the models do best (change text, remove or add an object, take a pose, relight, …) as
forms that write the prompt the way the models' authors recommend, in English and Chinese.

They are data, `core/recipes.toml`, read and checked once at import into frozen `Recipe`s: a broken entry stops
the app at start-up with a `RecipeFileError` naming the recipe and the field. A recipe fills its template from
the values of its fields (`Recipe.prompt`), warns where the models do badly (`Recipe.warnings`), suggests a
model, size and number of results, and shows an example of what it writes.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from core import catalog, errors, lettering, sizes

BUILT_IN = Path(__file__).with_name("recipes.toml")
KINDS = ("text", "choice", "image", "number")
IMAGE_SLOTS = 10  # "Image 1" to "Image 10", as core.references reads them
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
TEXT_MAX = lettering.MAX_CHARS  # a field's text: a few words on a sign (and what can be rendered of them)


class RecipeFileError(ValueError):
    """A recipes file that cannot be used: which file, which recipe, which field, what is wrong."""


@dataclass(frozen=True)
class Choice:
    """One option of a choice field: its id, and the words it puts in the prompt (they may hold {field})."""

    id: str
    text: str
    text_zh: str

    def words(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text


@dataclass(frozen=True)
class Field:
    """One blank of a recipe's form."""

    name: str
    kind: str  # one of KINDS
    label: str
    label_zh: str
    default: Any  # "" for a text to be filled in
    default_zh: Any
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def label_in(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label

    def default_in(self, lang: str) -> Any:
        return self.default_zh if lang == "zh" else self.default

    def choice(self, choice_id: str) -> Choice:
        return next(choice for choice in self.choices if choice.id == choice_id)

    def read(self, raw: Any, recipe: Recipe, lang: str) -> Any:
        """The value a person gave, checked: a text (stripped), a choice's id, a slot number, a number; raises
        the RecipeValueError that names the field. A choice may also be given by its words, in either language."""
        label = {"recipe": recipe.label, "recipe_zh": recipe.label_zh, "label": self.label, "label_zh": self.label_zh}
        if self.kind == "text":
            text = " ".join(str(raw if raw is not None else "").split())  # one line, as the prompt has it
            if not text:
                raise errors.RecipeFieldEmptyError(field=self.name, **label)
            if len(text) > TEXT_MAX:
                raise errors.RecipeValueError(
                    field=self.name,
                    reason=f"longer than {TEXT_MAX} characters",
                    reason_zh=f"超过 {TEXT_MAX} 个字符",
                    **label,
                )
            return text
        if self.kind == "choice":
            text = str(raw if raw is not None else "").strip()
            for choice in self.choices:
                if text in (choice.id, choice.text, choice.text_zh):
                    return choice.id
            ids = ", ".join(choice.id for choice in self.choices)
            raise errors.RecipeValueError(
                field=self.name,
                reason=f"{text!r} is none of {ids}",
                reason_zh=f"“{text}”不是可选项（{ids}）之一",
                **label,
            )
        number = _number(raw)
        low, high = (1, IMAGE_SLOTS) if self.kind == "image" else (self.minimum, self.maximum)
        whole = self.kind == "image"
        if number is None or (whole and not float(number).is_integer()) or not low <= number <= high:
            shown = "" if raw is None else str(raw)
            span = f"{_shown(low)} to {_shown(high)}"
            what = f"a slot number from {span}" if whole else f"a number from {span}"
            what_zh = (
                f"{_shown(low)} 到 {_shown(high)} 的图片编号" if whole else f"{_shown(low)} 到 {_shown(high)} 的数字"
            )
            raise errors.RecipeValueError(
                field=self.name, reason=f"{shown!r} is not {what}", reason_zh=f"“{shown}”不是{what_zh}", **label
            )
        return int(number) if whole or float(number).is_integer() else number

    def words(self, value: Any, lang: str) -> str:
        """How a checked value reads in the prompt ("Image 2" / "图2" for a slot)."""
        if self.kind == "image":
            return f"图{value}" if lang == "zh" else f"Image {value}"
        if self.kind == "choice":
            return self.choice(value).words(lang)
        if self.kind == "number":
            return _shown(value)
        return str(value)


@dataclass(frozen=True)
class LengthCheck:
    """Warn when two text fields' lengths (a wide CJK character counting two) differ by more than `ratio`."""

    first: str
    second: str
    ratio: float


@dataclass(frozen=True)
class LengthWarning:
    """The new text is much longer or shorter than the old one: the model squeezes or stretches it badly."""

    first: str
    second: str
    first_width: int
    second_width: int

    MESSAGES: ClassVar[dict[str, str]] = {
        "en": '"{second}" is {relation} than "{first}" ({second_width} against {first_width} character widths): '
        "the model fits the new text into the old one's place and does this badly when the lengths differ a lot. "
        "A text of about the same length works best; else expect squeezed or stretched letters.",
        "zh": "“{second}”比“{first}”{relation_zh}很多（{second_width} 对 {first_width} 个字宽）："
        "模型要把新文字放进旧文字的位置，长度相差很大时效果较差。长度相近的文字效果最好，否则字形可能被挤压或拉伸。",
    }

    def message(self, lang: str) -> str:
        longer = self.second_width > self.first_width
        return self.MESSAGES["zh" if lang == "zh" else "en"].format(
            first=self.first,
            second=self.second,
            first_width=self.first_width,
            second_width=self.second_width,
            relation="much longer" if longer else "much shorter",
            relation_zh="长" if longer else "短",
        )


@dataclass(frozen=True)
class Rendering:
    """The option of rendering a text field as a reference image: the sentence that points the model at it."""

    field: str
    template: str
    template_zh: str

    def sentence(self, lang: str) -> str:
        return self.template_zh if lang == "zh" else self.template


@dataclass(frozen=True)
class Recipe:
    """One task: its form (fields), its prompt in both languages, what it suggests, and an example."""

    id: str
    label: str
    label_zh: str
    about: str
    about_zh: str
    fields: tuple[Field, ...]
    template: str
    template_zh: str
    model: str | None
    size: str | None  # "auto", an aspect preset ("16:9"), or "image-k": match Image k
    n: int | None
    example: Mapping[str, Any]
    example_zh: Mapping[str, Any]
    length_check: LengthCheck | None
    rendering: Rendering | None

    def text(self, lang: str) -> tuple[str, str]:
        """(label, about) in `lang`."""
        return (self.label_zh, self.about_zh) if lang == "zh" else (self.label, self.about)

    def field(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise errors.RecipeValueError(
            field=name,
            recipe=self.label,
            recipe_zh=self.label_zh,
            label=name,
            label_zh=name,
            reason="no such field",
            reason_zh="没有这个字段",
        )

    def defaults(self, lang: str) -> dict[str, Any]:
        """Each field's starting value on a page in `lang`."""
        return {field.name: field.default_in(lang) for field in self.fields}

    def example_values(self, lang: str) -> dict[str, Any]:
        return dict(self.example_zh if lang == "zh" else self.example)

    def read(self, values: Mapping[str, Any], lang: str) -> dict[str, Any]:
        """Every field's checked value (see Field.read); a field not given takes its default."""
        return {f.name: f.read(values.get(f.name, f.default_in(lang)), self, lang) for f in self.fields}

    def prompt(self, values: Mapping[str, Any], lang: str, reference: int | None = None) -> str:
        """The prompt in `lang` for these values; with `reference` (the slot of the rendered text), the sentence
        that tells the model to copy the glyphs from it. Raises the RecipeValueError of the first bad value."""
        words = self.words(values, lang)
        text = _fill(self.template_zh if lang == "zh" else self.template, words)
        if reference is not None and self.rendering is not None:
            reference_words = f"图{reference}" if lang == "zh" else f"Image {reference}"
            text += ("" if lang == "zh" else " ") + _fill(
                self.rendering.sentence(lang), {**words, "reference": reference_words}
            )
        return text

    def words(self, values: Mapping[str, Any], lang: str) -> dict[str, str]:
        """How each field's checked value reads in the prompt, a choice's words filled with the other fields."""
        checked = self.read(values, lang)
        words = {f.name: f.words(checked[f.name], lang) for f in self.fields if f.kind != "choice"}
        for f in self.fields:
            if f.kind == "choice":
                words[f.name] = _fill(f.words(checked[f.name], lang), words)
        return words

    def example_prompt(self, lang: str) -> str:
        """What the form writes from the example's values."""
        return self.prompt(self.example_values(lang), lang)

    def warnings(self, values: Mapping[str, Any]) -> tuple[LengthWarning, ...]:
        """What the models handle badly in these values (the lengths of an old and a new text far apart); values
        not filled in yet warn of nothing."""
        check = self.length_check
        if check is None:
            return ()
        first = str(values.get(check.first) or "").strip()
        second = str(values.get(check.second) or "").strip()
        if not first or not second:
            return ()
        a, b = display_width(first), display_width(second)
        if max(a, b) <= check.ratio * min(a, b):
            return ()
        return (LengthWarning(first, second, a, b),)

    def suggested_size_slot(self) -> int | None:
        """k when the recipe suggests matching Image k's size."""
        if self.size and self.size.startswith("image-"):
            return int(self.size.removeprefix("image-"))
        return None


def display_width(text: str) -> int:
    """How wide a text is set: a wide (CJK) character counts two, a combining mark none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _fill(template: str, words: Mapping[str, str]) -> str:
    """The template with each {name} replaced (a value's own braces are left as typed)."""
    return _PLACEHOLDER.sub(lambda match: words.get(match.group(1), match.group(0)), template)


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw) if raw == raw and abs(raw) != float("inf") else None
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _shown(value: Any) -> str:
    """A number as people write it: 45, not 45.0."""
    return f"{value:g}" if isinstance(value, float) else str(value)


# ---- reading the file ------------------------------------------------------------------------------------

_RECIPE_KEYS = {
    "label",
    "label_zh",
    "about",
    "about_zh",
    "template",
    "template_zh",
    "fields",
    "model",
    "size",
    "n",
    "example",
    "length_check",
    "rendering",
}
_FIELD_KEYS = {"name", "kind", "label", "label_zh", "default", "default_zh", "choices", "minimum", "maximum"}


def load_recipes(path: Path = BUILT_IN) -> tuple[Recipe, ...]:
    """The recipes of a TOML file, every entry checked (RecipeFileError naming the recipe and field)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecipeFileError(f"recipes file {path}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecipeFileError(f"recipes file {path}: not valid TOML ({exc})") from None
    tables = data.get("recipes")
    if not isinstance(tables, dict) or not tables or not all(isinstance(t, dict) for t in tables.values()):
        raise RecipeFileError(f'recipes file {path}: needs [recipes."id"] tables')
    recipes = []
    for recipe_id, entry in tables.items():
        try:
            recipes.append(_recipe(recipe_id, entry))
        except _Broken as broken:
            raise RecipeFileError(f'recipes file {path}: recipe "{recipe_id}": {broken}') from None
    return tuple(recipes)


class _Broken(ValueError):
    """What is wrong with one entry, said with the field it is in."""


def _recipe(recipe_id: str, entry: dict[str, Any]) -> Recipe:
    unknown = set(entry) - _RECIPE_KEYS
    if unknown:
        raise _Broken(f"unknown key(s) {', '.join(sorted(unknown))}")
    texts = {
        key: _text(entry.get(key), key) for key in ("label", "label_zh", "about", "about_zh", "template", "template_zh")
    }
    raw_fields = entry.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields or not all(isinstance(f, dict) for f in raw_fields):
        raise _Broken("fields: needs at least one [[fields]] table")
    fields = tuple(_field(raw, position) for position, raw in enumerate(raw_fields, start=1))
    names = [field.name for field in fields]
    if len(set(names)) < len(names):
        raise _Broken(f"fields: a name is used twice ({', '.join(names)})")
    others = set(names)
    for key in ("template", "template_zh"):
        _placeholders(texts[key], others, key)
    for field in fields:
        for choice in field.choices:
            for words in (choice.text, choice.text_zh):
                _placeholders(
                    words, others - {f.name for f in fields if f.kind == "choice"}, f'field "{field.name}": choices'
                )
    model, size, n = _suggestions(entry)
    example = entry.get("example", {})
    if not isinstance(example, dict) or set(example) - {"values", "values_zh"}:
        raise _Broken("example: must be a table of values (and values_zh)")
    values = example.get("values", {})
    values_zh = example.get("values_zh", values)
    length_check = _length_check(entry.get("length_check"), fields)
    rendering = _rendering(entry.get("rendering"), fields)
    recipe = Recipe(
        recipe_id,
        texts["label"],
        texts["label_zh"],
        texts["about"],
        texts["about_zh"],
        fields,
        texts["template"],
        texts["template_zh"],
        model,
        size,
        n,
        values,
        values_zh,
        length_check,
        rendering,
    )
    for lang, key in (("en", "values"), ("zh", "values_zh")):
        given = recipe.example_values(lang)
        if not isinstance(given, dict) or set(given) - others:
            raise _Broken(f"example: {key} must name only the fields ({', '.join(names)})")
        try:
            recipe.example_prompt(lang)
        except errors.RecipeError as error:
            raise _Broken(f"example: {key}: {error.message('en')}") from None
    return recipe


def _field(raw: dict[str, Any], position: int) -> Field:
    name = raw.get("name")
    where = f'field "{name}"' if isinstance(name, str) and name else f"field {position}"
    try:
        unknown = set(raw) - _FIELD_KEYS
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
        if not isinstance(name, str) or not re.fullmatch(r"\w+", name):
            raise ValueError("name must be a word (letters, digits, _)")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        choices = _choices(raw.get("choices"), kind)
        default = raw.get("default", choices[0].id if choices else "" if kind == "text" else None)
        if kind == "image" and default is None:
            default = 1
        if kind == "number" and default is None:
            raise ValueError("a number field needs a default")
        minimum, maximum = raw.get("minimum"), raw.get("maximum")
        if kind == "number" and not (_is_number(minimum) and _is_number(maximum) and minimum <= maximum):
            raise ValueError("a number field needs minimum <= maximum")
        if kind != "number" and (minimum is not None or maximum is not None):
            raise ValueError("only a number field takes minimum and maximum")
        field = Field(
            name,
            kind,
            _text(raw.get("label"), "label"),
            _text(raw.get("label_zh"), "label_zh"),
            default,
            raw.get("default_zh", default),
            choices,
            minimum,
            maximum,
        )
        _check_default(field)
        return field
    except ValueError as exc:
        raise _Broken(f"{where}: {exc}") from None


def _check_default(field: Field) -> None:
    for key, value in (("default", field.default), ("default_zh", field.default_zh)):
        if field.kind == "text":
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a text")
            continue
        if field.kind == "choice" and value not in {choice.id for choice in field.choices}:
            raise ValueError(f"{key} {value!r} is none of the choices")
        if field.kind == "image" and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= IMAGE_SLOTS
        ):
            raise ValueError(f"{key} must be a slot number from 1 to {IMAGE_SLOTS}")
        if field.kind == "number" and not (_is_number(value) and field.minimum <= value <= field.maximum):
            raise ValueError(f"{key} must be a number from minimum to maximum")


def _choices(raw: Any, kind: str) -> tuple[Choice, ...]:
    if kind != "choice":
        if raw is not None:
            raise ValueError("only a choice field takes choices")
        return ()
    if not isinstance(raw, list) or not raw:
        raise ValueError("a choice field needs choices = [{ id, text, text_zh }, …]")
    choices = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"id", "text", "text_zh"}:
            raise ValueError("each choice is { id, text, text_zh }")
        choices.append(
            Choice(
                _text(item["id"], "choice id"),
                _text(item["text"], "choice text"),
                _text(item["text_zh"], "choice text_zh"),
            )
        )
    if len({choice.id for choice in choices}) < len(choices):
        raise ValueError("two choices have the same id")
    return tuple(choices)


def _suggestions(entry: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    model, size, n = entry.get("model"), entry.get("size"), entry.get("n")
    spec = None
    if model is not None:
        if model not in catalog.model_ids():
            raise _Broken(f"model: {model!r} is no model of the catalog")
        spec = catalog.get_model(model)
    if size is not None:
        slot = re.fullmatch(r"image-(\d+)", str(size))
        if not (size == "auto" or size in sizes.ASPECT_PRESETS or (slot and 1 <= int(slot.group(1)) <= 3)):
            raise _Broken(
                f'size: {size!r} is none of "auto", an aspect ({", ".join(sizes.ASPECT_PRESETS)}) '
                'or "image-k" (k 1 to 3)'
            )
        if spec is not None and size != "auto" and not spec.custom_size:
            raise _Broken(f"size: {spec.id} takes no size")
    if n is not None:
        most = spec.max_n if spec else max(m.max_n for m in catalog.MODELS)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= most:
            raise _Broken(f"n: must be a whole number from 1 to {most}; got {n!r}")
    return model, size, n


def _length_check(raw: Any, fields: tuple[Field, ...]) -> LengthCheck | None:
    if raw is None:
        return None
    texts = {field.name for field in fields if field.kind == "text"}
    if not isinstance(raw, dict) or set(raw) != {"first", "second", "ratio"}:
        raise _Broken("length_check: must be { first, second, ratio }")
    if raw["first"] not in texts or raw["second"] not in texts:
        raise _Broken(f"length_check: first and second must be text fields ({', '.join(sorted(texts))})")
    if not _is_number(raw["ratio"]) or raw["ratio"] <= 1:
        raise _Broken("length_check: ratio must be a number above 1")
    return LengthCheck(raw["first"], raw["second"], float(raw["ratio"]))


def _rendering(raw: Any, fields: tuple[Field, ...]) -> Rendering | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"field", "template", "template_zh"}:
        raise _Broken("rendering: must be { field, template, template_zh }")
    texts = {field.name for field in fields if field.kind == "text"}
    if raw["field"] not in texts:
        raise _Broken(f"rendering: field must be a text field ({', '.join(sorted(texts))})")
    names = {field.name for field in fields} | {"reference"}
    for key in ("template", "template_zh"):
        _placeholders(_text(raw[key], f"rendering: {key}"), names, f"rendering: {key}")
        if "{reference}" not in raw[key]:
            raise _Broken(f"rendering: {key} must say where the reference is ({{reference}})")
    return Rendering(raw["field"], raw["template"], raw["template_zh"])


def _placeholders(text: str, allowed: set[str], where: str) -> None:
    unknown = sorted(set(_PLACEHOLDER.findall(text)) - allowed)
    if unknown:
        raise _Broken(f"{where}: {{{unknown[0]}}} is no field of the recipe")


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Broken(f"{name}: must be a non-empty text")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


RECIPES: tuple[Recipe, ...] = load_recipes()


def get_recipe(recipe_id: str) -> Recipe:
    """The recipe of that id, or UnknownRecipeError."""
    for recipe in RECIPES:
        if recipe.id == recipe_id:
            return recipe
    raise errors.UnknownRecipeError(recipe=str(recipe_id))
