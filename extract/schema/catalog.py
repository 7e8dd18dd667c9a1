"""What to pull from the Query API: one declarative entry per entity set.

The catalog is the raw-table contract. Each :class:`EntitySpec` names the source set, the
raw table it lands in (``raw.<table>``), its key, the cursor used for incremental loads, the
expands that become child tables or flattened columns, and which fields are personal data.

The catalog is a wish list, not a promise: at run time it is reconciled with each
namespace's ``$metadata`` (:mod:`extract.schema.reconcile`), so a field or expand a tenant does not
declare is left out and reported, and a property the catalog does not mention is still
loaded (``select=None`` means "every property the service declares").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["application", "client"]
"""``application``: one partition per application, filtered ``ApplicationId eq N``.
``client``: one partition for the whole client (the ``applicationId`` header is still sent)."""

Mode = Literal["incremental", "full"]
"""``incremental``: cursor-filtered after the first load. ``full``: small lookup, reloaded."""

Paging = Literal["keyset", "nextlink", "skip"]
"""``keyset``: ``$filter=Key gt last&$orderby=Key`` (composite keys expand to the usual
lexicographic ``or`` chain); safe at any depth, and the only strategy the catalog uses.
``nextlink``: follow ``@odata.nextLink`` (composite keys). ``skip``: ``$skip`` offsets."""

PiiAction = Literal["hash", "drop", "keep"]
"""``hash``: normalised, salted SHA-256 in ``<Field>Hash``; ``drop``: never requested."""

UPDATED_THEN_CREATED: tuple[str, ...] = ("Updated", "Created")

# Personal-data fields by kind; the default action per kind is in extract.schema.privacy.
PiiKind = Literal["email", "name", "phone", "street"]
EMAIL: PiiKind = "email"
NAME: PiiKind = "name"
PHONE: PiiKind = "phone"
STREET: PiiKind = "street"


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """A collection navigation loaded into its own raw table with the parent key."""

    navigation: str
    table: str
    key: tuple[str, ...]
    parent_key: tuple[str, ...]
    """Columns of the child table holding the parent's key (same order as the parent key)."""
    select: tuple[str, ...] | None = None
    personal: dict[str, PiiKind] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlattenSpec:
    """A single-valued navigation flattened into ``<prefix><Property>`` columns."""

    navigation: str
    prefix: str
    select: tuple[str, ...] | None = None
    personal: dict[str, PiiKind] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntitySpec:
    namespace: str
    entity_set: str
    table: str
    key: tuple[str, ...]
    scope: Scope = "client"
    mode: Mode = "incremental"
    cursor: tuple[str, ...] = UPDATED_THEN_CREATED
    """Cursor fields in order of preference: ``Updated``, falling back to ``Created`` where
    ``Updated`` is null. Empty for full-refresh sets."""
    paging: Paging = "keyset"
    page_size: int = 500
    select: tuple[str, ...] | None = None
    children: tuple[ChildSpec, ...] = ()
    flatten: tuple[FlattenSpec, ...] = ()
    personal: dict[str, PiiKind] = field(default_factory=dict)
    forgotten_field: str | None = None
    """Boolean GDPR flag; flagged rows (and their children) are purged on every run."""
    backfill_field: str | None = None
    """Business date used by ``--since`` backfills (e.g. ``OrderDate``)."""
    key_ranges: int = 1
    """Split a full load of this set into N key ranges that run concurrently."""
    best_effort: bool = False
    """Load it when the tenant serves it, never at another set's expense: its requests get
    one quick retry instead of the full backoff (Reporting answers 500 on some tenants)."""

    @property
    def path(self) -> str:
        return f"{self.namespace}/{self.entity_set}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.table, *(c.table for c in self.children))


_CUSTOMER_INFO_PII: dict[str, PiiKind] = {
    "FirstName": NAME,
    "LastName": NAME,
    "PhoneNumber": PHONE,
    "CellPhoneNumber": PHONE,
    "ShippingPhoneNumber": PHONE,
    "CareOf": STREET,
    "AddressLine1": STREET,
    "AddressLine2": STREET,
    "EmailAddress": EMAIL,
}

_DELIVERY_ADDRESS_PII: dict[str, PiiKind] = {
    "DeliveryAttention": NAME,
    "DeliveryCareOf": STREET,
    "DeliveryAddressLine1": STREET,
    "DeliveryAddressLine2": STREET,
}


def lookup(
    namespace: str,
    entity_set: str,
    table: str,
    key: tuple[str, ...],
    *,
    best_effort: bool = False,
) -> EntitySpec:
    """A small set reloaded in full on every run."""
    return EntitySpec(
        namespace, entity_set, table, key=key, mode="full", cursor=(), best_effort=best_effort
    )


CATALOG: tuple[EntitySpec, ...] = (
    # ---------------------------------------------------------------- Orders
    EntitySpec(
        "Orders",
        "Orders",
        "orders",
        key=("Id",),
        scope="application",
        children=(
            ChildSpec("Items", "order_items", key=("Id",), parent_key=("OrderId",)),
            ChildSpec("Infos", "order_infos", key=("OrderId", "TypeId"), parent_key=("OrderId",)),
        ),
        flatten=(
            FlattenSpec("Buyer", "Buyer_", personal=_CUSTOMER_INFO_PII),
            FlattenSpec("Payer", "Payer_", personal=_CUSTOMER_INFO_PII),
            FlattenSpec("ShipTo", "ShipTo_", personal=_CUSTOMER_INFO_PII),
        ),
        personal=_DELIVERY_ADDRESS_PII,
        forgotten_field="IsForgotten",
        backfill_field="OrderDate",
        key_ranges=2,
    ),
    EntitySpec(
        "Orders",
        "Invoices",
        "invoices",
        key=("Id",),
        children=(ChildSpec("Items", "invoice_items", key=("Id",), parent_key=("InvoiceId",)),),
        personal={"InvoiceName": NAME, "InvoiceAttention": NAME, "InvoiceCareOf": STREET},
        backfill_field="InvoiceDate",
        key_ranges=2,
    ),
    EntitySpec(
        "Orders",
        "DeliveryNotes",
        "delivery_notes",
        key=("Id",),
        children=(
            ChildSpec("Items", "delivery_note_items", key=("Id",), parent_key=("DeliveryNoteId",)),
        ),
        personal={"DeliveryName": NAME, **_DELIVERY_ADDRESS_PII},
        backfill_field="DeliveryDate",
        key_ranges=2,
    ),
    # ---------------------------------------------------------------- Products
    EntitySpec(
        "Products",
        "Products",
        "products",
        key=("Id",),
        # $top=500 with expands has 500ed on a tenant: smaller pages for this set.
        page_size=100,
        children=(
            ChildSpec(
                "Categories",
                "product_categories",
                key=("ProductId", "CategoryId"),
                parent_key=("ProductId",),
            ),
        ),
    ),
    EntitySpec("Products", "ProductSkus", "product_skus", key=("PartNo",)),
    EntitySpec(
        "Products",
        "ProductSkuPriceLists",
        "product_sku_price_lists",
        key=("PartNo", "PriceListId", "QtyBreak"),
    ),
    EntitySpec(
        "Products",
        "SupplierProductSkus",
        "supplier_product_skus",
        key=("PartNo", "SupplierId"),
    ),
    # ---------------------------------------------------------------- Customers
    EntitySpec(
        "Customers",
        "Customers",
        "customers",
        key=("Id",),
        children=(
            ChildSpec(
                "Addresses",
                "customer_addresses",
                key=("Id", "CustomerId"),
                parent_key=("CustomerId",),
                personal={"CareOf": STREET, "AddressLine1": STREET, "AddressLine2": STREET},
            ),
        ),
        personal={
            "FirstName": NAME,
            "LastName": NAME,
            "PhoneNumber": PHONE,
            "CellPhoneNumber": PHONE,
            "EmailAddress": EMAIL,
        },
        forgotten_field="IsForgotten",
    ),
    EntitySpec(
        "Customers",
        "Companies",
        "companies",
        key=("Id",),
        personal={"EmailAddress": EMAIL, "PhoneNumber": PHONE, "FaxNumber": PHONE},
    ),
    EntitySpec(
        "Customers",
        "CustomerCompanies",
        "customer_companies",
        key=("CustomerId", "CompanyId"),
    ),
    # ---------------------------------------------------------------- Reporting
    # No Reporting set is publicly documented, and Reporting has answered 500 on a tenant:
    # loaded when served (the reconciliation mart says so when it is not).
    lookup(
        "Reporting",
        "OrderSummaryByMonth",
        "order_summary_by_month",
        ("ApplicationId", "Year", "Month", "CurrencyId"),
        best_effort=True,
    ),
    # ---------------------------------------------------------------- Core lookups
    lookup("Core", "Applications", "applications", ("Id",)),
    lookup("Core", "Countries", "countries", ("Id",)),
    lookup("Core", "Currencies", "currencies", ("Id",)),
    lookup("Core", "PaymentMethods", "payment_methods", ("Id",)),
    lookup("Core", "DeliveryMethods", "delivery_methods", ("Id",)),
    lookup("Core", "VatCodes", "vat_codes", ("Id",)),
    lookup("Core", "SkuStatuses", "sku_statuses", ("Id",)),
    # ---------------------------------------------------------------- Application lookups
    lookup("Application", "Categories", "categories", ("Id",)),
    lookup(
        "Application",
        "ClientManufacturers",
        "client_manufacturers",
        ("ManufacturerId",),
    ),
    lookup(
        "Application",
        "ClientPriceLists",
        "client_price_lists",
        ("PriceListId",),
    ),
    lookup(
        "Application",
        "ClientCurrencies",
        "client_currencies",
        ("CurrencyId",),
    ),
    lookup(
        "Application",
        "ApplicationCountries",
        "application_countries",
        ("ApplicationId", "CountryId"),
    ),
    lookup(
        "Application",
        "ApplicationPriceLists",
        "application_price_lists",
        ("ApplicationId", "PriceListId"),
    ),
)


def by_path() -> dict[str, EntitySpec]:
    """The catalog keyed by ``Namespace/EntitySet``."""
    return {spec.path: spec for spec in CATALOG}


def select_specs(paths: list[str] | None) -> list[EntitySpec]:
    """The specs named by ``paths`` (``Namespace/EntitySet``, case-insensitive), or all.

    Raises:
        KeyError: with the unknown names and the valid ones, for one actionable message.
    """
    if not paths:
        return list(CATALOG)
    index = {spec.path.lower(): spec for spec in CATALOG}
    unknown = [p for p in paths if p.strip().lower() not in index]
    if unknown:
        raise KeyError(
            f"unknown entity set(s): {', '.join(unknown)}; "
            f"known: {', '.join(s.path for s in CATALOG)}"
        )
    return [index[p.strip().lower()] for p in paths]
