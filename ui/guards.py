"""HTTP guards in front of Gradio's own routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

_FILE_ROUTES = ("/gradio_api/file=", "/file=")
REMOTE_FILE_REFUSED = b"This server fetches no web addresses on anyone's behalf: only its own files are served here."


class RefuseRemoteFiles:
    """Gradio's file route fetches any public web address it is given (`/gradio_api/file=https://...`), for
    anyone who asks. This server fetches nothing but DashScope's results, so such requests end here with
    403 before Gradio sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _names_remote_file(scope):
            await _refuse(send)
            return
        await self.app(scope, receive, send)


def _names_remote_file(scope: Scope) -> bool:
    path = unquote(scope.get("path", ""))
    for prefix in _FILE_ROUTES:
        index = path.find(prefix)
        if index != -1 and index + len(prefix) <= len(path):
            target = unquote(path[index + len(prefix) :]).strip().lower()
            return target.startswith(("http:", "https:", "//", "\\\\")) or "://" in target
    return False


async def _refuse(send: Send) -> None:
    headers: list[tuple[bytes, Any]] = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": REMOTE_FILE_REFUSED})
