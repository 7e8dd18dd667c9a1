"""Reporting aggregates derived from the current orders.

The observed tenant answers 500 on these sets and documents no fields, so the simulator
defines them (see ``simulator/schema.py``) as exact functions of the orders:

* ``Reporting/OrderSummaryByMonth``: per ApplicationId x Year x Month (of ``OrderDate``,
  UTC) x CurrencyId, over orders with ``StatusId != 6`` and ``IsForgotten = false``:
  ``OrderCount``; ``ItemQuantity`` = sum ``QtyOrdered`` of non-freight lines;
  ``NetAmount`` = sum ``LineAmount`` of all lines (freight included); ``VatAmount`` = sum
  ``LineAmount * VatRate / 100``; ``FreightAmount`` = sum header ``FreightCost``;
  ``DiscountAmount`` = sum line ``DiscountAmount``; ``Updated`` = when computed.
* ``Core/KpiOrders``: the same orders per ApplicationId x Date (UTC day, as midnight):
  ``OrderCount`` and ``NetAmountEur`` = sum over the day's currencies of
  round(NetAmount x ExchangeRate, 2).

Both are recomputed whenever orders change, so they always equal what the orders say.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import polars as pl

from simulator.generate.order_lines import FREIGHT_PART_NO
from simulator.store import Store

CANCELLED = 6


def _reported_orders(store: Store) -> pl.DataFrame:
    """Non-cancelled, non-forgotten orders with their line totals."""
    orders = store.base("Orders", "Order").filter(
        (pl.col("StatusId") != CANCELLED) & ~pl.col("IsForgotten")
    )
    line_sums = (
        store.base("Orders", "OrderItem")
        .group_by("OrderId")
        .agg(
            pl.col("QtyOrdered")
            .filter(pl.col("PartNo") != FREIGHT_PART_NO)
            .sum()
            .alias("ItemQuantity"),
            pl.col("LineAmount").sum().alias("NetAmount"),
            (pl.col("LineAmount") * pl.col("VatRate") / 100).sum().alias("VatAmount"),
            pl.col("DiscountAmount").sum().alias("DiscountAmount"),
        )
    )
    return orders.select("Id", "ApplicationId", "CurrencyId", "OrderDate", "FreightCost").join(
        line_sums, left_on="Id", right_on="OrderId", how="left"
    )


def order_summary_by_month(store: Store) -> pl.DataFrame:
    """``Reporting/OrderSummaryByMonth`` rows (see the module docstring)."""
    orders = _reported_orders(store)
    now = store.clock.now()
    return (
        orders.group_by(
            "ApplicationId",
            pl.col("OrderDate").dt.year().alias("Year"),
            pl.col("OrderDate").dt.month().alias("Month"),
            "CurrencyId",
        )
        .agg(
            pl.len().alias("OrderCount"),
            pl.col("ItemQuantity").sum(),
            pl.col("NetAmount").sum(),
            pl.col("VatAmount").sum(),
            pl.col("FreightCost").sum().alias("FreightAmount"),
            pl.col("DiscountAmount").sum(),
        )
        .with_columns(pl.lit(now).alias("Updated"))
    )


def kpi_orders(store: Store) -> pl.DataFrame:
    """``Core/KpiOrders`` rows (see the module docstring)."""
    orders = _reported_orders(store)
    per_currency = orders.group_by(
        "ApplicationId", pl.col("OrderDate").dt.truncate("1d").alias("Date"), "CurrencyId"
    ).agg(pl.len().alias("OrderCount"), pl.col("NetAmount").sum())
    rates = {
        row["Id"]: Decimal(row["ExchangeRate"])
        for row in store.base("Core", "Currency").select("Id", "ExchangeRate").iter_rows(named=True)
    }
    cent = Decimal("0.01")
    # A few thousand (application, day) rows: exact Decimal arithmetic is affordable here.
    eur = [
        (Decimal(net or 0) * rates.get(currency, Decimal(0))).quantize(cent, ROUND_HALF_EVEN)
        for currency, net in per_currency.select("CurrencyId", "NetAmount").iter_rows()
    ]
    now = store.clock.now()
    return (
        per_currency.with_columns(pl.Series("NetAmountEur", eur, dtype=pl.Decimal(18, 4)))
        .group_by("ApplicationId", "Date")
        .agg(pl.col("OrderCount").sum(), pl.col("NetAmountEur").sum())
        .with_columns(pl.lit(now).alias("Updated"))
    )
