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
    """Images (1-3, in slot order) plus validated parameters: ready to send."""

    images: tuple[PreparedImage, ...]
    params: EditParameters

    @classmethod
    def create(cls, images: Sequence[ImageSource | None], prompt: str, **params: Any) -> EditRequest:
        """Validate parameters first (cheap), then prepare each given image; None entries are empty slots.

        Empty slots are skipped and order kept: the k-th image given is "Image k" to the model (each keeps
        the slot number the user gave it, for messages). `@k`-style references in the prompt are rewritten,
        and a reference to an image that is not sent is refused.
        """
        parameters = EditParameters.create(prompt, **params)
        given = [(slot, source) for slot, source in enumerate(images, start=1) if source is not None]
        if not given:
            raise errors.NoImageError()
        if len(given) > catalog.MAX_IMAGES:
            raise errors.TooManyImagesError(count=len(given), extra=len(given) - catalog.MAX_IMAGES)
        parameters = replace(parameters, prompt=normalise_references(parameters.prompt, len(given)))
        prepared = tuple(prepare_image(source, slot) for slot, source in given)
        return cls(images=prepared, params=parameters)

    @property
    def model(self) -> catalog.Model:
        """The catalog entry of the requested model."""
        return catalog.get_model(self.params.model)
