"""Pages published beside the warehouse: the dbt docs and the run report.

After a run publishes ``warehouse/norce.duckdb`` it also publishes, in the same directory:

* ``norce.docs.html``: ``dbt docs generate --static`` of the working database (models,
  columns with their descriptions and types, tests, lineage), one self-contained file;
* ``norce.report.html``: the run report with its charts (:mod:`flows.report_page`);
* ``norce.semantic.json``: dbt's semantic manifest, which ``norce-wh metrics`` reads.

Each file is written beside its target and renamed over it, like the warehouse file: a
reader sees the old page or the new one, never half of one. The same file rules as the
warehouse hold: a page that is a symbolic link has the file it points to replaced, a new
page gets ``NORCE_FILE_MODE`` less the umask, a replaced one keeps its mode.
``norce-wh docs`` serves both. A page that cannot be made is logged and reported; it never
fails the run (the data is already published).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from extract.settings import DEFAULT_FILE_MODE
from flows.dbt_runner import run_dbt
from flows.files import published_mode
from flows.render import report_charts
from flows.report import RunReport
from flows.report_page import render_html

__all__ = [
    "PagesResult",
    "docs_path",
    "publish_pages",
    "publish_pages_task",
    "publish_semantic_manifest",
    "report_path",
]

log = logging.getLogger(__name__)


def docs_path(warehouse: Path) -> Path:
    """The dbt docs page beside ``warehouse``: ``norce.duckdb`` -> ``norce.docs.html``."""
    return warehouse.with_name(warehouse.stem + ".docs.html")


def report_path(warehouse: Path) -> Path:
    """The report page published beside ``warehouse``."""
    return warehouse.with_name(warehouse.stem + ".report.html")


@dataclass(frozen=True, slots=True)
class PagesResult:
    """What was published beside the warehouse (``None``: not made, see ``problems``)."""

    docs: Path | None
    report: Path | None
    problems: tuple[str, ...] = ()


def write_atomically(target: Path, data: bytes, mode: int = DEFAULT_FILE_MODE) -> None:
    """Write ``data`` to a temp file beside ``target``, fsync it, rename it over ``target``.

    A symbolic link is followed (its file is replaced, the link kept); the temp file is
    private (``mkstemp``) until it gets :func:`~flows.files.published_mode` just before the
    rename.
    """
    real = Path(os.path.realpath(target))
    real.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp_name, published_mode(real, mode))
        os.replace(tmp_name, real)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def generate_docs(work_database: Path, reporting_currency: str | None) -> Path:
    """``dbt docs generate --static`` against the (closed) working database.

    Returns:
        The single-file site dbt wrote (``static_index.html`` in its target directory).

    Raises:
        RuntimeError: dbt could not generate the docs.
    """
    result = run_dbt(
        ["docs", "generate", "--static", "--no-compile", "--quiet"],
        work_database=work_database,
        env={"NORCE_REPORTING_CURRENCY": reporting_currency or ""},
    )
    page = result.target_path / "static_index.html"
    if not result.success or not page.is_file():
        raise RuntimeError(result.error or "dbt docs generate did not succeed")
    return page


def publish_semantic_manifest(
    target_dir: Path, warehouse: Path, mode: int = DEFAULT_FILE_MODE
) -> None:
    """Publish dbt's ``semantic_manifest.json`` beside ``warehouse`` (``norce-wh metrics``).

    It describes the marts of this very file, so it is replaced with it, never ahead of it.
    """
    from flows.metrics import semantic_manifest_path

    manifest = target_dir / "semantic_manifest.json"
    if not manifest.is_file():
        raise RuntimeError(f"dbt wrote no {manifest.name} in {target_dir}")
    write_atomically(semantic_manifest_path(warehouse), manifest.read_bytes(), mode)


def publish_pages(
    report: RunReport,
    work_database: Path,
    warehouse: Path,
    *,
    reporting_currency: str | None = None,
    mode: int = DEFAULT_FILE_MODE,
) -> PagesResult:
    """Make and publish the docs page (when dbt built the marts) and the report page.

    Call it after the warehouse was published, while the run still holds the working
    database (nobody else may write it while dbt reads its catalog).
    """
    if report.publish is None:
        return PagesResult(None, None, ("nothing published, so no pages either",))
    problems: list[str] = []
    docs: Path | None = None
    if report.dbt is not None and report.dbt.success:
        try:
            page = generate_docs(work_database, reporting_currency)
            write_atomically(docs_path(warehouse), page.read_bytes(), mode)
            docs = docs_path(warehouse)
            publish_semantic_manifest(page.parent, warehouse, mode)
        except (OSError, RuntimeError) as exc:
            problems.append(f"dbt docs not published: {exc}")
    elif docs_path(warehouse).exists():
        docs = docs_path(warehouse)  # the previous run's docs still describe the file
    try:
        html = render_html(
            report, report_charts(report), docs_href=docs.name if docs is not None else None
        )
        write_atomically(report_path(warehouse), html.encode("utf-8"), mode)
        written: Path | None = report_path(warehouse)
    except OSError as exc:
        problems.append(f"report page not published: {exc}")
        written = None
    for problem in problems:
        log.warning("%s", problem)
    if docs is not None or written is not None:
        log.info("pages beside the warehouse: %s", ", ".join(str(p) for p in (docs, written) if p))
    return PagesResult(docs, written, tuple(problems))


@task(name="publish-pages", retries=0, cache_policy=NO_CACHE, persist_result=False)
def publish_pages_task(
    report: RunReport,
    work_database: Path,
    warehouse: Path,
    reporting_currency: str | None,
    mode: int = DEFAULT_FILE_MODE,
) -> PagesResult:
    """Publish the dbt docs and the report page beside the warehouse (never fails the run)."""
    return publish_pages(
        report, work_database, warehouse, reporting_currency=reporting_currency, mode=mode
    )
