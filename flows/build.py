"""``dbt build`` for the pipeline: quiet on the console, one log line per node.

Shared by the flow's dbt task and ``norce-wh erase``; both build the working database with
the reporting currency from the settings. What the build tests is decided per run
(:mod:`flows.scoped_tests`): the rows loaded since the last build, or every row on a full
refresh, the first build and once every ``NORCE_FULL_TESTS_EVERY_H`` hours; dbt's unit
tests (fixtures, not data) run on ``--full-refresh`` only -- CI runs them on every change.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path

from flows.dbt_runner import DbtRunResult, artifacts_dir, run_dbt
from flows.scoped_tests import DEFAULT_FULL_TESTS_EVERY_H, plan_tests, record_build

__all__ = ["DBT_THREADS", "build_marts"]

log = logging.getLogger(__name__)

DBT_THREADS = 2
"""dbt threads of a pipeline build: measured faster than 4 on the 2-core machine (nodes
queue on one DuckDB file either way, and four threads add contention, not work)."""


def build_marts(
    work_database: Path,
    *,
    full_refresh: bool = False,
    reporting_currency: str | None = None,
    full_tests_every_h: float = DEFAULT_FULL_TESTS_EVERY_H,
    memory_limit_mb: int | None = None,
) -> DbtRunResult:
    """Run ``dbt build`` on the working database and log one line per node.

    Args:
        work_database: The loader's working DuckDB file (no other writer may hold it).
        full_refresh: Rebuild incremental models from scratch (and test every row, unit
            tests included).
        reporting_currency: ISO code the marts convert amounts to; ``None`` (unset): the
            client's primary currency, which the dbt project picks when
            ``NORCE_REPORTING_CURRENCY`` is empty.
        full_tests_every_h: Hours between builds that test every row (0: every build).
        memory_limit_mb: DuckDB's buffer cap for the build (``NORCE_DBT_MEMORY_MB``);
            ``None``: the profile's default.

    Returns:
        The dbt result; a failed build is returned, not raised, so callers can report the
        failing nodes before they stop.
    """
    if not Path(work_database).is_file():
        return _missing(work_database)
    started = datetime.now(UTC)
    plan = plan_tests(
        work_database, full_refresh=full_refresh, every_h=full_tests_every_h, now=started
    )
    log.info("dbt tests: %s", plan.describe())
    # dbt's own console lines would interleave with ours: --quiet keeps only its errors;
    # the lines below say what happened to each node, and dbt.log keeps everything.
    args = ["build", "--quiet", "--threads", str(DBT_THREADS)]
    args += ["--full-refresh"] if full_refresh else []
    args += [] if plan.unit_tests else ["--exclude-resource-type", "unit_test"]
    success = False
    try:
        result = run_dbt(
            args,
            work_database=work_database,
            env={
                "NORCE_REPORTING_CURRENCY": reporting_currency or "",
                **(
                    {} if memory_limit_mb is None else {"NORCE_DBT_MEMORY_MB": str(memory_limit_mb)}
                ),
            },
        )
        success = result.success
    finally:
        record_build(work_database, plan, started, success=success)
    result = dataclasses.replace(result, tests=plan.describe())
    _log_nodes(result)
    return result


def _log_nodes(result: DbtRunResult) -> None:
    for node in result.nodes:
        attention = node.failed or node.status in ("warn", "skipped")
        log.log(
            logging.WARNING if attention else logging.INFO,
            "dbt %s %s: %s (%.2f s)%s",
            node.resource_type,
            node.unique_id,
            node.status,
            node.execution_time,
            f" -- {node.message}" if node.message and attention else "",
        )
    (log.info if result.success else log.error)("%s", result.summary())


def _missing(work_database: Path) -> DbtRunResult:
    artifacts = artifacts_dir(work_database)
    return DbtRunResult(
        args=("build",),
        success=False,
        nodes=(),
        error=(
            f"the working database {work_database} does not exist; run an extract "
            "first (norce-wh extract) or check NORCE_WAREHOUSE / NORCE_WORK_DATABASE"
        ),
        target_path=artifacts / "target",
        log_path=artifacts / "logs",
    )
