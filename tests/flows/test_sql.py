"""`norce-wh sql`: read-only queries on the published file, three ways in, three formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from flows.cli import main
from flows.sql_shell import Shell, interact, open_readonly
from tests.flows.helpers import use_env


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "norce.duckdb"
    con = duckdb.connect(str(target))
    con.execute(
        "create schema marts; create table marts.sales as "
        "select range::int as id, (range * 1.5)::decimal(10, 2) as amount, "
        "'p' || range as product, date '2025-01-01' + range::int as day from range(2500)"
    )
    con.close()
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(target)})  # nothing else: no API settings
    return target


def sql(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["sql", *args], input=stdin, catch_exceptions=False)


def test_command_table_output(warehouse: Path) -> None:
    result = sql("-c", "select id, amount, product from marts.sales order by id limit 3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "amount", "product"]
    assert lines[2].split() == ["0", "0.00", "p0"]
    assert lines[-1] == "(3 rows)"


def test_csv_and_json_stream_every_row(warehouse: Path) -> None:
    query = "select id, amount, day from marts.sales order by id"
    rows = list(csv.reader(io.StringIO(sql("-c", query, "--format", "csv").stdout)))
    assert rows[0] == ["id", "amount", "day"]
    assert len(rows) == 2501 and rows[2] == ["1", "1.50", "2025-01-02"]
    data = json.loads(sql("-c", query, "--format", "json").stdout)
    assert len(data) == 2500
    assert data[1] == {"id": 1, "amount": 1.5, "day": "2025-01-02"}


def test_table_output_is_capped_and_says_so(warehouse: Path) -> None:
    out = sql("-c", "select * from marts.sales", "--max-rows", "10").stdout
    assert len(out.splitlines()) == 2 + 10 + 1
    assert "(2,500 rows; first 10 shown" in out


def test_file_argument_and_stdin_run_every_statement(warehouse: Path, tmp_path: Path) -> None:
    script = tmp_path / "q.sql"
    script.write_text(
        "select count(*) as n from marts.sales;\n"
        ".format csv\n"
        "select max(id) as top from marts.sales;\n"
    )
    out = sql(str(script)).stdout
    assert "2500" in out and out.rstrip().endswith("top\n2499")
    piped = sql(stdin="select 41 + 1 as answer;").stdout
    assert "42" in piped


def test_writes_are_refused_with_one_line(warehouse: Path) -> None:
    result = sql("-c", "drop table marts.sales")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "read-only" in errors[0] and " -- " in errors[0]
    assert "Traceback" not in result.output
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from marts.sales").fetchone() == (2500,)
    con.close()


def test_missing_warehouse_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(tmp_path / "none.duckdb")})
    result = sql("-c", "select 1")
    assert result.exit_code == 8
    assert "norce-wh demo" in result.stderr


def test_tables_and_describe(warehouse: Path) -> None:
    assert "marts   sales" in sql("-c", ".tables").stdout
    described = sql("-c", ".describe marts.sales").stdout
    assert "amount" in described and "DECIMAL(10,2)" in described


def test_interactive_prompt_keeps_going_after_an_error(warehouse: Path) -> None:
    lines = iter(
        [
            "select count(*)",
            "  as n from marts.sales;",
            "selec 1;",
            ".format json",
            "select 7 as x;",
        ]
    )
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return next(lines)  # StopIteration would escape: the loop must end on EOFError

    def read_then_eof(prompt: str) -> str:
        try:
            return read(prompt)
        except StopIteration:
            raise EOFError from None

    out, err = io.StringIO(), io.StringIO()
    con = open_readonly(warehouse)
    try:
        interact(Shell(con, out), read_then_eof, err)
    finally:
        con.close()
    assert prompts[:2] == ["norce> ", "   ..> "]
    assert "2500" in out.getvalue()
    assert err.getvalue().count("error: ") == 1 and "syntax error" in err.getvalue()
    assert json.loads(out.getvalue().split("(1 row)")[-1]) == [{"x": 7}]
