"""A fake tenant whose invoice ids are strings of different lengths, as the 2.0 schema
pages render them: ``Edm.String`` in ``$metadata``, JSON strings, ``$filter`` only with
string literals (a number is a 400, as OData answers an operand type mismatch), ordered as
text (``'10' < '100' < '9'``), ``$count`` optionally refused with ASP.NET's 400.

Any numeric assumption in the loader -- an unquoted literal, integer key ranges, a
client-side order check on numbers -- fails against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
import orjson

from tests.unit.extract.transport_fakes import Tenant, params_of

EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices>
  <Schema Namespace="Orders" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EntityType Name="Invoice">
    <Key><PropertyRef Name="Id"/></Key>
    <Property Name="Id" Type="Edm.String" Nullable="false"/>
    <Property Name="InvoiceNo" Type="Edm.String"/>
    <Property Name="Created" Type="Edm.DateTimeOffset" Nullable="false"/>
    <Property Name="Updated" Type="Edm.DateTimeOffset"/>
   </EntityType>
   <EntityContainer Name="Container">
    <EntitySet Name="Invoices" EntityType="Orders.Invoice"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""

IDS = [str(i) for i in (1, 2, 9, 10, 11, 95, 100, 101, 999, 1000, 12345, 3)]
"""Lengths 1 to 5: text order (``'1' < '10' < '100' < ... < '9' < '95' < '999'``) is not
numeric order."""

COUNT_REFUSED = (
    "The query specified in the URI is not valid. Query option 'Count' is not allowed. To "
    "allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or "
    "QueryValidationSettings."
)

_STRING_GT = re.compile(r"\bId gt '((?:[^']|'')*)'")
_NUMBER_GT = re.compile(r"\bId (gt|ge|lt|le|eq) -?\d")


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": "", "message": message}})


@dataclass
class TextKeyInvoices:
    """``Orders/Invoices`` over :data:`IDS`, ``cap`` rows per page."""

    ids: list[str] = field(default_factory=lambda: list(IDS))
    cap: int = 3
    count_allowed: bool = True
    seen: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = params_of(request)
        self.seen.append(params)
        if "$count" in params and not self.count_allowed:
            return _error(400, COUNT_REFUSED)
        flt = params.get("$filter", "")
        if _NUMBER_GT.search(flt):
            return _error(
                400,
                "A binary operator with incompatible types was detected. Found operand types "
                "'Edm.String' and 'Edm.Int32' for operator kind 'GreaterThan'.",
            )
        rows = sorted(self.ids)  # text order, as the tenant's collation orders digit strings
        match = _STRING_GT.search(flt)
        if match:
            after = match.group(1).replace("''", "'")
            rows = [i for i in rows if i > after]
        skip = int(params.get("$skip", "0"))
        top = min(int(params.get("$top", str(self.cap))), self.cap)
        page = rows[skip : skip + top]
        doc: dict[str, object] = {
            "value": [
                {"Id": i, "InvoiceNo": f"N{i}", "Created": "2026-01-01T00:00:00Z", "Updated": None}
                for i in page
            ]
        }
        if params.get("$count") == "true":
            doc["@odata.count"] = len(rows)
        if skip + len(page) < len(rows):  # more rows remain: a link, as the API pages
            rest = {**params, "$skip": str(skip + len(page))}
            doc["@odata.nextLink"] = str(request.url.copy_with(params=rest))
        return httpx.Response(200, content=orjson.dumps(doc))


def serve_text_keys(tenant: Tenant, invoices: TextKeyInvoices) -> None:
    """Route the fake tenant: applications, the Orders ``$metadata``, the invoices."""
    tenant.route(
        "Core/Applications",
        lambda r: httpx.Response(200, content=orjson.dumps({"value": [{"Id": 1}]})),
    )
    tenant.route(
        "Orders/$metadata",
        lambda r: httpx.Response(200, content=EDMX, headers={"content-type": "application/xml"}),
    )
    tenant.route("Orders/Invoices", invoices)
