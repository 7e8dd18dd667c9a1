"""Changes to existing data: what a live tenant does between two loader runs.

Each function reads frames through a getter, returns the replacement frames (new,
immutable values) plus the affected ids, and never writes anything itself; the caller swaps
the frames in under the store lock. The generator uses the same functions for the GDPR
erasures in the history, so a forgotten order always looks the same.

Rules (the loader's contract depends on them):

* forgetting sets ``IsForgotten`` and nulls names, emails, phones and street lines, and
  does **not** touch ``Updated`` -- the flag flips long after the last update on real
  tenants, so a loader must find erased rows by filtering the flag;
* updates stamp ``Updated``/``UpdatedBy`` with the simulated now;
* deleting removes the order with its lines, infos and customer snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import polars as pl

from simulator.generate.common import INTEGRATION_USER
from simulator.generate.order_lines import FREIGHT_PART_NO
from simulator.generate.returns import RETURNED_QTY, mark_returned
from simulator.store import TypeRef

Getter = Callable[[str, str], pl.DataFrame]
Frames = dict[TypeRef, pl.DataFrame]

ORDER = ("Orders", "Order")
ITEM = ("Orders", "OrderItem")
INFO = ("Orders", "OrderInfo")
SNAPSHOT = ("Orders", "OrderCustomerInfo")
CUSTOMER = ("Customers", "Customer")
ADDRESS = ("Customers", "CustomerAddress")
PRICE = ("Products", "ProductSkuPricelist")

ORDER_PERSONAL = (
    "DeliveryAttention",
    "DeliveryCareOf",
    "DeliveryAddressLine1",
    "DeliveryAddressLine2",
)
SNAPSHOT_PERSONAL = (
    "FirstName",
    "LastName",
    "PhoneNumber",
    "CellPhoneNumber",
    "ShippingPhoneNumber",
    "CareOf",
    "AddressLine1",
    "AddressLine2",
    "EmailAddress",
)
CUSTOMER_PERSONAL = ("FirstName", "LastName", "EmailAddress", "PhoneNumber", "CellPhoneNumber")
ADDRESS_PERSONAL = ("CareOf", "AddressLine1", "AddressLine2")
NEXT_STATUS = {2: 4, 4: 5}
"""In flight -> completed; completed -> partly returned (one unit of a line comes back)."""
CENT = Decimal("0.01")


def locate(df: pl.DataFrame, column: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of ``ids`` in ``df`` sorted by ``column``; unknown ids are skipped.

    Returns:
        ``(rows, found_ids)``, both in ascending id order without duplicates.
    """
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    keys = df.get_column(column).to_numpy()
    if keys.size == 0 or ids.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos = np.clip(np.searchsorted(keys, ids), 0, keys.size - 1)
    hit = keys[pos] == ids
    return pos[hit], ids[hit]


def patch(df: pl.DataFrame, rows: np.ndarray, values: Mapping[str, Any]) -> pl.DataFrame:
    """``df`` with ``values`` (scalar or one per row) written at ``rows``; copy-on-write.

    Columns ``df`` does not have (e.g. after a schema change) are ignored.
    """
    if rows.size == 0:
        return df
    mask: pl.Series | None = None
    exprs: list[pl.Expr | pl.Series] = []
    for name, value in values.items():
        if name not in df.columns:
            continue
        column = df.get_column(name)
        if isinstance(value, pl.Series):
            # Per-row values: scatter into a copy (the original buffers stay untouched).
            column = column.clone()
            column.scatter(rows, value.cast(column.dtype))
            exprs.append(column)
            continue
        if mask is None:
            flags = np.zeros(df.height, dtype=bool)
            flags[rows] = True
            mask = pl.Series(flags)
        # One value for all rows: a vectorised select is much faster than scattering
        # into string columns.
        exprs.append(
            pl.when(mask)
            .then(pl.lit(value, dtype=column.dtype))
            .otherwise(pl.col(name))
            .alias(name)
        )
    return df.with_columns(exprs)


def forget_orders(get: Getter, ids: np.ndarray) -> tuple[Frames, np.ndarray]:
    """Flag orders forgotten and anonymise them and their customer snapshots."""
    orders = get(*ORDER)
    rows, found = locate(orders, "Id", ids)
    picked = orders[rows]
    snapshot_ids = np.concatenate(
        [
            picked[c].drop_nulls().to_numpy()
            for c in ("BuyerCustomerInfoId", "PayerCustomerInfoId", "ShipToCustomerInfoId")
        ]
    )
    snapshots = get(*SNAPSHOT)
    snapshot_rows, _ = locate(snapshots, "Id", snapshot_ids)
    return {
        ORDER: patch(orders, rows, {"IsForgotten": True, **dict.fromkeys(ORDER_PERSONAL)}),
        SNAPSHOT: patch(snapshots, snapshot_rows, dict.fromkeys(SNAPSHOT_PERSONAL)),
    }, found


def forget_customers(get: Getter, ids: np.ndarray) -> tuple[Frames, np.ndarray]:
    """Flag customers forgotten, anonymise them, their addresses and all their orders."""
    customers = get(*CUSTOMER)
    rows, found = locate(customers, "Id", ids)
    addresses = get(*ADDRESS)
    address_rows = np.flatnonzero(addresses["CustomerId"].is_in(found.tolist()).to_numpy())
    frames: Frames = {
        CUSTOMER: patch(customers, rows, {"IsForgotten": True, **dict.fromkeys(CUSTOMER_PERSONAL)}),
        ADDRESS: patch(addresses, address_rows, dict.fromkeys(ADDRESS_PERSONAL)),
    }
    orders = get(*ORDER)
    theirs = orders.filter(
        pl.col("BuyerCustomerId").is_in(found.tolist())
        | pl.col("PayerCustomerId").is_in(found.tolist())
    )["Id"].to_numpy()
    order_frames, _ = forget_orders(get, theirs)
    frames.update(order_frames)
    return frames, found


def delete_orders(get: Getter, ids: np.ndarray) -> tuple[Frames, np.ndarray]:
    """Hard-delete orders with their lines, infos and customer snapshots."""
    orders = get(*ORDER)
    _, found = locate(orders, "Id", ids)
    gone = pl.Series(found)
    picked = orders.filter(pl.col("Id").is_in(gone))
    snapshot_ids = pl.concat(
        [picked[c] for c in ("BuyerCustomerInfoId", "PayerCustomerInfoId", "ShipToCustomerInfoId")]
    ).drop_nulls()
    return {
        ORDER: orders.filter(~pl.col("Id").is_in(gone)),
        ITEM: get(*ITEM).filter(~pl.col("OrderId").is_in(gone)),
        INFO: get(*INFO).filter(~pl.col("OrderId").is_in(gone)),
        SNAPSHOT: get(*SNAPSHOT).filter(~pl.col("Id").is_in(snapshot_ids)),
    }, found


def update_orders(get: Getter, ids: np.ndarray, now: datetime) -> tuple[Frames, np.ndarray]:
    """Move orders on (2 -> 4, 4 -> 5 with one unit of a line returned) and stamp them.

    Orders in status 5 or 6 only get ``Updated``. Every line of an updated order takes the
    order's status and ``Updated``. A return leaves the lines as ordered: one unit of the
    order's first product line is booked as returned now, which gives the order a credit
    invoice (see :mod:`simulator.generate.returns`).
    """
    orders = get(*ORDER)
    rows, found = locate(orders, "Id", ids)
    old_status = orders["StatusId"].to_numpy()[rows]
    new_status = np.array([NEXT_STATUS.get(int(s), int(s)) for s in old_status], dtype=np.int32)
    items = get(*ITEM)
    item_rows = np.flatnonzero(items["OrderId"].is_in(found.tolist()).to_numpy())
    status_of = dict(zip(found.tolist(), new_status.tolist(), strict=True))
    line_status = [status_of[o] for o in items["OrderId"].gather(item_rows).to_list()]
    stamp = {"Updated": now, "UpdatedBy": INTEGRATION_USER}
    items = patch(items, item_rows, {"StatusId": pl.Series(line_status), **stamp})

    returning = found[(old_status == 4) & (new_status == 5)]
    first_lines = (
        items[item_rows]
        .with_row_index("_row")
        .filter(pl.col("OrderId").is_in(returning.tolist()) & (pl.col("PartNo") != FREIGHT_PART_NO))
        .group_by("OrderId", maintain_order=True)
        .first()
    )
    if RETURNED_QTY in items.columns and first_lines.height:
        returned_rows = item_rows[first_lines["_row"].to_numpy()]
        items = mark_returned(
            items,
            returned_rows,
            np.ones(returned_rows.size, dtype=np.int64),
            pl.Series([now] * returned_rows.size, dtype=pl.Datetime("us", "UTC")),
        )
    completed = rows[(old_status == 2) & (new_status == 4)]
    orders = patch(orders, rows, {"StatusId": pl.Series(new_status), **stamp})
    orders = patch(orders, completed, {"DeliveryDate": now})
    return {ORDER: orders, ITEM: items}, found


NAME_COLUMNS = ("DefaultName", "Name")
"""The display-name column of a row, in order of preference."""


def rename(
    get: Getter, ref: TypeRef, key_column: str, key: object, name: str, now: datetime
) -> tuple[Frames, np.ndarray]:
    """Give the row whose ``key_column`` equals ``key`` a new display name; stamps it.

    Raises:
        ValueError: If the type has no name column.
    """
    df = get(*ref)
    column = next((c for c in NAME_COLUMNS if c in df.columns), None)
    if column is None:
        raise ValueError(f"{ref[1]} has no name column ({' or '.join(NAME_COLUMNS)})")
    rows = np.flatnonzero((df[key_column] == key).to_numpy())
    stamp = {"Updated": now, "UpdatedBy": INTEGRATION_USER}
    return {ref: patch(df, rows, {column: name, **stamp})}, df[key_column].gather(rows).to_numpy()


def set_cost(
    get: Getter, part_no: str, price_list_id: int, cost: Decimal, now: datetime
) -> tuple[Frames, np.ndarray]:
    """Change a SKU's unit cost on one price list (``CostUnit``; ``CostPurchase`` follows)."""
    prices = get(*PRICE)
    hit = (prices["PartNo"] == part_no) & (prices["PriceListId"] == price_list_id)
    rows = np.flatnonzero(hit.to_numpy())
    purchase = (cost / Decimal("1.03")).quantize(CENT, ROUND_HALF_EVEN)
    values = {"CostUnit": cost, "CostPurchase": purchase, "Updated": now}
    return {PRICE: patch(prices, rows, {**values, "UpdatedBy": INTEGRATION_USER})}, rows
