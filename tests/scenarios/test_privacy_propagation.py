"""Scenario: personal data. A customer Norce flags ``IsForgotten`` disappears from raw, the
marts and the published file on the next incremental run (and reconciliation still
passes); with no privacy overrides, e-mails are stored only as salted hashes and names,
phones and street lines are never stored.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.schema.catalog import CATALOG, PiiKind
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.flows.helpers import query
from tests.scenarios.conftest import cli_env, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

SEED = 71
SALT = "privacy-scenario-salt"
HEX64 = "[0-9a-f]{64}"


@dataclass(frozen=True)
class Loaded:
    sim: Simulator
    server: SimulatorServer
    api_url: str
    prefect_home: Path
    warehouse: Path
    """Directory of the warehouse after one complete `norce-wh run`."""

    def env(self, target: Path) -> dict[str, str]:
        return cli_env(self.server, target, self.prefect_home, self.api_url, NORCE_PII_SALT=SALT)


@pytest.fixture(scope="module")
def loaded(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url and api_url.startswith("http://127.0.0.1:")
    sim = Simulator.create(seed=SEED, scale=0.05)
    with SimulatorServer(sim) as server:
        root = tmp_path_factory.mktemp("privacy")
        state = Loaded(sim, server, api_url, root / "prefect", root / "wh")
        run_cli(["run"], state.env(state.warehouse / "norce.duckdb"))
        yield state


# --- forgotten customers ----------------------------------------------------------------------


def _pick_customer(db: Path) -> tuple[int, str]:
    """A registered customer with orders whose e-mail hash is theirs alone.

    Alone: no other account and no order of someone else carries it, so every trace of
    the hash in the warehouse is this person's. Not linked to a company (company links are
    business data Norce does not erase with the person).
    """
    rows = query(
        db,
        """
        with orders as (
            select Id, BuyerCustomerId as buyer, PayerCustomerId as payer,
                [Buyer_EmailAddressHash, Payer_EmailAddressHash, ShipTo_EmailAddressHash] as h
            from raw.orders
        )
        select c.Id, c.EmailAddressHash, count(*) as orders
        from raw.customers c join orders o on o.buyer = c.Id
        where c.EmailAddressHash is not null
          and c.Id not in (select CustomerId from raw.customer_companies)
          and (select count(*) from raw.customers x
               where x.EmailAddressHash = c.EmailAddressHash) = 1
          and not exists (
              select 1 from orders x where list_contains(x.h, c.EmailAddressHash)
                and c.Id not in (coalesce(x.buyer, -1), coalesce(x.payer, -1)))
          and c.EmailAddressHash in (select customer_key from marts.mart_customer_rfm)
        group by all
        order by orders desc, c.Id
        limit 1
        """,
    )
    assert rows, "no suitable customer in the simulated data"
    return int(rows[0][0]), str(rows[0][1])


def _traces(db: Path, customer: int, email_hash: str, orders: list[int]) -> dict[str, int]:
    """Rows that belong to the person, per place, in one warehouse file."""
    checks = {
        "raw.customers": (
            "select count(*) from raw.customers where Id = $c or EmailAddressHash = $h"
        ),
        "raw.customer_addresses": (
            "select count(*) from raw.customer_addresses where CustomerId = $c"
        ),
        "raw.orders": (
            "select count(*) from raw.orders where list_contains($o, Id) or BuyerCustomerId = $c "
            "or PayerCustomerId = $c or list_contains([Buyer_EmailAddressHash, "
            "Payer_EmailAddressHash, ShipTo_EmailAddressHash], $h)"
        ),
        "raw.order_items": "select count(*) from raw.order_items where list_contains($o, OrderId)",
        "raw.order_infos": "select count(*) from raw.order_infos where list_contains($o, OrderId)",
        "marts.fct_orders": (
            "select count(*) from marts.fct_orders where list_contains($o, order_id) "
            "or customer_key = $h or buyer_customer_id = $c"
        ),
        "marts.fct_order_lines": (
            "select count(*) from marts.fct_order_lines where list_contains($o, order_id) "
            "or customer_key = $h"
        ),
        "marts.dim_customers": (
            "select count(*) from marts.dim_customers where customer_key = $h or customer_id = $c "
            "or list_contains($o, first_order_id) or list_contains($o, last_order_id)"
        ),
        "marts.mart_customer_rfm": (
            "select count(*) from marts.mart_customer_rfm where customer_key = $h "
            "or customer_id = $c"
        ),
        "marts.fct_invoices": (
            "select count(*) from marts.fct_invoices where list_contains($o, order_id) "
            "or customer_key = $h"
        ),
        "snapshots.snap_customer_segments": (
            "select count(*) from snapshots.snap_customer_segments where customer_key = $h "
            "or customer_id = $c"
        ),
    }
    params = {"c": customer, "h": email_hash, "o": orders}
    con = duckdb.connect(str(db), read_only=True)
    try:
        out: dict[str, int] = {}
        for place, sql in checks.items():
            used = {k: v for k, v in params.items() if f"${k}" in sql}
            row = con.execute(sql, used).fetchone()
            assert row is not None
            out[place] = int(row[0])
        return out
    finally:
        con.close()


def test_a_forgotten_customer_leaves_raw_marts_and_the_published_file(
    loaded: Loaded, tmp_path: Path
) -> None:
    shutil.copytree(loaded.warehouse, tmp_path / "wh", ignore=shutil.ignore_patterns("*.lock"))
    target = tmp_path / "wh" / "norce.duckdb"
    work = target.with_name("norce.work.duckdb")
    customer, email_hash = _pick_customer(target)
    orders = sorted(
        int(r[0])
        for r in query(
            target,
            "select Id from raw.orders where BuyerCustomerId = ? or PayerCustomerId = ?",
            [customer, customer],
        )
    )
    before = _traces(target, customer, email_hash, orders)
    for place in ("raw.customers", "raw.orders", "raw.order_items", "marts.fct_orders"):
        assert before[place] > 0, (place, before)
    for place in ("marts.fct_order_lines", "marts.dim_customers", "marts.mart_customer_rfm"):
        assert before[place] > 0, (place, before)
    assert before["snapshots.snap_customer_segments"] > 0, before

    assert loaded.sim.forget_customers(ids=[customer]) == [customer]
    forgotten = loaded.sim.truth("Orders", "Orders").filter("IsForgotten")["Id"].to_list()
    assert set(orders) <= set(forgotten)

    run = run_cli(["run"], loaded.env(target))  # incremental; exits 0 only if dbt passed

    purged = re.search(r"^forgotten records purged\s+([\d,]+)$", run.output, re.MULTILINE)
    assert purged is not None and int(purged[1].replace(",", "")) >= 1 + len(orders)
    nothing = dict.fromkeys(before, 0)
    assert _traces(work, customer, email_hash, orders) == nothing
    assert _traces(target, customer, email_hash, orders) == nothing
    # the file this run replaced still held the person: it is not kept as the standby
    assert sorted(p.name for p in target.parent.iterdir() if p.name.endswith(".standby")) == []
    # The warehouse still agrees with Norce's own Reporting (the forgotten orders left
    # both sides), which dbt's error-severity reconciliation test also enforced above.
    off = query(
        target,
        "select count(*) from marts.mart_reporting_reconciliation where not is_within_tolerance",
    )
    assert off == [(0,)]
    print(f"customer {customer}, {len(orders)} orders: rows before {before}; none after")


# --- hashing by default -----------------------------------------------------------------------


def _personal_columns() -> dict[str, dict[str, PiiKind]]:
    """Raw table -> column -> kind, as the catalog marks them."""
    out: dict[str, dict[str, PiiKind]] = defaultdict(dict)
    for spec in CATALOG:
        out[spec.table].update(spec.personal)
        for flat in spec.flatten:
            out[spec.table].update({flat.prefix + c: k for c, k in flat.personal.items()})
        for child in spec.children:
            out[child.table].update(child.personal)
    return out


def _columns(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, dtype in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ?",
        [schema],
    ).fetchall():
        out[table][column] = dtype
    return out


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


# Business contact data, not a person's: the shop's own sender address.
NOT_PERSONAL = {("raw", "applications", "SenderEmailAddress")}
PERSON_COLUMN = re.compile(r"(first|last)_?name|phone|e_?mail|address|care_?of|attention", re.I)


def test_personal_fields_are_hashed_or_never_stored_by_default(loaded: Loaded) -> None:
    target = loaded.warehouse / "norce.duckdb"
    con = duckdb.connect(str(target), read_only=True)
    try:
        raw = _columns(con, "raw")
        checked = 0
        for table, personal in _personal_columns().items():
            if table not in raw:
                continue
            for column, kind in personal.items():
                assert column not in raw[table] or (
                    kind != "email" and _one(con, f'select count("{column}") from raw.{table}') == 0
                ), f"raw.{table}.{column} ({kind}) is stored"
                hashed = column + "Hash"
                if kind != "email":
                    assert hashed not in raw[table], f"raw.{table}.{hashed}"
                    continue
                if hashed not in raw[table]:
                    continue  # the source does not send this field
                bad = _one(
                    con,
                    f'select count(*) from raw.{table} where "{hashed}" is not null '
                    f"and not regexp_full_match(\"{hashed}\", '{HEX64}')",
                )
                assert bad == 0, f"raw.{table}.{hashed}: {bad} values are not hashes"
                checked += 1
        assert checked >= 4  # customers, companies, orders' Buyer/Payer/ShipTo at least
        for table, column in (
            ("customers", "EmailAddressHash"),
            ("orders", "Buyer_EmailAddressHash"),
        ):
            assert _one(con, f'select count("{column}") from raw.{table}') > 100

        # The hash is the salted SHA-256 of the normalised address Norce holds.
        truth = loaded.sim.truth("Customers", "Customers").select("Id", "EmailAddress")
        stored = dict(con.execute("select Id, EmailAddressHash from raw.customers").fetchall())
        expected = {
            int(i): hashlib.sha256(f"{SALT}\x00{e.strip().lower()}".encode()).hexdigest()
            for i, e in truth.iter_rows()
            if e and int(i) in stored
        }
        assert len(expected) > 100
        assert {i: stored[i] for i in expected} == expected

        # No column of the marts is a person's name, phone, e-mail or address...
        marts = _columns(con, "marts")
        person_like = [
            f"{t}.{c}" for t, cols in marts.items() for c in cols if PERSON_COLUMN.search(c)
        ]
        assert person_like == []
        keys = _one(
            con,
            "select count(*) from marts.dim_customers where not regexp_full_match("
            f"customer_key, '{HEX64}|customer-[0-9]+')",
        )
        assert keys == 0
        # ... and no text anywhere in raw or the marts holds an e-mail address.
        for schema, tables in (("raw", raw), ("marts", marts)):
            for table, cols in tables.items():
                for column, dtype in cols.items():
                    if dtype != "VARCHAR" or (schema, table, column) in NOT_PERSONAL:
                        continue
                    found = _one(
                        con,
                        f'select count(*) from {schema}."{table}" where "{column}" like \'%@%\'',
                    )
                    assert found == 0, f"{schema}.{table}.{column} holds e-mail addresses"
    finally:
        con.close()
