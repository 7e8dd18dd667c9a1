"""`norce-wh demo`: the whole pipeline against the bundled simulator, and its guard."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from flows.cli import main
from flows.demo import QUESTIONS

_LOGGERS = ("extract", "flows", "httpx")


@pytest.fixture(autouse=True)
def _restore_process_state() -> Iterator[None]:
    """The demo sets NORCE_* in its process and the CLI configures logging: undo both."""
    env = dict(os.environ)
    loggers = {
        name: (list(lg.handlers), lg.level, lg.propagate)
        for name in _LOGGERS
        for lg in [logging.getLogger(name)]
    }
    yield
    os.environ.clear()
    os.environ.update(env)
    for name, (handlers, level, propagate) in loggers.items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def test_demo_refuses_to_overwrite_a_real_warehouse(tmp_path: Path) -> None:
    target = tmp_path / "norce.duckdb"
    duckdb.connect(str(target)).close()  # exists, and has no meta.demo
    result = CliRunner().invoke(main, ["demo", "--warehouse", str(target)])
    assert result.exit_code == 8
    assert "did not create" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_demo_runs_end_to_end_and_answers_its_questions(tmp_path: Path) -> None:
    target = tmp_path / "demo" / "norce.duckdb"
    result = CliRunner().invoke(main, ["demo", "--scale", "0.02", "--warehouse", str(target)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"extract status\s+ok\n", out)
    for title, _ in QUESTIONS:
        assert title in out
    assert f"NORCE_WAREHOUSE={target} norce-wh sql" in out
    suggested = out.split("Explore it yourself:", 1)[1]
    assert not re.search(r"^\s*duckdb\s", suggested, flags=re.M)  # no command we do not install
    assert target.with_name("norce.docs.html").is_file()
    assert target.with_name("norce.report.html").is_file()
    assert target.with_name("norce.semantic.json").is_file()  # what `metrics` reads
    con = duckdb.connect(str(target), read_only=True)
    try:
        assert con.execute("select count(*) from meta.demo").fetchone() == (1,)
        assert con.execute("select count(*) from marts.fct_orders").fetchone()[0] > 0
    finally:
        con.close()
    # a second demo replaces the first one's warehouse without complaint
    again = CliRunner().invoke(main, ["demo", "--scale", "0.02", "--warehouse", str(target)])
    assert again.exit_code == 0, again.output
