"""Scenario: a server that asks us to wait forever, or answers forever, or hands out tokens
that expire at once. Promise: every wait is bounded; the run ends on its own, and a
token is fetched at most once per real expiry.

The subprocess timeouts below are generous upper bounds for a run that works (they are not
timing assertions): a run still going at the deadline hung, and is reported as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.scenarios.hostile.cli import CONTROL, Outcome, norce_wh
from tests.scenarios.hostile.conftest import Hostile
from tests.scenarios.hostile.harness import QUERY, Rule
from tests.scenarios.hostile.reads import assert_ended, last_line, scalar
from tests.scenarios.hostile.rules import answer, drip, on_token

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

RATE_LIMITED = b'{"error":{"code":"TooManyRequests","message":"Rate limit exceeded."}}'
HUNG_AFTER_S = 360.0
"""A run of two small sets takes well under a minute; one still going after this hung."""


def _loaded(hostile: Hostile, db: Path, table: str, ns: str, entity_set: str) -> None:
    truth = hostile.sim.truth(ns, entity_set)
    if "IsForgotten" in truth.columns:  # purged by every load
        truth = truth.filter(~pl.col("IsForgotten"))
    want = truth.height
    assert scalar(db, f"select count(*) from raw.{table}") == want


RETRY_AFTER = {
    # entity set -> (table, Retry-After it gets once)
    "Customers/Customers": ("customers", "1000000000"),
    "Customers/Companies": ("companies", "inf"),
    "Orders/Invoices": ("invoices", "Fri, 31 Dec 9999 23:59:59 GMT"),
}


@dataclass
class Waited:
    out: Outcome
    db: Path


def _rate_limited_once(entity: str, retry_after: str) -> Rule:
    headers = {"retry-after": retry_after}
    return answer(f"^{QUERY}{entity}$", 429, RATE_LIMITED, headers=headers, times=1)


@pytest.fixture(scope="module")
def huge_waits(
    hostile_server: Hostile, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Waited]:
    """One run in which three sets each get one 429 asking for an absurd wait, next to a
    clean set (``Core/Currencies``)."""
    hostile_server.app.use(*(_rate_limited_once(e, v) for e, (_, v) in RETRY_AFTER.items()))
    db = tmp_path_factory.mktemp("retry-after") / "wh" / "norce.duckdb"
    entities = ",".join([*RETRY_AFTER, "Core/Currencies"])
    try:
        out = norce_wh(
            ["extract", "--entities", entities], hostile_server.env(db), timeout=HUNG_AFTER_S
        )
    finally:
        hostile_server.app.use()
    yield Waited(out, db)


def _bounded(hostile: Hostile, waited: Waited) -> None:
    out = waited.out
    assert_ended(out)
    assert out.code in (0, 5, 10), out.describe()
    if out.code:
        assert last_line(out).startswith("error: "), out.describe()
    # One set's 429 does not stop the others: the throttle was not paused for ever.
    _loaded(hostile, waited.db, "currencies", "Core", "Currencies")


@pytest.mark.parametrize("entity", list(RETRY_AFTER), ids=["1e9-seconds", "inf", "year-9999"])
def test_an_absurd_retry_after_is_bounded(
    hostile: Hostile, huge_waits: Waited, entity: str
) -> None:
    """Found: ``Retry-After: 1000000000`` hung the run with no request sent (the pause was
    applied to the shared throttle before the too-long check); ``inf`` or a date in year
    9999 ended in exit 1 "unexpected OverflowError"."""
    _bounded(hostile, huge_waits)
    table, _ = RETRY_AFTER[entity]
    failed = [line for line in huge_waits.out.error_lines if entity in line]
    if not failed:  # waited within the cap, or failed the request and retried it later
        ns, entity_set = entity.split("/")
        _loaded(hostile, huge_waits.db, table, ns, entity_set)


def test_a_garbage_retry_after_is_read_as_no_advice(hostile: Hostile, tmp_path: Path) -> None:
    """Held: an unreadable ``Retry-After`` falls back to the normal backoff."""
    hostile.app.use(_rate_limited_once("Customers/Customers", "soon-ish, maybe"))
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(
        ["extract", "--entities", "Customers/Customers,Core/Currencies"],
        hostile.env(db),
        timeout=HUNG_AFTER_S,
    )
    _bounded(hostile, Waited(out, db))
    assert out.code == 0, out.describe()
    _loaded(hostile, db, "customers", "Customers", "Customers")


def test_a_dripping_reply_fails_in_bounded_time(hostile: Hostile, tmp_path: Path) -> None:
    """Found: a reply sending ``{"value":[`` and then one byte every 2 s hung the run with
    ``NORCE_TIMEOUT_S=3`` (the timeout is per read, not per reply)."""
    hostile.app.use(drip(f"^{QUERY}Customers/Customers$", b'{"value":[', 2.0, times=1))
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(
        ["extract", "--entities", "Customers/Customers"],
        hostile.env(db, NORCE_TIMEOUT_S="3"),
        timeout=HUNG_AFTER_S,
    )
    assert_ended(out)
    assert out.code == 0, out.describe()  # the dripping reply failed; its retry loaded
    _loaded(hostile, db, "customers", "Customers", "Customers")


@pytest.mark.parametrize("expires_in", [0, -30, "NaN"], ids=["zero", "negative", "NaN"])
def test_a_token_that_expires_at_once_is_not_fetched_per_request(
    hostile: Hostile, tmp_path: Path, expires_in: object
) -> None:
    """Found: ``expires_in`` of 0, negative or "NaN" made the loader fetch a new token
    before every request (37 token requests for 28 GETs), and the token endpoint's own
    limit then slowed the run to one GET per ~20 s."""

    def short_lived(doc: dict[str, object]) -> None:
        doc["expires_in"] = expires_in

    hostile.app.use(on_token(short_lived))
    tokens_before, all_before = hostile.requests("token"), hostile.requests()
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(
        ["extract", "--entities", "Customers/Customers,Core/Currencies,Core/Countries"],
        hostile.env(db),
        timeout=HUNG_AFTER_S,
    )
    tokens = hostile.requests("token") - tokens_before
    gets = hostile.requests() - all_before - tokens
    assert out.code == 0, out.describe()
    _loaded(hostile, db, "customers", "Customers", "Customers")
    assert gets >= 4, "enough requests for a per-request token to show"
    assert tokens <= 2, f"{tokens} token requests for {gets} GETs"
    assert not CONTROL.search(out.output)
