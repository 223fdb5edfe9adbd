"""Core errors shown to a person: a message box in their language."""

from __future__ import annotations

import html

import gradio as gr

from core import errors


def fail(error: errors.EditError, lang: str) -> gr.Error:
    """A core error as a message box in the visitor's language (escaped: it may quote the service)."""
    return gr.Error(html.escape(error.message(lang)))
