"""Read settings from a TOML file, the environment and overrides; validate them all at once.

Sources, in increasing priority: the declared defaults, an optional TOML file
(``NORCE_CONFIG`` or ``config_file``; tables ``[api] [throttle] [warehouse] [extract]``, keys
are the field names), environment variables, then explicit overrides (CLI flags, the demo).
Which variable and which parser belong to a setting comes from its declaration
(:mod:`extract.settings.declare`); nothing here lists settings by name. Every problem --
unknown keys, unparsable values, invalid combinations -- ends up in one
:class:`~extract.errors.ConfigError`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from extract.errors import ConfigError
from extract.redact import Secret
from extract.settings.declare import Declared, declared
from extract.settings.parsers import Invalid
from extract.settings.sections import SECTIONS, Settings

__all__ = ["CONFIG_ENV", "DECLARED", "load_settings"]

CONFIG_ENV = "NORCE_CONFIG"
"""Environment variable naming the optional TOML settings file."""

DECLARED: dict[str, Declared] = {
    d.key: d for section, cls in SECTIONS.items() for d in declared(section, cls)
}
"""Every setting, keyed ``section.field``, in section and field order."""

_REQUIRED_API: dict[str, object] = {"base_url": "", "client_id": "", "client_secret": Secret("")}
"""Missing credentials become empty values, so the api rules report them with the rest."""

Raw = dict[str, tuple[object, str]]
"""``"section.field" -> (value, where it came from)``; later sources overwrite earlier."""


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
    raw: Raw = {}
    path = config_file
    if path is None and environ.get(CONFIG_ENV, "").strip():
        path = Path(environ[CONFIG_ENV].strip()).expanduser()
    if path is not None:
        _read_toml(path, raw, problems)
    _read_env(environ, raw)
    if overrides:
        _read_overrides(overrides, raw, problems)
    values = _parse_all(raw, problems)
    default_salt = "pii_salt" not in values["extract"]
    for name, empty in _REQUIRED_API.items():
        values["api"].setdefault(name, empty)
    built: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        try:
            built[section] = cls(**values[section])
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return Settings(**built, default_salt=default_salt)


def _read_toml(path: Path, raw: Raw, problems: list[str]) -> None:
    """Add the values of a TOML settings file; unknown tables and keys are problems."""
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        problems.append(f"config file {path} does not exist ({CONFIG_ENV} or --config)")
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
            if key not in DECLARED:
                problems.append(f"{path}: unknown key {name!r} in [{section}]")
                continue
            raw[key] = (value, f"{path} [{section}] {name}")


def _read_env(environ: Mapping[str, str], raw: Raw) -> None:
    """Add the values of the declared ``NORCE_*`` variables; empty counts as unset."""
    for key, d in DECLARED.items():
        if d.declaration.env is not None:
            value = environ.get(d.declaration.env)
            if value is not None and value.strip():
                raw[key] = (value, d.declaration.env)


def _read_overrides(overrides: Mapping[str, object], raw: Raw, problems: list[str]) -> None:
    """Add overrides (``"section.field"`` or ``{"section": {...}}``); ``None`` = default."""
    flat: list[tuple[str, object]] = []
    for key, value in overrides.items():
        if key in SECTIONS and isinstance(value, Mapping):
            flat.extend((f"{key}.{name}", v) for name, v in value.items())
        else:
            flat.append((key, value))
    for key, value in flat:
        if key not in DECLARED:
            problems.append(f"unknown setting override {key!r}")
        elif value is None:
            # For optional settings the default is None, so this also means "none".
            raw.pop(key, None)
        else:
            raw[key] = (value, f"override {key}")


def _parse_all(raw: Raw, problems: list[str]) -> dict[str, dict[str, Any]]:
    """Parse every raw value; returns ``section -> {field: value}`` of those that parsed."""
    values: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for key, (value, source) in raw.items():
        d = DECLARED[key]
        try:
            values[d.section][d.name] = d.declaration.parse(value)
        except Invalid as exc:
            shown = "" if d.declaration.secret else f" {_show(value)}"
            problems.append(f"{source}{shown}: {exc}")
    return values


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
