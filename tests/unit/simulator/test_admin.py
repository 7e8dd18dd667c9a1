"""Admin routes change the running simulator and the Query API shows it at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

Q = "/commerce/query/2.0"


@pytest.fixture
def client(make_client, fresh_sim):
    return make_client(sim=fresh_sim, admin=True)


def order(client, order_id):
    return client.get(f"{Q}/Orders/Orders({order_id})")


def test_clock_advance_moves_the_date_header(client, fresh_sim):
    before = fresh_sim.clock.now()
    reply = client.post("/_sim/clock/advance", json={"seconds": 7200})
    assert reply.status_code == 200
    now = datetime.fromisoformat(reply.json()["now"])
    assert now - before >= timedelta(seconds=7200)


def test_create_orders_are_served_and_new(client, fresh_sim):
    old_max = fresh_sim.truth("Orders", "Orders")["Id"].max()
    reply = client.post("/_sim/orders", json={"count": 3, "application_id": 2})
    ids = reply.json()["ids"]
    assert len(ids) == 3 and min(ids) > old_max
    for order_id in ids:
        body = order(client, order_id).json()
        assert body["ApplicationId"] == 2
        assert body["Updated"] is None


def test_update_orders_stamps_updated_with_the_clock(client, fresh_sim):
    client.post("/_sim/clock/advance", json={"seconds": 3600})
    ids = client.post("/_sim/orders/update", json={"count": 2}).json()["ids"]
    assert len(ids) == 2
    now = fresh_sim.clock.now()
    for order_id in ids:
        updated = datetime.fromisoformat(order(client, order_id).json()["Updated"])
        assert abs(now - updated) < timedelta(seconds=5)
    by_id = client.post("/_sim/orders/update", json={"ids": [ids[0]]}).json()["ids"]
    assert by_id == [ids[0]]


def test_forget_orders_flags_without_touching_updated(client):
    order_id = client.get(f"{Q}/Orders/Orders", params={"$top": "1"}).json()["value"][0]["Id"]
    before = order(client, order_id).json()
    assert client.post("/_sim/orders/forget", json={"ids": [order_id]}).json()["ids"] == [order_id]
    after = order(client, order_id).json()
    assert (before["IsForgotten"], after["IsForgotten"]) == (False, True)
    assert after["Updated"] == before["Updated"]
    flagged = client.get(f"{Q}/Orders/Orders", params={"$filter": "IsForgotten eq true"}).json()
    assert order_id in [row["Id"] for row in flagged["value"]]


def test_customers_update_and_forget(client):
    assert len(client.post("/_sim/customers/update", json={"count": 2}).json()["ids"]) == 2
    assert len(client.post("/_sim/customers/forget", json={"count": 1}).json()["ids"]) == 1


def test_delete_orders_makes_them_404(client):
    order_id = client.get(f"{Q}/Orders/Orders", params={"$top": "1"}).json()["value"][0]["Id"]
    assert client.post("/_sim/orders/delete", json={"ids": [order_id]}).json()["ids"] == [order_id]
    assert order(client, order_id).status_code == 404


def test_schema_drift_shows_in_json_and_metadata(client):
    reply = client.post(
        "/_sim/schema/add-property",
        json={"namespace": "Core", "type": "Currency", "name": "Symbol", "edm_type": "Edm.String"},
    )
    assert reply.status_code == 200 and reply.json()["schema_version"] >= 1
    row = client.get(f"{Q}/Core/Currencies", params={"$top": "1"}).json()["value"][0]
    assert "Symbol" in row
    assert b"Symbol" in client.get(f"{Q}/Core/$metadata").content
    assert client.get(f"{Q}/Core/Currencies", params={"$select": "Symbol"}).status_code == 200
    client.post(
        "/_sim/schema/change-type",
        json={"namespace": "Core", "type": "Currency", "name": "Symbol", "edm_type": "Edm.Int32"},
    )
    client.post(
        "/_sim/schema/remove-property",
        json={"namespace": "Core", "type": "Currency", "name": "Symbol"},
    )
    row = client.get(f"{Q}/Core/Currencies", params={"$top": "1"}).json()["value"][0]
    assert "Symbol" not in row
    assert client.get(f"{Q}/Core/Currencies", params={"$select": "Symbol"}).status_code == 400


def test_faults_switch_at_run_time(client):
    assert client.post("/_sim/faults", json={"spec": "error_rate=1"}).json() == {
        "faults": "error_rate=1"
    }
    assert client.get(f"{Q}/Core/Currencies").status_code in (500, 502, 503, 504)
    assert client.post("/_sim/faults", json={"spec": ""}).json() == {"faults": ""}
    assert client.get(f"{Q}/Core/Currencies").status_code == 200
    bad = client.post("/_sim/faults", json={"spec": "bogus=1"})
    assert bad.status_code == 400 and "bogus" in bad.json()["error"]


def test_stats_count_requests_tokens_and_rows(client, fresh_sim):
    client.get(f"{Q}/Core/Currencies")
    client.get(f"{Q}/Core/Nope")
    stats = client.get("/_sim/stats").json()
    assert stats["tokens_issued"] == 1
    assert stats["requests"]["by_path"]["Core/Currencies"]["200"] == 1
    assert stats["requests"]["by_path"]["Core/Nope"]["404"] == 1
    assert stats["requests"]["by_status"]["200"] >= 2  # token + query
    assert stats["rows"] == fresh_sim.stats()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/_sim/nope", {}, 404),
        ("GET", "/_sim/orders", None, 405),
        ("POST", "/_sim/stats", {}, 405),
        ("POST", "/_sim/clock/advance", {"seconds": "soon"}, 400),
        ("POST", "/_sim/orders/update", {"ids": ["x"]}, 400),
        ("POST", "/_sim/schema/add-property", {"namespace": "Core"}, 400),
    ],
)
def test_bad_admin_requests(client, method, path, body, status):
    reply = (
        client.request(method, path, json=body)
        if body is not None
        else client.request(method, path)
    )
    assert reply.status_code == status
    assert "error" in reply.json()


def test_admin_body_must_be_json(client):
    reply = client.post("/_sim/orders", content=b"{nope")
    assert reply.status_code == 400


def test_truth_matches_what_is_served(client, fresh_sim):
    client.post("/_sim/orders", json={"count": 5})
    served = []
    url = f"{Q}/Orders/Orders"
    params = {"$select": "Id"}
    while url:
        body = client.get(url, params=params).json()
        served += [r["Id"] for r in body["value"]]
        url, params = body.get("@odata.nextLink"), None
    assert served == fresh_sim.truth("Orders", "Orders").sort("Id")["Id"].to_list()
    assert pl.Series(served).is_unique().all()


def test_rename_cost_and_rate_routes_change_what_the_api_serves(client, fresh_sim):
    renamed = client.post(
        "/_sim/rename",
        json={"namespace": "Core", "set": "PaymentMethods", "key": 2, "name": "Faktura"},
    )
    assert renamed.json() == {"renamed": 1}
    body = client.get(f"{Q}/Core/PaymentMethods(2)").json()
    assert body["DefaultName"] == "Faktura"

    price = fresh_sim.truth("Products", "ProductSkuPriceLists").row(0, named=True)
    changed = client.post(
        "/_sim/costs",
        json={"part_no": price["PartNo"], "price_list_id": price["PriceListId"], "cost": 9.5},
    )
    assert changed.json() == {"changed": 1}

    rate = client.post("/_sim/currencies/rate", json={"code": "nok", "rate": 0.0901})
    assert rate.json() == {"code": "NOK", "rate": "0.0901"}
    nok = client.get(f"{Q}/Core/Currencies", params={"$filter": "Code eq 'NOK'"}).json()
    assert nok["value"][0]["ExchangeRate"] == pytest.approx(0.0901)
    bad = client.post("/_sim/currencies/rate", json={"code": "XXX", "rate": 1})
    assert bad.status_code == 400 and "XXX" in bad.json()["error"]
