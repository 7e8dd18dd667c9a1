"""Micro-benchmark: PageDecoder rows/s on recorded Orders pages with Items expanded.

Builds a realistic ``Orders/Orders?$expand=Items,Buyer,Payer,ShipTo`` page -- 500 orders,
~1,750 items, every property of Order/OrderItem/OrderCustomerInfo from the vendored
reference, serialised like the real API (decimals as number literals, ``Z`` timestamps
with milliseconds when non-zero, nulls present) -- from a deterministic generator, then
times decoding it on one core (JSON parse + typing + Arrow tables, privacy hashing on).

Run: ``.venv/bin/python bench/decode_speed.py [--pages 8] [--rounds 5] [--seed 7]``
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from extract.decode.pages import PageDecoder
from extract.schema.catalog import by_path
from extract.schema.metadata import EdmEntityType, EdmProperty, EdmService, parse_edmx
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import PARENT, EntityPlan, reconcile
from simulator.edmx import render_metadata
from simulator.schema import build_schema

_WORDS = ("alpha", "beta", "gamma", "delta", "nordic", "field", "wool", "linen", "oak", "birch")
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def orders_service() -> EdmService:
    """The Orders namespace as the bundled simulator's ``$metadata`` declares it."""
    return parse_edmx(render_metadata(build_schema(), "Orders"))


class _Values:
    """Deterministic, plausible values per Edm type and property name."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.start = datetime(2024, 11, 1, tzinfo=UTC)

    def timestamp(self) -> str:
        moment = self.start + timedelta(seconds=self.rng.randrange(0, 730 * 86400))
        millis = self.rng.choice((0, self.rng.randrange(1, 1000)))
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{text}.{millis:03d}Z" if millis else f"{text}Z"

    def value(self, prop: EdmProperty) -> Any:
        rng = self.rng
        if prop.nullable and rng.random() < 0.25:
            return None
        kind, name = prop.edm_type, prop.name
        if kind in ("Edm.Int32", "Edm.Int64"):
            return rng.randrange(1, 5000)
        if kind == "Edm.Decimal":
            if name in ("VatRate",):
                return Decimal(rng.choice(("25", "12", "6", "0")))
            if name.startswith("Qty") or "Count" in name or "LineNumber" in name:
                return Decimal(rng.randrange(1, 6))
            return Decimal(rng.randrange(0, 5_000_000)).scaleb(-2)
        if kind == "Edm.DateTimeOffset":
            return self.timestamp()
        if kind == "Edm.Boolean":
            return rng.random() < 0.1
        if name == "EmailAddress":
            return f"{rng.choice(_WORDS)}.{rng.randrange(100000)}@example.se"
        length = min(prop.max_length or 40, 40)
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(1, 4)))
        return text[:length]


def _row(
    gen: _Values, et: EdmEntityType, select: list[str], fixed: dict[str, Any]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in select:
        prop = et.prop(name)
        assert prop is not None
        row[name] = fixed[name] if name in fixed else gen.value(prop)
    return row


def orders_page(plan: EntityPlan, service: EdmService, n_orders: int, seed: int) -> bytes:
    """One page as the server would answer ``$select``/``$expand`` of ``plan``."""
    gen = _Values(seed)
    order_t = service.types["Order"]
    item_t = service.types["OrderItem"]
    info_t = service.types["OrderCustomerInfo"]
    nested = _requested(plan)
    main_select = nested[""]
    rows = []
    item_id = seed * 10_000_000
    for i in range(n_orders):
        order_id = seed * 1_000_000 + i + 1
        row = _row(gen, order_t, main_select, {"Id": order_id})
        items = []
        # 1-6 lines, mean ~3.5 (the observed shape: most orders have a few lines)
        for line in range(gen.rng.choice((1, 2, 2, 3, 3, 4, 4, 5, 5, 6))):
            item_id += 1
            fixed = {"Id": item_id, "OrderId": order_id, "LineNumber": Decimal(line + 1)}
            items.append(_row(gen, item_t, nested["Items"], fixed))
        row["Items"] = items
        for nav in ("Buyer", "Payer", "ShipTo"):
            if nav in nested:
                row[nav] = _row(gen, info_t, nested[nav], {"Id": order_id * 3})
        rows.append(row)
    envelope = {"@odata.context": "https://example/Orders/$metadata#Orders", "value": rows}
    return _ENCODER.encode(envelope)


def _requested(plan: EntityPlan) -> dict[str, list[str]]:
    """Property names the server sends per object level ("" for the row itself)."""
    out: dict[str, list[str]] = {"": []}
    for table in plan.tables.values():
        for column in table.columns:
            if column.source[0] == PARENT:
                continue
            if table.navigation:
                level, name = table.navigation, column.source[0]
            elif len(column.source) == 2:
                level, name = column.source
            else:
                level, name = "", column.source[0]
            names = out.setdefault(level, [])
            if name not in names:
                names.append(name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8, help="distinct pages to decode")
    parser.add_argument("--rounds", type=int, default=5, help="passes over all pages")
    parser.add_argument("--orders", type=int, default=500, help="orders per page")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    service = orders_service()
    privacy = PrivacyPolicy("bench-salt")
    plan = reconcile(by_path()["Orders/Orders"], service, privacy)
    decoder = PageDecoder(plan, privacy)
    pages = [orders_page(plan, service, args.orders, args.seed + p) for p in range(args.pages)]
    first = decoder(pages[0])
    rows_per_page = [sum(t.num_rows for t in decoder(p).tables.values()) for p in pages]
    megabytes = sum(len(p) for p in pages) / 1e6

    wall: list[float] = []
    cpu: list[float] = []
    gc.collect()
    for _ in range(args.rounds):
        began, began_cpu = time.perf_counter(), time.process_time()
        for page in pages:
            decoder(page)
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    best, median = min(wall), statistics.median(wall)
    rows = sum(rows_per_page)
    print(
        f"pages: {args.pages} x ~{megabytes / args.pages:.2f} MB, "
        f"{rows / args.pages:.0f} rows/page "
        f"({first.tables['orders'].num_rows} orders + "
        f"{first.tables['order_items'].num_rows} items on the first), "
        f"orders columns {first.tables['orders'].num_columns}, "
        f"items columns {first.tables['order_items'].num_columns}"
    )
    print(
        f"decode: best {rows / best:,.0f} rows/s ({megabytes / best:.0f} MB/s), "
        f"median {rows / median:,.0f} rows/s, {best / args.pages * 1e3:.1f} ms/page"
    )
    # CPU time of this process: what one core does, unaffected by other processes.
    print(
        f"decode (CPU time): best {rows / min(cpu):,.0f} rows/s, "
        f"median {rows / statistics.median(cpu):,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
