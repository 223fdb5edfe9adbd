"""An edit that saved none of its images is an error to every caller, with each result's reason; an edit that
saved some stays a success that lists the others. History keeps the links, and the resume loop still saves
what it can."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from gradio_client.exceptions import AppError
from queue_calls import call, fn_index, page_values, upload
from test_app import edit
from test_app import served as served  # the app fixtures, used by name
from test_cli import env as env
from test_cli import images as images
from test_mcp import _list_and_call
from test_mcp import mcp_url as mcp_url

from core import cli, errors
from core.caller import Caller
from core.downloads import MAX_REDIRECTS
from core.request import EditRequest
from core.workflows.explore import CellState, run_plan
from core.workflows.plan import Plan


@pytest.fixture
def picture(tmp_path, make_image) -> str:
    path = tmp_path / "in.png"
    path.write_bytes(make_image(640, 480))
    return str(path)


def test_the_edit_api_answers_an_edit_with_nothing_saved_with_an_error_giving_each_reason(served, picture):
    client, _studio, sim = served
    sim.inject("download_expired", times=2)
    with pytest.raises(AppError) as caught:
        edit(client, [picture], prompt="add a hat", n=2, seed=1)

    text = str(caught.value)
    assert text.startswith("Nothing was saved") and "made 2 image(s), and billed them" in text
    assert "Result 1 can no longer be downloaded" in text and "Result 2 can no longer be downloaded" in text
    assert sim.stats.requests[-1]["text"] == "add a hat"
    assert "request id: " in text and "&#" not in text


def test_the_edit_api_answers_a_partial_edit_with_its_images_and_the_reason_for_the_others(served, picture):
    client, _studio, sim = served
    sim.inject("download_expired")
    images, record = edit(client, [picture], prompt="add a hat", n=2, seed=1)

    assert len(images) == 1 and len(record["files"]) == 1
    (reason,) = record["failed"]
    assert "can no longer be downloaded" in reason


def test_the_page_says_clearly_that_nothing_was_saved_and_why(served, picture):
    client, _studio, sim = served
    url = client.src
    generate = fn_index(url, "generate")
    values = page_values(
        url,
        generate,
        {"slot-1": upload(url, picture), "prompt": "add a hat", "random-seed": False, "seed": 3},
        {"qwen-edit-key": {"api_key": ""}},
    )
    sim.inject("download_expired")
    answer = call(url, generate, values)

    assert not answer["success"]
    assert "Nothing was saved" in answer["output"]["error"] and "link has expired" in answer["output"]["error"]


def test_the_mcp_tool_answers_an_edit_with_nothing_saved_with_the_error(mcp_url, sim, make_image):
    uri = "data:image/png;base64," + base64.b64encode(make_image(640, 480)).decode()
    sim.inject("download_expired")
    _tools, text = asyncio.run(_list_and_call(mcp_url, {"image_1": uri, "prompt": "make it blue", "seed": 5}))

    assert "Nothing was saved" in text and "link has expired" in text
    assert ".png" not in text  # no record of files that do not exist


def test_qwen_edit_edit_with_nothing_saved_exits_1_with_the_reasons(env, sim, images, tmp_path, capsys):
    sim.inject("download_expired")
    out = tmp_path / "out"
    assert cli.run(["edit", str(images / "red.png"), "-p", "add a hat", "--out", str(out)]) == 1

    printed = capsys.readouterr()
    assert "Nothing was saved" in printed.err and "link has expired" in printed.err
    assert printed.out == ""  # no file names: none was written


def test_a_batch_line_with_nothing_saved_counts_as_failed_and_is_never_sent_again(env, sim, images, tmp_path, capsys):
    source = images / "lines.jsonl"
    lines = [{"images": ["red.png"], "prompt": "add a hat"}, {"images": ["blue.png"], "prompt": "add snow"}]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    sim.inject("download_expired")
    out = tmp_path / "out"
    assert cli.run(["batch", str(source), "--out", str(out), "--jobs", "1"]) == 1

    summary = capsys.readouterr().out
    assert "1 failed" in summary and "1 done" in summary and "Nothing was saved" in summary
    assert cli.run(["batch", str(source), "--out", str(out)]) == 0  # billed already: not sent a second time
    assert sim.stats.generation_calls == 2


def test_nothing_saved_for_now_says_the_app_keeps_trying_and_the_resume_loop_still_saves_it(studio, sim, make_image):
    sim.inject("download_redirect", times=MAX_REDIRECTS + 1)  # a failure that may pass: the link stays pending
    result = studio.edit(EditRequest.create([make_image()], "add a hat", seed=1), Caller("me"))
    with pytest.raises(errors.NothingSavedError) as caught:
        result.require_images()

    assert "keeps trying" in caught.value.message("en") and "历史记录" in caught.value.message("zh")
    (row,) = studio.history.list("me")
    assert [output.state for output in row.outputs] == ["pending"]
    assert studio.resume_pending() == 1
    (row,) = studio.history.list("me")
    assert [output.state for output in row.outputs] == ["saved"]


def test_an_exploration_cell_with_nothing_saved_is_failed_with_the_reasons(studio, sim, make_image):
    plan = Plan.create([make_image()], "a red hat", seeds=[1, 2], sizes=["512*512"], max_cells=48)
    sim.inject("download_expired")
    outcomes = run_plan(studio, plan, Caller("me")).wait()

    states = sorted(outcome.state.value for outcome in outcomes)
    assert states == ["done", "failed"]
    (failed,) = [outcome for outcome in outcomes if outcome.state is CellState.FAILED]
    assert isinstance(failed.error, errors.NothingSavedError) and "link has expired" in failed.error.message("en")
