"""No text we send makes the dashscope SDK read or upload a local file, and nothing the SDK raises escapes.

The plain SDK call uploads a file named by a prompt to DashScope's storage (here: the simulator's, which
records each upload); the studio's call, through `core.client`, sends the prompt as the literal text.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
from pathlib import Path

import dashscope
import dashscope.common.error as sdk_errors
import pytest
import requests
from test_app import edit
from test_app import served as served  # the app fixture, used by name

from core import errors
from core.client import Endpoint, sdk_failure
from core.request import EditRequest

KEY = "sk-local-files-test"
PROMPTS = ["app.py", "/etc/hostname", "~/.bashrc", "file://x.png"]


@pytest.fixture
def files_named_by_prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_image) -> dict[str, bytes]:
    """Each prompt of PROMPTS names an existing file, as on a host: prompt -> the bytes the SDK would upload.

    The SDK asks the global base URL for upload policies whatever base_address a call has: it points at the
    simulator, so an upload that happens is recorded there instead of going to the internet.
    """
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / "app.py").write_text("API_KEY = 'sk-do-not-upload'\n")
    (work / "x.png").write_bytes(make_image(8, 8))
    (home / ".bashrc").write_text("export DASHSCOPE_API_KEY=sk-private\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    return {
        "app.py": (work / "app.py").read_bytes(),
        "/etc/hostname": Path("/etc/hostname").read_bytes(),
        "~/.bashrc": (home / ".bashrc").read_bytes(),
        "file://x.png": (work / "x.png").read_bytes(),
    }


@pytest.fixture
def global_base_is(sim, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dashscope, "base_http_api_url", sim.base_url)
    return sim


def _image_item(make_image) -> dict[str, str]:
    return {"image": "data:image/png;base64," + base64.b64encode(make_image(512, 512)).decode()}


@pytest.mark.parametrize("prompt", PROMPTS)
def test_the_plain_sdk_call_uploads_the_file_a_prompt_names(files_named_by_prompts, global_base_is, make_image, prompt):
    sim = global_base_is
    response = dashscope.MultiModalConversation.call(
        api_key=KEY,
        model="qwen-image-edit-plus",
        messages=[{"role": "user", "content": [_image_item(make_image), {"text": prompt}]}],
        base_address=sim.base_url,
        n=1,
        size="512*512",
    )

    assert response.status_code == 200
    (upload,) = sim.stats.uploads
    assert upload["sha256"] == hashlib.sha256(files_named_by_prompts[prompt]).hexdigest()
    assert upload["authorization"] == f"Bearer {KEY}" and upload["model"] == "qwen-image-edit-plus"
    assert sim.stats.requests[-1]["text"] == "oss://" + upload["key"]  # the prompt itself never arrived
    assert requests.get(sim.origin + "/_sim/stats", timeout=10).json()["uploads"] == [upload]


def test_the_simulator_reads_back_an_image_the_sdk_uploaded_from_a_local_path(global_base_is, tmp_path, make_image):
    picture = tmp_path / "photo.png"
    picture.write_bytes(make_image(640, 480))
    response = dashscope.MultiModalConversation.call(
        api_key=KEY,
        model="qwen-image-edit-plus",
        messages=[{"role": "user", "content": [{"image": str(picture)}, {"text": "make it blue"}]}],
        base_address=global_base_is.base_url,
    )

    assert response.status_code == 200, response.message
    (upload,) = global_base_is.stats.uploads
    assert upload["filename"] == "photo.png" and upload["content_type"] == "image/png"
    assert abs(response.usage["width"] / response.usage["height"] - 4 / 3) < 0.02  # the uploaded 640x480 was read


def test_an_upload_without_a_policy_issued_by_the_simulator_is_refused(sim):
    form = {"OSSAccessKeyId": "x", "Signature": "forged", "policy": "forged", "key": "dashscope-instant/x/a.txt"}
    answer = requests.post(sim.origin + "/oss-uploads", data=form, files={"file": b"data"}, timeout=10)
    assert answer.status_code == 403 and sim.stats.uploads == []


def test_the_plain_sdk_call_raises_invalid_input_for_a_file_uri_prompt_naming_no_file(global_base_is, make_image):
    with pytest.raises(sdk_errors.InvalidInput):
        dashscope.MultiModalConversation.call(
            api_key=KEY,
            model="qwen-image-edit-plus",
            messages=[{"role": "user", "content": [_image_item(make_image), {"text": "file://missing.png"}]}],
            base_address=global_base_is.base_url,
        )
    assert global_base_is.stats.generation_calls == 0


@pytest.mark.parametrize("prompt", PROMPTS)
def test_through_the_studio_a_prompt_naming_a_file_arrives_as_the_literal_text_and_nothing_is_uploaded(
    files_named_by_prompts, global_base_is, studio, make_image, prompt
):
    result = studio.edit(EditRequest.create([make_image()], prompt, seed=1))

    assert len(result.images) == 1
    assert global_base_is.stats.requests[-1]["text"] == prompt
    assert global_base_is.stats.uploads == [] and global_base_is.stats.upload_policies == 0


def test_through_the_studio_a_file_uri_prompt_naming_no_file_is_sent_as_text(global_base_is, studio, make_image):
    result = studio.edit(EditRequest.create([make_image()], "file://missing.png", seed=1))

    assert len(result.images) == 1 and global_base_is.stats.requests[-1]["text"] == "file://missing.png"


def test_through_the_edit_api_a_prompt_naming_a_file_arrives_as_text(global_base_is, served, tmp_path, make_image):
    client, _studio, sim = served
    secret = tmp_path / "secret.txt"
    secret.write_text("nothing to upload")
    image = tmp_path / "in.png"
    image.write_bytes(make_image())
    images, record = edit(client, [str(image)], prompt=str(secret), seed=3)

    assert len(images) == 1 and record["prompt"] == str(secret)
    assert sim.stats.requests[-1]["text"] == str(secret)
    assert sim.stats.uploads == [] and sim.stats.upload_policies == 0


def test_the_guards_hook_is_what_the_sdks_call_runs_every_content_item_through():
    # If a future SDK renames or bypasses the hook, core.client's override no longer applies: fail here, loudly.
    source = inspect.getsource(dashscope.MultiModalConversation.call)
    assert "cls._preprocess_messages(" in source
    hook = inspect.getsource(vars(dashscope.MultiModalConversation)["_preprocess_messages"].__func__)
    assert "preprocess_message_element(" in hook


SDK_ERRORS = sorted(
    (kind for kind in vars(sdk_errors).values() if isinstance(kind, type) and issubclass(kind, Exception)),
    key=lambda kind: kind.__name__,
)


@pytest.mark.parametrize("kind", [*SDK_ERRORS, RuntimeError, OSError], ids=lambda cls: cls.__name__)
def test_every_exception_the_sdk_can_raise_becomes_a_typed_error_with_no_key_in_it(kind):
    endpoint = Endpoint("https://dashscope-intl.aliyuncs.com/api/v1", "singapore", KEY)
    try:
        exc = kind(f"failed for key {KEY}")
    except TypeError:  # AssistantError and RequestFailure take keywords only
        exc = kind()

    mapped = sdk_failure(exc, endpoint, timeout=5, attempt=1)

    assert isinstance(mapped, errors.EditError)
    for lang in ("en", "zh"):
        assert mapped.message(lang).strip() and KEY not in mapped.message(lang)
    if kind is sdk_errors.InvalidInput:
        assert isinstance(mapped, errors.SdkRefusedError) and "InvalidInput" in mapped.message("en")
