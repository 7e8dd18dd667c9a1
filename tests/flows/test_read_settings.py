"""Commands that only read the warehouse take its location without any API setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract.errors import ConfigError
from flows.read_settings import warehouse_settings


def test_defaults_need_nothing() -> None:
    w = warehouse_settings(env={})
    assert w.path == Path("warehouse/norce.duckdb")
    assert w.work_database == Path("warehouse/norce.work.duckdb")


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "norce.toml"
    toml.write_text(
        '[api]\nbase_url = "not checked here"\n'
        '[warehouse]\npath = "/srv/a.duckdb"\nwork_path = "/srv/a.tmp.duckdb"\n'
    )
    from_file = warehouse_settings(env={"NORCE_CONFIG": str(toml)})
    assert (from_file.path, from_file.work_database) == (
        Path("/srv/a.duckdb"),
        Path("/srv/a.tmp.duckdb"),
    )
    env = {"NORCE_WAREHOUSE": "/data/b.duckdb", "NORCE_WORK_DATABASE": ""}
    both = warehouse_settings(toml, env=env)
    assert both.path == Path("/data/b.duckdb")
    assert both.work_database == Path("/srv/a.tmp.duckdb")


def test_problems_are_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        warehouse_settings(tmp_path / "missing.toml", env={})
    assert "missing.toml does not exist" in str(err.value)
    same = {"NORCE_WAREHOUSE": "/x.duckdb", "NORCE_WORK_DATABASE": "/x.duckdb"}
    with pytest.raises(ConfigError, match="must differ"):
        warehouse_settings(env=same)
