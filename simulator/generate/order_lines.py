"""Order lines: 1-6 product lines per order plus a freight line when freight is charged.

Money is computed in integer cents, so every identity holds exactly:
``LineAmount = QtyOrdered * PriceSale - DiscountAmount`` (ex VAT, 2 decimals) and the
freight line's ``LineAmount`` equals the header's ``FreightCost``. ``VatRate`` is the rate
of the delivery country for the product's VAT class on the order date (freight: the
country's standard rate), see :mod:`simulator.generate.vat`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.generate.catalog import SkuTable
from simulator.generate.common import (
    build_frame,
    counter_within,
    decimal4,
    money,
    weighted_choice,
)
from simulator.generate.vat import STANDARD, vat_tenths
from simulator.schema import EntityType

FREIGHT_PART_NO = "FREIGHT"
LINES_PER_ORDER = (np.arange(1, 7), np.array([0.28, 0.26, 0.19, 0.13, 0.08, 0.06]))
QUANTITIES = (np.arange(1, 6), np.array([0.78, 0.15, 0.04, 0.02, 0.01]))
DISCOUNTS = np.array([10, 15, 20, 25, 30, 50])
DISCOUNT_SHARE = 0.18
KNOWN_COST_SHARE = 0.12
"""Lines carrying ``CostUnit``; the observed tenant left it 0 on almost every line."""


@dataclass(frozen=True, slots=True)
class OrderLineInput:
    """Per-order facts the lines depend on (arrays aligned with ``order_id``)."""

    order_id: np.ndarray
    market: np.ndarray
    currency_id: np.ndarray
    country_id: np.ndarray
    """Delivery country: its VAT applies."""
    order_us: np.ndarray
    """``OrderDate`` (epoch us): the VAT in force then applies."""
    status: np.ndarray
    created: pl.Series
    updated: pl.Series
    updated_by: pl.Series
    freight_incl_cents: np.ndarray
    """Freight price incl. VAT of the order's delivery method, in the order's currency."""
    free_above_cents: np.ndarray
    """Merchandise value (ex VAT) from which freight is free; -1: never free."""


@dataclass(frozen=True, slots=True)
class OrderLines:
    items: pl.DataFrame
    discount_cents: np.ndarray
    """Per order: sum of line ``DiscountAmount`` (the header's ``LineDiscount``)."""
    freight_cents: np.ndarray
    """Per order: the freight line's amount (the header's ``FreightCost``), 0 if none."""


def build_lines(
    item_type: EntityType,
    skus: SkuTable,
    rng: np.random.Generator,
    orders: OrderLineInput,
    first_item_id: int,
) -> OrderLines:
    """All lines of the given orders, ``Id`` ascending by (order, line number)."""
    n = orders.order_id.size
    per_order = rng.choice(LINES_PER_ORDER[0], n, p=LINES_PER_ORDER[1])
    owner = np.repeat(np.arange(n), per_order)
    m = owner.size
    sku = weighted_choice(rng, skus.weight, m)
    market = orders.market[owner]
    qty = rng.choice(QUANTITIES[0], m, p=QUANTITIES[1])
    price = skus.price_cents[sku, market]
    pct = np.where(rng.random(m) < DISCOUNT_SHARE, rng.choice(DISCOUNTS, m), 0)
    gross = qty * price
    discount = np.rint(gross * pct / 100).astype(np.int64)
    amount = gross - discount
    cost = np.where(rng.random(m) < KNOWN_COST_SHARE, skus.cost_cents[sku, market], 0)

    merchandise = np.bincount(owner, weights=amount, minlength=n).astype(np.int64)
    free = (orders.free_above_cents >= 0) & (merchandise >= orders.free_above_cents)
    freight_vat = vat_tenths(orders.country_id, np.full(n, STANDARD), orders.order_us)
    freight = np.where(free, 0, np.rint(orders.freight_incl_cents / (1 + freight_vat / 1000)))
    line_vat = vat_tenths(orders.country_id[owner], skus.vat_class[sku], orders.order_us[owner])
    freight = freight.astype(np.int64)
    with_freight = np.flatnonzero(freight > 0)

    # Product lines first, freight lines after; then order by (order, line number).
    all_owner = np.concatenate([owner, with_freight])
    line_no = np.concatenate([counter_within(owner), per_order[with_freight] + 1])
    order = np.lexsort((line_no, all_owner))
    all_owner, line_no = all_owner[order], line_no[order]
    f = with_freight.size

    def stack(product: np.ndarray, freight_values: np.ndarray) -> np.ndarray:
        return np.concatenate([product, freight_values])[order]

    part_no = pl.concat([skus.part_no.gather(sku), pl.repeat(FREIGHT_PART_NO, f, eager=True)])
    name = pl.concat([skus.name.gather(sku), pl.repeat("Freight", f, eager=True)])
    qty_all = stack(qty, np.ones(f, dtype=np.int64))
    price_all = stack(price, freight[with_freight])
    ids = np.arange(first_item_id, first_item_id + all_owner.size)
    is_product = stack(np.ones(m, dtype=bool), np.zeros(f, dtype=bool))
    items = build_frame(
        item_type,
        ids.size,
        {
            "Id": ids,
            "OrderId": orders.order_id[all_owner],
            "LineNumber": line_no,
            "StatusId": orders.status[all_owner],
            "PartNo": part_no.gather(order),
            "ProductName": name.gather(order),
            "WarehouseId": 1,
            "QtyOrdered": qty_all,
            "CurrencyId": orders.currency_id[all_owner],
            "VatRate": decimal4(stack(line_vat, freight_vat[with_freight]) * 1000),
            "CostUnit": money(stack(cost, np.zeros(f, dtype=np.int64))),
            "PriceSale": money(price_all),
            "DiscountPercentage": stack(pct, np.zeros(f, dtype=np.int64)),
            "DiscountAmount": money(stack(discount, np.zeros(f, dtype=np.int64))),
            "LineAmount": money(stack(amount, freight[with_freight])),
            "IsPartDelivery": False,
            "TransId": ids,
            "Created": orders.created.gather(all_owner),
            "Updated": orders.updated.gather(all_owner),
            "UpdatedBy": orders.updated_by.gather(all_owner),
            "LineNumberString": pl.Series(line_no).cast(pl.String),
            "PriceStandard": money(price_all, ~is_product),
            "ClientId": 1,
        },
    )
    return OrderLines(
        items=items,
        discount_cents=np.bincount(owner, weights=discount, minlength=n).astype(np.int64),
        freight_cents=freight,
    )
