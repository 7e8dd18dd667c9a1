"""Raw setting values from a TOML file, the environment and overrides, parsed to types.

One row per setting in :data:`FIELDS` says which section and field it fills, which
environment variable sets it, and how text (or a TOML/override value) becomes the typed
value. Parse failures are collected, never raised one at a time.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from extract.redact import Secret

SECTIONS = ("api", "throttle", "warehouse", "extract")
"""TOML tables and settings sections, in order."""


class Invalid(ValueError):
    """A value could not be parsed; the text says what was expected (never the value)."""


def parse_str(v: object) -> str:
    """Text, stripped."""
    if not isinstance(v, str):
        raise Invalid("expected text")
    return v.strip()


def parse_url(v: object) -> str:
    """Text without trailing slashes."""
    return parse_str(v).rstrip("/")


def parse_secret(v: object) -> Secret:
    """A :class:`Secret` (kept as given: secrets may legitimately have outer spaces)."""
    if isinstance(v, Secret):
        return v
    if not isinstance(v, str):
        raise Invalid("expected text")
    return Secret(v)


def parse_float(v: object) -> float:
    """A number."""
    if isinstance(v, bool):
        raise Invalid("expected a number")
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(parse_str(v))
    except ValueError:
        raise Invalid("expected a number") from None


def parse_int(v: object) -> int:
    """A whole number."""
    if isinstance(v, bool):
        raise Invalid("expected a whole number")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    try:
        return int(parse_str(v))
    except ValueError:
        raise Invalid("expected a whole number") from None


def parse_opt_int(v: object) -> int | None:
    """A whole number or ``None``."""
    return None if v is None else parse_int(v)


def _items(v: object) -> list[object]:
    if isinstance(v, str):
        return [part.strip() for part in v.split(",") if part.strip()]
    if isinstance(v, list | tuple):
        return list(v)
    raise Invalid("expected a comma list")


def parse_int_tuple(v: object) -> tuple[int, ...] | None:
    """A comma list (or list) of whole numbers."""
    if v is None:
        return None
    try:
        return tuple(parse_int(item) for item in _items(v))
    except Invalid:
        raise Invalid("expected a comma list of whole numbers") from None


def parse_str_tuple(v: object) -> tuple[str, ...] | None:
    """A comma list (or list) of names."""
    if v is None:
        return None
    return tuple(parse_str(item) for item in _items(v))


def parse_path(v: object) -> Path:
    """A file path; ``~`` is expanded."""
    if isinstance(v, Path):
        return v
    text = parse_str(v)
    if not text:
        raise Invalid("expected a file path")
    return Path(text).expanduser()


def parse_opt_path(v: object) -> Path | None:
    """A file path or ``None``."""
    return None if v is None else parse_path(v)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(v: object) -> bool:
    """``true/false``, ``yes/no``, ``on/off``, ``1/0``."""
    if isinstance(v, bool):
        return v
    text = parse_str(v).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid("expected true or false")


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNIT_MINUTES = {"s": 1 / 60, "m": 1.0, "": 1.0, "h": 60.0, "d": 1440.0}


def parse_minutes(v: object) -> timedelta:
    """Numbers are minutes; text may carry a unit (``90m``, ``2h``, ``1d``, ``30s``)."""
    if isinstance(v, timedelta):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        minutes = float(v)
    else:
        match = _DURATION.match(parse_str(v).lower())
        if not match:
            raise Invalid("expected minutes (e.g. 120) or a duration like 2h")
        minutes = float(match.group(1)) * _UNIT_MINUTES[match.group(2)]
    if not math.isfinite(minutes):
        raise Invalid("expected a finite number of minutes")
    return timedelta(minutes=minutes)


def parse_pii(v: object) -> dict[str, str]:
    """``table.Column=action`` pairs (comma list) or a mapping (TOML table)."""
    if isinstance(v, Mapping):
        return {str(k).strip(): parse_str(a).lower() for k, a in v.items()}
    result: dict[str, str] = {}
    for item in _items(v):
        column, sep, action = parse_str(item).partition("=")
        if not sep:
            raise Invalid("expected table.Column=action pairs separated by commas")
        result[column.strip()] = action.strip().lower()
    return result


def parse_mode(v: object) -> int:
    """File permissions in octal (``0640``, ``640``, ``0o640``) or a TOML ``0o640``."""
    if isinstance(v, int) and not isinstance(v, bool):
        mode = v
    else:
        try:
            mode = int(parse_str(v).lower().removeprefix("0o"), 8)
        except ValueError:
            raise Invalid("expected an octal file mode like 0640") from None
    if not 0 <= mode <= 0o777 or mode & 0o600 != 0o600:
        raise Invalid("expected an octal file mode like 0640 that lets the owner read and write")
    return mode


def parse_currency(v: object) -> str:
    """An ISO currency code, upper-cased."""
    return parse_str(v).upper()


@dataclass(frozen=True)
class FieldRule:
    """How one settings field is read."""

    section: str
    name: str
    parse: Callable[[object], Any]
    env: str | None = None
    secret: bool = False

    @property
    def key(self) -> str:
        """``section.name``, the override key."""
        return f"{self.section}.{self.name}"


FIELDS: tuple[FieldRule, ...] = (
    FieldRule("api", "base_url", parse_url, "NORCE_BASE_URL"),
    FieldRule("api", "client_id", parse_str, "NORCE_CLIENT_ID"),
    FieldRule("api", "client_secret", parse_secret, "NORCE_CLIENT_SECRET", secret=True),
    FieldRule("api", "scope", parse_str, "NORCE_SCOPE"),
    FieldRule("api", "application_ids", parse_int_tuple, "NORCE_APPLICATION_IDS"),
    FieldRule("api", "timeout_s", parse_float, "NORCE_TIMEOUT_S"),
    FieldRule("api", "connect_timeout_s", parse_float),
    FieldRule("throttle", "max_rps", parse_float, "NORCE_MAX_RPS"),
    FieldRule("throttle", "max_inflight", parse_int, "NORCE_MAX_INFLIGHT"),
    FieldRule("throttle", "max_retries", parse_int, "NORCE_MAX_RETRIES"),
    FieldRule("throttle", "backoff_base_s", parse_float),
    FieldRule("throttle", "backoff_max_s", parse_float),
    FieldRule("throttle", "request_budget", parse_opt_int, "NORCE_REQUEST_BUDGET"),
    FieldRule("throttle", "min_rps", parse_float),
    FieldRule("warehouse", "path", parse_path, "NORCE_WAREHOUSE"),
    FieldRule("warehouse", "work_path", parse_opt_path, "NORCE_WORK_DATABASE"),
    FieldRule("warehouse", "memory_limit_mb", parse_opt_int, "NORCE_DUCKDB_MEMORY_MB"),
    FieldRule("warehouse", "file_mode", parse_mode, "NORCE_FILE_MODE"),
    FieldRule("extract", "entities", parse_str_tuple, "NORCE_ENTITIES"),
    FieldRule("extract", "lookback", parse_minutes, "NORCE_LOOKBACK_MINUTES"),
    FieldRule("extract", "batch_rows", parse_int),
    FieldRule("extract", "pii_salt", parse_secret, "NORCE_PII_SALT", secret=True),
    FieldRule("extract", "pii_overrides", parse_pii, "NORCE_PII_OVERRIDES"),
    FieldRule("extract", "key_sweep", parse_bool, "NORCE_KEY_SWEEP"),
    FieldRule("extract", "verify_counts", parse_bool, "NORCE_VERIFY_COUNTS"),
    FieldRule("extract", "reporting_currency", parse_currency, "NORCE_REPORTING_CURRENCY"),
)
BY_KEY: dict[str, FieldRule] = {f.key: f for f in FIELDS}

Raw = dict[str, tuple[object, str]]
"""``"section.field" -> (value, where it came from)``; later sources overwrite earlier."""


def read_toml(path: Path, raw: Raw, problems: list[str]) -> None:
    """Add the values of a TOML settings file to ``raw``; unknown tables/keys are problems."""
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        problems.append(f"config file {path} does not exist (NORCE_CONFIG or --config)")
        return
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"config file {path} cannot be read: {exc}")
        return
    for section, table in doc.items():
        if section not in SECTIONS:
            known = ", ".join(f"[{s}]" for s in SECTIONS)
            problems.append(f"{path}: unknown table [{section}]; use one of {known}")
            continue
        if not isinstance(table, dict):
            problems.append(f"{path}: {section} must be a table [{section}]")
            continue
        for name, value in table.items():
            key = f"{section}.{name}"
            if key not in BY_KEY:
                problems.append(f"{path}: unknown key {name!r} in [{section}]")
                continue
            raw[key] = (value, f"{path} [{section}] {name}")


def read_env(environ: Mapping[str, str], raw: Raw) -> None:
    """Add the values of the ``NORCE_*`` variables to ``raw``; empty counts as unset."""
    for f in FIELDS:
        if f.env is not None:
            value = environ.get(f.env)
            if value is not None and value.strip():
                raw[f.key] = (value, f.env)


def read_overrides(overrides: Mapping[str, object], raw: Raw, problems: list[str]) -> None:
    """Add overrides (``"section.field"`` or ``{"section": {...}}``); ``None`` = default."""
    flat: list[tuple[str, object]] = []
    for key, value in overrides.items():
        if key in SECTIONS and isinstance(value, Mapping):
            flat.extend((f"{key}.{name}", v) for name, v in value.items())
        else:
            flat.append((key, value))
    for key, value in flat:
        if key not in BY_KEY:
            problems.append(f"unknown setting override {key!r}")
        elif value is None:
            # For optional settings the default is None, so this also means "none".
            raw.pop(key, None)
        else:
            raw[key] = (value, f"override {key}")


def parse_all(raw: Raw, problems: list[str]) -> dict[str, dict[str, object]]:
    """Parse every raw value; returns ``section -> {field: value}`` of those that parsed."""
    values: dict[str, dict[str, object]] = {section: {} for section in SECTIONS}
    for key, (value, source) in raw.items():
        rule = BY_KEY[key]
        try:
            values[rule.section][rule.name] = rule.parse(value)
        except Invalid as exc:
            shown = "" if rule.secret else f" {_show(value)}"
            problems.append(f"{source}{shown}: {exc}")
    return values


def fields_of(section: str) -> Iterable[str]:
    """Names of the fields a section's rules fill."""
    return (f.name for f in FIELDS if f.section == section)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
