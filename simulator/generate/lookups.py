"""Core and Application lookup frames built from :mod:`.markets` (they do not scale)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from simulator.generate.common import (
    INTEGRATION_USER,
    ColumnValue,
    build_frame,
    decimal4,
    guids,
    timestamps,
    to_us,
    with_nulls,
)
from simulator.generate.markets import (
    COUNTRIES,
    CULTURES,
    CURRENCIES,
    DELIVERY_METHODS,
    MARKETS,
    PAYMENT_METHODS,
    SKU_STATUSES,
)
from simulator.generate.rates import RATE, RateSchedule
from simulator.generate.vat import vat_codes
from simulator.schema import Schema
from simulator.store import TypeRef


def build_lookups(
    schema: Schema, anchor: datetime, rng: np.random.Generator, rates: RateSchedule
) -> dict[TypeRef, pl.DataFrame]:
    """Every Core and Application lookup frame (catalogue taxonomy lives in catalog.py).

    Currencies show the rate card's current rates, ``Updated`` when each last changed.
    """
    setup = to_us(anchor - timedelta(days=4 * 365))

    def frame(ns: str, type_name: str, rows: int, **columns: ColumnValue) -> pl.DataFrame:
        et = schema.entity_type(ns, type_name)
        if et.has_property("Created"):
            columns.setdefault("Created", timestamps(np.full(rows, setup)))
        return build_frame(et, rows, columns)

    n_apps = len(MARKETS)
    card = rates.current()
    current_rate = pl.Series(
        [card.filter(pl.col("CurrencyId") == c[0])["ExchangeRate"][0] for c in CURRENCIES],
        dtype=RATE,
    )
    changed = np.array(
        [to_us(card.filter(pl.col("CurrencyId") == c[0])["ValidFrom"][0]) for c in CURRENCIES]
    )
    never_changed = changed <= setup
    rate_updated = timestamps(changed, never_changed)
    rate_updated_by = with_nulls(pl.Series(np.full(changed.size, INTEGRATION_USER)), never_changed)
    codes = vat_codes()
    app_countries = [
        (m.application_id, c, i == 0) for m in MARKETS for i, c in enumerate(m.country_ids)
    ]
    cultures = [
        (m.application_id, c, c == m.culture) for m in MARKETS for c in (m.culture, "en-GB")
    ]
    frames: dict[TypeRef, pl.DataFrame] = {
        ("Core", "Application"): frame(
            "Core",
            "Application",
            n_apps,
            Id=[m.application_id for m in MARKETS],
            Key=guids(rng, n_apps),
            Name=[m.name for m in MARKETS],
            Description=[f"{m.name} web shop" for m in MARKETS],
            Url=[f"https://{m.culture[-2:].lower()}.nordhem.example" for m in MARKETS],
            SenderEmailAddress=[f"shop@{m.culture[-2:].lower()}.nordhem.example" for m in MARKETS],
            HostClientId=1,
            IsActive=True,
        ),
        ("Core", "Country"): frame(
            "Core",
            "Country",
            len(COUNTRIES),
            Id=[c[0] for c in COUNTRIES],
            Code=[c[1] for c in COUNTRIES],
            DefaultName=[c[2] for c in COUNTRIES],
            IsActive=True,
        ),
        ("Core", "Currency"): frame(
            "Core",
            "Currency",
            len(CURRENCIES),
            Id=[c[0] for c in CURRENCIES],
            Code=[c[1] for c in CURRENCIES],
            DefaultName=[c[2] for c in CURRENCIES],
            ExchangeRate=current_rate,
            DefaultPrefix=[c[4] for c in CURRENCIES],
            DefaultSuffix=[c[5] for c in CURRENCIES],
            IsActive=True,
            Updated=rate_updated,
            UpdatedBy=rate_updated_by,
        ),
        ("Core", "CurrencyCulture"): frame(
            "Core",
            "CurrencyCulture",
            len(CURRENCIES),
            CurrencyId=[c[0] for c in CURRENCIES],
            CultureCode=[c[6] for c in CURRENCIES],
            Name=[c[2] for c in CURRENCIES],
            Prefix=[c[4] for c in CURRENCIES],
            Suffix=[c[5] for c in CURRENCIES],
        ),
        ("Core", "PaymentMethod"): frame(
            "Core",
            "PaymentMethod",
            len(PAYMENT_METHODS),
            Id=[p[0] for p in PAYMENT_METHODS],
            Code=[p[1] for p in PAYMENT_METHODS],
            DefaultName=[p[2] for p in PAYMENT_METHODS],
            IsActive=True,
        ),
        ("Core", "DeliveryMethod"): frame(
            "Core",
            "DeliveryMethod",
            len(DELIVERY_METHODS),
            Id=[d[0] for d in DELIVERY_METHODS],
            Code=[d[1] for d in DELIVERY_METHODS],
            DefaultName=[d[2] for d in DELIVERY_METHODS],
            IsActive=True,
        ),
        ("Core", "VatCode"): frame(
            "Core",
            "VatCode",
            len(codes),
            Id=[v[0] for v in codes],
            Code=[v[1] for v in codes],
            DefaultName=[v[2] for v in codes],
            Rate=decimal4(np.array([v[3] * 1000 for v in codes])),
            IsActive=True,
        ),
        ("Core", "SkuStatus"): frame(
            "Core",
            "SkuStatus",
            len(SKU_STATUSES),
            Id=[s[0] for s in SKU_STATUSES],
            Code=[s[1] for s in SKU_STATUSES],
            DefaultName=[s[2] for s in SKU_STATUSES],
            IsActive=True,
        ),
        ("Application", "ApplicationCountry"): frame(
            "Application",
            "ApplicationCountry",
            len(app_countries),
            ApplicationId=[a for a, _, _ in app_countries],
            CountryId=[c for _, c, _ in app_countries],
            IsPrimary=[p for _, _, p in app_countries],
            IsActive=True,
            ClientId=1,
        ),
        ("Application", "ApplicationCulture"): frame(
            "Application",
            "ApplicationCulture",
            len(cultures),
            ApplicationId=[a for a, _, _ in cultures],
            CultureCode=[c for _, c, _ in cultures],
            IsPrimary=[p for _, _, p in cultures],
            IsActive=True,
            ClientId=1,
        ),
        ("Application", "ApplicationPriceList"): frame(
            "Application",
            "ApplicationPriceList",
            n_apps,
            ApplicationId=[m.application_id for m in MARKETS],
            PriceListId=[m.price_list_id for m in MARKETS],
            IsPrimary=True,
            IsActive=True,
            ClientId=1,
        ),
        ("Application", "PriceListClient"): frame(
            "Application",
            "PriceListClient",
            n_apps,
            PriceListId=[m.price_list_id for m in MARKETS],
            Name=[f"{m.name} retail" for m in MARKETS],
            CurrencyId=[m.currency_id for m in MARKETS],
            PopulationRuleId=1,
            IsPrimary=[m.price_list_id == 1 for m in MARKETS],
            IsPublic=True,
            IsActive=True,
            TypeId=1,
            SalesAreaId=[m.application_id for m in MARKETS],
        ),
        ("Application", "CurrencyClient"): frame(
            "Application",
            "CurrencyClient",
            len(CURRENCIES),
            CurrencyId=[c[0] for c in CURRENCIES],
            ExchangeRate=current_rate,
            IsPrimary=[c[1] == "SEK" for c in CURRENCIES],
            Updated=rate_updated,
        ),
        ("Application", "SalesAreaClient"): frame(
            "Application",
            "SalesAreaClient",
            n_apps,
            SalesAreaId=[m.application_id for m in MARKETS],
            Code=[m.culture[-2:] for m in MARKETS],
            IsPrimary=[m.application_id == 1 for m in MARKETS],
        ),
        ("Application", "CultureClient"): frame(
            "Application",
            "CultureClient",
            len(CULTURES),
            CultureCode=[c for c, _ in CULTURES],
            Collation=[k for _, k in CULTURES],
            IsPrimary=[c == "sv-SE" for c, _ in CULTURES],
        ),
        ("Application", "WarehouseClient"): frame(
            "Application",
            "WarehouseClient",
            2,
            WarehouseId=[1, 2],
            Code=["MAIN", "DE-FC"],
            Name=["Main warehouse Borås", "Fulfilment centre Hamburg"],
            IsActive=True,
        ),
        ("Application", "CustomerInfoType"): frame(
            "Application",
            "CustomerInfoType",
            2,
            Id=[1, 2],
            GroupId=1,
            DefaultName=["Newsletter consent", "Preferred store"],
            Code=["NEWSLETTER", "STORE"],
            SortOrder=[1, 2],
        ),
        ("Application", "ProductFlag"): frame(
            "Application",
            "ProductFlag",
            3,
            Id=[1, 2, 3],
            TypeId=1,
            GroupId=1,
            DefaultName=["New", "Campaign", "Bestseller"],
            Code=["NEW", "CAMPAIGN", "BEST"],
            SortOrder=[1, 2, 3],
            IsManuallyEditable=True,
        ),
    }
    return frames
