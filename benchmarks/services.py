"""The processes a benchmark talks to: the simulator and the app, each in its own process.

Separate processes keep the measured code off the benchmark driver's GIL, and let us read the app's own
memory from /proc.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "sk-bench"
_LOOPBACK = "127.0.0.1"


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment, minus anything that would change what is measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE_", "QWEN_EDIT_", "GRADIO_SERVER"))}
    env.update(GRADIO_ANALYTICS_ENABLED="False", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((_LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_for_page(url: str, deadline: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers 200 (or raise when `deadline`, a perf_counter time, passes)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with {process.returncode}")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{url} did not answer in time")
        time.sleep(0.01)


class SimulatorProcess:
    """`python -m core.simulator` with a model latency and a per-connection download bandwidth; with `noise`,
    results of incompressible noise (photo-sized PNGs)."""

    def __init__(self, *, latency: float, bandwidth: float | None, log: Path, noise: bool = False) -> None:
        self.latency = latency
        self.bandwidth = bandwidth
        self.noise = noise
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def __enter__(self) -> SimulatorProcess:
        command = [sys.executable, "-m", "core.simulator", "--latency", str(self.latency)]
        if self.bandwidth is not None:
            command += ["--bandwidth", str(self.bandwidth)]
        if self.noise:
            command.append("--noise")
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=log)
        assert self._process.stdout is not None
        self.base_url = self._process.stdout.readline().decode().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError(f"the simulator did not start; see {self._log}")
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def configure(
        self, *, latency: float | None = None, bandwidth: float | None = None, noise: bool | None = None
    ) -> None:
        """Change latency, bandwidth and/or noise while it runs (through its control API)."""
        wanted = {"latency": latency, "bandwidth": bandwidth, "noise": noise}
        changes = {k: v for k, v in wanted.items() if v is not None}
        origin = self.base_url.removesuffix("/api/v1")
        request = urllib.request.Request(f"{origin}/_sim/config", data=json.dumps(changes).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
        self.latency = changes.get("latency", self.latency)
        self.bandwidth = changes.get("bandwidth", self.bandwidth)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stop_process(self._process)


class AppProcess:
    """`python app.py` against a simulator as if it were DashScope (a key and a base URL: no embedded simulator),
    so the process holds the app alone and its memory can be read."""

    def __init__(self, base_url: str, work: Path, *, concurrency: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://{_LOOPBACK}:{self.port}/"
        self._work = work
        work.mkdir(parents=True, exist_ok=True)
        env = {
            "DASHSCOPE_API_KEY": BENCH_KEY,
            "DASHSCOPE_HTTP_BASE_URL": base_url,
            "QWEN_EDIT_RATE_LIMIT": "100000",
            # The simulator has no account limits: pacing the one key at DashScope's 2 a second is not measured.
            "QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-plus=off",
            # Every API caller is the one owner "api": at the default 500 MB it would hit its cap mid-run, and
            # eviction is not what is measured.
            "QWEN_EDIT_OWNER_STORAGE_MB": "1000000",
            "QWEN_EDIT_MAX_STORAGE_MB": "1000000",
            "GRADIO_TEMP_DIR": str(work / "gradio-tmp"),
        }
        if concurrency is not None:
            env["QWEN_EDIT_CONCURRENCY"] = str(concurrency)
        self._env = child_env(**env)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> AppProcess:
        command = [sys.executable, "app.py", "--port", str(self.port), "--data-dir", str(self._work / "data")]
        with open(self._work / "app.log", "ab") as log:
            self._process = subprocess.Popen(command, cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT)
        wait_for_page(self.url, time.perf_counter() + 120, self._process)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stop_process(self._process)

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the app process, in bytes."""
        return read_memory(self.pid)

    def reset_peak(self) -> bool:
        """Restart the process's VmHWM from its current RSS (Linux `clear_refs` 5); False when not allowed."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds `pid` has used so far (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine so far (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def read_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid` in bytes, from /proc/PID/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate `process` (ours, by its handle) and wait for it; kill it if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
