"""Generate (or Ctrl/Cmd+Enter), Cancel and the cost line; one click runs one edit."""

from __future__ import annotations

from typing import Any

import gradio as gr

from core import errors
from core.settings import Price, Settings
from ui import gallery
from ui.alerts import fail
from ui.runs import run_edit
from ui.strings import I18N, language_of, status
from ui.tabs.studio.view import RunButtons, StudioView
from ui.wiring import PRIVATE, Page


def render(settings: Settings) -> RunButtons:
    with gr.Row(elem_classes="button-row"):
        generate = gr.Button(I18N("generate"), variant="primary", elem_id="generate", scale=3)
        cancel = gr.Button(I18N("cancel"), variant="stop", elem_id="cancel", scale=1)
    cost = gr.Markdown(cost_line(1, settings.price_per_image, "en"), elem_id="cost")
    return RunButtons(generate, cancel, cost)


def cost_line(n: float, price: Price | None, lang: str) -> str:
    """How many images this run bills (and roughly what that costs, when a price is configured)."""
    count = int(n or 1)
    if price is None:
        return status("cost", lang, count=count)
    return status("cost_price", lang, count=count, amount=price.amount * count, currency=price.currency)


def listen(view: StudioView, page: Page) -> None:
    """Generate runs the form's edit and fills the gallery as results land; an example runs once loaded."""
    form, results, controls = view.form, view.results, view.controls
    studio, owner_state, key_state = page.studio, page.owner_state, page.key_state

    def generate(values: dict[Any, Any], request: gr.Request, progress: gr.Progress = gr.Progress()):  # noqa: B008 - Gradio's documented way to get a progress bar
        who = page.visitor(values[owner_state], values[key_state], request)
        edit = form.read(values).edit_form()
        if who.verified:  # a reload meanwhile finds this run's edit by it (ui/tabs/studio/draft.py)
            studio.drafts.mark_running(who.owner)
        try:
            for entries, record, line in run_edit(studio, edit, who, values[results.state] or [], progress):
                if entries is None:  # still waiting: only the status line changes
                    yield gr.skip(), gr.skip(), line, gr.skip(), gr.skip()
                    continue
                seed = gr.update(value=record["seed"]) if record else gr.update()
                yield gallery.items(entries), entries, line, seed, record
        except errors.EditError as error:  # the reason stays on the page after its message box has gone
            alert = fail(error, who.lang)
            yield gr.skip(), gr.skip(), f"⚠ {alert.message}", gr.skip(), gr.skip()
            raise alert from None

    inputs = form.inputs | {owner_state, key_state, results.state}
    outputs = [results.gallery, results.state, results.status, controls.seed, results.details]
    # Progress (and a failure's overlay) on the gallery only: the status line and details stay readable.
    options: dict[str, Any] = {"concurrency_id": "edit", "show_progress_on": results.gallery, **PRIVATE}
    run_event = view.run.generate.click(generate, inputs, outputs, **options)
    # An example fills Images 1 to 3: images left under "More images" would join it unseen.
    extras = list(view.inputs.extra_slots)
    example_event = results.examples.load_input_event.then(
        lambda: [None] * len(extras), None, extras, queue=False, **PRIVATE
    ).then(generate, inputs, outputs, **options)

    def on_cancel(request: gr.Request) -> str:
        return status("cancelled", language_of(request))

    view.run.cancel.click(on_cancel, None, results.status, cancels=[run_event, example_event], queue=False, **PRIVATE)

    def on_count(count: float, request: gr.Request) -> str:
        return cost_line(count, studio.settings.price_per_image, language_of(request))

    controls.n.change(on_count, controls.n, view.run.cost, queue=False, **PRIVATE)
