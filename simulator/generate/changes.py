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
from simulator.store import TypeRef

Getter = Callable[[str, str], pl.DataFrame]
Frames = dict[TypeRef, pl.DataFrame]

ORDER = ("Orders", "Order")
ITEM = ("Orders", "OrderItem")
INFO = ("Orders", "OrderInfo")
SNAPSHOT = ("Orders", "OrderCustomerInfo")
CUSTOMER = ("Customers", "Customer")
ADDRESS = ("Customers", "CustomerAddress")

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
    order's status and ``Updated``; a returned unit recomputes the line's discount and
    amount and the header's ``LineDiscount``, so line sums stay consistent.
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

    # Part returns: the first product line with more than one unit gives one back.
    returning = found[(old_status == 4) & (new_status == 5)]
    candidates = (
        items[item_rows]
        .with_row_index("_row")
        .filter(
            pl.col("OrderId").is_in(returning.tolist())
            & (pl.col("PartNo") != FREIGHT_PART_NO)
            & (pl.col("QtyOrdered") >= 2)
        )
        .group_by("OrderId", maintain_order=True)
        .first()
    )
    discount_delta: dict[int, Decimal] = {}
    changed_rows, qty, discount, amount = [], [], [], []
    for line in candidates.iter_rows(named=True):
        new_qty = line["QtyOrdered"] - 1
        gross = new_qty * line["PriceSale"]
        new_discount = (gross * line["DiscountPercentage"] / 100).quantize(CENT, ROUND_HALF_EVEN)
        discount_delta[line["OrderId"]] = line["DiscountAmount"] - new_discount
        changed_rows.append(item_rows[line["_row"]])
        qty.append(new_qty)
        discount.append(new_discount)
        amount.append((gross - new_discount).quantize(CENT, ROUND_HALF_EVEN))
    items = patch(
        items,
        np.array(changed_rows, dtype=np.int64),
        {
            "QtyOrdered": pl.Series(qty, dtype=pl.Decimal(38, 4)),
            "DiscountAmount": pl.Series(discount, dtype=pl.Decimal(38, 4)),
            "LineAmount": pl.Series(amount, dtype=pl.Decimal(38, 4)),
        },
    )
    line_discount = [
        value - discount_delta.get(order_id, Decimal(0))
        for order_id, value in zip(
            found.tolist(), orders["LineDiscount"].gather(rows).to_list(), strict=True
        )
    ]
    order_values: dict[str, Any] = {
        "StatusId": pl.Series(new_status),
        "LineDiscount": pl.Series(line_discount, dtype=pl.Decimal(38, 4)),
        **stamp,
    }
    completed = rows[(old_status == 2) & (new_status == 4)]
    orders = patch(orders, rows, order_values)
    orders = patch(orders, completed, {"DeliveryDate": now})
    return {ORDER: orders, ITEM: items}, found
