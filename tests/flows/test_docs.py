"""The README documents every setting and every command (docs stay honest)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from extract.settings import ENV_VARS
from flows.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def _config_table_rows(text: str) -> dict[str, str]:
    """Env var -> its row in the configuration table."""
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\|[^|]*\| `(NORCE_[A-Z_]+)` \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


@pytest.mark.parametrize("var", sorted(ENV_VARS))
def test_every_env_var_has_a_row_in_the_configuration_table(readme: str, var: str) -> None:
    rows = _config_table_rows(readme)
    assert var in rows, f"{var} is missing from the README configuration table"
    cells = [c.strip() for c in rows[var].strip("|").split("|")]
    assert len(cells) == 4 and all(cells), f"{var}: setting, variable, default, meaning"


def test_configuration_table_lists_no_unknown_variables(readme: str) -> None:
    assert set(_config_table_rows(readme)) <= set(ENV_VARS)


def _commands() -> list[str]:
    ctx = click.Context(main)
    return main.list_commands(ctx)


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented(readme: str, command: str) -> None:
    assert f"`norce-wh {command}" in readme, f"norce-wh {command} is not in the README"


def test_commands_include_the_operator_surface() -> None:
    assert {"demo", "run", "extract", "serve", "status", "doctor", "simulate", "erase"} <= set(
        _commands()
    )


def test_every_exit_code_is_in_the_troubleshooting_table(readme: str) -> None:
    section = readme.split("## Troubleshooting", 1)[1]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.M)}
    assert documented >= {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
