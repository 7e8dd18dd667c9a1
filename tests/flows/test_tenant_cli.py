"""The full pipeline under every tenant profile, as a new user runs it from the command line.

One simulator and one pipeline run per profile (module fixture), each at a small scale:
``doctor --report`` (which ``applicationId`` it used; the tenant report, no secret in it),
then ``norce-wh run`` (extract → dbt → publish) with only the required settings, then
``status``. Per profile: the exit code is the documented one (0; 10 when a set was skipped),
the published raw tables equal the simulator's truth for every set the profile serves, the
skipped sets and their reasons are in the output, the report page and ``status``, and the
marts are built and published.

``docs-2.0`` runs with its per-minute quota scaled down (10 requests per 3 s window instead
of 200 per 60 s, about the same rate) so the default throttle still meets 429s without
``Retry-After`` in a few seconds instead of minutes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner, Result

from extract.schema.catalog import EntitySpec, by_path
from flows.cli import main
from flows.pages import report_path
from tests.flows.helpers import query, use_env
from tests.integration.truth import CHECKED, SALT, compare_table

pytestmark = pytest.mark.slow

SECRET = "canary-tenant-s3cr3t-7d21"
CANARY_SALT = "canary-tenant-salt-90ab"
CLIENT = "integration"
_LOGGERS = ("extract", "flows", "httpx")
REPORTING = "Reporting/OrderSummaryByMonth"


@dataclass(frozen=True)
class Case:
    """A tenant profile and what a first run against it must end with."""

    spec: str
    exit_code: int
    skipped: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    """Settings beyond the required ones (none for the new user's docs-2.0 run)."""


CASES = {
    "default": Case("default", 0, extra={"NORCE_MAX_RPS": "1000"}),
    "docs-2.0": Case("docs-2.0,minute_budget=10,budget_window_s=3", 10, skipped=(REPORTING,)),
}


@dataclass
class PipelineRun:
    """What one profile's first contact left: CLI results and the comparison with truth."""

    name: str
    case: Case
    server: Any
    warehouse: Path
    doctor: Result
    tenant_report: str
    run: Result
    status: Result
    compared: dict[str, int]
    """Rows (or keys) of each published raw table found equal to the source."""


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
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


@pytest.fixture(scope="module", params=list(CASES))
def pipeline(
    request: pytest.FixtureRequest,
    profile_sim_server: Any,
    prefect_harness: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PipelineRun]:
    name: str = request.param
    case = CASES[name]
    server = profile_sim_server(case.spec, scale=0.02, seed=71, credentials={CLIENT: SECRET})
    home = tmp_path_factory.mktemp(f"tenant-{name}")
    warehouse = home / "warehouse" / "norce.duckdb"
    required = {
        "NORCE_BASE_URL": server.base_url,
        "NORCE_CLIENT_ID": CLIENT,
        "NORCE_CLIENT_SECRET": SECRET,
        "NORCE_WAREHOUSE": str(warehouse),
        **case.extra,
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(home)
        use_env(mp, {**required, "NORCE_PII_SALT": CANARY_SALT})
        doctor = invoke("doctor", "--report", str(home / "tenant.md"))
        use_env(mp, {**required, "NORCE_PII_SALT": SALT})  # the salt truth.py hashes with
        run = invoke("run")
        compared = equal_to_source(warehouse, server.sim, case.skipped)
        status = invoke("status")
    report = home / "tenant.md"
    yield PipelineRun(
        name,
        case,
        server,
        warehouse,
        doctor,
        report.read_text() if report.exists() else "",
        run,
        status,
        compared,
    )


def equal_to_source(warehouse: Path, sim: Any, skipped: tuple[str, ...]) -> dict[str, int]:
    """Compare the published raw tables with the simulator right after the run: every column
    of the tables ``truth.py`` models, the live keys of every other set loaded."""
    if not warehouse.exists():
        return {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        compared = {t.table: compare_table(con, sim, t) for t in CHECKED}
        for path, spec in by_path().items():
            if path not in skipped and spec.table not in compared:
                compared[spec.table] = _same_keys(con, sim, spec)
    finally:
        con.close()
    return compared


def _same_keys(con: duckdb.DuckDBPyConnection, sim: Any, spec: EntitySpec) -> int:
    truth: pl.DataFrame = sim.truth(spec.namespace, spec.entity_set)
    if spec.forgotten_field and spec.forgotten_field in truth.columns:
        truth = truth.filter(~pl.col(spec.forgotten_field))
    cols = ", ".join(f'"{k}"::varchar' for k in spec.key)
    raw = con.execute(f'select {cols} from raw."{spec.table}" where _deleted_at is null')
    got = sorted(raw.fetchall())
    want = sorted(truth.select([pl.col(k).cast(pl.String) for k in spec.key]).rows())
    assert got == want, f"raw.{spec.table}: {len(got)} keys, source has {len(want)}"
    return len(got)


def test_the_exit_code_is_the_documented_one(pipeline: PipelineRun) -> None:
    assert pipeline.run.exit_code == pipeline.case.exit_code, pipeline.run.stderr[-3000:]
    errors = [line for line in pipeline.run.stderr.splitlines() if line.startswith("error: ")]
    if not pipeline.case.skipped:
        assert errors == []
        return
    (error,) = errors
    names = ", ".join(pipeline.case.skipped)
    assert f"{len(pipeline.case.skipped)} entity set(s) skipped ({names})" in error
    assert " -- " in error


def test_raw_equals_the_source_for_every_set_served(pipeline: PipelineRun) -> None:
    served = [s for p, s in by_path().items() if p not in pipeline.case.skipped]
    assert {s.table for s in served} <= set(pipeline.compared)
    assert sum(pipeline.compared.values()) > 1000
    tables = {r[0] for r in query(pipeline.warehouse, "select table_name from duckdb_tables()")}
    for path in pipeline.case.skipped:
        assert by_path()[path].table not in tables  # a skipped set leaves no table behind


def test_skipped_sets_and_reasons_are_in_output_report_and_status(pipeline: PipelineRun) -> None:
    out, status = pipeline.run.stdout, pipeline.status.stdout
    page = report_path(pipeline.warehouse).read_text()
    if not pipeline.case.skipped:
        assert re.search(r"entity sets skipped +0\n", out)
        assert not [line for line in status.splitlines() if line.startswith("skipped ")]
        assert "DEGRADED" not in out + status
        return
    assert "Skipped entity sets" in out and "Skipped entity sets" in page
    for path in pipeline.case.skipped:
        assert f"skipped   {path}" in status
        reason = next(line for line in out.splitlines() if path in line and "HTTP 500" in line)
        assert "Reporting/$metadata" in reason
        assert path in page


def test_the_marts_are_built_and_published(pipeline: PipelineRun) -> None:
    assert "published" in pipeline.run.stdout
    orders = query(pipeline.warehouse, "select count(*) from raw.orders where _deleted_at is null")
    assert orders[0][0] > 100
    assert query(pipeline.warehouse, "select count(*) from marts.fct_orders") == orders
    nodes = query(
        pipeline.warehouse,
        "select count(*) from duckdb_tables() where schema_name = 'marts'",
    )
    assert nodes[0][0] >= 5


def test_status_shows_what_the_tenant_accepts(pipeline: PipelineRun) -> None:
    assert pipeline.status.exit_code == 0
    text = pipeline.status.stdout
    capabilities = text.split("Tenant capabilities", 1)[1]
    orders = next(line for line in capabilities.splitlines() if line.startswith("Orders/Orders "))
    if pipeline.name == "default":
        assert "Edm.Int32" in orders or "Edm.Int64" in orders
        assert "$count refused" not in text and "DEGRADED" not in text
        assert "applicationId header: not required" in text
        return
    assert "partial, DEGRADED" in text
    assert "degraded  Customers/Customers" in text
    assert "fallback: $count refused" in text
    assert "applicationId header: required" in text
    assert "Edm.String" in orders


def test_doctor_names_the_header_and_writes_a_report_without_secrets(
    pipeline: PipelineRun,
) -> None:
    doctor = pipeline.doctor
    assert doctor.exit_code == 0, doctor.stdout  # Reporting down is a warning, not a failure
    lines = doctor.stdout.splitlines()
    apps = next(line for line in lines if " Core/Applications " in line)
    assert any(
        line.startswith("ok") and "tenant report" in line and "tenant.md" in line for line in lines
    )
    text = pipeline.tenant_report
    issued = list(pipeline.server.app.tokens._tokens)
    assert issued  # doctor and the run asked for tokens: none may be in the report
    for canary in (SECRET, CANARY_SALT, *issued):
        assert canary not in text
        assert canary not in doctor.output
    if pipeline.name == "default":
        assert apps.startswith("ok") and "refused" not in apps
        assert f"| {REPORTING} | loaded |" in text
        return
    assert apps.startswith("ok") and "applicationId 0" in apps
    assert "refused it without the header" in apps
    reporting = next(line for line in lines if "Reporting/$metadata" in line)
    assert reporting.startswith("WARN") and f"a run skips {REPORTING}" in reporting
    assert f"| {REPORTING} | skipped |" in text
    assert "| Orders/Orders | loaded, adapted | Id Edm.String |" in text
    assert "IsForgotten MISSING" in text
    assert "Created (Updated missing)" in text  # delivery notes without Updated
    assert "$count refused" in text and "text keys" in text


def test_a_mart_whose_source_is_missing_says_so(pipeline: PipelineRun) -> None:
    """dbt builds without the Reporting table: the reconciliation mart names the gap."""
    statuses = dict(
        query(
            pipeline.warehouse,
            "select reconciliation_status || ': ' || coalesce(reconciliation_note, '-'), "
            "count(*) from marts.mart_reporting_reconciliation group by 1",
        )
    )
    missing = "summary_not_available: Norce summary not available"
    assert sum(statuses.values()) > 0
    if REPORTING in pipeline.case.skipped:
        assert set(statuses) == {missing}
    else:
        assert missing not in statuses
