"""What history keeps of an edit: the edit itself, its inputs and its outputs, as frozen rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.parameters import EditParameters


@dataclass(frozen=True)
class InputRow:
    """An input image of an edit, kept in the content store."""

    slot: int
    sha256: str
    ext: str
    width: int
    height: int
    bytes: int
    notes: tuple[str, ...]
    parent: tuple[str, int] | None = None  # (edit id, result index) of the owner's result this input is


@dataclass(frozen=True)
class FileRow:
    """A file an edit keeps besides its inputs and outputs (a region edit's mask), in the content store."""

    role: str
    sha256: str
    ext: str
    bytes: int


@dataclass(frozen=True)
class OutputRow:
    """A result of an edit: pending (link known, file not yet saved), saved, or failed (with the reason)."""

    edit_id: str
    index: int
    url: str
    expires: float
    state: str
    sha256: str | None
    width: int | None
    height: int | None
    bytes: int | None
    reason: str | None
    exact_sha256: str | None = None
    composite_sha256: str | None = None  # a region edit's composite: the raw output pasted into Image 1
    composite: dict[str, Any] | None = None  # how it was lined up and blended
    discarded: float | None = None  # when the visitor discarded it (hidden, evicted first), None while kept

    @property
    def shown_sha256(self) -> str | None:
        """The file people see of this result: the composite, else the exact-size version, else the raw output."""
        return self.composite_sha256 or self.exact_sha256 or self.sha256


@dataclass(frozen=True)
class EditRow:
    """One edit as history keeps it."""

    id: str
    owner: str
    created: float
    model: str
    region: str
    prompt: str
    negative_prompt: str
    size: str
    n: int
    seed: int
    seed_was_random: bool
    prompt_extend: bool
    watermark: bool
    simulated: bool
    base_url: str
    status: str
    request_id: str | None
    usage_width: int | None
    usage_height: int | None
    usage_count: int | None
    error: str | None
    starred: bool
    last_used: float
    exact_size: str | None = None
    runner: str | None = None
    lease_until: float | None = None  # until when `runner` holds the edit (None: nobody works on it)
    call_seconds: float | None = None  # how long DashScope took to answer, retries included
    plan: dict[str, Any] | None = None  # a region edit's plan (`core.regions`), its files' digests included
    rerun_of: str | None = None  # the edit this one re-ran
    inputs: tuple[InputRow, ...] = ()
    outputs: tuple[OutputRow, ...] = ()

    @property
    def params(self) -> EditParameters:
        """The edit's parameters, as the request that made it had them."""
        return EditParameters.from_dict(
            {field: getattr(self, field) for field in ("prompt", "model", "region", "negative_prompt", "size")}
            | {field: getattr(self, field) for field in ("n", "seed", "seed_was_random", "prompt_extend")}
            | {"watermark": self.watermark, "exact_size": self.exact_size}
        )

    def parameters(self) -> dict[str, object]:
        """Every parameter of the edit and how it went, JSON-ready (for export, re-run and "use these
        settings"): the parameters' own dict form plus the edit's id, times and outcome."""
        return {
            "id": self.id,
            "created": self.created,
            **self.params.as_dict(),
            "simulated": self.simulated,
            "status": self.status,
            "request_id": self.request_id,
            "usage": {"width": self.usage_width, "height": self.usage_height, "image_count": self.usage_count},
            "error": self.error,
            "starred": self.starred,
        }


@dataclass(frozen=True)
class LineageEdit:
    """An edit as the versions tree needs it: the result its first linked input was made from (`parent`), and
    its Image 1 (the upload a first edit starts from)."""

    id: str
    created: float
    prompt: str
    rerun_of: str | None
    parent: tuple[str, int] | None
    first_input: tuple[str, str] | None  # (sha256, ext)


@dataclass(frozen=True)
class LineageResult:
    """A saved result as the versions tree needs it: the file people see of it, and whether it was discarded."""

    edit_id: str
    index: int
    shown_sha256: str
    discarded: bool


class NotFoundError(LookupError):
    """No such edit for this owner (whether it does not exist or belongs to someone else)."""
