"""Scenario: a server that asks us to wait forever, or answers forever, or hands out tokens
that expire at once. Promise: every wait is bounded; the run ends on its own, and a
token is fetched at most once per real expiry.

The subprocess timeouts below are generous upper bounds for a run that works (they are not
timing assertions): a run still going at the deadline hung, and is reported as such.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.scenarios.hostile.cli import CONTROL, norce_wh
from tests.scenarios.hostile.conftest import Hostile
from tests.scenarios.hostile.harness import QUERY, answer, drip, on_token
from tests.scenarios.hostile.reads import assert_ended, scalar

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


@pytest.mark.parametrize(
    "retry_after",
    ["1000000000", "inf", "Fri, 31 Dec 9999 23:59:59 GMT", "soon-ish, maybe"],
    ids=["1e9-seconds", "inf", "year-9999", "garbage"],
)
def test_any_retry_after_is_bounded(hostile: Hostile, tmp_path: Path, retry_after: str) -> None:
    """Found: ``Retry-After: 1000000000`` hung the run with no request sent (the pause was
    applied to the shared throttle before the too-long check); ``inf`` or a date in year
    9999 ended in exit 1 "unexpected OverflowError"."""
    hostile.app.use(
        answer(
            f"^{QUERY}Customers/Customers$",
            429,
            RATE_LIMITED,
            headers={"retry-after": retry_after},
            times=1,
        )
    )
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(
        ["extract", "--entities", "Customers/Customers,Core/Currencies"],
        hostile.env(db),
        timeout=HUNG_AFTER_S,
    )
    assert_ended(out)
    assert out.code in (0, 5, 10), out.describe()
    if out.code:
        assert len(out.error_lines) == 1, out.describe()
    # One set's 429 does not stop the others: the throttle was not paused for ever.
    _loaded(hostile, db, "currencies", "Core", "Currencies")


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
