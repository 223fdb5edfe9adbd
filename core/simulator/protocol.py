"""The shapes the simulator answers with: DashScope's JSON bodies, OSS's XML errors, and raw replies."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class ErrorAnswer:
    """An HTTP error in DashScope's JSON shape."""

    status: int
    code: str
    message: str


class Refused(Exception):
    """A request the service would refuse, carrying the answer to give."""

    def __init__(self, answer: ErrorAnswer) -> None:
        super().__init__(answer.message)
        self.answer = answer


NO_KEY = ErrorAnswer(401, "InvalidApiKey", "No API-key provided.")
BAD_KEY = ErrorAnswer(401, "InvalidApiKey", "Invalid API-key provided.")


def key_refusal(authorization: str | None, valid_keys: Collection[str] | None) -> ErrorAnswer | None:
    """Why a request's `Authorization` header is refused (no bearer key, or one not in `valid_keys`), or None."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return NO_KEY
    if valid_keys is not None and key.strip() not in valid_keys:
        return BAD_KEY
    return None


def invalid(message: str) -> Refused:
    """The refusal for a bad parameter: 400 InvalidParameter with `message`."""
    return Refused(ErrorAnswer(400, "InvalidParameter", message))


@dataclass(frozen=True)
class Reply:
    """What to send back on one connection.

    `bandwidth` throttles the body (bytes/s); `cut_after` sends only that many body bytes of the
    announced length and then closes; `reset` closes the connection without any answer; `headers` are sent
    besides Content-Type and Content-Length.
    """

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    bandwidth: float | None = None
    cut_after: int | None = None
    reset: bool = False


RESET = Reply(0, reset=True)


def json_reply(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def error_reply(answer: ErrorAnswer, request_id: str) -> Reply:
    """DashScope's failure body: {"request_id", "code", "message"}."""
    return json_reply(answer.status, {"request_id": request_id, "code": answer.code, "message": answer.message})


def success_reply(
    request_id: str, links: list[str], size: tuple[int, int], usage_keys: tuple[str, str, str], inputs: int
) -> Reply:
    """DashScope's success body: the links, and usage under the model's own keys (3.0 says `output_width`
    and counts its inputs; earlier models say `width`)."""
    width, height = size
    width_key, height_key, count_key = usage_keys
    usage: dict[str, int] = {width_key: width, height_key: height, count_key: len(links)}
    if width_key == "width":
        usage |= {"input_tokens": 0, "output_tokens": 0, "characters": 0}
    else:
        usage["input_image_count"] = inputs
    content = [{"image": link} if width_key == "width" else {"type": "image", "image": link} for link in links]
    return json_reply(
        200,
        {
            "request_id": request_id,
            "output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": content}}]},
            "usage": usage,
        },
    )


def oss_error_reply(answer: ErrorAnswer, request_id: str) -> Reply:
    """An error as OSS sends it: XML, not JSON."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{escape(answer.code)}</Code>\n  <Message>{escape(answer.message)}</Message>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n  <HostId>simulator</HostId>\n</Error>\n"
    )
    return Reply(answer.status, body.encode("utf-8"), "application/xml")
