"""Soak: many edits from many clients through the real app, with injected faults; nothing may be lost.

    python -m benchmarks.soak --edits 500 --clients 16 --fault-rate 0.05

Runs `python app.py` as its own process against a simulator on 127.0.0.1 (nothing else is contacted), stops
by itself, and reports edits completed, results saved, results lost (must be 0), the app's peak RSS and its
open file descriptors before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from core.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
# Faults a real network and service produce; each is retried or recovered by the app.
TRANSIENT_FAULTS = ("throttle", "internal_error", "unavailable", "download_reset", "download_error")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _proc(pid: int, field: str) -> int:
    """A kB figure from /proc/PID/status (VmHWM, VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> None:
    """Run the soak and print its figures; exit non-zero if any result was lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--latency", type=float, default=0.2, help="simulated model seconds per call")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="qwen-soak-"))
    image = work / "input.png"
    Image.new("RGB", (800, 600), (90, 140, 200)).save(image)
    port = _free_port()

    with Simulator(latency=args.latency) as sim:
        env = {
            **os.environ,
            "DASHSCOPE_API_KEY": "sk-soak",
            "DASHSCOPE_HTTP_BASE_URL": sim.base_url,
            "QWEN_EDIT_RATE_LIMIT": "1000000",
            "QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-plus=off",  # the simulator has no account limits
            "GRADIO_ANALYTICS_ENABLED": "False",
        }
        app = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port), "--data-dir", str(work / "data")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or app.poll() is not None:
                        raise SystemExit("the app did not start") from None
                    time.sleep(0.2)
            fds_before = _open_fds(app.pid)
            remaining = iter(range(args.edits))
            lock = threading.Lock()
            tally = {"completed": 0, "refused": 0, "returned": 0}

            def client_loop() -> None:
                client = Client(url, verbose=False)
                while True:
                    with lock:
                        if next(remaining, None) is None:
                            client.close()
                            return
                        if rng.random() < args.fault_rate:
                            sim.inject(rng.choice(TRANSIENT_FAULTS))
                        n = rng.randint(1, 3)
                    try:
                        images, _record = client.predict(
                            handle_file(str(image)), prompt="make it blue", n=n, seed=1, api_name="/edit"
                        )
                    except AppError:
                        with lock:
                            tally["refused"] += 1
                        continue
                    with lock:
                        tally["completed"] += 1
                        tally["returned"] += len(images)

            started = time.monotonic()
            threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.monotonic() - started
            time.sleep(1)  # let the app close finished connections before counting descriptors
            fds_after = _open_fds(app.pid)
            peak_mb = _proc(app.pid, "VmHWM") / 1024
        finally:
            app.terminate()
            app.wait(timeout=30)

    with sqlite3.connect(work / "data" / "history.sqlite3") as db:
        links = db.execute("SELECT COUNT(*) FROM outputs").fetchone()[0]
        saved = db.execute("SELECT COUNT(*) FROM outputs WHERE state = 'saved'").fetchone()[0]
        files = sum(1 for _ in (work / "data" / "store" / "objects").rglob("*.png"))
    lost = links - saved
    print(f"edits: {args.edits} from {args.clients} clients in {seconds:.1f} s, fault rate {args.fault_rate:.0%}")
    print(f"completed: {tally['completed']}, refused with a message: {tally['refused']}")
    print(f"result links returned by the service: {links}; saved on disk: {saved}; lost: {lost}")
    print(f"results handed to clients: {tally['returned']}; PNG files in the store: {files}")
    print(f"app peak RSS: {peak_mb:.0f} MB; open file descriptors before/after: {fds_before}/{fds_after}")
    if lost:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
