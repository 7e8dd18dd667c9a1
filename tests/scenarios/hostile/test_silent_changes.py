"""Scenario: changes a run must not make silently -- emptying a lookup because the first page
came back empty, and a source property that collides with the loader's own ``_deleted_at``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.scenarios.hostile.cli import Outcome, norce_wh
from tests.scenarios.hostile.conftest import Hostile
from tests.scenarios.hostile.harness import QUERY
from tests.scenarios.hostile.reads import assert_ended, scalar, traces
from tests.scenarios.hostile.rules import answer, on_body, on_page

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

LOOKUPS = ["extract", "--entities", "Core/Currencies,Core/VatCodes"]


@dataclass
class EmptyLookups:
    before: dict[str, int]
    out: Outcome
    db: Path


@pytest.fixture(scope="module")
def empty_lookups(
    hostile_server: Hostile, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmptyLookups]:
    """Both lookups loaded from a clean source, then refreshed from one that sends empty
    first pages: ``Core/Currencies`` without a word, ``Core/VatCodes`` with ``$count`` 0."""
    db = tmp_path_factory.mktemp("empty-lookups") / "wh" / "norce.duckdb"
    env = hostile_server.env(db)
    first = norce_wh(LOOKUPS, env)
    assert first.code == 0, first.describe()
    before = {t: scalar(db, f"select count(*) from raw.{t}") for t in ("currencies", "vat_codes")}

    def empty(doc: dict[str, object]) -> dict[str, object]:
        return {"@odata.context": doc.get("@odata.context"), "value": []}

    def confirmed_empty(doc: dict[str, object]) -> dict[str, object]:
        return {**empty(doc), "@odata.count": 0}

    hostile_server.app.use(
        on_page(f"^{QUERY}Core/Currencies$", empty),
        on_page(f"^{QUERY}Core/VatCodes$", confirmed_empty),
        answer(f"^{QUERY}Core/VatCodes/\\$count$", 200, b"0", content_type=b"text/plain"),
    )
    try:
        out = norce_wh(LOOKUPS, env)
    finally:
        hostile_server.app.use()
    yield EmptyLookups(before, out, db)


def test_an_empty_first_page_does_not_empty_a_lookup(empty_lookups: EmptyLookups) -> None:
    """Found: an empty first page for a fully refreshed lookup (``Core/Currencies``)
    emptied ``raw.currencies`` with exit 0; the next ``run`` failed a dbt relationship
    test."""
    out, db = empty_lookups.out, empty_lookups.db
    assert_ended(out)
    assert empty_lookups.before["currencies"] == 5
    assert scalar(db, "select count(*) from raw.currencies") == 5, "the old rows are kept"
    warned = [line for line in out.lines if "WARNING" in line and "Core/Currencies" in line]
    assert warned, out.describe()


def test_a_lookup_the_source_confirms_empty_is_emptied(empty_lookups: EmptyLookups) -> None:
    """The other side of the rule: when ``$count`` confirms zero rows, the lookup is empty."""
    assert_ended(empty_lookups.out)
    assert empty_lookups.before["vat_codes"] > 0
    assert scalar(empty_lookups.db, "select count(*) from raw.vat_codes") == 0


def test_a_source_property_named_like_a_loader_column_does_not_collide(
    hostile: Hostile, tmp_path: Path
) -> None:
    """Found: a source property named ``_deleted_at`` made the loader retype its own column,
    then exit 8 with a misleading disk/permissions hint."""
    declared = b'<Property Name="_deleted_at" Type="Edm.String"/>'

    def declare(body: bytes) -> bytes:
        head, sep, tail = body.partition(b'<EntityType Name="Customer">')
        key_end = tail.index(b"</Key>") + len(b"</Key>")
        return head + sep + tail[:key_end] + declared + tail[key_end:]

    def send(doc: dict[str, object]) -> None:
        for row in doc.get("value") or []:  # type: ignore[attr-defined]
            row["_deleted_at"] = "source-says-archived"

    hostile.app.use(
        on_body(f"^{QUERY}Customers/\\$metadata$", declare),
        # The service declares the property, so it answers a $select naming it (the
        # simulator would not: the wrapper asks it without, then adds the property).
        on_page(f"^{QUERY}Customers/Customers$", send, unselect="_deleted_at"),
    )
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(["extract", "--entities", "Customers/Customers"], hostile.env(db))
    assert out.code == 0, out.describe()
    truth = hostile.sim.truth("Customers", "Customers").filter(~pl.col("IsForgotten"))
    assert scalar(db, "select count(*) from raw.customers") == truth.height
    assert any(t.startswith("raw.customers.") for t in traces(db, "source-says-archived"))
