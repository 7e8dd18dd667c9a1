"""The settings sections: one frozen dataclass per concern, each setting declared once.

Every field is declared with :func:`~extract.settings.declare.setting`: its default, the
environment variable that sets it, its parser and its one-line help sit on the field (the
README table and ``ENV_VARS`` are derived from them). ``__post_init__`` validates the
section with :mod:`extract.settings.rules`, so a settings object that exists is valid however
it was built. Secrets are :class:`~extract.redact.Secret` and are registered with
:mod:`extract.redact` so no later message can show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from extract.errors import ConfigError
from extract.redact import Secret, register_secret
from extract.settings.declare import setting
from extract.settings.parsers import (
    parse_bool,
    parse_float,
    parse_int,
    parse_int_tuple,
    parse_minutes,
    parse_mode,
    parse_opt_currency,
    parse_opt_float,
    parse_opt_int,
    parse_opt_path,
    parse_path,
    parse_pii,
    parse_secret,
    parse_str,
    parse_str_tuple,
    parse_url,
)
from extract.settings.rules import (
    api_problems,
    extract_problems,
    throttle_problems,
    warehouse_problems,
)

__all__ = [
    "DEFAULT_FILE_MODE",
    "DEFAULT_PII_SALT",
    "ApiSettings",
    "ExtractSettings",
    "Settings",
    "ThrottleSettings",
    "WarehouseSettings",
]

DEFAULT_PII_SALT = "norce-warehouse-default-salt"
"""Used when ``NORCE_PII_SALT`` is unset. Hashes are then only as private as this public
string; ``Settings.default_salt`` is true and ``norce-wh doctor`` warns."""

DEADLINE_TIMEOUTS = 4.0
"""A reply's default deadline, in read timeouts (``NORCE_TIMEOUT_S``)."""

DEFAULT_FILE_MODE = 0o640
"""Warehouse files a run creates are owner/group-only: they hold hashed personal data."""


@dataclass(frozen=True)
class ApiSettings:
    """Where the Query API is and how to authenticate."""

    base_url: str = setting(
        parse=parse_url,
        env="NORCE_BASE_URL",
        shown="none (required)",
        help="tenant root, e.g. `https://acme.api-se.norce.tech`; the client appends "
        "`/commerce/query/2.0/…` and `/identity/1.0/connect/token`; https required except "
        "for loopback",
    )
    client_id: str = setting(
        parse=parse_str,
        env="NORCE_CLIENT_ID",
        shown="none (required)",
        help="OAuth2 client id of the Norce integration user",
    )
    client_secret: Secret = setting(
        parse=parse_secret,
        env="NORCE_CLIENT_SECRET",
        shown="none (required)",
        secret=True,
        help="its secret; never logged or stored",
    )
    scope: str = setting(
        "prod",
        parse=parse_str,
        env="NORCE_SCOPE",
        help="environment name sent as the token scope: `prod`, `stage`, `playground`",
    )
    application_ids: tuple[int, ...] | None = setting(
        None,
        parse=parse_int_tuple,
        env="NORCE_APPLICATION_IDS",
        shown="all in `Core/Applications`",
        help="comma list of application ids to load",
    )
    context_application_id: int | None = setting(
        None,
        parse=parse_opt_int,
        env="NORCE_CONTEXT_APPLICATION_ID",
        shown="the first application loaded",
        help="`applicationId` header of calls not tied to one application (`Core/Applications`, "
        "`$metadata`, client-wide sets); unset: listing the applications is tried without the "
        "header, then with `0`, and later calls send the first application loaded",
    )
    timeout_s: float = setting(
        30.0, parse=parse_float, env="NORCE_TIMEOUT_S", help="seconds to wait for a response"
    )
    connect_timeout_s: float = setting(
        10.0, parse=parse_float, help="seconds to wait for a connection"
    )
    reply_deadline_s: float | None = setting(
        None,
        parse=parse_opt_float,
        env="NORCE_REPLY_DEADLINE_S",
        shown="4 x `NORCE_TIMEOUT_S`",
        help="most seconds one reply may take from request to last byte (a server sending "
        "a byte at a time fails that request, which is retried)",
    )
    max_reply_mb: int = setting(
        64,
        parse=parse_int,
        env="NORCE_MAX_REPLY_MB",
        help="largest page accepted (MiB, decoded: a gzip bomb is stopped by what it "
        "inflates to); a bigger one is retried, then shrunk",
    )
    max_metadata_mb: int = setting(
        32,
        parse=parse_int,
        env="NORCE_MAX_METADATA_MB",
        help="largest `$metadata` document accepted (MiB); a bigger one stops the run",
    )

    @property
    def deadline_s(self) -> float:
        """Seconds one reply may take: :attr:`reply_deadline_s`, else 4 x the timeout."""
        if self.reply_deadline_s is not None:
            return self.reply_deadline_s
        return DEADLINE_TIMEOUTS * self.timeout_s

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

    max_rps: float = setting(
        4.0, parse=parse_float, env="NORCE_MAX_RPS", help="most requests per second to the API host"
    )
    max_inflight: int = setting(
        4,
        parse=parse_int,
        env="NORCE_MAX_INFLIGHT",
        help="most requests in flight at once (also the number of partitions extracted "
        "concurrently)",
    )
    max_retries: int = setting(
        6,
        parse=parse_int,
        env="NORCE_MAX_RETRIES",
        help="retries per request on 429, 5xx, network errors, bad bodies",
    )
    backoff_base_s: float = setting(
        0.5, parse=parse_float, help="first retry delay in seconds; doubles per retry, jittered"
    )
    backoff_max_s: float = setting(60.0, parse=parse_float, help="longest single retry delay")
    request_budget: int | None = setting(
        None,
        parse=parse_opt_int,
        env="NORCE_REQUEST_BUDGET",
        shown="unlimited",
        help="most API requests per run; the next run resumes where it stopped",
    )
    min_rps: float = setting(
        0.2, parse=parse_float, help="floor the request rate drops to after repeated 429s"
    )
    rate_limit_patience_s: float = setting(
        180.0,
        parse=parse_float,
        env="NORCE_RATE_LIMIT_PATIENCE_S",
        help="seconds one request keeps waiting out 429s that give no `Retry-After` (a "
        "per-minute quota: waits reach the end of its window) before it fails",
    )

    def __post_init__(self) -> None:
        problems = throttle_problems(self)
        if problems:
            raise ConfigError(problems)


@dataclass(frozen=True)
class WarehouseSettings:
    """Where the warehouse files are."""

    path: Path = setting(
        Path("warehouse/norce.duckdb"),
        parse=parse_path,
        env="NORCE_WAREHOUSE",
        help="the published, read-only DuckDB file BI tools open",
    )
    work_path: Path | None = setting(
        None,
        parse=parse_opt_path,
        env="NORCE_WORK_DATABASE",
        shown="`NORCE_WAREHOUSE` with `.work.duckdb`",
        help="the file the loader and dbt write before publishing",
    )
    memory_limit_mb: int | None = setting(
        64,
        parse=parse_opt_int,
        env="NORCE_DUCKDB_MEMORY_MB",
        help="DuckDB buffer cap of the loader (MiB); merges spill to disk beyond it, so memory "
        "stays flat as tables grow",
    )
    duckdb_threads: int = setting(
        1,
        parse=parse_int,
        env="NORCE_DUCKDB_THREADS",
        help="worker threads of the loader's DuckDB connection. The loader's parallelism is its "
        "partitions (`NORCE_MAX_INFLIGHT`); one DuckDB thread keeps up with them and leaves "
        "the cores to decoding (on 2 cores: 5 to 14% less CPU, up to 12% more rows/s than "
        "one thread per core)",
    )
    checkpoint_mb: int = setting(
        64,
        parse=parse_int,
        env="NORCE_DUCKDB_CHECKPOINT_MB",
        help="write-ahead log size (MiB) at which the loader's DuckDB connection checkpoints, at "
        "most `NORCE_DUCKDB_MEMORY_MB`. Each checkpoint rewrites the last, partly filled row "
        "group of every table it touched: at DuckDB's 16 MiB nearly every commit does (measured "
        "at 300k orders: 11% fewer rows/s). The log is replayed after a crash either way. "
        'A checkpoint DuckDB fails under the cap (a fatal "failed to pin block") is done '
        "again with 4x the cap (at least 256 MiB)",
    )
    dbt_memory_limit_mb: int | None = setting(
        None,
        parse=parse_opt_int,
        env="NORCE_DBT_MEMORY_MB",
        shown="80% of RAM",
        help="DuckDB memory cap of the dbt build (MiB), for a machine shared with other work; "
        "a build that needs more fails with DuckDB's out-of-memory error (a full build at "
        "300,000 orders needs 1 to 2 GiB)",
    )
    full_tests_every_h: float = setting(
        24.0,
        parse=parse_float,
        env="NORCE_FULL_TESTS_EVERY_H",
        help="hours between runs whose dbt data tests check every row; the runs between test "
        "the rows loaded since the last build. `0`: every row on every run",
    )
    file_mode: int = setting(
        DEFAULT_FILE_MODE,
        parse=parse_mode,
        env="NORCE_FILE_MODE",
        shown="`0640`",
        help="octal permissions of warehouse files a run creates (published file, working file "
        "and its WAL, pages beside it), less the umask; an existing published file keeps its "
        "mode. `0644` lets every local user read the warehouse",
    )

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

    entities: tuple[str, ...] | None = setting(
        None,
        parse=parse_str_tuple,
        env="NORCE_ENTITIES",
        shown="the whole catalog",
        help="comma list of `Namespace/EntitySet` to load (also `--entities`)",
    )
    lookback: timedelta = setting(
        timedelta(hours=2),
        parse=parse_minutes,
        env="NORCE_LOOKBACK_MINUTES",
        shown="`120`",
        help="minutes re-read before the watermark, for rows that arrive late",
    )
    batch_rows: int = setting(
        20_000,
        parse=parse_int,
        help="rows buffered before one load transaction commits data and state",
    )
    pii_salt: Secret = setting(
        factory=lambda: Secret(DEFAULT_PII_SALT),
        parse=parse_secret,
        env="NORCE_PII_SALT",
        shown="a public default (doctor warns)",
        secret=True,
        help="secret salt for hashing personal fields (e-mails)",
    )
    pii_overrides: dict[str, str] = setting(
        factory=dict,
        parse=parse_pii,
        env="NORCE_PII_OVERRIDES",
        shown="e-mails hashed; names, phones, streets not fetched",
        help="per-column action, e.g. `customers.FirstName=keep,orders.Buyer_EmailAddress=drop`",
    )
    key_sweep: bool = setting(
        False,
        parse=parse_bool,
        env="NORCE_KEY_SWEEP",
        help="also read every key to detect rows deleted at the source",
    )
    verify_counts: bool = setting(
        True,
        parse=parse_bool,
        env="NORCE_VERIFY_COUNTS",
        help="compare loaded row counts with the API's `$count`",
    )
    reporting_currency: str | None = setting(
        None,
        parse=parse_opt_currency,
        env="NORCE_REPORTING_CURRENCY",
        shown="the client's primary currency",
        help="ISO currency the marts report amounts in (`*_rc` columns); unset: the primary "
        "currency in `Application/ClientCurrencies`",
    )

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


SECTIONS: dict[str, type[ApiSettings | ThrottleSettings | WarehouseSettings | ExtractSettings]] = {
    "api": ApiSettings,
    "throttle": ThrottleSettings,
    "warehouse": WarehouseSettings,
    "extract": ExtractSettings,
}
"""TOML tables and settings sections, in order."""
