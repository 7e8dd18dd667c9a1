"""The tables of schema ``meta``, created whenever a working database is opened.

:mod:`extract.load.meta` writes them (one row dataclass per table, inserted by column name);
``meta.state`` rows are :class:`~extract.load.state.PartitionState`.
"""

from __future__ import annotations

__all__ = ["DEMO_DDL", "META_DDL", "PUBLISH_DDL", "QUARANTINE_UPGRADE"]

DEMO_DDL = """create table if not exists meta.demo (
    created_at timestamptz, seed integer, scale double, note varchar
)"""
"""Marks a warehouse ``norce-wh demo`` built from simulated data (written by the demo only)."""

PUBLISH_DDL = """create table if not exists meta.publishes (
    run_id varchar,               -- the run whose results were published (null: manual)
    published_at timestamptz not null,
    source varchar not null,      -- working database the copy was made from
    target varchar not null       -- published file
)"""

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
        pending_mode varchar,              -- first|incremental|full|backfill|resync; null = idle
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
        mode varchar not null,             -- first | incremental | full | backfill | resync
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
        mode varchar not null,             -- first | incremental | full | backfill
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
        recorded_at timestamptz,
        record_key varchar,                -- JSON list: the record's key, when readable
        customer_id bigint,                -- who the record is about (erasure, forgetting)
        email_hash varchar
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
    PUBLISH_DDL,
)
"""Schemas ``raw`` and ``meta`` and every ``meta`` table; run when a warehouse is opened."""

QUARANTINE_UPGRADE: tuple[str, ...] = (
    "alter table meta.quarantine add column record_key varchar",
    "alter table meta.quarantine add column customer_id bigint",
    "alter table meta.quarantine add column email_hash varchar",
    # Payloads stored before quarantine was private may hold plaintext personal data, and
    # cannot be matched to a person for erasure: keep only their size.
    """update meta.quarantine set payload = json_object('bytes', strlen(payload),
        'note', 'payload removed on upgrade: stored before quarantine was private')
        where payload is not null""",
)
"""Run once on a working database whose ``meta.quarantine`` predates its privacy columns."""
