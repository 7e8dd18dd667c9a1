"""Conformance of the ASGI app, in process: routes, auth, OData options, quirks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import parsedate_to_datetime

import polars as pl
import pytest

from simulator.app import create_app
from simulator.odata.parse import split_query

Q = "/commerce/query/2.0"


def follow(client, url, params=None):
    """All rows of a collection, following nextLinks; returns (rows, pages, first body)."""
    rows, pages, first = [], 0, None
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        first = first or body
        rows += body["value"]
        pages += 1
        if "@odata.nextLink" not in body:
            return rows, pages, first
        response = client.get(body["@odata.nextLink"])


# -- token endpoint ------------------------------------------------------------------


def test_token_success_and_errors(make_client):
    client = make_client()
    url = "/identity/1.0/connect/token"
    ok = client.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": "demo",
            "client_secret": "demo-secret",
            "scope": "prod",
        },
    )
    assert ok.status_code == 200
    body = ok.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "prod")
    bad = client.post(
        url, data={"grant_type": "client_credentials", "client_id": "demo", "client_secret": "nope"}
    )
    assert (bad.status_code, bad.json()) == (401, {"error": "invalid_client"})
    grant = client.post(
        url, data={"grant_type": "password", "client_id": "demo", "client_secret": "demo-secret"}
    )
    assert (grant.status_code, grant.json()) == (400, {"error": "unsupported_grant_type"})
    assert client.get(url).status_code == 405


def test_configured_credentials_and_ttl(small_sim, get_token, app_client):
    app = create_app(small_sim, credentials={"acme": "s3cret", "other": "x"}, token_ttl=60)
    client = app_client(app)
    assert get_token(client, "acme", "s3cret")
    url = "/identity/1.0/connect/token"
    form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo-secret"}
    assert client.post(url, data=form).status_code == 401
    form = {"grant_type": "client_credentials", "client_id": "other", "client_secret": "x"}
    assert client.post(url, data=form).json()["expires_in"] == 60


def test_token_rate_limit_gives_429_with_retry_after(make_client):
    client = make_client(token_burst=3)  # the fixture's own token used one
    url = "/identity/1.0/connect/token"
    form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo-secret"}
    statuses = [client.post(url, data=form).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.post(url, data=form)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


# -- auth on Query paths -------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic ZGVtbzpkZW1v"])
def test_query_paths_need_a_valid_bearer_token(make_client, authorization):
    client = make_client()
    headers = {"Authorization": authorization} if authorization else {}
    if authorization is None:
        del client.headers["Authorization"]
    response = client.get(f"{Q}/Orders/Orders", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert client.get(f"{Q}/Orders/$metadata", headers=headers).status_code == 401


def test_expired_token_gives_401(make_client):
    client = make_client()
    app = client.app
    app.tokens._clock = lambda: 10**9  # a long time after the token was issued
    assert client.get(f"{Q}/Core/Currencies").status_code == 401


def test_revoked_tokens_give_401_and_a_new_token_works(make_client, get_token):
    client = make_client(admin=True)
    assert client.get(f"{Q}/Core/Currencies").status_code == 200
    revoked = client.post("/_sim/tokens/revoke")
    assert revoked.json() == {"revoked": 1}
    assert client.get(f"{Q}/Core/Currencies").status_code == 401
    client.headers["Authorization"] = f"Bearer {get_token(client)}"
    assert client.get(f"{Q}/Core/Currencies").status_code == 200


# -- routing and errors --------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_only_get_on_query_paths(make_client, method):
    response = make_client().request(method, f"{Q}/Orders/Orders")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    "path",
    [
        "Nope/Orders",
        "Orders/Nope",
        "Orders/OrderItems",
        "Products/ProductCategories",
        "Orders/Orders/Items",
        "Orders/Orders(99999999)",
    ],
)
def test_unknown_paths_are_odata_404s(make_client, path):
    response = make_client().get(f"{Q}/{path}")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message"}


def test_other_paths_are_404(make_client):
    assert make_client().get("/nope").status_code == 404
    assert make_client().get("/_sim/stats").status_code == 404  # admin not mounted


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("Orders/Orders", {"$filter": "Nope eq 1"}),
        ("Orders/Orders", {"$select": "Id,Nope"}),
        ("Orders/Orders", {"$orderby": "Nope desc"}),
        ("Orders/Orders", {"$expand": "Nope"}),
        ("Orders/Orders", {"$top": "-5"}),
        ("Orders/Orders", {"$filter": "Id eq"}),
        ("Orders/Orders", {"$expand": "Items($expand=Infos($expand=A($expand=B)))"}),
        ("Core/Currencies", {"$filter": "ApplicationId eq 1"}),
        ("Application/Categories", {"$filter": "ApplicationId eq 1 and Id gt 0"}),
    ],
)
def test_bad_options_are_400_with_an_odata_error(make_client, path, params):
    response = make_client().get(f"{Q}/{path}", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] and error["message"]


def test_forbidden_application_filter_names_the_property(make_client):
    response = make_client().get(f"{Q}/Core/Currencies", params={"$filter": "ApplicationId eq 1"})
    assert "ApplicationId" in response.json()["error"]["message"]


def test_application_header_is_context_only(make_client, small_sim):
    client = make_client()
    truth = small_sim.truth("Orders", "Orders")
    for app_id in ("1", "2", "77"):
        response = client.get(
            f"{Q}/Orders/Orders",
            params={"$count": "true", "$top": "1"},
            headers={"applicationId": app_id},
        )
        assert response.status_code == 200
        assert response.json()["@odata.count"] == truth.height
    del client.headers["applicationId"]
    alias = client.get(f"{Q}/Core/Currencies", headers={"application-id": "2"})
    assert alias.status_code == 200
    assert client.get(f"{Q}/Orders/Orders", headers={"applicationId": "abc"}).status_code == 400


def test_missing_application_header_500s_where_the_tenant_does(make_client):
    client = make_client()
    del client.headers["applicationId"]
    assert client.get(f"{Q}/Core/Currencies").status_code == 500
    assert client.get(f"{Q}/Products/Products").status_code == 500
    assert client.get(f"{Q}/Application/Categories").status_code == 500
    assert client.get(f"{Q}/Orders/Orders").status_code == 200
    assert client.get(f"{Q}/Customers/Customers").status_code == 200
    relaxed = make_client(require_app_header=False)
    del relaxed.headers["applicationId"]
    assert relaxed.get(f"{Q}/Core/Currencies").status_code == 200


def test_every_response_has_a_date_from_the_simulated_clock(make_client, fresh_sim):
    client = make_client(sim=fresh_sim)
    fresh_sim.advance(3 * 86400)
    for response in (
        client.get(f"{Q}/Core/Currencies"),
        client.get(f"{Q}/Nope/Nope"),
        client.post("/identity/1.0/connect/token"),
    ):
        served = parsedate_to_datetime(response.headers["date"])
        assert abs(served - fresh_sim.clock.now()) < timedelta(seconds=5)
    assert served - (fresh_sim.clock.now() - fresh_sim.clock.offset) > timedelta(days=2)


# -- metadata and service document ---------------------------------------------------


def test_metadata_is_edmx(make_client):
    response = make_client().get(f"{Q}/Orders/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag.endswith("Edmx")


def test_service_document_lists_standalone_sets(make_client, small_sim):
    body = make_client().get(f"{Q}/Orders").json()
    names = [s["name"] for s in body["value"]]
    assert names == list(small_sim.schema.namespace("Orders").sets)
    assert "OrderItems" not in names
    assert body["@odata.context"] == "http://testserver/commerce/query/2.0/Orders/$metadata"


# -- collections ---------------------------------------------------------------------


def test_envelope_headers_and_context(make_client):
    response = make_client().get(f"{Q}/Core/Currencies")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json; odata.metadata=minimal")
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    assert body["@odata.context"] == (
        "http://testserver/commerce/query/2.0/Core/$metadata#Currencies"
    )
    assert "@odata.nextLink" not in body


def test_next_links_reach_count_with_full_pages(make_client, small_sim):
    client = make_client()
    params = {"$filter": "ApplicationId eq 1", "$count": "true", "$select": "Id,ApplicationId"}
    rows, pages, first = follow(client, f"{Q}/Orders/Orders", params)
    truth = small_sim.truth("Orders", "Orders").filter(pl.col("ApplicationId") == 1)
    assert first["@odata.count"] == truth.height == len(rows)
    assert [r["Id"] for r in rows] == truth["Id"].to_list()
    assert pages == -(-truth.height // 500)
    assert all(r["ApplicationId"] == 1 for r in rows)


def test_next_link_keeps_every_option_and_moves_skip(make_client):
    client = make_client()
    body = client.get(
        f"{Q}/Orders/Orders",
        params={"$select": "Id", "$orderby": "Created desc", "$skip": "10", "custom": "x y"},
    ).json()
    base, _, query = body["@odata.nextLink"].partition("?")
    assert base == "http://testserver/commerce/query/2.0/Orders/Orders"
    assert split_query(query) == [
        ("$select", "Id"),
        ("$orderby", "Created desc"),
        ("$skip", "510"),
        ("custom", "x y"),
    ]
    assert len(body["value"]) == 500


def test_top_is_clamped_and_reduced_in_the_next_link(make_client):
    client = make_client()
    body = client.get(f"{Q}/Orders/Orders", params={"$top": "700", "$select": "Id"}).json()
    assert len(body["value"]) == 500
    query = body["@odata.nextLink"].partition("?")[2]
    assert split_query(query) == [("$top", "200"), ("$select", "Id"), ("$skip", "500")]
    second = client.get(body["@odata.nextLink"]).json()
    assert len(second["value"]) == 200
    assert "@odata.nextLink" not in second
    small = client.get(f"{Q}/Orders/Orders", params={"$top": "20"}).json()
    assert len(small["value"]) == 20 and "@odata.nextLink" not in small


def test_orderby_desc_multi_key(make_client, small_sim):
    client = make_client()
    body = client.get(
        f"{Q}/Orders/Orders",
        params={"$orderby": "ApplicationId desc,Created desc", "$select": "Id", "$top": "300"},
    ).json()
    truth = (
        small_sim.truth("Orders", "Orders")
        .sort(["ApplicationId", "Created", "Id"], descending=[True, True, False])
        .head(300)
    )
    assert [r["Id"] for r in body["value"]] == truth["Id"].to_list()


def test_expand_with_nested_select_filter_orderby_top(make_client, small_sim):
    client = make_client()
    body = client.get(
        f"{Q}/Orders/Orders",
        params={
            "$select": "Id",
            "$top": "50",
            "$expand": "Items($select=Id,PartNo,LineAmount;$filter=PartNo ne 'FREIGHT';"
            "$orderby=LineAmount desc;$top=2),Buyer($select=EmailAddress)",
        },
    ).json()
    items = small_sim.truth("Orders", "Orders")  # truth of the set; lines come from the store
    lines = small_sim.store.frame("Orders", "OrderItem")
    for order in body["value"]:
        assert set(order) == {"Id", "Items", "Buyer"}
        expected = (
            lines.filter((pl.col("OrderId") == order["Id"]) & (pl.col("PartNo") != "FREIGHT"))
            .sort(["LineAmount", "Id"], descending=[True, False])
            .head(2)
        )
        assert [i["Id"] for i in order["Items"]] == expected["Id"].to_list()
        assert all(set(i) == {"Id", "PartNo", "LineAmount"} for i in order["Items"])
        assert order["Buyer"] is None or set(order["Buyer"]) == {"EmailAddress"}
    assert items.height > 50


def test_expand_star_and_single_valued_objects(make_client):
    body = make_client().get(f"{Q}/Orders/Orders", params={"$expand": "*", "$top": "3"}).json()
    for order in body["value"]:
        assert isinstance(order["Items"], list)
        assert isinstance(order["Infos"], list)
        for nav in ("Buyer", "Payer", "ShipTo"):
            assert order[nav] is None or isinstance(order[nav], dict)


def test_key_lookup_returns_the_bare_object(make_client, small_sim):
    client = make_client()
    order_id = small_sim.truth("Orders", "Orders")["Id"][10]
    body = client.get(f"{Q}/Orders/Orders({order_id})", params={"$expand": "Items"}).json()
    assert body["Id"] == order_id
    assert body["@odata.context"].endswith("$metadata#Orders/$entity")
    assert "value" not in body and isinstance(body["Items"], list)
    part_no = small_sim.truth("Products", "ProductSkus")["PartNo"][0]
    sku = client.get(f"{Q}/Products/ProductSkus('{part_no}')").json()
    assert sku["PartNo"] == part_no


def test_count_segment(make_client, small_sim):
    response = make_client().get(f"{Q}/Orders/Orders/$count", params={"$filter": "StatusId eq 4"})
    assert response.headers["content-type"].startswith("text/plain")
    truth = small_sim.truth("Orders", "Orders").filter(pl.col("StatusId") == 4)
    assert int(response.text) == truth.height


def test_ieee754_compatible_accept_header(make_client):
    client = make_client()
    accept = "application/json;odata.metadata=minimal;IEEE754Compatible=true"
    response = client.get(
        f"{Q}/Orders/Orders",
        params={"$top": "1", "$select": "Id,FreightCost", "$count": "true"},
        headers={"Accept": accept},
    )
    assert "IEEE754Compatible=true" in response.headers["content-type"]
    (row,) = response.json()["value"]
    assert isinstance(row["Id"], str) and isinstance(row["FreightCost"], str)
    assert isinstance(response.json()["@odata.count"], str)
    plain = client.get(f"{Q}/Orders/Orders", params={"$top": "1", "$select": "Id"}).json()
    assert isinstance(plain["value"][0]["Id"], int)


def test_every_standalone_set_answers(make_client, small_sim):
    client = make_client()
    for entity_set in small_sim.schema.iter_sets():
        if not entity_set.standalone:
            continue
        response = client.get(
            f"{Q}/{entity_set.namespace}/{entity_set.name}", params={"$top": "3", "$count": "true"}
        )
        assert response.status_code == 200, (entity_set.name, response.text)
        body = response.json()
        truth = small_sim.truth(entity_set.namespace, entity_set.name)
        assert body["@odata.count"] == truth.height
