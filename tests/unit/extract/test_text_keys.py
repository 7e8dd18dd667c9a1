"""Text keys of different lengths, end to end through the loader's one API.

The tenant serves invoice ids as strings ordered as text ('10' < '100' < '9'): every id must
land in raw exactly once, paging with string literals; a second run resumes by the stored
watermark; ``$count`` refused by the tenant is learned once and the rows still load.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from extract import RunRequest, extract
from extract.settings import Settings, load_settings
from tests.unit.extract.fake_textkeys import IDS, TextKeyInvoices, serve_text_keys
from tests.unit.extract.transport_fakes import Tenant

INVOICES = RunRequest(entities=("Orders/Invoices",))


def settings_for(tmp_path: Path) -> Settings:
    return load_settings(
        env={
            # a host of its own: the process-wide throttle registry keys limiters by host
            "NORCE_BASE_URL": "https://text-keys.test",
            "NORCE_CLIENT_ID": "cid",
            "NORCE_CLIENT_SECRET": "secret-of-the-text-key-tenant",
            "NORCE_WAREHOUSE": str(tmp_path / "norce.duckdb"),
            "NORCE_MAX_RPS": "1000",
        }
    )


def raw_ids(settings: Settings) -> list[str]:
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        return [r[0] for r in con.execute("select Id from raw.invoices order by Id").fetchall()]
    finally:
        con.close()


def test_text_keys_of_different_lengths_load_completely(tmp_path: Path) -> None:
    tenant, invoices = Tenant(), TextKeyInvoices()
    serve_text_keys(tenant, invoices)
    settings = settings_for(tmp_path)
    with extract(settings, INVOICES, transport=tenant.transport()) as done:
        summary = done.summary
    assert summary.status == "ok", summary.skipped or [p.error for p in summary.partitions]
    assert raw_ids(settings) == sorted(IDS)  # every id once, as text
    (part,) = summary.partitions
    # 4 full pages of 3, then the empty page that proves the end (the last full page has
    # no nextLink but as many rows as the server's page size)
    assert (part.rows, part.pages, part.source_count) == (len(IDS), 5, len(IDS))
    filters = [p.get("$filter", "") for p in invoices.seen]
    # keyset positions are string literals in text order: '11' comes after '100'
    assert "Id gt '11'" in " ".join(filters)
    assert not any("Id gt 1" in f or "Id ge " in f or "Id lt " in f for f in filters)
    (caps,) = summary.capabilities
    assert caps.text_keys and caps.key_order is True
    assert any("text keys" in line for line in summary.fallbacks)


def test_count_refused_is_learned_and_the_rows_still_load(tmp_path: Path) -> None:
    tenant, invoices = Tenant(), TextKeyInvoices(count_allowed=False)
    serve_text_keys(tenant, invoices)
    settings = settings_for(tmp_path)
    with extract(settings, INVOICES, transport=tenant.transport()) as done:
        first = done.summary
    assert first.status == "ok"
    assert raw_ids(settings) == sorted(IDS)
    assert first.capabilities[0].count is False
    assert first.partitions[0].source_count is None
    assert any("$count refused" in line for line in first.fallbacks)
    # the probe learned it: no page of the load asked for $count
    pages = [p for p in invoices.seen if p.get("$select") != "Id"]
    assert pages and not any("$count" in p for p in pages)

    invoices.seen.clear()
    with extract(settings, INVOICES, transport=tenant.transport()) as done:
        second = done.summary
    assert second.status == "ok"
    # reused from meta.capabilities: no probe, no $count, at all
    assert not any("$count" in p for p in invoices.seen)
    assert not any(p.get("$top") == "1" for p in invoices.seen)


def test_count_refused_on_a_first_page_falls_back_without_failing(tmp_path: Path) -> None:
    """The capability says $count works (learned earlier); the tenant now refuses it: the
    first page's 400 is asked again without $count, and the capability is corrected."""
    tenant, invoices = Tenant(), TextKeyInvoices()
    serve_text_keys(tenant, invoices)
    settings = settings_for(tmp_path)
    with extract(settings, INVOICES, transport=tenant.transport()):
        pass
    invoices.count_allowed = False
    invoices.ids.append("5000")
    with extract(settings, INVOICES, transport=tenant.transport()) as done:
        summary = done.summary
    assert summary.status == "ok", [p.error for p in summary.partitions]
    assert "5000" in raw_ids(settings)
    assert any("$count refused" in line for line in summary.fallbacks)
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        value = con.execute(
            "select value from meta.capabilities where entity = 'Orders/Invoices' "
            "and capability = 'count'"
        ).fetchall()
    finally:
        con.close()
    assert value == [("no",)]
