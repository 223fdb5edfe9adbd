"""The Simulator: a DashScope-compatible HTTP server on localhost that the real SDK talks to unchanged."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import EllipsisType, TracebackType
from typing import Any
from urllib.parse import urlsplit

from core.catalog import INPUT_MAX_BYTES, MODELS, RateLimit
from core.simulator.config import Drift, RuntimeConfig, parse_limits
from core.simulator.control import PREFIX as CONTROL_PREFIX
from core.simulator.control import handle_control
from core.simulator.faults import FaultQueue, make_fault
from core.simulator.generation import GenerationService
from core.simulator.limits import AccountLimits
from core.simulator.protocol import ErrorAnswer, Reply, error_reply, json_reply, oss_error_reply
from core.simulator.render import RenderCache
from core.simulator.stats import SimulatorStats
from core.simulator.storage import EXPIRED, ResultStore
from core.simulator.uploads import UploadService

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
GENERATION_PATH = f"{API_PREFIX}/services/aigc/multimodal-generation/generation"
OSS_PREFIX = "/oss/"
UPLOADS_PATH = f"{API_PREFIX}/uploads"  # the SDK asks here for an upload policy
UPLOAD_HOST_PATH = "/oss-uploads"  # the policy's upload_host: the SDK posts local files here
# Three data URIs at the limit plus the JSON around them; anything bigger is refused unread.
MAX_BODY_BYTES = (max(model.max_images for model in MODELS) + 1) * INPUT_MAX_BYTES
DOWNLOAD_CHUNKS_PER_SECOND = 20
POLL_INTERVAL = 0.05  # how often the accept loop checks for stop(): bounds how long stop() takes
OSS_INTERNAL_ERROR = ErrorAnswer(500, "InternalError", "We encountered an internal error. Please try again.")

# Answers one request: (method, request target, headers, body, send) -> None; calls send exactly once.
Route = Callable[[str, str, Message, bytes, Callable[[Reply], None]], None]


class Simulator:
    """A local stand-in for DashScope's image-edit endpoint and its OSS result storage.

    Each instance owns its state (objects, faults, stats, threads); many can run in one process.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        bandwidth: float | None = None,
        link_ttl: float = 86400.0,
        enforce_rate_limits: bool = False,
        rate_limits: Mapping[str, RateLimit | str | None] | None = None,
        drift: Drift | Mapping[str, Any] | None = None,
        noise: bool = False,
        valid_keys: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._address = (host, port)
        self._config = RuntimeConfig(
            latency=latency,
            bandwidth=bandwidth,
            link_ttl=link_ttl,
            enforce_rate_limits=enforce_rate_limits,
            rate_limits=parse_limits(rate_limits or {}),
            drift=Drift.parse(drift),
            noise=noise,
        )
        self._valid_keys = frozenset(valid_keys) if valid_keys is not None else None
        self._faults = FaultQueue()
        self._clock = clock
        self._store = ResultStore(clock)
        self._stopping = threading.Event()
        self._server: _HTTPServer | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._generation: GenerationService | None = None
        self._uploads: UploadService | None = None
        self.stats = SimulatorStats()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind (port 0 picks a free port) and serve in daemon threads; returns self."""
        if self._server is not None:
            raise RuntimeError("the simulator is already started")
        self._server = _HTTPServer(self._address, self._route, self._stopping)
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="sim-render")
        self._generation = GenerationService(
            origin=self.origin,
            valid_keys=self._valid_keys,
            config=lambda: self._config,
            faults=self._faults,
            store=self._store,
            stats=self.stats,
            pool=self._pool,
            stopping=self._stopping,
            resolve_url=self._resolve_own_url,
            limits=AccountLimits(self._clock),
            cache=RenderCache(),
        )
        self._uploads = UploadService(self.origin + UPLOAD_HOST_PATH, self._valid_keys, self.stats)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, name="sim-http", daemon=True
        ).start()
        logger.info("DashScope simulator serving at %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, release held calls and close every open connection; a second call does nothing."""
        if self._server is None or self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        logger.info("DashScope simulator at %s stopped", self.origin)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """Scheme, host and port, e.g. "http://127.0.0.1:8123"."""
        if self._server is None:
            raise RuntimeError("start the simulator first: its port is chosen when it binds")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """What the SDK takes as base_address, e.g. "http://127.0.0.1:8123/api/v1"."""
        return self.origin + API_PREFIX

    # --- run-time control -----------------------------------------------------------------------

    @property
    def config(self) -> RuntimeConfig:
        return self._config

    def configure(
        self,
        *,
        latency: float | EllipsisType = ...,
        bandwidth: float | EllipsisType | None = ...,
        link_ttl: float | EllipsisType = ...,
        enforce_rate_limits: bool | EllipsisType = ...,
        rate_limits: Mapping[str, RateLimit | str | None] | EllipsisType = ...,
        drift: Drift | Mapping[str, Any] | EllipsisType | None = ...,
        noise: bool | EllipsisType = ...,
    ) -> None:
        """Change the given settings (omitted ones stay); ValueError for a bad value. `rate_limits` are
        account limits by model id (RateLimit, None or "2/60" / "off"), over the catalog's, enforced while
        `enforce_rate_limits` is on. `drift` (a Drift, a mapping of its fields, or None for none) shifts, zooms
        and colour-shifts every output from then on; `noise` makes outputs incompressible seeded noise."""
        changes: dict[str, Any] = {
            "latency": latency,
            "bandwidth": bandwidth,
            "link_ttl": link_ttl,
            "enforce_rate_limits": enforce_rate_limits,
            "rate_limits": ... if rate_limits is ... else parse_limits(rate_limits),
            "drift": ... if drift is ... else Drift.parse(drift),
            "noise": noise,
        }
        self._config = replace(self._config, **{k: v for k, v in changes.items() if v is not ...})

    def inject(self, fault: str, times: int = 1, **options: Any) -> None:
        """Queue `fault` for the next `times` requests of its kind; ValueError for unknown names or options."""
        self._faults.add(make_fault(fault, options), times)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def pending_faults(self) -> list[str]:
        """Names of the faults still queued, oldest first."""
        return self._faults.pending()

    # --- routes (called from handler threads) ---------------------------------------------------

    def _route(self, method: str, target: str, headers: Message, body: bytes, send: Callable[[Reply], None]) -> None:
        path, _, query = target.partition("?")
        if path == GENERATION_PATH and method == "POST":
            assert self._generation is not None
            send(self._generation.handle(headers.get("Authorization"), body))
        elif path.startswith(OSS_PREFIX) and method == "GET":
            with self.stats.download(path):  # in flight while the bytes go out, throttled or not
                send(self._download(path, query))
        elif path == UPLOADS_PATH and method == "GET":
            assert self._uploads is not None
            send(self._uploads.policy(headers.get("Authorization"), query))
        elif path == UPLOAD_HOST_PATH and method == "POST":
            assert self._uploads is not None
            send(self._uploads.receive(headers, body))
        elif path.startswith(CONTROL_PREFIX):
            send(handle_control(self, method, path, body))
        else:
            send(error_reply(ErrorAnswer(404, "NotFound", f"No route {method} {path}."), str(uuid.uuid4())))

    def _download(self, path: str, query: str) -> Reply:
        request_id = uuid.uuid4().hex.upper()
        fault = self._faults.take("download")
        fault_name = fault.name if fault is not None else None
        if fault_name == "download_error":
            return oss_error_reply(OSS_INTERNAL_ERROR, request_id)
        if fault_name == "download_redirect":
            # Without a url, to the same object by a relative link (an allowed hop); else wherever it says.
            location = fault.options["url"] or f"{path}?{query}&redirected=1"
            return Reply(302, b"", "text/plain", headers=(("Location", location),))
        result = EXPIRED if fault_name == "download_expired" else self._store.fetch(path, query)
        if isinstance(result, ErrorAnswer):
            return oss_error_reply(result, request_id)
        bandwidth = fault.options["bandwidth"] if fault_name == "download_slow" else self._config.bandwidth
        cut_after = len(result) // 2 if fault_name == "download_reset" else None
        if fault_name == "download_damaged":
            middle = len(result) // 2  # inside IDAT: the length is right, the CRC is not
            result = result[:middle] + bytes([result[middle] ^ 0xFF]) + result[middle + 1 :]
        return Reply(200, result, "image/png", bandwidth=bandwidth, cut_after=cut_after)

    def _resolve_own_url(self, url: str) -> bytes | str:
        """An input image given as one of this simulator's result links, or as the oss:// URL of a file uploaded
        to it; other hosts are unreachable offline."""
        if url.startswith("oss://"):
            assert self._uploads is not None
            uploaded = self._uploads.fetch(url.removeprefix("oss://"))
            return uploaded if uploaded is not None else f"no file was uploaded as {url}"
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin or not parts.path.startswith(OSS_PREFIX):
            return f"only data: URIs and result links of this simulator ({self.origin}) can be read offline"
        result = self._store.fetch(parts.path, parts.query)
        if isinstance(result, ErrorAnswer):
            return f"{result.status} {result.code}: {result.message}"
        return result


class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that remembers its open connections so stop() can close idle keep-alives."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], route: Route, stopping: threading.Event) -> None:
        self.route = route
        self.stopping = stopping
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer (timeouts, resets) are routine here, not worth a traceback on stderr.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive plumbing: read the whole body, route, send the Reply with a Content-Length."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        sent = False

        def send(reply: Reply) -> None:
            nonlocal sent
            sent = True
            self._send(reply)

        try:
            self.server.route(self.command, self.path, self.headers, body, send)
        except (ConnectionError, TimeoutError):
            raise  # the client went away mid-answer: the server logs it quietly
        except Exception:
            # While stopping, renders are cancelled under running calls: expected, so not an error then.
            level = logging.DEBUG if self.server.stopping.is_set() else logging.ERROR
            logger.log(level, "simulator failed on %s %s", self.command, self.path, exc_info=True)
            if not sent:
                self._send(json_reply(500, {"code": "InternalError", "message": "The simulator failed; see its log."}))

    def _read_body(self) -> bytes | None:
        """The request body, or None after refusing a body it cannot or will not read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse(411, "A Content-Length is required.")
            return None
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit():
            self._refuse(400, f"Content-Length {length_text!r} is not a number of bytes.")
            return None
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self._refuse(413, f"The request body is {length} bytes; the limit is {MAX_BODY_BYTES}.")
            return None
        return self.rfile.read(length)

    def _refuse(self, status: int, message: str) -> None:
        # The unread body would be taken for the next request: answer, then drop the connection.
        self.close_connection = True
        self._send(json_reply(status, {"code": "InvalidParameter", "message": message}))

    def _send(self, reply: Reply) -> None:
        if reply.reset:
            # SO_LINGER 0 makes close() send RST at once (no FIN first): the request dies without an answer.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection or reply.cut_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        body = reply.body if reply.cut_after is None else reply.body[: reply.cut_after]
        if reply.bandwidth is None:
            self.wfile.write(body)
        else:
            self._write_throttled(body, reply.bandwidth)
        self.wfile.flush()
        if reply.cut_after is not None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write_throttled(self, body: bytes, bandwidth: float) -> None:
        chunk = max(1024, int(bandwidth / DOWNLOAD_CHUNKS_PER_SECOND))
        started = time.monotonic()
        for offset in range(0, len(body), chunk):
            piece = body[offset : offset + chunk]
            self.wfile.write(piece)
            self.wfile.flush()
            # Sleep until the bytes sent so far are due; a stop cuts the transfer short.
            due = started + (offset + len(piece)) / bandwidth - time.monotonic()
            if due > 0 and self.server.stopping.wait(due):
                self.close_connection = True
                return
