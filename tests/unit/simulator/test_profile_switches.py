"""Each profile switch, in process over ASGI, against the default behaviour it replaces."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import polars as pl
import pytest

from simulator.budget import WindowBudget
from simulator.control import Simulator
from simulator.odata.service import COUNT_NOT_ALLOWED

Q = "/commerce/query/2.0"
NEW_YEAR = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def string_sim() -> Simulator:
    """Only ``string_ids`` on; shared by the module: do not mutate it."""
    return Simulator.create(seed=3, scale=0.02, profile="string_ids")


def without_header(client):
    del client.headers["applicationId"]
    return client


def entity_type(metadata: str, name: str) -> str:
    return re.search(rf'<EntityType Name="{name}">.*?</EntityType>', metadata).group(0)


def declared(metadata: str, type_name: str, prop: str) -> str | None:
    match = re.search(rf'<Property Name="{prop}" Type="([^"]+)"', entity_type(metadata, type_name))
    return match.group(1) if match else None


def all_ids(client, url, params):
    ids = []
    while url:
        body = client.get(url, params=params).json()
        ids += [row["Id"] for row in body["value"]]
        url, params = body.get("@odata.nextLink"), None
    return ids


# -- string_ids --------------------------------------------------------------------------


def test_string_ids_are_declared_and_served_as_strings(make_client, string_sim):
    client = make_client(sim=string_sim)
    metadata = client.get(f"{Q}/Orders/$metadata").text
    for type_name, prop in [
        ("Order", "Id"),
        ("Order", "BuyerCustomerInfoId"),
        ("OrderItem", "Id"),
        ("OrderItem", "OrderId"),
        ("OrderCustomerInfo", "Id"),
        ("Invoice", "ReferenceOrderId"),
        ("DeliveryNote", "Id"),
        ("Address", "Id"),
    ]:
        assert declared(metadata, type_name, prop) == "Edm.String", (type_name, prop)
    assert declared(metadata, "Order", "ApplicationId") == "Edm.Int32"
    params = {
        "$top": "3",
        "$select": "Id,BuyerCustomerInfoId,ApplicationId",
        "$expand": "Items($select=Id,OrderId),Buyer($select=Id)",
    }
    rows = client.get(f"{Q}/Orders/Orders", params=params).json()["value"]
    for row in rows:
        assert isinstance(row["Id"], str) and row["Id"].isdigit()
        assert isinstance(row["ApplicationId"], int)
        assert row["Buyer"]["Id"] == row["BuyerCustomerInfoId"]
        assert row["Items"] and all(item["OrderId"] == row["Id"] for item in row["Items"])
        assert all(isinstance(item["Id"], str) for item in row["Items"])
    truth = string_sim.truth("Orders", "Orders")
    assert truth.schema["Id"] == pl.String
    assert [r["Id"] for r in rows] == truth["Id"].head(3).to_list()
    invoice = client.get(f"{Q}/Orders/Invoices", params={"$top": "1"}).json()["value"][0]
    assert isinstance(invoice["Id"], str) and isinstance(invoice["ReferenceOrderId"], str)
    customer = client.get(f"{Q}/Customers/Customers", params={"$top": "1"}).json()["value"][0]
    assert isinstance(customer["Id"], int)


def test_string_ids_need_string_literals(make_client, string_sim):
    client = make_client(sim=string_sim)
    first = string_sim.truth("Orders", "Orders")["Id"][0]
    numeric = client.get(f"{Q}/Orders/Orders", params={"$filter": f"Id gt {first}"})
    assert numeric.status_code == 400
    quoted = client.get(f"{Q}/Orders/Orders", params={"$filter": f"Id eq '{first}'"})
    assert [r["Id"] for r in quoted.json()["value"]] == [first]
    assert client.get(f"{Q}/Orders/Orders('{first}')").json()["Id"] == first
    assert client.get(f"{Q}/Orders/Orders({first})").status_code == 400


def test_default_ids_stay_numbers(make_client, small_sim):
    client = make_client()
    row = client.get(f"{Q}/Orders/Orders", params={"$top": "1"}).json()["value"][0]
    assert isinstance(row["Id"], int)
    assert client.get(f"{Q}/Orders/Orders", params={"$filter": "Id gt '1'"}).status_code == 400
    metadata = client.get(f"{Q}/Orders/$metadata").text
    assert declared(metadata, "Order", "Id") == "Edm.Int64"


def test_string_ids_sort_and_page_as_text(make_client):
    sim = Simulator.create(seed=4, scale=0.01, profile="string_ids")
    orders = sim.store.base("Orders", "Order").head(6)
    numbers = [1, 2, 9, 10, 11, 100]
    sim.store.set_frame(
        "Orders", "Order", orders.with_columns(pl.Series("Id", numbers, dtype=pl.Int64))
    )
    client = make_client(sim=sim)
    text_order = ["1", "10", "100", "11", "2", "9"]
    url = f"{Q}/Orders/Orders"
    assert all_ids(client, url, {"$select": "Id"}) == text_order
    assert all_ids(client, url, {"$select": "Id", "$orderby": "Id"}) == text_order
    assert all_ids(client, url, {"$select": "Id", "$orderby": "Id desc"}) == text_order[::-1]
    assert all_ids(client, url, {"$select": "Id", "$filter": "Id gt '10'"}) == [
        "100",
        "11",
        "2",
        "9",
    ]
    assert all_ids(client, url, {"$select": "Id", "$top": "2", "$skip": "2"}) == ["100", "11"]
    # keyset paging on the string key reaches every row exactly once
    seen, last = [], None
    while True:
        params = {"$select": "Id", "$orderby": "Id", "$top": "2"}
        if last is not None:
            params["$filter"] = f"Id gt '{last}'"
        page = [r["Id"] for r in client.get(url, params=params).json()["value"]]
        if not page:
            break
        seen += page
        last = page[-1]
    assert seen == text_order
    assert sim.truth("Orders", "Orders")["Id"].to_list() == text_order
    assert client.get(f"{url}('100')", params={"$select": "Id"}).json()["Id"] == "100"


# -- no_count ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("Orders/Orders", {"$count": "true"}),
        ("Orders/Orders", {"$count": "false", "$top": "1"}),
        ("Orders/Orders", {"$filter": "ApplicationId eq 1", "$count": "true"}),
        ("Orders/Orders/$count", {}),
        ("Core/Currencies/$count", {"$filter": "Id gt 0"}),
    ],
)
def test_no_count_refuses_every_form_as_aspnet_does(make_client, path, params):
    client = make_client(profile="no_count")
    response = client.get(f"{Q}/{path}", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == ""
    assert error["message"] == f"The query specified in the URI is not valid. {COUNT_NOT_ALLOWED}"
    assert error["innererror"]["message"] == COUNT_NOT_ALLOWED
    assert "Query option 'Count' is not allowed" in COUNT_NOT_ALLOWED


def test_no_count_leaves_everything_else_alone(make_client, small_sim):
    refusing, counting = make_client(profile="no_count"), make_client()
    params = {"$filter": "ApplicationId eq 1", "$top": "5"}
    body = refusing.get(f"{Q}/Orders/Orders", params=params).json()
    assert "@odata.count" not in body and len(body["value"]) == 5
    counted = counting.get(f"{Q}/Orders/Orders", params={**params, "$count": "true"}).json()
    expected = small_sim.truth("Orders", "Orders").filter(pl.col("ApplicationId") == 1).height
    assert counted["@odata.count"] == expected
    assert counting.get(f"{Q}/Orders/Orders/$count").text == str(
        small_sim.truth("Orders", "Orders").height
    )


# -- header_everywhere -------------------------------------------------------------------


EVERY_KIND = [
    "Orders/$metadata",
    "Core/$metadata",
    "Reporting/$metadata",
    "Orders",
    "Core/Applications",
    "Core/Currencies",
    "Orders/Orders",
    "Customers/Customers",
    "Orders/Orders/$count",
]


@pytest.mark.parametrize("path", EVERY_KIND)
def test_header_everywhere_500s_every_request_without_it(make_client, path):
    client = make_client(profile="header_everywhere")
    assert client.get(f"{Q}/{path}").status_code == 200
    response = without_header(client).get(f"{Q}/{path}")
    assert response.status_code == 500
    assert "applicationId" in response.json()["error"]["message"]
    assert client.get(f"{Q}/{path}", headers={"application-id": "3"}).status_code == 200


def test_default_lets_metadata_discovery_and_orders_through_without_header(make_client):
    client = without_header(make_client())
    for path in EVERY_KIND:
        expected = 500 if path == "Core/Currencies" else 200
        assert client.get(f"{Q}/{path}").status_code == expected, path


# -- reporting_down ----------------------------------------------------------------------


def test_reporting_down_fails_the_namespace_and_its_metadata(make_client):
    client = make_client(profile="reporting_down")
    for path in (
        "Reporting/$metadata",
        "Reporting",
        "Reporting/OrderSummaryByMonth",
        "Core/KpiOrders",
    ):
        response = client.get(f"{Q}/{path}")
        assert response.status_code == 500, path
        assert response.json()["error"]["code"] == "InternalServerError"
    for path in ("Core/$metadata", "Core/Currencies", "Orders/Orders"):
        assert client.get(f"{Q}/{path}").status_code == 200, path
    up = make_client()
    assert up.get(f"{Q}/Reporting/$metadata").status_code == 200
    assert up.get(f"{Q}/Reporting/OrderSummaryByMonth").status_code == 200


# -- no_customer_forget_flag -------------------------------------------------------------


def test_customers_without_forget_flag(make_client):
    sim = Simulator.create(seed=5, scale=0.02, profile="no_customer_forget_flag")
    client = make_client(sim=sim)
    metadata = client.get(f"{Q}/Customers/$metadata").text
    assert declared(metadata, "Customer", "IsForgotten") is None
    orders_metadata = client.get(f"{Q}/Orders/$metadata").text
    assert declared(orders_metadata, "Order", "IsForgotten") == "Edm.Boolean"
    row = client.get(f"{Q}/Customers/Customers", params={"$top": "1"}).json()["value"][0]
    assert "IsForgotten" not in row and "IsForgotten" not in sim.truth("Customers", "Customers")
    flagged = {"$filter": "IsForgotten eq true"}
    assert client.get(f"{Q}/Customers/Customers", params=flagged).status_code == 400
    # erasing anonymises the row; nothing flags it and Updated does not move
    target = sim.truth("Customers", "Customers").filter(pl.col("EmailAddress").is_not_null())
    customer_id, updated = target["Id"][0], target["Updated"][0]
    assert sim.forget_customers(ids=[customer_id]) == [customer_id]
    served = client.get(f"{Q}/Customers/Customers({customer_id})").json()
    assert served["EmailAddress"] is None and served["FirstName"] is None
    assert "IsForgotten" not in served
    after = sim.truth("Customers", "Customers").filter(pl.col("Id") == customer_id)
    assert after["Updated"][0] == updated


def test_delete_customers_removes_people_and_flags_their_orders(make_client):
    sim = Simulator.create(seed=6, scale=0.02, profile="no_customer_forget_flag")
    client = make_client(sim=sim, admin=True)
    orders = sim.truth("Orders", "Orders").filter(
        pl.col("BuyerCustomerId").is_not_null() & ~pl.col("IsForgotten")
    )
    customer_id = int(orders["BuyerCustomerId"][0])
    links_before = sim.truth("Customers", "CustomerCompanies").height
    reply = client.post("/_sim/customers/delete", json={"ids": [customer_id]})
    assert reply.json() == {"ids": [customer_id]}
    assert client.get(f"{Q}/Customers/Customers({customer_id})").status_code == 404
    addresses = sim.store.frame("Customers", "CustomerAddress")
    assert addresses.filter(pl.col("CustomerId") == customer_id).height == 0
    links = sim.truth("Customers", "CustomerCompanies")
    assert links.filter(pl.col("CustomerId") == customer_id).height == 0
    assert links.height <= links_before
    theirs = sim.truth("Orders", "Orders").filter(pl.col("BuyerCustomerId") == customer_id)
    assert theirs.height > 0 and theirs["IsForgotten"].all()
    before = sim.truth("Customers", "Customers").height
    assert len(sim.delete_customers(n=2)) == 2
    assert sim.truth("Customers", "Customers").height == before - 2


# -- no_updated --------------------------------------------------------------------------


def test_sets_without_updated_keep_created_and_business_date(make_client):
    sim = Simulator.create(seed=7, scale=0.02, profile="no_updated=Orders/DeliveryNotes")
    client = make_client(sim=sim)
    metadata = client.get(f"{Q}/Orders/$metadata").text
    assert declared(metadata, "DeliveryNote", "Updated") is None
    assert declared(metadata, "DeliveryNote", "UpdatedBy") is None
    assert declared(metadata, "DeliveryNote", "Created") == "Edm.DateTimeOffset"
    assert declared(metadata, "Invoice", "Updated") == "Edm.DateTimeOffset"
    row = client.get(f"{Q}/Orders/DeliveryNotes", params={"$top": "1"}).json()["value"][0]
    assert "Updated" not in row and row["Created"] and row["DeliveryDate"]
    url = f"{Q}/Orders/DeliveryNotes"
    assert client.get(url, params={"$filter": f"Updated ge {NEW_YEAR}"}).status_code == 400
    created = client.get(url, params={"$filter": f"Created ge {NEW_YEAR}", "$select": "Id"})
    expected = sim.truth("Orders", "DeliveryNotes").filter(
        pl.col("Created") >= datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert created.status_code == 200
    assert len(created.json()["value"]) == min(500, expected.height)
    invoice = client.get(f"{Q}/Orders/Invoices", params={"$top": "1"}).json()["value"][0]
    assert "Updated" in invoice


# -- minute_budget -----------------------------------------------------------------------


def test_budget_answers_429_without_retry_after_until_the_window_turns(make_client):
    client = make_client(profile="minute_budget=3", admin=True)
    clock = [0.0]
    client.app.budget = WindowBudget(3, 60, clock=lambda: clock[0])
    statuses = [
        client.get(f"{Q}/Orders/$metadata").status_code,
        client.get(f"{Q}/Core/Currencies").status_code,
        client.get(f"{Q}/Orders/Orders", params={"$top": "1"}).status_code,
    ]
    assert statuses == [200, 200, 200]
    limited = client.get(f"{Q}/Orders/Orders", params={"$top": "1"})
    assert limited.status_code == 429
    assert "retry-after" not in limited.headers
    assert limited.json() == {"statusCode": 429, "message": "Rate limit is exceeded."}
    assert client.get(f"{Q}/Core/$metadata").status_code == 429  # metadata counts too
    # the token endpoint and the admin routes are not behind the Query budget
    form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo-secret"}
    assert client.post("/identity/1.0/connect/token", data=form).status_code == 200
    stats = client.get("/_sim/stats").json()
    assert stats["budget_rejected"] == 2 and stats["profile"] == "default,minute_budget=3"
    assert stats["requests"]["by_status"]["429"] == 2
    clock[0] = 60.0
    assert client.get(f"{Q}/Core/Currencies").status_code == 200


def test_no_budget_by_default(make_client):
    client = make_client()
    assert client.app.budget is None
    assert all(client.get(f"{Q}/Core/Currencies").status_code == 200 for _ in range(30))
