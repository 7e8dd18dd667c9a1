"""Each setting is declared once; the README table and ENV_VARS are derived from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from extract.settings import ENV_VARS
from extract.settings.declare import Setting
from extract.settings.docs import configuration_table
from extract.settings.sections import SECTIONS
from extract.settings.sources import DECLARED

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_configuration_table_is_the_generated_one() -> None:
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1]
    section = section.split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table == configuration_table(), "run `python -m extract.settings.docs`"


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_field_is_declared_with_its_parser_and_help(section: str) -> None:
    for f in dataclasses.fields(SECTIONS[section]):
        declaration = f.metadata.get("setting")
        assert isinstance(declaration, Setting), f"{section}.{f.name}"
        assert declaration.help and "\n" not in declaration.help
        assert f"{section}.{f.name}" in DECLARED


def test_env_vars_are_the_declared_variables() -> None:
    declared = {d.declaration.env: d.declaration.help for d in DECLARED.values()}
    assert {k: v for k, v in ENV_VARS.items() if k != "NORCE_CONFIG"} == {
        k: v for k, v in declared.items() if k
    }
