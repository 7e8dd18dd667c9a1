"""The simulator's control surface: build a tenant, then change it like a live one.

:class:`Simulator` owns the schema, the store and the clock. Tests, the admin routes and
the demo call its methods to create, update, forget and delete data and to drift the
schema between loader runs; every method takes the store lock, keeps the data's
invariants, bumps :attr:`Store.version` and returns the affected ids.

Selection without explicit ids is random but deterministic: the same seed and the same
sequence of calls give the same ids.

A simulator is created for one tenant :class:`~simulator.profiles.Profile`: its data
switches (string ids, no customer forget flag, sets without ``Updated``) shape the schema,
so :meth:`Simulator.truth` and ``store.frame`` give rows exactly as the API serves them
(e.g. ``Id`` ``"1000001"``). The methods that change data take and return the numeric
identities the generator uses (``store.base`` holds them); :meth:`Simulator.served_ids`
turns them into served keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import polars as pl

from simulator.clock import Clock
from simulator.generate import activity, changes
from simulator.generate.common import INTEGRATION_USER
from simulator.generate.world import World, build_world, install
from simulator.profiles import Profile, resolve, shape_schema
from simulator.schema import DEFAULT_DECIMAL, Property, Schema, build_schema
from simulator.store import Store, TypeRef, polars_dtype

DEFAULT_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
"""End of the generated two-year history (fixed so data is reproducible)."""

Change = Callable[[changes.Getter, np.ndarray], tuple[changes.Frames, np.ndarray]]


class Simulator:
    """A simulated Norce tenant: schema, data and clock, plus ways to change them.

    Attributes:
        schema: The live schema (what ``$metadata`` shows).
        store: The data.
        clock: The simulated clock (real UTC now + offset).
        seed: Seed of the generated data.
        scale: Size factor (1.0 = 60k orders, 20k customers, 5k products).
        profile: The tenant profile the schema was shaped with (and the app's default).
    """

    def __init__(self, store: Store, world: World, profile: Profile | None = None) -> None:
        self.store = store
        self.profile = profile or Profile()
        self.schema: Schema = store.schema
        self.clock: Clock = store.clock
        self.seed = world.seed
        self.scale = world.scale
        self.anchor = world.anchor
        self._world = world

    @classmethod
    def create(
        cls,
        seed: int = 42,
        scale: float = 1.0,
        anchor: datetime | None = None,
        profile: Profile | str | None = None,
    ) -> Simulator:
        """Generate a tenant.

        Args:
            seed: Seed for every random choice; same seed, scale and anchor give
                identical frames.
            scale: Multiplies customers, products and orders (lookups are fixed).
            anchor: End of the two-year order history (default 2026-11-01T00:00:00Z). The
                clock starts at real now regardless.
            profile: Tenant profile, or its name/spec (``"docs-2.0"``); default
                ``default``. The same seed gives the same data under every profile, only
                served differently.

        Raises:
            ValueError: If ``scale`` is not positive, ``anchor`` is naive or the profile
                is unknown.
        """
        anchor = anchor or DEFAULT_ANCHOR
        if anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware (UTC)")
        tenant = resolve(profile)
        schema = build_schema()
        shape_schema(schema, tenant)
        frames, world = build_world(seed, scale, anchor.astimezone(UTC))
        store = Store(schema, Clock())
        install(store, frames, world)
        return cls(store, world, tenant)

    # -- time -------------------------------------------------------------------------
    def advance(self, seconds: float) -> datetime:
        """Move the simulated clock forward; returns the new now."""
        return self.clock.advance(seconds)

    # -- data changes -----------------------------------------------------------------
    def create_orders(self, n: int, application_id: int | None = None) -> list[int]:
        """Place ``n`` orders now (status 2, ``Updated`` null) with lines and snapshots.

        Args:
            n: How many.
            application_id: Shop for all of them; default: shops by their share.

        Raises:
            ValueError: If ``application_id`` is not a known application.
        """
        with self.store.lock:
            frames, ids = activity.create_orders(
                self._world, self.store.base, n, application_id, self.clock.now()
            )
            self._commit(frames)
        return [int(i) for i in ids]

    def update_orders(self, n: int = 0, ids: list[int] | None = None) -> list[int]:
        """Move orders on (2 -> 4, 4 -> 5 with a returned unit) and set ``Updated`` = now.

        Args:
            n: How many orders when ``ids`` is not given: in-flight ones first, then
                random others.
            ids: Exactly these orders (unknown ids are skipped).
        """
        with self.store.lock:
            now = self.clock.now()
            targets = self._pick_orders(n, ids)
            frames, found = changes.update_orders(self.store.base, targets, now)
            self._commit(frames)
        return [int(i) for i in found]

    def update_customers(self, n: int = 0, ids: list[int] | None = None) -> list[int]:
        """Edit customers (phone, sometimes last name) and set ``Updated`` = now."""
        with self.store.lock:
            targets = self._pick(changes.CUSTOMER, n, ids)
            frames, found = activity.update_customers(
                self._world, self.store.base, targets, self.clock.now()
            )
            self._commit(frames)
        return [int(i) for i in found]

    def forget_orders(self, n: int = 0, ids: list[int] | None = None) -> list[int]:
        """GDPR-erase orders: flag ``IsForgotten``, null personal fields, keep ``Updated``."""
        return self._apply(changes.forget_orders, changes.ORDER, n, ids)

    def forget_customers(self, n: int = 0, ids: list[int] | None = None) -> list[int]:
        """GDPR-erase customers, their addresses and all their orders (``Updated`` kept)."""
        return self._apply(changes.forget_customers, changes.CUSTOMER, n, ids)

    def delete_orders(self, n: int = 0, ids: list[int] | None = None) -> list[int]:
        """Hard-delete orders with their lines, infos and snapshots (no trace left)."""
        return self._apply(changes.delete_orders, changes.ORDER, n, ids, only_live=False)

    def rename(self, namespace: str, set_name: str, key: object, name: str) -> int:
        """Rename one row of a set with a single-column key (a product, an application,
        a payment method, ...): its ``DefaultName`` (or ``Name``); stamps ``Updated``.

        Returns:
            The number of rows renamed (0 for an unknown key).

        Raises:
            KeyError: If the set is unknown.
            ValueError: If its key has several columns or it has no name column.
        """
        entity_type = self.schema.set_type(namespace, set_name)
        if len(entity_type.key) != 1:
            raise ValueError(f"{namespace}/{set_name} has a composite key")
        ref = (namespace, entity_type.name)
        with self.store.lock:
            frames, found = changes.rename(
                self.store.base, ref, entity_type.key[0], key, name, self.clock.now()
            )
            self._commit(frames)
        return int(found.size)

    def set_cost(self, part_no: str, price_list_id: int, cost: Decimal) -> int:
        """Change a SKU's unit cost on a price list (in its currency); stamps ``Updated``.

        Returns:
            The number of price rows changed (0 for an unknown SKU or price list).
        """
        with self.store.lock:
            frames, rows = changes.set_cost(
                self.store.base, part_no, price_list_id, Decimal(cost), self.clock.now()
            )
            self._commit(frames)
        return int(rows.size)

    def set_exchange_rate(self, code: str, rate: Decimal) -> None:
        """Change the rate card (``Core/Currencies`` and ``Application/ClientCurrencies``)
        from now on: invoices issued from now carry the new rate, earlier ones keep theirs.
        The rate (value of one unit in EUR) is rounded to 4 decimals.

        Raises:
            KeyError: If no currency has that code.
            ValueError: If the rate is not positive.
        """
        # Invoices carry the rate with 4 decimals: the card uses the same precision.
        rate = Decimal(rate).quantize(Decimal("0.0001"))
        if rate <= 0:
            raise ValueError(f"an exchange rate must be positive, got {rate}")
        with self.store.lock:
            now = self.clock.now()
            currencies = self.store.base("Core", "Currency")
            rows = np.flatnonzero((currencies["Code"] == code.upper()).to_numpy())
            if rows.size == 0:
                raise KeyError(f"no currency with code {code!r}")
            currency_id = int(currencies["Id"][int(rows[0])])
            stamp = {"ExchangeRate": rate, "Updated": now, "UpdatedBy": INTEGRATION_USER}
            client = self.store.base("Application", "CurrencyClient")
            client_rows = np.flatnonzero((client["CurrencyId"] == currency_id).to_numpy())
            self._world.rates.change(currency_id, now, rate)
            self._commit(
                {
                    ("Core", "Currency"): changes.patch(currencies, rows, stamp),
                    ("Application", "CurrencyClient"): changes.patch(client, client_rows, stamp),
                }
            )

    def delete_customers(self, n: int = 0, ids: list[int] | None = None) -> list[int]:
        """Erase customers by deleting them: the customer rows, their addresses and company
        links disappear; their orders are forgotten (flagged and anonymised) as by
        :meth:`forget_customers`. Only a key sweep sees such an erasure."""
        return self._apply(_delete_customers, changes.CUSTOMER, n, ids, only_live=False)

    # -- schema drift -----------------------------------------------------------------
    def add_property(
        self,
        namespace: str,
        type_name: str,
        name: str,
        edm_type: str = "Edm.String",
        default: object = None,
    ) -> None:
        """Declare a new (nullable) property; every row shows ``default`` for it.

        Raises:
            KeyError: If the type is unknown.
            ValueError: If the type already has the property, or ``default`` does not fit
                ``edm_type``.
        """
        prop = _with_facets(name, edm_type)
        if default is not None:
            try:
                pl.select(pl.lit(default, dtype=polars_dtype(prop)))
            except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
                raise ValueError(f"default {default!r} does not fit {edm_type}") from exc
        with self.store.lock:
            self.schema.add_property(namespace, type_name, prop)
            if default is not None:
                self.store.set_default(namespace, type_name, name, default)

    def remove_property(self, namespace: str, type_name: str, name: str) -> None:
        """Stop declaring and serving a property (its data is kept out of sight).

        Raises:
            KeyError: If the type or property is unknown.
            ValueError: If the property is part of the key.
        """
        with self.store.lock:
            self.schema.entity_type(namespace, type_name).prop(name)
            self.schema.remove_property(namespace, type_name, name)

    def change_type(self, namespace: str, type_name: str, name: str, edm_type: str) -> None:
        """Change a property's ``Edm`` type; values are converted (null where impossible).

        Raises:
            KeyError: If the type or property is unknown.
        """
        with self.store.lock:
            entity_type = self.schema.entity_type(namespace, type_name)
            if entity_type.prop(name).edm_type == edm_type:
                return
            self.schema.change_type(namespace, type_name, name, edm_type)
            # Facets belong to the type: decimals need precision/scale, others none.
            fixed = _with_facets(name, edm_type, entity_type.prop(name).nullable)
            entity_type.properties = [
                fixed if p.name == name else p for p in entity_type.properties
            ]

    # -- reading ----------------------------------------------------------------------
    def truth(self, namespace: str, set_name: str) -> pl.DataFrame:
        """Every current row of an entity set (the frame of its entity type).

        Raises:
            KeyError: If the namespace or set is unknown.
        """
        return self.store.frame(namespace, self.schema.entity_set(namespace, set_name).entity_type)

    def exchange_rates(self) -> pl.DataFrame:
        """The rate card's history: ``CurrencyId``, ``ValidFrom``, ``ExchangeRate`` (value of
        one unit in EUR), one row per rate and the moment it took effect."""
        with self.store.lock:
            return self._world.rates.frame

    def served_ids(self, namespace: str, type_name: str, ids: list[int]) -> list[int | str]:
        """``ids`` (as the control methods return them) as the API serves the type's key.

        Under ``string_ids`` an order id ``1000001`` is served as ``"1000001"``.

        Raises:
            KeyError: If the type is unknown.
        """
        et = self.schema.entity_type(namespace, type_name)
        if et.prop(et.key[0]).edm_type == "Edm.String":
            return [str(i) for i in ids]
        return list(ids)

    def stats(self) -> dict[str, int]:
        """Rows per non-empty type, keyed ``"Namespace.Type"`` (derived types included)."""
        return self.store.row_counts()

    # -- internals --------------------------------------------------------------------
    def _commit(self, frames: changes.Frames) -> None:
        for (namespace, type_name), df in frames.items():
            self.store.set_frame(namespace, type_name, df)

    def _apply(
        self, change: Change, ref: TypeRef, n: int, ids: list[int] | None, only_live: bool = True
    ) -> list[int]:
        with self.store.lock:
            targets = self._pick(ref, n, ids, only_live=only_live)
            frames, found = change(self.store.base, targets)
            self._commit(frames)
        return [int(i) for i in found]

    def _pick(
        self, ref: TypeRef, n: int, ids: list[int] | None, only_live: bool = True
    ) -> np.ndarray:
        """``ids`` if given, else ``n`` random ids of rows not yet forgotten."""
        if ids is not None:
            return np.asarray(ids, dtype=np.int64)
        df = self.store.base(*ref)
        if only_live:
            df = df.filter(~pl.col("IsForgotten"))
        pool = df["Id"].to_numpy()
        if n <= 0 or pool.size == 0:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self._world.rng.choice(pool, min(n, pool.size), replace=False))

    def _pick_orders(self, n: int, ids: list[int] | None) -> np.ndarray:
        """Like :meth:`_pick`, but in-flight orders first: a shop moves those on first."""
        if ids is not None or n <= 0:
            return self._pick(changes.ORDER, n, ids)
        live = self.store.base(*changes.ORDER).filter(~pl.col("IsForgotten"))
        in_flight = live.filter(pl.col("StatusId") == 2)["Id"].to_numpy()
        rest = live.filter(pl.col("StatusId") != 2)["Id"].to_numpy()
        rng = self._world.rng
        first = rng.choice(in_flight, min(n, in_flight.size), replace=False)
        more = rng.choice(rest, min(n - first.size, rest.size), replace=False)
        return np.sort(np.concatenate([first, more]).astype(np.int64))


_CUSTOMER_COMPANY = ("Customers", "CustomerCompany")


def _delete_customers(get: changes.Getter, ids: np.ndarray) -> tuple[changes.Frames, np.ndarray]:
    customers = get(*changes.CUSTOMER)
    _, found = changes.locate(customers, "Id", ids)
    gone = pl.Series(found, dtype=pl.Int64)
    frames, _ = changes.forget_customers(get, found)  # their orders, flagged and anonymised
    frames[changes.CUSTOMER] = customers.filter(~pl.col("Id").is_in(gone))
    frames[changes.ADDRESS] = get(*changes.ADDRESS).filter(~pl.col("CustomerId").is_in(gone))
    links = get(*_CUSTOMER_COMPANY)
    if "CustomerId" in links.columns:
        frames[_CUSTOMER_COMPANY] = links.filter(~pl.col("CustomerId").is_in(gone))
    return frames, found


def _with_facets(name: str, edm_type: str, nullable: bool = True) -> Property:
    """A property with the facets its type needs (decimals get the default precision)."""
    prop = Property(name, edm_type, nullable)
    if edm_type == "Edm.Decimal":
        prop = replace(prop, precision=DEFAULT_DECIMAL[0], scale=DEFAULT_DECIMAL[1])
    return prop
