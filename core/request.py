"""EditRequest: one validated, immutable edit, the single request type of every entry point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from core import catalog, errors
from core.images import ImageSource, PreparedImage, decode_upright, prepare_image
from core.parameters import EditParameters
from core.references import normalise_references
from core.regions.align import AlignPlan
from core.regions.expand import Expansion, ExpansionPlan
from core.regions.mask import read_mask
from core.regions.plan import RegionPlan, RegionSettings

Tool = RegionPlan | ExpansionPlan | AlignPlan


@dataclass(frozen=True)
class Original:
    """Image 1 as it was given (its own bytes, at full resolution): what a region edit pastes into and keeps."""

    data: bytes
    ext: str
    width: int
    height: int


@dataclass(frozen=True)
class EditRequest:
    """Images (the model's min_images to max_images, in slot order; none for text-to-image) plus validated
    parameters: ready to send. A region edit also has its tool (a mask's crop, a canvas expansion, or the
    alignment of whole outputs) and, for the first two, Image 1 as given. A re-run names the edit it repeats."""

    images: tuple[PreparedImage, ...]
    params: EditParameters
    tool: Tool | None = None
    original: Original | None = None
    rerun_of: str | None = None  # history's id of the edit this repeats (its owner's: history checks)

    @classmethod
    def create(
        cls,
        images: Sequence[ImageSource | None],
        prompt: str,
        *,
        mask: ImageSource | None = None,
        align: bool = False,
        keep_unchanged: bool = False,
        expand: Expansion | None = None,
        region_settings: RegionSettings | None = None,
        **params: Any,
    ) -> EditRequest:
        """Validate parameters first (cheap), then prepare each given image; None entries are empty slots.

        Empty slots are skipped and order kept; each image keeps its slot number, for messages. References in
        the prompt name slots ("Image 3" is slot 3's image) and are renumbered to the place each image is sent
        at; one to an empty slot is refused (`core.references`). How many images the model takes is checked
        before any is decoded (`check_image_count`).

        With `mask` (white or opaque = may change), Image 1's box around the mask is sent at a size the model
        takes, and that size asked for; with `expand`, Image 1 on a larger canvas; with `align` (and neither),
        the outputs are aligned to Image 1 (`keep_unchanged`: and Image 1's pixels kept where they hardly
        changed). A mask and an expansion at once are refused.
        """
        parameters = EditParameters.create(prompt, **params)
        given = [(slot, source) for slot, source in enumerate(images, start=1) if source is not None]
        slots = [slot for slot, _source in given]
        check_image_count(parameters.model, slots)
        parameters = replace(parameters, prompt=normalise_references(parameters.prompt, slots, parameters.model))
        expand = expand or None
        if mask is not None and expand is not None:
            raise errors.RegionConflictError()
        wanted = "mask" if mask is not None else "expand" if expand is not None else "align" if align else None
        if wanted is not None and (not slots or slots[0] != 1):
            raise errors.MaskWithoutImageError.for_tool(wanted)
        if wanted in ("mask", "expand"):
            return cls._regional(given, parameters, mask, expand, region_settings or RegionSettings.current())
        prepared = tuple(prepare_image(source, slot) for slot, source in given)
        tool = AlignPlan(prepared[0].data, keep_unchanged) if align else None
        return cls(images=prepared, params=parameters, tool=tool)

    @classmethod
    def _regional(
        cls,
        given: list[tuple[int, ImageSource]],
        parameters: EditParameters,
        mask: ImageSource | None,
        expand: Expansion | None,
        settings: RegionSettings,
    ) -> EditRequest:
        """A mask's or an expansion's request: Image 1 decoded whole, planned, and its crop sent as Image 1."""
        model = catalog.get_model(parameters.model)
        data, fmt, original = decode_upright(given[0][1], 1)
        kept = Original(data, (fmt or "png").lower().replace("jpeg", "jpg").replace("mpo", "jpg"), *original.size)
        if mask is not None:
            tool: RegionPlan | ExpansionPlan = RegionPlan(original, _mask_of(mask, original.size), model, settings)
        else:
            assert expand is not None
            tool = ExpansionPlan(original, expand, model)
        first = prepare_image(tool.crop(), 1)
        note = f"region edit: {tool.describe()['kind']} of Image 1 ({original.width}x{original.height}) sent"
        first = replace(first, notes=(note, *first.notes))
        rest = tuple(prepare_image(source, slot) for slot, source in given[1:])
        size = tool.sent if model.size.settable else None
        parameters = replace(parameters, size=size, exact_size=None)
        return cls(images=(first, *rest), params=parameters, tool=tool, original=kept)

    @property
    def model(self) -> catalog.Model:
        """The catalog entry of the requested model."""
        return catalog.get_model(self.params.model)


def _mask_of(source: ImageSource, size: tuple[int, int]) -> Any:
    """The mask for an Image 1 of `size`, read safely; a file that is no image is MaskUnreadableError."""
    try:
        if isinstance(source, Image.Image):
            return read_mask(source, size)
        image = decode_upright(source, 1).image
    except errors.ImageError as error:
        reason = error.params.get("reason") or error.message("en")
        chinese = error.params.get("reason_zh") or error.message("zh")
        raise errors.MaskUnreadableError(reason=reason, reason_zh=chinese) from None
    with image:
        return read_mask(image, size)


def check_image_count(model_id: str, slots: Sequence[int]) -> None:
    """Refuse images in `slots` (the user's slot numbers of the images given, in order) that `model_id` cannot
    take all of: NoImageError below its minimum, TooManyImagesError (naming the slots that would not be sent:
    those past its maximum, as the page numbers them) above its maximum. Nothing is ever dropped to make them
    fit."""
    spec = catalog.get_model(model_id)
    if len(slots) < spec.min_images:
        prompt_only = [m.id for m in catalog.MODELS if m.min_images == 0]
        raise errors.NoImageError.for_model(spec.id, spec.min_images, spec.max_images, prompt_only)
    if any(slot > spec.max_images for slot in slots):  # more images than it takes are always some of these
        takes_more = [(m.id, m.max_images) for m in catalog.MODELS if m.max_images >= max(slots)]
        raise errors.TooManyImagesError.for_model(spec.id, spec.max_images, list(slots), takes_more)
