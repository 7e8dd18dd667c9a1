"""SKU prices: one ``ProductSkuPriceList`` row per SKU and application price list.

Prices start from a base value in EUR per product, are converted with the currency's
rate into a "nice" consumer price incl. VAT (349 kr, 29.95 EUR) and stored ex VAT as
``PriceSale`` with 2 decimals. ~70% of SKUs carry a purchase cost so margins can be
computed; the rest have 0 as on real tenants.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from simulator.generate.common import (
    INTEGRATION_USER,
    US_PER_DAY,
    build_frame,
    money,
    timestamps,
    to_us,
    with_nulls,
)
from simulator.generate.markets import MARKETS, RATES
from simulator.generate.vat import current_tenths
from simulator.schema import EntityType

KNOWN_COST_SHARE = 0.7


def _nice_price_cents(price: np.ndarray, currency_id: int) -> np.ndarray:
    """Consumer prices incl. VAT: 349 kr style for SEK/NOK, 29.95 style for EUR."""
    if currency_id == 3:
        nice = np.floor(price) + 0.95
    else:
        nice = np.maximum(np.round(price / 10) * 10 - 1, 9)
    return np.asarray(np.rint(nice * 100), dtype=np.int64)


def build_price_lists(
    price_type: EntityType,
    rng: np.random.Generator,
    part_no: pl.Series,
    base_eur: np.ndarray,
    sku_vat_class: np.ndarray,
    sku_created: np.ndarray,
    anchor: datetime,
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Price rows for every SKU in every market's price list.

    Args:
        price_type: The ``ProductSkuPricelist`` entity type.
        rng: Source of randomness.
        part_no: PartNo per SKU.
        base_eur: Base consumer price in EUR per SKU.
        sku_vat_class: VAT class per SKU; a price list charges its market's home rate.
        sku_created: SKU creation time (epoch us) per SKU.
        anchor: End of history; no price changes after it.

    Returns:
        ``(frame, price_cents, cost_cents)``; the arrays have shape (SKUs, markets) and
        hold ``PriceSale`` ex VAT and ``CostUnit`` (0 where unknown) in cents.
    """
    n_skus = part_no.len()
    anchor_us = to_us(anchor)
    n_markets = len(MARKETS)
    has_cost = rng.random(n_skus) < KNOWN_COST_SHARE
    margin = rng.uniform(0.35, 0.65, n_skus)
    price_cents = np.zeros((n_skus, n_markets), dtype=np.int64)
    cost_cents = np.zeros((n_skus, n_markets), dtype=np.int64)
    for m, market in enumerate(MARKETS):
        local = base_eur / float(RATES[market.currency_id])
        incl = _nice_price_cents(local, market.currency_id)
        vat = current_tenths(market.country_ids[0], sku_vat_class, anchor)
        price_cents[:, m] = np.rint(incl / (1 + vat / 1000))
        cost_cents[:, m] = np.where(has_cost, np.rint(price_cents[:, m] * margin), 0)
    price_sku = np.tile(np.arange(n_skus), n_markets)
    price_market = np.repeat(np.arange(n_markets), n_skus)
    price_no_update = rng.random(price_sku.size) < 0.5
    price_changed = np.minimum(
        sku_created[price_sku] + rng.integers(0, 700 * US_PER_DAY, price_sku.size), anchor_us - 1
    )
    flat_price = price_cents[price_sku, price_market]
    flat_cost = cost_cents[price_sku, price_market]
    recommended = rng.random(price_sku.size) < 0.3
    price_lists = build_frame(
        price_type,
        price_sku.size,
        {
            "PartNo": part_no.gather(price_sku),
            "PriceListId": np.array([m.price_list_id for m in MARKETS])[price_market],
            "QtyBreak": 1,
            "CurrencyId": np.array([m.currency_id for m in MARKETS])[price_market],
            "PriceSale": money(flat_price),
            "PriceSaleLastUpdated": timestamps(price_changed, price_no_update),
            "CostPurchase": money(np.rint(flat_cost / 1.03).astype(np.int64)),
            "CostUnit": money(flat_cost),
            "PriceStandard": money(flat_price),
            "PriceRecommended": money(np.rint(flat_price * 1.2).astype(np.int64), ~recommended),
            "IsPriceDiscountable": True,
            "Created": timestamps(sku_created[price_sku]),
            "Updated": timestamps(price_changed, price_no_update),
            "UpdatedBy": with_nulls(
                pl.Series(np.full(price_sku.size, INTEGRATION_USER)), price_no_update
            ),
        },
    )

    return price_lists, price_cents, cost_cents
