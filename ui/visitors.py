"""Who is behind a page event or an API call: the Caller core acts for, and the language to answer in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from core.caller import Caller
from ui.strings import language_of


@dataclass(frozen=True)
class Visitor:
    """The caller core acts for (owner, own key, address) and the language to answer in."""

    caller: Caller
    lang: str

    @property
    def owner(self) -> str:
        return self.caller.owner


def visitor(owner_state: dict[str, Any] | None, key_state: dict[str, Any] | None, request: gr.Request) -> Visitor:
    """The visitor behind a page event: a signed-in user's name, else this browser's anonymous id."""
    username = getattr(request, "username", None)
    owner = f"user:{username}" if username else (owner_state or {}).get("owner") or f"tab:{request.session_hash}"
    key = (key_state or {}).get("api_key") or None
    return Visitor(Caller(owner, key, client_ip(request)), language_of(request))


def api_visitor(api_key: str, request: gr.Request | None) -> Visitor:
    """An API or MCP caller: owner "key:<hash of the key it brought>", else "api"."""
    return Visitor(Caller.for_api(api_key, client_ip(request)), language_of(request))


def client_ip(request: gr.Request | None) -> str | None:
    """The caller's address, the first hop of X-Forwarded-For behind a proxy (as on Spaces)."""
    if request is None:
        return None
    forwarded = (request.headers.get("x-forwarded-for") or "") if request.headers is not None else ""
    if forwarded.strip():
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else None
