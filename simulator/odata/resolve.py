"""Check query options against an entity type and resolve them to concrete names."""

from __future__ import annotations

from typing import Any

import polars as pl

from simulator.odata.errors import bad_request
from simulator.odata.filter import unknown_property
from simulator.odata.literals import literal_for
from simulator.odata.parse import ExpandItem, OrderKey, QueryOptions
from simulator.schema import EntityType


def effective_orderby(et: EntityType, orderby: tuple[OrderKey, ...]) -> tuple[OrderKey, ...]:
    """``orderby``, or ``()`` when it is the default (the key ascending, or a prefix of it).

    Frames are sorted by key, and the sort is stable, so ties keep key order -- the
    stable ordering ASP.NET OData adds by appending the key.
    """
    if all(not k.descending for k in orderby) and tuple(k.name for k in orderby) == tuple(
        et.key[: len(orderby)]
    ):
        return ()
    return orderby


def validate(et: EntityType, options: QueryOptions) -> None:
    """400 for any property or navigation ``options`` names that ``et`` lacks."""
    resolve_select(et, options.select)
    for key in options.orderby:
        if not et.has_property(key.name):
            raise unknown_property(key.name, et)
    resolve_expand(et, options.expand)


def resolve_select(et: EntityType, select: tuple[str, ...] | None) -> tuple[str, ...]:
    """The properties to render, in schema order (all for None); 400 for unknown names."""
    if select is None:
        return tuple(et.property_names)
    nav_names = {n.name for n in et.navigations}
    for name in select:
        if name in nav_names:
            raise bad_request(f"Use $expand, not $select, for the navigation property '{name}'.")
        if not et.has_property(name):
            raise unknown_property(name, et)
    wanted = set(select)
    return tuple(name for name in et.property_names if name in wanted)


def resolve_expand(et: EntityType, items: tuple[ExpandItem, ...]) -> list[ExpandItem]:
    """``$expand`` items with ``*`` spelled out; 400 for non-navigations."""
    resolved: dict[str, ExpandItem] = {}
    for item in items:
        if item.navigation == "*":
            for nav in et.navigations:
                resolved.setdefault(nav.name, ExpandItem(nav.name, QueryOptions()))
            continue
        if not any(n.name == item.navigation for n in et.navigations):
            if et.has_property(item.navigation):
                raise bad_request(
                    f"The property '{item.navigation}' on type '{et.namespace}.{et.name}' is "
                    "not a navigation property and cannot be expanded."
                )
            raise unknown_property(item.navigation, et)
        resolved[item.navigation] = item
    return list(resolved.values())


def key_predicate(et: EntityType, key: tuple[tuple[str | None, Any], ...]) -> pl.Expr:
    """A predicate matching the entity ``key`` names; 400 if it does not fit ``et.key``."""
    if len(key) == 1 and key[0][0] is None:
        if len(et.key) != 1:
            raise bad_request(
                f"The key of '{et.namespace}.{et.name}' has {len(et.key)} parts: "
                f"name them, e.g. ({','.join(k + '=...' for k in et.key)})."
            )
        named = {et.key[0]: key[0][1]}
    else:
        if any(name is None for name, _ in key):
            raise bad_request("Name every part of a composite key.")
        named = {str(name): node for name, node in key}
    if set(named) != set(et.key):
        raise bad_request(
            f"The key of '{et.namespace}.{et.name}' is ({', '.join(et.key)}), "
            f"not ({', '.join(named)})."
        )
    predicate = pl.lit(True)
    for name, node in named.items():
        prop = et.prop(name)
        value = literal_for(node, prop.edm_type)
        column = pl.col(name)
        if prop.edm_type == "Edm.Guid":
            column = column.str.to_lowercase()
        if value is None:
            raise bad_request("A key part cannot be null.")
        if prop.edm_type == "Edm.DateTimeOffset":
            predicate = predicate & (column == pl.lit(value, dtype=pl.Datetime("us", "UTC")))
        else:
            predicate = predicate & (column == value)
    return predicate
