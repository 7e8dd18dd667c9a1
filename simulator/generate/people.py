"""Who buys: registered customers and a pool of recurring guests, as order snapshots.

An order stores copies of its buyer, payer and ship-to (``OrderCustomerInfo`` rows). For a
registered buyer the copy comes from the *current* Customer and its first address, so the
buyer's email equals the customer's email (the warehouse's customer key). Guests come from
a fixed pool with stable emails, so the same guest can order more than once without
registering -- the common case on real tenants.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from simulator.generate.common import with_nulls
from simulator.generate.customers import People, country_codes, draw_people
from simulator.generate.markets import MARKETS
from simulator.generate.names import addresses, emails, person_names, phones

SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {
    "CustomerId": pl.Int32(),
    "CustomerCode": pl.String(),
    "FirstName": pl.String(),
    "LastName": pl.String(),
    "EmailAddress": pl.String(),
    "CellPhoneNumber": pl.String(),
    "AddressLine1": pl.String(),
    "ZipCode": pl.String(),
    "City": pl.String(),
    "CountryId": pl.Int32(),
}
ADDRESS_FIELDS = ("FirstName", "LastName", "AddressLine1", "ZipCode", "City", "CountryId")
"""What a gift order's ship-to takes from the recipient instead of the buyer."""


def guest_pool(rng: np.random.Generator, n: int, first_number: int) -> tuple[pl.DataFrame, People]:
    """``n`` guest identities (snapshot columns) and where they live.

    Args:
        rng: Source of randomness.
        n: Pool size.
        first_number: Email number of the first guest; above every customer id so guest
            and customer emails never collide.
    """
    people = draw_people(rng, n, propensity_sigma=0.7)
    language = np.array([m.language for m in MARKETS])[people.market]
    first, last, first_ascii, last_ascii = person_names(rng, language)
    codes = country_codes(people.country_id)
    street, zip_code, city = addresses(rng, codes)
    pool = pl.DataFrame(
        {
            "CustomerId": pl.Series([None] * n, dtype=pl.Int32),
            "CustomerCode": pl.Series([None] * n, dtype=pl.String),
            "FirstName": first,
            "LastName": last,
            "EmailAddress": emails(first_ascii, last_ascii, np.arange(n) + first_number),
            "CellPhoneNumber": phones(rng, codes),
            "AddressLine1": street,
            "ZipCode": zip_code,
            "City": city,
            "CountryId": pl.Series(people.country_id).cast(pl.Int32),
        }
    )
    return pool, people


def registered_snapshots(
    customers: pl.DataFrame, addresses_df: pl.DataFrame, ids: np.ndarray
) -> pl.DataFrame:
    """Snapshot rows for customer ``ids`` from their current data and first address.

    Args:
        customers: Customer base frame, sorted by ``Id``.
        addresses_df: CustomerAddress base frame.
        ids: Customer ids (must exist), one snapshot row each, in this order.
    """
    cust_ids = customers["Id"].to_numpy()
    rows = np.searchsorted(cust_ids, ids)
    picked = customers[rows]
    first_address = (
        addresses_df.sort(["CustomerId", "Id"])
        .unique(subset="CustomerId", keep="first", maintain_order=True)
        .select("CustomerId", "AddressLine1", "ZipCode", "City", "CountryId")
    )
    owners = first_address["CustomerId"].to_numpy()
    pos = np.clip(np.searchsorted(owners, ids), 0, max(owners.size - 1, 0))
    found = owners[pos] == ids if owners.size else np.zeros(ids.size, dtype=bool)
    address = first_address[pos] if owners.size else None
    snapshot: dict[str, pl.Series] = {
        "CustomerId": picked["Id"],
        "CustomerCode": picked["CustomerCode"],
        "FirstName": picked["FirstName"],
        "LastName": picked["LastName"],
        "EmailAddress": picked["EmailAddress"],
        "CellPhoneNumber": picked["CellPhoneNumber"],
    }
    for name in ("AddressLine1", "ZipCode", "City", "CountryId"):
        column = (
            address[name]
            if address is not None
            else pl.Series(name, [None] * ids.size, dtype=SNAPSHOT_SCHEMA[name])
        )
        snapshot[name] = with_nulls(column, ~found)
    return pl.DataFrame(snapshot).cast(SNAPSHOT_SCHEMA)  # type: ignore[arg-type]


def buyer_snapshots(
    customers: pl.DataFrame,
    addresses_df: pl.DataFrame,
    guests: pl.DataFrame,
    customer_id: np.ndarray,
    guest_index: np.ndarray,
) -> pl.DataFrame:
    """One snapshot per order: ``customer_id`` > 0 is a registered buyer, else a guest.

    Args:
        customers: Customer base frame (sorted by Id).
        addresses_df: CustomerAddress base frame.
        guests: The guest pool.
        customer_id: Per order, the buyer's customer id or 0 for a guest.
        guest_index: Per order, the guest's pool row (ignored for registered buyers).
    """
    registered = customer_id > 0
    reg_rows = np.flatnonzero(registered)
    guest_rows = np.flatnonzero(~registered)
    parts = pl.concat(
        [
            registered_snapshots(customers, addresses_df, customer_id[reg_rows]),
            guests[guest_index[guest_rows]].cast(SNAPSHOT_SCHEMA),  # type: ignore[arg-type]
        ]
    )
    # parts is [registered..., guests...]; put each row back at its order position.
    position = np.empty(customer_id.size, dtype=np.int64)
    position[np.concatenate([reg_rows, guest_rows])] = np.arange(customer_id.size)
    return parts[position]


def ship_to_snapshots(
    rng: np.random.Generator,
    buyers: pl.DataFrame,
    market: np.ndarray,
    guests: pl.DataFrame,
    guest_people: People,
    gift_share: float = 0.08,
) -> pl.DataFrame:
    """The buyer, except on gift orders: then a recipient's name and address (same shop)."""
    gift = np.flatnonzero(rng.random(buyers.height) < gift_share)
    if gift.size == 0 or guests.height == 0:
        return buyers
    recipient = np.zeros(gift.size, dtype=np.int64)
    for i in range(len(MARKETS)):
        pool = np.flatnonzero(guest_people.market == i)
        rows = np.flatnonzero(market[gift] == i)
        if pool.size == 0:
            pool = np.arange(guests.height)
        recipient[rows] = pool[rng.integers(0, pool.size, rows.size)]
    replacement = guests[recipient].select(ADDRESS_FIELDS)
    columns = {}
    for name in ADDRESS_FIELDS:
        column = buyers[name].clone()
        column.scatter(gift, replacement[name])
        columns[name] = column
    return buyers.with_columns(**columns)
