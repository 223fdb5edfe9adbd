"""Registration and colour matching of region edits: the model's drift is found and undone, whatever it drew."""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dashscope
import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw, ImageOps

from core.regions.colour import ColourCorrection, match_colour
from core.regions.register import Transform, estimate, warp
from core.simulator import Simulator
from core.simulator.config import Drift
from core.simulator.render import RenderJob, drifted, render_all

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"
SHIFT_PX = 0.5  # the goal for the median; each case here must meet it
ZOOM = 0.002  # 0.2 %


def structured(width: int = 1024, height: int = 1024, seed: int = 3) -> Image.Image:
    """Smooth colour fields with hard-edged shapes and a line of text: structure at every scale."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (height // 64, width // 64, 3), dtype=np.uint8)
    image = Image.fromarray(cells).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.integers(0, width), rng.integers(0, height)
        r = int(rng.integers(10, 120))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r // 2, x + r, y + r // 2), fill=fill)
    draw.text((40, height // 3), "Keep every other pixel", fill=(255, 255, 255), font_size=48)
    return image


def ellipse_mask(size: tuple[int, int]) -> Image.Image:
    """A centred ellipse over about 8 % of the picture: the painted region."""
    width, height = size
    mask = Image.new("L", size)
    ImageDraw.Draw(mask).ellipse((width * 0.35, height * 0.3, width * 0.65, height * 0.62), fill=255)
    return mask


def repainted(image: Image.Image, mask: Image.Image) -> Image.Image:
    """`image` with something else entirely inside `mask`, as the model's edit would put there."""
    return Image.composite(ImageOps.invert(image).rotate(90), image, mask)


def one_megapixel(path: Path) -> Image.Image:
    with Image.open(path) as image:
        k = (1024 * 1024 / (image.width * image.height)) ** 0.5
        size = (round(image.width * k / 16) * 16, round(image.height * k / 16) * 16)
        return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def simulated_output(image: Image.Image, drift: Drift, seed: int = 11) -> np.ndarray:
    """What the simulator answers for `image` with `drift`: drifted, tinted, grained, captioned and marked."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        (png,) = render_all(RenderJob((image,), "turn the ellipse into a pond", seed, image.size, drift=drift), 1, pool)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def assert_recovered(found: Transform, drift: Drift) -> None:
    assert not found.method.startswith("identity"), found
    assert np.hypot(found.dx - drift.dx, found.dy - drift.dy) <= SHIFT_PX, (found, drift)
    assert abs(found.scale - (1 + drift.zoom)) <= ZOOM, (found, drift)
    assert abs(found.rotation - drift.rotation) <= 0.05, (found, drift)


@pytest.mark.parametrize(
    "drift",
    [
        Drift(dx=24, dy=-24, zoom=0.03),
        Drift(dx=-17.3, dy=9.8, zoom=-0.03),
        Drift(dx=0.4, dy=-0.7, zoom=0.0),
        Drift(dx=-6.5, dy=21.25, zoom=0.012, rotation=0.4),
    ],
)
def test_a_known_drift_of_a_structured_image_is_recovered_within_half_a_pixel_and_a_fifth_of_a_percent(
    drift: Drift,
) -> None:
    reference = structured()

    found = estimate(np.asarray(reference), np.asarray(drifted(reference, drift)))

    assert_recovered(found, drift)


@pytest.mark.parametrize("name", ["astronaut.jpg", "cat.jpg", "coffee.jpg", "rocket.jpg", "sign.png"])
def test_the_bundled_photos_edited_inside_a_mask_are_registered_despite_tint_grain_caption_and_mark(
    name: str,
) -> None:
    reference = one_megapixel(EXAMPLES / name)
    mask = ellipse_mask(reference.size)
    drift = Drift(dx=-19.5, dy=13.25, zoom=0.021, gain=(1.1, 0.9, 1.05), offset=(8, -6, 3))

    moving = simulated_output(repainted(reference, mask), drift)
    found = estimate(np.asarray(reference), moving, np.asarray(mask) == 0)

    assert_recovered(found, drift)


def test_undoing_the_transform_lines_the_output_up_with_the_input_outside_the_mask() -> None:
    reference = structured(1184, 880)
    mask = ellipse_mask(reference.size)
    drift = Drift(dx=15.5, dy=-22, zoom=-0.025)
    moving = np.asarray(drifted(repainted(reference, mask), drift))
    outside = np.asarray(mask) == 0
    inner = np.zeros_like(outside)
    inner[40:-40, 40:-40] = True  # away from the edges the drift uncovered

    aligned = warp(moving, estimate(np.asarray(reference), moving, outside))

    before = np.abs(moving.astype(int) - np.asarray(reference))[outside & inner].mean()
    after = np.abs(aligned.astype(int) - np.asarray(reference))[outside & inner].mean()
    assert after < 2.5 < 20 < before
    assert aligned.shape == moving.shape and aligned.dtype == np.uint8


def test_a_large_change_and_text_drawn_over_the_output_do_not_pull_the_estimate() -> None:
    reference = structured(seed=8)
    mask = Image.new("L", reference.size)
    ImageDraw.Draw(mask).rectangle((200, 150, 800, 700), fill=255)  # a third of the picture repainted
    drift = Drift(dx=-9.75, dy=-3.5, zoom=0.017)
    moving = drifted(repainted(reference, mask), drift)
    ImageDraw.Draw(moving).text((20, 900), "A CAPTION THE INPUT NEVER HAD " * 2, fill=(0, 0, 0), font_size=56)

    found = estimate(np.asarray(reference), np.asarray(moving), np.asarray(mask) == 0)

    assert_recovered(found, drift)


def test_a_featureless_picture_falls_back_to_the_identity_and_says_why() -> None:
    flat = np.full((768, 1024, 3), (120, 160, 200), np.uint8)
    rng = np.random.default_rng(1)
    grainy = np.clip(flat + rng.normal(0, 2, flat.shape), 0, 255).astype(np.uint8)

    found = estimate(flat, grainy)

    assert (found.dx, found.dy, found.scale, found.rotation) == (0.0, 0.0, 1.0, 0.0)
    assert found.method.startswith("identity: "), found.method
    assert np.array_equal(warp(grainy, found), grainy)


def test_a_mask_covering_nearly_everything_gives_the_identity() -> None:
    image = np.asarray(structured())
    valid = np.zeros(image.shape[:2], bool)
    valid[:10] = True

    assert estimate(image, image, valid).method.startswith("identity: too little")


def test_images_of_different_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="one size"):
        estimate(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 12, 3), np.uint8))


def test_the_transform_reads_back_as_a_plain_dict() -> None:
    assert Transform.IDENTITY.as_dict() == {
        "dx": 0.0,
        "dy": 0.0,
        "scale": 1.0,
        "rotation": 0.0,
        "method": "identity",
        "residual": 0.0,
    }


# --- colour --------------------------------------------------------------------------------------


def test_a_per_channel_colour_shift_is_undone_from_the_ring_despite_changed_pixels_in_it() -> None:
    reference = np.asarray(structured(512, 512))
    gain, offset = np.array([1.12, 0.9, 1.0]), np.array([-10.0, 14.0, 5.0])
    shifted = np.clip(np.rint(reference * gain + offset), 0, 255).astype(np.uint8)
    ring = np.zeros(reference.shape[:2], bool)
    ring[100:412, 100:140] = ring[100:412, 372:412] = True
    shifted[100:160, 100:140] = (255, 0, 255)  # part of the ring repainted: outliers to ignore

    corrected, correction = match_colour(shifted, reference, ring)

    assert np.allclose(correction.gain, 1 / gain, atol=0.01), correction
    assert np.allclose(correction.offset, -offset / gain, atol=1.0), correction
    kept = np.all((reference > 20) & (reference < 235), axis=2)  # where the shift clipped nothing
    kept[100:160, 100:140] = False
    assert np.abs(corrected.astype(int) - reference)[kept].mean() < 0.6
    assert corrected.dtype == np.uint8 and corrected.shape == reference.shape


def test_a_flat_ring_corrects_only_an_offset_and_an_empty_ring_nothing() -> None:
    reference = np.full((64, 64, 3), 100, np.uint8)
    image = np.full((64, 64, 3), 90, np.uint8)
    ring = np.zeros((64, 64), bool)
    ring[:, :16] = True

    corrected, correction = match_colour(image, reference, ring)
    assert correction.gain == (1.0, 1.0, 1.0) and np.allclose(correction.offset, 10)
    assert np.all(corrected == 100)

    unchanged, none = match_colour(image, reference, np.zeros((64, 64), bool))
    assert none == ColourCorrection() and np.array_equal(unchanged, image)
    assert none.as_dict() == {"gain": [1.0, 1.0, 1.0], "offset": [0.0, 0.0, 0.0]}


def test_an_absurd_fit_is_clamped_to_sane_bounds() -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(100, 110, (64, 64, 3)).astype(np.uint8)  # barely varies
    reference = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)  # unrelated

    _, correction = match_colour(image, reference, np.ones((64, 64), bool))

    assert all(0.5 <= g <= 2.0 for g in correction.gain) and all(abs(o) <= 64 for o in correction.offset)


# --- the simulator's drift, through HTTP and the real SDK ----------------------------------------------


def sdk_edit(sim: Simulator, image: Image.Image) -> np.ndarray:
    """One edit of `image` at its own size through the real dashscope SDK; the output as pixels."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    uri = f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"
    response = dashscope.MultiModalConversation.call(
        api_key="sk-test",
        model="qwen-image-edit-plus",
        messages=[{"role": "user", "content": [{"image": uri}, {"text": "make the sky stormy"}]}],
        base_address=sim.base_url,
        size=f"{image.width}*{image.height}",
        seed=5,
        n=1,
    )
    assert response.status_code == 200, response.message
    link = response.output.choices[0].message.content[0]["image"]
    with Image.open(io.BytesIO(requests.get(link, timeout=10).content)) as output:
        assert output.size == image.size
        return np.asarray(output.convert("RGB"))


def test_the_simulator_drifts_its_outputs_as_configured_and_registration_recovers_it(sim: Simulator) -> None:
    reference = one_megapixel(EXAMPLES / "coffee.jpg")
    drift = {"dx": 12.5, "dy": -20, "zoom": -0.022, "gain": [0.9, 1.1, 1.0], "offset": [10, 0, -8]}

    settings = requests.post(f"{sim.origin}/_sim/config", json={"drift": drift}, timeout=10).json()
    moving = sdk_edit(sim, reference)

    assert settings["drift"] == {**drift, "rotation": 0.0}
    found = estimate(np.asarray(reference), moving)
    assert_recovered(found, Drift.parse(drift))
    # +dx moves the content right and -dy up: the output's left and bottom edges come from inside the picture.
    assert found.dx > 0 > found.dy


def test_without_drift_the_simulator_output_is_not_moved(sim: Simulator) -> None:
    reference = structured(1024, 768)
    sim.configure(drift={"dx": 8})
    sim.configure(drift=None)

    found = estimate(np.asarray(reference), sdk_edit(sim, reference))

    assert abs(found.dx) < 0.05 and abs(found.dy) < 0.05 and abs(found.scale - 1) < 1e-4
    assert sim.config.drift is None


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        ({"dx": "far"}, "drift dx must be a number"),
        ({"zoom": 0.8}, "drift zoom must be a fraction"),
        ({"gain": [1, 1]}, "drift gain must be 3 numbers"),
        ({"offset": [0, 0, 300]}, "drift offset must be 3 numbers"),
        ({"shear": 1}, "unknown field(s) shear"),
        ([1, 2], "drift must map fields"),
    ],
)
def test_a_bad_drift_is_refused_with_what_is_wrong(sim: Simulator, drift: object, message: str) -> None:
    answer = requests.post(f"{sim.origin}/_sim/config", json={"drift": drift}, timeout=10)

    assert answer.status_code == 400 and message in answer.json()["message"]
    with pytest.raises(ValueError, match=message.split("(")[0]):
        sim.configure(drift=drift)
    assert sim.config.drift is None
