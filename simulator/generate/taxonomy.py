"""The catalogue's taxonomy: categories (one per product noun plus collections), the
category tree shown in the shop's menu, and the brands (ClientManufacturers).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from simulator.generate.common import build_frame, guids, timestamps, to_us
from simulator.generate.names import words
from simulator.schema import Schema
from simulator.store import TypeRef

# (noun, category name, variant kind) -- one category per noun.
NOUNS: tuple[tuple[str, str, str], ...] = tuple(
    (w.split(":")[0], w.split(":")[1], w.split(":")[2])
    for w in words(
        "Sweater:Sweaters:size|Cardigan:Cardigans:size|T-shirt:T-shirts:size|Shirt:Shirts:size|"
        "Blouse:Blouses:size|Dress:Dresses:size|Skirt:Skirts:size|Jeans:Jeans:size|"
        "Trousers:Trousers:size|Shorts:Shorts:size|Jacket:Jackets:size|Parka:Parkas:size|"
        "Raincoat:Rain gear:size|Vest:Vests:size|Hoodie:Hoodies:size|Scarf:Scarves:colour|"
        "Beanie:Hats & beanies:colour|Gloves:Gloves:size|Socks:Socks:size|"
        "Sneakers:Sneakers:shoe|Boots:Boots:shoe|Sandals:Sandals:shoe|"
        "Backpack:Backpacks:colour|Tote bag:Bags:colour|Wallet:Wallets:colour|"
        "Belt:Belts:size|Sunglasses:Sunglasses:colour|Blanket:Blankets:colour|"
        "Cushion cover:Cushions:colour|Towel:Towels:colour|Mug:Mugs:colour|"
        "Candle:Candles:colour|Water bottle:Bottles:colour|Thermos:Thermoses:colour"
    )
)
COLLECTIONS = words("New arrivals|Sale|Gifts|Bestsellers|Sustainable choices|Outlet")
GROUPS = (("Clothing", 0, 19), ("Shoes & accessories", 19, 27), ("Home", 27, 34))
BRAND_PARTS = (
    words("Nord|Fjell|Skog|Havs|Berg|Lin|Ek|Sjö|Vinter|Ljus|Mörk|Stor"),
    words("vik|kraft|lund|heim|dal|form|hus|ström|by|gård"),
)


def build_taxonomy(
    schema: Schema, rng: np.random.Generator, anchor: datetime
) -> dict[TypeRef, pl.DataFrame]:
    """Categories, one category tree (groups -> categories), and the brands."""
    setup = to_us(anchor - timedelta(days=4 * 365))
    names = [c for _, c, _ in NOUNS] + list(COLLECTIONS)
    n = len(names)
    ids = np.arange(1, n + 1)
    group_of = ["Collections"] * n
    for group, lo, hi in GROUPS:
        group_of[lo:hi] = [group] * (hi - lo)
    categories = build_frame(
        schema.entity_type("Application", "Category"),
        n,
        {
            "Id": ids,
            "Code": pl.Series(ids).cast(pl.String).str.zfill(3).str.pad_start(4, "C"),
            "DefaultName": names,
            "DefaultFullName": [f"{g} > {c}" for g, c in zip(group_of, names, strict=True)],
            "PopulationRuleId": 1,
            "Created": timestamps(np.full(n, setup)),
        },
    )
    group_names = [g for g, _, _ in GROUPS] + ["Collections"]
    n_items = len(group_names) + n
    item_ids = np.arange(1, n_items + 1)
    parent = [None] * len(group_names) + [group_names.index(g) + 1 for g in group_of]
    items = build_frame(
        schema.entity_type("Application", "CategoryStructureItem"),
        n_items,
        {
            "Id": item_ids,
            "StructureId": 1,
            "UseCategoryName": [False] * len(group_names) + [True] * n,
            "CategoryId": [None] * len(group_names) + ids.tolist(),
            "StructureLevel": [1] * len(group_names) + [2] * n,
            "ParentItemId": parent,
            "IsParent": [True] * len(group_names) + [False] * n,
            "IsDisplayOnly": [True] * len(group_names) + [False] * n,
            "SortOrder": item_ids,
            "Created": timestamps(np.full(n_items, setup)),
            "Key": guids(rng, n_items),
        },
    )
    structure = build_frame(
        schema.entity_type("Application", "CategoryStructure"),
        1,
        {
            "Id": [1],
            "DefaultName": ["Main menu"],
            "TypeId": 1,
            "IsPrimary": True,
            "Created": timestamps(np.array([setup])),
        },
    )
    brand_ids = np.arange(1, 61)
    first, second = BRAND_PARTS
    brands = build_frame(
        schema.entity_type("Application", "ManufacturerClient"),
        brand_ids.size,
        {
            "ManufacturerId": brand_ids,
            # (i mod 12, 7i mod 10) is unique for i < 60, so are the names.
            "Name": [f"{first[i % len(first)]}{second[(i * 7) % len(second)]}" for i in range(60)],
            "IsActive": True,
        },
    )
    return {
        ("Application", "Category"): categories,
        ("Application", "CategoryStructure"): structure,
        ("Application", "CategoryStructureItem"): items,
        ("Application", "ManufacturerClient"): brands,
    }
