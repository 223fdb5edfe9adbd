"""The model catalog as data: every 2026 model id with its rules, each rule held by the app and by the
simulator alike (through the real SDK), and an operator's models file read on top without code."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import dashscope
import pytest
from PIL import Image

from core import catalog, errors, sizes
from core.caller import Caller
from core.catalog import CatalogFileError, RateLimit, load_models
from core.parameters import EditParameters
from core.request import EditRequest
from core.simulator import Simulator
from core.sizes import Size
from core.studio import Studio

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-catalog-test"

# The contract's table (dashscope-contract.md, "The Qwen image family in late 2026"), one row per id:
# images (min, max), n max, size rule, default size, text-to-image size, prompt limit, rate limit.
CONTRACT = {
    "qwen-image-edit-max": ((1, 3), 6, "sides", "last_input", "", 800, RateLimit(2, 60)),
    "qwen-image-edit-max-2026-01-16": ((1, 3), 6, "sides", "last_input", "", 800, RateLimit(2, 60)),
    "qwen-image-edit-plus": ((1, 3), 6, "sides", "last_input", "", 800, RateLimit(2, 1)),
    "qwen-image-edit-plus-2025-12-15": ((1, 3), 6, "sides", "last_input", "", 800, RateLimit(2, 1)),
    "qwen-image-edit-plus-2025-10-30": ((1, 3), 6, "sides", "last_input", "", 800, RateLimit(2, 1)),
    "qwen-image-edit": ((1, 3), 1, "none", "last_input", "", 800, RateLimit(2, 1)),
    "qwen-image-3.0-pro": ((0, 3), 6, "area", "model", "", 4500, None),
    "qwen-image-3.0": ((0, 3), 6, "area", "model", "", 4500, None),
    "qwen-image-2.1-pro": ((0, 10), 6, "area", "model", "", 1300, None),
    "qwen-image-2.0-pro": ((0, 3), 6, "area", "last_input", "2048*2048", 1300, None),
    "qwen-image-2.0-pro-2026-06-22": ((0, 3), 6, "area", "last_input", "2048*2048", 1300, None),
    "qwen-image-2.0-pro-2026-04-22": ((0, 3), 6, "area", "last_input", "2048*2048", 1300, None),
    "qwen-image-2.0-pro-2026-03-03": ((0, 3), 6, "area", "last_input", "2048*2048", 1300, None),
    "qwen-image-2.0": ((0, 3), 6, "area", "last_input", "2048*2048", 1300, None),
    "qwen-image-2.0-2026-03-03": ((0, 3), 6, "area", "last_input", "2048*2048", 1300, None),
}
SEEDS_SIX = [model_id for model_id in CONTRACT if model_id.startswith("qwen-image-edit")]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def sdk_call(sim: Simulator, model: str, images: int = 1, text: str = "make it blue", **parameters: object):
    """One call through the real SDK straight to the simulator (no app checks in between)."""
    content: list[dict[str, str]] = [{"image": "data:image/png;base64," + _b64(png(640, 480))}] * images
    return dashscope.MultiModalConversation.call(
        api_key=KEY,
        model=model,
        messages=[{"role": "user", "content": [*content, {"text": text}]}],
        base_address=sim.base_url,
        request_timeout=30,
        **parameters,
    )


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


# ---- the table -----------------------------------------------------------------------------------------


def test_every_model_of_the_contract_is_in_the_catalog_with_its_rules():
    assert set(catalog.model_ids()) == set(CONTRACT)
    for model_id, (images, max_n, size_kind, default, text_size, prompt_max, rate) in CONTRACT.items():
        model = catalog.get_model(model_id)
        assert (model.min_images, model.max_images) == images, model_id
        assert (model.max_n, model.size.kind, model.default_size, model.text_size) == (
            max_n,
            size_kind,
            default,
            text_size,
        )
        assert (model.prompt_max, model.rate) == (prompt_max, rate), model_id
        assert model.label and model.label_zh and model.about and model.about_zh


def test_the_seeds_six_keep_their_rules_exactly():
    for model_id in SEEDS_SIX:
        model = catalog.get_model(model_id)
        assert (model.size.side_min, model.size.side_max, model.prompt_max, model.negative_max) == (512, 2048, 800, 500)
        assert model.custom_size == model.prompt_extend == (model_id != "qwen-image-edit")
        assert model.usage_keys == ("width", "height", "image_count")
    assert catalog.get_model("qwen-image-edit-max").rate_group == "qwen-image-edit-max-2026-01-16"


def test_area_models_take_any_shape_within_their_pixels_and_aspect():
    rule = catalog.get_model("qwen-image-3.0").size
    assert rule.allows(2048, 2048) and rule.allows(4096, 1024) and rule.allows(512, 512)
    assert not rule.allows(2064, 2048)  # above 2048*2048 pixels in all
    assert not rule.allows(500, 500)  # below 512*512
    assert not rule.allows(4608, 512)  # 9:1
    size, error = sizes.match_size(3000, 3000, rule)
    assert size == Size(2048, 2048) and error == 0
    size, _ = sizes.match_size(4000, 300, rule)  # 13:1 is brought to the 8:1 limit
    assert rule.allows(size.width, size.height) and size.width / size.height == pytest.approx(8, rel=0.05)
    edit = catalog.get_model("qwen-image-edit-plus").size
    assert not edit.allows(4096, 1024) and sizes.match_size(3000, 3000, edit)[0] == Size(2048, 2048)


@pytest.mark.parametrize(
    ("model", "size", "error", "fragment"),
    [
        ("qwen-image-3.0", "2100*2100", errors.SizeAreaError, "is 4,410,000 pixels in all"),
        ("qwen-image-2.0", "400*400", errors.SizeAreaError, "512×512 to 2048×2048 pixels in all"),
        ("qwen-image-2.1-pro", "4608*512", errors.SizeAspectError, "at most 8:1"),
        ("qwen-image-edit-max", "4096*1024", errors.SizeOutOfRangeError, "between 512 and 2048"),
        ("qwen-image-edit", "1024*1024", errors.SizeNotSupportedError, "does not take a custom output size"),
    ],
)
def test_a_size_outside_the_models_rule_is_refused_saying_which_bound(model, size, error, fragment):
    with pytest.raises(error) as caught:
        EditParameters.create("x", model=model, size=size)
    assert fragment in caught.value.message("en")
    assert caught.value.message("zh")


def test_prompt_and_negative_limits_are_the_models_own():
    assert EditParameters.create("p" * 4500, model="qwen-image-3.0").prompt == "p" * 4500
    with pytest.raises(errors.TextTooLongError, match="limit is 800"):
        EditParameters.create("p" * 801, model="qwen-image-edit-plus")
    with pytest.raises(errors.NegativePromptNotSupportedError) as caught:
        EditParameters.create("x", model="qwen-image-2.1-pro", negative_prompt="blurry")
    assert "qwen-image-2.1-pro takes no negative prompt" in caught.value.message("en")
    assert EditParameters.create("x", model="qwen-image-2.1-pro", negative_prompt="  ").negative_prompt == ""


# ---- each row against the simulator, through the real SDK ----------------------------------------------


@pytest.mark.parametrize("model_id", list(CONTRACT))
def test_each_model_makes_n_results_at_an_allowed_size_and_its_usage_is_read(
    studio: Studio, sim: Simulator, model_id: str
):
    model = catalog.get_model(model_id)
    size = "1536*1024" if model.custom_size else None
    request = EditRequest.create([png(800, 600)], "make it blue", model=model_id, n=model.max_n, seed=5, size=size)
    result = studio.edit(request, Caller("row"))

    expected = Size(1536, 1024) if size else sizes.auto_size(800, 600, model.size)
    assert len(result.images) == model.max_n and not result.failures
    assert {(image.width, image.height) for image in result.images} == {(expected.width, expected.height)}
    assert (result.usage.width, result.usage.height, result.usage.image_count) == (
        expected.width,
        expected.height,
        model.max_n,
    )
    (sent,) = sim.stats.requests
    assert sent["model"] == model_id and sent["parameters"]["n"] == model.max_n
    assert ("prompt_extend" in sent["parameters"]) == model.prompt_extend


def test_the_3_0_answer_has_its_own_usage_shape_and_the_app_reads_it(studio: Studio, sim: Simulator):
    raw = sdk_call(sim, "qwen-image-3.0", n=2, size="2048*1024")
    assert raw.status_code == 200
    assert raw.usage["output_width"] == 2048 and raw.usage["output_image_count"] == 2
    assert raw.usage["input_image_count"] == 1 and "width" not in raw.usage
    assert all(item.get("type") == "image" for item in raw.output.choices[0].message.content)

    result = studio.edit(EditRequest.create([png(800, 600)], "x", model="qwen-image-3.0", n=2, size="2048*1024"))
    assert (result.usage.width, result.usage.height, result.usage.image_count) == (2048, 1024, 2)


@pytest.mark.parametrize(
    ("model", "images", "parameters", "fragment"),
    [
        ("qwen-image-3.0", 1, {"size": "2100*2100"}, "outside what qwen-image-3.0 takes"),
        ("qwen-image-2.1-pro", 1, {"size": "4608*512"}, "aspect ratio at most 8:1"),
        ("qwen-image-edit-plus", 1, {"size": "4096*1024"}, "between 512 and 2048"),
        ("qwen-image-2.1-pro", 1, {"negative_prompt": "blurry"}, "does not accept negative_prompt"),
        ("qwen-image-edit-max", 4, {}, "At most 3 images"),
        ("qwen-image-2.1-pro", 11, {}, "At most 10 images"),
        ("qwen-image-edit-plus", 1, {"enable_thinking": True}, "does not accept enable_thinking"),
        ("qwen-image-edit-plus", 0, {}, "At least one image"),
    ],
)
def test_the_simulator_refuses_what_the_models_rules_refuse(sim: Simulator, model, images, parameters, fragment):
    response = sdk_call(sim, model, images, **parameters)
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert fragment in response.message


def test_thinking_is_taken_by_the_3_0_models_only(sim: Simulator):
    assert sdk_call(sim, "qwen-image-3.0-pro", enable_thinking=False, prompt_extend=True).status_code == 200
    assert [m.id for m in catalog.MODELS if m.thinking] == ["qwen-image-3.0-pro", "qwen-image-3.0"]


def test_the_simulator_truncates_a_prompt_at_the_models_own_limit(sim: Simulator):
    for model, limit in (("qwen-image-edit-plus", 800), ("qwen-image-3.0", 4500)):
        sim.stats.reset()
        assert sdk_call(sim, model, text="y" * (limit + 50)).status_code == 200
    assert sdk_call(sim, "qwen-image-3.0", 0, text="a lighthouse at dawn").status_code == 200


def test_text_to_image_sizes_follow_the_model(sim: Simulator):
    """Without inputs or a size, 2.0 makes 2048*2048 and the models that choose pick a size they allow."""
    for model in ("qwen-image-2.0", "qwen-image-3.0-pro", "qwen-image-2.1-pro"):
        response = sdk_call(sim, model, 0, text="a lighthouse at dawn")
        assert response.status_code == 200, response.message
        width, height, _count = (response.usage[key] for key in catalog.get_model(model).usage_keys)
        assert catalog.get_model(model).size.allows(width, height)
        if model == "qwen-image-2.0":
            assert (width, height) == (2048, 2048)


# ---- an operator's models file --------------------------------------------------------------------------


def test_an_operators_file_changes_a_field_and_adds_a_model(tmp_path: Path):
    extra = tmp_path / "models.toml"
    extra.write_text(
        '[models."qwen-image-edit-max"]\nrate = "4/60"\nprompt_max = 1000\n\n'
        '[models."qwen-image-3.5"]\nfamily = "image-3"\nlabel = "Qwen Image 3.5"\nimages = [0, 6]\n',
        encoding="utf-8",
    )
    models = {model.id: model for model in load_models(catalog.BUILT_IN, extra)}
    assert models["qwen-image-edit-max"].rate == RateLimit(4, 60) and models["qwen-image-edit-max"].prompt_max == 1000
    assert models["qwen-image-edit-max"].max_n == 6  # the rest as built in
    added = models["qwen-image-3.5"]
    assert (added.label, added.max_images, added.size.kind, added.usage_keys[0]) == (
        "Qwen Image 3.5",
        6,
        "area",
        "output_width",
    )
    assert list(models)[-1] == "qwen-image-3.5" and len(models) == len(CONTRACT) + 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[models."qwen-image-edit-max"]\nrate = "fast"\n', 'model "qwen-image-edit-max": rate must be "N/SECONDS"'),
        ('[models."new"]\nfamily = "nope"\n', 'family "nope" is not defined'),
        ('[models."new"]\nlabel = "x"\n', "missing label_zh"),
        ('[models."qwen-image-edit"]\nmax_n = 3\n', "unknown field(s) max_n"),
        ('[models."qwen-image-edit"]\nimages = [3, 1]\n', "0 <= min <= max"),
        ("[families.image-2]\nmax_aspect = -1\n", "max_aspect must be 0 (no limit) or a number of at least 1"),
        ("[families.image-2]\nmax_aspect = 0.5\n", "max_aspect must be 0 (no limit) or a number of at least 1"),
        ('[families.image-2]\nmax_aspect = "x"\n', "max_aspect must be 0 (no limit) or a number of at least 1"),
        ("[families.image-2]\npixels = [0, 0]\n", "pixels = [low, high] needs 0 < low <= high"),
        ("[families.image-2]\npixels = [4194304, 262144]\n", "pixels = [low, high] needs 0 < low <= high"),
        ('[models."qwen-image-edit-plus"]\nside = [0, 0]\n', 'model "qwen-image-edit-plus": side = [low, high] needs'),
        ("[families.edit]\nside = [2048, 512]\n", "side = [low, high] needs 0 < low <= high"),
        ("[models\n", "not valid TOML"),
        ('[models."new"]\nfamily = "edit"\nalias_of = "nothing"\n', 'alias_of "nothing" is no model'),
        ('[models."new"]\nfamily = "image-2"\ntext_size = "4096*4096"\n', "text_size must be"),
    ],
)
def test_a_broken_operators_file_is_refused_naming_the_file_model_and_field(tmp_path: Path, text, fragment):
    extra = tmp_path / "bad.toml"
    extra.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogFileError) as caught:
        load_models(catalog.BUILT_IN, extra)
    assert fragment in str(caught.value) and str(extra) in str(caught.value)


def test_the_models_file_setting_reaches_the_app_the_simulator_and_the_cli(tmp_path: Path):
    """QWEN_EDIT_MODELS_FILE adds a model every part of the app knows: the CLI edits with it against the
    simulator, which follows the added rules (10 outputs, here)."""
    extra = tmp_path / "models.toml"
    extra.write_text('[models."qwen-image-9"]\nfamily = "image-3"\nn = 10\n', encoding="utf-8")
    source = tmp_path / "in.png"
    source.write_bytes(png(640, 480))
    env = {**os.environ, "QWEN_EDIT_MODELS_FILE": str(extra), "QWEN_EDIT_SIMULATE": "1", "CI": "true"}
    env.pop("DASHSCOPE_API_KEY", None)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "core.cli", "edit", str(source), "-p", "x", "--model", "qwen-image-9"]
    done = subprocess.run(
        [*command, "-n", "10", "--simulate", "--data-dir", str(tmp_path / "data"), "-o", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (record,) = out.glob("*.json")
    assert json.loads(record.read_text())["model"] == "qwen-image-9" and len(list(out.glob("*.png"))) == 10

    broken = tmp_path / "broken.toml"
    broken.write_text('[models."qwen-image-9"]\nfamily = "image-3"\nn = 0\n', encoding="utf-8")
    env["QWEN_EDIT_MODELS_FILE"] = str(broken)
    refused = subprocess.run(
        [sys.executable, "app.py", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and 'model "qwen-image-9": n must be a whole number of at least 1' in refused.stderr
