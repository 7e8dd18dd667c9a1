"""Privacy policy: actions per personal-data kind, overrides, salted hashing."""

from __future__ import annotations

import hashlib
import pickle

import pytest

from extract.schema.privacy import DEFAULT_ACTIONS, PrivacyPolicy


def test_default_actions_per_kind() -> None:
    policy = PrivacyPolicy("salt")

    assert policy.action("orders", "Buyer_EmailAddress", "email") == "hash"
    assert policy.action("orders", "Buyer_FirstName", "name") == "drop"
    assert policy.action("orders", "Buyer_PhoneNumber", "phone") == "drop"
    assert policy.action("orders", "DeliveryAddressLine1", "street") == "drop"
    assert policy.action("orders", "OrderNo", None) == "keep"
    assert DEFAULT_ACTIONS == {"email": "hash", "name": "drop", "phone": "drop", "street": "drop"}


def test_overrides_win_per_table_and_column() -> None:
    policy = PrivacyPolicy(
        "salt",
        {
            "orders.Buyer_EmailAddress": "keep",
            "customers.FirstName": "hash",
            "orders.DeliveryMark": "drop",
        },
    )

    assert policy.action("orders", "Buyer_EmailAddress", "email") == "keep"
    # The override names one table: the same column elsewhere keeps the default.
    assert policy.action("orders", "Payer_EmailAddress", "email") == "hash"
    assert policy.action("customers", "FirstName", "name") == "hash"
    assert policy.action("orders", "FirstName", "name") == "drop"
    # A column the catalog does not mark as personal can be dropped too.
    assert policy.action("orders", "DeliveryMark", None) == "drop"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"FirstName": "drop"}, "'FirstName' is not written table.Column"),
        ({"orders.": "drop"}, "is not written table.Column"),
        ({"orders.FirstName": "encrypt"}, "unknown action 'encrypt'"),
    ],
)
def test_bad_overrides_are_rejected(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrivacyPolicy("salt", overrides)


def test_empty_salt_is_rejected() -> None:
    with pytest.raises(ValueError, match="salt is empty"):
        PrivacyPolicy("")


def test_hash_is_salted_sha256_of_the_normalised_value() -> None:
    expected = hashlib.sha256(b"pepper\x00ann@example.se").hexdigest()

    hashed = PrivacyPolicy("pepper").hash_values(["ann@example.se", "  Ann@Example.SE "])

    assert hashed == [expected, expected]


def test_hash_is_stable_and_depends_on_the_salt() -> None:
    values = ["ann@example.se", "bo@example.se"]

    first = PrivacyPolicy("salt-1").hash_values(values)
    again = PrivacyPolicy("salt-1").hash_values(values)
    other = PrivacyPolicy("salt-2").hash_values(values)

    assert first == again
    assert first[0] != first[1]
    assert set(first).isdisjoint(other)


def test_missing_and_blank_values_hash_to_none() -> None:
    assert PrivacyPolicy("salt").hash_values([None, "", "   "]) == [None, None, None]


def test_repr_does_not_show_the_salt() -> None:
    policy = PrivacyPolicy("super-secret-salt", {"orders.X": "drop"})

    assert "super-secret-salt" not in repr(policy)
    assert "orders.X" in repr(policy)


def test_policy_survives_pickling() -> None:
    """Prefect may ship the policy to another process with a task's arguments."""
    policy = PrivacyPolicy("salt", {"orders.OrderNo": "drop"})

    copy = pickle.loads(pickle.dumps(policy))

    assert copy.hash_values(["a@x.se"]) == policy.hash_values(["a@x.se"])
    assert copy.action("orders", "OrderNo", None) == "drop"
