"""``norce-wh demo``: the whole pipeline against the bundled simulator, then a short tour.

The demo starts the Norce Query API simulator on 127.0.0.1 (a free port), points the
settings at it through the environment of this process only (credentials ``demo`` /
``demo-secret``, a demo salt, a generous local request rate), runs the ``norce_elt`` flow in
Prefect's ephemeral mode (no Prefect server needed), prints the run summary and answers
three questions from the marts.

It never overwrites a warehouse it did not create: the working database it writes carries a
``meta.demo`` table, and an existing warehouse without one is left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click
import duckdb

from extract import DemoRow, record_demo
from extract.errors import WarehouseError
from flows.logs import quiet_prefect_console, quiet_prefect_environment

if TYPE_CHECKING:  # heavy imports stay lazy: `norce-wh --help` does not pay for them
    from flows.errors import RunFailed
    from flows.report import RunReport
    from simulator.control import Simulator

__all__ = [
    "DEFAULT_SCALE",
    "DEFAULT_WAREHOUSE",
    "DEMO_ENV",
    "Question",
    "answer_questions",
    "explore_commands",
    "run_demo",
]

log = logging.getLogger(__name__)

DEFAULT_WAREHOUSE = Path("warehouse/norce.duckdb")
"""Where ``make demo`` publishes (the same default as ``NORCE_WAREHOUSE``)."""

DEFAULT_SCALE = 1.0
"""Simulated data volume of ``make demo``; measured to keep the demo near two minutes on
two cores (see the README)."""

DEMO_ENV: dict[str, str] = {
    "NORCE_CLIENT_ID": "demo",
    "NORCE_CLIENT_SECRET": "demo-secret",
    "NORCE_PII_SALT": "norce-warehouse-demo-salt",
    # The simulator runs in this process on loopback: no need to spare it.
    "NORCE_MAX_RPS": "1000",
    "NORCE_MAX_INFLIGHT": "4",
}
"""Settings the demo sets; the base URL and warehouse path are added at run time."""

_CLEARED = (
    "NORCE_CONFIG",
    "NORCE_ENTITIES",
    "NORCE_WORK_DATABASE",
    "NORCE_REQUEST_BUDGET",
    "NORCE_PII_OVERRIDES",
    "NORCE_SCOPE",
)
"""Operator settings for a real tenant that must not leak into the demo."""


@dataclass(frozen=True, slots=True)
class Question:
    """An example question, the SQL that answers it, and the answer's rows."""

    title: str
    sql: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]


QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "Net revenue by application in the last complete month",
        """
        with months as (
            select max(order_month) - interval 1 month as last_complete
            from marts.mart_sales_monthly
        )
        select application_name,
               sum(orders) as orders,
               round(sum(net_revenue_rc), 2) as net_revenue,
               any_value(reporting_currency_code) as currency
        from marts.mart_sales_monthly, months
        where order_month = months.last_complete
        group by application_name
        order by net_revenue desc
        """,
    ),
    (
        "Top 5 products by merchandise revenue (all time)",
        """
        select product_name,
               sum(units) as units,
               round(sum(merchandise_revenue_rc), 2) as merchandise_revenue
        from marts.mart_product_performance
        group by product_name
        order by merchandise_revenue desc
        limit 5
        """,
    ),
    (
        "Share of customers who ordered more than once",
        """
        select count(*) filter (where lifetime_orders >= 2) as repeat_customers,
               count(*) as customers_with_orders,
               round(100.0 * count(*) filter (where lifetime_orders >= 2) / count(*), 1)
                   as repeat_share_pct
        from marts.dim_customers
        where lifetime_orders >= 1
        """,
    ),
)
"""The demo's questions; the README shows the same SQL."""


def answer_questions(warehouse: Path) -> list[Question]:
    """Run :data:`QUESTIONS` against the published warehouse (read-only)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = []
        for title, sql in QUESTIONS:
            cur = con.execute(sql)
            headers = tuple(d[0] for d in cur.description or [])
            rows = [tuple(_cell(v) for v in row) for row in cur.fetchall()]
            out.append(Question(title, " ".join(sql.split()), headers, rows))
        return out
    finally:
        con.close()


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return str(value)


def _numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def _guard_existing(warehouse: Path, work_db: Path) -> None:
    """Refuse to touch a warehouse that the demo did not create."""
    for path in (work_db, warehouse):
        if not path.exists():
            continue
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise WarehouseError(
                f"{path} exists and cannot be opened ({str(exc).splitlines()[0]})",
                hint="pass --warehouse with another path for the demo",
            ) from exc
        try:
            found = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'meta' and table_name = 'demo'"
            ).fetchone()
        finally:
            con.close()
        if not found or not found[0]:
            raise WarehouseError(
                f"{path} holds a warehouse the demo did not create; the demo will not overwrite it",
                hint="pass --warehouse demo/norce.duckdb (or another path) for the demo",
            )


_VOLUMES = (
    ("Orders.Order", "orders"),
    ("Orders.OrderItem", "order lines"),
    ("Customers.Customer", "customers"),
    ("Products.Product", "products"),
    ("Products.ProductSku", "SKUs"),
    ("Core.Application", "applications"),
)
"""Simulator volumes worth a mention (keys of ``Simulator.stats()``)."""


def _fresh_work_database(work_db: Path) -> None:
    """Start every demo from an empty working file (the simulator's data is new each time).

    Only called after :func:`_guard_existing`, so the file removed is a previous demo's.
    The published file stays until the new one replaces it, so open readers keep working.
    """
    for path in (work_db, work_db.with_name(work_db.name + ".wal")):
        path.unlink(missing_ok=True)


def _mark_demo(work_db: Path, seed: int, scale: float) -> None:
    work_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(work_db))
    try:
        record_demo(
            con, DemoRow(datetime.now(UTC), seed, scale, "simulated data from norce-wh demo")
        )
    finally:
        con.close()


def _say(message: str) -> None:
    click.echo(message, err=True)


def run_demo(
    *, scale: float = DEFAULT_SCALE, seed: int = 42, warehouse: Path, verbose: bool = False
) -> None:
    """Start the simulator, run the flow end to end, print the summary and the tour.

    Args:
        scale: Simulated data volume.
        seed: Simulator seed (same seed, same data).
        warehouse: Where to publish; its working file sits beside it.
        verbose: Keep Prefect's own log lines.

    Raises:
        WarehouseError: ``warehouse`` exists and was not created by the demo.
    """
    started = time.monotonic()
    quiet_prefect_environment(verbose)
    work_db = warehouse.with_suffix(".work.duckdb")
    _guard_existing(warehouse, work_db)

    from simulator.control import Simulator
    from simulator.server import SimulatorServer

    _say(f"Generating the simulated shop (seed {seed}, scale {scale:g}) ...")
    sim = Simulator.create(seed=seed, scale=scale)
    volumes = sim.stats()
    shown = ", ".join(
        f"{volumes.get(key, 0):,} {label}" for key, label in _VOLUMES if volumes.get(key)
    )
    _say(f"  {shown} ({time.monotonic() - started:.1f} s)")
    with SimulatorServer(sim) as server:
        _say(f"Simulator serving the Norce Query API at {server.base_url}")
        _demo_environment(server.base_url, sim, warehouse)
        _fresh_work_database(work_db)
        _mark_demo(work_db, seed, scale)
        quiet_prefect_console(verbose)
        report, failure = _run_pipeline()
    from flows.render import render_text

    click.echo(render_text(report))
    if report.publish is not None:
        _print_tour(warehouse, time.monotonic() - started)
    if failure is not None:
        raise failure


def _demo_environment(base_url: str, sim: Simulator, warehouse: Path) -> None:
    """Settings as an operator would give them, pointing at the bundled simulator."""
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ.update(DEMO_ENV)
    os.environ["NORCE_BASE_URL"] = base_url
    # The demo names its applications as an operator of a real tenant should: Norce
    # answers Core/* with 500 without an application context, so listing them first
    # may not work there (the simulator lets Core/Applications through).
    apps = sim.truth("Core", "Applications").get_column("Id").to_list()
    os.environ["NORCE_APPLICATION_IDS"] = ",".join(str(a) for a in apps)
    os.environ["NORCE_WAREHOUSE"] = str(warehouse)


def _run_pipeline() -> tuple[RunReport, RunFailed | None]:
    """The flow, once; a run that failed after publishing still returns its report."""
    from flows.errors import RunFailed
    from flows.flow import norce_elt
    from flows.report import RunReport

    _say("Running the pipeline: extract -> dbt build -> publish (Prefect, ephemeral mode)")
    try:
        return norce_elt(), None
    except RunFailed as exc:
        # Partly loaded, but built and published: still worth the tour, then the error.
        if not isinstance(exc.report, RunReport):
            raise
        report, exc.report = exc.report, None
        return report, exc


def program() -> str:
    """How the user can call ``norce-wh`` again: ``.venv/bin/norce-wh`` after ``make demo``
    (the virtualenv is not on their PATH), plain ``norce-wh`` when it is on the PATH."""
    argv0 = Path(sys.argv[0])
    if argv0.name != "norce-wh":
        return "norce-wh"
    found = shutil.which("norce-wh")
    if found and Path(found).resolve() == argv0.resolve():
        return "norce-wh"
    try:
        return str(argv0.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(argv0)


def explore_commands(warehouse: Path) -> list[tuple[str, str]]:
    """What the demo suggests next; each command exists and needs no API settings."""
    env = "" if warehouse == DEFAULT_WAREHOUSE else f"NORCE_WAREHOUSE={warehouse} "
    cli = env + program()
    return [
        (f"{cli} sql", "SQL prompt on the published file (read-only)"),
        (f'{cli} sql -c "select * from marts.mart_sales_monthly limit 10"', "one query"),
        (f"{cli} metrics net_revenue orders --by month", "metrics from the semantic layer"),
        (f"{cli} status", "runs, rows and freshness per table"),
        (f"{cli} docs", "dbt docs (columns, lineage) and the report with charts"),
    ]


def _print_tour(warehouse: Path, seconds: float) -> None:
    click.echo(f"Warehouse published at {warehouse.resolve()}")
    click.echo("(a copy made after the run; open it read-only, loads never block it)\n")
    for q in answer_questions(warehouse):
        click.echo(q.title)
        click.echo("-" * len(q.title))
        table = [q.headers, *q.rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(q.headers))]
        for row in table:
            cells = (
                c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=True)
            )
            click.echo(("  " + "  ".join(cells)).rstrip())
        click.echo("")
    click.echo("Explore it yourself:")
    commands = explore_commands(warehouse)
    width = max(len(command) for command, _ in commands)
    for command, what in commands:
        click.echo(f"  {command:<{width}}  # {what}")
    click.echo(f"\nDemo finished in {seconds:.0f} s.")
    sys.stdout.flush()
