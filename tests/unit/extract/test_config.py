"""Settings: sources and their priority, validation reporting every problem, secrets."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from extract.errors import ConfigError
from extract.settings import (
    DEFAULT_PII_SALT,
    ENV_VARS,
    ApiSettings,
    Secret,
    Settings,
    ThrottleSettings,
    WarehouseSettings,
    load_settings,
)
from extract.settings.sources import DECLARED

SECRET = "client-secret-value-42"
SALT = "pepper-salt-value-99"
MINIMAL = {
    "NORCE_BASE_URL": "https://acme.api-se.norce.tech",
    "NORCE_CLIENT_ID": "integration",
    "NORCE_CLIENT_SECRET": SECRET,
}

DOCUMENTED = [
    "NORCE_BASE_URL",
    "NORCE_CLIENT_ID",
    "NORCE_CLIENT_SECRET",
    "NORCE_SCOPE",
    "NORCE_APPLICATION_IDS",
    "NORCE_CONTEXT_APPLICATION_ID",
    "NORCE_RATE_LIMIT_PATIENCE_S",
    "NORCE_ENTITIES",
    "NORCE_WAREHOUSE",
    "NORCE_WORK_DATABASE",
    "NORCE_DUCKDB_MEMORY_MB",
    "NORCE_DUCKDB_THREADS",
    "NORCE_DUCKDB_CHECKPOINT_MB",
    "NORCE_DBT_MEMORY_MB",
    "NORCE_FILE_MODE",
    "NORCE_FULL_TESTS_EVERY_H",
    "NORCE_MAX_RPS",
    "NORCE_MAX_INFLIGHT",
    "NORCE_MAX_RETRIES",
    "NORCE_REQUEST_BUDGET",
    "NORCE_TIMEOUT_S",
    "NORCE_REPLY_DEADLINE_S",
    "NORCE_MAX_REPLY_MB",
    "NORCE_MAX_METADATA_MB",
    "NORCE_LOOKBACK_MINUTES",
    "NORCE_PII_SALT",
    "NORCE_PII_OVERRIDES",
    "NORCE_KEY_SWEEP",
    "NORCE_VERIFY_COUNTS",
    "NORCE_REPORTING_CURRENCY",
    "NORCE_CONFIG",
]


def problems_of(env=None, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env if env is not None else {}, **kwargs)
    return info.value.problems


def test_defaults_from_minimal_environment():
    s = load_settings(MINIMAL)
    assert s.api.base_url == "https://acme.api-se.norce.tech"
    assert s.api.client_secret.reveal() == SECRET
    assert (s.api.scope, s.api.application_ids, s.api.timeout_s) == ("prod", None, 30.0)
    assert s.throttle == ThrottleSettings()
    assert (s.throttle.max_rps, s.throttle.max_inflight, s.throttle.max_retries) == (4.0, 4, 6)
    assert s.warehouse.path == Path("warehouse/norce.duckdb")
    assert s.warehouse.work_database == Path("warehouse/norce.work.duckdb")
    assert s.extract.lookback == timedelta(hours=2)
    assert s.extract.entities is None
    assert s.extract.pii_salt.reveal() == DEFAULT_PII_SALT
    assert s.default_salt is True


def test_every_environment_variable_is_read():
    env = {
        **MINIMAL,
        "NORCE_BASE_URL": "https://acme.api-se.norce.tech/",
        "NORCE_SCOPE": "stage",
        "NORCE_APPLICATION_IDS": "1, 2,3",
        "NORCE_ENTITIES": "Orders/Orders,Core/Currencies",
        "NORCE_WAREHOUSE": "/data/wh.duckdb",
        "NORCE_WORK_DATABASE": "/scratch/work.duckdb",
        "NORCE_DUCKDB_MEMORY_MB": "1024",
        "NORCE_DUCKDB_THREADS": "4",
        "NORCE_DUCKDB_CHECKPOINT_MB": "64",
        "NORCE_FILE_MODE": "0600",
        "NORCE_MAX_RPS": "2.5",
        "NORCE_MAX_INFLIGHT": "2",
        "NORCE_MAX_RETRIES": "3",
        "NORCE_REQUEST_BUDGET": "1000",
        "NORCE_TIMEOUT_S": "12",
        "NORCE_REPLY_DEADLINE_S": "90",
        "NORCE_MAX_REPLY_MB": "128",
        "NORCE_MAX_METADATA_MB": "16",
        "NORCE_LOOKBACK_MINUTES": "45",
        "NORCE_PII_SALT": SALT,
        "NORCE_PII_OVERRIDES": "customers.FirstName=keep, orders.Buyer_EmailAddress=DROP",
        "NORCE_KEY_SWEEP": "yes",
        "NORCE_VERIFY_COUNTS": "false",
        "NORCE_REPORTING_CURRENCY": "sek",
    }
    s = load_settings(env)
    assert s.api.base_url == "https://acme.api-se.norce.tech"
    assert s.api.scope == "stage"
    assert s.api.application_ids == (1, 2, 3)
    assert s.api.timeout_s == 12.0
    assert (s.api.deadline_s, s.api.max_reply_mb, s.api.max_metadata_mb) == (90.0, 128, 16)
    assert s.extract.entities == ("Orders/Orders", "Core/Currencies")
    assert s.warehouse.path == Path("/data/wh.duckdb")
    assert s.warehouse.work_database == Path("/scratch/work.duckdb")
    assert s.warehouse.memory_limit_mb == 1024
    assert s.warehouse.duckdb_threads == 4
    assert s.warehouse.checkpoint_mb == 64
    assert s.warehouse.file_mode == 0o600
    assert (s.throttle.max_rps, s.throttle.max_inflight, s.throttle.max_retries) == (2.5, 2, 3)
    assert s.throttle.request_budget == 1000
    assert s.extract.lookback == timedelta(minutes=45)
    assert s.extract.pii_salt.reveal() == SALT and s.default_salt is False
    assert s.extract.pii_overrides == {
        "customers.FirstName": "keep",
        "orders.Buyer_EmailAddress": "drop",
    }
    assert (s.extract.key_sweep, s.extract.verify_counts) == (True, False)
    assert s.extract.reporting_currency == "SEK"


def test_a_reply_deadline_follows_the_timeout_unless_set():
    assert load_settings(MINIMAL).api.deadline_s == 120.0
    assert load_settings({**MINIMAL, "NORCE_TIMEOUT_S": "3"}).api.deadline_s == 12.0


@pytest.mark.parametrize(
    ("name", "value"),
    [("NORCE_REPLY_DEADLINE_S", "0"), ("NORCE_MAX_REPLY_MB", "0"), ("NORCE_MAX_METADATA_MB", "-1")],
)
def test_reply_bounds_must_be_positive(name: str, value: str):
    assert any(name in p for p in problems_of({**MINIMAL, name: value}))


def test_every_environment_variable_is_documented_in_env_vars():
    assert sorted(ENV_VARS) == sorted(DOCUMENTED)
    read = {d.declaration.env for d in DECLARED.values() if d.declaration.env} | {"NORCE_CONFIG"}
    assert read == set(ENV_VARS)
    assert all(meaning and "\n" not in meaning for meaning in ENV_VARS.values())


def test_priority_defaults_file_env_overrides(tmp_path):
    config = tmp_path / "norce.toml"
    config.write_text(
        """
[api]
scope = "playground"
timeout_s = 5
[throttle]
max_rps = 1.5
max_inflight = 3
backoff_max_s = 30
[extract]
lookback = "3h"
pii_overrides = { "customers.LastName" = "hash" }
entities = ["Orders/Orders"]
"""
    )
    env = {**MINIMAL, "NORCE_MAX_INFLIGHT": "2", "NORCE_CONFIG": str(config)}
    s = load_settings(env, overrides={"throttle.max_inflight": 1, "extract": {"key_sweep": True}})
    assert s.api.scope == "playground"  # file
    assert s.api.timeout_s == 5.0  # file
    assert s.throttle.max_rps == 1.5  # file
    assert s.throttle.backoff_max_s == 30.0  # file
    assert s.throttle.max_inflight == 1  # override beats env beats file
    assert s.extract.lookback == timedelta(hours=3)
    assert s.extract.pii_overrides == {"customers.LastName": "hash"}
    assert s.extract.entities == ("Orders/Orders",)
    assert s.extract.key_sweep is True


def test_config_file_argument_beats_norce_config(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('[api]\nscope = "stage"\n')
    b.write_text('[api]\nscope = "playground"\n')
    s = load_settings({**MINIMAL, "NORCE_CONFIG": str(a)}, config_file=b)
    assert s.api.scope == "playground"


def test_empty_environment_values_count_as_unset():
    s = load_settings({**MINIMAL, "NORCE_REQUEST_BUDGET": "", "NORCE_APPLICATION_IDS": " "})
    assert s.throttle.request_budget is None
    assert s.api.application_ids is None


def test_override_none_restores_default():
    s = load_settings({**MINIMAL, "NORCE_REQUEST_BUDGET": "5"}, overrides={
        "throttle.request_budget": None
    })  # fmt: skip
    assert s.throttle.request_budget is None


def test_all_problems_reported_at_once():
    env = {
        "NORCE_MAX_RPS": "fast",
        "NORCE_MAX_INFLIGHT": "0",
        "NORCE_TIMEOUT_S": "-1",
        "NORCE_PII_OVERRIDES": "customers.FirstName=scramble",
        "NORCE_KEY_SWEEP": "perhaps",
        "NORCE_LOOKBACK_MINUTES": "a while",
        "NORCE_ENTITIES": "Orders",
        "NORCE_REPORTING_CURRENCY": "euro",
    }
    problems = problems_of(env)
    expected = [
        "NORCE_BASE_URL is not set",
        "NORCE_CLIENT_ID is not set",
        "NORCE_CLIENT_SECRET is not set",
        "NORCE_MAX_RPS 'fast': expected a number",
        "NORCE_MAX_INFLIGHT must be >= 1",
        "NORCE_TIMEOUT_S must be > 0",
        "unknown action, use one of keep, hash, drop",
        "NORCE_KEY_SWEEP 'perhaps': expected true or false",
        "NORCE_LOOKBACK_MINUTES 'a while'",
        "NORCE_ENTITIES entries must look like Namespace/EntitySet",
        "NORCE_REPORTING_CURRENCY must be a 3-letter ISO code",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    assert len(problems) == len(expected)


@pytest.mark.parametrize("rps", ["0", "-2", "nan", "inf"])
def test_rps_must_be_positive(rps):
    problems = problems_of({**MINIMAL, "NORCE_MAX_RPS": rps})
    assert any("NORCE_MAX_RPS must be > 0" in p for p in problems), problems


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://acme.api-se.norce.tech", "use https"),
        ("http://10.0.0.5:8080", "use https"),
        ("https://acme.api-se.norce.tech/commerce/query/2.0", "give the tenant root"),
        ("https://acme.api-se.norce.tech/commerce/query/2.0/Orders", "give the tenant root"),
        ("https://acme.api-se.norce.tech/identity/1.0/connect/token", "give the tenant root"),
        ("acme.api-se.norce.tech", "not an http(s) URL"),
        ("ftp://acme.api-se.norce.tech", "not an http(s) URL"),
        ("https://", "not an http(s) URL"),
        ("https://acme.test:port", "not a valid URL"),
        ("https://acme.test/?x=1", "must not have a query"),
    ],
)
def test_bad_base_urls(url, fragment):
    problems = problems_of({**MINIMAL, "NORCE_BASE_URL": url})
    assert any(fragment in p for p in problems), problems


def test_api_path_problem_suggests_the_root():
    (problem,) = problems_of(
        {**MINIMAL, "NORCE_BASE_URL": "https://acme.api-se.norce.tech/commerce/query/2.0/"}
    )
    assert "(e.g. https://acme.api-se.norce.tech)" in problem


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://127.9.9.9",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://acme.api-se.norce.tech",
        "https://acme.api-se.playground.norce.tech/",
    ],
)
def test_good_base_urls(url):
    assert load_settings({**MINIMAL, "NORCE_BASE_URL": url}).api.base_url == url.rstrip("/")


def test_toml_problems_are_reported(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[api]\ncolour = "blue"\n[cache]\nx = 1\n[throttle]\nmax_rps = "x"\n')
    problems = problems_of(MINIMAL, config_file=config)
    assert any("unknown key 'colour' in [api]" in p for p in problems)
    assert any("unknown table [cache]" in p for p in problems)
    assert any("[throttle] max_rps 'x': expected a number" in p for p in problems)


def test_missing_and_broken_config_files(tmp_path):
    missing = tmp_path / "nope.toml"
    assert any(
        "does not exist" in p for p in problems_of({**MINIMAL, "NORCE_CONFIG": str(missing)})
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[api\n")
    assert any("cannot be read" in p for p in problems_of(MINIMAL, config_file=broken))


def test_unknown_override_is_a_problem():
    assert problems_of(MINIMAL, overrides={"api.colour": "blue"}) == [
        "unknown setting override 'api.colour'"
    ]


def test_throttle_relations():
    problems = problems_of(
        {**MINIMAL, "NORCE_MAX_RPS": "1", "NORCE_MAX_RETRIES": "-1"},
        overrides={
            "throttle.min_rps": 2,
            "throttle.backoff_base_s": 5,
            "throttle.backoff_max_s": 1,
        },
    )
    assert any("min_rps (2.0) must not exceed NORCE_MAX_RPS" in p for p in problems)
    assert any("NORCE_MAX_RETRIES must be >= 0" in p for p in problems)
    assert any("backoff_max_s (1.0) must be >= backoff_base_s" in p for p in problems)


def test_work_database_must_differ_from_published():
    problems = problems_of(
        {**MINIMAL, "NORCE_WAREHOUSE": "/d/w.duckdb", "NORCE_WORK_DATABASE": "/d/w.duckdb"}
    )
    assert any("must differ" in p for p in problems)


def test_duckdb_memory_cap_has_a_floor():
    problems = problems_of({**MINIMAL, "NORCE_DUCKDB_MEMORY_MB": "8"})
    assert any("NORCE_DUCKDB_MEMORY_MB must be at least 64" in p for p in problems)


def test_duckdb_threads_default_to_one_and_refuse_zero():
    assert load_settings(MINIMAL).warehouse.duckdb_threads == 1
    problems = problems_of({**MINIMAL, "NORCE_DUCKDB_THREADS": "0"})
    assert any("NORCE_DUCKDB_THREADS must be at least 1" in p for p in problems)


def test_the_checkpoint_threshold_defaults_to_the_memory_cap_and_stays_within_it():
    warehouse = load_settings(MINIMAL).warehouse
    assert warehouse.checkpoint_mb == warehouse.memory_limit_mb == 64
    problems = problems_of({**MINIMAL, "NORCE_DUCKDB_CHECKPOINT_MB": "0"})
    assert any("NORCE_DUCKDB_CHECKPOINT_MB must be at least 1" in p for p in problems)
    problems = problems_of({**MINIMAL, "NORCE_DUCKDB_CHECKPOINT_MB": "96"})
    assert problems == [
        "NORCE_DUCKDB_CHECKPOINT_MB (96) must not exceed NORCE_DUCKDB_MEMORY_MB (64); "
        "lower it with the memory cap"
    ]
    raised = {**MINIMAL, "NORCE_DUCKDB_MEMORY_MB": "256", "NORCE_DUCKDB_CHECKPOINT_MB": "96"}
    assert load_settings(raised).warehouse.checkpoint_mb == 96


def test_direct_construction_is_validated_too():
    with pytest.raises(ConfigError) as info:
        ApiSettings(base_url="http://example.com", client_id="", client_secret=Secret(""))
    assert len(info.value.problems) == 3
    with pytest.raises(ConfigError):
        ThrottleSettings(max_rps=0)
    assert WarehouseSettings(path=Path("x/y.duckdb")).work_database == Path("x/y.work.duckdb")


def test_settings_are_frozen():
    s = load_settings(MINIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.api.base_url = "https://other"  # type: ignore[misc]
    assert isinstance(s, Settings)


def test_secrets_never_appear_in_repr_or_problems():
    s = load_settings({**MINIMAL, "NORCE_PII_SALT": SALT})
    for text in (repr(s), str(s), repr(s.api), repr(s.extract)):
        assert SECRET not in text and SALT not in text
    # Invalid settings: the message names the problem, never the secret values.
    env = {
        **MINIMAL,
        "NORCE_PII_SALT": SALT,
        "NORCE_BASE_URL": "http://x.example",
        "NORCE_MAX_RPS": "?",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    for text in (str(info.value), repr(info.value), *info.value.problems):
        assert SECRET not in text and SALT not in text


def test_secret_in_toml_of_wrong_type_is_not_echoed(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text("[api]\nclient_secret = 123456789\n")
    problems = problems_of({**MINIMAL, "NORCE_CLIENT_SECRET": ""}, config_file=config)
    assert any("client_secret: expected text" in p for p in problems)
    assert not any("123456789" in p for p in problems)


def test_secret_in_base_url_userinfo_is_masked():
    problems = problems_of({**MINIMAL, "NORCE_BASE_URL": "https://bob:pa55word@acme.test"})
    assert any("must not contain user:password@" in p for p in problems)
    assert not any("pa55word" in p for p in problems)
