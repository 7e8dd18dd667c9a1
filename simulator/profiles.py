"""Tenant profiles: named bundles of switches that make the simulator a different tenant.

Real tenants differ in ways the public Norce documentation leaves open (README of the API
reference, section 12a). A :class:`Profile` switches each difference on or off, so tests can
combine them and ``norce-wh simulate --profile NAME`` can serve them:

``default``
    What the simulator has always served: the observed production tenant plus our
    assumptions (numeric ids, ``$count``, Core/Applications without the header, Reporting
    answering, ``IsForgotten`` on customers, ``Updated`` everywhere, no request budget).
``docs-2.0``
    What the public 2.0 documentation shows and production evidence allows: every switch
    below on.

Switches (the spec syntax of ``--profile`` in brackets):

=============================  ===========================================================
``string_ids``                 Orders-namespace ids the 2.0 schema pages render as strings
                               (``doc_type: string`` in ``entities.json``, plus the foreign
                               keys joined to them) are ``Edm.String``: JSON strings, string
                               literals in ``$filter`` and keys (``Orders('1000001')``),
                               string order for ``$orderby``/``gt`` (``'10' < '9'``)
``no_count``                   ``$count`` (``=true`` or ``=false``) and ``/$count`` paths
                               answer 400 as ASP.NET OData does with counting not allowed
``header_everywhere``          every Query request, ``$metadata`` and Core/Applications
                               included, answers 500 without an ``applicationId`` header
``reporting_down``             the Reporting namespace (its ``$metadata`` and service
                               document too) and Core/KpiOrders answer 500 (the
                               ``reporting_500`` fault spares ``$metadata``)
``no_customer_forget_flag``    Customers/Customers has no ``IsForgotten`` (an erased
                               customer is anonymised, nothing flags it)
``no_updated=Ns/Set,...``      these sets have no ``Updated``/``UpdatedBy`` (``Created``
                               and the business date stay); docs-2.0: Orders/DeliveryNotes
``minute_budget=N``            a gateway allows N Query requests per window (``none``: no
                               budget); beyond it 429 **without** ``Retry-After``
``budget_window_s=S``          the budget's fixed window in seconds (default 60)
=============================  ===========================================================

A spec is an optional profile name followed by switches, comma-separated:
``docs-2.0``, ``docs-2.0,minute_budget=none``, ``string_ids,no_count``,
``default,no_updated=Orders/DeliveryNotes,Orders/Invoices``. A bare switch means ``=true``;
an item holding a ``/`` continues the ``no_updated`` list.

The switches that shape data and ``$metadata`` (``string_ids``, ``no_customer_forget_flag``,
``no_updated``) are applied to the schema when the :class:`~simulator.control.Simulator`
is created; the others act per request in the app.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, fields, replace
from typing import Any

from simulator.schema import Schema, load_reference

UPDATED_COLUMNS = ("Updated", "UpdatedBy")
"""What ``no_updated`` removes from a set's type."""

DEFAULT_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Profile:
    """How the simulated tenant differs from ``default``. The default instance is ``default``."""

    string_ids: bool = False
    """Order, invoice, delivery-note, line and address ids are ``Edm.String``."""
    no_count: bool = False
    """``$count`` and ``/$count`` answer 400 (ASP.NET: query option not allowed)."""
    header_everywhere: bool = False
    """Every Query request needs the ``applicationId`` header (else 500)."""
    reporting_down: bool = False
    """Reporting (with its ``$metadata``) and Core/KpiOrders answer 500."""
    no_customer_forget_flag: bool = False
    """Customers/Customers lacks ``IsForgotten``."""
    no_updated: tuple[str, ...] = ()
    """``Namespace/Set`` paths whose type lacks ``Updated``/``UpdatedBy``."""
    minute_budget: int | None = None
    """Query requests a gateway allows per window; beyond it 429 without ``Retry-After``."""
    budget_window_s: float = DEFAULT_WINDOW_S
    """Length of the budget's fixed window in seconds."""

    def __post_init__(self) -> None:
        if self.minute_budget is not None and self.minute_budget < 1:
            raise ValueError("minute_budget must be at least 1 (or None for no budget)")
        if not (math.isfinite(self.budget_window_s) and self.budget_window_s > 0):
            raise ValueError("budget_window_s must be a positive number of seconds")
        for path in self.no_updated:
            if path.count("/") != 1:
                raise ValueError(f"no_updated: '{path}' is not <Namespace>/<Set>")

    @classmethod
    def parse(cls, spec: str | None) -> Profile:
        """Parse ``[NAME][,switch[=value]]...`` (see the module docstring).

        Raises:
            ValueError: naming every unknown profile, switch or bad value at once, with the
                known profile names.
        """
        return _parse(spec)

    @property
    def name(self) -> str | None:
        """The named profile this equals, or None for a custom combination."""
        return next((name for name, p in PROFILES.items() if p == self), None)

    def to_spec(self) -> str:
        """The shortest spec that parses back to this profile (a name when there is one)."""
        if self.name is not None:
            return self.name
        base_name, base = min(PROFILES.items(), key=lambda item: len(_differences(self, item[1])))
        return ",".join([base_name, *_differences(self, base)])

    def data_switches(self) -> tuple[object, ...]:
        """The switches applied to the schema and data when a simulator is created."""
        return (self.string_ids, self.no_customer_forget_flag, self.no_updated)


DEFAULT = Profile()

PROFILES: dict[str, Profile] = {
    "default": DEFAULT,
    "docs-2.0": Profile(
        string_ids=True,
        no_count=True,
        header_everywhere=True,
        reporting_down=True,
        no_customer_forget_flag=True,
        no_updated=("Orders/DeliveryNotes",),
        # No published value; a little under what the loader's default throttle sends
        # (4 requests/s = 240/min), so a default-configured first run meets the limit.
        minute_budget=200,
    ),
}
"""The named profiles, in the order ``--help`` lists them."""

DESCRIPTIONS: dict[str, str] = {
    "default": "the observed tenant and today's assumptions: numeric ids, $count, "
    "Core/Applications without the header, Reporting up, IsForgotten on customers",
    "docs-2.0": "what the public 2.0 docs show: string order ids, $count refused (400), "
    "applicationId header required everywhere, Reporting 500, no customer forget flag, "
    "DeliveryNotes without Updated, 200 requests/min then 429 without Retry-After",
}


def resolve(profile: Profile | str | None) -> Profile:
    """A :class:`Profile` from a profile, a spec string, or None (``default``).

    Raises:
        ValueError: for a spec :meth:`Profile.parse` refuses.
    """
    if profile is None:
        return DEFAULT
    if isinstance(profile, Profile):
        return profile
    return Profile.parse(profile)


def describe(width: int = 78) -> str:
    """Each named profile with what it does, wrapped to ``width`` (for ``--help``)."""
    pad = max(len(name) for name in PROFILES) + 2
    return "\n".join(
        textwrap.fill(
            DESCRIPTIONS[name],
            width,
            initial_indent=name.ljust(pad),
            subsequent_indent=" " * pad,
        )
        for name in PROFILES
    )


# -- the schema side -------------------------------------------------------------------


def shape_schema(schema: Schema, profile: Profile) -> None:
    """Apply the data switches of ``profile`` to a freshly built ``schema`` (in place).

    The schema's version is not bumped: this is how the tenant is, not a drift.

    Raises:
        ValueError: if ``no_updated`` names a set the schema does not have.
    """
    unknown = [p for p in profile.no_updated if not _has_set(schema, p)]
    if unknown:
        raise ValueError(f"no_updated: unknown entity set(s) {', '.join(unknown)}")
    if profile.string_ids:
        for namespace, type_name, name in sorted(string_id_properties(schema)):
            et = schema.entity_type(namespace, type_name)
            et.properties = [
                replace(p, edm_type="Edm.String", max_length=None) if p.name == name else p
                for p in et.properties
            ]
    if profile.no_customer_forget_flag:
        _drop(schema, "Customers", "Customer", ("IsForgotten",))
    for path in profile.no_updated:
        namespace, set_name = path.split("/")
        type_name = schema.entity_set(namespace, set_name).entity_type
        _drop(schema, namespace, type_name, UPDATED_COLUMNS)


def string_id_properties(schema: Schema) -> set[tuple[str, str, str]]:
    """``(namespace, type, property)`` that ``string_ids`` serves as ``Edm.String``.

    The properties ``entities.json`` marks ``doc_type: string`` (the 2.0 schema pages
    render them as strings), closed over the schema's navigation joins: OData requires
    both sides of a referential constraint to have one type, so ``Order.BuyerCustomerInfoId``
    follows ``OrderCustomerInfo.Id``.
    """
    found = {
        (namespace, type_name, name)
        for namespace, type_name, name in _documented_string_ids()
        if namespace in schema.namespaces
        and type_name in schema.namespace(namespace).types
        and schema.entity_type(namespace, type_name).has_property(name)
    }
    changed = True
    while changed:
        changed = False
        for ns in schema.namespaces.values():
            for et in ns.types.values():
                for nav in et.navigations:
                    for local, remote in zip(nav.local_keys, nav.remote_keys, strict=True):
                        pair = {(ns.name, et.name, local), (ns.name, nav.target, remote)}
                        if pair & found and not pair <= found:
                            found |= pair
                            changed = True
    return found


def _documented_string_ids() -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for ns_name, ns_raw in load_reference()["namespaces"].items():
        entries: list[tuple[str, dict[str, Any]]] = [
            (raw.get("entity_type", name), raw)
            for name, raw in ns_raw.get("entity_sets", {}).items()
        ] + list(ns_raw.get("types", {}).items())
        for type_name, raw in entries:
            for prop in raw.get("properties", []):
                if prop.get("doc_type") == "string" and prop["type"] != "Edm.String":
                    found.add((ns_name, type_name, prop["name"]))
    return found


def _has_set(schema: Schema, path: str) -> bool:
    namespace, _, set_name = path.partition("/")
    return namespace in schema.namespaces and set_name in schema.namespace(namespace).sets


def _drop(schema: Schema, namespace: str, type_name: str, names: tuple[str, ...]) -> None:
    et = schema.entity_type(namespace, type_name)
    et.properties = [p for p in et.properties if p.name not in names]


# -- parsing ---------------------------------------------------------------------------

_FIELDS = {f.name: f for f in fields(Profile)}
_BOOLS = {name for name, f in _FIELDS.items() if f.type == "bool"}
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _parse(spec: str | None) -> Profile:
    items = [item.strip() for item in (spec or "").split(",") if item.strip()]
    problems: list[str] = []
    base = DEFAULT
    if items and "=" not in items[0] and items[0] not in _FIELDS:
        if items[0] in PROFILES:
            base = PROFILES[items.pop(0)]
        else:
            problems.append(f"unknown profile '{items[0]}'")
            items.pop(0)
    values: dict[str, Any] = {}
    last: str | None = None
    for item in items:
        if "=" not in item and "/" in item and last == "no_updated":
            values["no_updated"] += (item,)
            continue
        key, sep, value = (part.strip() for part in item.partition("="))
        last = key
        if key not in _FIELDS:
            problems.append(f"unknown switch '{key}'")
            continue
        if key in values:
            problems.append(f"'{key}' given twice")
            continue
        try:
            values[key] = _value(key, value if sep else None)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if not problems:
        try:
            return replace(base, **values)
        except ValueError as exc:
            problems.append(str(exc))
    raise ValueError(
        f"invalid profile '{spec}': {'; '.join(problems)} "
        f"(profiles: {', '.join(PROFILES)}; switches: {', '.join(_FIELDS)})"
    )


def _value(key: str, text: str | None) -> Any:
    if key in _BOOLS:
        if text is None or text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"'{text}' is not true/false")
    if text is None:
        raise ValueError("needs a value")
    if key == "no_updated":
        return (text,) if text else ()
    if key == "minute_budget":
        if text.lower() in ("none", ""):
            return None
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"'{text}' is not a positive whole number (or none)")
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None


def _differences(profile: Profile, base: Profile) -> list[str]:
    parts: list[str] = []
    for name in _FIELDS:
        value, default = getattr(profile, name), getattr(base, name)
        if value == default:
            continue
        if isinstance(value, bool):
            parts.append(name if value else f"{name}=false")
        elif isinstance(value, tuple):
            parts.append(f"{name}=" + ",".join(value) if value else f"{name}=")
        elif value is None:
            parts.append(f"{name}=none")
        elif isinstance(value, float) and value.is_integer():
            parts.append(f"{name}={int(value)}")
        else:
            parts.append(f"{name}={value}")
    return parts
