"""Part returns, and the credit invoices Norce issues for them.

A customer sends back some units of a delivered order. The order keeps its lines as
ordered and moves to status 5 ("partly returned yet invoiced"); the shop issues a credit
invoice: an ``Orders/Invoices`` row of ``TypeId`` 2 with negative amounts, referencing the
order, whose items reference the returned order lines (negative ``Quantity`` and
``LineAmount``), dated when the return was booked and carrying the rate in force then.

Which units came back is kept on the order-line frame in two columns no entity type
declares (the store serves only declared properties): ``_ReturnedQty`` (0 when nothing)
and ``_ReturnedAt``. Credit invoices are derived from them like every other document.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from simulator.generate.common import SYSTEM_USER, US_PER_DAY, money, timestamps
from simulator.generate.order_lines import FREIGHT_PART_NO
from simulator.store import Store

RETURNED_QTY = "_ReturnedQty"
RETURNED_AT = "_ReturnedAt"
CREDIT_NOTE_TYPE = 2
INVOICE_TYPE = 1
CREDIT_NOTE_ID_OFFSET = 7_000_000_000
RETURN_DAYS = (3, 30)
"""A return is booked this many days (uniform) after delivery."""


def no_returns(items: pl.DataFrame) -> pl.DataFrame:
    """``items`` with the return columns added, nothing returned."""
    return items.with_columns(
        pl.lit(0, dtype=pl.Int64).alias(RETURNED_QTY),
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias(RETURNED_AT),
    )


def history_returns(
    orders: pl.DataFrame, items: pl.DataFrame, rng: np.random.Generator, anchor_us: int
) -> pl.DataFrame:
    """Book a return on one product line of every order in status 5.

    Mostly one unit comes back, sometimes the whole line; the return is booked 3-30 days
    after delivery, before the anchor.
    """
    returned = orders.filter(pl.col("StatusId") == 5).select(
        pl.col("Id").alias("OrderId"),
        pl.coalesce("DeliveryDate", "Created").dt.epoch("us").alias("_delivered"),
    )
    lines = (
        items.with_row_index("_row")
        .filter(pl.col("PartNo") != FREIGHT_PART_NO)
        .join(returned, on="OrderId", how="semi")
    )
    # One line per order, picked at random.
    pick = rng.random(lines.height)
    chosen = (
        lines.with_columns(pl.Series("_pick", pick))
        .sort("OrderId", "_pick")
        .group_by("OrderId", maintain_order=True)
        .first()
        .join(returned, on="OrderId")
    )
    n = chosen.height
    qty = chosen["QtyOrdered"].cast(pl.Int64).to_numpy()
    whole = rng.random(n) < 0.2
    count = np.where(whole, qty, 1)
    delay = rng.integers(RETURN_DAYS[0] * US_PER_DAY, RETURN_DAYS[1] * US_PER_DAY, n)
    at = np.minimum(chosen["_delivered"].to_numpy() + delay, anchor_us - 60_000_000)
    return mark_returned(items, chosen["_row"].to_numpy(), count, timestamps(at // 1000 * 1000))


def mark_returned(
    items: pl.DataFrame, rows: np.ndarray, qty: np.ndarray, at: pl.Series
) -> pl.DataFrame:
    """``items`` with ``qty`` units of the lines at ``rows`` returned at ``at``."""
    returned_qty = items[RETURNED_QTY].clone()
    returned_qty.scatter(rows, pl.Series(np.asarray(qty, dtype=np.int64)))
    returned_at = items[RETURNED_AT].clone()
    returned_at.scatter(rows, at)
    return items.with_columns(returned_qty, returned_at)


def _returned_lines(store: Store) -> pl.DataFrame:
    """Returned order lines with the credited share of their amounts, in cents."""
    items = store.base("Orders", "OrderItem")
    if RETURNED_QTY not in items.columns:
        return pl.DataFrame()
    lines = items.filter(pl.col(RETURNED_QTY) > 0)
    share = pl.col(RETURNED_QTY) / pl.col("QtyOrdered").cast(pl.Float64)

    def credited(column: str) -> pl.Expr:
        cents = (pl.col(column).cast(pl.Float64) * 100).round(0)
        return (cents * share).round(0).cast(pl.Int64)

    live = store.base("Orders", "Order").select(pl.col("Id").alias("OrderId"))
    return lines.join(live, on="OrderId", how="semi").with_columns(
        credited("LineAmount").alias("_amount_cents"),
        credited("DiscountAmount").alias("_discount_cents"),
    )


def credit_note_headers(store: Store) -> pl.DataFrame:
    """Header fields of one credit invoice per order with returned units.

    Dated when the (latest) return was booked; no fee or freight is refunded.
    """
    lines = _returned_lines(store)
    if lines.is_empty():
        return pl.DataFrame()
    dates = lines.group_by("OrderId").agg(pl.col(RETURNED_AT).max().alias("InvoiceDate"))
    orders = store.base("Orders", "Order").join(dates, left_on="Id", right_on="OrderId")
    return orders.select(
        (pl.col("Id") + CREDIT_NOTE_ID_OFFSET).alias("Id"),
        pl.concat_str(pl.lit("CN"), "OrderNo").alias("InvoiceNo"),
        pl.lit(CREDIT_NOTE_TYPE).alias("TypeId"),
        pl.col("Id").alias("ReferenceOrderId"),
        "InvoiceDate",
        pl.col("InvoiceDate").alias("InvoiceDueDate"),
        pl.lit(0, dtype=pl.Decimal(18, 4)).alias("InvoiceFee"),
        pl.lit(0, dtype=pl.Decimal(18, 4)).alias("FreightCost"),
    )


def credit_note_items(store: Store) -> pl.DataFrame:
    """The returned lines of every credit invoice (negative quantities and amounts)."""
    lines = _returned_lines(store)
    if lines.is_empty():
        return pl.DataFrame()
    return lines.select(
        (pl.col("Id") + CREDIT_NOTE_ID_OFFSET).alias("Id"),
        (pl.col("OrderId") + CREDIT_NOTE_ID_OFFSET).alias("InvoiceId"),
        "LineNumber",
        "StatusId",
        "PartNo",
        "ProductName",
        "StockUnitOfMeasurementCount",
        "PriceUnitOfMeasurementCount",
        "WarehouseId",
        (-pl.col(RETURNED_QTY)).cast(pl.Int32).alias("Quantity"),
        "CurrencyId",
        "VatRate",
        "CostUnit",
        "PriceSale",
        "DiscountPercentage",
        money(-lines["_discount_cents"].to_numpy()).alias("DiscountAmount"),
        money(-lines["_amount_cents"].to_numpy()).alias("LineAmount"),
        "IsPartDelivery",
        pl.col(RETURNED_AT).alias("DeliveryDate"),
        pl.col(RETURNED_AT).alias("Created"),
        pl.lit(SYSTEM_USER).alias("CreatedBy"),
        "LineNumberString",
        "ClientId",
        "TransId",
        pl.col("Id").alias("OrderItemId"),
    )
