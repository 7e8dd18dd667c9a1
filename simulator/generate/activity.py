"""New activity on a live tenant: orders placed now, customers editing their profile.

Unlike :mod:`simulator.generate.changes` these need the generation context
(:class:`~simulator.generate.world.World`): new orders are built exactly like the history
(same SKU prices, guests, shops) and edited customers get names of their own language.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from simulator.generate.changes import (
    CUSTOMER,
    ITEM,
    ORDER,
    SNAPSHOT,
    Frames,
    Getter,
    locate,
    patch,
)
from simulator.generate.common import INTEGRATION_USER, to_us
from simulator.generate.customers import country_codes
from simulator.generate.markets import MARKETS
from simulator.generate.names import person_names, phones
from simulator.generate.orders import FirstIds, OrderPlan, build_orders
from simulator.generate.people import buyer_snapshots, ship_to_snapshots
from simulator.generate.world import FIRST_ORDER_ID, REGISTERED_SHARE, World, assign_buyers

IN_FLIGHT = 2


def _next_id(world: World, type_name: str, df: pl.DataFrame, default: int) -> int:
    """One above the highest ``Id`` in ``df`` or ever issued (deleted ids stay retired)."""
    top = df.get_column("Id").max()
    current = default - 1 if top is None else int(top)  # type: ignore[arg-type]
    return max(current, world.issued.get((type_name, "Id"), default - 1)) + 1


def market_index(application_id: int) -> int:
    """Position in :data:`MARKETS` of an application id.

    Raises:
        ValueError: If no shop has that id.
    """
    for i, market in enumerate(MARKETS):
        if market.application_id == application_id:
            return i
    known = ", ".join(str(m.application_id) for m in MARKETS)
    raise ValueError(f"unknown application id {application_id}; known: {known}")


def create_orders(
    world: World, get: Getter, n: int, application_id: int | None, now: datetime
) -> tuple[Frames, np.ndarray]:
    """``n`` new in-flight orders placed now (status 2, ``Created`` = now, ``Updated`` null).

    Buyers are registered (active, not forgotten) customers of the shop in 60% of cases,
    else guests from the pool; ids continue above the highest id ever issued.
    """
    if n <= 0:
        return {}, np.zeros(0, dtype=np.int64)
    rng = world.rng
    if application_id is None:
        market = rng.choice(len(MARKETS), n, p=[m.share for m in MARKETS])
    else:
        market = np.full(n, market_index(application_id))
    customers = get(*CUSTOMER)
    eligible = customers.filter(pl.col("IsActive") & ~pl.col("IsForgotten"))["Id"].to_numpy()
    registered = rng.random(n) < REGISTERED_SHARE
    customer_id, guest_index = assign_buyers(world, rng, market, registered, eligible)
    buyers = buyer_snapshots(
        customers, get("Customers", "CustomerAddress"), world.guests, customer_id, guest_index
    )
    now_us = to_us(now)
    plan = OrderPlan(
        order_us=np.full(n, now_us - now_us % 1_000_000),
        created_us=np.full(n, now_us),
        updated_us=np.zeros(n, dtype=np.int64),
        updated_null=np.ones(n, dtype=bool),
        delivery_us=np.zeros(n, dtype=np.int64),
        delivery_null=np.ones(n, dtype=bool),
        status=np.full(n, IN_FLIGHT),
        market=market,
        buyer=buyers,
        ship_to=ship_to_snapshots(rng, buyers, market, world.guests, world.guest_people),
    )
    first = FirstIds(
        order=_next_id(world, "Order", get(*ORDER), FIRST_ORDER_ID),
        item=_next_id(world, "OrderItem", get(*ITEM), 1),
        customer_info=_next_id(world, "OrderCustomerInfo", get(*SNAPSHOT), 1),
    )
    new = build_orders(world.pristine, world.skus, rng, plan, first)
    # Remember the ids handed out, so deleting the newest rows cannot recycle them.
    for (_, type_name), df in new.items():
        if "Id" in df.columns and df.height:
            world.issued[(type_name, "Id")] = int(df["Id"].max())  # type: ignore[arg-type]
    frames = {ref: pl.concat([get(*ref), df], how="diagonal_relaxed") for ref, df in new.items()}
    return frames, new[ORDER]["Id"].to_numpy()


def update_customers(
    world: World, get: Getter, ids: np.ndarray, now: datetime
) -> tuple[Frames, np.ndarray]:
    """Customers change their mobile number (and ~30% their last name); stamps ``Updated``.

    Forgotten customers are skipped: an erased profile cannot be edited.
    """
    customers = get(*CUSTOMER)
    rows, found = locate(customers, "Id", ids)
    keep = ~customers["IsForgotten"].gather(rows).to_numpy()
    rows, found = rows[keep], found[keep]
    rng = world.rng
    market = world.customers.market[found - 1]
    codes = country_codes(np.array([MARKETS[m].country_ids[0] for m in market], dtype=np.int64))
    language = np.array([MARKETS[m].language for m in market], dtype=np.int64)
    _, new_last, _, _ = person_names(rng, language)
    renamed = rng.random(found.size) < 0.3
    last = customers["LastName"].gather(rows).zip_with(pl.Series(~renamed), new_last)
    frames: Frames = {}
    frames[CUSTOMER] = patch(
        customers,
        rows,
        {
            "CellPhoneNumber": phones(rng, codes),
            "LastName": last,
            "Updated": now,
            "UpdatedBy": INTEGRATION_USER,
        },
    )
    return frames, found
