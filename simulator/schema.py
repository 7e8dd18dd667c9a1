"""The simulator's schema: entity types and sets of the Norce Query API 2.0.

Built from ``reference/entities.json`` (a vendored copy of the team's API reference in
``../shared/norce-query-2.0``) plus :data:`OVERLAY`, the few things the reference leaves
open that a working simulator must decide: foreign keys behind navigations, field lists of
the Reporting sets, decimal facets, and the customer erasure flag. Everything the simulator
serves -- ``$metadata``, the data generator, the query engine -- reads this one model, so the
EDMX and the JSON always agree.

The schema can change at run time (``add_property``/``remove_property``/``change_type``) to
simulate a tenant upgrade (schema drift); :attr:`Schema.version` counts such changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Literal

EdmType = Literal[
    "Edm.Int32",
    "Edm.Int64",
    "Edm.Decimal",
    "Edm.DateTimeOffset",
    "Edm.Guid",
    "Edm.Boolean",
    "Edm.String",
    "Edm.Double",
    "Edm.Date",
]

AppFilter = Literal["required", "optional", "forbidden", "none"]
"""How a set relates to ``ApplicationId``:

* ``required``  -- per-application set; clients filter ``ApplicationId eq N`` (Orders).
* ``optional``  -- has a (nullable or key) ``ApplicationId`` column; filtering works.
* ``forbidden`` -- client-wide lookup without the column; filtering by it answers 400.
* ``none``      -- no ``ApplicationId`` column (filtering by it is an unknown-property 400).
"""

DEFAULT_DECIMAL = (18, 4)


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    edm_type: str
    nullable: bool
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True, slots=True)
class Navigation:
    """A navigation property and the keys that join it.

    ``local_keys[i]`` on the owning type equals ``remote_keys[i]`` on the target type. A
    navigation without a known join is not served (and not declared in ``$metadata``).
    """

    name: str
    target: str
    collection: bool
    local_keys: tuple[str, ...]
    remote_keys: tuple[str, ...]


@dataclass(slots=True)
class EntityType:
    namespace: str
    name: str
    key: tuple[str, ...]
    properties: list[Property]
    navigations: list[Navigation] = field(default_factory=list)

    def prop(self, name: str) -> Property:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(f"{self.namespace}.{self.name} has no property {name!r}")

    def has_property(self, name: str) -> bool:
        return any(p.name == name for p in self.properties)

    def navigation(self, name: str) -> Navigation:
        for n in self.navigations:
            if n.name == name:
                return n
        raise KeyError(f"{self.namespace}.{self.name} has no navigation {name!r}")

    @property
    def property_names(self) -> list[str]:
        return [p.name for p in self.properties]


@dataclass(slots=True)
class EntitySet:
    namespace: str
    name: str
    entity_type: str
    standalone: bool = True
    """False: the type is reachable only via ``$expand``; the set path answers 404."""
    app_filter: AppFilter = "none"
    header_required: bool = False
    """True: answers 500 without an ``applicationId`` header (observed on Products, Core)."""


@dataclass(slots=True)
class Namespace:
    name: str
    types: dict[str, EntityType]
    sets: dict[str, EntitySet]


# --------------------------------------------------------------------------------------
# Overlay: decisions the reference leaves open. Each entry says why.
# --------------------------------------------------------------------------------------

_NAV_JOINS: dict[tuple[str, str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (namespace, owning type, navigation) -> (local keys, remote keys)
    ("Orders", "Order", "Items"): (("Id",), ("OrderId",)),
    ("Orders", "Order", "Infos"): (("Id",), ("OrderId",)),
    ("Orders", "Order", "Buyer"): (("BuyerCustomerInfoId",), ("Id",)),
    ("Orders", "Order", "Payer"): (("PayerCustomerInfoId",), ("Id",)),
    ("Orders", "Order", "ShipTo"): (("ShipToCustomerInfoId",), ("Id",)),
    ("Orders", "OrderItem", "Infos"): (("Id",), ("OrderItemId",)),
    ("Orders", "Invoice", "Items"): (("Id",), ("InvoiceId",)),
    ("Orders", "DeliveryNote", "Items"): (("Id",), ("DeliveryNoteId",)),
    ("Orders", "WarehouseTransaction", "Items"): (("Id",), ("WarehouseTransactionId",)),
    ("Products", "Product", "Skus"): (("Id",), ("ProductId",)),
    ("Products", "Product", "Categories"): (("Id",), ("ProductId",)),
    ("Products", "ProductSku", "PriceLists"): (("PartNo",), ("PartNo",)),
    ("Customers", "Customer", "Addresses"): (("Id",), ("CustomerId",)),
    ("Customers", "Company", "Customers"): (("Id",), ("CompanyId",)),
    ("Customers", "CustomerCompany", "Customer"): (("CustomerId",), ("Id",)),
    ("Customers", "CustomerCompany", "Company"): (("CompanyId",), ("Id",)),
    ("Core", "Currency", "Cultures"): (("Id",), ("CurrencyId",)),
    ("Application", "CategoryStructure", "Items"): (("Id",), ("CategoryStructureId",)),
    ("Application", "CategoryStructureItem", "Category"): (("CategoryId",), ("Id",)),
}

# Navigations the reference does not list but a working tenant needs: customer addresses
# are documented as a type of the Customers model without a visible navigation.
_EXTRA_NAVS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("Customers", "Customer"): [
        {"name": "Addresses", "target": "CustomerAddress", "collection": True},
    ],
}

# Properties the reference lacks. Customers carry the same GDPR flag as orders: Norce
# anonymises an erased customer and flags it; the loader purges flagged rows.
_EXTRA_PROPS: dict[tuple[str, str], list[Property]] = {
    ("Customers", "Customer"): [Property("IsForgotten", "Edm.Boolean", False)],
}

_DECIMAL_FACETS: dict[tuple[str, str], tuple[int, int]] = {
    ("Currency", "ExchangeRate"): (18, 6),
    ("CurrencyClient", "ExchangeRate"): (18, 6),
}

# Sets whose entity type the reference marks "unknown": the simulator defines them. The
# Reporting aggregate follows the orders exactly (see simulator.data for the rule).
_DEFINED_TYPES: dict[tuple[str, str], dict[str, Any]] = {
    ("Reporting", "OrderSummaryByMonth"): {
        "type": "OrderSummaryByMonth",
        "key": ("ApplicationId", "Year", "Month", "CurrencyId"),
        "properties": [
            Property("ApplicationId", "Edm.Int32", False),
            Property("Year", "Edm.Int32", False),
            Property("Month", "Edm.Int32", False),
            Property("CurrencyId", "Edm.Int32", False),
            Property("OrderCount", "Edm.Int32", False),
            Property("ItemQuantity", "Edm.Decimal", False, precision=18, scale=4),
            Property("NetAmount", "Edm.Decimal", False, precision=18, scale=4),
            Property("VatAmount", "Edm.Decimal", False, precision=18, scale=4),
            Property("FreightAmount", "Edm.Decimal", False, precision=18, scale=4),
            Property("DiscountAmount", "Edm.Decimal", False, precision=18, scale=4),
            Property("Updated", "Edm.DateTimeOffset", False),
        ],
    },
    ("Core", "KpiOrders"): {
        "type": "KpiOrder",
        "key": ("ApplicationId", "Date"),
        "properties": [
            Property("ApplicationId", "Edm.Int32", False),
            Property("Date", "Edm.DateTimeOffset", False),
            Property("OrderCount", "Edm.Int32", False),
            Property("NetAmountEur", "Edm.Decimal", False, precision=18, scale=4),
            Property("Updated", "Edm.DateTimeOffset", False),
        ],
    },
    ("Application", "ClientWarehouses"): {
        "type": "WarehouseClient",
        "key": ("WarehouseId",),
        "properties": [
            Property("WarehouseId", "Edm.Int32", False),
            Property("Code", "Edm.String", True, 50),
            Property("Name", "Edm.String", True, 100),
            Property("IsActive", "Edm.Boolean", False),
        ],
    },
}

# Sets that answer 500 without the applicationId header (observed; switchable at run time).
# Core/Applications is exempt: a client must be able to list the applications before it
# knows an id to send (an assumption; a tenant that 500s here needs NORCE_APPLICATION_IDS).
_HEADER_REQUIRED_NAMESPACES = {"Core", "Application"}
_HEADER_REQUIRED_SETS = {("Products", "Products")}
_HEADER_EXEMPT_SETS = {("Core", "Applications")}


def _app_filter(namespace: str, props: list[Property], key: tuple[str, ...]) -> AppFilter:
    names = {p.name for p in props}
    if namespace == "Orders" and "ApplicationId" in names and "ApplicationId" not in key:
        # Orders/Orders: the header does not filter; clients must. Other Orders sets
        # (PurchaseOrders, Quotations) carry it too.
        return "required"
    if "ApplicationId" in names:
        return "optional"
    if namespace in ("Core", "Application"):
        return "forbidden"
    return "none"


def _prop(raw: dict[str, Any], type_name: str) -> Property:
    precision = scale = None
    if raw["type"] == "Edm.Decimal":
        precision, scale = _DECIMAL_FACETS.get((type_name, raw["name"]), DEFAULT_DECIMAL)
    return Property(
        name=raw["name"],
        edm_type=raw["type"],
        nullable=bool(raw.get("nullable", False)),
        max_length=raw.get("max_length"),
        precision=precision,
        scale=scale,
    )


def load_reference() -> dict[str, Any]:
    """The vendored ``entities.json`` as a dict."""
    text = resources.files("simulator").joinpath("reference/entities.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class Schema:
    """All namespaces, types and sets the simulator serves."""

    def __init__(self, namespaces: dict[str, Namespace]) -> None:
        self.namespaces = namespaces
        self.version = 0

    # -- lookups --------------------------------------------------------------------
    def namespace(self, name: str) -> Namespace:
        return self.namespaces[name]

    def entity_set(self, namespace: str, name: str) -> EntitySet:
        return self.namespaces[namespace].sets[name]

    def entity_type(self, namespace: str, name: str) -> EntityType:
        return self.namespaces[namespace].types[name]

    def set_type(self, namespace: str, set_name: str) -> EntityType:
        return self.entity_type(namespace, self.entity_set(namespace, set_name).entity_type)

    def iter_sets(self) -> list[EntitySet]:
        return [s for ns in self.namespaces.values() for s in ns.sets.values()]

    # -- drift ----------------------------------------------------------------------
    def add_property(self, namespace: str, type_name: str, prop: Property) -> None:
        et = self.entity_type(namespace, type_name)
        if et.has_property(prop.name):
            raise ValueError(f"{type_name} already has {prop.name}")
        et.properties.append(prop)
        self.version += 1

    def remove_property(self, namespace: str, type_name: str, name: str) -> None:
        et = self.entity_type(namespace, type_name)
        if name in et.key:
            raise ValueError(f"cannot remove key property {name}")
        et.properties = [p for p in et.properties if p.name != name]
        self.version += 1

    def change_type(self, namespace: str, type_name: str, name: str, edm_type: str) -> None:
        et = self.entity_type(namespace, type_name)
        et.properties = [
            replace(p, edm_type=edm_type) if p.name == name else p for p in et.properties
        ]
        self.version += 1


def build_schema() -> Schema:
    """Build a fresh, independent :class:`Schema` from the reference and the overlay."""
    ref = load_reference()
    namespaces: dict[str, Namespace] = {}
    for ns_name, ns_raw in ref["namespaces"].items():
        types: dict[str, EntityType] = {}
        sets: dict[str, EntitySet] = {}
        entries: list[tuple[str, dict[str, Any], bool]] = [
            (name, raw, True) for name, raw in ns_raw.get("entity_sets", {}).items()
        ] + [(name, raw, False) for name, raw in ns_raw.get("types", {}).items()]
        for entry_name, raw, is_set in entries:
            defined = _DEFINED_TYPES.get((ns_name, entry_name)) if is_set else None
            if defined is not None:
                type_name = defined["type"]
                key = tuple(defined["key"])
                props = list(defined["properties"])
            else:
                type_name = raw["entity_type"] if is_set else entry_name
                key = tuple(raw.get("key") or ())
                props = [_prop(p, type_name) for p in raw.get("properties", [])]
            if not key or not props:
                continue
            props += _EXTRA_PROPS.get((ns_name, type_name), [])
            if type_name not in types:
                types[type_name] = EntityType(ns_name, type_name, key, props)
                navs = list(raw.get("navigation", [])) + _EXTRA_NAVS.get((ns_name, type_name), [])
                types[type_name].navigations = [
                    Navigation(n["name"], n["target"], bool(n["collection"]), *joins)
                    for n in navs
                    if (joins := _NAV_JOINS.get((ns_name, type_name, n["name"])))
                ]
            if is_set and raw.get("standalone", True):
                sets[entry_name] = EntitySet(
                    namespace=ns_name,
                    name=entry_name,
                    entity_type=type_name,
                    app_filter=_app_filter(ns_name, props, key),
                    header_required=(
                        ns_name in _HEADER_REQUIRED_NAMESPACES
                        or (ns_name, entry_name) in _HEADER_REQUIRED_SETS
                    )
                    and (ns_name, entry_name) not in _HEADER_EXEMPT_SETS,
                )
        # drop navigations whose target type is unknown in this namespace,
        # and those whose join columns are not properties on both sides
        for et in types.values():
            et.navigations = [
                n
                for n in et.navigations
                if n.target in types
                and all(et.has_property(k) for k in n.local_keys)
                and all(types[n.target].has_property(k) for k in n.remote_keys)
            ]
        if sets or types:
            namespaces[ns_name] = Namespace(ns_name, types, sets)
    return Schema(namespaces)
