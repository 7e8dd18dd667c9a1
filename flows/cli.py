"""``norce-wh``: the command line of the warehouse.

Commands are thin: they read options, call the flow or one of the ``flows`` modules, print
the result on stdout and progress on stderr. Every :class:`~extract.errors.PipelineError`
becomes one line ``error: <what> -- <what to do>`` and its exit code; a traceback is shown
only with ``-v`` (see :mod:`flows.cli_support`). Heavy imports (Prefect, dbt, the
simulator) happen inside the commands, so ``--help`` and ``status`` answer at once.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

import click

from extract.errors import ConfigError
from flows.cli_support import (
    NorceGroup,
    check_entities,
    common_options,
    config_option,
    load_cli_settings,
    output_options,
    selection_options,
    verbosity,
)

__all__ = ["main"]


# --- commands -------------------------------------------------------------------------------


@click.group(cls=NorceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="norce-warehouse", prog_name="norce-wh")
def main() -> None:
    """Norce Commerce Query API -> DuckDB warehouse with dbt marts, run by Prefect.

    \b
    First time?   norce-wh demo          (no credentials needed: uses the bundled simulator)
    Real tenant:  norce-wh doctor        (checks NORCE_BASE_URL, credentials, access)
                  norce-wh run           (extract -> dbt build -> publish)
                  norce-wh serve --cron "0 * * * *"

    Settings come from NORCE_* environment variables or a TOML file (--config); see the
    README for the full table. BI tools open the published file ($NORCE_WAREHOUSE,
    default warehouse/norce.duckdb) read-only; runs never block them.
    """


def _run_pipeline(
    config: Path | None,
    *,
    entities: list[str] | None,
    applications: list[int] | None,
    full_refresh: bool,
    since: date | None,
    run_dbt: bool,
) -> None:
    load_cli_settings(config)  # fail fast on bad config, before Prefect starts
    check_entities(entities)
    from flows.flow import norce_elt
    from flows.logs import quiet_prefect_console
    from flows.render import render_text

    quiet_prefect_console(verbosity(click.get_current_context()) > 1)
    report = norce_elt(
        entities=entities,
        applications=applications,
        full_refresh=full_refresh,
        backfill_from=since,
        run_dbt=run_dbt,
        publish=True,
        config_file=str(config) if config else None,
    )
    click.echo(render_text(report, detail=verbosity(click.get_current_context()) > 0))


@main.command()
@common_options
@selection_options
def run(
    config: Path | None,
    entities: list[str] | None,
    applications: list[int] | None,
    full_refresh: bool,
    since: date | None,
) -> None:
    """Run the pipeline once: extract -> dbt build -> publish.

    Loads what changed since the last run (or everything the first time), rebuilds the
    marts and publishes the warehouse file. Progress goes to stderr, the run summary to
    stdout. The published file is replaced only if dbt succeeds.
    """
    _run_pipeline(
        config,
        entities=entities,
        applications=applications,
        full_refresh=full_refresh,
        since=since,
        run_dbt=True,
    )


@main.command()
@common_options
@selection_options
def extract(
    config: Path | None,
    entities: list[str] | None,
    applications: list[int] | None,
    full_refresh: bool,
    since: date | None,
) -> None:
    """Extract and publish raw tables only (no dbt).

    For a first look at a tenant or to (re)load a single entity set, e.g.
    `norce-wh extract --entities Orders/Orders --since 2024-01-01`.
    """
    _run_pipeline(
        config,
        entities=entities,
        applications=applications,
        full_refresh=full_refresh,
        since=since,
        run_dbt=False,
    )


@main.command()
@common_options
@selection_options
@click.option("--cron", help='Cron schedule, e.g. "*/15 * * * *" (UTC).')
@click.option("--interval", type=click.IntRange(min=60), help="Run every N seconds instead.")
@click.option(
    "--cadences",
    is_flag=True,
    help="Serve the standard schedules instead: lookups daily, products and customers "
    "hourly, orders every 15 minutes, Reporting nightly.",
)
@click.option("--name", default="norce-elt", show_default=True, help="Deployment name.")
def serve(
    config: Path | None,
    entities: list[str] | None,
    applications: list[int] | None,
    full_refresh: bool,
    since: date | None,
    cron: str | None,
    interval: int | None,
    cadences: bool,
    name: str,
) -> None:
    """Run the pipeline on a schedule until stopped (Ctrl-C).

    Registers a deployment with the Prefect API (start one with `prefect server start` and
    set PREFECT_API_URL) and runs it in this process on every tick. Give --cron, --interval
    or --cadences.
    """
    if sum(x is not None and x is not False for x in (cron, interval, cadences or None)) != 1:
        raise click.UsageError("give exactly one of --cron, --interval or --cadences")
    load_cli_settings(config)
    check_entities(entities)
    from flows.deploy import serve_cadences, serve_one
    from flows.logs import quiet_prefect_console

    quiet_prefect_console(verbosity(click.get_current_context()) > 1)
    if cadences:
        serve_cadences(config_file=str(config) if config else None)
        return
    serve_one(
        name,
        cron=cron,
        interval=interval,
        parameters={
            "entities": entities,
            "applications": applications,
            "full_refresh": full_refresh,
            "backfill_from": since.isoformat() if since else None,
            "config_file": str(config) if config else None,
        },
    )


@main.command()
@common_options
@click.option("--runs", default=5, show_default=True, help="How many recent runs to list.")
def status(config: Path | None, runs: int) -> None:
    """Show recent runs, rows and freshness per table, and watermarks.

    Reads the published warehouse file, so it works while a run is in progress. Needs no
    API settings: only NORCE_WAREHOUSE (or [warehouse] in the settings file).
    """
    from flows.read_settings import warehouse_settings
    from flows.status import read_status, render_status

    click.echo(render_status(read_status(warehouse_settings(config), last_runs=runs)), nl=False)


@main.command()
@config_option
@click.option(
    "-c", "--command", "query", metavar="SQL", help="Run SQL (or a dot command) and exit."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format (csv and json stream every row).",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Rows the table format shows.",
)
@click.argument("file", required=False, type=click.File("r", encoding="utf-8"))
def sql(
    config: Path | None, query: str | None, fmt: str, max_rows: int, file: TextIO | None
) -> None:
    """Query the published warehouse, read-only.

    \b
    norce-wh sql                               interactive prompt, with history
    norce-wh sql -c "select * from marts.mart_sales_monthly limit 5"
    norce-wh sql report.sql --format csv > report.csv
    norce-wh sql -c .tables                    every schema's tables and views

    Needs no API settings: only NORCE_WAREHOUSE (default warehouse/norce.duckdb).
    """
    from flows.read_settings import warehouse_settings
    from flows.sql_shell import Shell, history_path, interact, open_readonly, readline_history
    from flows.sql_shell import run_script as run_sql

    target = warehouse_settings(config).path
    con = open_readonly(target)
    try:
        shell = Shell(con, sys.stdout, fmt, max_rows)  # type: ignore[arg-type]
        stdin = sys.stdin
        if query is not None:
            run_sql(shell, query)
        elif file is not None:
            run_sql(shell, file.read())
        elif not stdin.isatty():
            run_sql(shell, stdin.read())
        else:
            click.echo(
                f"{target} (read-only). Statements end with ';'. .help for help, Ctrl-D quits.",
                err=True,
            )
            with readline_history(history_path()):
                interact(shell)
    finally:
        con.close()


@main.command()
@config_option
@click.argument("metric_names", nargs=-1)
@click.option(
    "--by",
    "by",
    default="",
    metavar="ITEMS",
    help="Comma-separated grains and dimensions: day, week, month, quarter, year, "
    "application, country, payment_method, delivery_method, status, customer_type, or any "
    "name `--dimensions` lists.",
)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First order date included.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last order date included.")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="FILTER",
    help="MetricFlow filter, e.g. \"{{ Dimension('order__is_first_order') }}\".",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--list", "list_metrics", is_flag=True, help="List the metrics and exit.")
@click.option(
    "--dimensions", "show_dimensions", is_flag=True, help="List what the metrics group by."
)
@click.option("--sql", "show_sql", is_flag=True, help="Print the SQL instead of running it.")
def metrics(
    config: Path | None,
    metric_names: tuple[str, ...],
    by: str,
    start: datetime | None,
    end: datetime | None,
    where: tuple[str, ...],
    limit: int | None,
    fmt: str,
    list_metrics: bool,
    show_dimensions: bool,
    show_sql: bool,
) -> None:
    """Answer metrics from the published warehouse (the dbt semantic layer, MetricFlow).

    \b
    norce-wh metrics --list
    norce-wh metrics net_revenue --by month,application
    norce-wh metrics orders customers average_order_value --by year --format csv
    norce-wh metrics net_revenue --by month --start 2025-01-01 --end 2025-06-30
    norce-wh metrics net_revenue --dimensions

    Metric names may also be given comma-separated. Needs no API settings: only
    NORCE_WAREHOUSE. Amounts are in the reporting currency.
    """
    from flows.metrics import MetricsRequest, SemanticLayer
    from flows.read_settings import warehouse_settings
    from flows.sql_output import write_result

    layer = SemanticLayer(warehouse_settings(config).path)
    names = tuple(n for arg in metric_names for n in arg.split(",") if n.strip())
    if list_metrics:
        for info in layer.metrics():
            click.echo(f"{info.name:<30} {info.label}: {info.description}".rstrip(": "))
        return
    if not names:
        raise click.UsageError("name at least one metric (norce-wh metrics --list shows them)")
    if show_dimensions:
        for name in layer.dimensions(names):
            click.echo(name)
        return
    request = MetricsRequest(
        metrics=names,
        by=tuple(b.strip() for b in by.split(",") if b.strip()),
        start=start.date() if start else None,
        end=end.date() if end else None,
        where=where,
        limit=limit,
    )
    sql_text = layer.compile(request)
    if show_sql:
        click.echo(sql_text)
        return
    con = layer.connect()
    try:
        con.execute(sql_text)
        write_result(con, sys.stdout, fmt, max_rows=10_000)  # type: ignore[arg-type]
    finally:
        con.close()


@main.command()
@config_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8088,
    show_default=True,
    help="0: any free port.",
)
def docs(config: Path | None, port: int) -> None:
    """Serve the dbt docs and the last run's report page on 127.0.0.1, read-only.

    Each run publishes both beside the warehouse (norce.docs.html, norce.report.html);
    this serves them at / (models, columns, lineage) and /report (charts and figures)
    until Ctrl-C. Needs no API settings: only NORCE_WAREHOUSE.
    """
    from flows.docs_server import DocsServer
    from flows.read_settings import warehouse_settings

    try:
        server = DocsServer(warehouse_settings(config).path, port)
    except OSError as exc:
        raise ConfigError(
            [f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"],
            hint="give another --port (0 picks a free one)",
        ) from exc
    click.echo(f"dbt docs:    {server.url}")
    click.echo(f"run report:  {server.url}report")
    click.echo("Serving read-only on 127.0.0.1; Ctrl-C stops.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()


@main.command()
@common_options
def doctor(config: Path | None) -> None:
    """Check configuration, credentials, API access and the warehouse path.

    Lists every configuration problem at once, then requests a token, each namespace's
    $metadata and Core/Applications, and checks the warehouse directory is writable.
    Exits non-zero (with the code of the first failure) if anything is wrong.
    """
    from flows.doctor import doctor_exit_code, render_checks, run_doctor

    checks = run_doctor(config_file=config)
    click.echo(render_checks(checks), nl=False)
    code = doctor_exit_code(checks)
    if code:
        click.get_current_context().exit(code)


@main.command()
@common_options
@click.option("--customer-id", type=int, help="Customers/Customers Id of the person.")
@click.option("--email", help="Their e-mail (for guest orders); only its salted hash is used.")
@click.option("--note", help="Reference kept with the request, e.g. a ticket number.")
def erase(
    config: Path | None, customer_id: int | None, email: str | None, note: str | None
) -> None:
    """Erase one person (GDPR) from raw, the marts and the published file.

    The request is recorded in meta.erasures, so later loads remove the person again if
    the API still sends their records.
    """
    settings = load_cli_settings(config)
    from flows.erase import erase_customer

    result = erase_customer(settings, customer_id=customer_id, email=email, note=note)
    who = f"customer {customer_id}" if customer_id is not None else "the e-mail given"
    click.echo(
        f"Erased {who}: {result.rows_removed} raw rows removed, marts rebuilt, "
        f"published {settings.warehouse.path}. Recorded in meta.erasures."
    )


@main.command()
@output_options
@click.option(
    "--scale",
    type=click.FloatRange(min=0.01, max=5.0),
    default=None,
    help="Simulated data volume (1.0 = a mid-size shop). Default: the demo's standard size.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Simulator seed.")
@click.option(
    "--warehouse",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("warehouse/norce.duckdb"),
    show_default=True,
    help="Where to publish the demo warehouse.",
)
def demo(scale: float | None, seed: int, warehouse: Path) -> None:
    """Try everything locally: simulator + full pipeline + a tour of the result.

    Starts the bundled Norce Query API simulator on 127.0.0.1, points the pipeline at it
    (no credentials needed), runs extract -> dbt build -> publish, then prints the run
    summary and three example questions answered from the marts.
    """
    from flows.demo import DEFAULT_SCALE, run_demo

    run_demo(
        scale=scale if scale is not None else DEFAULT_SCALE,
        seed=seed,
        warehouse=warehouse,
        verbose=verbosity(click.get_current_context()) > 1,
    )
