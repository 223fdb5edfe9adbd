"""Many visitors at once through the real Gradio app (gradio_client), against the simulator with model latency.

    python -m benchmarks.visitors --latency 2 --visitors 1 8 32

Prints, per crowd size, the wall time for everyone to finish and the median / p95 per-visitor latency,
and their ratio to one visitor alone. Ideal: every crowd takes about one visitor's time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from gradio_client import Client, handle_file
from PIL import Image

from core.settings import Settings
from core.simulator import Simulator
from core.studio import Studio
from ui.layout import build_app, launch_options


def crowd(url: str, image: str, visitors: int) -> tuple[float, list[float]]:
    """Run `visitors` edits at once, each from its own client; return (wall seconds, per-visitor seconds)."""
    clients = [Client(url, verbose=False) for _ in range(visitors)]
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(visitors + 1)

    def visit(client: Client) -> None:
        start.wait()
        began = time.perf_counter()
        client.predict(handle_file(image), prompt="make it blue", seed=1, api_name="/edit")
        with lock:
            latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=visit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies


def main() -> None:
    """Serve the app over a simulator with the given latency and measure each crowd size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=2.0, help="simulated model seconds per call")
    parser.add_argument("--visitors", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qwen-bench-"))
    image = work / "input.png"
    Image.new("RGB", (1024, 1024), (90, 140, 200)).save(image)
    with Simulator(latency=args.latency) as sim:
        studio = Studio(Settings(data_dir=work / "data", simulate=True), simulator=sim)
        demo = build_app(studio, browser_secret="bench")
        demo.queue(default_concurrency_limit=studio.settings.concurrency, max_size=studio.settings.queue_max)
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options(studio))
        try:
            crowd(demo.local_url, str(image), 1)  # warm-up
            baseline = None
            print(f"model latency {args.latency:.1f} s; app concurrency {studio.settings.concurrency}")
            print("| visitors | wall (s) | median (s) | p95 (s) | wall / one visitor |")
            print("|---:|---:|---:|---:|---:|")
            for visitors in args.visitors:
                wall, latencies = crowd(demo.local_url, str(image), visitors)
                baseline = baseline or wall
                p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else latencies[0]
                median = statistics.median(latencies)
                print(f"| {visitors} | {wall:.2f} | {median:.2f} | {p95:.2f} | {wall / baseline:.2f} |")
        finally:
            demo.close()
            studio.close()


if __name__ == "__main__":
    main()
