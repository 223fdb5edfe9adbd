"""The `/edit` endpoint for scripts (gradio_client) and agents (MCP): hidden components, one public event."""

from __future__ import annotations

from typing import Any

import gradio as gr

from core import catalog, errors
from core.studio import Studio
from ui.alerts import plain
from ui.forms import EditForm
from ui.runs import run_edit
from ui.slots import InputFiles, InputSlot, RawNumber
from ui.visitors import Visitors

_MASK = (
    "a region edit: an image of Image 1's shape, white (or opaque) where Image 1 may change; only the mask's box "
    "is sent (at the model's full resolution) and each result is pasted back, so the images returned are "
    "composites at Image 1's full size, identical to it outside the mask and its feather band; the record lists "
    "the raw model outputs under `raw_files`."
)


def register(studio: Studio, visitors: Visitors) -> None:
    """Publish `/edit`; its components are invisible on the page."""
    settings = studio.settings
    with gr.Column(visible=False):
        images = [InputSlot(type="filepath", image_mode=None, label=f"image_{k}") for k in (1, 2, 3)]
        controls = [
            gr.Textbox(label="prompt"),
            gr.Textbox("", label="negative_prompt"),
            gr.Textbox(catalog.DEFAULT_MODEL, label="model"),
            gr.Textbox("auto", label="size"),
            RawNumber(1, label="n", precision=0),
            RawNumber(-1, label="seed", precision=0),
            gr.Checkbox(True, label="prompt_extend"),
            gr.Checkbox(False, label="watermark"),
            gr.Textbox("", label="api_key"),
            # Appended after api_key, as every new input is: callers pass them by name.
            InputFiles(file_count="multiple", type="filepath", label="extra_images"),
            InputSlot(type="filepath", image_mode=None, label="mask"),
            gr.Checkbox(False, label="align"),
        ]
        outputs = [gr.Gallery(format="png", label="images"), gr.JSON(label="record")]
        trigger = gr.Button()

    def edit(
        image_1: str | None = None,
        image_2: str | None = None,
        image_3: str | None = None,
        prompt: str = "",
        negative_prompt: str = "",
        model: str = catalog.DEFAULT_MODEL,
        size: str = "auto",
        n: int = 1,
        seed: int = -1,
        prompt_extend: bool = True,
        watermark: bool = False,
        api_key: str = "",
        extra_images: list[str] | None = None,
        mask: str | None = None,
        align: bool = False,
        request: gr.Request = None,  # type: ignore[assignment]
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Edit images with a Qwen image model, or make one from the prompt alone; results are saved PNGs.

        Args:
            image_1: the first input image (required, but for models that start from the prompt alone).
            image_2: an optional second input image.
            image_3: an optional third input image.
            prompt: what to change, e.g. "Image 1 wears the dress of Image 3" (Image k: image_k; {prompt_limits} chars).
            negative_prompt: what to avoid (max 500 chars; refused by models without one).
            model: one of {model_images}.
            size: "auto" (about 1024*1024, aspect of the last image) or "W*H" in the model's bounds.
            n: number of images, 1 to the model's maximum ({max_n}).
            seed: 0 to 2147483647, or -1 for a random seed (the seed used is in the record).
            prompt_extend: let the service rewrite the prompt (ignored by models without rewriting).
            watermark: add the "Qwen-Image" mark.
            api_key: your own DashScope key for this call only (never stored); required when the host asks.
            extra_images: Image 4 onwards, in order, for models that take more than three (refused by the others).
            mask: {mask}
            align: without a mask, undo the model's shift and zoom against Image 1 in each result.
        """
        form = EditForm(
            images=(image_1, image_2, image_3, *(extra_images or ())),
            prompt=prompt,
            negative_prompt=negative_prompt,
            model=model,
            region=settings.region,
            size=size,
            n=n,
            seed=seed,
            prompt_extend=prompt_extend,
            watermark=watermark,
            mask=mask,
            align=bool(align) and mask is None,
        )
        who = visitors.api(api_key, request)
        final: tuple[list[str], dict[str, Any] | None] = ([], None)
        try:
            for entries, record, _line in run_edit(studio, form, who, [], _no_progress):
                if entries is not None:
                    final = ([e["path"] for e in entries], record)
        except errors.EditError as error:
            raise plain(error, who.lang) from None
        return final

    prompt_limits = sorted({m.prompt_max for m in catalog.MODELS})
    doc = (edit.__doc__ or "").replace("{model_images}", _model_images())  # the catalog's, as it is
    doc = doc.replace("{prompt_limits}", f"at most {prompt_limits[0]} to {prompt_limits[-1]}, by model")
    doc = doc.replace("{mask}", _MASK)  # one line: MCP clients see an argument's first docstring line only
    edit.__doc__ = doc.replace("{max_n}", f"1 to {max(m.max_n for m in catalog.MODELS)}")
    trigger.click(edit, images + controls, outputs, api_name="edit", concurrency_id="edit")


def _model_images() -> str:
    """Each model id with the number of input images it takes ("qwen-image-2.0 (0-3 images)")."""
    return ", ".join(f"{m.id} ({m.min_images}-{m.max_images} images)" for m in catalog.MODELS)


def _no_progress(*_args: Any, **_kwargs: Any) -> None:
    """API calls have no progress bar."""
