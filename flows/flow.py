"""The ``norce_elt`` Prefect flow: extract -> dbt build -> publish -> report.

One flow run extracts through the loader's one API (:func:`extract.extract`: plan the
partitions -- entity set x application x key range --, load them as concurrent Prefect
tasks that share one loader session, so one throttle governs every request, finish), which
closes the working database but keeps the run lock; then it builds the dbt project,
publishes the working file as the read-only warehouse, releases the lock and leaves the run
report as Prefect artifacts.

Retries are layered: the HTTP client retries single requests; a partition task is retried
(a few times, slowly) only when it ended on a :class:`~extract.errors.RetryableError`; dbt
and publishing are not retried. Configuration and credential errors fail at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from extract import RunMode, RunRequest, RunSummary, extract
from extract.settings import DEFAULT_FILE_MODE, Settings, load_settings
from flows.build import build_marts
from flows.dbt_runner import DbtRunResult
from flows.errors import PARTIAL_EXIT_CODE, DbtFailed, RunFailed
from flows.extract_tasks import prefect_partitions
from flows.files import creation_umask
from flows.logs import forward_to_prefect
from flows.pages import publish_pages_task
from flows.progress import ProgressLog
from flows.publish import PublishResult
from flows.publish import publish as publish_file
from flows.publish_lock import hold_published
from flows.render import render_markdown, table_artifact_rows
from flows.report import RunReport, build_report
from flows.scoped_tests import DEFAULT_FULL_TESTS_EVERY_H

__all__ = ["build_dbt", "norce_elt", "publish_warehouse", "report_artifacts"]

log = logging.getLogger(__name__)


@task(name="dbt-build", retries=0, cache_policy=NO_CACHE, persist_result=False)
def build_dbt(
    work_database: Path,
    full_refresh: bool,
    reporting_currency: str | None,
    full_tests_every_h: float = DEFAULT_FULL_TESTS_EVERY_H,
    memory_limit_mb: int | None = None,
) -> DbtRunResult:
    """Run ``dbt build`` on the working database, one log line per node (not retried).

    Returns:
        The dbt result; a failure is returned, not raised, so the flow can report which
        nodes failed before it fails.
    """
    return build_marts(
        work_database,
        full_refresh=full_refresh,
        reporting_currency=reporting_currency,
        full_tests_every_h=full_tests_every_h,
        memory_limit_mb=memory_limit_mb,
    )


@task(name="publish", retries=0, cache_policy=NO_CACHE, persist_result=False)
def publish_warehouse(
    work_database: Path,
    target: Path,
    run_id: str,
    mode: int = DEFAULT_FILE_MODE,
    keep_standby: bool = True,
) -> PublishResult:
    """Atomically replace the published warehouse file with the working database."""
    return publish_file(work_database, target, run_id=run_id, mode=mode, keep_standby=keep_standby)


@task(name="report", retries=0, cache_policy=NO_CACHE, persist_result=False)
def report_artifacts(report: RunReport) -> None:
    """Leave the run report in Prefect: a markdown summary and a per-entity table."""
    create_markdown_artifact(
        key="norce-elt-report",
        markdown=render_markdown(report),
        description=f"norce-elt run {report.summary.run_id}",
    )
    create_table_artifact(
        key="norce-elt-entities",
        table=table_artifact_rows(report),
        description=f"rows, requests and freshness per entity set, run {report.summary.run_id}",
    )


def _mode(full_refresh: bool, backfill_from: date | None) -> tuple[RunMode, datetime | None]:
    if full_refresh and backfill_from is not None:
        # A full refresh reloads everything; a backfill start date would be ignored.
        log.warning("--full-refresh given with a backfill date; the date is ignored")
    if full_refresh:
        return "full", None
    if backfill_from is not None:
        return "backfill", datetime.combine(backfill_from, time(0), tzinfo=UTC)
    return "incremental", None


def _request(
    entities: list[str] | None,
    applications: list[int] | None,
    full_refresh: bool,
    backfill_from: date | None,
    run_dbt: bool,
) -> RunRequest:
    mode, since = _mode(full_refresh, backfill_from)
    return RunRequest(
        mode=mode,
        since=since,
        entities=tuple(entities) if entities else None,
        applications=tuple(applications) if applications else None,
        command="run" if run_dbt else "extract",
    )


def _outcome(report: RunReport) -> None:
    """Fail the flow run when the run did not do its whole job."""
    summary = report.summary
    if report.dbt is not None and not report.dbt.success:
        failed = [n.name for n in report.dbt.failed_nodes]
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        what = report.dbt.error or f"{len(failed)} node(s) failed: {shown}"
        raise DbtFailed(f"dbt build failed: {what}", report=report)
    if summary.status in ("failed", "partial"):
        raise _run_failed(report)


def _run_failed(report: RunReport) -> RunFailed:
    """The error of a run that skipped sets or had partitions fail: one line naming them."""
    summary = report.summary
    failed_parts = [p for p in summary.partitions if p.status == "failed"]
    code = PARTIAL_EXIT_CODE if summary.status == "partial" else summary.exit_code
    parts: list[str] = []
    if summary.skipped:
        names = ", ".join(s.entity for s in summary.skipped)
        parts.append(f"{len(summary.skipped)} entity set(s) skipped ({names})")
    if failed_parts:
        parts.append(f"{len(failed_parts)} partition(s) failed")
    hint = None
    if failed_parts:
        first = failed_parts[0].error or "unknown error"
    else:  # only skips: the first one's cause, and its own advice as the hint
        first, _, advice = summary.skipped[0].reason.partition(" -- ")
        hint = advice or None
    return RunFailed(
        f"{' and '.join(parts)}, e.g. {first}", exit_code=code, report=report, hint=hint
    )


# Results stay in this process: nothing is persisted (the report and the partition results
# hold locks and are not meant to be stored; the warehouse is the durable record).
@flow(name="norce-elt", log_prints=False, validate_parameters=True, persist_result=False)
def norce_elt(
    entities: list[str] | None = None,
    applications: list[int] | None = None,
    full_refresh: bool = False,
    backfill_from: date | None = None,
    run_dbt: bool = True,
    publish: bool = True,
    config_file: str | None = None,
    wait_for_lock_s: int = 0,
) -> RunReport:
    """Load the Norce Query API into the warehouse and publish it.

    Settings come from the environment (``NORCE_*``) and the optional TOML file, read once
    here at the start of the run.

    Args:
        entities: ``Namespace/EntitySet`` names to load; ``None``: ``NORCE_ENTITIES`` or the
            whole catalog.
        applications: Application ids; ``None``: ``NORCE_APPLICATION_IDS`` or all.
        full_refresh: Reload every set from scratch (and rebuild the dbt models).
        backfill_from: Re-read incremental sets from this date (their business date).
        run_dbt: Build the dbt project after the extract.
        publish: Publish the working database as ``NORCE_WAREHOUSE``; done only when dbt
            succeeded or was skipped.
        config_file: TOML settings file (else ``NORCE_CONFIG``).
        wait_for_lock_s: How long to wait for another run to release the warehouse before
            giving up (scheduled runs wait; interactive ones fail at once).

    Returns:
        The run report (also left as Prefect artifacts).

    Raises:
        ConfigError, AuthError, StateError, WarehouseError: The run could not start.
        DbtFailed: ``dbt build`` failed; nothing was published.
        RunFailed: Some partitions failed; the rest was built and published.
    """
    settings = load_settings(config_file=Path(config_file) if config_file else None)
    request = _request(entities, applications, full_refresh, backfill_from, run_dbt)
    with (
        forward_to_prefect(),
        creation_umask(settings.warehouse.file_mode),
        # Before the run lock: runs sharing the published file (not the work file) queue too.
        hold_published(settings.warehouse.path, wait_for_lock_s),
    ):
        progress = ProgressLog()
        extracted = extract(
            settings,
            request,
            runner=prefect_partitions(progress),
            progress=progress,
            wait_for_lock_s=wait_for_lock_s,
        )
        # The working database is closed (dbt opens it next) but the run lock stays held, so
        # no other run can load while dbt builds and we publish.
        with extracted:
            report = _build_and_publish(settings, extracted.summary, full_refresh, run_dbt, publish)
        report_artifacts(report)
        _outcome(report)
        return report


def _build_and_publish(
    settings: Settings, summary: RunSummary, full_refresh: bool, run_dbt: bool, publish: bool
) -> RunReport:
    """dbt build (unless skipped), publish (if dbt succeeded or was skipped), the report."""
    work_db = settings.warehouse.work_database
    dbt_result: DbtRunResult | None = None
    skipped: str | None = None
    if summary.status == "failed":
        skipped = "nothing was loaded: every set failed or was skipped"
    elif not run_dbt:
        skipped = "not requested"
    else:
        dbt_result = build_dbt(
            work_db,
            full_refresh,
            settings.extract.reporting_currency,
            settings.warehouse.full_tests_every_h,
            settings.warehouse.dbt_memory_limit_mb,
        )
    published: PublishResult | None = None
    if publish and summary.status != "failed" and (dbt_result is None or dbt_result.success):
        published = publish_warehouse(
            work_db,
            settings.warehouse.path,
            summary.run_id,
            settings.warehouse.file_mode,
            # people the source forgot left raw in this run: no copy from before may stay
            keep_standby=not any(summary.purged.values()),
        )
    # Figures come from the working file: identical to the published copy, and never held
    # open by readers (an in-process reader of the published path could otherwise hand us
    # its older snapshot from DuckDB's instance cache).
    report = build_report(
        summary, database=work_db, dbt=dbt_result, publish=published, dbt_skipped_reason=skipped
    )
    if published is not None:  # dbt docs and the report page beside the warehouse
        publish_pages_task(
            report,
            work_db,
            published.target,
            settings.extract.reporting_currency,
            settings.warehouse.file_mode,
        )
    return report
