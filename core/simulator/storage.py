"""The simulator's fake OSS bucket: result objects in memory, reachable through signed, expiring links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from core.simulator.protocol import ErrorAnswer

DEFAULT_CAPACITY = 1 << 30  # bytes kept before the oldest objects are evicted
ACCESS_KEY_ID = "sim"


EXPIRED = ErrorAnswer(403, "AccessDenied", "Request has expired.")
BAD_SIGNATURE = ErrorAnswer(
    403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
)
MISSING = ErrorAnswer(404, "NoSuchKey", "The specified key does not exist.")


class ResultStore:
    """Objects by path, evicting the oldest beyond `capacity` bytes; links signed with a per-store secret."""

    def __init__(self, clock: Callable[[], float], capacity: int = DEFAULT_CAPACITY) -> None:
        self._clock = clock
        self._capacity = capacity
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._objects: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def put(self, path: str, data: bytes) -> None:
        with self._lock:
            if path in self._objects:
                self._size -= len(self._objects.pop(path))
            self._objects[path] = data
            self._size += len(data)
            while self._size > self._capacity and len(self._objects) > 1:
                _, evicted = self._objects.popitem(last=False)
                self._size -= len(evicted)

    def sign(self, origin: str, path: str, ttl: float) -> str:
        """A link to `path` on `origin`, valid for `ttl` seconds from now."""
        expires = int(self._clock() + ttl)
        query = urlencode(
            {"Expires": expires, "OSSAccessKeyId": ACCESS_KEY_ID, "Signature": self._signature(path, expires)}
        )
        return f"{origin}{path}?{query}"

    def fetch(self, path: str, query: str) -> bytes | ErrorAnswer:
        """The object a link's path and query string name, or why it is refused."""
        params = parse_qs(query)
        expires_text = params.get("Expires", [""])[0]
        signature = params.get("Signature", [""])[0]
        if not expires_text.isdigit() or not hmac.compare_digest(signature, self._signature(path, int(expires_text))):
            return BAD_SIGNATURE
        if self._clock() > int(expires_text):
            return EXPIRED
        with self._lock:
            data = self._objects.get(path)
        return MISSING if data is None else data

    def fetch_url(self, url: str) -> bytes | ErrorAnswer:
        """Like fetch, for a whole link (scheme and host are the caller's to check)."""
        parts = urlsplit(url)
        return self.fetch(parts.path, parts.query)

    def _signature(self, path: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
