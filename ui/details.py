"""An edit's or a result's "Details": a readable summary in the visitor's language, the raw record one click
away under "Raw record".

The summary reads any of the records the page shows: a result's entry (`ui.gallery`), a finished run's
record (`EditResult.record`) and a history row (`EditRow.parameters`, with its files).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gradio as gr

from core import catalog
from core.history import EditRow
from core.studio import Studio
from ui.strings import I18N, STATUS, language_of, status
from ui.wiring import PRIVATE

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def render(elem_id: str) -> gr.JSON:
    """The summary, then the raw record in a closed "Raw record" accordion; returns the record's gr.JSON
    (elem_id `elem_id`) for the caller to fill: the summary (`<elem_id>-summary`) follows it."""
    summary = gr.Markdown(I18N("details_none"), container=True, elem_id=f"{elem_id}-summary", elem_classes="details")
    with gr.Accordion(I18N("details_raw"), open=False, elem_id=f"{elem_id}-raw"):
        raw = gr.JSON(show_label=False, elem_id=elem_id)

    def summarise(record: Mapping[str, Any] | None, request: gr.Request) -> str:
        return summary_of(record, language_of(request))

    raw.change(summarise, raw, summary, queue=False, **PRIVATE)
    return raw


def edit_record(studio: Studio, edit: EditRow) -> dict[str, Any]:
    """What Details shows of an edit of History: its parameters and outcome, and the names of its saved files."""
    return {**edit.parameters(), "files": [Path(path).name for path in studio.output_paths(edit)]}


def status_word(edit_status: str, lang: str) -> str:
    """An edit's status (saved, failed, cancelled, waiting, …) in `lang`; an unknown one as it is."""
    key = f"edit_status_{edit_status}"
    return status(key, lang) if key in STATUS["en"] else edit_status


def summary_of(record: Mapping[str, Any] | None, lang: str) -> str:
    """The record as Markdown lines a person reads: what was asked, what came out, when, and its ids."""
    if not record or "prompt" not in record:
        return status("details_none", lang)
    lines = [status("details_prompt", lang, text=_escape(record["prompt"]))]
    sent = record.get("prompt_as_sent")
    if sent and sent != record["prompt"]:
        lines.append(status("details_sent", lang, text=_escape(sent)))
    if record.get("negative_prompt"):
        lines.append(status("details_negative", lang, text=_escape(record["negative_prompt"])))
    lines.append(status("details_model", lang, label=_label(record["model"], lang), id=record["model"]))
    if record.get("status"):
        lines.append(status("details_status", lang, status=status_word(record["status"], lang)))
    if record.get("error"):
        lines.append(status("details_error", lang, text=_escape(record["error"])))
    lines += _settings_lines(record, lang)
    if record.get("created"):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["created"]))
        lines.append(status("details_when", lang, when=when))
    if record.get("seconds"):
        lines.append(status("details_seconds", lang, seconds=record["seconds"]))
    edit_id = record.get("edit_id") or record.get("id") or "—"
    lines.append(status("details_ids", lang, request_id=record.get("request_id") or "—", edit_id=edit_id))
    files = _files(record)
    if files:
        lines.append(status("details_files", lang, files=", ".join(f"`{name}`" for name in files)))
    if record.get("simulated"):
        lines.append(status("details_simulated", lang))
    return "  \n".join(lines)


def _settings_lines(record: Mapping[str, Any], lang: str) -> list[str]:
    asked = str(record.get("size") or "auto")
    asked = status("details_size_auto", lang) if asked == "auto" else asked.replace("*", " x ")
    usage = record.get("usage") or {}
    width, height = record.get("width") or usage.get("width"), record.get("height") or usage.get("height")
    made = f"{width} x {height}" if width and height else "—"
    random = status("details_random", lang) if record.get("seed_was_random") else ""
    lines = [
        status("details_size", lang, made=made, asked=asked),
        status("details_seed", lang, seed=record.get("seed"), random=random, n=record.get("n")),
        status(
            "details_switches",
            lang,
            extend=_switch(record.get("prompt_extend"), lang),
            watermark=_switch(record.get("watermark"), lang),
        ),
    ]
    if record.get("exact_size"):
        lines.append(status("details_exact", lang, size=str(record["exact_size"]).replace("*", " x ")))
    return lines


def _files(record: Mapping[str, Any]) -> list[str]:
    """File names only (a record's paths say where the server keeps them), their content hash shortened:
    the raw record has them whole."""
    names = [record.get("file"), record.get("exact_size_file"), *(record.get("files") or [])]
    paths = [Path(str(name)) for name in names if name]
    return [f"{path.stem[:12]}…{path.suffix}" if len(path.stem) > 16 else path.name for path in paths]


def _label(model_id: str, lang: str) -> str:
    return catalog.get_model(model_id).text(lang)[0] if model_id in catalog.model_ids() else model_id


def _switch(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    return status("details_on" if value else "details_off", lang)


def _escape(text: str) -> str:
    """Text from a visitor (a prompt) shown as written, not as Markdown."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))
