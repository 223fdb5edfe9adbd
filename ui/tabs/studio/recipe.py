"""Recipes under Generate: pick a task (change text, remove an object, relight, …), fill its fields, and one
button writes the prompt in the page's language (still editable) and applies the recipe's suggested model, size
and number of results; Undo puts the setup back. For change text, the new text can be rendered in a chosen font
as a reference image, put in the next free slot, and the prompt tells the model to copy its glyphs."""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from core import errors, lettering
from core.recipes import RECIPES, Field, Recipe, get_recipe
from ui.alerts import fail
from ui.sizing import MATCH_PREFIX, SIZE_AUTO
from ui.strings import I18N, language_of, status
from ui.tabs.studio.view import FieldPlace, RecipeForm, StudioView
from ui.wiring import PRIVATE

PLACES = max(len(recipe.fields) for recipe in RECIPES)
"""As many places as the longest recipe has fields."""
REFERENCE_SLOTS = (2, 3)
"""Where a rendered text may go: the first of these slots that is free (or already holds a rendered text)."""
_PLACEHOLDER = re.compile(r"\{\w+\}")  # a choice's words name another field ("… {degrees} degrees …")
RENDERED = "recipe-text"
"""The folder (in Gradio's upload folder) of rendered texts, named by their content's hash."""


def render() -> RecipeForm:
    """A closed accordion (under Generate): the picker, then (once a recipe is picked) its form."""
    with gr.Accordion(I18N("recipe_panel"), open=False, elem_id="recipes") as panel:
        picker = gr.Dropdown(
            [(I18N(f"recipe_{recipe.id}"), recipe.id) for recipe in RECIPES],
            value=None,
            label=I18N("recipe_picker"),
            elem_id="recipe-picker",
        )
        about = gr.Markdown("", elem_id="recipe-about", elem_classes="hint")
        places = []
        for index in range(PLACES):
            places.append(
                FieldPlace(
                    gr.Textbox(visible=False, lines=1, elem_id=f"recipe-text-{index}"),
                    gr.Dropdown(visible=False, elem_id=f"recipe-choice-{index}"),
                    gr.Number(visible=False, elem_id=f"recipe-number-{index}"),
                )
            )
        warning = gr.Markdown("", visible=False, elem_id="recipe-warning")
        with gr.Column(visible=False, elem_id="recipe-rendering") as rendering:
            render_box = gr.Checkbox(
                False, label=I18N("recipe_render"), info=I18N("recipe_render_info"), elem_id="recipe-render"
            )
            font = gr.Dropdown(
                [(I18N(f"font_{font.id}"), font.id) for font in lettering.FONTS],
                value=lettering.DEFAULT_FONT,
                label=I18N("recipe_font"),
                elem_id="recipe-font",
            )
        write = gr.Button(I18N("recipe_write"), size="sm", visible=False, elem_id="recipe-write")
    return RecipeForm(panel, picker, about, tuple(places), warning, rendering, render_box, font, write)


def listen(view: StudioView) -> None:
    """Picking a recipe shows its form; typing warns live; Write fills the prompt and the suggestions."""
    form = view.recipe

    def pick(recipe_id: str | None, request: gr.Request) -> list[Any]:
        lang = language_of(request)
        recipe = _recipe(recipe_id)
        if recipe is None:
            hidden = [gr.update(visible=False)] * (3 * PLACES)
            return ["", *hidden, gr.update(visible=False), gr.update(visible=False), gr.update(visible=False)]
        updates: list[Any] = []
        defaults = recipe.defaults(lang)
        for index in range(PLACES):
            field = recipe.fields[index] if index < len(recipe.fields) else None
            updates += _place_updates(field, defaults.get(field.name) if field else None, lang)
        return [
            about_text(recipe, lang),
            *updates,
            gr.update(value="", visible=False),
            gr.update(visible=recipe.rendering is not None),
            gr.update(visible=True),
        ]

    form.picker.change(
        pick,
        form.picker,
        [form.about, *form.fields, form.warning, form.rendering, form.write],
        queue=False,
        **PRIVATE,
    )

    def check(values: dict[Any, Any], request: gr.Request) -> Any:
        recipe = _recipe(values[form.picker])
        if recipe is None:
            return gr.update(value="", visible=False)
        warnings = recipe.warnings(field_values(form, recipe, values))
        lines = ["⚠ " + html.escape(warning.message(language_of(request))) for warning in warnings]
        return gr.update(value="  \n".join(lines), visible=bool(lines))

    texts = {place.text for place in form.places}
    for trigger in (form.picker.change, *(text.change for text in texts)):
        trigger(check, {form.picker, *texts}, form.warning, queue=False, **PRIVATE)

    controls = view.controls
    references = [view.slots[slot - 1] for slot in REFERENCE_SLOTS]
    inputs = {form.picker, *form.fields, form.render, form.font, *references}

    def write(values: dict[Any, Any], request: gr.Request) -> list[Any]:
        lang = language_of(request)
        recipe = _recipe(values[form.picker])
        if recipe is None:
            raise fail(errors.UnknownRecipeError(recipe=str(values[form.picker])), lang)
        given = field_values(form, recipe, values)
        slot_updates: list[Any] = [gr.skip()] * len(references)
        reference = None
        try:
            if values[form.render] is True and recipe.rendering is not None:
                text = recipe.read(given, lang)[recipe.rendering.field]
                reference = _free_slot([values[slot] for slot in references])
                slot_updates[REFERENCE_SLOTS.index(reference)] = rendered_file(text, str(values[form.font]))
            prompt = recipe.prompt(given, lang, reference=reference)
        except errors.EditError as error:
            raise fail(error, lang) from None
        return [prompt, *_suggestions(recipe), *slot_updates]

    view.undo.replacing(
        form.write.click,
        "recipe",
        write,
        inputs,
        [view.prompt.prompt, controls.model, controls.size_mode, controls.n, *references],
    )


def about_text(recipe: Recipe, lang: str) -> str:
    """What the recipe does, what it suggests, and its example: the values and the prompt they write."""
    _label, about = recipe.text(lang)
    example = recipe.example_values(lang)
    words = recipe.words(example, lang)
    colon = "：" if lang == "zh" else ": "
    shown = " · ".join(
        f"{field.label_in(lang)}{colon}{html.escape(words[field.name])}"
        for field in recipe.fields
        if field.name in example
    )
    lines = [html.escape(about)]
    suggested = _suggested_words(recipe, lang)
    if suggested:
        lines.append(status("recipe_suggests", lang, items=suggested))
    lines.append(status("recipe_example", lang, values=shown))
    lines.append("> " + html.escape(recipe.example_prompt(lang)))
    return "  \n".join(lines[:-1]) + "\n\n" + lines[-1]


def field_values(form: RecipeForm, recipe: Recipe, values: Mapping[Any, Any]) -> dict[str, Any]:
    """The recipe's field values as the form's places hold them (a field reads the control of its kind)."""
    return {
        field.name: values.get(_control(place, field)) for field, place in zip(recipe.fields, form.places, strict=False)
    }


def rendered_file(text: str, font_id: str) -> str:
    """The text rendered black on white (core.lettering), as a PNG in Gradio's upload folder named by its hash."""
    buffer = io.BytesIO()
    lettering.render_text(text, font_id).save(buffer, "PNG")
    data = buffer.getvalue()
    folder = Path(get_upload_folder()) / RENDERED
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _free_slot(paths: Sequence[str | None]) -> int:
    """The slot for a rendered text: one already holding a rendered text (it is replaced), else the first empty
    one of REFERENCE_SLOTS; NoFreeSlotError when every one holds the visitor's own image."""
    for slot, path in zip(REFERENCE_SLOTS, paths, strict=True):
        if path and Path(path).parent.name == RENDERED:
            return slot
    for slot, path in zip(REFERENCE_SLOTS, paths, strict=True):
        if not path:
            return slot
    names = " or ".join(f"Image {slot}" for slot in REFERENCE_SLOTS)
    names_zh = "或".join(f"图{slot}" for slot in REFERENCE_SLOTS)
    raise errors.NoFreeSlotError(slots=names, slots_zh=names_zh)


def _suggestions(recipe: Recipe) -> list[Any]:
    """The model, size mode and number of results the recipe suggests (skip for what it leaves alone)."""
    slot = recipe.suggested_size_slot()
    size = f"{MATCH_PREFIX}{slot}" if slot else SIZE_AUTO if recipe.size == "auto" else recipe.size
    return [
        recipe.model if recipe.model else gr.skip(),
        size if size else gr.skip(),
        recipe.n if recipe.n else gr.skip(),
    ]


def _suggested_words(recipe: Recipe, lang: str) -> str:
    parts = []
    if recipe.model:
        parts.append(f"`{recipe.model}`")
    slot = recipe.suggested_size_slot()
    if slot:
        parts.append(status("recipe_size_match", lang, slot=slot))
    elif recipe.size:
        parts.append(status("recipe_size", lang, size=recipe.size))
    if recipe.n:
        parts.append(status("recipe_n", lang, n=recipe.n))
    return " · ".join(parts)


def _place_updates(field: Field | None, value: Any, lang: str) -> list[Any]:
    """The updates of one place's three controls: the field's own shown, labelled and set; the others hidden."""
    hidden = gr.update(visible=False)
    if field is None:
        return [hidden, hidden, hidden]
    label = field.label_in(lang)
    if field.kind == "text":
        return [gr.update(visible=True, label=label, value=value), hidden, hidden]
    if field.kind == "number":
        # No bounds on the control: Gradio's refusal would be generic; core's names the field and its range.
        return [hidden, hidden, gr.update(visible=True, label=label, value=value)]
    if field.kind == "image":
        choices = [(f"图{k}" if lang == "zh" else f"Image {k}", k) for k in range(1, 4)]
    else:
        choices = [(_PLACEHOLDER.sub("…", choice.words(lang)), choice.id) for choice in field.choices]
    return [hidden, gr.update(visible=True, label=label, choices=choices, value=value), hidden]


def _control(place: FieldPlace, field: Field) -> gr.components.Component:
    if field.kind == "text":
        return place.text
    return place.number if field.kind == "number" else place.choice


def _recipe(recipe_id: Any) -> Recipe | None:
    """The recipe picked, or None for none (or a forged id: nothing is shown, Write refuses it)."""
    if not recipe_id:
        return None
    try:
        return get_recipe(str(recipe_id))
    except errors.UnknownRecipeError:
        return None
