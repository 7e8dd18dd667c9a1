"""Scenario: replies far bigger than a page should be -- a gzip bomb, a 300 MB ``$metadata``,
a million rows for ``$top=500``. Promise: decoded sizes are capped (settings with sane
defaults, named in one clear line when exceeded), memory stays bounded, and a page with
more rows than asked is reported instead of stored.

Peak memory is the child's own ``ru_maxrss`` (see :mod:`tests.scenarios.hostile.cli`); a
small extract peaks near 350 MiB on the development machine, so 1 GiB leaves ample room
while catching a reply held whole in memory.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.scenarios.hostile.cli import norce_wh
from tests.scenarios.hostile.conftest import Hostile
from tests.scenarios.hostile.harness import MIB, QUERY
from tests.scenarios.hostile.reads import (
    assert_clean_failure,
    assert_ended,
    has_table,
    last_line,
    scalar,
)
from tests.scenarios.hostile.rules import gzip_bomb, huge_metadata, rows_page

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

PEAK_MIB = 1024
"""Ample for a small extract (~350 MiB), far below a 1 GiB reply held in memory."""


def _customers(hostile: Hostile) -> int:
    truth = hostile.sim.truth("Customers", "Customers")
    return truth.filter(~pl.col("IsForgotten")).height


def test_a_gzip_bomb_is_refused_with_bounded_memory(hostile: Hostile, tmp_path: Path) -> None:
    """Found: a 1 MB gzip reply that inflates to 1 GiB ended in exit 0 at 2.44 GB peak
    memory (and, parsed as an empty page, an empty table)."""
    hostile.app.use(gzip_bomb(f"^{QUERY}Customers/Customers$", times=1))
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(["extract", "--entities", "Customers/Customers"], hostile.env(db))
    assert_ended(out)
    assert out.max_rss_mb < PEAK_MIB, out.describe()
    assert "NORCE_MAX_REPLY_MB" in out.output, "the line names the cap to raise"
    assert out.code == 0, out.describe()  # the bomb was refused; its retry loaded
    assert scalar(db, "select count(*) from raw.customers") == _customers(hostile)


def test_a_huge_metadata_document_is_refused_with_bounded_memory(
    hostile: Hostile, tmp_path: Path
) -> None:
    """Found: a 300 MB ``$metadata`` was read whole (1.56 GB peak); no size cap anywhere."""
    hostile.app.use(huge_metadata("Customers", 300 * MIB))
    out = norce_wh(
        ["extract", "--entities", "Customers/Customers"],
        hostile.env(tmp_path / "wh" / "norce.duckdb"),
    )
    assert out.max_rss_mb < PEAK_MIB, out.describe()
    assert_clean_failure(out)
    last = last_line(out)
    assert "$metadata" in last and "NORCE_MAX_METADATA_MB" in last, out.describe()


def test_a_page_with_more_rows_than_asked_is_reported_not_stored(
    hostile: Hostile, tmp_path: Path
) -> None:
    """Found: a page of 1,000,000 rows for ``$top=500`` was accepted; only "match NO" in
    the report."""

    def currency(i: int) -> dict[str, object]:
        # Slim rows (about 25 MB in all): the page must be odd for its row count, not for
        # its size, which the reply size cap judges on its own.
        return {"Id": 1000 + i, "Code": "X"}

    # Twice: the capability probe asks first ($top=1; it only judges the status), then the
    # first page; the next page (after the last generated key) comes from the real source.
    hostile.app.use(rows_page(f"^{QUERY}Core/Currencies$", currency, 1_000_000, times=2))
    db = tmp_path / "wh" / "norce.duckdb"
    out = norce_wh(["extract", "--entities", "Core/Currencies,Core/VatCodes"], hostile.env(db))
    assert_ended(out)
    assert "more rows than" in out.output, out.describe()
    assert out.code in (6, 10), out.describe()
    if has_table(db, "raw", "currencies"):
        assert scalar(db, "select count(*) from raw.currencies") < 1000
    vat_codes = hostile.sim.truth("Core", "VatCodes").height
    assert scalar(db, "select count(*) from raw.vat_codes") == vat_codes, "the other set loaded"
