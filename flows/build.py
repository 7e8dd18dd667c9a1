"""``dbt build`` for the pipeline: quiet on the console, one log line per node.

Shared by the flow's dbt task and ``norce-wh erase``; both build the working database with
the reporting currency from the settings.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flows.dbt_runner import DbtRunResult, run_dbt

__all__ = ["build_marts"]

log = logging.getLogger(__name__)


def build_marts(
    work_database: Path, *, full_refresh: bool = False, reporting_currency: str | None = None
) -> DbtRunResult:
    """Run ``dbt build`` on the working database and log one line per node.

    Args:
        work_database: The loader's working DuckDB file (no other writer may hold it).
        full_refresh: Rebuild incremental models from scratch.
        reporting_currency: ISO code the marts convert amounts to; ``None`` (unset): the
            client's primary currency, which the dbt project picks when
            ``NORCE_REPORTING_CURRENCY`` is empty.

    Returns:
        The dbt result; a failed build is returned, not raised, so callers can report the
        failing nodes before they stop.
    """
    # dbt's own console lines would interleave with ours: --quiet keeps only its errors;
    # the lines below say what happened to each node, and dbt.log keeps everything.
    args = ["build", "--quiet"] + (["--full-refresh"] if full_refresh else [])
    result = run_dbt(
        args,
        work_database=work_database,
        env={"NORCE_REPORTING_CURRENCY": reporting_currency or ""},
    )
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
    return result
