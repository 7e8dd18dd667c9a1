"""Parsers for setting values: text (environment) or typed values (TOML, overrides) -> type.

Each parser raises :class:`Invalid` with what was expected -- never the value, which may be
a secret. :mod:`extract.settings.sources` collects the failures, so all are reported at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from extract.redact import Secret


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


def parse_opt_float(v: object) -> float | None:
    """A number or ``None``."""
    return None if v is None else parse_float(v)


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
    """File permissions in octal (``0640``, ``640``, ``0o640``) or a TOML integer ``0o640``."""
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


def parse_opt_currency(v: object) -> str | None:
    """An ISO currency code, upper-cased; empty text means unset."""
    return parse_currency(v) or None
