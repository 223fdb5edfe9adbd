"""Calling any event of a running Gradio app the way an attacker can: straight through its queue, by
fn_index, with whatever values we like for every input (browser states included)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx


def config(url: str) -> dict[str, Any]:
    """The app's /config: its components and dependencies."""
    return httpx.get(url.rstrip("/") + "/config", timeout=10).json()


def fn_index(url: str, elem_id: str, event: str = "click", nth: int = 0) -> int:
    """The fn_index of the `nth` handler of `event` on the component with `elem_id`."""
    conf = config(url)
    (component,) = [c["id"] for c in conf["components"] if c.get("props", {}).get("elem_id") == elem_id]
    found = [
        index
        for index, dependency in enumerate(conf["dependencies"])
        if [component, event] in [list(target) for target in dependency["targets"]] and dependency.get("backend_fn")
    ]
    return found[nth]


def inputs_of(url: str, index: int) -> list[dict[str, Any]]:
    """The input components (their config) of dependency `index`, in order."""
    conf = config(url)
    by_id = {c["id"]: c for c in conf["components"]}
    return [by_id[i] for i in conf["dependencies"][index]["inputs"]]


def call(
    url: str,
    index: int,
    data: list[Any],
    *,
    session: str | None = None,
    headers: dict[str, str] | None = None,
    notices: list[str] | None = None,
) -> dict[str, Any]:
    """Join the queue for dependency `index` with `data` (in `session`, for events that read what an
    earlier one left in the session's state) and read its stream to the end; returns the final message
    ({"success": True, "output": {"data": [...]}} or {"success": False, "output": {"error": ...}}). The texts
    of gr.Info and gr.Warning notices on the way are appended to `notices`, when given."""
    base = url.rstrip("/") + "/gradio_api"
    session = session or secrets.token_hex(8)
    body = {"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}
    with httpx.Client(timeout=60, headers=headers) as http:
        joined = http.post(f"{base}/queue/join", json=body)
        joined.raise_for_status()
        with http.stream("GET", f"{base}/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "log" and notices is not None:
                    notices.append(message.get("log") or "")
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the queue stream ended without a result")


def upload(url: str, path: str) -> dict[str, Any]:
    """Upload a file as the page does; returns the FileData value an image input takes."""
    with open(path, "rb") as handle:
        response = httpx.post(url.rstrip("/") + "/gradio_api/upload", files={"files": (path, handle)}, timeout=30)
    response.raise_for_status()
    return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}}


def page_values(url: str, index: int, by_elem_id: dict[str, Any], by_storage_key: dict[str, Any]) -> list[Any]:
    """Input values for dependency `index`: each component's own default, except those named by elem_id, and
    browser states by their storage key (what a client controls); server-side states are sent as None."""
    values = []
    for component in inputs_of(url, index):
        props = component.get("props", {})
        if component.get("type") == "browserstate" or "storage_key" in props:
            values.append(by_storage_key.get(props.get("storage_key")))
        elif component.get("type") == "state":
            values.append(None)
        else:
            values.append(by_elem_id.get(props.get("elem_id"), props.get("value")))
    return values
