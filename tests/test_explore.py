"""Prompt exploration: plans expanded and checked before any call, then run on the studio against the
simulator with bounded concurrency, cancel, and a zip export with a contact sheet."""

import csv
import io
import itertools
import json
import threading
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FAST_RETRY, UNPACED
from PIL import Image

from core import errors
from core.caller import Caller
from core.settings import Price, Settings
from core.studio import Stage, Studio
from core.workflows import contact_sheet, explore, export
from core.workflows.contact_sheet import GAP, HEADER_HEIGHT, LABEL_WIDTH
from core.workflows.explore import CellState, run_plan
from core.workflows.plan import Cell, Plan, PlanForm, expand_prompts, varying_parts

SMALL = "512*512"  # the simulator renders what it is asked for: small results keep these tests quick


@pytest.fixture
def explorer(sim, tmp_path):
    """A studio whose explorations run at most 3 cells at once (and no rate limit spaces them out)."""
    settings = Settings(data_dir=tmp_path / "data", simulate=True, explore_concurrency=3, rate_limits=UNPACED)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    yield studio
    studio.close()


def plan_of(make_image, prompts="a red hat\nmake it night", **values) -> Plan:
    values.setdefault("sizes", [SMALL])
    values.setdefault("max_cells", 48)
    return Plan.create([make_image()], prompts, **values)


# --- expansion ------------------------------------------------------------------------------------


def test_each_line_is_a_variant_and_each_template_group_multiplies_its_line():
    text = "a {red|blue} hat\n\n{big|small} {cat|dog}\na red hat\n"
    assert expand_prompts(text) == (
        "a red hat",
        "a blue hat",
        "big cat",
        "big dog",
        "small cat",
        "small dog",
    )


def test_braces_without_alternatives_stay_as_written_and_an_empty_alternative_leaves_single_spaces():
    assert expand_prompts("write {name} on the sign in a {very |}bold font") == (
        "write {name} on the sign in a very bold font",
        "write {name} on the sign in a bold font",
    )
    assert expand_prompts(["a sign that says\nOPEN", "  "]) == ("a sign that says\nOPEN",)


@pytest.mark.parametrize(
    ("prompts", "parts"),
    [
        (["give the cat a red scarf", "give the cat a blue scarf"], ("…red…", "…blue…")),
        (
            ["give the cat a red scarf", "give the cat a blue scarf", "make it night", "make it winter"],
            ("…red…", "…blue…", "…night", "…winter"),
        ),
        (["make it night", "make it night, please"], ("make it night", "…please")),
        (["给猫戴上红色围巾", "给猫戴上蓝色围巾"], ("…红…", "…蓝…")),
        (["a red hat", "make it night"], ("a red hat", "make it night")),
        (["a hat"], ("a hat",)),
    ],
    ids=["one-word-mid-prompt", "two-templates", "one-extends-another", "chinese", "nothing-shared", "alone"],
)
def test_captions_keep_the_part_of_each_prompt_that_differs(prompts, parts):
    assert varying_parts(prompts) == parts


def test_a_plan_is_prompts_x_seeds_x_models_x_sizes_and_its_cost_is_known_before_any_call(sim, make_image):
    plan = plan_of(
        make_image,
        "a {red|blue} hat",
        seeds=[1, 2, 3],
        models=["qwen-image-edit-plus", "qwen-image-edit-max"],
        sizes=["512*512", "768x768"],
        n=2,
    )

    assert plan.count == 2 * 3 * 2 * 2 == 24
    assert plan.images_billed == 48
    assert plan.cost(Price(Decimal("0.03"), "USD")) == Decimal("1.44") and plan.cost(None) is None
    assert plan.values("size") == ("512*512", "768*768")
    assert [cell.index for cell in plan.cells] == list(range(24))
    assert {(c.params.prompt, c.params.seed, c.params.model, str(c.params.size)) for c in plan.cells} == {
        (p, s, m, z) for p in plan.prompts for s in (1, 2, 3) for m in plan.models for z in plan.sizes
    }
    assert sim.stats.generation_calls == 0


@pytest.mark.parametrize(
    ("values", "edits"),
    [
        ({"seeds": "-1, -1"}, 2),  # two random seeds, each drawn: two edits
        ({"seeds": "7", "sizes": "auto, AUTO, 1024x1024, 1024*1024"}, 2),  # two sizes, each written twice
    ],
)
def test_what_a_plan_is_said_to_cost_is_what_it_runs(explorer, sim, make_image, values, edits):
    form = PlanForm(prompts="a red hat", **values)
    draft = form.draft(max_cells=48)  # what the Explore tab's cost line and the CLI count
    calls = sim.stats.generation_calls

    outcomes = run_plan(explorer, Plan.from_draft([make_image()], draft)).wait(timeout=60)

    assert (draft.count, draft.images_billed) == (edits, edits)
    assert len(outcomes) == edits and all(o.state is CellState.DONE for o in outcomes)
    assert sim.stats.generation_calls - calls == edits


def test_random_seeds_are_drawn_once_for_the_whole_plan_and_recorded(make_image):
    plan = plan_of(make_image, seeds=[7], random_seeds=2)

    assert len(plan.seeds) == 3 and plan.seeds[0] == 7
    for prompt in plan.prompts:
        assert [c.params.seed for c in plan.cells if c.params.prompt == prompt] == list(plan.seeds)
    assert [c.params.seed_was_random for c in plan.cells[:3]] == [False, True, True]
    assert plan.as_dict()["seeds"] == list(plan.seeds)


def test_values_as_a_form_gives_them_are_understood(make_image):
    plan = plan_of(make_image, seeds="3, 1 2", random_seeds=1.0, models="qwen-image-edit-max", sizes="768x768")

    assert plan.seeds[:3] == (3, 1, 2) and len(plan.seeds) == 4
    assert (plan.models, plan.sizes, plan.count) == (("qwen-image-edit-max",), ("768*768",), 8)


def test_a_plan_without_seeds_gets_one_random_seed_and_repeated_values_are_kept_once(make_image):
    plan = plan_of(make_image, "a hat\na hat", models=["qwen-image-edit-plus"] * 2, sizes=[SMALL, "512x512"])
    assert plan.count == 1 and plan.cells[0].params.seed_was_random


def test_a_plan_over_the_cap_is_refused_with_its_counts_in_both_languages(sim, make_image):
    with pytest.raises(errors.PlanTooLargeError) as caught:
        plan_of(make_image, "a {red|blue} hat\n{day|night}", seeds=range(13), max_cells=48)

    assert "52 cells" in caught.value.message("en") and "48" in caught.value.message("en")
    assert "4 prompt(s) x 13 seed(s)" in caught.value.message("en")
    assert "52 个组合" in caught.value.message("zh")
    assert sim.stats.generation_calls == 0


def test_a_huge_template_is_refused_without_being_expanded(make_image):
    with pytest.raises(errors.PlanTooLargeError) as caught:
        plan_of(make_image, "{a|b} " * 40)
    assert caught.value.params["count"] == 2**40


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"models": ["qwen-image-edit-plus", "qwen-image-edit"], "sizes": ["1024*1024"]}, errors.SizeNotSupportedError),
        ({"models": ["qwen-image-edit-max", "no-such-model"]}, errors.UnknownModelError),
        ({"sizes": ["auto", "4000*4000"]}, errors.SizeOutOfRangeError),
        ({"seeds": [1, "one"]}, errors.SeedOutOfRangeError),
        ({"n": 7}, errors.CountOutOfRangeError),
        ({"prompts": "a hat\nput the hat of @2 on the cat"}, errors.ImageReferenceError),
        ({"prompts": "\n \n"}, errors.EmptyPromptError),
        ({"random_seeds": -1}, errors.RandomSeedCountError),
    ],
)
def test_a_bad_cell_value_is_refused_before_any_call_with_the_single_edit_message(sim, make_image, values, error):
    with pytest.raises(error) as caught:
        plan_of(make_image, **values)
    assert caught.value.message("en") and caught.value.message("zh")
    assert sim.stats.generation_calls == 0


# --- running -------------------------------------------------------------------------------------


def test_cells_run_with_never_more_in_flight_than_the_setting(explorer, sim, make_image):
    sim.configure(latency=0.2)  # long enough for the cells to overlap
    plan = plan_of(make_image, seeds=[1, 2, 3, 4, 5])
    outcomes = run_plan(explorer, plan).wait(timeout=30)

    assert [o.state for o in outcomes] == [CellState.DONE] * 10
    assert sim.stats.max_in_flight == explorer.settings.explore_concurrency == 3
    assert sim.stats.generation_calls == 10


def test_each_cell_is_in_history_under_its_owner_when_its_outcome_arrives(explorer, make_image):
    plan = plan_of(make_image, seeds=[1, 2])
    seen = []

    def check(outcome: explore.CellOutcome) -> None:
        row = explorer.history.get("visitor-1", outcome.result.edit_id)
        seen.append((row.status, row.prompt, row.seed))

    run_plan(explorer, plan, Caller("visitor-1"), on_outcome=check).wait(timeout=30)
    assert sorted(seen) == sorted(("done", c.params.prompt, c.params.seed) for c in plan.cells)


def test_outcomes_are_yielded_as_cells_finish_and_each_listener_sees_them_all(explorer, make_image):
    plan = plan_of(make_image, seeds=[1, 2, 3])
    run = run_plan(explorer, plan)
    first = [outcome.cell.index for outcome in run.outcomes()]
    again = [outcome.cell.index for outcome in run.outcomes()]

    assert sorted(first) == list(range(6)) and again == first
    assert run.done == 6 and [o.cell.index for o in run.wait()] == list(range(6))


def test_one_failing_cell_does_not_stop_the_others(sim, tmp_path, make_image):
    settings = Settings(data_dir=tmp_path, simulate=True, explore_concurrency=1)  # cell 1 meets the fault
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    sim.inject("content_inspection")
    outcomes = run_plan(studio, plan_of(make_image, seeds=[1, 2])).wait(timeout=30)
    studio.close()

    assert [o.state for o in outcomes] == [CellState.FAILED] + [CellState.DONE] * 3
    assert isinstance(outcomes[0].error, errors.ContentInspectionError)
    assert studio.history.list("local")[-1].status == "failed"


def test_throttled_cells_are_retried_with_backoff_rather_than_failed(explorer, sim, make_image):
    sim.inject("throttle", times=3)
    outcomes = run_plan(explorer, plan_of(make_image, seeds=[1, 2])).wait(timeout=30)

    assert all(o.state is CellState.DONE for o in outcomes)
    assert sim.stats.generation_calls == 4 + 3


def test_cancel_stops_the_cells_not_yet_started_and_lets_the_one_in_flight_finish(sim, tmp_path, make_image):
    studio = Studio(Settings(data_dir=tmp_path, simulate=True, explore_concurrency=1), simulator=sim)
    sim.configure(latency=0.3)
    calling = threading.Event()

    def progress(cell: Cell, step) -> None:
        if step.stage is Stage.CALLING:
            calling.set()

    run = run_plan(studio, plan_of(make_image, seeds=[1, 2, 3]), on_progress=progress)
    assert calling.wait(10)
    run.cancel()
    outcomes = run.wait(timeout=30)
    studio.close()

    assert [o.state for o in outcomes] == [CellState.DONE] + [CellState.CANCELLED] * 5
    assert run.cancelled and sim.stats.generation_calls == 1
    assert len(studio.history.list("local")) == 1


def test_cancel_is_over_at_once_for_every_cell_not_sent_while_the_one_in_flight_finishes(sim, tmp_path, make_image):
    studio = Studio(Settings(data_dir=tmp_path, simulate=True, explore_concurrency=1), simulator=sim)
    sim.configure(latency=1.0)  # the first cell is still at the model when Cancel comes
    calling = threading.Event()

    def progress(cell: Cell, step) -> None:
        if step.stage is Stage.CALLING:
            calling.set()

    try:
        run = run_plan(studio, plan_of(make_image, seeds=[1, 2, 3]), on_progress=progress)
        assert calling.wait(10)
        run.cancel()
        cancelled_at_once = run.done  # the first cell is still at the model
        first_five = [outcome.state for outcome in itertools.islice(run.outcomes(), 5)]
        outcomes = run.wait(timeout=30)
    finally:
        studio.close()

    assert cancelled_at_once == 5 and first_five == [CellState.CANCELLED] * 5
    assert [o.state for o in outcomes] == [CellState.DONE] + [CellState.CANCELLED] * 5
    assert sim.stats.generation_calls == 1


def test_cancel_stops_a_cell_that_is_about_to_be_sent(sim, tmp_path, make_image):
    settings = Settings(data_dir=tmp_path, simulate=True, explore_concurrency=1, rate_limits=UNPACED)  # no wait first
    studio = Studio(settings, simulator=sim)
    started = threading.Event()
    runs: list[explore.ExploreRun] = []

    def progress(cell: Cell, step) -> None:
        if step.stage is Stage.CALLING and cell.index == 1:  # the first cell has landed; the second is next
            started.wait(10)
            runs[0].cancel()  # Cancel comes as the second cell's request is about to go out

    try:
        runs.append(run_plan(studio, plan_of(make_image, seeds=[1, 2, 3]), on_progress=progress))
        started.set()
        outcomes = runs[0].wait(timeout=30)
    finally:
        studio.close()

    assert [o.state for o in outcomes] == [CellState.DONE] + [CellState.CANCELLED] * 5
    assert sim.stats.generation_calls == 1
    assert len(studio.history.list("local")) == 1  # the cell stopped before sending leaves no trace


def test_explorations_together_never_have_more_calls_in_flight_than_the_global_cap(sim, tmp_path, make_image):
    settings = Settings(
        data_dir=tmp_path, simulate=True, explore_concurrency=3, explore_global_concurrency=4, rate_limits=UNPACED
    )
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    sim.configure(latency=0.2)  # long enough for the cells of all runs to overlap
    try:
        runs = [run_plan(studio, plan_of(make_image, seeds=[1, 2, 3]), Caller(f"v{i}")) for i in range(4)]
        outcomes = [outcome for run in runs for outcome in run.wait(timeout=60)]
    finally:
        studio.close()

    assert [o.state for o in outcomes] == [CellState.DONE] * 24
    assert sim.stats.max_in_flight == 4  # 4 runs of 3 parallel cells each would have had 12 at the model


def test_the_grid_folds_every_other_varied_axis_into_the_rows(make_image):
    plan = plan_of(make_image, seeds=[1, 2, 3], models=["qwen-image-edit-plus", "qwen-image-edit-max"])
    grid = plan.grid("prompt", "seed")

    assert grid.column_labels == ("seed 1", "seed 2", "seed 3")
    assert grid.row_labels == (
        "a red hat · qwen-image-edit-plus",
        "a red hat · qwen-image-edit-max",
        "make it night · qwen-image-edit-plus",
        "make it night · qwen-image-edit-max",
    )
    assert grid.row_axes == ("prompt", "model")
    assert grid.row_keys == ((0, 0), (0, 1), (1, 0), (1, 1))
    assert len(set(grid.positions)) == plan.count == 12
    with pytest.raises(ValueError):
        plan.grid("seed", "seed")


# --- export -------------------------------------------------------------------------------------


def test_the_export_holds_every_png_the_parameters_as_csv_and_json_and_a_labelled_contact_sheet(
    explorer, tmp_path, make_image
):
    plan = plan_of(make_image, "make it {night|winter}\nadd a {red|blue} hat", seeds=[11, 22, 33])
    assert (plan.count, plan.images_billed) == (12, 12)
    outcomes = run_plan(explorer, plan).wait(timeout=60)
    path = export.export_run(plan, outcomes, tmp_path / "run.zip", rows="prompt", columns="seed", thumb=64)

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        records = json.loads(archive.read("cells.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("cells.csv").decode())))
        sheet = Image.open(io.BytesIO(archive.read("contact-sheet.png")))
        assert {f"images/cell-{k:02d}-1.png" for k in range(1, 13)} <= names
        assert "inputs/input-1.png" in names
        for record in records["cells"]:
            with Image.open(io.BytesIO(archive.read(record["files"][0]))) as png:
                assert png.size == (512, 512)

    assert records["plan"]["seeds"] == [11, 22, 33] and records["plan"]["count"] == 12
    assert [r["state"] for r in records["cells"]] == ["done"] * 12
    assert [(r["prompt"], r["seed"]) for r in rows[:3]] == [("make it night", s) for s in ("11", "22", "33")]
    assert {"model", "size", "n", "negative_prompt", "edit_id", "request_id", "files"} <= set(rows[0])
    # 3 seed columns of one 64 px thumbnail, 4 prompt rows.
    assert sheet.size == (LABEL_WIDTH + 3 * (64 + GAP) + GAP, HEADER_HEIGHT + 4 * (64 + GAP) + GAP)


def test_the_contact_sheet_follows_the_chosen_axes_and_shows_n_results_per_cell(explorer, make_image):
    plan = plan_of(make_image, seeds=[1, 2, 3], n=2)
    outcomes = run_plan(explorer, plan).wait(timeout=60)
    sheet = contact_sheet.contact_sheet(plan, outcomes, rows="seed", columns="prompt", thumb=50)

    # 2 prompt columns, each cell two 50 px thumbnails wide; 3 seed rows.
    assert sheet.size == (LABEL_WIDTH + 2 * (2 * 50 + GAP) + GAP, HEADER_HEIGHT + 3 * (50 + GAP) + GAP)


def test_failed_and_cancelled_cells_are_shaded_boxes_and_listed_with_their_reason(sim, tmp_path, make_image):
    settings = Settings(data_dir=tmp_path, simulate=True, explore_concurrency=1)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    sim.inject("content_inspection")
    plan = plan_of(make_image, "a hat", seeds=[1, 2])
    outcomes = run_plan(studio, plan).wait(timeout=30)
    studio.close()
    records = export.cell_records(plan, outcomes[:1])  # the second as if the run had been cut short
    sheet = contact_sheet.contact_sheet(plan, outcomes[:1], thumb=80)

    assert [r["state"] for r in records] == ["failed", "not run"]
    assert "content check" in records[0]["error"] and records[0]["files"] == []
    red, green, blue = sheet.getpixel((LABEL_WIDTH + GAP + 2, HEADER_HEIGHT + GAP + 2))
    assert red > green and red > blue


# --- storage caps ---------------------------------------------------------------------------------


def test_a_running_exploration_keeps_every_cell_whatever_the_owner_quota(sim, tmp_path, make_image):
    settings = Settings(data_dir=tmp_path / "data", simulate=True, explore_concurrency=2, owner_storage_mb=1)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    plan = plan_of(make_image, seeds=[1, 2, 3, 4, 5, 6])  # 12 results of about 130 kB: more than 1 MB together
    try:
        outcomes = run_plan(studio, plan).wait(timeout=60)

        assert [o.state for o in outcomes] == [CellState.DONE] * 12
        assert studio.history.usage_bytes("local") > 1024 * 1024  # over the quota, and nothing was evicted
        assert all(Path(image.path).is_file() for o in outcomes for image in o.result.images)
        with zipfile.ZipFile(export.export_run(plan, outcomes, tmp_path / "run.zip", thumb=32)) as archive:
            assert sum(name.startswith("images/") for name in archive.namelist()) == 12
    finally:
        studio.close()


def test_exporting_a_run_whose_result_is_gone_says_which_cell_in_both_languages(explorer, tmp_path, make_image):
    plan = plan_of(make_image, seeds=[1, 2])
    outcomes = run_plan(explorer, plan).wait(timeout=30)
    explorer.delete("local", outcomes[2].result.edit_id)  # e.g. from the History tab, while the grid is shown

    with pytest.raises(errors.ResultFileMissingError) as caught:
        export.export_run(plan, outcomes, tmp_path / "run.zip")

    assert "cell 3" in caught.value.message("en") and "第 3 格" in caught.value.message("zh")
    assert not (tmp_path / "run.zip").exists()  # no half-written zip left behind
