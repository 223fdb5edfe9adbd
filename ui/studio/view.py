"""The Studio tab's widgets, grouped as on the page; the other tabs fill some of them."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ui.forms import RECALLED, Binding, StudioForm
from ui.slots import InputSlot
from ui.studio.controls import Controls
from ui.studio.inputs import Inputs
from ui.studio.key import KeyFields
from ui.studio.prompt import PromptFields
from ui.studio.results import Results
from ui.studio.run import RunButtons


@dataclass(frozen=True)
class StudioView:
    """Every group of the tab."""

    inputs: Inputs
    prompt: PromptFields
    run: RunButtons
    controls: Controls
    key: KeyFields
    results: Results

    @property
    def slots(self) -> tuple[InputSlot, ...]:
        return self.inputs.slots

    @property
    def form(self) -> Binding[StudioForm]:
        """Where each StudioForm field lives on the page."""
        controls = self.controls
        return Binding(
            StudioForm,
            {
                "images": self.slots,
                "prompt": self.prompt.prompt,
                "negative_prompt": self.prompt.negative,
                "model": controls.model,
                "region": controls.region,
                "size_mode": controls.size_mode,
                "width": controls.width,
                "height": controls.height,
                "n": controls.n,
                "seed": controls.seed,
                "random_seed": controls.random_seed,
                "prompt_extend": controls.prompt_extend,
                "watermark": controls.watermark,
                "exact": controls.exact,
            },
        )

    @property
    def settings_controls(self) -> list[gr.components.Component]:
        """The controls that "use these settings" fills, in the order of `forms.recall_values`."""
        controls = self.form.controls
        return [controls[name] for name in RECALLED]  # type: ignore[misc]

    @property
    def shown_results(self) -> list[gr.components.Component]:
        """What reopening an edit replaces: the gallery, the results behind it and the status line."""
        return [self.results.gallery, self.results.state, self.results.status]
