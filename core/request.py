"""EditRequest: one validated, immutable edit, the single request type of every entry point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from core import catalog, errors
from core.images import ImageSource, PreparedImage, prepare_image
from core.parameters import EditParameters
from core.references import normalise_references


@dataclass(frozen=True)
class EditRequest:
    """Images (the model's min_images to max_images, in slot order; none for text-to-image) plus validated
    parameters: ready to send."""

    images: tuple[PreparedImage, ...]
    params: EditParameters

    @classmethod
    def create(cls, images: Sequence[ImageSource | None], prompt: str, **params: Any) -> EditRequest:
        """Validate parameters first (cheap), then prepare each given image; None entries are empty slots.

        Empty slots are skipped and order kept; each image keeps its slot number, for messages. References in
        the prompt name slots ("Image 3" is slot 3's image) and are renumbered to the place each image is sent
        at; one to an empty slot is refused (`core.references`). How many images the model takes is checked
        before any is decoded (`check_image_count`).
        """
        parameters = EditParameters.create(prompt, **params)
        given = [(slot, source) for slot, source in enumerate(images, start=1) if source is not None]
        slots = [slot for slot, _source in given]
        check_image_count(parameters.model, slots)
        parameters = replace(parameters, prompt=normalise_references(parameters.prompt, slots, parameters.model))
        prepared = tuple(prepare_image(source, slot) for slot, source in given)
        return cls(images=prepared, params=parameters)

    @property
    def model(self) -> catalog.Model:
        """The catalog entry of the requested model."""
        return catalog.get_model(self.params.model)


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
