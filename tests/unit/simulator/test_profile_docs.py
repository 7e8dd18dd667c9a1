"""The ``docs-2.0`` profile as one tenant, in process: every switch at once, and the admin
routes and truth in its shape."""

from __future__ import annotations

import polars as pl
import pytest

from simulator.control import Simulator
from simulator.profiles import PROFILES

Q = "/commerce/query/2.0"


@pytest.fixture
def docs_sim() -> Simulator:
    return Simulator.create(seed=8, scale=0.02, profile="docs-2.0")


@pytest.fixture
def docs(make_client, docs_sim):
    return make_client(sim=docs_sim, admin=True)


def test_docs_profile_switches_everything_on_together(docs, docs_sim):
    assert docs_sim.profile == PROFILES["docs-2.0"] and docs.app.profile == docs_sim.profile
    # string ids
    order = docs.get(f"{Q}/Orders/Orders", params={"$top": "1"}).json()["value"][0]
    assert isinstance(order["Id"], str)
    # $count refused
    assert docs.get(f"{Q}/Orders/Orders", params={"$count": "true"}).status_code == 400
    # Reporting down, with its metadata
    assert docs.get(f"{Q}/Reporting/$metadata").status_code == 500
    # customers without the flag, delivery notes without Updated
    customer = docs.get(f"{Q}/Customers/Customers", params={"$top": "1"}).json()["value"][0]
    assert "IsForgotten" not in customer and "Updated" in customer
    note = docs.get(f"{Q}/Orders/DeliveryNotes", params={"$top": "1"}).json()["value"][0]
    assert "Updated" not in note and "Created" in note
    # a gateway budget
    assert docs.app.budget is not None and docs.app.budget.limit == 200
    assert docs.app.budget.window_s == 60
    # the header on everything, discovery included
    del docs.headers["applicationId"]
    for path in ("Core/$metadata", "Core/Applications", "Orders/Orders"):
        assert docs.get(f"{Q}/{path}").status_code == 500, path


def test_admin_speaks_served_ids(docs, docs_sim):
    created = docs.post("/_sim/orders", json={"count": 2, "application_id": 1}).json()["ids"]
    assert all(isinstance(i, str) for i in created)
    served = docs.get(f"{Q}/Orders/Orders('{created[0]}')").json()
    assert served["Id"] == created[0]
    # digit strings (as served) and numbers both work as ids
    updated = docs.post("/_sim/orders/update", json={"ids": [created[0], int(created[1])]})
    assert updated.json() == {"ids": created}
    assert docs.post("/_sim/orders/update", json={"ids": ["x1"]}).status_code == 400
    forgotten = docs.post("/_sim/customers/forget", json={"count": 1}).json()["ids"]
    assert all(isinstance(i, int) for i in forgotten)  # customer ids are Edm.Int32
    assert docs.get("/_sim/stats").json()["profile"] == "docs-2.0"


def test_truth_is_in_the_served_shape(docs, docs_sim):
    truth = docs_sim.truth("Orders", "Orders")
    assert truth.schema["Id"] == pl.String
    ids = []
    url, params = f"{Q}/Orders/Orders", {"$select": "Id"}
    while url:
        body = docs.get(url, params=params).json()
        ids += [row["Id"] for row in body["value"]]
        url, params = body.get("@odata.nextLink"), None
    assert ids == truth["Id"].to_list()
    assert "IsForgotten" not in docs_sim.truth("Customers", "Customers").columns
    assert "Updated" not in docs_sim.truth("Orders", "DeliveryNotes").columns
    numeric = docs_sim.store.base("Orders", "Order")["Id"].to_list()
    assert docs_sim.served_ids("Orders", "Order", numeric[:2]) == ids[:2]
    assert docs_sim.served_ids("Customers", "Customer", [1, 2]) == [1, 2]


def test_same_seed_same_data_under_every_profile(docs_sim):
    plain = Simulator.create(seed=8, scale=0.02)
    served = docs_sim.truth("Orders", "Orders")
    numeric = plain.truth("Orders", "Orders")
    assert served["Id"].to_list() == [str(i) for i in numeric["Id"].to_list()]
    assert served.select("OrderNo", "FreightCost").equals(numeric.select("OrderNo", "FreightCost"))
