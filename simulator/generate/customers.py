"""Registered customers, their addresses, companies and customer-company links.

Each customer has a home application (shop) drawn with the shops' shares, lives in one of
that shop's countries, and has a purchase propensity (log-normal) that the order generator
uses so a few customers buy often and many buy once or never. ``Created`` is provisional
here; :func:`backdate_customers` moves it before the customer's first order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
from simulator.generate.markets import COUNTRY_CODES, MARKETS
from simulator.generate.names import addresses, emails, person_names, phones
from simulator.schema import Schema
from simulator.store import TypeRef

COMPANY_SUFFIX = ("AB", "AS", "GmbH")


@dataclass(frozen=True, slots=True)
class People:
    """Where generated people live: one row per person, aligned with their ids."""

    market: np.ndarray
    """Index into :data:`MARKETS` of each person's home shop."""
    country_id: np.ndarray
    propensity: np.ndarray
    """Relative purchase propensity."""


def draw_people(rng: np.random.Generator, n: int, propensity_sigma: float) -> People:
    """Home shop, country and purchase propensity for ``n`` people."""
    market = rng.choice(len(MARKETS), n, p=[m.share for m in MARKETS])
    country = np.zeros(n, dtype=np.int64)
    for i, m in enumerate(MARKETS):
        rows = np.flatnonzero(market == i)
        country[rows] = rng.choice(m.country_ids, rows.size, p=m.country_shares)
    return People(market, country, rng.lognormal(0, propensity_sigma, n))


def country_codes(country_id: np.ndarray) -> pl.Series:
    """ISO codes for country ids."""
    return pl.Series(country_id).replace_strict(COUNTRY_CODES, return_dtype=pl.String)


def build_customers(
    schema: Schema, anchor: datetime, scale: float, rng: np.random.Generator
) -> tuple[dict[TypeRef, pl.DataFrame], People]:
    """Customers, CustomerAddresses, Companies and CustomerCompanies.

    Returns:
        The frames and the customers' :class:`People` (row i = customer ``Id`` i + 1).
    """
    n = max(1, round(20_000 * scale))
    people = draw_people(rng, n, propensity_sigma=1.2)
    ids = np.arange(1, n + 1)
    language = np.array([m.language for m in MARKETS])[people.market]
    first, last, first_ascii, last_ascii = person_names(rng, language)
    codes = country_codes(people.country_id)
    anchor_us = to_us(anchor)
    created = anchor_us - rng.integers(1, 3 * 365 * US_PER_DAY, n)
    no_update = rng.random(n) < 0.4
    updated = created + ((anchor_us - created) * rng.random(n)).astype(np.int64)
    customers = build_frame(
        schema.entity_type("Customers", "Customer"),
        n,
        {
            "Id": ids,
            "Key": guids(rng, n),
            "CustomerCode": pl.Series(ids).cast(pl.String).str.pad_start(7, "0"),
            "FirstName": first,
            "LastName": last,
            "EmailAddress": emails(first_ascii, last_ascii, ids),
            "PhoneNumber": with_nulls(phones(rng, codes), rng.random(n) < 0.5),
            "CellPhoneNumber": phones(rng, codes),
            "IsActive": rng.random(n) < 0.98,
            "Created": timestamps(created),
            "Updated": timestamps(updated, no_update),
            "UpdatedBy": with_nulls(pl.Series(np.full(n, INTEGRATION_USER)), no_update),
            "IsForgotten": False,
        },
    )

    # 1-2 addresses: a delivery address, sometimes a separate billing address.
    per_customer = np.where(rng.random(n) < 0.3, 2, 1)
    owner = np.repeat(np.arange(n), per_customer)
    street, zip_code, city = addresses(rng, codes.gather(owner))
    address_frame = build_frame(
        schema.entity_type("Customers", "CustomerAddress"),
        owner.size,
        {
            "Id": np.arange(1, owner.size + 1),
            "CustomerId": ids[owner],
            "TypeId": counter_within(owner),
            "AddressLine1": street,
            "ZipCode": zip_code,
            "City": city,
            "CountryId": people.country_id[owner],
            "Created": timestamps(created[owner]),
            "StatusId": 1,
            "ClientId": 1,
        },
    )
    frames = {
        ("Customers", "Customer"): customers,
        ("Customers", "CustomerAddress"): address_frame,
        **_companies(schema, rng, scale, anchor, people, ids, created),
    }
    return frames, people


def backdate_customers(
    customers: pl.DataFrame,
    addresses_df: pl.DataFrame,
    first_order_us: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Make every customer exist before their first order (``first_order_us`` < 0: none).

    A buyer registered up to 60 days before the first purchase (often minutes before,
    at checkout); ``Updated`` stays at or after ``Created``.
    """
    n = customers.height
    created = customers["Created"].dt.epoch("us").to_numpy()
    lead = np.where(
        rng.random(n) < 0.5,
        rng.integers(60, 3600, n) * 1_000_000,
        rng.integers(1, 60 * US_PER_DAY, n),
    )
    bought = first_order_us >= 0
    created = np.where(bought, first_order_us - lead, created)
    updated = customers["Updated"].dt.epoch("us").fill_null(-1).to_numpy()
    no_update = customers["Updated"].is_null().to_numpy()
    customers = customers.with_columns(
        timestamps(created).alias("Created"),
        timestamps(np.maximum(updated, created), no_update).alias("Updated"),
    )
    # Customer ids are 1..n, so the owner's row is CustomerId - 1.
    owner = addresses_df["CustomerId"].to_numpy() - 1
    addresses_df = addresses_df.with_columns(timestamps(created[owner]).alias("Created"))
    return customers, addresses_df


def _companies(
    schema: Schema,
    rng: np.random.Generator,
    scale: float,
    anchor: datetime,
    people: People,
    customer_ids: np.ndarray,
    customer_created: np.ndarray,
) -> dict[TypeRef, pl.DataFrame]:
    n = max(1, round(800 * scale))
    market = rng.choice(len(MARKETS), n, p=[m.share for m in MARKETS])
    language = np.array([m.language for m in MARKETS])[market]
    _, last, _, last_ascii = person_names(rng, language)
    suffix = pl.Series(COMPANY_SUFFIX).gather(market)
    ids = np.arange(1, n + 1)
    slug = (
        pl.DataFrame({"l": last_ascii, "i": ids})
        .select(pl.concat_str("l", pl.col("i").cast(pl.String)))
        .to_series()
    )
    org_no = pl.Series(rng.integers(10**6, 10**7, n)).cast(pl.String)
    created = to_us(anchor) - rng.integers(1, 4 * 365 * US_PER_DAY, n)
    country_of_market = np.array([m.country_ids[0] for m in MARKETS])[market]
    companies = build_frame(
        schema.entity_type("Customers", "Company"),
        n,
        {
            "Id": ids,
            "Key": guids(rng, n),
            "CompanyCode": pl.Series(ids).cast(pl.String).str.pad_start(6, "0"),
            "TypeId": 1,
            "OrganizationNo": "556" + org_no.str.slice(0, 3) + "-" + org_no.str.slice(3, 4),
            "Name": pl.DataFrame({"l": last, "s": suffix})
            .select(pl.concat_str("l", "s", separator=" "))
            .to_series(),
            "EmailAddress": "info@" + slug + ".example.com",
            "PhoneNumber": phones(rng, country_codes(country_of_market)),
            "UseBillingAddressAsShippingAddress": True,
            "Created": timestamps(created),
            "ApplicationId": np.array([m.application_id for m in MARKETS])[market],
        },
    )

    # ~6% of customers act for a company of their own shop.
    linked = np.flatnonzero(rng.random(customer_ids.size) < 0.06)
    company_of: list[np.ndarray] = []
    for i in range(len(MARKETS)):
        pool = ids[market == i]
        rows = linked[people.market[linked] == i]
        if pool.size == 0:
            pool = ids
        company_of.append(np.stack([rows, pool[rng.integers(0, pool.size, rows.size)]]))
    pairs = np.concatenate(company_of, axis=1) if company_of else np.zeros((2, 0), int)
    order = np.argsort(pairs[0], kind="stable")
    rows, company = pairs[0][order], pairs[1][order]
    links = build_frame(
        schema.entity_type("Customers", "CustomerCompany"),
        rows.size,
        {
            "CustomerId": customer_ids[rows],
            "CompanyId": company,
            "RoleId": 1,
            "CustomerCode": pl.Series(customer_ids[rows]).cast(pl.String).str.pad_start(7, "0"),
            "IsPrimary": True,
            "Created": timestamps(customer_created[rows]),
            "ClientId": 1,
        },
    )
    return {("Customers", "Company"): companies, ("Customers", "CustomerCompany"): links}
