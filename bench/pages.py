"""The Orders pages every contender fetches: same ``$select``/``$expand``, same partitions.

Ours splits the first full load of Orders into application x key-range partitions
(``Orders/Orders`` has ``key_ranges=2``) and pages each with ``Id gt <last>``. The ceiling,
the recorder and dlt are given exactly those partitions and query options, planned here the
way the loader plans them (:mod:`extract.run.splitting`): options from reconciling the
catalog entry with the service's ``$metadata``, key bounds from ``$top=1`` queries, ranges
from :func:`extract.run.partitions.split_range`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import httpx
import msgspec

from extract.paging.odata import after_key_filter, and_filters, odata_literal
from extract.run.partitions import split_range
from extract.schema.catalog import by_path
from extract.schema.metadata import parse_edmx
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import reconcile
from extract.settings import DEFAULT_PII_SALT

ENTITY = "Orders/Orders"
PAGE_TOP = 500
"""The page size ours asks for (``EntitySpec.page_size``; also the server's cap)."""
ORDER_TYPES = ("Orders.Order", "Orders.OrderItem", "Orders.OrderInfo")
"""Simulator types whose rows a load of Orders with Items and Infos writes."""


class _Key(msgspec.Struct):
    Id: int


class _KeysPage(msgspec.Struct):
    value: list[_Key]


_KEYS = msgspec.json.Decoder(_KeysPage)


def page_keys(body: bytes) -> list[int]:
    """The top-level ``Id`` values of an Orders page, in order.

    msgspec skips everything else in the body without building it: a millisecond or two for
    a page the server takes tens of milliseconds to make.
    """
    return [row.Id for row in _KEYS.decode(body).value]


@dataclass(frozen=True)
class Part:
    """One partition: an application and its key-range filter."""

    application_id: int
    filter: str


@dataclass(frozen=True)
class OrdersQuery:
    """What to fetch: the query URL, options and partitions, as ours would request them."""

    base_url: str
    url: str
    select: str
    expand: str | None
    parts: tuple[Part, ...]

    def params(self, part: Part, after: int | None) -> dict[str, str]:
        """Query options for the page of ``part`` after key ``after`` (keyset paging)."""
        position = None if after is None else after_key_filter(("Id",), (after,))
        params = {"$filter": and_filters(part.filter, position) or ""}
        params["$select"] = self.select
        if self.expand:
            params["$expand"] = self.expand
        params["$orderby"] = "Id"
        params["$top"] = str(PAGE_TOP)
        return params

    def to_json(self) -> dict[str, Any]:
        """Plain values, to pass to a child process."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrdersQuery:
        """The inverse of :meth:`to_json`."""
        parts = tuple(Part(**p) for p in data["parts"])
        return cls(data["base_url"], data["url"], data["select"], data["expand"], parts)


def plan_orders(base_url: str, token: str) -> OrdersQuery:
    """Plan the Orders load against the server at ``base_url`` as ours does.

    Raises:
        httpx.HTTPStatusError: if the server refuses a planning request.
    """
    spec = by_path()[ENTITY]
    root = f"{base_url}/commerce/query/2.0"
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=60) as client:
        raw = client.get(f"{root}/Orders/$metadata")
        raw.raise_for_status()
        plan = reconcile(spec, parse_edmx(raw.content), PrivacyPolicy(DEFAULT_PII_SALT))
        apps = client.get(f"{root}/Core/Applications", params={"$select": "Id", "$orderby": "Id"})
        apps.raise_for_status()
        parts: list[Part] = []
        for app in sorted(int(a["Id"]) for a in apps.json()["value"]):
            app_filter = f"ApplicationId eq {odata_literal(app)}"
            bounds = []
            for order in ("Id", "Id desc"):
                params = {"$select": "Id", "$orderby": order, "$top": "1", "$filter": app_filter}
                reply = client.get(f"{root}/{ENTITY}", params=params)
                reply.raise_for_status()
                bounds.append(int(reply.json()["value"][0]["Id"]))
            for lo, hi in split_range(bounds[0], bounds[1], spec.key_ranges):
                clauses = [app_filter]
                if lo is not None:
                    clauses.append(f"Id ge {odata_literal(lo)}")
                if hi is not None:
                    clauses.append(f"Id lt {odata_literal(hi)}")
                parts.append(Part(app, " and ".join(clauses)))
    return OrdersQuery(base_url, f"{root}/{ENTITY}", plan.select, plan.expand, tuple(parts))
