"""Result links: when a signed OSS link stops working."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

LINK_LIFETIME = 24 * 3600.0
"""How long DashScope's result links live when they do not say."""


def signed_expiry(url: str) -> float | None:
    """The unix time in an OSS-style signed link's `Expires`, or None when it has none (or not a number)."""
    expires = parse_qs(urlsplit(url).query).get("Expires")
    try:
        return float(expires[0]) if expires else None
    except ValueError:
        return None


def link_expiry(url: str, now: float) -> float:
    """When a result link stops working: its signed `Expires`, else LINK_LIFETIME from `now`."""
    expires = signed_expiry(url)
    return now + LINK_LIFETIME if expires is None else expires


def link_expired(url: str, now: float) -> bool:
    """True when the link's signed `Expires` is in the past (a link that does not say is presumed alive)."""
    expires = signed_expiry(url)
    return expires is not None and expires <= now
