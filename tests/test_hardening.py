"""Hostile text and parameters (property-based), and the fault matrix: for every fault, the user is told
and no result that DashScope made is lost."""

import pytest
from conftest import FAST_RETRY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import catalog, errors
from core.caller import Caller
from core.parameters import EditParameters, parse_size
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio

# ---- hostile text and parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "outcome"),
    [
        ({"prompt": "x" * 10_000}, errors.TextTooLongError),
        ({"prompt": "make it\x00 blue"}, errors.InvalidTextError),
        ({"prompt": "bell\x07"}, errors.InvalidTextError),
        ({"prompt": "مرحبا، اجعلها زرقاء \u200f"}, "ok"),  # right-to-left text is just text
        ({"prompt": "make it 🌈✨ 彩虹"}, "ok"),
        ({"prompt": "line one\nline two\ttabbed"}, "ok"),
        ({"size": "0*0"}, errors.SizeOutOfRangeError),
        ({"size": "-1*5"}, errors.SizeFormatError),
        ({"size": "1e3*1e3"}, errors.SizeFormatError),
        ({"size": "2048x2048"}, "ok"),  # an x for the asterisk is understood
        ({"size": "1024 × 768"}, "ok"),
        ({"size": "1024*768*2"}, errors.SizeFormatError),
        ({"n": 0}, errors.CountOutOfRangeError),
        ({"n": 7}, errors.CountOutOfRangeError),
        ({"n": "3"}, "ok"),
        ({"n": "three"}, errors.CountOutOfRangeError),
        ({"n": None}, errors.CountOutOfRangeError),
        ({"seed": 2**31}, errors.SeedOutOfRangeError),
        ({"seed": 1.5}, errors.SeedOutOfRangeError),
        ({"seed": float("nan")}, errors.SeedOutOfRangeError),
    ],
)
def test_hostile_values_are_refused_with_a_clear_message_or_normalised(kwargs, outcome):
    values = {"prompt": "make it blue", **kwargs}
    prompt = values.pop("prompt")
    if outcome == "ok":
        EditParameters.create(prompt, **values)
        return
    with pytest.raises(outcome) as caught:
        EditParameters.create(prompt, **values)
    assert caught.value.message("en") and caught.value.message("zh")


@given(
    prompt=st.text(max_size=1200),
    negative=st.text(max_size=700),
    n=st.one_of(st.integers(-5, 12), st.text(max_size=3), st.floats(allow_nan=True), st.none()),
    seed=st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=12), st.none()),
    size=st.one_of(
        st.text(max_size=14), st.builds(lambda w, h: f"{w}*{h}", st.integers(-10, 5000), st.integers(-10, 5000))
    ),
    model=st.sampled_from([m.id for m in catalog.MODELS] + ["nope"]),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_parameters_either_validate_within_the_models_rules_or_raise_a_typed_error(
    prompt, negative, n, seed, size, model
):
    try:
        params = EditParameters.create(prompt, negative_prompt=negative, n=n, seed=seed, size=size, model=model)
    except errors.InvalidRequestError as error:
        assert error.message("en") and error.message("zh")
        return
    spec = catalog.get_model(params.model)
    assert 0 < len(params.prompt) <= spec.prompt_max and params.prompt.strip()
    assert len(params.negative_prompt) <= spec.negative_max
    assert 1 <= params.n <= spec.max_n
    assert 0 <= params.seed <= catalog.SEED_MAX
    if params.size is not None:
        assert spec.custom_size
        assert spec.size.allows(params.size.width, params.size.height)


@given(st.integers(512, 2048), st.integers(512, 2048), st.sampled_from(["*", "x", "X", "×", " * "]))
def test_every_in_range_size_parses_back_to_itself(width, height, separator):
    size = parse_size(f"{width}{separator}{height}")
    assert (size.width, size.height) == (width, height)


# ---- the fault matrix ----------------------------------------------------------------------------------

FAULTS = [
    # (faults to inject, expected outcome, results expected on disk)
    ([("throttle", 1)], "ok", 2),
    ([("throttle", 99)], errors.ThrottledError, 0),
    ([("internal_error", 2)], "ok", 2),
    ([("bad_gateway", 1)], "ok", 2),
    ([("unavailable", 99)], errors.ServiceUnavailableError, 0),
    ([("timeout", 1)], errors.MaybeBilledError, 0),
    ([("malformed_json", 1)], errors.UnexpectedResponseError, 0),
    ([("fewer_images", 1)], "ok", 1),
    ([("download_reset", 1)], "ok", 2),
    ([("download_slow", 1)], "ok", 2),
    ([("download_error", 2)], "ok", 2),
    ([("download_expired", 1)], "partial", 1),
    ([("foreign_host", 1)], "partial", 1),
]


@pytest.mark.parametrize(("faults", "outcome", "saved"), FAULTS, ids=[f[0][0][0] + f"x{f[0][0][1]}" for f in FAULTS])
def test_each_fault_is_survived_or_explained_and_nothing_made_is_lost(
    sim, tmp_path, make_image, faults, outcome, saved
):
    studio = Studio(
        Settings(data_dir=tmp_path, api_key="sk-x", base_url_override=sim.base_url, request_timeout=0.6),
        retry=FAST_RETRY,
    )
    try:
        for fault, times in faults:
            options = (
                {"seconds": 3} if fault == "timeout" else {"bandwidth": 400_000} if fault == "download_slow" else {}
            )
            sim.inject(fault, times=times, **options)
        request = EditRequest.create([make_image()], "make it blue", n=2, seed=5)
        if isinstance(outcome, type):
            with pytest.raises(outcome) as caught:
                studio.edit(request, Caller("me"))
            assert caught.value.message("en")
            (edit,) = studio.history.list("me")
            assert edit.status == "failed" and edit.error  # the user is told, and history says why
            return
        result = studio.edit(request, Caller("me"))
        assert len(result.images) == saved
        (edit,) = studio.history.list("me")
        states = [o.state for o in edit.outputs]
        assert states.count("saved") == saved
        if outcome == "partial":  # what could not be saved is marked, with the reason, never silently dropped
            assert result.failures and all(o.reason for o in edit.outputs if o.state == "failed")
        # Every result link the service returned is on disk or explained.
        assert all(o.state in ("saved", "failed") for o in edit.outputs)
    finally:
        studio.close()


def test_connection_refused_is_retried_then_explained(tmp_path, make_image):
    from test_app import _free_port

    studio = Studio(
        Settings(data_dir=tmp_path, api_key="sk-x", base_url_override=f"http://127.0.0.1:{_free_port()}/api/v1"),
        retry=FAST_RETRY,
    )
    try:
        with pytest.raises(errors.ConnectionFailedError) as caught:
            studio.edit(EditRequest.create([make_image()], "x", seed=1), Caller("me"))
        assert f"{FAST_RETRY.attempts} attempts" in caught.value.message("en")
        assert studio.history.list("me")[0].status == "failed"
    finally:
        studio.close()
