"""One-click Undo for the actions that replace the visitor's setup (an example, Reopen, Re-run, "Use as
Image k", removing an image): the setup as it was just before is kept, and one button puts it back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    last: gr.State  # the last image each slot of `removing` held, by its place in `setup`

    def replacing(
        self,
        trigger: Trigger,
        what: str,
        fn: Callable[..., Any],
        inputs: Any,
        outputs: Any,
        *,
        says: Mapping[str, object] | None = None,
        **options: Any,
    ) -> Any:
        """Wire `trigger` to run `fn` (which replaces some of the setup) after a copy of the setup is kept;
        when `fn` succeeds, the Undo button offers it back, named by `what` (a key `undo_<what>` of the status
        lines, its placeholders filled from `says`). Returns `fn`'s event, for more steps to follow it."""
        kept = trigger(_snapshot, list(self.setup), self.state, queue=False, **PRIVATE)
        done = kept.then(fn, inputs, outputs, **{**PRIVATE, **options})
        done.success(self._offer(what, says), None, self.button, queue=False, **PRIVATE)
        return done

    def removing(self, slot: Component, number: int) -> None:
        """Wire the × of `slot` (Image `number`): the image goes and its slot stays empty; Undo puts it back.
        The slot's clear event already sees it empty, so the copy takes the image it last held: `last`, kept
        on each of its changes (an empty value never overwrites it, whichever of the two events comes first)."""
        place = self.setup.index(slot)

        def remember(path: str | None, last: dict[int, str] | None) -> Any:
            return {**(last or {}), place: path} if path else gr.skip()

        def keep(*values: Any) -> list[Any]:
            *setup, last = values
            setup[place] = (last or {}).get(place)
            return setup

        slot.change(remember, [slot, self.last], self.last, queue=False, **PRIVATE)
        kept = slot.clear(keep, [*self.setup, self.last], self.state, queue=False, **PRIVATE)
        kept.then(self._offer("removed", {"slot": number}), None, self.button, queue=False, **PRIVATE)

    @staticmethod
    def _offer(what: str, says: Mapping[str, object] | None) -> Callable[[gr.Request], Any]:
        def offer(request: gr.Request) -> Any:
            return gr.update(visible=True, value=status(f"undo_{what}", language_of(request), **(says or {})))

        return offer


def render(setup: Sequence[Component]) -> UndoBar:
    """The Undo button, hidden until an action replaces the setup."""
    button = gr.Button(I18N("undo"), size="sm", visible=False, elem_id="undo", elem_classes="undo")
    return UndoBar(tuple(setup), gr.State(None), button, gr.State({}))


def listen(bar: UndoBar) -> None:
    """Undo puts the kept setup back and hides itself; a second click finds nothing to undo."""

    def restore(kept: list[Any] | None) -> list[Any]:
        values = kept if kept is not None else [gr.skip()] * len(bar.setup)
        return [*values, None, gr.update(visible=False)]

    bar.button.click(restore, bar.state, [*bar.setup, bar.state, bar.button], queue=False, **PRIVATE)


def _snapshot(*values: Any) -> list[Any]:
    return list(values)
