"""Recipes (core/recipes.py over core/recipes.toml): the prompts they write in English and Chinese, the warning
on text lengths, what they suggest, a broken recipes file refused naming the recipe and the field, and a
recipe's variants over one field as an exploration plan run against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FAST_RETRY, UNPACED

from core import catalog, errors, recipes, sizes
from core.recipes import RECIPES, RecipeFileError, display_width, get_recipe, load_recipes
from core.settings import Settings
from core.studio import Studio
from core.workflows.explore import CellState, run_plan
from core.workflows.plan import Plan, PlanForm, recipe_prompts

CHANGE_TEXT = get_recipe("change-text")
ASKED = (
    "change-text",
    "remove-object",
    "add-object",
    "take-pose",
    "wear-clothes",
    "transfer-style",
    "restore",
    "relight",
    "camera-angle",
    "next-scene",
)


def test_the_library_holds_the_tasks_the_models_do_best_each_with_an_example_in_both_languages():
    assert tuple(recipe.id for recipe in RECIPES) == ASKED
    for recipe in RECIPES:
        english, chinese = recipe.example_prompt("en"), recipe.example_prompt("zh")
        assert "{" not in english and "{" not in chinese, recipe.id  # every placeholder filled
        assert english.isascii() or recipe.id == "change-text", recipe.id
        assert any("\u4e00" <= char <= "\u9fff" for char in chinese), recipe.id


def test_change_text_writes_the_replace_form_in_english_and_chinese():
    values = {"old": "OPEN", "new": "CLOSED"}
    assert CHANGE_TEXT.prompt(values, "en").startswith('Replace "OPEN" with "CLOSED".')
    assert CHANGE_TEXT.prompt(values, "zh").startswith("把“OPEN”替换成“CLOSED”")
    assert CHANGE_TEXT.prompt({"old": "  OPEN ", "new": "CLOSED\n"}, "en") == CHANGE_TEXT.prompt(values, "en")


def test_a_rendered_reference_makes_the_prompt_point_at_its_slot():
    english = CHANGE_TEXT.prompt({"old": "OPEN", "new": "营业中"}, "en", reference=3)
    chinese = CHANGE_TEXT.prompt({"old": "OPEN", "new": "营业中"}, "zh", reference=2)
    assert 'Copy the letterforms of "营业中" exactly from Image 3' in english
    assert "照抄图2" in chinese and "图2本身不要出现在结果中" in chinese


def test_slots_choices_and_numbers_are_written_in_the_prompts_language():
    pose = get_recipe("take-pose")
    assert pose.prompt({"subject": 2, "source": "3"}, "en").startswith(
        "The person in Image 2 takes the pose of the person in Image 3."
    )
    assert pose.prompt({"subject": 2, "source": 3}, "zh").startswith("图2中的人物摆出图3中人物的姿势")
    camera = get_recipe("camera-angle")
    assert camera.prompt({"move": "tilt-up", "degrees": 30.0}, "en").startswith("Tilt the camera up by 30 degrees.")
    assert camera.prompt({"move": "rotate-left", "degrees": 45}, "zh").startswith("将镜头向左旋转45度")
    relight = get_recipe("relight")  # a choice given by its words, as a plan's value list may give it
    assert "from the right" in relight.prompt({"direction": "右侧", "colour": "cold blue", "time": "night"}, "en")


@pytest.mark.parametrize(
    ("recipe_id", "values", "fragment", "fragment_zh"),
    [
        ("change-text", {"old": "OPEN", "new": "  "}, "fill in “New text”", "请先填写“新文字”"),
        ("take-pose", {"subject": 11}, "“The person is in”: '11' is not a slot number from 1 to 10", "图片编号"),
        ("camera-angle", {"degrees": 720}, "'720' is not a number from 5 to 180", "5 到 180 的数字"),
        ("relight", {"direction": "sideways"}, "'sideways' is none of left, right", "不是可选项"),
    ],
)
def test_a_bad_value_is_refused_naming_the_recipe_and_the_field(recipe_id, values, fragment, fragment_zh):
    recipe = get_recipe(recipe_id)
    with pytest.raises(errors.RecipeError) as caught:
        recipe.prompt({**recipe.example_values("en"), **values}, "en")
    assert recipe.label in caught.value.message("en") and fragment in caught.value.message("en")
    assert recipe.label_zh in caught.value.message("zh") and fragment_zh in caught.value.message("zh")


def test_change_text_warns_when_the_lengths_differ_a_lot_counting_a_cjk_character_as_two():
    assert CHANGE_TEXT.warnings({"old": "OPEN", "new": "CLOSED"}) == ()  # 4 against 6: within 1.5 times
    assert CHANGE_TEXT.warnings({"old": "OPEN", "new": ""}) == ()  # not filled in yet
    (warning,) = CHANGE_TEXT.warnings({"old": "SALE", "new": "CLEARANCE SALE"})
    assert "much longer" in warning.message("en") and "14 against 4" in warning.message("en")
    (shorter,) = CHANGE_TEXT.warnings({"old": "GRAND OPENING", "new": "开"})
    assert "短很多" in shorter.message("zh")
    assert display_width("营业中") == 6 and display_width("OPEN") == 4
    assert CHANGE_TEXT.warnings({"old": "CLOSED", "new": "营业中"}) == ()


def test_suggestions_are_models_sizes_and_counts_the_catalog_takes():
    assert (CHANGE_TEXT.model, CHANGE_TEXT.size, CHANGE_TEXT.n) == ("qwen-image-2.0-pro", "image-1", 2)
    assert CHANGE_TEXT.suggested_size_slot() == 1
    for recipe in RECIPES:
        spec = catalog.get_model(recipe.model or catalog.DEFAULT_MODEL)
        assert recipe.n is None or 1 <= recipe.n <= spec.max_n
        assert recipe.size in (None, "auto", "image-1", "image-2", "image-3", *sizes.ASPECT_PRESETS)


def test_an_unknown_recipe_is_refused_in_both_languages():
    with pytest.raises(errors.UnknownRecipeError) as caught:
        get_recipe("make-it-pop")
    assert "make-it-pop" in caught.value.message("en") and "配方" in caught.value.message("zh")


# ---- the file ------------------------------------------------------------------------------------------

GOOD = """
[recipes.flip]
label = "Flip"
label_zh = "翻转"
about = "Mirror the picture."
about_zh = "镜像翻转。"
template = "Mirror {what} horizontally."
template_zh = "把{what}水平翻转。"
n = 2

[[recipes.flip.fields]]
name = "what"
kind = "text"
label = "What"
label_zh = "什么"
default = "the image"

[recipes.flip.example]
values = { what = "the car" }
"""


def test_adding_a_recipe_is_one_entry(tmp_path: Path):
    path = tmp_path / "recipes.toml"
    path.write_text(GOOD, encoding="utf-8")
    (flip,) = load_recipes(path)
    assert flip.prompt({}, "en") == "Mirror the image horizontally."
    assert flip.example_prompt("zh") == "把the car水平翻转。"  # values_zh falls back to values


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (GOOD.replace('kind = "text"', 'kind = "colour"'), 'recipe "flip": field "what": kind must be one of'),
        (GOOD.replace("Mirror {what}", "Mirror {thing}"), 'recipe "flip": template: {thing} is no field'),
        (GOOD.replace('label_zh = "什么"\n', ""), 'recipe "flip": field "what": label_zh: must be a non-empty text'),
        (GOOD.replace("n = 2", "n = 40"), 'recipe "flip": n: must be a whole number from 1 to'),
        (GOOD.replace("n = 2", 'model = "qwen-image-9"'), "recipe \"flip\": model: 'qwen-image-9' is no model"),
        (GOOD.replace("n = 2", 'size = "huge"'), "recipe \"flip\": size: 'huge' is none of"),
        (GOOD.replace("n = 2", 'size = "image-1"\nmodel = "qwen-image-edit"'), "qwen-image-edit takes no size"),
        (GOOD.replace('{ what = "the car" }', '{ who = "the car" }'), "example: values must name only the fields"),
        (GOOD.replace('{ what = "the car" }', '{ what = "  " }'), "example: values: Recipe “Flip”: fill in “What”"),
        (
            GOOD.replace("n = 2", 'length_check = { first = "what", second = "how", ratio = 2 }'),
            "length_check: first and second",
        ),
        (GOOD.replace("template =", "tempalte ="), 'recipe "flip": unknown key(s) tempalte'),
        ("[recipes.flip\n", "not valid TOML"),
    ],
)
def test_a_broken_recipes_file_is_refused_naming_the_recipe_and_the_field(tmp_path: Path, broken: str, says: str):
    path = tmp_path / "recipes.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RecipeFileError) as caught:
        load_recipes(path)
    assert says in str(caught.value) and str(path) in str(caught.value)


def test_the_shipped_file_is_the_one_read_at_import():
    assert recipes.BUILT_IN.name == "recipes.toml" and load_recipes() == RECIPES


# ---- a recipe's variants as an exploration -------------------------------------------------------------


def test_a_recipe_with_five_new_texts_is_a_plan_of_five_prompts_costed_before_it_runs(sim, tmp_path, make_image):
    """Five new texts for the sign: five prompts, one per text, counted by PlanForm.draft as the Explore cost
    line counts them, and run: the simulator is sent exactly those prompts."""
    texts = "CLOSED\nSOLD OUT\nBACK SOON\nSALE\nWELCOME\nSALE"  # a repeated value is one variant
    prompts = recipe_prompts(CHANGE_TEXT, {"old": "OPEN"}, "new", texts, "en")
    assert prompts == tuple(
        CHANGE_TEXT.prompt({"old": "OPEN", "new": new}, "en")
        for new in ("CLOSED", "SOLD OUT", "BACK SOON", "SALE", "WELCOME")
    )
    draft = PlanForm(prompts="\n".join(prompts), seeds="7", n=2).draft(max_cells=48)
    assert (draft.count, draft.images_billed) == (5, 10)

    settings = Settings(data_dir=tmp_path / "data", simulate=True, rate_limits=UNPACED)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    try:
        outcomes = run_plan(studio, Plan.from_draft([make_image()], draft)).wait(timeout=60)
    finally:
        studio.close()
    assert all(outcome.state is CellState.DONE for outcome in outcomes)
    assert sorted(request["text"] for request in sim.stats.requests) == sorted(prompts)


def test_recipe_variants_are_checked_as_the_form_checks_them():
    camera = get_recipe("camera-angle")
    assert recipe_prompts(camera, {"move": "rotate-left"}, "degrees", ["30", "60", "90"], "zh") == (
        "将镜头向左旋转30度，保持同一场景、主体和光线不变。",
        "将镜头向左旋转60度，保持同一场景、主体和光线不变。",
        "将镜头向左旋转90度，保持同一场景、主体和光线不变。",
    )
    with pytest.raises(errors.RecipeValueError, match="'400' is not a number"):
        recipe_prompts(camera, {"move": "rotate-left"}, "degrees", "30\n400", "en")
    with pytest.raises(errors.RecipeFieldEmptyError):
        recipe_prompts(CHANGE_TEXT, {"old": "OPEN"}, "new", "\n \n", "en")
    with pytest.raises(errors.RecipeValueError, match="no such field"):
        recipe_prompts(CHANGE_TEXT, {"old": "OPEN"}, "colour", "red", "en")
