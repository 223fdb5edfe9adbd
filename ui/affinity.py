"""Which replica a browser talks to behind a load balancer: each response names this replica in a cookie, and
nginx (`deploy/`) sends the browser's next requests to the replica it names. Gradio's queue needs it: an
event is joined with one request and streamed with another, and both must reach the replica that runs it.

The cookie only picks a replica. It names no owner and grants nothing: identity is the owner token, which
every replica verifies alike (`core.identity`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "qwen_edit_replica"


class ReplicaCookie:
    """Set `qwen_edit_replica=<name>` on every HTTP response whose request did not already carry it (a new
    browser, or one whose replica went away and whose requests nginx sent here instead)."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name
        self._header = f"{COOKIE}={name}; Path=/; HttpOnly; SameSite=Lax".encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _cookie(scope) == self.name:
            await self.app(scope, receive, send)
            return

        async def naming(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", self._header)]}
            await send(message)

        await self.app(scope, receive, naming)


def _cookie(scope: Scope) -> str | None:
    """The replica the request's cookie names, if any (a malformed header names none)."""
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                name, _, named = pair.strip().partition("=")
                if name == COOKIE:
                    return named.strip().strip('"')
    return None
