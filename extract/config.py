"""Typed settings, read once at the edge and passed down.

Sources, in increasing priority: the defaults below, an optional TOML file (``NORCE_CONFIG``
or ``config_file``; tables ``[api] [throttle] [warehouse] [extract]``, keys are the field
names), environment variables (:data:`ENV_VARS`), then explicit overrides (CLI flags, the
demo). :func:`load_settings` reports every problem at once in one :class:`ConfigError`.
Secrets live in :class:`Secret`, which never prints its value; they are also registered with
:mod:`extract.redact` so no later message can leak them. Validation rules are in
:mod:`extract.config_rules`, the reading of each source in :mod:`extract.config_sources`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from extract.config_rules import (
    PII_ACTIONS,
    api_problems,
    extract_problems,
    throttle_problems,
    warehouse_problems,
)
from extract.config_sources import (
    SECTIONS,
    fields_of,
    parse_all,
    read_env,
    read_overrides,
    read_toml,
)
from extract.errors import ConfigError
from extract.redact import Secret, register_secret

__all__ = [
    "DEFAULT_PII_SALT",
    "ENV_VARS",
    "PII_ACTIONS",
    "ApiSettings",
    "ExtractSettings",
    "Secret",
    "Settings",
    "ThrottleSettings",
    "WarehouseSettings",
    "load_settings",
]

_T = TypeVar("_T")

# --- defaults -----------------------------------------------------------------------------

DEFAULT_SCOPE = "prod"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_MAX_RPS = 4.0
DEFAULT_MAX_INFLIGHT = 4
DEFAULT_MAX_RETRIES = 6
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_MAX_S = 60.0
DEFAULT_MIN_RPS = 0.2
DEFAULT_WAREHOUSE = Path("warehouse/norce.duckdb")
DEFAULT_MEMORY_LIMIT_MB = 256
DEFAULT_FILE_MODE = 0o640
DEFAULT_LOOKBACK = timedelta(hours=2)
DEFAULT_BATCH_ROWS = 50_000
DEFAULT_REPORTING_CURRENCY = "EUR"
DEFAULT_PII_SALT = "norce-warehouse-default-salt"
"""Used when ``NORCE_PII_SALT`` is unset. Hashes are then only as private as this public
string; ``Settings.default_salt`` is true and ``norce-wh doctor`` warns."""

ENV_VARS: dict[str, str] = {
    "NORCE_BASE_URL": "tenant root, e.g. https://acme.api-se.norce.tech (no /commerce/query)",
    "NORCE_CLIENT_ID": "OAuth2 client id of the Norce integration user",
    "NORCE_CLIENT_SECRET": "OAuth2 client secret of the integration user",
    "NORCE_SCOPE": "environment name sent as the token scope: prod, stage, playground",
    "NORCE_APPLICATION_IDS": "comma list of application ids (default: all in Core/Applications)",
    "NORCE_ENTITIES": "comma list of Namespace/EntitySet to load (default: whole catalog)",
    "NORCE_WAREHOUSE": "published read-only DuckDB file BI tools open",
    "NORCE_WORK_DATABASE": "DuckDB file the loader and dbt write before publishing",
    "NORCE_DUCKDB_MEMORY_MB": "DuckDB buffer cap of the loader in MiB (spills beyond it)",
    "NORCE_FILE_MODE": "octal permissions of new warehouse files (default 0640, less umask)",
    "NORCE_MAX_RPS": "most requests per second sent to the API host",
    "NORCE_MAX_INFLIGHT": "most requests in flight at once",
    "NORCE_MAX_RETRIES": "retries per request on 429, 5xx, network errors, bad bodies",
    "NORCE_REQUEST_BUDGET": "most API requests per run (unset: unlimited)",
    "NORCE_TIMEOUT_S": "seconds to wait for a response",
    "NORCE_LOOKBACK_MINUTES": "minutes re-read before the watermark on incremental loads",
    "NORCE_PII_SALT": "secret salt for hashing personal fields",
    "NORCE_PII_OVERRIDES": "per-column personal-data action, e.g. customers.FirstName=keep",
    "NORCE_KEY_SWEEP": "also sweep all keys to detect rows deleted at the source (true/false)",
    "NORCE_VERIFY_COUNTS": "compare loaded row counts with the API's $count (true/false)",
    "NORCE_REPORTING_CURRENCY": "ISO currency the marts report amounts in",
    "NORCE_CONFIG": "path of an optional TOML settings file",
}
"""Every environment variable the project reads, with a one-line meaning (docs, doctor)."""


# --- settings objects ---------------------------------------------------------------------


@dataclass(frozen=True)
class ApiSettings:
    """Where the Query API is and how to authenticate."""

    base_url: str
    """Tenant root, e.g. ``https://acme.api-se.norce.tech``; no trailing slash."""
    client_id: str
    """OAuth2 client id."""
    client_secret: Secret
    """OAuth2 client secret."""
    scope: str = DEFAULT_SCOPE
    """Environment name sent as the token ``scope`` (``prod``, ``stage``, ``playground``)."""
    application_ids: tuple[int, ...] | None = None
    """Applications to load; ``None`` means every one listed by ``Core/Applications``."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Seconds to wait for a response (read/write/pool)."""
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    """Seconds to wait for a connection."""

    def __post_init__(self) -> None:
        # Normalise once so every URL built from it has exactly one slash.
        object.__setattr__(self, "base_url", self.base_url.strip().rstrip("/"))
        problems = api_problems(self)
        if problems:
            raise ConfigError(problems)
        register_secret(self.client_secret.reveal())


@dataclass(frozen=True)
class ThrottleSettings:
    """How hard the API host may be used."""

    max_rps: float = DEFAULT_MAX_RPS
    """Most requests per second (token bucket rate and ceiling of recovery)."""
    max_inflight: int = DEFAULT_MAX_INFLIGHT
    """Most requests in flight at once, across all threads."""
    max_retries: int = DEFAULT_MAX_RETRIES
    """Retries per request after the first attempt."""
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    """First retry delay; doubles per attempt, jittered."""
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S
    """Longest single retry delay."""
    request_budget: int | None = None
    """Most requests per run; ``None`` is unlimited."""
    min_rps: float = DEFAULT_MIN_RPS
    """Floor the rate drops to after repeated 429s."""

    def __post_init__(self) -> None:
        problems = throttle_problems(self)
        if problems:
            raise ConfigError(problems)


@dataclass(frozen=True)
class WarehouseSettings:
    """Where the warehouse files are."""

    path: Path = DEFAULT_WAREHOUSE
    """Published read-only DuckDB file that BI tools open."""
    work_path: Path | None = None
    """File the loader and dbt write; ``None`` means ``path`` with ``.work.duckdb``."""
    memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB
    """DuckDB's buffer cap for the loader's connection (MiB); ``None``: DuckDB's default
    (80% of RAM). Merges spill to disk beyond it, so a load's memory stays flat however big
    the raw tables grow."""
    file_mode: int = DEFAULT_FILE_MODE
    """Permissions of warehouse files a run creates (published, working, WAL), less the
    umask; an existing published file keeps its mode. Default: owner and group only."""

    @property
    def work_database(self) -> Path:
        """The file a run writes before publishing it to :attr:`path`."""
        return (
            self.work_path if self.work_path is not None else self.path.with_suffix(".work.duckdb")
        )

    def __post_init__(self) -> None:
        problems = warehouse_problems(self)
        if problems:
            raise ConfigError(problems)


@dataclass(frozen=True)
class ExtractSettings:
    """What to extract and how to treat it."""

    entities: tuple[str, ...] | None = None
    """``Namespace/EntitySet`` names to load; ``None`` is the whole catalog."""
    lookback: timedelta = DEFAULT_LOOKBACK
    """Window re-read before the watermark, for rows that arrive late."""
    batch_rows: int = DEFAULT_BATCH_ROWS
    """Rows buffered before one load transaction commits data and state."""
    pii_salt: Secret = field(default_factory=lambda: Secret(DEFAULT_PII_SALT))
    """Salt for hashing personal fields."""
    pii_overrides: dict[str, str] = field(default_factory=dict)
    """``"table.Column" -> "keep" | "hash" | "drop"``, overriding the per-kind defaults."""
    key_sweep: bool = False
    """Also read every key to find rows deleted at the source."""
    verify_counts: bool = True
    """Compare loaded row counts with ``$count``."""
    reporting_currency: str = DEFAULT_REPORTING_CURRENCY
    """ISO 4217 code the marts convert amounts to."""

    def __post_init__(self) -> None:
        problems = extract_problems(self)
        if problems:
            raise ConfigError(problems)
        register_secret(self.pii_salt.reveal())


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated."""

    api: ApiSettings
    """Endpoint and credentials."""
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    """Rate and retry limits."""
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    """Warehouse file locations."""
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    """Entity selection, look-back, privacy."""
    default_salt: bool = False
    """True when ``NORCE_PII_SALT`` was not given and :data:`DEFAULT_PII_SALT` is in use."""


# --- loading ------------------------------------------------------------------------------

_CLASSES: dict[str, type[Any]] = {
    "api": ApiSettings,
    "throttle": ThrottleSettings,
    "warehouse": WarehouseSettings,
    "extract": ExtractSettings,
}
_REQUIRED_API: dict[str, object] = {"base_url": "", "client_id": "", "client_secret": Secret("")}

# Every dataclass field has exactly one source rule; fail at import if they drift apart.
for _section, _cls in _CLASSES.items():
    if {f.name for f in fields(_cls)} != set(fields_of(_section)):
        raise RuntimeError(f"extract.config_sources.FIELDS is out of date for [{_section}]")
if tuple(_CLASSES) != SECTIONS:
    raise RuntimeError("extract.config_sources.SECTIONS is out of date")


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Build validated settings from defaults, a TOML file, the environment and overrides.

    Args:
        env: Environment variables; ``None`` reads ``os.environ`` (the only place it is read).
            Empty values count as unset.
        config_file: TOML file; wins over ``NORCE_CONFIG``.
        overrides: Highest-priority values, keyed ``"section.field"`` (``"api.base_url"``)
            or ``{"section": {"field": value}}``; typed values, or text as in the
            environment. ``None`` restores the default.

    Returns:
        The settings. Their secrets are registered with :mod:`extract.redact`.

    Raises:
        ConfigError: Listing every problem found (unknown keys, unparsable values, missing
            credentials, unsafe or malformed base URL, out-of-range limits, ...). No message
            contains a secret value.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    problems: list[str] = []
    raw: dict[str, tuple[object, str]] = {}

    path = config_file
    if path is None and environ.get("NORCE_CONFIG", "").strip():
        path = Path(environ["NORCE_CONFIG"].strip()).expanduser()
    if path is not None:
        read_toml(path, raw, problems)
    read_env(environ, raw)
    if overrides:
        read_overrides(overrides, raw, problems)
    values = parse_all(raw, problems)

    default_salt = "pii_salt" not in values["extract"]
    # Missing credentials become empty values so the api rules report them with the rest.
    for name, empty in _REQUIRED_API.items():
        values["api"].setdefault(name, empty)
    built: dict[str, object] = {}
    for section, cls in _CLASSES.items():
        try:
            built[section] = cls(**values[section])
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return Settings(
        api=_typed(built["api"], ApiSettings),
        throttle=_typed(built["throttle"], ThrottleSettings),
        warehouse=_typed(built["warehouse"], WarehouseSettings),
        extract=_typed(built["extract"], ExtractSettings),
        default_salt=default_salt,
    )


def _typed(value: object, cls: type[_T]) -> _T:
    if not isinstance(value, cls):  # pragma: no cover - guarded by the field table
        raise TypeError(f"expected {cls.__name__}")
    return value
