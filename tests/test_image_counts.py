"""Each model's own number of input images, end to end: ten references on qwen-image-2.1-pro and none at all
(text-to-image) through the real SDK against the simulator, into history, re-runs, zips and explorations."""

import hashlib
import json
import zipfile

import pytest
from PIL import Image

from core import errors
from core.caller import Caller
from core.request import EditRequest
from core.workflows import explore
from core.workflows.export import export_run, export_zip
from core.workflows.plan import Plan

SMALL = "512*512"  # the simulator renders what it is asked for: small results keep these tests quick


def ten_images(make_image) -> list[bytes]:
    """Ten inputs told apart by their width (and colour), Image 1 the narrowest."""
    return [make_image(480 + 32 * k, 480, (20 * k, 100, 200 - 15 * k)) for k in range(10)]


def test_ten_references_on_qwen_image_2_1_pro_arrive_in_order_through_the_sdk(studio, sim, make_image):
    request = EditRequest.create(
        ten_images(make_image), "the cat of @10 sits on the sofa of Image 1", model="qwen-image-2.1-pro", size=SMALL
    )
    result = studio.edit(request, Caller("me"))

    sent = sim.stats.requests[-1]
    assert sent["model"] == "qwen-image-2.1-pro" and sent["image_count"] == 10
    assert sent["text"] == "the cat of Image 10 sits on the sofa of Image 1"
    assert [image.width for image in request.images] == [480 + 32 * k for k in range(10)]
    assert sent["image_digests"] == [hashlib.sha256(image.data_uri.encode()).hexdigest() for image in request.images]
    assert len(result.images) == 1 and not result.failures
    assert [row.slot for row in studio.history.get("me", result.edit_id).inputs] == list(range(1, 11))
    assert [item["slot"] for item in result.record()["inputs"]] == list(range(1, 11))


def test_eleven_images_on_qwen_image_2_1_pro_are_refused_before_any_call(studio, sim, make_image):
    with pytest.raises(errors.TooManyImagesError) as caught:
        studio.edit(EditRequest.create([*ten_images(make_image), make_image()], "x", model="qwen-image-2.1-pro"))
    assert "Image 11 will not be sent" in str(caught.value)
    assert sim.stats.generation_calls == 0


def test_a_prompt_alone_makes_an_image_on_qwen_image_2_0_and_the_edit_is_kept_rerun_and_zipped(studio, sim, tmp_path):
    request = EditRequest.create([], "a red fox in the snow", model="qwen-image-2.0", size=SMALL, seed=4)
    result = studio.edit(request, Caller("me"))

    sent = sim.stats.requests[-1]
    assert (sent["model"], sent["image_count"], sent["image_digests"]) == ("qwen-image-2.0", 0, [])
    (image,) = result.images
    with Image.open(image.path) as png:
        assert png.format == "PNG" and png.size == (512, 512)
    assert result.record()["inputs"] == []
    edit = studio.history.get("me", result.edit_id)
    assert not edit.inputs and studio.input_paths(edit) == []

    again = studio.edit(studio.rerun_request("me", result.edit_id), Caller("me"))
    assert sim.stats.requests[-1]["image_count"] == 0
    assert [i.sha256 for i in again.images] == [i.sha256 for i in result.images]  # the same seed, no inputs

    archive = export_zip([edit], studio.store, tmp_path / "edits.zip")
    with zipfile.ZipFile(archive) as z:
        (entry,) = json.loads(z.read("edits.json"))
        assert entry["inputs"] == [] and not entry["missing"]
        assert f"{entry['folder']}/result-1.png" in z.namelist() and entry["folder"].endswith(result.edit_id[:4])


def test_an_editing_model_given_no_image_is_refused_before_any_call(studio, sim):
    with pytest.raises(errors.NoImageError) as caught:
        studio.edit(EditRequest.create([None, None, None], "a red fox", model="qwen-image-edit-max"))
    assert "qwen-image-edit-max edits input images" in str(caught.value)
    assert sim.stats.generation_calls == 0


# --- explorations ---------------------------------------------------------------------------------


def test_a_plan_whose_models_cannot_all_take_the_images_names_those_cells_before_anything_runs(sim, make_image):
    five = ten_images(make_image)[:5]
    models = ["qwen-image-2.1-pro", "qwen-image-edit-plus"]
    with pytest.raises(errors.PlanImageCountError) as caught:
        Plan.create(five, "make it night", seeds=[1, 2], models=models, sizes=[SMALL], max_cells=48)

    message = caught.value.message("en")
    # Cells in plan order: seed 1 x (2.1-pro, plus), seed 2 x (2.1-pro, plus).
    assert "This plan cannot run with 5 image(s): cell(s) 2, 4 use qwen-image-edit-plus, which takes up to 3" in message
    assert "qwen-image-2.1-pro" not in message
    assert "第 2, 4 格使用 qwen-image-edit-plus，它最多接受 3 张" in caught.value.message("zh")
    assert sim.stats.generation_calls == 0

    with pytest.raises(errors.PlanImageCountError) as caught:
        Plan.create([], "a red fox", models=["qwen-image-2.0", "qwen-image-edit"], sizes=["auto"], max_cells=48)
    assert "cell(s) 2 use qwen-image-edit, which needs at least 1" in caught.value.message("en")


def test_a_text_to_image_plan_runs_every_cell_and_exports_without_inputs(studio, sim, tmp_path):
    plan = Plan.create(
        [None, None, None], "a {red|blue} fox", seeds=[1], models=["qwen-image-2.0"], sizes=[SMALL], max_cells=4
    )
    outcomes = explore.run_plan(studio, plan, Caller("me")).wait(timeout=60)

    assert [outcome.state.value for outcome in outcomes] == ["done", "done"]
    assert [entry["image_count"] for entry in sim.stats.requests] == [0, 0]
    with zipfile.ZipFile(export_run(plan, outcomes, tmp_path / "run.zip")) as z:
        names = z.namelist()
        assert "contact-sheet.png" in names and not [name for name in names if name.startswith("inputs/")]
        assert len([name for name in names if name.startswith("images/")]) == 2
