"""Store: schema-shaped views, versions, derived frames, and the clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from simulator.clock import Clock
from simulator.schema import Property, build_schema
from simulator.store import Store, polars_dtype


@pytest.fixture
def store() -> Store:
    return Store(build_schema(), Clock())


def countries(ids: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"Id": ids, "Code": [f"C{i}" for i in ids], "Extra": [0] * len(ids)})


def test_clock_is_utc_and_only_moves_forward() -> None:
    clock = Clock()
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    later = clock.advance(86_400)
    assert later - now >= timedelta(days=1)
    assert clock.offset == timedelta(days=1)
    with pytest.raises(ValueError):
        clock.advance(-0.5)
    with pytest.raises(ValueError):
        Clock(offset_seconds=-1)


def test_clock_advance_is_thread_safe() -> None:
    clock = Clock()
    threads = [
        threading.Thread(target=lambda: [clock.advance(1) for _ in range(200)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.offset == timedelta(seconds=800)


def test_empty_type_gives_an_empty_typed_frame(store: Store) -> None:
    df = store.frame("Orders", "PurchaseOrder")
    et = store.schema.entity_type("Orders", "PurchaseOrder")
    assert df.height == 0 and df.columns == et.property_names
    assert df.schema["FreightCost"] == pl.Decimal(18, 4)
    assert df.schema["PurchaseOrderDate"] == pl.Datetime("us", "UTC")


def test_set_frame_sorts_conforms_and_bumps_version(store: Store) -> None:
    version = store.version
    store.set_frame("Core", "Country", countries([3, 1, 2]))
    assert store.version == version + 1
    df = store.frame("Core", "Country")
    assert df["Id"].to_list() == [1, 2, 3]
    assert df.columns == store.schema.entity_type("Core", "Country").property_names
    assert df.schema["Id"] == pl.Int32 and "Extra" not in df.columns
    assert df["DefaultName"].null_count() == 3
    assert "Extra" in store.base("Core", "Country").columns  # kept out of sight
    assert store.frame("Core", "Country") is df  # cached until something changes


def test_set_frame_rejects_missing_key_and_derived(store: Store) -> None:
    with pytest.raises(ValueError, match="key"):
        store.set_frame("Core", "Country", pl.DataFrame({"Code": ["SE"]}))
    store.register_derived("Core", "KpiOrder", lambda s: pl.DataFrame(), [("Core", "Country")])
    with pytest.raises(ValueError, match="derived"):
        store.set_frame("Core", "KpiOrder", pl.DataFrame({"ApplicationId": [1], "Date": [1]}))
    with pytest.raises(KeyError):
        store.frame("Core", "NoSuchType")


def test_schema_drift_changes_the_view(store: Store) -> None:
    store.set_frame("Core", "Country", countries([1, 2]))
    version = store.version
    store.schema.add_property("Core", "Country", Property("Region", "Edm.String", True))
    assert store.version > version
    store.set_default("Core", "Country", "Region", "EU")
    assert store.frame("Core", "Country")["Region"].to_list() == ["EU", "EU"]
    store.schema.change_type("Core", "Country", "Id", "Edm.String")
    assert store.frame("Core", "Country")["Id"].to_list() == ["1", "2"]
    store.schema.remove_property("Core", "Country", "Code")
    assert "Code" not in store.frame("Core", "Country").columns
    assert "Code" in store.base("Core", "Country").columns


def test_derived_frames_follow_their_sources(store: Store) -> None:
    calls: list[int] = []

    def count_countries(s: Store) -> pl.DataFrame:
        calls.append(1)
        n = s.base("Core", "Country").height
        return pl.DataFrame(
            {"ApplicationId": [1], "Date": [datetime(2026, 1, 1, tzinfo=UTC)], "OrderCount": [n]}
        )

    store.set_frame("Core", "Country", countries([1]))
    store.register_derived("Core", "KpiOrder", count_countries, [("Core", "Country")])
    assert store.frame("Core", "KpiOrder")["OrderCount"].to_list() == [1]
    store.frame("Core", "KpiOrder")
    store.set_frame("Core", "Currency", pl.DataFrame({"Id": [1]}))  # not a dependency
    store.frame("Core", "KpiOrder")
    assert len(calls) == 1
    store.set_frame("Core", "Country", countries([1, 2, 3]))
    assert store.frame("Core", "KpiOrder")["OrderCount"].to_list() == [3]
    assert len(calls) == 2
    assert store.row_counts() == {"Core.Country": 3, "Core.Currency": 1, "Core.KpiOrder": 1}


def test_polars_dtype_mapping() -> None:
    assert polars_dtype(Property("a", "Edm.Decimal", True, precision=18, scale=6)) == pl.Decimal(
        18, 6
    )
    assert polars_dtype(Property("a", "Edm.Decimal", True)) == pl.Decimal(38, 10)
    assert polars_dtype(Property("a", "Edm.Guid", True)) == pl.String
    assert polars_dtype(Property("a", "Edm.Date", True)) == pl.Date
    assert polars_dtype(Property("a", "Edm.Unknown", True)) == pl.String
