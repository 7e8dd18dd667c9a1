"""Validation rules for the settings objects: each returns every problem it finds.

The settings sections (:mod:`extract.settings.sections`) call these from ``__post_init__``,
so a settings object that exists is valid however it was built;
:func:`~extract.settings.sources.load_settings` gathers the problems of all sections into one
:class:`~extract.errors.ConfigError`. Problems
name the environment variable a person would change, and never contain a secret value.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from extract.redact import mask_url

if TYPE_CHECKING:
    from extract.settings.sections import (
        ApiSettings,
        ExtractSettings,
        ThrottleSettings,
        WarehouseSettings,
    )

PII_ACTIONS = ("keep", "hash", "drop")
"""Allowed values in ``pii_overrides``."""

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_ENTITY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*/[A-Za-z_][A-Za-z0-9_]*$")
_PII_KEY = re.compile(r"^[a-z_][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EXAMPLE_ROOT = "https://acme.api-se.norce.tech"


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: the only hosts plain http may reach."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_problems(url: str) -> list[str]:
    """Problems with a tenant root URL (missing, malformed, unsafe, or an API path)."""
    if not url:
        return [f"NORCE_BASE_URL is not set: give the tenant root, e.g. {_EXAMPLE_ROOT}"]
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return [f"NORCE_BASE_URL {shown!r} is not a valid URL"]
    if parts.scheme not in ("http", "https") or not host:
        return [
            f"NORCE_BASE_URL {shown!r} is not an http(s) URL: give the tenant root, "
            f"e.g. {_EXAMPLE_ROOT}"
        ]
    problems = []
    if parts.scheme == "http" and not is_loopback(host):
        problems.append(f"NORCE_BASE_URL {shown!r} uses http:// to a non-loopback host: use https")
    if parts.username is not None or parts.password is not None:
        problems.append(
            "NORCE_BASE_URL must not contain user:password@; "
            "use NORCE_CLIENT_ID and NORCE_CLIENT_SECRET"
        )
    if parts.query or parts.fragment:
        problems.append(f"NORCE_BASE_URL {shown!r} must not have a query or fragment")
    path = parts.path.lower().rstrip("/")
    if "/commerce/query" in path or "/identity/" in path or path.endswith("/identity"):
        scheme = "http" if is_loopback(host) else "https"
        root = mask_url(f"{scheme}://{parts.netloc}")
        problems.append(
            f"NORCE_BASE_URL {shown!r} includes an API path: give the tenant root "
            f"(e.g. {root}); the client appends /commerce/query/2.0 itself"
        )
    return problems


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def api_problems(api: ApiSettings) -> list[str]:
    """Problems with endpoint, credentials, applications and timeouts."""
    problems = base_url_problems(api.base_url)
    if not api.client_id:
        problems.append("NORCE_CLIENT_ID is not set: give the integration user's client id")
    if not api.client_secret.reveal():
        problems.append("NORCE_CLIENT_SECRET is not set: give the integration user's secret")
    if not api.scope.strip():
        problems.append("NORCE_SCOPE is empty: use prod, stage or playground")
    if api.application_ids is not None:
        if not api.application_ids:
            problems.append("NORCE_APPLICATION_IDS is an empty list: unset it to load all")
        bad = [i for i in api.application_ids if i <= 0]
        if bad:
            problems.append(f"NORCE_APPLICATION_IDS must be positive integers, got {bad}")
    if api.context_application_id is not None and api.context_application_id < 0:
        problems.append(
            f"NORCE_CONTEXT_APPLICATION_ID must be >= 0, got {api.context_application_id}"
        )
    if not _positive(api.timeout_s):
        problems.append(f"NORCE_TIMEOUT_S must be > 0, got {api.timeout_s}")
    if not _positive(api.connect_timeout_s):
        problems.append(f"api.connect_timeout_s must be > 0, got {api.connect_timeout_s}")
    if api.reply_deadline_s is not None and not _positive(api.reply_deadline_s):
        problems.append(f"NORCE_REPLY_DEADLINE_S must be > 0, got {api.reply_deadline_s}")
    for name, value in (
        ("NORCE_MAX_REPLY_MB", api.max_reply_mb),
        ("NORCE_MAX_METADATA_MB", api.max_metadata_mb),
    ):
        if value < 1:
            problems.append(f"{name} must be at least 1 (MiB), got {value}")
    return problems


def throttle_problems(t: ThrottleSettings) -> list[str]:
    """Problems with rate, concurrency, retry and budget limits."""
    problems = []
    if not _positive(t.max_rps):
        problems.append(f"NORCE_MAX_RPS must be > 0, got {t.max_rps}")
    if not _positive(t.min_rps):
        problems.append(f"throttle.min_rps must be > 0, got {t.min_rps}")
    elif _positive(t.max_rps) and t.min_rps > t.max_rps:
        problems.append(
            f"throttle.min_rps ({t.min_rps}) must not exceed NORCE_MAX_RPS ({t.max_rps})"
        )
    if t.max_inflight < 1:
        problems.append(f"NORCE_MAX_INFLIGHT must be >= 1, got {t.max_inflight}")
    if t.max_retries < 0:
        problems.append(f"NORCE_MAX_RETRIES must be >= 0, got {t.max_retries}")
    if not (math.isfinite(t.backoff_base_s) and t.backoff_base_s >= 0):
        problems.append(f"throttle.backoff_base_s must be >= 0, got {t.backoff_base_s}")
    if not (math.isfinite(t.backoff_max_s) and t.backoff_max_s >= t.backoff_base_s):
        problems.append(
            f"throttle.backoff_max_s ({t.backoff_max_s}) must be >= backoff_base_s "
            f"({t.backoff_base_s})"
        )
    if not (math.isfinite(t.rate_limit_patience_s) and t.rate_limit_patience_s >= 0):
        problems.append(f"NORCE_RATE_LIMIT_PATIENCE_S must be >= 0, got {t.rate_limit_patience_s}")
    if t.request_budget is not None and t.request_budget < 1:
        problems.append(
            f"NORCE_REQUEST_BUDGET must be >= 1 (unset it for no limit), got {t.request_budget}"
        )
    return problems


def warehouse_problems(w: WarehouseSettings) -> list[str]:
    """Problems with the warehouse file locations."""
    if w.memory_limit_mb is not None and w.memory_limit_mb < 64:
        return [f"NORCE_DUCKDB_MEMORY_MB must be at least 64 (MiB), got {w.memory_limit_mb}"]
    if w.duckdb_threads < 1:
        return [f"NORCE_DUCKDB_THREADS must be at least 1, got {w.duckdb_threads}"]
    if w.checkpoint_mb < 1:
        return [f"NORCE_DUCKDB_CHECKPOINT_MB must be at least 1 (MiB), got {w.checkpoint_mb}"]
    if w.memory_limit_mb is not None and w.checkpoint_mb > w.memory_limit_mb:
        # a checkpoint writes out what the log holds, from DuckDB's buffer: a log larger than
        # the cap failed ("failed to pin block") at 1.2M orders with 256 over 64 MiB
        return [
            f"NORCE_DUCKDB_CHECKPOINT_MB ({w.checkpoint_mb}) must not exceed "
            f"NORCE_DUCKDB_MEMORY_MB ({w.memory_limit_mb}); lower it with the memory cap"
        ]
    if w.dbt_memory_limit_mb is not None and w.dbt_memory_limit_mb < 256:
        return [f"NORCE_DBT_MEMORY_MB must be at least 256 (MiB), got {w.dbt_memory_limit_mb}"]
    if not w.full_tests_every_h >= 0:  # also refuses NaN
        return [f"NORCE_FULL_TESTS_EVERY_H must be >= 0 (hours), got {w.full_tests_every_h}"]
    if w.work_path is not None and w.work_path == w.path:
        return [
            "NORCE_WORK_DATABASE must differ from NORCE_WAREHOUSE: readers keep the "
            "published file open while a run writes the work file"
        ]
    return []


def extract_problems(e: ExtractSettings) -> list[str]:
    """Problems with entity selection, look-back, batching, privacy and currency."""
    problems = []
    if e.entities is not None:
        if not e.entities:
            problems.append("NORCE_ENTITIES is an empty list: unset it to load the catalog")
        bad = [name for name in e.entities if not _ENTITY.match(name)]
        if bad:
            problems.append(
                f"NORCE_ENTITIES entries must look like Namespace/EntitySet "
                f"(e.g. Orders/Orders), got {bad}"
            )
    if e.lookback < timedelta(0):
        problems.append("NORCE_LOOKBACK_MINUTES must be >= 0")
    if e.batch_rows < 1:
        problems.append(f"extract.batch_rows must be >= 1, got {e.batch_rows}")
    if not e.pii_salt.reveal():
        problems.append("NORCE_PII_SALT is empty: unset it or give a secret value")
    for column, action in e.pii_overrides.items():
        if not _PII_KEY.match(column):
            problems.append(
                f"NORCE_PII_OVERRIDES key {column!r} must look like table.Column "
                "(e.g. customers.FirstName)"
            )
        if action not in PII_ACTIONS:
            problems.append(
                f"NORCE_PII_OVERRIDES {column}={action!r}: unknown action, "
                f"use one of {', '.join(PII_ACTIONS)}"
            )
    if e.reporting_currency is not None and not _CURRENCY.match(e.reporting_currency):
        problems.append(
            f"NORCE_REPORTING_CURRENCY must be a 3-letter ISO code, got {e.reporting_currency!r}"
        )
    return problems
