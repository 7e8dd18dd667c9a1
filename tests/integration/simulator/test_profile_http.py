"""The ``docs-2.0`` tenant over a real loopback socket: each behaviour as a client meets it."""

from __future__ import annotations

import re
import time

import httpx
import polars as pl
import pytest

from simulator.odata.service import COUNT_NOT_ALLOWED
from tests.integration.truth import CHECKED, expected

Q = "/commerce/query/2.0"


@pytest.fixture(scope="module")
def docs_server(profile_sim_server):
    return profile_sim_server("docs-2.0", scale=0.02, seed=12)


@pytest.fixture(scope="module")
def bare(docs_server):
    """A client with a token and no ``applicationId`` header, as a first contact is."""
    form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo-secret"}
    reply = httpx.post(f"{docs_server.base_url}/identity/1.0/connect/token", data=form)
    headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
    with httpx.Client(base_url=docs_server.base_url, headers=headers, timeout=30) as client:
        yield client


APP = {"applicationId": "1"}


def test_the_header_is_required_on_every_request(bare):
    for path in ("Orders/$metadata", "Core/$metadata", "Core/Applications", "Orders/Orders"):
        response = bare.get(f"{Q}/{path}")
        assert response.status_code == 500, path
        assert "applicationId" in response.json()["error"]["message"]
        assert bare.get(f"{Q}/{path}", headers=APP).status_code == 200, path


def test_order_ids_are_strings_and_keyset_paging_on_them_is_complete(bare, docs_server):
    metadata = bare.get(f"{Q}/Orders/$metadata", headers=APP).text
    order = re.search(r'<EntityType Name="Order">.*?</EntityType>', metadata).group(0)
    assert '<Property Name="Id" Type="Edm.String" Nullable="false"/>' in order
    truth = docs_server.sim.truth("Orders", "Orders").filter(pl.col("ApplicationId") == 1)
    seen: list[str] = []
    while True:
        condition = "ApplicationId eq 1" + (f" and Id gt '{seen[-1]}'" if seen else "")
        params = {"$filter": condition, "$orderby": "Id", "$top": "100", "$select": "Id"}
        response = bare.get(f"{Q}/Orders/Orders", params=params, headers=APP)
        assert response.status_code == 200, response.text
        page = [row["Id"] for row in response.json()["value"]]
        if not page:
            break
        assert all(isinstance(i, str) for i in page)
        seen += page
    assert seen == sorted(truth["Id"].to_list()) and len(set(seen)) == truth.height
    numeric = bare.get(f"{Q}/Orders/Orders", params={"$filter": "Id gt 0"}, headers=APP)
    assert numeric.status_code == 400
    one = bare.get(f"{Q}/Orders/Orders('{seen[0]}')", headers=APP)
    assert one.json()["Id"] == seen[0]


def test_count_is_refused_with_the_aspnet_body(bare):
    for url, params in (
        (f"{Q}/Orders/Orders", {"$count": "true", "$top": "1"}),
        (f"{Q}/Core/Currencies/$count", {}),
    ):
        response = bare.get(url, params=params, headers=APP)
        assert response.status_code == 400
        assert response.json()["error"] == {
            "code": "",
            "message": f"The query specified in the URI is not valid. {COUNT_NOT_ALLOWED}",
            "innererror": {
                "message": COUNT_NOT_ALLOWED,
                "type": "Microsoft.OData.ODataException",
                "stacktrace": "",
            },
        }


def test_reporting_answers_500_metadata_included(bare):
    for path in ("Reporting/$metadata", "Reporting/OrderSummaryByMonth", "Core/KpiOrders"):
        assert bare.get(f"{Q}/{path}", headers=APP).status_code == 500, path
    assert bare.get(f"{Q}/Core/Currencies", headers=APP).status_code == 200


def test_customers_lack_the_forget_flag_and_delivery_notes_lack_updated(bare):
    customers = bare.get(f"{Q}/Customers/$metadata", headers=APP).text
    customer = re.search(r'<EntityType Name="Customer">.*?</EntityType>', customers).group(0)
    assert "IsForgotten" not in customer
    row = bare.get(f"{Q}/Customers/Customers", params={"$top": "1"}, headers=APP).json()
    assert "IsForgotten" not in row["value"][0]
    notes = bare.get(f"{Q}/Orders/DeliveryNotes", params={"$top": "1"}, headers=APP).json()
    assert "Updated" not in notes["value"][0] and "Created" in notes["value"][0]


def test_truth_helpers_read_the_profile_shape(docs_server):
    orders = next(t for t in CHECKED if t.table == "orders")
    want = expected(docs_server.sim, orders, ["Id", "Buyer_EmailAddressHash", "ApplicationId"])
    assert want.schema["Id"] == pl.String
    assert want["Buyer_EmailAddressHash"].null_count() < want.height


def test_a_spent_budget_answers_429_without_retry_after(docs_server, serve):
    # the docs-2.0 tenant with a small budget and a short window, so the test is quick
    _, client = serve(docs_server.sim, profile="docs-2.0,minute_budget=5,budget_window_s=2")
    started = time.monotonic()
    # fifteen requests span at most two windows of five: at least five are refused
    replies = [client.get(f"{Q}/Core/Currencies") for _ in range(15)]
    burst_seconds = time.monotonic() - started
    statuses = [r.status_code for r in replies]
    assert set(statuses) == {200, 429}
    if burst_seconds < 2:
        assert statuses.count(429) >= 5
    refused = [r for r in replies if r.status_code == 429]
    assert all("retry-after" not in r.headers for r in refused)
    assert refused[0].json() == {"statusCode": 429, "message": "Rate limit is exceeded."}
    time.sleep(2.1)
    assert client.get(f"{Q}/Core/Currencies").status_code == 200
