"""Every write to the bookkeeping schema ``meta``, and its tables.

One module owns the writes to ``meta`` (the tables themselves are created from
:mod:`extract.load.meta_tables`): rows are inserted by column name (``INSERT ... BY NAME``)
from one dataclass per table, so a column added or reordered cannot shift values into the
wrong place. Keys (a resume key, a
split bound, a quarantined range) are stored one way: a JSON list (:func:`encode_key`).

Tables: ``state`` (a partition's watermark and pass under way), ``runs`` (one row per
partition attempt), ``run_history`` (one row per run), ``schema_changes``, ``quarantine``,
``purges`` (forgotten records removed), ``erasures`` and ``erased_orders`` (``norce-wh
erase``), ``publishes`` (written by the publish step into the working file) and ``demo``
(a warehouse of simulated data).

Every function takes the connection (or transaction) to write with, so a row can commit with
the data it describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import duckdb

from extract.load.meta_tables import DEMO_DDL, PUBLISH_DDL
from extract.load.state import PartitionState

__all__ = [
    "DemoRow",
    "ErasureRow",
    "PartitionRunRow",
    "PublishRow",
    "PurgeRow",
    "QuarantineRow",
    "RunFinishedRow",
    "RunStartedRow",
    "SchemaChangeRow",
    "any_watermark",
    "decode_key",
    "delete_state",
    "encode_key",
    "erase_quarantined",
    "erasures",
    "forget_erased_orders",
    "insert",
    "keep_erased_orders",
    "purge_quarantined",
    "read_states",
    "record_demo",
    "record_publish",
    "update_run",
    "write_state",
]

# --- keys ------------------------------------------------------------------------------------


def encode_key(key: tuple[Any, ...] | None) -> str | None:
    """A key as stored in ``meta``: a JSON list (values JSON cannot hold become text)."""
    if key is None:
        return None
    return json.dumps([_jsonable(v) for v in key])


def decode_key(text: str | None) -> tuple[Any, ...] | None:
    """The key :func:`encode_key` stored."""
    if text is None:
        return None
    return tuple(json.loads(text))


def _jsonable(v: Any) -> Any:
    if isinstance(v, int | str | float | bool) or v is None:
        return v
    return str(v)


# --- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartitionRunRow:
    """``meta.runs``: one partition attempt."""

    run_id: str
    entity: str
    application_id: int
    part: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float
    rows: int
    pages: int
    requests: int
    retries: int
    rate_limited: int
    server_errors: int
    network_errors: int
    bad_payloads: int
    bytes: int
    source_count: int | None
    loaded_count: int
    count_match: bool | None
    watermark_before: datetime | None
    watermark_after: datetime | None
    quarantined: int
    purged: int
    deleted_marked: int
    error: str | None


@dataclass(frozen=True, slots=True)
class RunStartedRow:
    """``meta.run_history``: a run that started (``status`` running)."""

    run_id: str
    command: str
    mode: str
    started_at: datetime
    entities: str
    status: str = "running"


@dataclass(frozen=True, slots=True)
class RunFinishedRow:
    """``meta.run_history``: what a finished run adds to its row."""

    run_id: str
    finished_at: datetime
    status: str
    requests: int
    token_requests: int
    rows: int
    quarantined: int
    warnings: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class SchemaChangeRow:
    """``meta.schema_changes``: a raw column added, removed or retyped."""

    run_id: str
    entity: str
    table_name: str
    column_name: str
    change: str
    old_type: str | None
    new_type: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    """``meta.quarantine``: records that could not be loaded -- unreadable ones between two
    keys, or one that broke the key rules (``record_key``). ``payload`` holds only what raw
    would keep of them (:mod:`extract.decode.private`); ``customer_id`` and ``email_hash``
    say who a record is about, so erasure and the forgotten-records purge remove it."""

    run_id: str
    entity: str
    application_id: int
    key_after: str | None
    key_before: str | None
    skip_offset: int | None
    url: str
    error: str
    payload: str | None
    recorded_at: datetime
    record_key: str | None = None
    customer_id: int | None = None
    email_hash: str | None = None


@dataclass(frozen=True, slots=True)
class PurgeRow:
    """``meta.purges``: rows removed from raw because the source flags them forgotten."""

    run_id: str
    entity: str
    table_name: str
    reason: str
    keys: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ErasureRow:
    """``meta.erasures``: one erasure request (``norce-wh erase``)."""

    customer_id: int | None
    email_hash: str | None
    requested_at: datetime
    rows_removed: int
    note: str | None


@dataclass(frozen=True, slots=True)
class PublishRow:
    """``meta.publishes``: one publish of the working file."""

    run_id: str | None
    published_at: datetime
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class DemoRow:
    """``meta.demo``: a warehouse built by ``norce-wh demo`` from simulated data."""

    created_at: datetime
    seed: int
    scale: float
    note: str


# --- writes ----------------------------------------------------------------------------------

_TABLES: dict[type[Any], str] = {
    PartitionRunRow: "runs",
    RunStartedRow: "run_history",
    SchemaChangeRow: "schema_changes",
    QuarantineRow: "quarantine",
    PurgeRow: "purges",
    ErasureRow: "erasures",
    PublishRow: "publishes",
    DemoRow: "demo",
}


def insert(con: duckdb.DuckDBPyConnection, row: Any, *, replace: bool = False) -> None:
    """Insert one row dataclass into its ``meta`` table, by column name.

    Args:
        con: The connection or open transaction to write with.
        row: One of the ``*Row`` dataclasses of this module.
        replace: Replace the row with the same primary key (``insert or replace``).
    """
    _insert(con, _TABLES[type(row)], _values(row), replace=replace)


def update_run(con: duckdb.DuckDBPyConnection, row: RunFinishedRow) -> None:
    """Complete a run's ``meta.run_history`` row."""
    values = _values(row)
    run_id = values.pop("run_id")
    assignments = ", ".join(f"{name} = ?" for name in values)
    _x(
        con,
        f"update meta.run_history set {assignments} where run_id = ?",
        [*values.values(), run_id],
    )


def write_state(con: duckdb.DuckDBPyConnection, s: PartitionState) -> None:
    """Upsert one partition's state (call inside the batch transaction)."""
    values = _values(s)
    for name in ("last_key", "key_lo", "key_hi"):
        values[name] = encode_key(values[name])
    _insert(con, "state", values, replace=True)


def read_states(con: duckdb.DuckDBPyConnection, entity: str) -> list[PartitionState]:
    """Every partition state of ``entity``, by application and part."""
    names = [f.name for f in fields(PartitionState)]
    rows = con.execute(
        f"select {', '.join(names)} from meta.state where entity = ? order by application_id, part",
        [entity],
    ).fetchall()
    states = []
    for row in rows:
        values = dict(zip(names, row, strict=True))
        for name in ("last_key", "key_lo", "key_hi"):
            values[name] = decode_key(values[name])
        states.append(PartitionState(**values))
    return states


def delete_state(
    con: duckdb.DuckDBPyConnection, entity: str, application_id: int, part: str
) -> None:
    """Forget one partition's state (a consolidated key range)."""
    _x(
        con,
        "delete from meta.state where entity = ? and application_id = ? and part = ?",
        [entity, application_id, part],
    )


def any_watermark(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any partition has completed a pass (else a run is a first load)."""
    return bool(
        con.execute("select 1 from meta.state where watermark is not null limit 1").fetchall()
    )


def erasures(con: duckdb.DuckDBPyConnection) -> list[tuple[int | None, str | None]]:
    """Every recorded erasure request: ``(customer_id, email_hash)``."""
    return [
        (r[0], r[1])
        for r in con.execute("select customer_id, email_hash from meta.erasures").fetchall()
    ]


def keep_erased_orders(con: duckdb.DuckDBPyConnection, order_ids: list[Any]) -> None:
    """Keep the figures of orders about to be erased locally (once per order).

    Norce's own Reporting still counts these orders; the reconciliation mart accounts for
    them from ``meta.erased_orders``. Needs ``raw.orders`` and ``raw.order_items``.

    Args:
        con: The erasure's transaction.
        order_ids: ``raw.orders.Id`` of the person's orders.
    """
    _x(
        con,
        "insert into meta.erased_orders "
        "select o.Id, o.ApplicationId, o.CurrencyId, o.OrderDate, o.StatusId, "
        "coalesce((select sum(i.LineAmount) from raw.order_items i "
        "where i.OrderId = o.Id), 0), now() "
        "from raw.orders o where o.Id in (select unnest(?)) and not exists "
        "(select 1 from meta.erased_orders e where e.order_id = o.Id)",
        [order_ids],
    )


def forget_erased_orders(con: duckdb.DuckDBPyConnection, order_ids: list[Any]) -> None:
    """Drop locally erased orders from ``meta.erased_orders`` once the source forgets them."""
    _x(con, "delete from meta.erased_orders where order_id in (select unnest(?))", [order_ids])


def erase_quarantined(
    con: duckdb.DuckDBPyConnection, customer_id: int | None, email_hash: str | None
) -> int:
    """Remove one person's quarantined records (``norce-wh erase``). Returns rows removed."""
    if customer_id is None and not email_hash:
        return 0
    rows = con.execute(
        "delete from meta.quarantine where customer_id = ? or email_hash = ? returning 1",
        [customer_id, email_hash],
    ).fetchall()
    return len(rows)


def purge_quarantined(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    keys: list[tuple[Any, ...]],
    *,
    customers: bool = False,
) -> int:
    """Remove quarantined records the source now flags as forgotten. Returns rows removed.

    Args:
        con: The purge's transaction.
        entity: The set whose records are forgotten.
        keys: Their keys.
        customers: The keys are customer ids: quarantined records of any set that are
            about those customers go too.
    """
    if not keys:
        return 0
    encoded = [encode_key(k) for k in keys]
    rows = con.execute(
        "delete from meta.quarantine where (entity = ? and record_key in (select unnest(?))) "
        "or (? and customer_id in (select unnest(?))) returning 1",
        [entity, encoded, customers, [k[0] for k in keys] if customers else []],
    ).fetchall()
    return len(rows)


def record_publish(con: duckdb.DuckDBPyConnection, row: PublishRow) -> None:
    """Add a ``meta.publishes`` row (creating the table in a file that predates it)."""
    _x(con, "create schema if not exists meta")
    _x(con, PUBLISH_DDL)
    insert(con, row)


def record_demo(con: duckdb.DuckDBPyConnection, row: DemoRow) -> None:
    """Mark a working file as the demo's (creating schema and table as needed)."""
    _x(con, "create schema if not exists meta")
    _x(con, DEMO_DDL)
    insert(con, row)


def _values(row: Any) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in fields(row)}


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, values: dict[str, Any], *, replace: bool
) -> None:
    columns = ", ".join(f'? as "{name}"' for name in values)
    verb = "insert or replace" if replace else "insert"
    _x(con, f"{verb} into meta.{table} by name select {columns}", list(values.values()))


def _x(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> None:
    """Run a statement and drain its result (DuckDB 2 refuses new work while one is open)."""
    con.execute(sql, params or []).fetchall()
