"""What people read about the settings, derived from their declarations.

:data:`ENV_VARS` (every variable the project reads, with its meaning) and
:func:`configuration_table` (the README's configuration table) are built from the
declarations in :mod:`extract.settings.sections`; a test keeps the README equal to the table.
Run ``python -m extract.settings.docs`` to print the table after changing a setting.
"""

from __future__ import annotations

from dataclasses import MISSING
from datetime import timedelta
from pathlib import Path

from extract.settings.declare import Declared
from extract.settings.sources import CONFIG_ENV, DECLARED

__all__ = ["ENV_VARS", "configuration_table"]

_CONFIG_HELP = "path of an optional TOML settings file"
_NONE = "\u2013"  # an en dash: "no variable" in the table

ENV_VARS: dict[str, str] = {
    **{d.declaration.env: d.declaration.help for d in DECLARED.values() if d.declaration.env},
    CONFIG_ENV: _CONFIG_HELP,
}
"""Every environment variable the project reads, with a one-line meaning."""


def configuration_table() -> str:
    """The README configuration table: setting, environment variable, default, meaning."""
    lines = [
        "| setting | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for d in DECLARED.values():
        env = f"`{d.declaration.env}`" if d.declaration.env else _NONE
        lines.append(f"| `{d.key}` | {env} | {_default(d)} | {d.declaration.help} |")
    lines.append(f"| {_NONE} | `{CONFIG_ENV}` | none | {_CONFIG_HELP} |")
    return "\n".join(lines)


def _default(d: Declared) -> str:
    if d.declaration.shown is not None:
        return d.declaration.shown
    value = d.default
    if value is MISSING or value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if isinstance(value, timedelta):
        return f"`{value.total_seconds() / 60:g}`"
    if isinstance(value, Path):
        return f"`{value.as_posix()}`"
    return f"`{value}`"


if __name__ == "__main__":
    print(configuration_table())
