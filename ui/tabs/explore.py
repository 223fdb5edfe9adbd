"""The Explore tab: prompt variants x seeds x models x sizes on the Studio's images, as a grid that fills in."""

from __future__ import annotations

import queue
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from core import catalog, errors
from core.pacing import Waiting
from core.recipes import Recipe, get_recipe
from core.settings import Price
from core.studio import Progress, Stage, Studio
from core.workflows import explore
from core.workflows.explore import CellOutcome, CellState
from core.workflows.export import archive_name, export_run
from core.workflows.plan import AXES, Cell, Plan, PlanForm, recipe_prompts
from ui import gallery
from ui.alerts import fail, inform, quiet, refuse
from ui.forms import Binding, ExploreForm, recall_values, settings_of
from ui.strings import I18N, label, language_of, status
from ui.tabs import explore_grid
from ui.tabs.studio import StudioView
from ui.tabs.studio import recipe as recipe_form
from ui.wiring import PRIVATE, Page

DEFAULTS = PlanForm()
"""The form starts as core's PlanForm does."""


@dataclass(frozen=True)
class RecipeVariants:
    """Prompt variants from the Studio tab's recipe: which of its fields varies, its values, and the button that
    writes one prompt per value into the plan's prompts."""

    line: gr.Markdown  # which recipe, or that none is picked
    field: gr.Dropdown
    values: gr.Textbox
    write: gr.Button


@dataclass(frozen=True)
class PlanFields:
    """The plan's axes, the grid's layout, what it costs, Run and Cancel."""

    prompts: gr.Textbox
    recipe: RecipeVariants
    seeds: gr.Textbox
    random_seeds: gr.Number
    models: gr.CheckboxGroup
    sizes: gr.Textbox
    n: gr.Slider
    rows: gr.Dropdown
    columns: gr.Dropdown
    cost: gr.Markdown
    run: gr.Button
    cancel: gr.Button


@dataclass(frozen=True)
class GridPanel:
    """The grid as it fills in, and what can be done with a cell or the whole run."""

    grid: gr.HTML  # ui/tabs/explore_grid.py
    progress_line: gr.Markdown
    open_cell: gr.Button
    star: gr.Button
    export: gr.Button
    download: gr.File
    run_state: gr.State  # {"plan", "run", "outcomes": {cell index: CellOutcome}, "rows", "columns"}
    selected: gr.State  # index in the plan of the cell last clicked


@dataclass(frozen=True)
class ExploreView:
    """The tab's two halves."""

    plan: PlanFields
    panel: GridPanel

    @property
    def cost_form(self) -> Binding[PlanForm]:
        """The fields the cost line counts from."""
        plan = self.plan
        controls = {"prompts": plan.prompts, "seeds": plan.seeds, "random_seeds": plan.random_seeds}
        return Binding(PlanForm, {**controls, "models": plan.models, "sizes": plan.sizes, "n": plan.n})

    def run_form(self, studio_view: StudioView) -> Binding[ExploreForm]:
        """The fields a run reads: the plan here, the images and shared settings in the Studio tab."""
        plan, controls = self.plan, studio_view.controls
        shared = {
            "images": studio_view.all_slots,
            "negative_prompt": studio_view.prompt.negative,
            "region": controls.region,
            "prompt_extend": controls.prompt_extend,
            "watermark": controls.watermark,
        }
        return Binding(ExploreForm, {**self.cost_form.controls, **shared, "rows": plan.rows, "columns": plan.columns})


def render() -> ExploreView:
    """The plan on the left, the grid on the right."""
    gr.Markdown(I18N("explore_intro"), elem_classes="hint")
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=320):
            plan = _render_plan()
        with gr.Column(scale=7, min_width=360):
            panel = _render_panel()
    return ExploreView(plan, panel)


def _render_plan() -> PlanFields:
    prompts = gr.Textbox(
        label=I18N("explore_prompts"),
        info=I18N("explore_prompts_info"),
        lines=4,
        placeholder=I18N("explore_prompts_placeholder"),
        elem_id="explore-prompts",
    )
    with gr.Accordion(I18N("explore_recipe"), open=False, elem_id="explore-recipe"):
        recipe = RecipeVariants(
            gr.Markdown(I18N("explore_recipe_none"), elem_id="explore-recipe-line", elem_classes="hint"),
            gr.Dropdown([], value=None, label=I18N("explore_recipe_field"), elem_id="explore-recipe-field"),
            gr.Textbox(
                label=I18N("explore_recipe_values"),
                placeholder=I18N("explore_recipe_placeholder"),
                lines=4,
                elem_id="explore-recipe-values",
            ),
            gr.Button(I18N("explore_recipe_write"), size="sm", elem_id="explore-recipe-write"),
        )
    with gr.Row():
        seeds = gr.Textbox(
            DEFAULTS.seeds,
            label=I18N("explore_seeds"),
            info=I18N("explore_seeds_info"),
            scale=3,
            elem_id="explore-seeds",
        )
        random_seeds = gr.Number(
            DEFAULTS.random_seeds, label=I18N("explore_random_seeds"), precision=0, minimum=0, scale=1
        )
    models = gr.CheckboxGroup(
        [m.id for m in catalog.MODELS],
        value=list(DEFAULTS.models),
        label=I18N("explore_models"),
        elem_id="explore-models",
    )
    with gr.Row():
        sizes = gr.Textbox(DEFAULTS.sizes, label=I18N("explore_sizes"), info=I18N("explore_sizes_info"), scale=3)
        most = max(model.max_n for model in catalog.MODELS)
        n = gr.Slider(1, most, value=DEFAULTS.n, step=1, label=I18N("n"), scale=2, elem_id="explore-n")
    axes = [(I18N(f"axis_{axis}"), axis) for axis in AXES]
    with gr.Row():
        rows = gr.Dropdown(axes, value="prompt", label=I18N("explore_rows"), elem_id="explore-rows")
        columns = gr.Dropdown(axes, value="seed", label=I18N("explore_columns"), elem_id="explore-columns")
    cost = gr.Markdown("", elem_id="explore-cost")
    with gr.Row(elem_classes="button-row"):
        run = gr.Button(I18N("explore_run"), variant="primary", scale=3, elem_id="explore-run")
        cancel = gr.Button(I18N("cancel"), variant="stop", scale=1, elem_id="explore-cancel")
    return PlanFields(prompts, recipe, seeds, random_seeds, models, sizes, n, rows, columns, cost, run, cancel)


def _render_panel() -> GridPanel:
    grid = explore_grid.render()
    progress_line = gr.Markdown("", elem_id="explore-status")
    with gr.Row():  # wraps on a phone rather than squeezing three long labels into one line
        open_cell = gr.Button(I18N("explore_open"), size="sm", elem_id="explore-open")
        star = gr.Button(I18N("explore_star"), size="sm", elem_id="explore-star")
        export = gr.Button(I18N("explore_export"), size="sm", elem_id="explore-export")
    download = gr.File(label=I18N("history_file"), interactive=False, elem_id="explore-download")
    return GridPanel(grid, progress_line, open_cell, star, export, download, gr.State(None), gr.State(None))


def cost_line(form: PlanForm, max_cells: int, price: Price | None, lang: str) -> str:
    """How many edits and billed images the plan makes (core counts them, as the run will), or why the plan
    cannot run."""
    try:
        draft = form.draft(max_cells)
    except errors.EmptyPromptError:
        count = images = 0
    except errors.EditError as error:
        return error.message(lang)
    else:
        count, images = draft.count, draft.images_billed
    if price is None:
        return status("explore_cost", lang, count=count, images=images)
    return status(
        "explore_cost_price", lang, count=count, images=images, amount=price.amount * images, currency=price.currency
    )


def listen(
    view: ExploreView,
    page: Page,
    studio_view: StudioView,
    tabs: gr.Tabs,
    studio_tab_id: str,
) -> None:
    """Wire the tab's events."""
    _listen_cost(view, page.studio)
    _listen_recipe(view, studio_view)
    _listen_run(view, page, studio_view)
    _listen_cells(view, page, studio_view, tabs, studio_tab_id)


def _listen_cost(view: ExploreView, studio: Studio) -> None:
    """The cost line follows every field it counts from."""
    settings = studio.settings
    form = view.cost_form

    def on_plan(values: dict[Any, Any], request: gr.Request) -> str:
        return cost_line(form.read(values), settings.explore_max_cells, settings.price_per_image, language_of(request))

    for component in form.inputs:
        component.change(on_plan, form.inputs, view.plan.cost, queue=False, **PRIVATE)


def _listen_recipe(view: ExploreView, studio_view: StudioView) -> None:
    """The Studio's recipe offers its fields to vary; Write puts one prompt per value into the plan's prompts
    (core's `recipe_prompts`), where the cost line counts them as it counts any prompts."""
    form, variants = studio_view.recipe, view.plan.recipe

    def offer(recipe_id: str | None, request: gr.Request) -> tuple[Any, Any]:
        lang = language_of(request)
        recipe = _recipe_of(recipe_id)
        if recipe is None:
            return label("explore_recipe_none", lang), gr.update(choices=[], value=None)
        fields = [(field.label_in(lang), field.name) for field in recipe.fields]
        line = status("explore_recipe_for", lang, recipe=recipe.text(lang)[0])
        return line, gr.update(choices=fields, value=fields[0][1])

    form.picker.change(offer, form.picker, [variants.line, variants.field], queue=False, **PRIVATE)

    def write(values: dict[Any, Any], request: gr.Request) -> str:
        lang = language_of(request)
        recipe = _recipe_of(values[form.picker])
        if recipe is None:
            raise quiet(label("explore_recipe_none", lang), "explore_recipe_none", lang=lang)
        given = recipe_form.field_values(form, recipe, values)
        try:
            prompts = recipe_prompts(recipe, given, str(values[variants.field] or ""), values[variants.values], lang)
        except errors.EditError as error:
            raise fail(error, lang) from None
        return "\n".join(prompts)

    variants.write.click(
        write, {form.picker, *form.fields, variants.field, variants.values}, view.plan.prompts, **PRIVATE
    )


def _recipe_of(recipe_id: Any) -> Recipe | None:
    try:
        return get_recipe(str(recipe_id)) if recipe_id else None
    except errors.UnknownRecipeError:
        return None


def _listen_run(view: ExploreView, page: Page, studio_view: StudioView) -> None:
    """Run checks the whole plan first, then fills the grid as cells finish. Cancel stops at once every cell
    not sent yet (their tiles say cancelled); the cells already sent still land in the grid (they are
    billed), and the status line ends with the summary, as after a whole run. Cancel does not cancel the
    Gradio event: a cancelled generator could not yield that summary."""
    form = view.run_form(studio_view)
    panel = view.panel
    studio, owner_state, key_state = page.studio, page.owner_state, page.key_state

    def run_grid(values: dict[Any, Any], request: gr.Request):
        who = page.visitor(values[owner_state], values[key_state], request)
        explore_form = form.read(values)
        try:
            plan = Plan.from_draft(
                explore_form.images, explore_form.plan_form().draft(studio.settings.explore_max_cells)
            )
            reports: queue.SimpleQueue[CellOutcome | tuple[int, Waiting | None]] = queue.SimpleQueue()

            def on_progress(cell: Cell, step: Progress) -> None:
                if step.stage in (Stage.WAITING, Stage.CALLING):  # a wait told, or over
                    reports.put((cell.index, step.waiting))

            run = explore.run_plan(studio, plan, who.caller, on_outcome=reports.put, on_progress=on_progress)
        except errors.EditError as error:
            raise fail(error, who.lang) from None
        rows = explore_form.rows
        columns = explore_form.columns if explore_form.columns != rows else next(a for a in AXES if a != rows)
        outcomes: dict[int, CellOutcome] = {}
        tag = uuid.uuid4().hex  # tells the page's grid that a new run began (its selection goes)

        def drawn() -> str:
            return explore_grid.table(plan, outcomes, rows, columns, who.lang, _thumbnail(studio), tag)

        try:
            state = {"plan": plan, "run": run, "outcomes": outcomes, "rows": rows, "columns": columns}
            yield drawn(), status("explore_progress", who.lang, done=0, count=plan.count), state, None
            waits: dict[int, Waiting] = {}  # cells waiting for their turn under the rate limit
            shown = ""
            while len(outcomes) < plan.count:
                report = reports.get()
                if isinstance(report, CellOutcome):
                    index = report.cell.index
                    outcomes[index] = report
                    waits.pop(index, None)
                    shown = _progress_line(plan, outcomes, waits, who.lang)
                    yield drawn(), shown, state, gr.skip()
                    continue
                index, waiting = report
                if waiting is None or index in outcomes:
                    waits.pop(index, None)
                else:
                    waits[index] = waiting
                line = _progress_line(plan, outcomes, waits, who.lang)
                if line != shown:  # once a second while a cell waits: a Cancel's summary comes through
                    shown = line
                    yield gr.skip(), line, state, gr.skip()
            yield gr.skip(), _summary(plan, outcomes, who.lang), state, gr.skip()
        finally:
            if len(outcomes) < plan.count:  # the visitor left: stop the cells not sent yet
                run.cancel()

    view.plan.run.click(
        run_grid,
        form.inputs | {owner_state, key_state},
        [panel.grid, panel.progress_line, panel.run_state, panel.selected],
        concurrency_id="edit",
        show_progress_on=panel.grid,
        **PRIVATE,
    )

    def cancel(state: dict[str, Any] | None) -> None:
        run = (state or {}).get("run")  # server-side state: only this page's own run can be reached
        if run is not None:
            run.cancel()

    view.plan.cancel.click(cancel, panel.run_state, None, queue=False, **PRIVATE)


def _thumbnail(studio: Studio) -> explore_grid.Thumbnail:
    """A finished cell's first image as the store's thumbnail (made once, served in place)."""

    def of(outcome: CellOutcome) -> Path:
        first = outcome.result.images[0]
        return studio.store.thumbnail(first.sha256, "png")

    return of


def _progress_line(plan: Plan, outcomes: dict[int, CellOutcome], waits: dict[int, Waiting], lang: str) -> str:
    """How many cells finished, and how long the next waiting one still waits for its turn."""
    line = status("explore_progress", lang, done=len(outcomes), count=plan.count)
    if waits:
        line += " " + min(waits.values(), key=lambda waiting: waiting.seconds).message(lang)
    return line


def _summary(plan: Plan, outcomes: dict[int, CellOutcome], lang: str) -> str:
    states = [o.state for o in outcomes.values()]
    return status(
        "explore_done",
        lang,
        done=states.count(CellState.DONE),
        failed=states.count(CellState.FAILED),
        cancelled=states.count(CellState.CANCELLED),
        count=plan.count,
    )


def _listen_cells(
    view: ExploreView,
    page: Page,
    studio_view: StudioView,
    tabs: gr.Tabs,
    studio_tab_id: str,
) -> None:
    """Pick a cell; open it in the Studio, star it, or export the whole run."""
    panel = view.panel

    def select(state: dict[str, Any] | None, evt: gr.SelectData) -> int | None:
        index = evt.index  # sent by the page: only ever an index into this page's own run
        if not state or not isinstance(index, int) or not 0 <= index < state["plan"].count:
            return None
        return index

    panel.grid.select(select, panel.run_state, panel.selected, queue=False, **PRIVATE)

    def chosen(state: dict[str, Any] | None, index: int | None, lang: str) -> CellOutcome:
        outcome = (state or {}).get("outcomes", {}).get(index) if index is not None else None
        if outcome is None or outcome.result is None:
            raise refuse("pick_result", lang)
        return outcome

    def open_cell(state: dict[str, Any] | None, index: int | None, request: gr.Request):
        lang = language_of(request)
        result = chosen(state, index, lang).result
        entries = gallery.result_entries(result)
        settings_values = recall_values(settings_of(result.request.params.as_dict()))
        return (
            *settings_values,
            gallery.items(entries, lang),
            entries,
            status("reopened", lang),
            gr.Tabs(selected=studio_tab_id),
        )

    studio_view.undo.replacing(
        panel.open_cell.click,
        "cell_opened",
        open_cell,
        [panel.run_state, panel.selected],
        [*studio_view.settings_controls, *studio_view.shown_results, tabs],
    )

    def star(state: dict[str, Any] | None, index: int | None, owners: dict[str, Any] | None, request: gr.Request):
        who = page.visitor(owners, None, request)
        page.studio.history.star(who.owner, chosen(state, index, who.lang).result.edit_id)
        inform(status("cell_starred", who.lang), who.lang)

    panel.star.click(star, [panel.run_state, panel.selected, page.owner_state], None, **PRIVATE)

    def export(state: dict[str, Any] | None, owners: dict[str, Any] | None, request: gr.Request) -> str:
        lang = language_of(request)
        if not state:
            raise refuse("pick_result", lang)
        plan, outcomes = state["plan"], state["outcomes"]
        finished = [outcomes[index] for index in sorted(outcomes)]
        destination = page.exports.place(page.visitor(owners, None, request).owner, archive_name("explore"))
        try:
            return str(export_run(plan, finished, destination, rows=state["rows"], columns=state["columns"]))
        except errors.EditError as error:  # a cell's results deleted or evicted since the run
            raise fail(error, lang) from None

    panel.export.click(export, [panel.run_state, page.owner_state], panel.download, **PRIVATE)
