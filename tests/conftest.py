"""Fixtures: a running simulator, a temporary data dir, input images made with Pillow, and the history's two
engines (SQLite, and a real PostgreSQL server started for the session)."""

import io
import logging
import os
import queue
import shutil
import tempfile

# Before gradio is imported anywhere: no telemetry, no proxy for loopback, a private temp dir.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="qwen-edit-gradio-"))

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from core import catalog
from core.client import RetryPolicy
from core.settings import Settings
from core.simulator import Simulator
from core.studio import Studio
from deploy.postgres import PostgresServer

# Rate limits off for every model: for tests of concurrency, where pacing would only space the calls out.
UNPACED = {model.rate_group: None for model in catalog.MODELS}
FAST_RETRY = RetryPolicy(
    attempts=4, base_delay=0.01, max_delay=0.02, throttled_base_delay=0.01, throttled_max_delay=0.02
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator on a free loopback port."""
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    """Encoded image bytes: make_image(width, height, color=(r, g, b), fmt="PNG")."""

    def make(
        width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 80, 40), fmt: str = "PNG"
    ) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), color).save(buffer, fmt)
        return buffer.getvalue()

    return make


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL, started once for the session on 127.0.0.1 (in its own temp dir: pytest's are
    private to this user, and the server may run as `postgres`)."""
    root = Path(tempfile.mkdtemp(prefix="qwen-edit-postgres-"))
    server = PostgresServer(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str | None:
    """The history's engine for a test that runs on both: None (SQLite under the data dir), or a new, empty
    PostgreSQL database's URL. A test that asks for it also gets the `studio` fixture on that engine."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()


@pytest.fixture
def studio(sim: Simulator, tmp_path, request) -> Iterator[Studio]:
    """A Studio in simulator mode over `sim`, with a temporary data dir and quick retries (its history on the
    test's `database_url` when the test asks for one)."""
    url = request.getfixturevalue("database_url") if "database_url" in request.fixturenames else None
    settings = Settings(data_dir=tmp_path / "data", simulate=True, database_url=url)
    studio = Studio(settings, simulator=sim, retry=FAST_RETRY)
    yield studio
    studio.close()


@pytest.fixture
def budget_waits() -> Iterator[queue.Queue[str]]:
    """The names of threads as they start waiting on the decode budget (read from its log)."""
    seen: queue.Queue[str] = queue.Queue()

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.put(record.threadName)

    logger = logging.getLogger("core.budget")
    recorder, level = Recorder(), logger.level
    logger.addHandler(recorder)
    logger.setLevel(logging.INFO)
    yield seen
    logger.removeHandler(recorder)
    logger.setLevel(level)
