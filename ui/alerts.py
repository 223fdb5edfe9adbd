"""Refusals shown to a person: a message box in their language, or plain text for API and MCP callers.

Each is an expected answer, not a fault of the server: Gradio is told not to print its traceback
(`print_exception=False`) and the server log gets one line instead, naming what was refused in English.
Anything else a handler raises is a bug and keeps Gradio's traceback."""

from __future__ import annotations

import html
import logging

import gradio as gr

from core import errors
from ui.strings import status

log = logging.getLogger(__name__)


def fail(error: errors.EditError, lang: str) -> gr.Error:
    """A core error as a message box in the visitor's language (escaped: it may quote the service)."""
    return quiet(html.escape(error.message(lang)), _logged(error), _level(error), lang)


def plain(error: errors.EditError, lang: str) -> gr.Error:
    """A core error for API and MCP callers: the sentence as it is, no HTML entities in it."""
    return quiet(error.message(lang), _logged(error), _level(error))


def refuse(key: str, lang: str) -> gr.Error:
    """The page's own refusal, its status line `key` (e.g. "Select an edit first."), in the visitor's language."""
    return quiet(status(key, lang), f"{key}: {status(key, 'en')}", lang=lang)


def quiet(shown: str, logged: str, level: int = logging.INFO, lang: str = "en") -> gr.Error:
    """A message box showing `shown` (titled in `lang`), logged as the one line `logged` instead of Gradio's
    traceback."""
    log.log(level, "%s", " ".join(logged.split()))
    return gr.Error(shown, title=status("toast_error", lang), print_exception=False)


def warn(text: str, lang: str) -> None:
    """A warning box for the visitor, titled in their language."""
    gr.Warning(text, title=status("toast_warning", lang))


def inform(text: str, lang: str) -> None:
    """A note for the visitor, titled in their language."""
    gr.Info(text, title=status("toast_info", lang))


def _logged(error: errors.EditError) -> str:
    """The error's class and English sentence: core's messages never hold a key."""
    return f"{type(error).__name__}: {error.message('en')}"


def _level(error: errors.EditError) -> int:
    """A refused request is the visitor's to fix (INFO); the service's or the disk's trouble may be the
    operator's (WARNING)."""
    return logging.INFO if isinstance(error, errors.InvalidRequestError) else logging.WARNING
