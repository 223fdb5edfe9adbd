"""On the host's key each visitor gets a bounded number of edits per hour; their own key is not limited."""

import pytest
from conftest import FAST_RETRY

from core import errors
from core.caller import Caller
from core.history import History
from core.ratelimit import RateLimiter
from core.request import EditRequest
from core.settings import Settings
from core.studio import Studio


@pytest.fixture
def hosted(sim, tmp_path):
    studio = Studio(
        Settings(data_dir=tmp_path, api_key="sk-host", base_url_override=sim.base_url, rate_limit_per_hour=2),
        retry=FAST_RETRY,
    )
    yield studio
    studio.close()


def test_a_visitor_over_the_hourly_limit_on_the_hosts_key_is_refused_before_any_call(hosted, sim, make_image):
    request = EditRequest.create([make_image()], "x", seed=1)
    for _ in range(2):
        hosted.edit(request, Caller("visitor", address="10.0.0.1"))
    with pytest.raises(errors.RateLimitedError) as caught:
        hosted.edit(request, Caller("visitor", address="10.0.0.1"))
    assert sim.stats.generation_calls == 2
    assert "2 edits in the last hour" in caught.value.message(
        "en"
    ) and "your own DashScope key" in caught.value.message("en")


def test_a_new_browser_from_the_same_address_does_not_reset_the_count(hosted, make_image):
    request = EditRequest.create([make_image()], "x", seed=1)
    hosted.edit(request, Caller("a", address="10.0.0.9"))
    hosted.edit(request, Caller("b", address="10.0.0.9"))
    with pytest.raises(errors.RateLimitedError):
        hosted.edit(request, Caller("c", address="10.0.0.9"))


def test_a_visitor_with_their_own_key_is_not_limited(hosted, make_image):
    request = EditRequest.create([make_image()], "x", seed=1)
    for _ in range(3):
        hosted.edit(request, Caller("visitor", key="sk-visitor-own", address="10.0.0.1"))


def test_the_window_slides_after_an_hour(tmp_path):
    now = [0.0]
    limiter = RateLimiter(1, History(tmp_path / "history.sqlite3"), clock=lambda: now[0])
    limiter.acquire("me", None)
    assert limiter.remaining("me", None) == 0 and limiter.remaining("you", None) == 1
    with pytest.raises(errors.RateLimitedError) as caught:
        limiter.acquire("me", None)
    assert caught.value.params["minutes"] == 60
    now[0] = 3600.5
    limiter.acquire("me", None)
