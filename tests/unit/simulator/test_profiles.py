"""Tenant profiles: parsing specs, the named bundles, and how they shape the schema."""

from __future__ import annotations

import pytest

from simulator.app import create_app
from simulator.budget import WindowBudget
from simulator.edmx import render_metadata
from simulator.profiles import DEFAULT, PROFILES, Profile, shape_schema, string_id_properties
from simulator.schema import build_schema


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _docs_fields():
    docs = PROFILES["docs-2.0"]
    return {name: getattr(docs, name) for name in docs.__dataclass_fields__}


# -- specs -----------------------------------------------------------------------------


def test_named_profiles_and_the_default():
    assert Profile.parse("") == Profile.parse(None) == Profile.parse("default") == DEFAULT
    assert Profile() == DEFAULT and DEFAULT.name == "default"
    docs = Profile.parse("docs-2.0")
    assert docs == PROFILES["docs-2.0"] and docs.name == "docs-2.0"
    # docs-2.0 switches every behaviour on
    assert docs.string_ids and docs.no_count and docs.header_everywhere
    assert docs.reporting_down and docs.no_customer_forget_flag
    assert docs.no_updated == ("Orders/DeliveryNotes",)
    assert docs.minute_budget is not None and docs.budget_window_s == 60


def test_switches_combine_on_any_profile():
    assert Profile.parse("string_ids,no_count") == Profile(string_ids=True, no_count=True)
    assert Profile.parse("default,header_everywhere=true,reporting_down=1") == Profile(
        header_everywhere=True, reporting_down=True
    )
    relaxed = Profile.parse("docs-2.0,minute_budget=none,string_ids=false")
    assert relaxed.minute_budget is None and not relaxed.string_ids and relaxed.no_count
    listed = Profile.parse("no_updated=Orders/DeliveryNotes,Orders/Invoices,minute_budget=5")
    assert listed == Profile(
        no_updated=("Orders/DeliveryNotes", "Orders/Invoices"), minute_budget=5
    )
    assert Profile.parse("minute_budget=10,budget_window_s=0.5").budget_window_s == 0.5


@pytest.mark.parametrize(
    "profile",
    [
        DEFAULT,
        PROFILES["docs-2.0"],
        Profile(string_ids=True),
        Profile(no_updated=("Orders/DeliveryNotes", "Orders/Invoices")),
        Profile(minute_budget=7, budget_window_s=2.5),
        Profile(no_count=True),
        Profile(**{**_docs_fields(), "minute_budget": None}),
        Profile(**{**_docs_fields(), "no_updated": ()}),
    ],
)
def test_spec_round_trips(profile):
    spec = profile.to_spec()
    assert Profile.parse(spec) == profile
    if profile.name is not None:
        assert spec == profile.name


def test_a_custom_profile_is_spelled_against_the_nearest_named_one():
    assert Profile(**{**_docs_fields(), "minute_budget": None}).to_spec() == (
        "docs-2.0,minute_budget=none"
    )
    assert Profile(no_count=True).to_spec() == "default,no_count"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("docs-3.0", ["unknown profile 'docs-3.0'", "default, docs-2.0"]),
        ("docs-2.0,strings", ["unknown switch 'strings'", "string_ids"]),
        ("no_count=maybe", ["no_count", "'maybe' is not true/false"]),
        ("minute_budget=0", ["minute_budget", "positive whole number"]),
        ("minute_budget", ["minute_budget: needs a value"]),
        ("budget_window_s=-1", ["budget_window_s must be a positive"]),
        ("no_updated=Orders", ["'Orders' is not <Namespace>/<Set>"]),
        ("no_count,no_count", ["'no_count' given twice"]),
    ],
)
def test_bad_specs_say_what_is_wrong_and_what_exists(spec, words):
    with pytest.raises(ValueError) as caught:
        Profile.parse(spec)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert "profiles: default, docs-2.0" in message


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValueError) as caught:
        Profile.parse("nope,bad_switch,no_count=2")
    message = str(caught.value)
    assert "unknown profile 'nope'" in message
    assert "unknown switch 'bad_switch'" in message
    assert "no_count" in message


# -- the schema ------------------------------------------------------------------------


def test_default_leaves_every_metadata_document_unchanged():
    shaped, plain = build_schema(), build_schema()
    shape_schema(shaped, DEFAULT)
    for namespace in plain.namespaces:
        assert render_metadata(shaped, namespace) == render_metadata(plain, namespace)
    assert shaped.version == 0


def test_string_ids_are_the_documented_ones_and_their_join_partners():
    schema = build_schema()
    found = string_id_properties(schema)
    documented = {
        ("Orders", "Order", "Id"),
        ("Orders", "OrderItem", "Id"),
        ("Orders", "OrderItem", "OrderId"),
        ("Orders", "Invoice", "Id"),
        ("Orders", "Invoice", "ReferenceOrderId"),
        ("Orders", "DeliveryNote", "Id"),
        ("Orders", "OrderCustomerInfo", "Id"),
        ("Orders", "InvoiceItem", "InvoiceId"),
        ("Orders", "DeliveryNoteItem", "DeliveryNoteId"),
    }
    assert documented <= found
    # not documented as strings, but joined to OrderCustomerInfo.Id by Buyer/Payer/ShipTo:
    # OData wants both sides of a referential constraint to have one type
    for column in ("BuyerCustomerInfoId", "PayerCustomerInfoId", "ShipToCustomerInfoId"):
        assert ("Orders", "Order", column) in found
    assert {namespace for namespace, _, _ in found} == {"Orders"}
    assert ("Orders", "Order", "ApplicationId") not in found
    # every navigation joins columns of one type
    shape_schema(schema, Profile(string_ids=True))
    for et in schema.namespace("Orders").types.values():
        for nav in et.navigations:
            target = schema.entity_type("Orders", nav.target)
            for local, remote in zip(nav.local_keys, nav.remote_keys, strict=True):
                assert et.prop(local).edm_type == target.prop(remote).edm_type


def test_data_switches_shape_metadata():
    schema = build_schema()
    shape_schema(schema, PROFILES["docs-2.0"])
    assert schema.entity_type("Orders", "Order").prop("Id").edm_type == "Edm.String"
    assert not schema.entity_type("Customers", "Customer").has_property("IsForgotten")
    assert schema.entity_type("Orders", "Order").has_property("IsForgotten")
    delivery_note = schema.entity_type("Orders", "DeliveryNote")
    assert not delivery_note.has_property("Updated")
    assert not delivery_note.has_property("UpdatedBy")
    assert delivery_note.has_property("Created") and delivery_note.has_property("DeliveryDate")
    assert schema.entity_type("Orders", "Invoice").has_property("Updated")
    assert schema.version == 0


def test_no_updated_refuses_an_unknown_set():
    with pytest.raises(ValueError, match="Orders/Nope"):
        shape_schema(build_schema(), Profile(no_updated=("Orders/Nope",)))


def test_an_app_cannot_reshape_the_data_of_its_simulator(small_sim):
    # request switches may differ from the simulator's profile ...
    app = create_app(small_sim, profile="no_count,header_everywhere,minute_budget=3")
    assert app.profile.no_count and app.budget is not None
    assert create_app(small_sim).profile == small_sim.profile == DEFAULT
    # ... data switches may not: the schema was built without them
    with pytest.raises(ValueError, match=r"Simulator.create\(profile=...\)"):
        create_app(small_sim, profile="docs-2.0")
    with pytest.raises(ValueError, match="unknown profile"):
        create_app(small_sim, profile="docs-9")


# -- the request budget ----------------------------------------------------------------


def test_budget_admits_n_per_fixed_window_and_rejections_do_not_count():
    clock = FakeClock()
    clock.now = 960.0  # windows are [960, 1020), [1020, 1080), ...
    budget = WindowBudget(3, window_s=60, clock=clock)
    assert [budget.admit() for _ in range(5)] == [True, True, True, False, False]
    clock.now += 30  # same window: still spent, however long the client waited
    assert not budget.admit()
    assert budget.rejected == 3
    clock.now = 1020.0  # 1020 / 60 = 17: the next window
    assert [budget.admit() for _ in range(4)] == [True, True, True, False]


def test_budget_rejects_nonsense():
    with pytest.raises(ValueError):
        WindowBudget(0)
    with pytest.raises(ValueError):
        WindowBudget(5, window_s=0)
