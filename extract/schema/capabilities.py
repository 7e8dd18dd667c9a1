"""What a tenant supports per entity set, and how a load plan adapts to it.

Real tenants differ where the public Norce documentation is silent: ``$count`` may be
refused, key types may be strings, a filter may be rejected. :class:`SetCapabilities`
holds what was learned for one set -- from ``$metadata`` (key type) and from a few probe
requests (:mod:`extract.run.probe`) -- and :func:`adapt` turns it into the plan a run
uses, with one line per fallback taken:

==========================  ===============================================================
learned                     fallback
==========================  ===============================================================
``$count`` refused          no count check for the set (``source count`` stays empty)
key order/filter refused    ``nextlink`` paging in the server's order, no ``$orderby``; an
                            interrupted pass restarts (there is no key to resume after)
cursor filter refused       the set is re-read in full on every run
``ApplicationId`` refused   one partition for every application, no filter
text keys (``Edm.String``)  keyset paging on string literals in the tenant's text order
                            (``'10' < '9'``); no key-range splitting
==========================  ===============================================================

Capabilities are recorded in ``meta.capabilities`` with the hash of the namespace's
``$metadata`` (:func:`metadata_hash`) and reused until that document changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from extract.schema.plan import EntityPlan

__all__ = ["INTEGER_TYPES", "SetCapabilities", "adapt", "metadata_hash"]

INTEGER_TYPES = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"})
"""Key types that can be split into numeric ranges."""

_NAMES = ("count", "key_order", "cursor_filter", "application_filter")


def metadata_hash(document: bytes) -> str:
    """A short, stable fingerprint of a ``$metadata`` document."""
    return hashlib.sha256(document).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SetCapabilities:
    """What one entity set accepts (``None``: not probed, assumed to work).

    Attributes:
        entity: ``Namespace/EntitySet``.
        key_type: ``Edm`` type(s) of the key, from ``$metadata`` (``,``-joined if composite).
        count: ``$count=true`` accepted.
        key_order: ``$orderby=<key>`` with ``<key> gt <literal>`` accepted.
        cursor_filter: ``<cursor> ge <timestamp>`` accepted.
        application_filter: ``ApplicationId eq N`` accepted.
    """

    entity: str
    key_type: str
    count: bool | None = None
    key_order: bool | None = None
    cursor_filter: bool | None = None
    application_filter: bool | None = None

    @property
    def text_keys(self) -> bool:
        """The key (its first column) is a string: ordered as text by the tenant."""
        return self.key_type.split(",")[0] == "Edm.String"

    def items(self) -> list[tuple[str, str]]:
        """``(capability, value)`` pairs as stored and shown: ``yes``, ``no``, ``-``."""
        shown = {True: "yes", False: "no", None: "-"}
        return [("key_type", self.key_type)] + [(n, shown[getattr(self, n)]) for n in _NAMES]

    @classmethod
    def from_items(cls, entity: str, items: dict[str, str]) -> SetCapabilities:
        """Rebuild from :meth:`items` (as read back from ``meta.capabilities``)."""
        read = {"yes": True, "no": False}
        flags = {n: read.get(items.get(n, "-")) for n in _NAMES}
        return cls(entity, items.get("key_type", ""), **flags)

    def summary(self) -> str:
        """One line for reports: what was refused, or that everything probed works."""
        refused = [n for n in _NAMES if getattr(self, n) is False]
        keys = "text keys" if self.text_keys else f"keys {self.key_type}"
        if refused:
            return f"{keys}; refused: {', '.join(_LABELS[n] for n in refused)}"
        probed = [n for n in _NAMES if getattr(self, n) is True]
        return f"{keys}; accepted: {', '.join(_LABELS[n] for n in probed) or 'not probed'}"


_LABELS = {
    "count": "$count",
    "key_order": "$orderby/$filter on the key",
    "cursor_filter": "$filter on the cursor",
    "application_filter": "ApplicationId filter",
}


def adapt(plan: EntityPlan, caps: SetCapabilities) -> tuple[EntityPlan, list[str]]:
    """The plan a run uses with ``caps``, and one line per fallback taken.

    Args:
        plan: The reconciled plan (catalog x ``$metadata``).
        caps: What the tenant accepts for the set.

    Returns:
        The adapted plan and the fallbacks, each ``<entity>: <what> -- <what we do>``.
    """
    path = plan.spec.path
    notes: list[str] = []
    text_keys = caps.text_keys and plan.paging == "keyset"
    if caps.count is False and plan.count:
        plan = replace(plan, count=False)
        notes.append(f"{path}: $count refused -- loaded rows are not checked against a count")
    if caps.key_order is False and plan.paging == "keyset":
        plan, text_keys = replace(plan, paging="nextlink", ordered=False), False
        notes.append(
            f"{path}: ordering or filtering on the key refused -- nextLink paging in the "
            "server's order; an interrupted pass starts over"
        )
    if caps.cursor_filter is False and plan.cursor:
        notes.append(
            f"{path}: filtering on {plan.cursor[0]} refused -- the set is re-read in full on "
            "every run"
        )
        plan = replace(plan, cursor=())
    if caps.application_filter is False and plan.application_filter:
        plan = replace(plan, application_filter=False)
        notes.append(
            f"{path}: the ApplicationId filter refused -- one partition for all applications"
        )
    if text_keys:
        notes.append(
            f"{path}: text keys -- keyset paging on string literals in the tenant's text "
            "order, no key-range splitting"
        )
    return plan, notes
