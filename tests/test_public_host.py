"""Attacks on a public host, performed for real: every page event called straight through the queue with
forged inputs, spoofed forwarding headers, web addresses given to the file route, malformed API values.
Each returns nothing of anyone else's, changes nothing, and is refused with a message that says why."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx
import pytest
from conftest import FAST_RETRY
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from queue_calls import call, fn_index, page_values, upload
from test_app import _free_port

from core.caller import Caller
from core.identity import OwnerTokens
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio
from ui.guards import REMOTE_FILE_REFUSED
from ui.layout import build_app, launch_options

HOST_KEY = "sk-host-secret-0123456789abcdef"
FORGED_STATES = [
    {"owner": "api"},
    {"owner": "local"},
    {"token": "forged"},
    {"token": "0" * 32 + "." + "0" * 64},
    {"owner": "local", "token": None},
    None,
    "local",
]


def _serve(studio: Studio):
    demo = build_app(studio, browser_secret="test-secret")
    demo.queue(default_concurrency_limit=8)
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=_free_port(),
        quiet=True,
        **launch_options(studio),
    )
    return demo


@pytest.fixture
def hosted(sim, tmp_path):
    """The app as a host runs it on a public Space: the host's key pays (DashScope at the simulator's
    address), 5 edits per visitor per hour. Yields (url, studio)."""
    settings = Settings(
        data_dir=tmp_path / "data", api_key=HOST_KEY, base_url_override=sim.base_url, rate_limit_per_hour=5
    )
    studio = Studio(settings, retry=FAST_RETRY)
    demo = _serve(studio)
    yield demo.local_url, studio
    demo.close()
    studio.close()


@pytest.fixture
def picture(tmp_path, make_image) -> str:
    path = tmp_path / "in.png"
    path.write_bytes(make_image(640, 480))
    return str(path)


def _history_listing(url: str, owner_state, session: str | None = None) -> dict:
    """The History tab's refresh, as the page would call it (discarded results hidden), with `owner_state` as the
    browser state."""
    return call(url, fn_index(url, "history-refresh"), ["", "", None, False, owner_state], session=session)


def test_a_forged_owner_state_lists_and_exports_nothing_of_anyone(hosted, picture, make_image):
    url, studio = hosted
    Client(url, verbose=False).predict(handle_file(picture), prompt="an API caller's edit", api_name="/edit")
    studio.edit(EditRequest.create([make_image()], "the command line's edit", seed=1))  # owner "local"
    before = {owner: len(studio.history.list(owner)) for owner in ("local",)}

    for state in FORGED_STATES:
        session = secrets.token_hex(8)
        listed = _history_listing(url, state, session)
        assert listed["success"], listed
        gallery, _ids, usage = listed["output"]["data"]
        assert gallery == [] and usage.startswith("0 edit(s) shown"), state
        zipped = call(url, fn_index(url, "history-zip-all"), [None, state], session=session)
        assert zipped["output"]["data"] == [None], state

    assert {owner: len(studio.history.list(owner)) for owner in ("local",)} == before
    assert not any(edit.starred for edit in studio.history.list("local"))


def test_a_browser_sees_its_own_history_through_the_token_the_server_issued(hosted, make_image):
    url, studio = hosted
    tokens = OwnerTokens.in_data_dir(studio.settings.data_dir)
    mine, theirs = tokens.issue(), tokens.issue()
    studio.edit(EditRequest.create([make_image()], "mine", seed=1), Caller(tokens.owner(mine)))

    assert len(_history_listing(url, {"token": mine})["output"]["data"][0]) == 1
    assert _history_listing(url, {"token": theirs})["output"]["data"][0] == []
    assert tokens.owner(mine[:-1] + ("0" if mine[-1] != "0" else "1")) is None  # one character off: not ours


def test_owner_tokens_survive_a_restart_and_the_secret_is_private(tmp_path):
    token = OwnerTokens.in_data_dir(tmp_path).issue()

    assert OwnerTokens.in_data_dir(tmp_path).owner(token) is not None
    assert OwnerTokens.in_data_dir(tmp_path / "elsewhere").owner(token) is None
    assert (tmp_path / "owner-secret").stat().st_mode & 0o777 == 0o600


def test_fresh_owners_and_forged_forwarding_headers_do_not_dodge_the_hourly_limit(hosted, sim, picture):
    url, _studio = hosted
    outcomes = []
    for number in range(12):
        forged = {"X-Forwarded-For": f"203.0.113.{number}"}
        client = Client(url, verbose=False, headers=forged)
        try:
            client.predict(handle_file(picture), prompt=f"edit {number}", seed=number, api_name="/edit")
            outcomes.append("done")
        except AppError as error:
            outcomes.append(str(error))

    assert outcomes[:5] == ["done"] * 5
    assert all("hourly limit" in outcome for outcome in outcomes[5:]), outcomes
    assert sim.stats.generation_calls == 5


def test_a_page_visitor_with_fresh_owners_and_forged_forwarding_headers_gets_the_hourly_limit(hosted, sim, picture):
    url, _studio = hosted
    generate = fn_index(url, "generate")
    outcomes = []
    for number in range(12):
        values = page_values(
            url,
            generate,
            {"slot-1": upload(url, picture), "prompt": f"edit {number}", "random-seed": False, "seed": number},
            {"qwen-edit-owner": {"owner": secrets.token_hex(16)}, "qwen-edit-key": {"api_key": ""}},
        )
        answer = call(url, generate, values, headers={"X-Forwarded-For": f"203.0.113.{number}"})
        outcomes.append("done" if answer["success"] else answer["output"].get("error") or "")

    assert outcomes[:5] == ["done"] * 5
    assert all("hourly limit" in outcome for outcome in outcomes[5:]), outcomes
    assert sim.stats.generation_calls == 5


def test_behind_one_trusted_proxy_each_client_has_its_own_hourly_count(sim, tmp_path, picture):
    settings = Settings(
        data_dir=tmp_path / "data",
        api_key=HOST_KEY,
        base_url_override=sim.base_url,
        rate_limit_per_hour=2,
        trusted_proxies=1,
    )
    studio = Studio(settings, retry=FAST_RETRY)
    demo = _serve(studio)
    try:

        def edit_from(address: str, spoofed: str = "198.51.100.7") -> str:
            # What a proxy in front writes: whatever the client claimed, then the address it saw.
            client = Client(demo.local_url, verbose=False, headers={"X-Forwarded-For": f"{spoofed}, {address}"})
            try:
                client.predict(handle_file(picture), prompt="x", seed=1, api_name="/edit")
                return "done"
            except AppError:
                return "refused"

        first = [edit_from("10.0.0.1", spoofed=f"198.51.100.{n}") for n in range(3)]
        second = [edit_from("10.0.0.2") for _ in range(2)]
    finally:
        demo.close()
        studio.close()
    assert first == ["done", "done", "refused"]
    assert second == ["done", "done"]


@pytest.mark.parametrize(
    "target",
    [
        "https://example.com/x.png",
        "http://example.com/x.png",
        "https%3A%2F%2Fexample.com%2Fx.png",
        "HTTPS://example.com/x.png",
        "//example.com/x.png",
    ],
)
def test_the_file_route_fetches_no_web_address(hosted, target):
    url, _studio = hosted
    response = httpx.get(f"{url.rstrip('/')}/gradio_api/file={target}", timeout=10)

    assert response.status_code == 403
    assert response.content == REMOTE_FILE_REFUSED


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"n": "abc"}, "Number of images"),
        ({"n": [1]}, "Number of images"),
        ({"n": 2.5}, "Number of images"),
        ({"seed": "soon"}, "Seed"),
        ({"seed": {"x": 1}}, "Seed"),
        ({"watermark": "yes"}, "Watermark must be true or false"),
        ({"prompt_extend": "no"}, "Prompt rewriting must be true or false"),
        ({"model": "nope's"}, 'Unknown model "nope\'s"'),
        ({"size": "5"}, "Output size '5' is not understood"),
    ],
)
def test_malformed_api_values_are_refused_with_a_plain_message_naming_the_field(hosted, sim, picture, values, fragment):
    url, _studio = hosted
    with pytest.raises(AppError) as caught:
        Client(url, verbose=False).predict(handle_file(picture), **{"prompt": "x", **values}, api_name="/edit")

    message = str(caught.value)
    assert fragment in message
    assert "&#" not in message and "&quot;" not in message and "&amp;" not in message
    assert sim.stats.generation_calls == 0


def test_a_numeric_string_for_n_or_seed_is_understood(hosted, picture):
    url, _studio = hosted
    _images, record = Client(url, verbose=False).predict(
        handle_file(picture), prompt="x", n="2", seed="7", api_name="/edit"
    )
    assert (record["n"], record["seed"]) == (2, 7)


def test_twenty_zip_downloads_leave_one_zip_on_disk_and_none_in_gradios_cache(hosted, make_image):
    url, studio = hosted
    tokens = OwnerTokens.in_data_dir(studio.settings.data_dir)
    token = tokens.issue()
    for number in range(3):
        studio.edit(EditRequest.create([make_image()], f"edit {number}", n=2, seed=number), Caller(tokens.owner(token)))
    session = secrets.token_hex(8)
    _history_listing(url, {"token": token}, session)

    paths = []
    for _ in range(20):
        zipped = call(url, fn_index(url, "history-zip-all"), [None, {"token": token}], session=session)
        paths.append(zipped["output"]["data"][0]["path"])

    exports = studio.settings.data_dir / "exports"
    assert [p.name for p in exports.rglob("*.zip")] == [Path(paths[-1]).name]
    assert httpx.get(f"{url.rstrip('/')}/gradio_api/file={paths[-1]}", timeout=10).status_code == 200
    cache = Path(os.environ["GRADIO_TEMP_DIR"])
    assert list(cache.rglob("*.zip")) == []
