"""Loader bookkeeping in schema ``meta``: partition state (watermarks, cursors) and run logs.

A partition is one entity set x application (x key range during a split full pass). Its
state row holds the committed ``watermark`` -- the server time at which the last *complete*
pass started -- and, while a pass is under way, the pending window and the last key
committed. The state row is written in the same transaction as the rows it produced
(:meth:`extract.warehouse.Warehouse.write_batch`), so after a kill the next run resumes
exactly after the last committed batch and promotes the watermark only when the pass
completes (never past the start of the pass, never to max(Updated)).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import duckdb

META_DDL: tuple[str, ...] = (
    "create schema if not exists raw",
    "create schema if not exists meta",
    """create table if not exists meta.state (
        entity varchar not null,
        application_id integer not null,   -- 0 for client-wide sets
        part varchar not null,             -- '' or 'r<i>/<n>' for key ranges of a split pass
        watermark timestamptz,             -- server time at the start of the last complete pass
        pending_since timestamptz,         -- lower bound of the pass under way (null = all rows)
        pending_until timestamptz,         -- start of the pass under way (next watermark)
        pending_mode varchar,              -- incremental | full | backfill; null = idle
        last_key varchar,                  -- JSON list: key of the last committed row (keyset)
        key_lo varchar,                    -- JSON key-range bounds of a split pass
        key_hi varchar,
        rows_in_pass bigint not null default 0,
        updated_at timestamptz not null,
        run_id varchar not null,
        primary key (entity, application_id, part)
    )""",
    """create table if not exists meta.runs (
        run_id varchar not null,
        entity varchar not null,
        application_id integer not null,
        part varchar not null,
        mode varchar not null,
        status varchar not null,           -- ok | failed | budget | skipped
        started_at timestamptz not null,
        finished_at timestamptz,
        duration_s double,
        rows bigint, pages bigint, requests bigint, retries bigint, rate_limited bigint,
        server_errors bigint, network_errors bigint, bad_payloads bigint, bytes bigint,
        source_count bigint,               -- @odata.count for the pass filter, null if unknown
        loaded_count bigint,               -- rows the pass delivered
        count_match boolean,               -- null when the server gave no count
        watermark_before timestamptz,
        watermark_after timestamptz,
        quarantined bigint, purged bigint, deleted_marked bigint,
        error varchar
    )""",
    """create table if not exists meta.run_history (
        run_id varchar primary key,
        command varchar not null,
        mode varchar not null,
        started_at timestamptz not null,
        finished_at timestamptz,
        status varchar not null,           -- running | ok | partial | failed | budget
        entities varchar,
        requests bigint, token_requests bigint, rows bigint, quarantined bigint,
        warnings varchar,
        error varchar
    )""",
    """create table if not exists meta.schema_changes (
        run_id varchar, entity varchar, table_name varchar, column_name varchar,
        change varchar, old_type varchar, new_type varchar, recorded_at timestamptz
    )""",
    """create table if not exists meta.quarantine (
        run_id varchar, entity varchar, application_id integer, key_after varchar,
        key_before varchar, skip_offset bigint, url varchar, error varchar, payload varchar,
        recorded_at timestamptz
    )""",
    """create table if not exists meta.purges (
        run_id varchar, entity varchar, table_name varchar, reason varchar, keys bigint,
        recorded_at timestamptz
    )""",
    """create table if not exists meta.erased_orders (
        order_id bigint primary key, application_id integer, currency_id integer,
        order_date timestamptz, status_id integer, net_amount decimal(38, 4),
        erased_at timestamptz
    )""",
    """create table if not exists meta.erasures (
        customer_id integer, email_hash varchar, requested_at timestamptz,
        rows_removed bigint, note varchar
    )""",
)


def encode_key(key: tuple[Any, ...] | None) -> str | None:
    if key is None:
        return None
    return json.dumps([_jsonable(v) for v in key])


def decode_key(text: str | None) -> tuple[Any, ...] | None:
    if text is None:
        return None
    return tuple(json.loads(text))


def _jsonable(v: Any) -> Any:
    if isinstance(v, int | str | float | bool) or v is None:
        return v
    return str(v)


@dataclass(frozen=True, slots=True)
class PartitionState:
    entity: str
    application_id: int
    part: str
    run_id: str
    updated_at: datetime
    watermark: datetime | None = None
    pending_since: datetime | None = None
    pending_until: datetime | None = None
    pending_mode: str | None = None
    last_key: tuple[Any, ...] | None = None
    key_lo: tuple[Any, ...] | None = None
    key_hi: tuple[Any, ...] | None = None
    rows_in_pass: int = 0

    @property
    def in_progress(self) -> bool:
        """A pass is under way (or planned and not finished)."""
        return self.pending_mode is not None

    def advanced(
        self, last_key: tuple[Any, ...] | None, rows: int, *, at: datetime
    ) -> PartitionState:
        return replace(
            self, last_key=last_key, rows_in_pass=self.rows_in_pass + rows, updated_at=at
        )

    def completed(self, *, at: datetime) -> PartitionState:
        """The pass finished: promote the pending window's start to the watermark."""
        return replace(
            self,
            watermark=self.pending_until,
            pending_since=None,
            pending_until=None,
            pending_mode=None,
            last_key=None,
            rows_in_pass=0,
            updated_at=at,
        )


_COLS = (
    "entity, application_id, part, watermark, pending_since, pending_until, pending_mode, "
    "last_key, key_lo, key_hi, rows_in_pass, updated_at, run_id"
)


def write_state(con: duckdb.DuckDBPyConnection, s: PartitionState) -> None:
    """Upsert one partition's state (call inside the batch transaction)."""
    con.execute(
        f"insert or replace into meta.state ({_COLS}) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            s.entity,
            s.application_id,
            s.part,
            s.watermark,
            s.pending_since,
            s.pending_until,
            s.pending_mode,
            encode_key(s.last_key),
            encode_key(s.key_lo),
            encode_key(s.key_hi),
            s.rows_in_pass,
            s.updated_at,
            s.run_id,
        ],
    ).fetchall()


def read_states(con: duckdb.DuckDBPyConnection, entity: str) -> list[PartitionState]:
    rows = con.execute(
        f"select {_COLS} from meta.state where entity = ? order by application_id, part",
        [entity],
    ).fetchall()
    return [
        PartitionState(
            entity=r[0],
            application_id=r[1],
            part=r[2],
            watermark=r[3],
            pending_since=r[4],
            pending_until=r[5],
            pending_mode=r[6],
            last_key=decode_key(r[7]),
            key_lo=decode_key(r[8]),
            key_hi=decode_key(r[9]),
            rows_in_pass=r[10],
            updated_at=r[11],
            run_id=r[12],
        )
        for r in rows
    ]


def delete_state(
    con: duckdb.DuckDBPyConnection, entity: str, application_id: int, part: str
) -> None:
    con.execute(
        "delete from meta.state where entity = ? and application_id = ? and part = ?",
        [entity, application_id, part],
    ).fetchall()
