"""The norce-wh command line: help, exit codes, doctor, status and erase."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from extract.load.locking import RunLock
from flows.cli import main
from tests.flows.helpers import pipeline_env, query, use_env

_LOGGERS = ("extract", "flows", "httpx")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures logging for a process; give the next test the old setup back."""
    saved = {
        name: (list(lg.handlers), lg.level, lg.propagate)
        for name in _LOGGERS
        for lg in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _one_error_line(result: Result) -> str:
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert " -- " in errors[0], "an error line says what to do"
    return errors[0]


# --- without a server -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [[], ["run"], ["extract"], ["serve"], ["status"], ["doctor"], ["erase"], ["demo"]]
)
def test_help(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.output
    if command:
        assert "--verbose" in result.output


def test_missing_base_url_is_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(tmp_path / "w.duckdb")})
    result = invoke("run")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "NORCE_BASE_URL is not set" in line
    assert "NORCE_CLIENT_ID is not set" in line  # every problem at once


def test_unknown_entity_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(
        monkeypatch,
        {
            "NORCE_BASE_URL": "http://127.0.0.1:9",
            "NORCE_CLIENT_ID": "x",
            "NORCE_CLIENT_SECRET": "y",
            "NORCE_WAREHOUSE": str(tmp_path / "w.duckdb"),
        },
    )
    result = invoke("extract", "--entities", "Orders/Nope")
    assert result.exit_code == 2
    assert "Orders/Nope" in _one_error_line(result)


def test_doctor_lists_every_config_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, {"NORCE_BASE_URL": "http://example.com", "NORCE_MAX_RPS": "0"})
    result = invoke("doctor")
    assert result.exit_code == 2
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any("https" in line for line in fails)
    assert any("NORCE_CLIENT_ID" in line for line in fails)
    assert any("NORCE_MAX_RPS" in line for line in fails)


def test_status_without_a_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(tmp_path / "none.duckdb")})
    result = invoke("status")
    assert result.exit_code == 0
    assert "No published warehouse" in result.stdout


# --- against the simulator --------------------------------------------------------------------


def test_doctor_against_the_simulator(
    sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = pipeline_env(sim_server, tmp_path / "norce.duckdb")
    del env["NORCE_PII_SALT"]
    use_env(monkeypatch, env)
    result = invoke("doctor")
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    for name in ("token", "Core/Applications", "Orders/$metadata", "Core/$metadata", "warehouse"):
        assert any(line.startswith("ok") and f" {name} " in line for line in lines), name
    assert any(line.startswith("WARN") and "NORCE_PII_SALT" in line for line in lines)


def test_doctor_with_bad_credentials_is_exit_3(
    sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(
        monkeypatch,
        pipeline_env(
            sim_server, tmp_path / "norce.duckdb", NORCE_CLIENT_SECRET="wrong-secret-5e0c1a"
        ),
    )
    result = invoke("doctor")
    assert result.exit_code == 3
    assert any(line.startswith("FAIL") and "token" in line for line in result.stdout.splitlines())
    assert "wrong-secret-5e0c1a" not in result.output


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_run_with_bad_credentials_is_exit_3(
    sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(
        monkeypatch,
        pipeline_env(sim_server, tmp_path / "norce.duckdb", NORCE_CLIENT_SECRET="wrong-secret"),
    )
    result = invoke("run")
    assert result.exit_code == 3
    line = _one_error_line(result)
    assert "NORCE_CLIENT_SECRET" in line
    assert "wrong-secret" not in result.output
    assert not (tmp_path / "norce.duckdb").exists()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_run_on_a_locked_warehouse_is_exit_7(
    sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "norce.duckdb"
    use_env(monkeypatch, pipeline_env(sim_server, target))
    with RunLock(target.with_suffix(".work.duckdb")):
        result = invoke("run")
    assert result.exit_code == 7
    assert "another run" in _one_error_line(result)


@pytest.fixture(scope="module")
def loaded(sim_server: Any, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory):
    """One `norce-wh run` into a module-wide warehouse; yields its environment."""
    target = tmp_path_factory.mktemp("cli") / "norce.duckdb"
    env = pipeline_env(sim_server, target)
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, env)
        result = invoke("run")
        assert result.exit_code == 0, result.output
        assert re.search(r"extract status\s+ok\n", result.stdout)
        assert "error:" not in result.output
        assert "first load (no watermarks yet: everything)" in result.stderr
        yield target, env


@pytest.mark.slow
def test_status_reads_the_published_file(loaded: tuple[Path, dict[str, str]]) -> None:
    target, _ = loaded
    with pytest.MonkeyPatch.context() as mp:
        # Reading needs no API settings: only where the warehouse is (as after `make demo`).
        use_env(mp, {"NORCE_WAREHOUSE": str(target)})
        result = invoke("status")
    assert result.exit_code == 0, result.output
    out = result.stdout
    run_id = query(target, "select run_id from meta.run_history order by started_at desc")[0][0]
    assert run_id in out
    assert re.search(r"run in progress\s+no\n", out)
    orders = query(target, "select count(*) from raw.orders where _deleted_at is null")[0][0]
    assert any(line.split()[:2] == ["raw.orders", f"{orders:,}"] for line in out.splitlines()), out
    assert any(line.startswith("Orders/Orders") for line in out.splitlines())  # watermarks


@pytest.mark.slow
def test_a_later_run_is_labelled_incremental(loaded: tuple[Path, dict[str, str]]) -> None:
    _, env = loaded
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, env)
        result = invoke("extract", "--entities", "Core/Currencies")
    assert result.exit_code == 0, result.output
    assert "incremental mode" in result.stderr and "first load" not in result.stderr


@pytest.mark.slow
def test_status_shows_a_run_in_progress(loaded: tuple[Path, dict[str, str]]) -> None:
    target, env = loaded
    with pytest.MonkeyPatch.context() as mp, RunLock(target.with_suffix(".work.duckdb")):
        use_env(mp, env)
        result = invoke("status")
    assert result.exit_code == 0
    assert re.search(r"run in progress\s+yes \(pid \d+", result.stdout)


@pytest.mark.slow
def test_erase_removes_the_person_everywhere_and_stays_erased(
    loaded: tuple[Path, dict[str, str]], sim_server: Any
) -> None:
    target, env = loaded
    customer_id, email_hash = query(
        target,
        "select c.Id, c.EmailAddressHash from raw.customers c "
        "where exists (select 1 from raw.orders o where o.Buyer_EmailAddressHash = "
        "c.EmailAddressHash) order by c.Id limit 1",
    )[0]
    assert (
        query(
            target, "select count(*) from marts.dim_customers where customer_key = ?", [email_hash]
        )[0][0]
        == 1
    )

    def absent() -> None:
        checks = {
            "raw.customers": ("select count(*) from raw.customers where Id = ?", [customer_id]),
            "raw.orders": (
                "select count(*) from raw.orders where Buyer_EmailAddressHash = ? "
                "or BuyerCustomerId = ?",
                [email_hash, customer_id],
            ),
            "marts.fct_orders": (
                "select count(*) from marts.fct_orders where customer_key = ?",
                [email_hash],
            ),
            "marts.dim_customers": (
                "select count(*) from marts.dim_customers where customer_key = ?",
                [email_hash],
            ),
        }
        for table, (sql, params) in checks.items():
            assert query(target, sql, params)[0][0] == 0, table

    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, env)
        result = invoke("erase", "--customer-id", str(customer_id), "--note", "ticket-1")
        assert result.exit_code == 0, result.output
        absent()
        # no copy from before the erasure stays beside the published file
        assert [p.name for p in target.parent.iterdir() if p.name.endswith(".standby")] == []
        erasures = query(
            target, "select customer_id, email_hash, rows_removed, note from meta.erasures"
        )
        assert len(erasures) == 1
        assert erasures[0][:2] == (customer_id, email_hash)
        assert erasures[0][2] > 1 and erasures[0][3] == "ticket-1"

        # The API still sends the person; a full reload must not bring them back, and the
        # reconciliation with Norce's reporting (which still counts the erased orders) holds.
        result = invoke("run", "--full-refresh", "--entities", "Customers/Customers,Orders/Orders")
        assert result.exit_code == 0, result.output
        absent()
        assert query(target, "select count(*) from raw.customers")[0][0] > 0
