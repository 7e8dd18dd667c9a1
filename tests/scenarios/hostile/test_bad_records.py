"""Scenario: records that break the rules of the data -- a value that fails typing, a key
twice in one page, a null key, a child under the wrong parent, a decimal beyond its scale.

One ``norce-wh extract`` of the whole catalog (module fixture) meets all of them, each on its
own entity set, so one run's cost covers every row; each test checks one promise:

* quarantine is private: a quarantined record keeps no plaintext e-mail, and an erasure
  takes its quarantine rows too;
* keys are facts: raw holds no duplicate or null key and no orphan child, and a bad page
  does not poison the runs after it;
* silent changes are not silent: a decimal beyond its declared scale is quarantined or
  recorded, never rounded without a word.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.scenarios.hostile.cli import Outcome, norce_wh
from tests.scenarios.hostile.conftest import Hostile
from tests.scenarios.hostile.harness import QUERY, Raw, Rule
from tests.scenarios.hostile.reads import (
    assert_ended,
    copy_warehouse,
    quarantine,
    rows,
    scalar,
    traces,
)
from tests.scenarios.hostile.rules import on_page

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

DIGITS_60 = b"12.345678901234567890123456789012345678901234567890123456789012"
"""PriceSale with 60 fraction digits (declared scale 4)."""


@dataclass
class Picked:
    """The records the rules damage, and what the rules saw."""

    customer: int  # Created "not-a-date" -> quarantined with its e-mail
    order: int  # Created "not-a-date" -> quarantined with its buyer's e-mail
    company: int  # sent twice in one page
    invoice: int  # sent with a null Id
    orphan_order: int  # its first line claims another order
    twice_order: int  # its first line is sent twice (in its own run)
    price: tuple[str, int, int]  # (PartNo, PriceListId, QtyBreak) with 60 fraction digits
    seen: dict[str, str] = field(default_factory=dict)


@dataclass
class DataRun:
    picked: Picked
    out: Outcome
    directory: Path

    @property
    def published(self) -> Path:
        return self.directory / "norce.duckdb"


def _pick(truth: Any) -> Picked:
    customers = truth("Customers", "Customers").filter(
        pl.col("EmailAddress").is_not_null() & ~pl.col("IsForgotten")
    )
    orders = truth("Orders", "Orders").filter(~pl.col("IsForgotten")).sort("Id")
    companies = truth("Customers", "Companies").sort("Id")
    invoices = truth("Orders", "Invoices").sort("Id")
    prices = truth("Products", "ProductSkuPriceLists").sort("PartNo", "PriceListId", "QtyBreak")
    price = prices.row(40, named=True)
    return Picked(
        customer=int(customers.sort("Id")["Id"][100]),
        order=int(orders["Id"][120]),
        company=int(companies["Id"][10]),
        invoice=int(invoices["Id"][150]),
        orphan_order=int(orders["Id"][130]),
        twice_order=int(orders["Id"][140]),
        price=(str(price["PartNo"]), int(price["PriceListId"]), int(price["QtyBreak"])),
    )


def _value(doc: dict[str, Any]) -> list[dict[str, Any]]:
    value = doc.get("value")
    return value if isinstance(value, list) else []


def _rules(p: Picked) -> list[Rule]:
    def customers(doc: dict[str, Any]) -> None:
        for row in _value(doc):
            if row.get("Id") == p.customer:
                p.seen["customer_email"] = str(row["EmailAddress"])
                row["Created"] = "not-a-date"

    def companies(doc: dict[str, Any]) -> None:
        value = _value(doc)
        for i, row in enumerate(value[:-1]):
            if row.get("Id") == p.company:
                # The page keeps its size: the next record is replaced by a twin of this one.
                twin = copy.deepcopy(row)
                twin["Name"] = f"{row.get('Name')} (second copy)"
                value[i + 1] = twin
                return

    def invoices(doc: dict[str, Any]) -> None:
        for row in _value(doc):
            if row.get("Id") == p.invoice:
                row["Id"] = None

    def orders(doc: dict[str, Any]) -> None:
        for row in _value(doc):
            items = row.get("Items") or []
            if row.get("Id") == p.order:
                buyer = row.get("Buyer") or {}
                if buyer.get("EmailAddress"):
                    p.seen["order_email"] = str(buyer["EmailAddress"])
                row["Created"] = "not-a-date"
            elif row.get("Id") == p.orphan_order and items:
                items[0]["OrderId"] = p.orphan_order + 50_000_000

    def prices(doc: dict[str, Any]) -> None:
        for row in _value(doc):
            if (row.get("PartNo"), row.get("PriceListId"), row.get("QtyBreak")) == p.price:
                row["PriceSale"] = Raw(DIGITS_60)

    return [
        on_page(f"^{QUERY}Customers/Customers$", customers),
        on_page(f"^{QUERY}Customers/Companies$", companies),
        on_page(f"^{QUERY}Orders/Invoices$", invoices),
        on_page(f"^{QUERY}Orders/Orders$", orders),
        on_page(f"^{QUERY}Products/ProductSkuPriceLists$", prices),
    ]


@pytest.fixture(scope="module")
def data_run(
    hostile_server: Hostile, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DataRun]:
    picked = _pick(hostile_server.sim.truth)
    directory = tmp_path_factory.mktemp("bad-records") / "wh"
    hostile_server.app.use(*_rules(picked))
    try:
        out = norce_wh(["extract"], hostile_server.env(directory / "norce.duckdb"), timeout=400)
    finally:
        hostile_server.app.use()
    assert "customer_email" in picked.seen and "order_email" in picked.seen, picked.seen
    yield DataRun(picked, out, directory)


def _key_pattern(key: int) -> re.Pattern[str]:
    return re.compile(rf'"Id"\s*:\s*{key}\b')


# --- quarantine is private ---------------------------------------------------------------------


def test_a_quarantined_customer_keeps_no_plaintext_email_and_erase_takes_it(
    data_run: DataRun, hostile: Hostile, tmp_path: Path
) -> None:
    """Found: ``meta.quarantine.payload`` kept the raw JSON with the plaintext e-mail in
    the published file, and ``norce-wh erase --customer-id N`` left it there."""
    assert_ended(data_run.out)
    p, db = data_run.picked, data_run.published
    held = [
        q
        for q in quarantine(db, "Customers/Customers")
        if _key_pattern(p.customer).search(q["payload"] or "")
    ]
    assert held, "the record that fails typing is still quarantined, as designed"
    assert traces(db, p.seen["customer_email"]) == [], "plaintext e-mail in the warehouse"

    copy = copy_warehouse(data_run.directory, tmp_path / "wh")
    out = norce_wh(["erase", "--customer-id", str(p.customer)], hostile.env(copy), timeout=400)
    assert out.code == 0, out.describe()
    left = [
        q
        for q in quarantine(copy, "Customers/Customers")
        if _key_pattern(p.customer).search(q["payload"] or "")
    ]
    assert left == [], "the erased person's quarantine rows are gone too"


def test_a_quarantined_order_keeps_no_plaintext_buyer_email(data_run: DataRun) -> None:
    """Found: a quarantined order kept its buyer's plaintext e-mail."""
    assert_ended(data_run.out)
    p, db = data_run.picked, data_run.published
    held = [
        q
        for q in quarantine(db, "Orders/Orders")
        if _key_pattern(p.order).search(q["payload"] or "")
    ]
    assert held, "the order that fails typing is quarantined"
    assert traces(db, p.seen["order_email"]) == [], "plaintext buyer e-mail in the warehouse"


# --- keys are facts ------------------------------------------------------------------------------


def _reported(data_run: DataRun, entity: str, word: str) -> bool:
    """``word`` appears in the run's output or in a quarantine row of ``entity``."""
    if word in data_run.out.output.lower():
        return True
    return any(word in (q["error"] or "").lower() for q in quarantine(data_run.published, entity))


def test_a_key_twice_in_one_page_is_stored_once_and_reported(data_run: DataRun) -> None:
    """Found: ``extract`` exited 0 and the raw table held both rows."""
    assert_ended(data_run.out)
    db = data_run.published
    dupes = scalar(db, "select count(*) - count(distinct Id) from raw.companies")
    assert dupes == 0
    assert scalar(db, "select count(*) from raw.companies where Id = ?", [data_run.picked.company])
    assert _reported(data_run, "Customers/Companies", "duplicate")


def test_a_null_key_is_never_stored_not_even_by_a_full_refresh(
    data_run: DataRun, hostile: Hostile, tmp_path: Path
) -> None:
    """Found: a null ``Id`` (declared ``Nullable=false``) was stored, and each full refresh
    added another such row."""
    assert_ended(data_run.out)
    assert scalar(data_run.published, "select count(*) from raw.invoices where Id is null") == 0
    assert quarantine(data_run.published, "Orders/Invoices"), "the bad record is reported"

    copy = copy_warehouse(data_run.directory, tmp_path / "wh")
    p = data_run.picked
    hostile.app.use(*[r for r in _rules(p) if "Invoices" in r.path])
    out = norce_wh(
        ["extract", "--full-refresh", "--entities", "Orders/Invoices"], hostile.env(copy)
    )
    assert_ended(out)
    assert scalar(copy, "select count(*) from raw.invoices where Id is null") == 0


def test_an_orphan_child_is_never_stored(data_run: DataRun) -> None:
    """Found: a line whose ``OrderId`` differs from its order's ``Id`` was stored as an
    orphan, and the order showed no lines."""
    assert_ended(data_run.out)
    db = data_run.published
    orphans = scalar(
        db,
        "select count(*) from raw.order_items i "
        "where not exists (select 1 from raw.orders o where o.Id = i.OrderId)",
    )
    assert orphans == 0
    order = data_run.picked.orphan_order
    lines = scalar(db, "select count(*) from raw.order_items where OrderId = ?", [order])
    in_quarantine = [
        q for q in quarantine(db, "Orders/Orders") if _key_pattern(order).search(q["payload"] or "")
    ]
    assert lines or in_quarantine, "the order keeps its lines or is quarantined, never silently"


def test_a_bad_page_does_not_poison_later_runs(hostile: Hostile, tmp_path: Path) -> None:
    """Found: an order line sent twice in one page made ``run`` exit 9 on a dbt unique test,
    and every later run against a clean source exited 9 until ``--full-refresh``.

    Its own load (only this fault), so the later run's dbt tests judge this case alone."""
    twice_order = _pick(hostile.sim.truth).twice_order

    def twice(doc: dict[str, Any]) -> None:
        for row in _value(doc):
            if row.get("Id") == twice_order and row.get("Items"):
                row["Items"].append(copy.deepcopy(row["Items"][0]))

    hostile.app.use(on_page(f"^{QUERY}Orders/Orders$", twice))
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(["extract"], hostile.env(db), timeout=400)
    hostile.app.use()
    assert_ended(out)
    doubled = scalar(db, "select count(*) - count(distinct Id) from raw.order_items")
    assert doubled == 0, "raw.order_items holds a line twice"
    out = norce_wh(["run"], hostile.env(db), timeout=500)  # the source is clean again
    assert out.code == 0, out.describe()


# --- silent changes are not silent ------------------------------------------------------------


def test_a_decimal_beyond_its_scale_is_not_rounded_silently(data_run: DataRun) -> None:
    """Found: a ``PriceSale`` with 60 fraction digits (scale 4) was rounded without a word."""
    assert_ended(data_run.out)
    part_no, price_list, qty = data_run.picked.price
    quarantined = [
        q
        for q in quarantine(data_run.published, "Products/ProductSkuPriceLists")
        if part_no in (q["payload"] or "")
    ]
    recorded = "PriceSale" in data_run.out.output and "scale" in data_run.out.output.lower()
    assert quarantined or recorded, data_run.out.describe()
    if quarantined:
        stored = rows(
            data_run.published,
            "select count(*) from raw.product_sku_price_lists "
            "where PartNo = ? and PriceListId = ? and QtyBreak = ?",
            [part_no, price_list, qty],
        )
        assert stored[0][0] == 0, "a quarantined record is not also stored rounded"
