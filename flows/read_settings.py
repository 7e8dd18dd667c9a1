"""Where the warehouse files are, for commands that only read them.

``status``, ``sql``, ``docs`` and ``report`` open the published file and never talk to the
API, so they must not need ``NORCE_BASE_URL`` or credentials (``norce-wh status`` right
after ``make demo`` has none set). They read only the warehouse locations, from the same
sources and with the same priority as :func:`extract.settings.load_settings`: the
``[warehouse]`` table of the TOML file (``--config`` or ``NORCE_CONFIG``), then
``NORCE_WAREHOUSE`` and ``NORCE_WORK_DATABASE``. Problems are reported at once, as one
:class:`~extract.errors.ConfigError`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from extract.errors import ConfigError
from extract.settings import WarehouseSettings

__all__ = ["READ_ENV_VARS", "warehouse_settings"]

READ_ENV_VARS: dict[str, str] = {"path": "NORCE_WAREHOUSE", "work_path": "NORCE_WORK_DATABASE"}
"""The warehouse fields a reading command needs, and the variable each comes from."""


def warehouse_settings(
    config_file: Path | None = None, env: Mapping[str, str] | None = None
) -> WarehouseSettings:
    """The warehouse locations, without any API setting.

    Args:
        config_file: TOML settings file; wins over ``NORCE_CONFIG``.
        env: Environment variables; ``None`` reads ``os.environ``. Empty values are unset.

    Returns:
        The warehouse settings (published file and working file).

    Raises:
        ConfigError: The settings file is missing or unreadable, or a path is invalid.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    problems: list[str] = []
    values: dict[str, object] = {}
    path = config_file
    if path is None and environ.get("NORCE_CONFIG", "").strip():
        path = Path(environ["NORCE_CONFIG"].strip())
    if path is not None:
        values.update(_toml_warehouse(path.expanduser(), problems))
    for name, variable in READ_ENV_VARS.items():
        if environ.get(variable, "").strip():
            values[name] = environ[variable]
    typed: dict[str, object] = {}
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(f"warehouse.{name} must be a file path, got {value!r}")
        else:
            typed[name] = Path(value.strip()).expanduser()
    if problems:
        raise ConfigError(problems)
    return WarehouseSettings(**typed)  # type: ignore[arg-type]


def _toml_warehouse(path: Path, problems: list[str]) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        problems.append(f"config file {path} does not exist (NORCE_CONFIG or --config)")
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"config file {path} cannot be read: {exc}")
        return {}
    table = doc.get("warehouse", {})
    if not isinstance(table, dict):
        problems.append(f"{path}: warehouse must be a table [warehouse]")
        return {}
    return {name: table[name] for name in READ_ENV_VARS if name in table}
