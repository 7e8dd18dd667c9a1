"""Probing what a set accepts, and the plan a run makes of it (fallbacks)."""

from __future__ import annotations

import httpx
import orjson
import pytest

from extract.errors import ServerError
from extract.http.client import RequestContext
from extract.run.probe import probe_set
from extract.schema.capabilities import SetCapabilities, adapt
from extract.schema.catalog import by_path
from extract.schema.metadata import parse_edmx
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import reconcile
from tests.unit.extract.transport_fakes import params_of

ORDERS_EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices>
  <Schema Namespace="Orders" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EntityType Name="Order">
    <Key><PropertyRef Name="Id"/></Key>
    <Property Name="Id" Type="Edm.Int64" Nullable="false"/>
    <Property Name="ApplicationId" Type="Edm.Int32" Nullable="false"/>
    <Property Name="Created" Type="Edm.DateTimeOffset" Nullable="false"/>
    <Property Name="Updated" Type="Edm.DateTimeOffset"/>
   </EntityType>
   <EntityContainer Name="Container">
    <EntitySet Name="Orders" EntityType="Orders.Order"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""


@pytest.fixture
def plan():
    service = parse_edmx(ORDERS_EDMX)
    return reconcile(by_path()["Orders/Orders"], service, PrivacyPolicy("salt"))


def refusing(*options: str, status: int = 400):
    """Orders/Orders answering ``status`` to any request whose query mentions an option."""

    def handler(request: httpx.Request) -> httpx.Response:
        query = " ".join(f"{k}={v}" for k, v in params_of(request).items())
        if any(option in query for option in options):
            return httpx.Response(status, json={"error": {"message": "not allowed"}})
        return httpx.Response(200, content=orjson.dumps({"value": [{"Id": 1}]}))

    return handler


def probe(tenant, make_client, plan, handler, *, ask_count=True) -> SetCapabilities:
    tenant.route("Orders/Orders", handler)
    return probe_set(
        make_client(),
        plan,
        RequestContext("Orders/Orders"),
        application_id=1,
        ask_count=ask_count,
    )


def test_one_request_proves_everything(tenant, make_client, plan):
    caps = probe(tenant, make_client, plan, refusing())
    assert caps == SetCapabilities("Orders/Orders", "Edm.Int64", True, True, True, True)
    (request,) = tenant.gets
    params = params_of(request)
    assert params["$top"] == "1" and params["$count"] == "true" and params["$orderby"] == "Id"
    assert params["$filter"] == (
        "(Id gt 0) and (Updated ge 2000-01-01T00:00:00Z) and (ApplicationId eq 1)"
    )
    assert adapt(plan, caps) == (plan, [])


def test_a_400_with_count_is_asked_again_without_it(tenant, make_client, plan):
    caps = probe(tenant, make_client, plan, refusing("$count"))
    assert (caps.count, caps.key_order, caps.cursor_filter) == (False, True, True)
    assert len(tenant.gets) == 2
    adapted, notes = adapt(plan, caps)
    assert adapted.count is False and adapted.paging == "keyset"
    assert notes == ["Orders/Orders: $count refused -- loaded rows are not checked against a count"]


def test_a_refused_cursor_filter_means_full_reloads(tenant, make_client, plan):
    caps = probe(tenant, make_client, plan, refusing("Updated ge"), ask_count=False)
    assert (caps.count, caps.key_order, caps.cursor_filter, caps.application_filter) == (
        None,
        True,
        False,
        True,
    )
    adapted, notes = adapt(plan, caps)
    assert adapted.cursor == () and adapted.full_refresh
    assert "re-read in full" in notes[0]


def test_refused_key_ordering_means_nextlink_paging_without_orderby(tenant, make_client, plan):
    caps = probe(tenant, make_client, plan, refusing("$orderby"), ask_count=False)
    assert caps.key_order is False and caps.cursor_filter is True
    adapted, notes = adapt(plan, caps)
    assert (adapted.paging, adapted.ordered) == ("nextlink", False)
    assert "nextLink paging" in notes[0]


def test_a_refused_application_filter_means_one_partition(tenant, make_client, plan):
    caps = probe(tenant, make_client, plan, refusing("ApplicationId"), ask_count=False)
    adapted, notes = adapt(plan, caps)
    assert caps.application_filter is False and adapted.application_filter is False
    assert "one partition for all applications" in notes[0]


def test_a_server_error_is_not_a_capability(tenant, make_client, plan):
    with pytest.raises(ServerError):
        probe(tenant, make_client, plan, refusing("$top", status=500))


def test_capabilities_round_trip_through_meta_items():
    caps = SetCapabilities("Orders/Orders", "Edm.String", False, True, None, True)
    assert SetCapabilities.from_items(caps.entity, dict(caps.items())) == caps
    assert caps.text_keys
    assert caps.summary() == "text keys; refused: $count"
