"""Owner ids the server issues: a signed token kept in each browser, verified on every call.

A browser's owner id is "browser:<random id>". The page keeps only a token `<random id>.<signature>`;
the signature is an HMAC made with a secret that never leaves the server (in the history database, which
every replica shares; first made as a file in the data dir), so no client can name an owner, only present a
token this server issued.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from core.history import History
from core.shared_secrets import shared_secret

BROWSER_PREFIX = "browser:"
_SECRET_FILE = "owner-secret"
_TOKEN = re.compile(r"^([0-9a-f]{32})\.([0-9a-f]{64})$")


class OwnerTokens:
    """Issues and verifies the tokens that name a browser's owner id."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the owner-token secret must be at least 32 bytes")
        self._secret = secret

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> OwnerTokens:
        """Tokens signed with the data dir's secret, made (readable by this user only) when missing, so
        tokens stay valid across restarts and every process on the data dir agrees on them."""
        path = Path(data_dir) / _SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{_SECRET_FILE}.{os.getpid()}.tmp")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(partial, path)  # the first process to get here wins; the others read its secret
            except FileExistsError:
                pass
            finally:
                partial.unlink()
        return cls(bytes.fromhex(path.read_text().strip()))

    @classmethod
    def shared(cls, history: History, data_dir: Path) -> OwnerTokens:
        """Tokens signed with the secret kept in the history database, so every replica on it issues and
        accepts the same ones. The first time, the data dir's secret (`in_data_dir`) becomes it: tokens issued
        before stay valid."""
        return cls(bytes.fromhex(shared_secret(history, _SECRET_FILE, lambda: cls.in_data_dir(data_dir)._secret.hex())))

    def issue(self) -> str:
        """A token for a new owner id."""
        browser_id = secrets.token_hex(16)
        return f"{browser_id}.{self._sign(browser_id)}"

    def owner(self, token: object) -> str | None:
        """The owner id a token names, or None when this server did not issue it."""
        match = _TOKEN.match(token) if isinstance(token, str) else None
        if match is None or not hmac.compare_digest(match.group(2), self._sign(match.group(1))):
            return None
        return BROWSER_PREFIX + match.group(1)

    def _sign(self, browser_id: str) -> str:
        return hmac.new(self._secret, browser_id.encode(), hashlib.sha256).hexdigest()
