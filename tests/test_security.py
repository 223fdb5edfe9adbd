"""Security review points (docs/security.md), each through the real app, real HTTP and real files."""

import http.server
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest
from conftest import FAST_RETRY
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from test_app import _free_port

from core.settings import Settings
from core.studio import Studio
from ui.layout import build_app, launch_options
from ui.slots import URL_REFUSED

SERVER_KEY = "sk-host-secret-0123456789abcdef"
VISITOR_KEY = "sk-visitor-secret-fedcba9876543210"


@pytest.fixture
def hosted(sim, tmp_path):
    """The app as a host runs it with a real key (DashScope at the simulator's address); yields (url, studio)."""
    settings = Settings(data_dir=tmp_path / "data", api_key=SERVER_KEY, base_url_override=sim.base_url, max_upload_mb=1)
    studio = Studio(settings, retry=FAST_RETRY)
    demo = build_app(studio, browser_secret="test-secret")
    demo.queue(default_concurrency_limit=4)
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=_free_port(),
        quiet=True,
        **launch_options(studio),
    )
    yield demo.local_url, studio
    demo.close()
    studio.close()


@pytest.fixture
def picture(tmp_path, make_image):
    path = tmp_path / "in.png"
    path.write_bytes(make_image(640, 480))
    return str(path)


def _files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_the_hosts_key_is_in_no_page_record_history_or_file(hosted, sim, picture):
    url, studio = hosted
    client = Client(url, verbose=False)
    _images, record = client.predict(handle_file(picture), prompt="make it blue", seed=1, api_name="/edit")

    assert sim.stats.requests[-1]["authorization"] == f"Bearer {SERVER_KEY}"  # it was used ...
    for route in ("/", "/config", "/gradio_api/info"):
        assert SERVER_KEY not in httpx.get(url.rstrip("/") + route).text  # ... and never shown
    assert SERVER_KEY not in str(record)
    assert not _files_containing(studio.settings.data_dir, SERVER_KEY)


def test_a_visitors_own_key_serves_that_call_only_and_is_stored_nowhere(hosted, sim, picture):
    url, studio = hosted
    client = Client(url, verbose=False)
    _images, record = client.predict(
        handle_file(picture), prompt="make it blue", seed=1, api_key=VISITOR_KEY, api_name="/edit"
    )

    assert sim.stats.requests[-1]["authorization"] == f"Bearer {VISITOR_KEY}"
    assert VISITOR_KEY not in str(record)
    assert not _files_containing(studio.settings.data_dir, VISITOR_KEY)
    with sqlite3.connect(studio.settings.data_dir / "history.sqlite3") as db:
        (owner,) = db.execute("SELECT owner FROM edits WHERE id = ?", (record["edit_id"],)).fetchone()
    assert owner.startswith("key:") and VISITOR_KEY not in owner  # a hash names the owner, never the key


def test_gradio_file_routes_refuse_the_database_inputs_folder_and_system_files(hosted, picture):
    url, studio = hosted
    Client(url, verbose=False).predict(handle_file(picture), prompt="x", seed=1, api_name="/edit")
    data = studio.settings.data_dir
    for target in (data / "history.sqlite3", data / "browser-secret", Path("/etc/passwd"), studio.store.objects):
        response = httpx.get(f"{url.rstrip('/')}/gradio_api/file={target}")
        assert response.status_code in (403, 404), target


def test_results_are_served_only_under_their_exact_content_hash(hosted, picture):
    url, _studio = hosted
    _images, record = Client(url, verbose=False).predict(handle_file(picture), prompt="x", seed=1, api_name="/edit")
    real = Path(record["files"][0])
    guessed = real.with_name("0" * 64 + ".png")

    assert httpx.get(f"{url.rstrip('/')}/gradio_api/file={real}").status_code == 200
    assert httpx.get(f"{url.rstrip('/')}/gradio_api/file={guessed}").status_code in (403, 404)


def test_image_addresses_given_to_the_api_are_refused_and_never_fetched(hosted):
    url, _studio = hosted
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = f"http://127.0.0.1:{server.server_address[1]}/internal/secret.png"
        client = Client(url, verbose=False)
        with pytest.raises(AppError) as caught:
            client.predict(handle_file(target), prompt="x", api_name="/edit")
        assert URL_REFUSED.split(":")[0] in str(caught.value)
        with pytest.raises(AppError) as caught:  # Image 4 onwards too
            client.predict(prompt="x", model="qwen-image-2.1-pro", extra_images=[handle_file(target)], api_name="/edit")
        assert URL_REFUSED.split(":")[0] in str(caught.value)
        assert hits == []
    finally:
        server.shutdown()


def test_uploads_over_the_cap_are_refused_by_the_server(hosted):
    url, _studio = hosted
    too_big = b"\0" * (2 * 1024 * 1024)  # the fixture's cap is 1 MB
    response = httpx.post(f"{url.rstrip('/')}/gradio_api/upload", files={"files": ("big.png", too_big, "image/png")})
    assert response.status_code == 413
