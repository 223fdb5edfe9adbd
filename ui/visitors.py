"""Who is behind a page event or an API call, as the server can verify it: the Caller core acts for.

Any Gradio event can be called directly, with any values for every input (browser states included), so
nothing here takes an owner from what the client sends: a page visitor is a signed-in user, or the owner
of a token this server issued (`core.identity`); an API caller is the hash of the key it brings, or an
owner of its own for that one call. The address is the socket's peer, or the one the trusted proxies saw.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import gradio as gr

from core.caller import Caller
from core.identity import OwnerTokens
from ui.strings import language_of

UNVERIFIED_PREFIX = "anon:"


@dataclass(frozen=True)
class Visitor:
    """The caller core acts for (owner, own key, address) and the language to answer in."""

    caller: Caller
    lang: str

    @property
    def owner(self) -> str:
        return self.caller.owner

    @property
    def verified(self) -> bool:
        """False for a caller without a token this server signed: an owner nobody can come back as."""
        return not self.owner.startswith(UNVERIFIED_PREFIX)


@dataclass(frozen=True)
class Visitors:
    """Tells who is asking, from what the server can check."""

    tokens: OwnerTokens
    trusted_proxies: int = 0

    def page(self, owner_state: Any, key_state: Any, request: gr.Request) -> Visitor:
        """A page visitor: a signed-in user's name, else the owner of the token their browser holds. A
        missing or forged token gets an owner of its own that nobody else has: it sees nothing and
        changes nothing of anyone's."""
        username = getattr(request, "username", None)
        owner = f"user:{username}" if username else self.tokens.owner(_field(owner_state, "token"))
        key = _field(key_state, "api_key")
        caller = Caller(owner or UNVERIFIED_PREFIX + secrets.token_hex(16), key, self.address(request))
        return Visitor(caller, language_of(request))

    def api(self, api_key: str, request: gr.Request | None) -> Visitor:
        """An API or MCP caller: owner "key:<hash of the key it brought>", else an owner of its own."""
        return Visitor(Caller.for_api(api_key, self.address(request)), language_of(request))

    def token_state(self, owner_state: Any) -> dict[str, str]:
        """The browser state to keep: the token it holds when this server issued it, else a new one."""
        token = _field(owner_state, "token")
        return {"token": token if self.tokens.owner(token) else self.tokens.issue()}

    def address(self, request: gr.Request | None) -> str | None:
        """The caller's address: the socket's peer, or, behind `trusted_proxies` proxies, the entry of
        X-Forwarded-For the outermost of them wrote (entries further left are the client's own say)."""
        if request is None:
            return None
        peer = request.client.host if request.client else None
        if not self.trusted_proxies or request.headers is None:
            return peer
        hops = [hop.strip() for hop in (request.headers.get("x-forwarded-for") or "").split(",") if hop.strip()]
        return hops[-self.trusted_proxies] if len(hops) >= self.trusted_proxies else peer


def _field(state: Any, name: str) -> str | None:
    """A text field of a browser state, whatever shape the client sent."""
    value = state.get(name) if isinstance(state, dict) else None
    return (value.strip() or None) if isinstance(value, str) else None
