"""Scenario (e): `python app.py` from process start to the first page served (HTTP 200 on /).

Started as a user would, with no key (so the embedded simulator starts too) and a fresh data dir. The OS
file cache is warm (this is a cold process, not a cold disk). `import gradio` alone is timed beside it,
as the floor that the app's own start-up adds to.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.services import ROOT, child_env, free_port, stop_process, wait_for_page


def cold_start(work: Path) -> float:
    """Seconds from spawning `python app.py` to its page answering 200."""
    port = free_port()
    data_dir = work / f"cold-start-{port}"
    env = child_env(GRADIO_TEMP_DIR=str(work / "gradio-tmp"))
    with open(work / "cold-start.log", "ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_page(f"http://127.0.0.1:{port}/", started + 60, process)
        return time.perf_counter() - started
    finally:
        stop_process(process)


def import_gradio() -> float:
    """Seconds a fresh interpreter takes to `import gradio` and exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], cwd=ROOT, env=child_env(), check=True, capture_output=True)
    return time.perf_counter() - started
