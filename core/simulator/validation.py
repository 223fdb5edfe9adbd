"""Reading a generation request the way the service does: every refusal with its status, code and message."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import astuple, dataclass
from typing import Any

from PIL import Image

from core.catalog import INPUT_MAX_BYTES, INPUT_SIDE_MAX, INPUT_SIDE_MIN, MODELS, SEED_MAX, Model
from core.simulator.protocol import ErrorAnswer, Refused, invalid
from core.sizes import default_size, size_for_aspect

# Pillow's names for the formats the service takes; MPO is how Pillow opens many camera JPEGs.
ACCEPTED_FORMATS = {
    "JPEG": "JPG",
    "MPO": "JPG",
    "PNG": "PNG",
    "BMP": "BMP",
    "TIFF": "TIFF",
    "WEBP": "WEBP",
    "GIF": "GIF",
}
N_MAX = max(model.max_n for model in MODELS)
SIZE_PATTERN = re.compile(r"(\d+)\*(\d+)")
DATA_URI_PATTERN = re.compile(r"data:([^,;]*)((?:;[^,;]*)*),", re.IGNORECASE)

# Resolves an http(s) image URL to its bytes, or says why it cannot be read.
UrlResolver = Callable[[str], bytes | str]


@dataclass(frozen=True)
class Generation:
    """A request that passed every check: what the model is to make."""

    model: Model
    images: tuple[Image.Image, ...]  # decoded, RGB, in request order
    prompt: str  # already truncated to the model's prompt limit
    count: int  # images to return
    size: tuple[int, int]
    seed: int | None
    inputs_digest: str = ""  # SHA-256 over the images' bytes as sent: equal digests, equal inputs


def load(body: bytes) -> dict[str, Any] | None:
    """The JSON object in `body`, or None when the body is not one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def summarize(payload: dict[str, Any] | None, authorization: str | None) -> dict[str, Any]:
    """What a test wants to know about a request, read leniently (the request may be malformed)."""
    payload = payload or {}
    content = _first_content(payload)
    texts = [item["text"] for item in content if isinstance(item, dict) and "text" in item]
    return {
        "model": payload.get("model"),
        "parameters": payload.get("parameters"),
        "image_count": sum(1 for item in content if isinstance(item, dict) and "image" in item),
        # Each image item's sha256 (of its text, e.g. the data URI), in the order sent.
        "image_digests": [
            hashlib.sha256(str(item["image"]).encode()).hexdigest()
            for item in content
            if isinstance(item, dict) and "image" in item
        ],
        "text": texts[0] if texts else None,
        "authorization": authorization,
    }


def parse_generation(payload: dict[str, Any] | None, resolve_url: UrlResolver) -> Generation:
    """The checked request from the body's JSON `payload` (None if it had none), or Refused."""
    if payload is None:
        raise invalid("The request body is not a JSON object.")
    model = _model(payload.get("model"))
    image_values, prompt = _content(model, payload.get("input"))
    parameters = payload.get("parameters", {})
    if not isinstance(parameters, dict):
        raise invalid("parameters must be a JSON object.")
    count, size, seed = _parameters(model, parameters)
    digest = hashlib.sha256()
    decoded = []
    for slot, value in enumerate(image_values, start=1):
        data = _image_bytes(slot, value, resolve_url)
        digest.update(len(data).to_bytes(8, "big") + data)
        decoded.append(_decode(slot, data))
    images = tuple(decoded)
    return Generation(
        model=model,
        images=images,
        prompt=prompt[: model.prompt_max],
        count=count,
        size=size or _default_size(model, images),
        seed=seed,
        inputs_digest=digest.hexdigest(),
    )


def _default_size(model: Model, images: tuple[Image.Image, ...]) -> tuple[int, int]:
    """The size with none asked for: the catalog's rule, or where the model picks it, the simulator's pick
    (about 1024*1024 at the last input's aspect, square without inputs)."""
    rule = default_size(model, [image.size for image in images])
    if rule is None:
        rule = size_for_aspect(*(images[-1].size if images else (1, 1)), model.size)
    return astuple(rule)


def _first_content(payload: dict[str, Any]) -> list[Any]:
    input_ = payload.get("input")
    messages = input_.get("messages") if isinstance(input_, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        content = messages[0].get("content")
        return content if isinstance(content, list) else []
    return []


def _model(name: object) -> Model:
    if not isinstance(name, str) or not name:
        raise invalid("Field required: model.")
    for model in MODELS:
        if model.id == name:
            return model
    raise Refused(ErrorAnswer(404, "Model.NotExist", f"Model not exist: {name!r}."))


def _content(model: Model, input_: object) -> tuple[list[object], str]:
    """The image values and the prompt of the single user message, in the order the service demands."""
    messages = input_.get("messages") if isinstance(input_, dict) else None
    if not isinstance(messages, list):
        raise invalid("Field required: input.messages (a list with one user message).")
    if len(messages) != 1:
        raise invalid(f"input.messages must hold exactly one user message (single turn); got {len(messages)}.")
    message = messages[0]
    if not isinstance(message, dict) or message.get("role") != "user":
        role = message.get("role") if isinstance(message, dict) else None
        raise invalid(f"The message must have role 'user', not {role!r}.")
    content = message.get("content")
    if not isinstance(content, list) or not content:
        raise invalid(
            f"The message content must be a list: {model.min_images} to {model.max_images} "
            '{"image": ...} items, then one {"text": ...}.'
        )
    images: list[object] = []
    texts: list[object] = []
    for position, item in enumerate(content, start=1):
        if isinstance(item, dict) and set(item) == {"image"}:
            if texts:
                raise invalid("The text item must come after all the image items.")
            images.append(item["image"])
        elif isinstance(item, dict) and set(item) == {"text"}:
            texts.append(item["text"])
        else:
            raise invalid(f'Content item {position} must be {{"image": ...}} or {{"text": ...}}.')
    if len(images) < model.min_images:
        wanted = "one image is" if model.min_images == 1 else f"{model.min_images} images are"
        raise invalid(f"At least {wanted} required by {model.id} (up to {model.max_images}); got {len(images)}.")
    if len(images) > model.max_images:
        raise invalid(f"At most {model.max_images} images are accepted by {model.id}; got {len(images)}.")
    if len(texts) != 1:
        raise invalid(f"Exactly one text item (the prompt) is required; got {len(texts)}.")
    prompt = texts[0]
    if not isinstance(prompt, str):
        raise invalid("The text item (the prompt) must be a string.")
    if not prompt.strip():
        raise invalid("The text item (the prompt) is empty.")
    return images, prompt


def _parameters(model: Model, parameters: dict[str, Any]) -> tuple[int, tuple[int, int] | None, int | None]:
    """(images to return, requested size or None, seed or None), after checking every parameter."""
    n = parameters.get("n", 1)
    if not _is_int(n) or not 1 <= n <= N_MAX:
        raise invalid(f"n must be a whole number from 1 to {N_MAX}; got {n!r}.")
    size = _size(model, parameters.get("size"))
    seed = parameters.get("seed")
    if seed is not None and (not _is_int(seed) or not 0 <= seed <= SEED_MAX):
        raise invalid(f"seed must be a whole number from 0 to {SEED_MAX}; got {seed!r}.")
    negative = parameters.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise invalid("negative_prompt must be a string.")
    if negative is not None and negative.strip() and not model.negative_prompt:
        raise invalid(f"{model.id} does not accept negative_prompt.")
    if negative is not None and len(negative) > model.negative_max:
        raise invalid(f"negative_prompt is {len(negative)} characters long; the limit is {model.negative_max}.")
    for flag in ("watermark", "prompt_extend", "enable_thinking"):
        if flag in parameters and not isinstance(parameters[flag], bool):
            raise invalid(f"{flag} must be true or false; got {parameters[flag]!r}.")
    if "enable_thinking" in parameters and not model.thinking:
        raise invalid(f"{model.id} does not accept enable_thinking.")
    # A model limited to one output answers n > 1 with a single image rather than refusing.
    return min(n, model.max_n), size, seed


def _size(model: Model, value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    if not model.custom_size:
        raise invalid(f"{model.id} does not accept size; omit it to follow the last input's aspect ratio.")
    match = SIZE_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise invalid(f"size must be 'width*height', e.g. '1024*1536'; got {value!r}.")
    width, height = int(match[1]), int(match[2])
    if not model.size.allows(width, height):
        raise invalid(f"size {value} is outside what {model.id} takes: {model.size.describe()}.")
    return width, height


def _decode(slot: int, data: bytes) -> Image.Image:
    """Input image number `slot`, decoded to RGB after the service's checks."""
    try:
        image = Image.open(io.BytesIO(data))
    except Exception:  # Pillow raises many types for data that is not an image
        raise invalid(f"Image {slot}: the data is not a readable image.") from None
    if image.format not in ACCEPTED_FORMATS:
        raise invalid(f"Image {slot}: {image.format} is not accepted; use JPG, PNG, BMP, TIFF, WEBP or GIF.")
    width, height = image.size
    if not (INPUT_SIDE_MIN <= width <= INPUT_SIDE_MAX and INPUT_SIDE_MIN <= height <= INPUT_SIDE_MAX):
        raise invalid(
            f"Image {slot} is {width}x{height}; each side must be between {INPUT_SIDE_MIN} and {INPUT_SIDE_MAX} pixels."
        )
    try:
        return image.convert("RGB")  # a GIF opens on its first frame, which is the one used
    except Exception:
        raise invalid(f"Image {slot}: the {ACCEPTED_FORMATS[image.format]} data is truncated or corrupt.") from None


def _image_bytes(slot: int, value: object, resolve_url: UrlResolver) -> bytes:
    if not isinstance(value, str):
        raise invalid(f"Image {slot}: the value must be a string (a data: URI or an http(s) URL).")
    if value[:5].lower() == "data:":
        return _data_uri_bytes(slot, value)
    if value.split(":", 1)[0].lower() in ("http", "https", "oss"):  # oss://: a file the SDK uploaded
        data = resolve_url(value)
        if isinstance(data, str):
            raise invalid(f"Image {slot}: the URL could not be downloaded: {data}.")
        return data
    raise invalid(f"Image {slot}: only data: URIs and http(s) URLs are accepted; got {value[:40]!r}.")


def _data_uri_bytes(slot: int, uri: str) -> bytes:
    if len(uri) > INPUT_MAX_BYTES:
        raise invalid(f"Image {slot}: the data URI is {len(uri)} bytes; the limit is {INPUT_MAX_BYTES} (10 MB).")
    header = DATA_URI_PATTERN.match(uri)
    if not header or ";base64" not in header[2].lower():
        raise invalid(f"Image {slot}: only base64 data URIs are accepted (data:image/png;base64,...).")
    try:
        return base64.b64decode(uri[header.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"Image {slot}: the data URI is not valid base64.") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
