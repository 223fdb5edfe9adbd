"""Settings come from the environment and flags, with the README's defaults, and refuse nonsense clearly."""

from decimal import Decimal
from pathlib import Path

import pytest

import app
from core import catalog
from core.settings import Price, Settings, SettingsError


def test_defaults_without_any_environment_mean_simulator_mode():
    settings = Settings.from_env({})
    assert settings.api_key is None and settings.uses_simulator
    assert (settings.region, settings.concurrency, settings.queue_max, settings.max_upload_mb) == (
        "singapore",
        32,
        64,
        50,
    )
    assert settings.price_per_image is None
    assert settings.decode_budget_mb == 1024


def test_a_key_turns_simulator_mode_off_unless_forced():
    assert not Settings.from_env({"DASHSCOPE_API_KEY": "sk-x"}).uses_simulator
    assert Settings.from_env({"DASHSCOPE_API_KEY": "sk-x"}, simulate=True).uses_simulator
    assert Settings.from_env({"DASHSCOPE_API_KEY": "sk-x", "QWEN_EDIT_SIMULATE": "1"}).uses_simulator


def test_visitors_keys_required_means_no_simulator_even_without_a_server_key():
    assert not Settings.from_env({"QWEN_EDIT_REQUIRE_USER_KEY": "1"}).uses_simulator


def test_every_documented_variable_is_read(tmp_path):
    env = {
        "DASHSCOPE_HTTP_BASE_URL": "http://127.0.0.1:9/api/v1/",
        "QWEN_EDIT_REGION": "Beijing",
        "QWEN_EDIT_DATA_DIR": str(tmp_path),
        "QWEN_EDIT_CONCURRENCY": "4",
        "QWEN_EDIT_QUEUE_MAX": "8",
        "QWEN_EDIT_MAX_UPLOAD_MB": "20",
        "QWEN_EDIT_DECODE_BUDGET_MB": "256",
        "QWEN_EDIT_RATE_LIMIT": "5",
        "QWEN_EDIT_MAX_STORAGE_MB": "100",
        "QWEN_EDIT_OWNER_STORAGE_MB": "10",
        "QWEN_EDIT_EXPLORE_MAX_CELLS": "12",
        "QWEN_EDIT_EXPLORE_CONCURRENCY": "2",
        "QWEN_EDIT_EXPLORE_GLOBAL_CONCURRENCY": "3",
        "QWEN_EDIT_PRICE_PER_IMAGE": "0.03 USD",
        "QWEN_EDIT_REQUEST_TIMEOUT": "60",
        "QWEN_EDIT_RATE_LIMITS": "qwen-image-3.0=10/60",
    }
    s = Settings.from_env(env)
    assert s.base_url_override == "http://127.0.0.1:9/api/v1" and s.region == "beijing" and s.data_dir == tmp_path
    assert (s.concurrency, s.queue_max, s.max_upload_mb, s.rate_limit_per_hour) == (4, 8, 20, 5)
    assert (s.max_storage_mb, s.owner_storage_mb, s.explore_max_cells, s.explore_concurrency) == (100, 10, 12, 2)
    assert s.explore_global_concurrency == 3
    assert s.price_per_image == Price(Decimal("0.03"), "USD") and s.request_timeout == 60
    assert s.decode_budget_mb == 256
    assert s.rate_limits == {"qwen-image-3.0": catalog.RateLimit(10, 60)}


def test_explorations_together_run_at_most_8_calls_at_once_by_default():
    assert Settings.from_env({}).explore_global_concurrency == Settings().explore_global_concurrency == 8


def test_the_data_dir_flag_wins_over_the_environment(tmp_path):
    assert Settings.from_env({"QWEN_EDIT_DATA_DIR": "/elsewhere"}, data_dir=tmp_path).data_dir == Path(tmp_path)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"QWEN_EDIT_CONCURRENCY": "many"}, "QWEN_EDIT_CONCURRENCY='many' is not a whole number"),
        ({"QWEN_EDIT_QUEUE_MAX": "0"}, "must be at least 1"),
        ({"QWEN_EDIT_DECODE_BUDGET_MB": "0"}, "QWEN_EDIT_DECODE_BUDGET_MB='0' must be at least 1"),
        ({"QWEN_EDIT_PRICE_PER_IMAGE": "cheap"}, "should look like '0.03 USD'"),
        ({"QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-max"}, "should look like model=requests/seconds"),
        ({"QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-max=2 a minute"}, "is not requests/seconds"),
        ({"QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-max=0/60"}, "requests must be at least 1"),
        ({"QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-max=2/0"}, "seconds more than 0"),
        ({"QWEN_EDIT_RATE_LIMITS": "qwen-image-9=2/60"}, "Unknown model 'qwen-image-9'"),
        (
            {"QWEN_EDIT_RATE_LIMITS": "qwen-image-edit-max=2/60,qwen-image-edit-max-2026-01-16=3/60"},
            "share one limit but were given two",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env)


def test_an_unknown_region_is_refused():
    with pytest.raises(Exception, match="Unknown region"):
        Settings.from_env({"QWEN_EDIT_REGION": "mars"})


def test_rate_limits_are_the_catalogs_unless_the_operator_overrides_them_per_rate_group():
    plain = Settings.from_env({})
    limits = "qwen-image-edit-max=3/60, qwen-image-3.0=10/60,qwen-image-edit=off"
    tuned = Settings.from_env({"QWEN_EDIT_RATE_LIMITS": limits})
    max_alias, max_snapshot = (
        catalog.get_model("qwen-image-edit-max"),
        catalog.get_model("qwen-image-edit-max-2026-01-16"),
    )

    assert plain.rate_limit(max_alias) == plain.rate_limit(max_snapshot) == catalog.RateLimit(2, 60)
    assert plain.rate_limit(catalog.get_model("qwen-image-3.0")) is None  # not known: not paced
    assert tuned.rate_limit(max_alias) == tuned.rate_limit(max_snapshot) == catalog.RateLimit(3, 60)  # one group
    assert tuned.rate_limit(catalog.get_model("qwen-image-3.0")) == catalog.RateLimit(10, 60)
    assert tuned.rate_limit(catalog.get_model("qwen-image-edit")) is None  # off
    assert tuned.rate_limit(catalog.get_model("qwen-image-edit-plus")) == catalog.RateLimit(2, 1)  # as the catalog


def test_the_app_refuses_to_start_with_rate_limits_it_cannot_use(monkeypatch, tmp_path):
    monkeypatch.setenv("QWEN_EDIT_RATE_LIMITS", "qwen-image-edit-max=fast")
    with pytest.raises(SystemExit, match="QWEN_EDIT_RATE_LIMITS: qwen-image-edit-max: 'fast' is not requests/seconds"):
        app.main(["--data-dir", str(tmp_path)])
