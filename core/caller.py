"""Who an edit is for: the one value that crosses from a shell (page, API, CLI) into core."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

LOCAL_OWNER = "local"
API_PREFIX = "api:"


@dataclass(frozen=True)
class Caller:
    """The owner whose history an edit lands in, the key the caller brought (if any) and their address.

    `key` is the caller's own DashScope key, used for their calls only; without one the host's key pays,
    and the hourly allowance applies (counted by owner and by `address`).
    """

    owner: str
    key: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.key or "").strip() or None)

    def __repr__(self) -> str:  # never shows the key
        return f"Caller(owner={self.owner!r}, key={'***' if self.key else None}, address={self.address!r})"

    @property
    def brings_key(self) -> bool:
        """True when the caller pays with a key of their own."""
        return self.key is not None

    @classmethod
    def for_api(cls, key: str | None, address: str | None = None) -> Caller:
        """An API or MCP caller: owner "key:<hash of the key it brought>". A caller without a key gets an
        owner of its own for this call ("api:<random id>"): its results are reachable only through what
        the call returned, and no two callers share a history or an hourly count by owner."""
        key = (key or "").strip() or None
        if key is None:
            return cls(API_PREFIX + secrets.token_hex(16), None, address)
        return cls(f"key:{hashlib.sha256(key.encode()).hexdigest()[:16]}", key, address)


LOCAL = Caller(LOCAL_OWNER)
"""The command line's caller: the machine's own user."""
