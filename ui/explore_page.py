"""The Explore tab: prompt variants x seeds x models x sizes on the Studio's images, as a grid that fills in."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from core import catalog, errors
from core.studio import Studio
from core.workflows import explore
from core.workflows.explore import CellOutcome, CellState
from core.workflows.export import archive_name, export_run
from core.workflows.plan import AXES, Plan, PlanForm
from ui import handlers
from ui.placeholders import placeholder
from ui.strings import I18N, language_of, status
from ui.studio_page import StudioView, recall_values


@dataclass
class ExploreView:
    """The tab's components."""

    prompts: gr.Textbox
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
    grid: gr.Gallery
    progress_line: gr.Markdown
    open_cell: gr.Button
    star: gr.Button
    export: gr.Button
    download: gr.File
    run_state: gr.State  # {"plan": Plan, "outcomes": {cell index: CellOutcome}, "order": [cell index per tile]}
    selected: gr.State  # cell index last clicked


def render() -> ExploreView:
    """Create the tab's components."""
    i18n = I18N
    gr.Markdown(i18n("explore_intro"), elem_classes="hint")
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=320):
            prompts = gr.Textbox(
                label=i18n("explore_prompts"),
                info=i18n("explore_prompts_info"),
                lines=4,
                placeholder="give the cat a {red|blue} scarf\nmake it {night|winter}",
                elem_id="explore-prompts",
            )
            with gr.Row():
                seeds = gr.Textbox(
                    "1, 2, 3",
                    label=i18n("explore_seeds"),
                    info=i18n("explore_seeds_info"),
                    scale=3,
                    elem_id="explore-seeds",
                )
                random_seeds = gr.Number(0, label=i18n("explore_random_seeds"), precision=0, minimum=0, scale=1)
            models = gr.CheckboxGroup(
                [m.id for m in catalog.MODELS],
                value=[catalog.DEFAULT_MODEL],
                label=i18n("explore_models"),
                elem_id="explore-models",
            )
            with gr.Row():
                sizes = gr.Textbox("auto", label=i18n("explore_sizes"), info=i18n("explore_sizes_info"), scale=3)
                n = gr.Slider(1, 6, value=1, step=1, label=i18n("n"), scale=2, elem_id="explore-n")
            with gr.Row():
                rows = gr.Dropdown(list(AXES), value="prompt", label=i18n("explore_rows"))
                columns = gr.Dropdown(list(AXES), value="seed", label=i18n("explore_columns"))
            cost = gr.Markdown("", elem_id="explore-cost")
            with gr.Row(elem_classes="button-row"):
                run = gr.Button(i18n("explore_run"), variant="primary", scale=3, elem_id="explore-run")
                cancel = gr.Button(i18n("cancel"), variant="stop", scale=1, elem_id="explore-cancel")
        with gr.Column(scale=7, min_width=360):
            grid = gr.Gallery(
                label=i18n("explore_grid"),
                columns=3,
                height=620,
                object_fit="contain",
                allow_preview=False,
                elem_id="explore-grid",
            )
            progress_line = gr.Markdown("", elem_id="explore-status")
            with gr.Row(elem_classes="button-row"):
                open_cell = gr.Button(i18n("explore_open"), size="sm", elem_id="explore-open")
                star = gr.Button(i18n("explore_star"), size="sm", elem_id="explore-star")
                export = gr.Button(i18n("explore_export"), size="sm", elem_id="explore-export")
            download = gr.File(label=i18n("history_file"), interactive=False, elem_id="explore-download")
    run_state = gr.State(None)
    selected = gr.State(None)
    # Every component above is a field of the view, under the same name.
    return ExploreView(**{name: value for name, value in locals().items() if name in ExploreView.__annotations__})


def cost_line(form: PlanForm, max_cells: int, price: Any, lang: str) -> str:
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


def _tiles(studio: Studio, plan: Plan, outcomes: dict[int, CellOutcome], rows: str, columns: str, lang: str):
    """Gallery items in grid order (row by row), and the cell index of each tile."""
    grid = plan.grid(rows, columns)
    order = sorted(range(plan.count), key=lambda index: grid.positions[index])
    items = []
    for index in order:
        row, column = grid.positions[index]
        label = f"{grid.column_labels[column]} · {grid.row_labels[row]}"  # the short label first: captions get cut
        outcome = outcomes.get(index)
        if outcome is None:
            items.append((placeholder("waiting"), f"{label} · {status('cell_pending', lang)}"))
        elif outcome.state is CellState.DONE and outcome.result and outcome.result.images:
            first = outcome.result.images[0]
            thumb = studio.store.thumbnail(first.sha256, "png")
            more = f" (+{len(outcome.result.images) - 1})" if len(outcome.result.images) > 1 else ""
            items.append((str(thumb), label + more))
        elif outcome.state is CellState.CANCELLED:
            items.append((placeholder("cancelled"), f"{label} · {status('cell_cancelled', lang)}"))
        else:
            reason = outcome.error.message(lang) if outcome.error else ""
            items.append((placeholder("failed"), f"{label} · {status('cell_failed', lang, reason=reason)}"))
    return items, order


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


def listen(
    view: ExploreView,
    studio: Studio,
    owner_state: gr.BrowserState,
    key_state: gr.BrowserState,
    studio_view: StudioView,
    tabs: gr.Tabs,
    studio_tab_id: str,
) -> None:
    """Wire the tab's events."""
    settings = studio.settings
    options: dict[str, Any] = {"api_visibility": "private"}
    plan_inputs = [view.prompts, view.seeds, view.random_seeds, view.models, view.sizes, view.n]

    def on_plan(prompts, seeds, random_seeds, models, sizes, n, request: gr.Request) -> str:
        form = PlanForm(prompts=prompts, seeds=seeds, random_seeds=random_seeds, models=models, sizes=sizes, n=n)
        return cost_line(form, settings.explore_max_cells, settings.price_per_image, language_of(request))

    for component in plan_inputs:
        component.change(on_plan, plan_inputs, view.cost, queue=False, **options)

    def run_grid(
        prompts: str,
        seeds: str,
        random_seeds: float,
        models: list[str],
        sizes: str,
        n: float,
        rows: str,
        columns: str,
        i1: str | None,
        i2: str | None,
        i3: str | None,
        negative: str,
        region: str,
        prompt_extend: bool,
        watermark: bool,
        owners: dict[str, Any] | None,
        keys: dict[str, Any] | None,
        request: gr.Request,
    ):
        who = handlers.visitor(owners, keys, request)
        form = PlanForm(
            prompts=prompts,
            seeds=seeds,
            random_seeds=random_seeds,
            models=models,
            sizes=sizes,
            n=n,
            negative_prompt=negative,
            region=region,
            prompt_extend=prompt_extend,
            watermark=watermark,
        )
        try:
            plan = Plan.from_draft([i1, i2, i3], form.draft(settings.explore_max_cells))
            run = explore.run_plan(studio, plan, who.caller)
        except errors.EditError as error:
            raise handlers.fail(error, who.lang) from None
        if rows == columns:
            columns = next(axis for axis in AXES if axis != rows)
        outcomes: dict[int, CellOutcome] = {}
        try:
            items, order = _tiles(studio, plan, outcomes, rows, columns, who.lang)
            state = {"plan": plan, "outcomes": outcomes, "order": order, "rows": rows, "columns": columns}
            width = len(plan.values(columns))
            yield (
                gr.Gallery(items, columns=width),
                status("explore_progress", who.lang, done=0, count=plan.count),
                state,
            )
            for outcome in run.outcomes():
                outcomes[outcome.cell.index] = outcome
                items, _order = _tiles(studio, plan, outcomes, rows, columns, who.lang)
                line = status("explore_progress", who.lang, done=len(outcomes), count=plan.count)
                yield gr.Gallery(items, columns=width), line, state
            yield gr.skip(), _summary(plan, outcomes, who.lang), state
        finally:
            if len(outcomes) < plan.count:  # Cancel, or the visitor left: stop the cells not yet started
                run.cancel()

    run_event = view.run.click(
        run_grid,
        [
            *plan_inputs,
            view.rows,
            view.columns,
            *studio_view.slots,
            studio_view.negative,
            studio_view.region,
            studio_view.prompt_extend,
            studio_view.watermark,
            owner_state,
            key_state,
        ],
        [view.grid, view.progress_line, view.run_state],
        concurrency_id="edit",
        show_progress_on=view.grid,
        **options,
    )
    view.cancel.click(None, None, None, cancels=[run_event])

    def select(state: dict[str, Any] | None, evt: gr.SelectData) -> int | None:
        if not state or evt.index >= len(state["order"]):
            return None
        return state["order"][evt.index]

    view.grid.select(select, view.run_state, view.selected, queue=False, **options)

    def chosen(state: dict[str, Any] | None, index: int | None, lang: str) -> CellOutcome:
        outcome = (state or {}).get("outcomes", {}).get(index) if index is not None else None
        if outcome is None or outcome.result is None:
            raise gr.Error(status("pick_result", lang))
        return outcome

    def open_cell(state: dict[str, Any] | None, index: int | None, request: gr.Request):
        lang = language_of(request)
        result = chosen(state, index, lang).result
        entries = handlers.result_entries(result)
        settings_values = recall_values(handlers.settings_of(result.request.params.as_dict()))
        return (
            *settings_values,
            [(e["path"], e["caption"]) for e in entries],
            entries,
            status("reopened", lang),
            gr.Tabs(selected=studio_tab_id),
        )

    view.open_cell.click(
        open_cell,
        [view.run_state, view.selected],
        [
            *studio_view.settings_controls,
            studio_view.gallery,
            studio_view.results_state,
            studio_view.run_status,
            tabs,
        ],
        **options,
    )

    def star(state: dict[str, Any] | None, index: int | None, owners: dict[str, Any] | None, request: gr.Request):
        who = handlers.visitor(owners, None, request)
        studio.history.star(who.owner, chosen(state, index, who.lang).result.edit_id)
        gr.Info(status("cell_starred", who.lang))

    view.star.click(star, [view.run_state, view.selected, owner_state], None, **options)

    def export(state: dict[str, Any] | None, request: gr.Request) -> str:
        if not state:
            raise gr.Error(status("pick_result", language_of(request)))
        plan, outcomes = state["plan"], state["outcomes"]
        finished = [outcomes[index] for index in sorted(outcomes)]
        destination = Path(tempfile.mkdtemp(prefix="qwen-explore-")) / archive_name("explore")
        return str(export_run(plan, finished, destination, rows=state["rows"], columns=state["columns"]))

    view.export.click(export, view.run_state, view.download, **options)
