"""Generate (or Ctrl/Cmd+Enter), Cancel and the cost line; one click runs one edit.

Generate is disabled and reads "Running…" from the click until its run ends (in the browser: a click
guard in ui/theme.py's HEAD_JS covers the moment before the page applies that), and the server refuses a
second run of a tab while one is in flight. Cancel stops the run first and says what that did, then ends
the page's event."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from core import errors
from core.settings import Price, Settings
from ui import gallery
from ui.alerts import fail
from ui.runs import run_edit
from ui.strings import EN, I18N, ZH, language_of, status
from ui.tabs.studio.view import RunButtons, StudioView
from ui.wiring import PRIVATE, Page


def _label_js(key: str, interactive: bool) -> str:
    """A browser-side update of Generate: label `key` in the browser's language (as gr.I18n picks it)."""
    labels = {"zh": ZH[key], "en": EN[key]}
    return f"""() => ({{
        __type__: "update",
        interactive: {json.dumps(interactive)},
        value: {json.dumps(labels)}[navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en"],
    }})"""


LOCK_JS = _label_js("running", False)
UNLOCK_JS = _label_js("generate", True)


def render(settings: Settings) -> RunButtons:
    with gr.Row(elem_classes="button-row"):
        generate = gr.Button(I18N("generate"), variant="primary", elem_id="generate", scale=3)
        cancel = gr.Button(I18N("cancel"), variant="stop", elem_id="cancel", scale=1)
    cost = gr.Markdown(cost_line(1, settings.price_per_image, "en"), elem_id="cost")
    return RunButtons(generate, cancel, cost, gr.State(0))


def cost_line(n: float, price: Price | None, lang: str) -> str:
    """How many images this run bills (and roughly what that costs, when a price is configured)."""
    count = int(n or 1)
    if price is None:
        return status("cost", lang, count=count)
    return status("cost_price", lang, count=count, amount=price.amount * count, currency=price.currency)


def listen(view: StudioView, page: Page) -> None:
    """Generate runs the form's edit and fills the gallery as results land."""
    form, results, controls, buttons = view.form, view.results, view.controls, view.run
    studio, owner_state, key_state, runs = page.studio, page.owner_state, page.key_state, page.runs

    def generate(values: dict[Any, Any], request: gr.Request, progress: gr.Progress = gr.Progress()):  # noqa: B008 - Gradio's documented way to get a progress bar
        who = page.visitor(values[owner_state], values[key_state], request)
        lang, tab = who.lang, page.tab(who, request)
        count = values[buttons.count]
        try:  # a second run while one is in flight: told in a message box, the first run's line stays
            run = runs.start(tab, (count if isinstance(count, int) else 0) + 1)
        except errors.RunInFlightError as error:
            raise fail(error, lang) from None
        if who.verified:  # a reload meanwhile finds this run's edit by it (ui/tabs/studio/draft.py)
            studio.drafts.mark_running(who.owner)
        try:
            yield gr.skip(), gr.skip(), run.line(status("preparing", lang), lang), gr.skip(), gr.skip(), run.number
            edit = form.read(values).edit_form()
            earlier = values[results.state] or []
            for entries, record, line in run_edit(studio, edit, who, earlier, progress, run):
                if entries is None:  # still waiting: only the status line changes
                    yield gr.skip(), gr.skip(), run.line(line, lang), gr.skip(), gr.skip(), gr.skip()
                    continue
                seed = gr.update(value=record["seed"]) if record else gr.update()
                yield gallery.items(entries, lang), entries, run.line(line, lang), seed, record, gr.skip()
            if run.stopped:
                yield gr.skip(), gr.skip(), run.stopped_line(lang), gr.skip(), gr.skip(), gr.skip()
        except errors.EditError as error:  # the reason stays on the page after its message box has gone
            if run.stopped:  # the edit ended as Cancel said it would: no failure to tell
                yield gr.skip(), gr.skip(), run.stopped_line(lang), gr.skip(), gr.skip(), gr.skip()
                return
            alert = fail(error, lang)
            yield gr.skip(), gr.skip(), run.failed_line(alert.message, lang), gr.skip(), gr.skip(), gr.skip()
            raise alert from None
        finally:
            runs.end(tab, run)

    inputs = form.inputs | {owner_state, key_state, results.state, buttons.count}
    outputs = [results.gallery, results.state, results.status, controls.seed, results.details, buttons.count]
    # Progress (and a failure's overlay) on the gallery only: the status line and details stay readable.
    options: dict[str, Any] = {"concurrency_id": "edit", "show_progress_on": results.gallery, **PRIVATE}
    frontend: dict[str, Any] = {"queue": False, "show_progress": "hidden", **PRIVATE}

    def lock(trigger: Any) -> Any:
        """Generate disabled and reading "Running…" at once, before the run is sent to the server."""
        return trigger(None, None, buttons.generate, js=LOCK_JS, **frontend)

    def unlock(event: Any) -> None:
        """Generate back when the run has ended: done, stopped, or failed (`then` does not follow failures)."""
        event.then(None, None, buttons.generate, js=UNLOCK_JS, **frontend)
        event.failure(None, None, buttons.generate, js=UNLOCK_JS, **frontend)

    lock(buttons.generate.click)
    run_event = buttons.generate.click(generate, inputs, outputs, **options)
    unlock(run_event)

    def on_cancel(owner: Any, request: gr.Request) -> str:
        who = page.visitor(owner, None, request)
        run = runs.stop(page.tab(who, request))
        return run.stopped_line(who.lang) if run is not None else status("nothing_running", who.lang)

    # The run is stopped (and told) first; only then does the page stop listening to it.
    stopping = buttons.cancel.click(on_cancel, owner_state, results.status, queue=False, **PRIVATE)
    stopping.then(None, None, None, cancels=[run_event], queue=False, **PRIVATE)

    def on_count(count: float, request: gr.Request) -> str:
        return cost_line(count, studio.settings.price_per_image, language_of(request))

    controls.n.change(on_count, controls.n, buttons.cost, queue=False, **PRIVATE)
