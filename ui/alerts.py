"""Core errors shown to a person: a message box in their language, or plain text for API and MCP callers."""

from __future__ import annotations

import html

import gradio as gr

from core import errors


def fail(error: errors.EditError, lang: str) -> gr.Error:
    """A core error as a message box in the visitor's language (escaped: it may quote the service)."""
    return gr.Error(html.escape(error.message(lang)))


def plain(error: errors.EditError, lang: str) -> gr.Error:
    """A core error for API and MCP callers: the sentence as it is, no HTML entities in it."""
    return gr.Error(error.message(lang))
