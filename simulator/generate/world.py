"""Build the whole data set: lookups, catalogue, customers, two years of orders.

:func:`build_world` is deterministic in (seed, scale, anchor). It returns the frames and a
:class:`World` -- what later changes through the control API need to create orders that
look like the history (SKU prices, guests, customers' home shops) -- and
:func:`install` puts both into a :class:`~simulator.store.Store`, registering the derived
types (invoices, delivery notes, Reporting).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import numpy as np
import polars as pl

from simulator.generate import documents, reporting
from simulator.generate.calendar import order_times
from simulator.generate.catalog import SkuTable, build_catalog
from simulator.generate.changes import ITEM, ORDER, forget_customers, forget_orders
from simulator.generate.common import US_PER_DAY, US_PER_SECOND, rng_for, to_us, weighted_choice
from simulator.generate.customers import People, backdate_customers, build_customers
from simulator.generate.lookups import build_lookups
from simulator.generate.markets import MARKETS
from simulator.generate.orders import FirstIds, OrderPlan, build_orders
from simulator.generate.people import buyer_snapshots, guest_pool, ship_to_snapshots
from simulator.generate.rates import RateSchedule, build_schedule
from simulator.generate.returns import history_returns
from simulator.schema import Schema, build_schema
from simulator.store import Store, TypeRef

HISTORY_DAYS = 730
IN_FLIGHT = timedelta(days=2)
"""Orders younger than this at the anchor are still in status 2."""
REGISTERED_SHARE = 0.6
FIRST_ORDER_ID = 1_000_001
FORGOTTEN_ORDER_SHARE = 0.0005
FORGOTTEN_CUSTOMER_SHARE = 0.001


@dataclass(slots=True)
class World:
    """Generation context kept for later changes.

    Attributes:
        pristine: The schema as generated, untouched by drift: new rows are built with it
            so the store's schema view can add, hide or convert columns consistently.
        skus: Prices and popularity of SKUs.
        customers: Home shop and propensity of customer ``Id`` i + 1 at row i.
        guests: Guest snapshot pool; ``guest_people`` says where each guest lives.
        rng: Randomness for control-API changes (deterministic per call sequence).
        rates: The exchange-rate card over time (invoices carry the rate of their date).
        issued: Highest id ever used per (type, id column): ids of deleted rows are never
            handed out again, as with a database identity column.
    """

    pristine: Schema
    seed: int
    scale: float
    anchor: datetime
    skus: SkuTable
    customers: People
    guests: pl.DataFrame
    guest_people: People
    rng: np.random.Generator
    rates: RateSchedule
    issued: dict[tuple[str, str], int] = field(default_factory=dict)


def build_world(
    seed: int, scale: float, anchor: datetime
) -> tuple[dict[TypeRef, pl.DataFrame], World]:
    """Generate every frame (unsorted) and the :class:`World` for later changes."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    schema = build_schema()
    frames: dict[TypeRef, pl.DataFrame] = {}
    rates = build_schedule(rng_for(seed, "rates"), anchor, HISTORY_DAYS)
    frames.update(build_lookups(schema, anchor, rng_for(seed, "lookups"), rates))
    catalog_frames, skus = build_catalog(schema, anchor, scale, rng_for(seed, "catalog"))
    frames.update(catalog_frames)
    customer_frames, customers = build_customers(schema, anchor, scale, rng_for(seed, "customers"))
    frames.update(customer_frames)

    rng = rng_for(seed, "orders")
    n_orders = max(1, round(60_000 * scale))
    n_guests = max(1, round(n_orders * (1 - REGISTERED_SHARE) * 0.85))
    guests, guest_people = guest_pool(rng, n_guests, first_number=customers.market.size + 1)
    world = World(
        schema,
        seed,
        scale,
        anchor,
        skus,
        customers,
        guests,
        guest_people,
        rng_for(seed, "changes"),
        rates,
    )
    plan = history_plan(world, frames, rng, n_orders)
    frames.update(build_orders(schema, skus, rng, plan, FirstIds(FIRST_ORDER_ID, 1, 1)))
    frames[ITEM] = history_returns(
        frames[ORDER], frames[ITEM], rng_for(seed, "returns"), to_us(anchor)
    )

    buyer_id = plan.buyer["CustomerId"].fill_null(0).to_numpy()
    registered = buyer_id > 0
    first_order = np.full(customers.market.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_order, buyer_id[registered] - 1, plan.created_us[registered])
    first_order[first_order == np.iinfo(np.int64).max] = -1
    customers_df, addresses_df = backdate_customers(
        frames[("Customers", "Customer")],
        frames[("Customers", "CustomerAddress")],
        first_order,
        rng,
    )
    frames[("Customers", "Customer")] = customers_df
    frames[("Customers", "CustomerAddress")] = addresses_df

    # GDPR erasures in the history: a few customers (with all their orders) and a few
    # single orders.
    gdpr = rng_for(seed, "gdpr")
    n_customers = customers.market.size
    erased = gdpr.choice(n_customers, round(n_customers * FORGOTTEN_CUSTOMER_SHARE), replace=False)
    frames.update(forget_customers(_getter(frames), np.sort(erased) + 1)[0])
    order_ids = frames[("Orders", "Order")]["Id"].to_numpy()
    n_erased = round(order_ids.size * FORGOTTEN_ORDER_SHARE)
    erased_orders = gdpr.choice(order_ids, n_erased, replace=False)
    frames.update(forget_orders(_getter(frames), np.sort(erased_orders))[0])
    for ref in (("Orders", "Order"), ("Orders", "OrderItem"), ("Orders", "OrderCustomerInfo")):
        world.issued[(ref[1], "Id")] = int(frames[ref]["Id"].max())  # type: ignore[arg-type]
    return frames, world


def _getter(frames: Mapping[TypeRef, pl.DataFrame]) -> Callable[[str, str], pl.DataFrame]:
    return lambda namespace, type_name: frames[(namespace, type_name)]


def assign_buyers(
    world: World,
    rng: np.random.Generator,
    market: np.ndarray,
    registered: np.ndarray,
    eligible: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick each order's buyer in its shop, weighted by purchase propensity.

    Args:
        world: Generation context (customers' and guests' shops and propensities).
        rng: Source of randomness.
        market: Shop index per order.
        registered: True where the buyer should be a registered customer.
        eligible: Customer ids that may buy (e.g. active, not forgotten).

    Returns:
        ``(customer_id, guest_index)`` per order: customer id, or 0 and the guest's pool
        row. A shop without eligible customers gets guests only.
    """
    n = market.size
    customer_id = np.zeros(n, dtype=np.int64)
    guest_index = np.zeros(n, dtype=np.int64)
    home = world.customers.market[eligible - 1]
    for i in range(len(MARKETS)):
        pool = eligible[home == i]
        rows = np.flatnonzero((market == i) & registered) if pool.size else np.zeros(0, int)
        weights = world.customers.propensity[pool - 1]
        customer_id[rows] = pool[weighted_choice(rng, weights, rows.size)] if rows.size else 0
        guests = np.flatnonzero(world.guest_people.market == i)
        rows = np.flatnonzero((market == i) & (customer_id == 0))
        weights = world.guest_people.propensity[guests]
        guest_index[rows] = guests[weighted_choice(rng, weights, rows.size)] if rows.size else 0
    return customer_id, guest_index


def history_plan(
    world: World, frames: Mapping[TypeRef, pl.DataFrame], rng: np.random.Generator, n: int
) -> OrderPlan:
    """Who buys when over the two years before the anchor, and each order's state."""
    end = world.anchor
    order_us = order_times(rng, n, end - timedelta(days=HISTORY_DAYS), end)
    anchor_us = to_us(end)
    market = rng.choice(len(MARKETS), n, p=[m.share for m in MARKETS])
    registered = rng.random(n) < REGISTERED_SHARE
    all_customers = np.arange(1, world.customers.market.size + 1)
    customer_id, guest_index = assign_buyers(world, rng, market, registered, all_customers)
    buyers = buyer_snapshots(
        frames[("Customers", "Customer")],
        frames[("Customers", "CustomerAddress")],
        world.guests,
        customer_id,
        guest_index,
    )
    ship_to = ship_to_snapshots(rng, buyers, market, world.guests, world.guest_people)

    draw = rng.random(n)
    status = np.where(draw < 0.03, 6, np.where(draw < 0.09, 5, 4))
    status = np.where(order_us >= anchor_us - IN_FLIGHT.total_seconds() * US_PER_SECOND, 2, status)
    created = order_us + rng.integers(0, 5 * US_PER_SECOND, n) // 1000 * 1000
    updated = created + rng.integers(0, 2 * US_PER_DAY, n) // 1000 * 1000
    updated_null = (status == 2) | (rng.random(n) < 0.2) | (updated >= anchor_us)
    delivery = created + rng.integers(18 * 3600, 72 * 3600, n) * US_PER_SECOND
    delivery = np.minimum(delivery, anchor_us - 60 * US_PER_SECOND)
    return OrderPlan(
        order_us=order_us,
        created_us=created,
        updated_us=updated,
        updated_null=updated_null,
        delivery_us=delivery,
        delivery_null=~np.isin(status, (4, 5)),
        status=status,
        market=market,
        buyer=buyers,
        ship_to=ship_to,
    )


Derived = tuple[TypeRef, Callable[[Store], pl.DataFrame], tuple[TypeRef, ...]]


def derived_types(rates: RateSchedule) -> tuple[Derived, ...]:
    """The types computed from others: documents from orders, Reporting aggregates."""
    return (
        (
            ("Orders", "Invoice"),
            partial(documents.invoices, rates=rates),
            (
                ("Orders", "Order"),
                ("Orders", "OrderItem"),
                ("Orders", "OrderCustomerInfo"),
                ("Core", "Currency"),
            ),
        ),
        (
            ("Orders", "InvoiceItem"),
            documents.invoice_items,
            (("Orders", "Order"), ("Orders", "OrderItem")),
        ),
        (
            ("Orders", "DeliveryNote"),
            documents.delivery_notes,
            (("Orders", "Order"), ("Orders", "OrderItem"), ("Orders", "OrderCustomerInfo")),
        ),
        (
            ("Orders", "DeliveryNoteItem"),
            documents.delivery_note_items,
            (("Orders", "Order"), ("Orders", "OrderItem")),
        ),
        (
            ("Reporting", "OrderSummaryByMonth"),
            reporting.order_summary_by_month,
            (("Orders", "Order"), ("Orders", "OrderItem")),
        ),
        (
            ("Core", "KpiOrder"),
            reporting.kpi_orders,
            (("Orders", "Order"), ("Orders", "OrderItem"), ("Core", "Currency")),
        ),
    )


def install(store: Store, frames: Mapping[TypeRef, pl.DataFrame], world: World) -> None:
    """Put generated frames into ``store`` and register the derived types.

    Invoices read the world's rate card: a rate change (control API) updates it together
    with ``Core/Currencies``, which invalidates the cached invoices.
    """
    with store.lock:
        for (namespace, type_name), df in frames.items():
            store.set_frame(namespace, type_name, df)
        for (namespace, type_name), build, depends_on in derived_types(world.rates):
            store.register_derived(namespace, type_name, build, depends_on)
