"""Several replicas of the app behind nginx, on one host: the nginx config (session affinity by the replica's
cookie, failover to the others) and a launcher for the replicas and nginx.

    python -m deploy.cluster --replicas 2 --listen 127.0.0.1:8080 --run-dir run/
    python -m deploy.cluster --replicas 2 --print-nginx > /etc/nginx/conf.d/qwen-edit.conf   (hand deployment)

Every replica gets the environment this is started with (the shared `QWEN_EDIT_DATABASE_URL`,
`QWEN_EDIT_DATA_DIR`, `DASHSCOPE_API_KEY` ...) plus its own `QWEN_EDIT_REPLICA=rN`, `GRADIO_SERVER_PORT` and
Gradio temp dir (uploads stay with the replica that took them, as on separate machines), and
`QWEN_EDIT_TRUSTED_PROXIES=1` (nginx writes the visitor's address into X-Forwarded-For).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIRST_PORT = 7861
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian's, off a user's PATH
START_SECONDS = 120.0  # a replica's cold start (imports, Gradio's app) on a loaded 2-core host


def nginx_config(replicas: Mapping[str, int], *, listen: str, upload_mb: int, prefix: Path | None = None) -> str:
    """nginx's config for `replicas` (name -> port on 127.0.0.1), listening on `listen` ("host:port").

    A browser goes to the replica its `qwen_edit_replica` cookie names (Gradio's queue joins an event with one
    request and streams it with another: both must reach the replica that runs it); a replica that is down
    hands its browsers to the others (`backup`), and the one that answers names itself in the cookie from
    then on. A request without the cookie is placed by its address (gradio_client keeps the cookie its first
    request was given). With `prefix`, nginx runs unprivileged from that folder (pid, logs, temp files), as the
    launcher starts it."""
    servers = {name: f"127.0.0.1:{port}" for name, port in replicas.items()}
    lines = []
    if prefix is not None:
        if os.geteuid() == 0:  # workers as the launcher's user, who owns the run dir (nginx's default: nobody)
            lines.append(f"user {getpass.getuser()};")
        lines += [
            "worker_processes 1;",
            f"pid {prefix / 'nginx.pid'};",
            f"error_log {prefix / 'nginx-error.log'} warn;",
            "events { worker_connections 4096; }",
            "http {",
            f"  access_log {prefix / 'nginx-access.log'};",
            *(f"  {kind}_temp_path {prefix / ('nginx-' + kind)};" for kind in ("client_body", "proxy")),
            *(f"  {kind}_temp_path {prefix / ('nginx-' + kind)};" for kind in ("fastcgi", "uwsgi", "scgi")),
        ]
    else:
        lines.append("# Inside nginx's http { } block (e.g. /etc/nginx/conf.d/qwen-edit.conf).")
    lines += ["  map $cookie_qwen_edit_replica $qwen_edit_pool {", "    default qwen_edit_any;"]
    lines += [f"    {name} qwen_edit_{name};" for name in servers]
    lines += ["  }", "  upstream qwen_edit_any {", "    hash $remote_addr consistent;"]
    lines += [f"    server {address} max_fails=1 fail_timeout=5s;" for address in servers.values()]
    lines.append("  }")
    for name, address in servers.items():
        lines += [f"  upstream qwen_edit_{name} {{", f"    server {address} max_fails=1 fail_timeout=5s;"]
        lines += [f"    server {other} backup;" for other_name, other in servers.items() if other_name != name]
        lines.append("  }")
    host, _, port = listen.rpartition(":")
    lines += [
        "  server {",
        f"    listen {host or '0.0.0.0'}:{port};",
        f"    client_max_body_size {upload_mb + 10}m;  # the app refuses files over QWEN_EDIT_MAX_UPLOAD_MB itself",
        "    location / {",
        "      proxy_pass http://$qwen_edit_pool;",
        "      proxy_http_version 1.1;",
        '      proxy_set_header Connection "";',
        "      proxy_set_header Host $http_host;  # with its port: Gradio builds its file links from it",
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "      proxy_set_header X-Forwarded-Proto $scheme;",
        "      proxy_buffering off;  # the queue's event streams, and results, go out as they come",
        "      proxy_request_buffering off;",
        "      proxy_read_timeout 1h;  # an edit waiting for DashScope's rate limit streams nothing for a while",
        "      proxy_send_timeout 1h;",
        "    }",
        "  }",
    ]
    if prefix is not None:
        lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class Replica:
    """One app process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@dataclass
class Cluster:
    """N replicas of `python app.py` and nginx in front, started in `run_dir` (logs, nginx's files)."""

    count: int
    listen: str
    run_dir: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    ports: list[int] | None = None  # the replicas' ports (default 7861, 7862, ...)
    replicas: dict[str, Replica] = field(default_factory=dict)
    nginx: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.listen}/"

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Cluster:
        """Start the replicas (one after the other: each migrates the database on its way up), then nginx."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            ports = self.ports or [FIRST_PORT + number for number in range(self.count)]
            for number, port in enumerate(ports[: self.count], start=1):
                self.start_replica(f"r{number}", port)
            ports = {name: replica.port for name, replica in self.replicas.items()}
            upload_mb = Settings.from_env(self.env).max_upload_mb
            config = self.run_dir / "nginx.conf"
            config.write_text(nginx_config(ports, listen=self.listen, upload_mb=upload_mb, prefix=self.run_dir))
            with open(self.run_dir / "nginx.out", "ab") as out:
                self.nginx = subprocess.Popen(
                    [NGINX, "-p", str(self.run_dir), "-c", str(config), "-g", "daemon off;"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            _wait_for(self.url, self.nginx, self.run_dir / "nginx-error.log")
        except BaseException:
            self.stop()
            raise
        return self

    def start_replica(self, name: str, port: int) -> Replica:
        """Start replica `name` on `port` and wait until it serves its page."""
        temp = Path(self.env.get("GRADIO_TEMP_DIR") or self.run_dir / "gradio") / name
        env = {**self.env, "QWEN_EDIT_REPLICA": name, "GRADIO_SERVER_PORT": str(port), "GRADIO_TEMP_DIR": str(temp)}
        env.setdefault("QWEN_EDIT_TRUSTED_PROXIES", "1")
        log = self.run_dir / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        replica = self.replicas[name] = Replica(name, port, process, log)
        _wait_for(replica.url, process, log)
        return replica

    def kill(self, name: str) -> None:
        """`kill -9` replica `name`: no chance to finish or clean up anything."""
        replica = self.replicas[name]
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop nginx and every replica still running (SIGTERM, then SIGKILL after 20 s)."""
        processes = ([self.nginx] if self.nginx else []) + [r.process for r in self.replicas.values()]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{url} did not come up (exit {process.poll()}); {log}:\n{tail}")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="how many app processes (default 2)")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="where nginx listens (default 127.0.0.1:8080)")
    parser.add_argument("--run-dir", type=Path, default=Path("run"), help="logs and nginx's files (default run/)")
    parser.add_argument("--print-nginx", action="store_true", help="print the config for ports 7861... and exit")
    args = parser.parse_args(argv)
    if args.print_nginx:
        ports = {f"r{n}": FIRST_PORT + n - 1 for n in range(1, args.replicas + 1)}
        sys.stdout.write(nginx_config(ports, listen=args.listen, upload_mb=Settings.from_env().max_upload_mb))
        return
    for needed in ("QWEN_EDIT_DATABASE_URL", "QWEN_EDIT_DATA_DIR"):
        if not os.environ.get(needed):
            raise SystemExit(f"set {needed}: every replica must share it (see deploy/README.md)")
    with Cluster(args.replicas, args.listen, args.run_dir.resolve()) as cluster:
        print(f"{args.replicas} replicas behind {cluster.url}; logs in {args.run_dir}. Ctrl-C stops them.")
        with contextlib.suppress(KeyboardInterrupt):
            cluster.nginx.wait()  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
