"""The Studio tab's widgets, grouped as on the page; the other tabs fill some of them."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ui.forms import RECALLED, Binding, StudioForm
from ui.regions import RegionEditor
from ui.slots import InputSlot
from ui.tabs.studio.undo import UndoBar


@dataclass(frozen=True)
class Inputs:
    """The three slots and the buttons that swap neighbours; "More images" (Image 4 onwards) with its slots,
    and the note on what the chosen model takes."""

    slots: tuple[InputSlot, ...]
    swap_buttons: tuple[gr.Button, ...]
    extra_slots: tuple[InputSlot, ...]
    more: gr.Accordion
    more_hint: gr.Markdown
    note: gr.Markdown

    @property
    def all_slots(self) -> tuple[InputSlot, ...]:
        """Image 1 onwards: the three slots, then "More images"."""
        return self.slots + self.extra_slots


@dataclass(frozen=True)
class RegionPanel:
    """The edit area under the slots: the whole image (with Align and Keep unchanged), a region painted on Image
    1 (the editor and its tools), or the canvas expanded (a target aspect, or pixels per side)."""

    panel: gr.Accordion
    area: gr.Radio
    whole: gr.Column
    paint: gr.Column
    expand: gr.Column
    align: gr.Checkbox
    keep_unchanged: gr.Checkbox
    needs_image: gr.Markdown  # shown instead of the editor while Image 1 is empty
    editor: RegionEditor
    rectangle: gr.Button
    invert: gr.Button
    clear: gr.Button
    aspect: gr.Dropdown
    sides: tuple[gr.Number, gr.Number, gr.Number, gr.Number]  # left, top, right, bottom


@dataclass(frozen=True)
class MarksPanel:
    """The edit area's Marks: the canvas over a copy of Image 1, the tool, a note's text, colour and width, Undo
    last mark, Clear and Send with marks; the hidden box a drag's points arrive in, and the marks drawn so far."""

    column: gr.Column
    needs_image: gr.Markdown  # shown instead of the canvas while Image 1 is empty
    canvas: gr.Image
    tool: gr.Radio
    note: gr.Textbox
    colour: gr.Dropdown
    width: gr.Slider
    undo_last: gr.Button
    clear: gr.Button
    send: gr.Button
    drag: gr.Textbox
    state: gr.State  # {"marks": core.marks.Mark.as_dict records, oldest first; "seen": the last drag drawn}


@dataclass(frozen=True)
class PromptFields:
    """What to change, how long it is, what to avoid, and what Generate would refuse in its image references."""

    prompt: gr.Textbox
    counter: gr.Markdown
    negative: gr.Textbox
    references: gr.Markdown


@dataclass(frozen=True)
class FieldPlace:
    """One place of a recipe's form: a field of any kind shows in the one control of its kind (the others
    hidden), so every recipe's fields keep their order with a fixed set of controls."""

    text: gr.Textbox
    choice: gr.Dropdown  # a choice field, or an image slot number
    number: gr.Number


@dataclass(frozen=True)
class RecipeForm:
    """The Recipes picker near the prompt: the chosen recipe's fields, its example and suggestions, the live
    warning, the option of rendering the new text as a reference (change text) and the button that writes
    the prompt."""

    panel: gr.Accordion
    picker: gr.Dropdown
    about: gr.Markdown
    places: tuple[FieldPlace, ...]
    warning: gr.Markdown
    rendering: gr.Column
    render: gr.Checkbox
    font: gr.Dropdown
    write: gr.Button

    @property
    def fields(self) -> list[gr.components.Component]:
        """Every control of the places, in order."""
        return [c for place in self.places for c in (place.text, place.choice, place.number)]


@dataclass(frozen=True)
class RunButtons:
    """Generate, Cancel and what the run bills; how many runs this tab has started (their lines name them)."""

    generate: gr.Button
    cancel: gr.Button
    cost: gr.Markdown
    count: gr.State


@dataclass(frozen=True)
class Controls:
    """Every setting of an edit but the images and the prompts."""

    model: gr.Dropdown
    region: gr.Radio
    model_line: gr.Markdown
    changes: gr.Markdown  # what the last model switch changed by itself, or gave back
    kept: gr.State  # values a model switch forced away ({"n": 4, ...}), restored when a model takes them
    size_mode: gr.Radio
    custom_row: gr.Row
    width: gr.Number
    height: gr.Number
    preview: gr.Markdown
    exact: gr.Checkbox
    n: gr.Slider
    seed: gr.Number
    random_seed: gr.Checkbox
    prompt_extend: gr.Checkbox
    watermark: gr.Checkbox


@dataclass(frozen=True)
class KeyFields:
    """The key field, its two buttons and the line saying what is stored."""

    box: gr.Textbox
    save: gr.Button
    forget: gr.Button
    line: gr.Markdown


@dataclass(frozen=True)
class Results:
    """The middle of the tab: the viewer, the results of this session and what to do with them."""

    gallery: gr.Gallery
    status: gr.Markdown
    use_buttons: tuple[gr.Button, ...]
    recall: gr.Button
    keep: gr.Button  # keep only the selected result of its run (staging: ui/tabs/studio/staging.py)
    discard: gr.Button  # discard the selected result
    viewer: gr.Tabs
    tabs: dict[str, gr.Tab]  # the viewer's tabs by id
    compare_with: gr.Radio
    slider: gr.ImageSlider
    side: gr.Image
    diff: gr.Image
    shown: gr.Image  # the selected result alone
    details: gr.JSON
    state: gr.State  # this tab's results (gallery entries), newest first: what the gallery shows
    selected: gr.State  # the entry last selected in the gallery


@dataclass(frozen=True)
class ExampleButtons:
    """One button per example: a click loads it (without running it)."""

    buttons: tuple[gr.Button, ...]


@dataclass(frozen=True)
class DraftKeeping:
    """What keeps the visitor's draft across reloads: the poll for edits started before the reload, and their ids."""

    timer: gr.Timer  # ticks only while such an edit has not landed
    awaited: gr.State  # ids of those edits


@dataclass(frozen=True)
class StudioView:
    """Every group of the tab."""

    inputs: Inputs
    region: RegionPanel
    marks: MarksPanel
    prompt: PromptFields
    recipe: RecipeForm
    run: RunButtons
    controls: Controls
    key: KeyFields
    results: Results
    examples: ExampleButtons
    undo: UndoBar
    draft: DraftKeeping

    @property
    def slots(self) -> tuple[InputSlot, ...]:
        """Image 1 to 3 (what examples, "use as Image k", Match Image k and compare offer)."""
        return self.inputs.slots

    @property
    def all_slots(self) -> tuple[InputSlot, ...]:
        """Every slot, Image 1 onwards: what an edit sends and what reopening an edit fills."""
        return self.inputs.all_slots

    @property
    def form(self) -> Binding[StudioForm]:
        """Where each StudioForm field lives on the page."""
        return studio_form(self.inputs, self.region, self.prompt, self.controls)

    @property
    def setup(self) -> list[gr.components.Component]:
        """The visitor's setup: every slot, the prompts and every setting (what Undo puts back)."""
        return setup_of(self.form)

    @property
    def settings_controls(self) -> list[gr.components.Component]:
        """The controls that "use these settings" fills, in the order of `forms.recall_values`."""
        controls = self.form.controls
        return [controls[name] for name in RECALLED]  # type: ignore[misc]

    @property
    def shown_results(self) -> list[gr.components.Component]:
        """What reopening an edit replaces: the gallery, the results behind it and the status line."""
        return [self.results.gallery, self.results.state, self.results.status]


def setup_of(form: Binding[StudioForm]) -> list[gr.components.Component]:
    """The controls of `form`, slots first, in a fixed order; not the paint editor (Undo and drafts keep values
    a control takes back as it gave them, and the editor hands over its layers only)."""
    controls = [
        c for control in form.controls.values() for c in (control if isinstance(control, tuple) else (control,))
    ]
    return [c for c in controls if not isinstance(c, RegionEditor)]


def studio_form(inputs: Inputs, region: RegionPanel, prompt: PromptFields, controls: Controls) -> Binding[StudioForm]:
    """Which control holds each StudioForm field."""
    return Binding(
        StudioForm,
        {
            "images": inputs.all_slots,
            "prompt": prompt.prompt,
            "negative_prompt": prompt.negative,
            "model": controls.model,
            "region": controls.region,
            "size_mode": controls.size_mode,
            "width": controls.width,
            "height": controls.height,
            "n": controls.n,
            "seed": controls.seed,
            "random_seed": controls.random_seed,
            "prompt_extend": controls.prompt_extend,
            "watermark": controls.watermark,
            "exact": controls.exact,
            "area": region.area,
            "paint": region.editor,
            "align": region.align,
            "keep_unchanged": region.keep_unchanged,
            "expand_left": region.sides[0],
            "expand_top": region.sides[1],
            "expand_right": region.sides[2],
            "expand_bottom": region.sides[3],
        },
    )
