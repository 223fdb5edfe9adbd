"""What the studio can truthfully tell about a run: how long a model's calls usually take here, and, when an
edit is cancelled, whether it had been sent (and so still lands, billed) or not."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest

from core import catalog, errors
from core.client import RetryPolicy
from core.pacing import account_of
from core.request import EditRequest
from core.settings import Settings
from core.simulator import Simulator
from core.studio import SIMULATOR_KEY, EditJob, Reach, Stage, Studio

PLUS = "qwen-image-edit-plus"


def request(make_image, model: str = PLUS, seed: int = 1) -> EditRequest:
    return EditRequest.create([make_image(512, 512)], "add a hat", model=model, seed=seed)


def wait_for_stage(job: EditJob, stage: Stage) -> None:
    for step in job.progress():
        if step is not None and step.stage is stage:
            return
    raise AssertionError(f"the edit ended before {stage}")


def test_the_usual_call_time_is_the_median_of_the_last_20_answered_calls_of_that_model(studio, sim, make_image):
    assert studio.usual_call_seconds(PLUS) is None  # no history: nothing is claimed

    for seed, latency in enumerate((0.4, 1.2, 1.2)):
        sim.configure(latency=latency)
        studio.edit(request(make_image, seed=seed))
    assert studio.usual_call_seconds(PLUS) == pytest.approx(1.2, abs=0.2)

    sim.inject("invalid_parameter")  # a refused call says nothing of how long an answer takes
    with pytest.raises(errors.EditError):
        studio.edit(request(make_image, seed=9))
    assert studio.usual_call_seconds(PLUS) == pytest.approx(1.2, abs=0.2)
    assert studio.usual_call_seconds("qwen-image-edit") is None  # another model's calls are its own

    sim.configure(latency=0.0)
    for seed in range(20):  # the last 20 only: the slow ones age out
        studio.edit(request(make_image, seed=100 + seed))
    quick = studio.history.call_seconds(PLUS, simulated=True)
    assert len(quick) == 20 and max(quick) < 1.0  # none of the slow ones
    assert studio.usual_call_seconds(PLUS) == statistics.median(quick)


def test_a_cancel_before_the_edit_is_sent_says_so_and_sends_nothing(studio, sim, make_image):
    model = catalog.get_model(PLUS)
    studio.pacer.line(account_of(SIMULATOR_KEY), model.rate_group, studio.settings.rate_limit(model)).push_back(30)
    job = studio.submit(request(make_image))
    wait_for_stage(job, Stage.WAITING)

    assert job.cancel() is Reach.UNSENT
    with pytest.raises(errors.EditCancelledError):
        job.result()
    assert sim.stats.generation_calls == 0


def test_a_cancel_after_the_edit_is_sent_says_so_and_the_edit_still_lands(studio, sim, make_image):
    sim.configure(latency=1.0)
    job = studio.submit(request(make_image))
    wait_for_stage(job, Stage.CALLING)
    while sim.stats.generation_calls == 0:  # at the model
        time.sleep(0.01)

    assert job.cancel() is Reach.SENT
    assert len(job.result().images) == 1
    assert studio.history.get("local", job.result().edit_id).status == "done"


@pytest.fixture
def slow_retries(sim: Simulator, tmp_path) -> Iterator[Studio]:
    """A studio that waits 5 s before retrying a throttled call."""
    retry = RetryPolicy(attempts=2, throttled_attempts=2, throttled_base_delay=5, throttled_max_delay=5)
    studio = Studio(Settings(data_dir=tmp_path / "data", simulate=True), simulator=sim, retry=retry)
    yield studio
    studio.close()


def test_a_cancel_while_a_refused_edit_waits_to_retry_says_it_is_not_sent_again(slow_retries, sim, make_image):
    sim.inject("throttle")
    job = slow_retries.submit(request(make_image))
    wait_for_stage(job, Stage.RETRYING)

    assert job.cancel() is Reach.REFUSED
    with pytest.raises(errors.EditCancelledError):
        job.result()
    assert sim.stats.generation_calls == 1 and sim.stats.throttled == 1
