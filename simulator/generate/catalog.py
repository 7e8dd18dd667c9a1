"""The product catalogue: products, SKUs, product-category links, supplier articles.

Each product is a noun ("Sweater") with an adjective and a material, belongs to the
noun's category (primary) and up to two collection categories, and has 1-4 SKUs (sizes,
shoe sizes or colours). Every SKU has one price row per application price list; prices are
"nice" consumer prices incl. VAT (349 kr, 29.95 EUR) stored ex VAT as ``PriceSale``. Cost
is known on ~70% of SKUs so margins can be computed. The :class:`SkuTable` keeps what the
order generator needs (prices per market, popularity) as numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from simulator.generate.common import (
    INTEGRATION_USER,
    US_PER_DAY,
    build_frame,
    counter_within,
    guids,
    timestamps,
    to_us,
    with_nulls,
)
from simulator.generate.names import pick, words
from simulator.generate.pricing import build_price_lists
from simulator.generate.taxonomy import COLLECTIONS, NOUNS, build_taxonomy
from simulator.generate.vat import CLASS_SHARES
from simulator.schema import Schema
from simulator.store import TypeRef

ADJECTIVES = words(
    "Classic|Nordic|Essential|Relaxed|Slim|Cosy|Everyday|Urban|Coastal|Alpine|Soft|Light|"
    "Heritage|Studio|Weekend|Arctic|Summer|Winter|Organic|Vintage"
)
MATERIALS = words("Merino|Cotton|Linen|Wool|Denim|Recycled|Cashmere|Leather|Canvas|Bamboo")
VARIANTS = {
    "size": words("XS|S|M|L|XL|XXL"),
    "shoe": words("37|38|39|40|41|42|43|44|45"),
    "colour": words("Black|Grey|Navy|Green|Sand|White|Rust"),
}
SUPPLIERS = 5


@dataclass(frozen=True, slots=True)
class SkuTable:
    """What order lines need to know about SKUs, aligned by row (not by PartNo order)."""

    part_no: pl.Series
    product_id: np.ndarray
    name: pl.Series
    """Order-line ``ProductName``: product name plus the variant when there are several."""
    vat_class: np.ndarray
    """VAT class (:mod:`simulator.generate.vat`): the rate depends on where a line ships."""
    weight: np.ndarray
    """Relative popularity."""
    price_cents: np.ndarray
    """``PriceSale`` ex VAT in cents, shape (SKUs, markets)."""
    cost_cents: np.ndarray
    """``CostUnit`` in cents, 0 where unknown, shape (SKUs, markets)."""


def build_catalog(
    schema: Schema, anchor: datetime, scale: float, rng: np.random.Generator
) -> tuple[dict[TypeRef, pl.DataFrame], SkuTable]:
    """Products and everything hanging off them, plus the order generator's SKU table."""
    et = schema.namespace("Products").types
    n_products = max(1, round(5000 * scale))
    start = to_us(anchor - timedelta(days=3 * 365))
    span = 365 * US_PER_DAY
    anchor_us = to_us(anchor)

    product_id = np.arange(1, n_products + 1)
    noun = rng.integers(0, len(NOUNS), n_products)
    nouns = pl.Series([n for n, _, _ in NOUNS])
    name_frame = pl.DataFrame(
        {
            "a": pick(rng, ADJECTIVES, n_products),
            "m": pick(rng, MATERIALS, n_products),
            "n": nouns.gather(noun),
        }
    )
    default_name = name_frame.select(pl.concat_str("a", "m", "n", separator=" ")).to_series()
    created = start + rng.integers(0, span, n_products)
    updated = np.minimum(created + rng.integers(0, 700 * US_PER_DAY, n_products), anchor_us - 1)
    no_update = rng.random(n_products) < 0.3
    active = rng.random(n_products) < 0.95
    manufacturer = rng.integers(1, 61, n_products)
    skus_per_product = rng.choice([1, 2, 3, 4], n_products, p=[0.4, 0.3, 0.2, 0.1])
    base_eur = np.clip(rng.lognormal(np.log(35), 0.8, n_products), 3, 900)
    vat = rng.choice(len(CLASS_SHARES), n_products, p=CLASS_SHARES)
    popularity = rng.lognormal(0, 1.1, n_products)

    products = build_frame(
        et["Product"],
        n_products,
        {
            "Id": product_id,
            "ManufacturerId": manufacturer,
            "ManufacturerPartNo": pl.Series(product_id).cast(pl.String).str.zfill(6),
            "DefaultName": default_name,
            "DefaultDescription": name_frame.select(
                pl.concat_str(
                    pl.lit("A"),
                    pl.col("a").str.to_lowercase(),
                    pl.col("n").str.to_lowercase(),
                    pl.lit("in"),
                    pl.col("m").str.to_lowercase(),
                    separator=" ",
                )
            ).to_series(),
            "DefaultUniqueUrlName": default_name.str.to_lowercase().str.replace_all(" ", "-"),
            "IsVariant": skus_per_product > 1,
            "HideInTopList": False,
            "IsActive": active,
            "Created": timestamps(created),
            "Updated": timestamps(updated, no_update),
            "UpdatedBy": with_nulls(pl.Series(np.full(n_products, INTEGRATION_USER)), no_update),
            "Key": guids(rng, n_products),
        },
    )

    # -- SKUs: one row per (product, variant) ------------------------------------------
    sku_product = np.repeat(np.arange(n_products), skus_per_product)
    n_skus = sku_product.size
    position = counter_within(sku_product) - 1
    kind = np.array([k for _, _, k in NOUNS])[noun[sku_product]]
    variant = pl.Series([None] * n_skus, dtype=pl.String)
    first = rng.integers(0, 3, n_products)[sku_product]
    for k, labels in VARIANTS.items():
        rows = np.flatnonzero(kind == k)
        variant.scatter(
            rows, pl.Series(labels).gather((first[rows] + position[rows]) % len(labels))
        )
    part_no = pl.Series(np.arange(100_001, 100_001 + n_skus)).cast(pl.String)
    multi = skus_per_product[sku_product] > 1
    line_name = (
        pl.DataFrame({"n": default_name.gather(sku_product), "v": variant})
        .select(
            pl.when(pl.Series(multi)).then(pl.concat_str("n", "v", separator=", ")).otherwise("n")
        )
        .to_series()
    )
    sku_created = created[sku_product]
    sku_status = np.where(active[sku_product], np.where(rng.random(n_skus) < 0.05, 3, 1), 2)
    # EAN-13 style: a leading 7 (Nordic GS1 prefixes) and 12 random digits.
    ean = pl.Series(rng.integers(10**11, 10**12, n_skus)).cast(pl.String).str.pad_start(13, "7")
    skus = build_frame(
        et["ProductSku"],
        n_skus,
        {
            "PartNo": part_no,
            "ProductId": product_id[sku_product],
            "StatusId": sku_status,
            "TypeId": 1,
            "ErpName": pl.DataFrame({"n": default_name.gather(sku_product), "v": variant})
            .select(pl.concat_str("n", "v", separator=" "))
            .to_series(),
            "EanCode": ean,
            "UnitOfMeasurementId": 1,
            "IsPublished": active[sku_product],
            "IsBlocked": False,
            "Created": timestamps(sku_created),
            "Updated": timestamps(updated[sku_product], no_update[sku_product]),
            "UpdatedBy": with_nulls(
                pl.Series(np.full(n_skus, INTEGRATION_USER)), no_update[sku_product]
            ),
        },
    )

    sku_vat = vat[sku_product]
    price_lists, price_cents, cost_cents = build_price_lists(
        et["ProductSkuPricelist"],
        rng,
        part_no,
        base_eur[sku_product],
        sku_vat,
        sku_created,
        anchor,
    )

    frames = {
        ("Products", "Product"): products,
        ("Products", "ProductSku"): skus,
        ("Products", "ProductSkuPricelist"): price_lists,
        **_product_links(schema, rng, product_id, noun, created, skus_per_product),
        **_suppliers(schema, rng, skus, manufacturer[sku_product]),
        **build_taxonomy(schema, rng, anchor),
    }
    sku_table = SkuTable(
        part_no=part_no,
        product_id=product_id[sku_product],
        name=line_name,
        vat_class=sku_vat,
        weight=popularity[sku_product] / skus_per_product[sku_product],
        price_cents=price_cents,
        cost_cents=cost_cents,
    )
    return frames, sku_table


def _product_links(
    schema: Schema,
    rng: np.random.Generator,
    product_id: np.ndarray,
    noun: np.ndarray,
    created: np.ndarray,
    skus_per_product: np.ndarray,
) -> dict[TypeRef, pl.DataFrame]:
    """ProductCategories (noun category primary + 0-2 collections) and variant labels."""
    n = product_id.size
    extra = rng.choice([0, 1, 2], n, p=[0.5, 0.35, 0.15])
    first = rng.integers(0, len(COLLECTIONS), n)
    step = rng.integers(1, len(COLLECTIONS), n)  # != 0 mod 6: two distinct collections
    rows = np.repeat(np.arange(n), 1 + extra)
    pos = counter_within(rows) - 1
    collection = (first[rows] + (pos - 1) * step[rows]) % len(COLLECTIONS)
    category = np.where(pos == 0, noun[rows] + 1, len(NOUNS) + 1 + collection)
    links = build_frame(
        schema.entity_type("Products", "ProductCategory"),
        rows.size,
        {
            "ProductId": product_id[rows],
            "CategoryId": category,
            "IsPrimary": pos == 0,
            "SortOrder": pos + 1,
            "ProductSortOrder": rng.integers(1, 1000, rows.size),
            "Created": timestamps(created[rows]),
        },
    )
    variants = np.flatnonzero(skus_per_product > 1)
    kinds = {"size": "Size", "shoe": "Size", "colour": "Colour"}
    labels = pl.Series([kinds[k] for _, _, k in NOUNS]).gather(noun[variants])
    variant_types = build_frame(
        schema.entity_type("Products", "ProductVariantTypeCulture"),
        variants.size,
        {
            "ProductId": product_id[variants],
            "TypeId": 1,
            "CultureCode": "en-GB",
            "Value": labels,
            "Updated": timestamps(created[variants]),
            "UpdatedBy": 1,
        },
    )
    return {
        ("Products", "ProductCategory"): links,
        ("Products", "ProductVariantTypeCulture"): variant_types,
    }


def _suppliers(
    schema: Schema, rng: np.random.Generator, skus: pl.DataFrame, manufacturer: np.ndarray
) -> dict[TypeRef, pl.DataFrame]:
    """A supplier article for ~15% of SKUs (small, as on real tenants)."""
    rows = np.flatnonzero(rng.random(skus.height) < 0.15)
    picked = skus[rows]
    frame = build_frame(
        schema.entity_type("Products", "SupplierProductSku"),
        rows.size,
        {
            "PartNo": picked["PartNo"],
            "SupplierId": rng.integers(1, SUPPLIERS + 1, rows.size),
            "Name": picked["ErpName"],
            "ManufacturerId": manufacturer[rows],
            "EanCode": picked["EanCode"],
            "UnitOfMeasurementId": 1,
            "IsUsed": True,
            "Created": picked["Created"],
            "ProductId": picked["ProductId"],
        },
    )
    return {("Products", "SupplierProductSku"): frame}
