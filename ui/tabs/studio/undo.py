"""One-click Undo for the actions that replace the visitor's setup (an example, Reopen, Re-run, "Use as
Image k", removing an image): the setup as it was just before is kept, and one button puts it back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components import Component

from ui.strings import I18N, language_of, status
from ui.wiring import PRIVATE

Trigger = Callable[..., Any]
"""An event listener such as `button.click`."""


@dataclass(frozen=True)
class UndoBar:
    """The setup's controls (slots, prompt and every setting), the copy taken before the last action that
    replaced them, and the button that restores it."""

    setup: tuple[Component, ...]
    state: gr.State  # the setup's values before the last replacing action, or None
    button: gr.Button

    def replacing(
        self, trigger: Trigger, what: str, fn: Callable[..., Any], inputs: Any, outputs: Any, **options: Any
    ) -> Any:
        """Wire `trigger` to run `fn` (which replaces some of the setup) after a copy of the setup is kept;
        when `fn` succeeds, the Undo button offers it back, named by `what` (a key `undo_<what>` of the status
        lines). Returns `fn`'s event, for more steps to follow it."""
        kept = trigger(_snapshot, list(self.setup), self.state, queue=False, **PRIVATE)
        done = kept.then(fn, inputs, outputs, **{**PRIVATE, **options})

        def offer(request: gr.Request) -> Any:
            return gr.update(visible=True, value=status(f"undo_{what}", language_of(request)))

        done.success(offer, None, self.button, queue=False, **PRIVATE)
        return done


def render(setup: Sequence[Component]) -> UndoBar:
    """The Undo button, hidden until an action replaces the setup."""
    button = gr.Button(I18N("undo"), size="sm", visible=False, elem_id="undo", elem_classes="undo")
    return UndoBar(tuple(setup), gr.State(None), button)


def listen(bar: UndoBar) -> None:
    """Undo puts the kept setup back and hides itself; a second click finds nothing to undo."""

    def restore(kept: list[Any] | None) -> list[Any]:
        values = kept if kept is not None else [gr.skip()] * len(bar.setup)
        return [*values, None, gr.update(visible=False)]

    bar.button.click(restore, bar.state, [*bar.setup, bar.state, bar.button], queue=False, **PRIVATE)


def _snapshot(*values: Any) -> list[Any]:
    return list(values)
