"""Run the dbt project in-process and report what happened to every node.

The Prefect flow and the CLI build the marts through :func:`dbt_build` (or :func:`run_dbt`
for any other dbt command). dbt runs inside this Python process via
:class:`dbt.cli.main.dbtRunner`, against the loader's *working* database: the profile in
``dbt_project/profiles.yml`` reads ``NORCE_WORK_DATABASE``, which is set here for the
duration of the call. dbt's ``target/`` and ``logs/`` go to a ``dbt/`` directory next to
that database, so runs against different databases (parallel tests) never share them.

DuckDB allows one writing process per file: close every other connection to the work
database before calling in here. The profile sets ``keep_open: false``, so dbt releases the
file when it finishes and the caller can publish or reopen it. dbt's in-process runner keeps
global state (flags, adapter, event logger), so calls are serialised by a module lock.

A failed build does not raise: the result says which nodes failed, and the caller decides
(the flow raises :class:`~flows.errors.DbtFailed` after reporting them).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_PROJECT_DIR",
    "DbtNodeResult",
    "DbtRunResult",
    "artifacts_dir",
    "dbt_build",
    "run_dbt",
]

DEFAULT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
"""The repository's dbt project (it also holds ``profiles.yml``)."""

WORK_DATABASE_ENV = "NORCE_WORK_DATABASE"
"""Environment variable the dbt profile reads the database path from."""

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
"""Node statuses that make a run unsuccessful (``warn`` does not)."""

_RUN_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class DbtNodeResult:
    """The outcome of one node (model, test, seed, unit test, ...) in a dbt run."""

    unique_id: str
    """dbt's id, e.g. ``model.norce_warehouse.fct_orders``."""
    resource_type: str
    """``model``, ``test``, ``seed``, ``unit_test``, ``exposure``, ..."""
    status: str
    """``success``, ``pass``, ``warn``, ``fail``, ``error``, ``skipped``, ``no-op``, ..."""
    execution_time: float
    """Seconds spent on the node."""
    message: str | None
    """dbt's message: rows affected, or the error text."""
    failures: int | None
    """Rows a test returned (tests only)."""

    @property
    def failed(self) -> bool:
        """True when this node makes the run unsuccessful."""
        return self.status in FAILED_STATUSES

    @property
    def name(self) -> str:
        """The short name: the last part of :attr:`unique_id`."""
        return self.unique_id.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class DbtRunResult:
    """What one dbt invocation did."""

    args: tuple[str, ...]
    """The full argument list dbt was invoked with."""
    success: bool
    """dbt's verdict: no node failed or errored, and dbt itself did not crash."""
    nodes: tuple[DbtNodeResult, ...]
    """Per-node results, in dbt's order (empty for commands that run no nodes)."""
    error: str | None
    """Set when dbt could not run at all (bad project, locked database, ...)."""
    target_path: Path
    """dbt's ``target/`` for this run (manifest, run results, compiled SQL, docs)."""
    log_path: Path
    """dbt's ``logs/`` for this run (``dbt.log``)."""
    tests: str | None = None
    """Which rows the data tests covered, when the pipeline scoped them (see
    :mod:`flows.scoped_tests`), e.g. ``every row (--full-refresh; unit tests too)``."""

    @property
    def command(self) -> str:
        """The dbt command run, e.g. ``build`` or ``source freshness``."""
        words = []
        for arg in self.args:
            if arg.startswith("-"):
                break
            words.append(arg)
        return " ".join(words)

    @property
    def failed_nodes(self) -> tuple[DbtNodeResult, ...]:
        """Nodes that errored or whose test failed."""
        return tuple(node for node in self.nodes if node.failed)

    @property
    def warned_nodes(self) -> tuple[DbtNodeResult, ...]:
        """Nodes that passed with a warning (tests with ``severity: warn``)."""
        return tuple(node for node in self.nodes if node.status == "warn")

    def counts(self) -> dict[str, int]:
        """Number of nodes per status, e.g. ``{"success": 47, "pass": 160, "warn": 1}``."""
        return dict(Counter(node.status for node in self.nodes))

    def summary(self) -> str:
        """One line for logs and the run report."""
        if self.error is not None:
            return f"dbt {self.command} could not run: {self.error}"
        counts = ", ".join(f"{status}={n}" for status, n in sorted(self.counts().items()))
        verdict = "ok" if self.success else "FAILED"
        return f"dbt {self.command} {verdict}: {counts or 'no nodes'}"


def artifacts_dir(work_database: Path) -> Path:
    """Where dbt's ``target/`` and ``logs/`` go for ``work_database``: ``<its dir>/dbt``."""
    return Path(work_database).resolve().parent / "dbt"


def run_dbt(
    args: list[str],
    *,
    work_database: Path,
    project_dir: Path = DEFAULT_PROJECT_DIR,
    env: Mapping[str, str] | None = None,
) -> DbtRunResult:
    """Invoke dbt in-process against ``work_database``.

    Args:
        args: dbt arguments starting with the command, e.g. ``["build", "--select",
            "marts"]`` or ``["docs", "generate"]``. Project, profiles, target and log
            paths are added unless given.
        work_database: The DuckDB file dbt reads raw tables from and builds into
            (exported as ``NORCE_WORK_DATABASE`` while dbt runs).
        project_dir: The dbt project (and profiles) directory.
        env: Extra environment for the run, e.g. ``{"NORCE_REPORTING_CURRENCY": "SEK"}``;
            restored afterwards.

    Returns:
        The per-node results and overall success. Never raises for a failed model or
        test; an exception inside dbt is reported in :attr:`DbtRunResult.error`.
    """
    work_database = Path(work_database).resolve()
    project_dir = Path(project_dir).resolve()
    artifacts = artifacts_dir(work_database)
    target_path, log_path = artifacts / "target", artifacts / "logs"
    full_args = list(args)
    for flag, value in (
        ("--project-dir", project_dir),
        ("--profiles-dir", project_dir),
        ("--target-path", target_path),
        ("--log-path", log_path),
    ):
        if flag not in full_args:
            full_args += [flag, str(value)]
    run_env = {**(env or {}), WORK_DATABASE_ENV: str(work_database)}

    # Imported here: dbt takes seconds to import, and `norce-wh extract` never runs it.
    from dbt.cli.main import dbtRunner

    with _RUN_LOCK, _environment(run_env):
        outcome = dbtRunner().invoke(full_args)

    error = None
    if outcome.exception is not None:
        error = f"{type(outcome.exception).__name__}: {outcome.exception}".strip()
    return DbtRunResult(
        args=tuple(full_args),
        success=bool(outcome.success),
        nodes=_node_results(outcome.result),
        error=error,
        target_path=target_path,
        log_path=log_path,
    )


def dbt_build(
    work_database: Path,
    *,
    full_refresh: bool = False,
    select: str | Sequence[str] | None = None,
    vars: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    project_dir: Path = DEFAULT_PROJECT_DIR,
) -> DbtRunResult:
    """``dbt build``: seeds, models, snapshots and tests, in dependency order.

    Args:
        work_database: The loader's working DuckDB file.
        full_refresh: Rebuild incremental models (``fct_orders``, ``fct_order_lines``)
            from scratch.
        select: dbt selection (``"marts"``, ``["fct_orders+"]``); None builds everything.
        vars: Project variables, e.g. ``{"reporting_currency": "SEK"}``.
        env: Extra environment for the run (see :func:`run_dbt`).
        project_dir: The dbt project directory.

    Returns:
        The run's :class:`DbtRunResult` (``success`` false on failure). A work database
        that does not exist is reported as an error without running dbt (it would otherwise
        build empty marts into a new file).
    """
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *([select] if isinstance(select, str) else select)]
    if vars:
        args += ["--vars", json.dumps(dict(vars), default=str)]
    if not Path(work_database).is_file():
        artifacts = artifacts_dir(work_database)
        return DbtRunResult(
            args=tuple(args),
            success=False,
            nodes=(),
            error=(
                f"the working database {work_database} does not exist; run an extract "
                "first (norce-wh extract) or check NORCE_WAREHOUSE / NORCE_WORK_DATABASE"
            ),
            target_path=artifacts / "target",
            log_path=artifacts / "logs",
        )
    return run_dbt(args, work_database=work_database, project_dir=project_dir, env=env)


def _node_results(result: object) -> tuple[DbtNodeResult, ...]:
    """Per-node results of a dbt execution result (empty for other result kinds)."""
    nodes: list[DbtNodeResult] = []
    for item in getattr(result, "results", None) or ():
        node = getattr(item, "node", None)
        nodes.append(
            DbtNodeResult(
                unique_id=str(getattr(node, "unique_id", "")),
                resource_type=str(getattr(node, "resource_type", "")),
                status=str(item.status),
                execution_time=float(getattr(item, "execution_time", 0.0) or 0.0),
                message=None if item.message is None else str(item.message),
                failures=item.failures,
            )
        )
    return tuple(nodes)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore the previous values.

    dbt reads ``env_var()`` from ``os.environ`` of this process, so there is no other way
    to hand it a per-call database path.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
