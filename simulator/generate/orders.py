"""Orders with their lines, infos and customer snapshots, from an :class:`OrderPlan`.

The plan says *who* buys *when* in *which shop* and in which state the order is; this
module fills in everything else the same way for the two-year history and for orders
created later through the control API, so both look alike to the loader.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.generate.catalog import SkuTable
from simulator.generate.common import (
    INTEGRATION_USER,
    build_frame,
    counter_within,
    money,
    timestamps,
    with_nulls,
)
from simulator.generate.markets import (
    DELIVERY_METHODS,
    DELIVERY_SHARES,
    FREE_ABOVE_CENTS,
    FREIGHT_INCL_CENTS,
    INVOICE_FEE_CENTS,
    MARKETS,
)
from simulator.generate.order_lines import OrderLineInput, build_lines
from simulator.generate.returns import no_returns
from simulator.schema import Schema
from simulator.store import TypeRef

INVOICE_PAYMENT = 2
# OrderInfo types: 1 sales channel, 2 campaign code, 3 newsletter opt-in at checkout.
INFO_VALUES = {
    1: ("web", "web", "web", "app"),
    2: ("WELCOME10", "BLACKWEEK", "SUMMER", "FRIENDS15", "NEWSLETTER"),
    3: ("true", "false"),
}


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """Who orders what when; every array has one entry per order."""

    order_us: np.ndarray
    """``OrderDate`` in epoch microseconds."""
    created_us: np.ndarray
    updated_us: np.ndarray
    updated_null: np.ndarray
    delivery_us: np.ndarray
    delivery_null: np.ndarray
    status: np.ndarray
    market: np.ndarray
    """Index into :data:`MARKETS`."""
    buyer: pl.DataFrame
    """Snapshot rows (see :mod:`simulator.generate.people`); ``CustomerId`` null = guest."""
    ship_to: pl.DataFrame


@dataclass(frozen=True, slots=True)
class FirstIds:
    """Next free ids: orders, order lines, customer snapshots."""

    order: int
    item: int
    customer_info: int


def build_orders(
    schema: Schema, skus: SkuTable, rng: np.random.Generator, plan: OrderPlan, first: FirstIds
) -> dict[TypeRef, pl.DataFrame]:
    """Order, OrderItem, OrderInfo and OrderCustomerInfo frames for the planned orders."""
    n = plan.status.size
    order_id = np.arange(first.order, first.order + n, dtype=np.int64)
    market = plan.market
    currency = np.array([m.currency_id for m in MARKETS])[market]
    payment = np.zeros(n, dtype=np.int64)
    for i, m in enumerate(MARKETS):
        rows = np.flatnonzero(market == i)
        payment[rows] = rng.choice(np.arange(1, 6), rows.size, p=m.payment_shares)
    delivery = rng.choice(len(DELIVERY_METHODS), n, p=DELIVERY_SHARES)
    never_free = np.array([not d[4] for d in DELIVERY_METHODS])[delivery]
    created = timestamps(plan.created_us)
    updated = timestamps(plan.updated_us, plan.updated_null)
    updated_by = with_nulls(pl.Series(np.full(n, INTEGRATION_USER)), plan.updated_null)
    lines = build_lines(
        schema.entity_type("Orders", "OrderItem"),
        skus,
        rng,
        OrderLineInput(
            order_id=order_id,
            market=market,
            currency_id=currency,
            country_id=plan.ship_to["CountryId"].to_numpy(),
            order_us=plan.order_us,
            status=plan.status,
            created=created,
            updated=updated,
            updated_by=updated_by,
            freight_incl_cents=FREIGHT_INCL_CENTS[market, delivery],
            free_above_cents=np.where(never_free, -1, FREE_ABOVE_CENTS[market]),
        ),
        first.item,
    )
    info_id = first.customer_info + 3 * np.arange(n, dtype=np.int64)
    buyer, ship = plan.buyer, plan.ship_to
    attention = ship.select(pl.concat_str("FirstName", "LastName", separator=" ")).to_series()
    orders = build_frame(
        schema.entity_type("Orders", "Order"),
        n,
        {
            "Id": order_id,
            "ApplicationId": np.array([m.application_id for m in MARKETS])[market],
            "OrderNo": pl.Series(order_id).cast(pl.String),
            "OrderDate": timestamps(plan.order_us),
            "BuyerCustomerCode": buyer["CustomerCode"],
            "BuyerCustomerId": buyer["CustomerId"],
            "PayerCustomerCode": buyer["CustomerCode"],
            "PayerCustomerId": buyer["CustomerId"],
            "StatusId": plan.status,
            "Source": "web",
            "DeliveryDate": timestamps(plan.delivery_us, plan.delivery_null),
            "IsPartDelivery": False,
            "CurrencyId": currency,
            "LineDiscount": money(lines.discount_cents),
            "FreightCost": money(lines.freight_cents),
            "OrderFee": money(np.where(payment == INVOICE_PAYMENT, INVOICE_FEE_CENTS[market], 0)),
            "DeliveryAttention": attention,
            "DeliveryAddressLine1": ship["AddressLine1"],
            "DeliveryCity": ship["City"],
            "BuyerCustomerInfoId": info_id,
            "PayerCustomerInfoId": info_id + 1,
            "ShipToCustomerInfoId": info_id + 2,
            "TypeId": 1,
            "DeliveryMethodId": delivery + 1,
            "UpdatedBy": updated_by,
            "Created": created,
            "Updated": updated,
            "PaymentMethodId": payment,
            "DeliveryCountryId": ship["CountryId"],
            "DeliveryZipCode": ship["ZipCode"],
            "IsForgotten": False,
        },
    )
    return {
        ("Orders", "Order"): orders,
        ("Orders", "OrderItem"): no_returns(lines.items),
        ("Orders", "OrderInfo"): _infos(schema, rng, order_id, created),
        ("Orders", "OrderCustomerInfo"): _customer_infos(schema, plan, info_id, created),
    }


def _customer_infos(
    schema: Schema, plan: OrderPlan, info_id: np.ndarray, created: pl.Series
) -> pl.DataFrame:
    """Buyer, payer (a copy of the buyer) and ship-to snapshot rows, by ``Id``."""
    et = schema.entity_type("Orders", "OrderCustomerInfo")
    n = info_id.size
    frames = []
    for offset, snap in ((0, plan.buyer), (1, plan.buyer), (2, plan.ship_to)):
        columns = {
            name: snap[name]
            for name in (
                "FirstName",
                "LastName",
                "CellPhoneNumber",
                "AddressLine1",
                "ZipCode",
                "City",
                "CountryId",
                "EmailAddress",
            )
        }
        if offset == 2:
            columns["ShippingPhoneNumber"] = snap["CellPhoneNumber"]
        frames.append(
            build_frame(
                et, n, {"Id": info_id + offset, "Created": created, "ClientId": 1, **columns}
            )
        )
    # Interleave so rows come out sorted by Id without a sort.
    order = np.arange(3 * n).reshape(3, n).T.ravel()
    return pl.concat(frames)[order]


def _infos(
    schema: Schema, rng: np.random.Generator, order_id: np.ndarray, created: pl.Series
) -> pl.DataFrame:
    """0-2 OrderInfo rows per order, with distinct ``TypeId`` per order."""
    count = rng.choice([0, 1, 2], order_id.size, p=[0.6, 0.3, 0.1])
    owner = np.repeat(np.arange(order_id.size), count)
    position = counter_within(owner)
    first_type = rng.integers(1, 4, order_id.size)[owner]
    type_id = np.where(position == 1, first_type, first_type % 3 + 1)
    value = pl.Series([None] * owner.size, dtype=pl.String)
    for t, choices in INFO_VALUES.items():
        rows = np.flatnonzero(type_id == t)
        value.scatter(rows, pl.Series(choices).gather(rng.integers(0, len(choices), rows.size)))
    return build_frame(
        schema.entity_type("Orders", "OrderInfo"),
        owner.size,
        {
            "OrderId": order_id[owner],
            "TypeId": type_id,
            "Value": value,
            "Updated": created.gather(owner),
            "UpdatedBy": 1,
            "ClientId": 1,
        },
    )
