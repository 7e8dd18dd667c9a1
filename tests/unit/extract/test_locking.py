"""The run lock: one run per warehouse, held from the first request to the publish; and
the working database a session opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract import ExtractSession
from extract.errors import StateError
from extract.load.locking import RunLock
from extract.load.warehouse import Warehouse
from extract.run import session as session_module
from extract.settings import Settings, load_settings


def settings_in(tmp_path: Path, **env: str) -> Settings:
    """Settings of a warehouse in ``tmp_path`` whose API nobody answers (nothing is fetched)."""
    return load_settings(
        env={
            "NORCE_BASE_URL": "http://127.0.0.1:9",
            "NORCE_CLIENT_ID": "demo",
            "NORCE_CLIENT_SECRET": "demo-secret",
            "NORCE_WAREHOUSE": str(tmp_path / "norce.duckdb"),
            **env,
        }
    )


def test_lock_kept_across_close_until_the_caller_releases_it(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    work = settings.warehouse.work_database
    session = ExtractSession.open(settings)
    lock = session.hand_off()  # the database is closed: dbt may open it ...
    with pytest.raises(StateError, match="another run is using this warehouse"):
        RunLock(work).acquire()  # ... but no other run may start loading
    lock.release()
    with RunLock(work):
        pass

    plain = ExtractSession.open(settings)
    plain.close()
    with RunLock(work):
        pass


def test_waiting_for_the_lock_gives_up_after_the_wait(tmp_path: Path) -> None:
    work = tmp_path / "norce.work.duckdb"
    clock = {"now": 0.0}
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["now"] += seconds

    with RunLock(work):
        waiting = RunLock(work)
        with pytest.raises(StateError):
            waiting.acquire(25, sleep=sleep, clock=lambda: clock["now"])
    assert sleeps == [10.0, 10.0, 5.0]  # polls every 10 s, never past the deadline
    waiting.acquire(25, sleep=sleep, clock=lambda: clock["now"])  # free now: no wait
    waiting.release()
    assert sleeps == [10.0, 10.0, 5.0]


def test_a_session_opens_the_working_database_with_the_loader_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Warehouse] = []

    def keep(path: Path, **kwargs: object) -> Warehouse:
        opened.append(Warehouse(path, **kwargs))  # type: ignore[arg-type]
        return opened[-1]

    monkeypatch.setattr(session_module, "Warehouse", keep)
    settings = settings_in(
        tmp_path,
        NORCE_DUCKDB_THREADS="3",
        NORCE_DUCKDB_MEMORY_MB="96",
        NORCE_DUCKDB_CHECKPOINT_MB="48",
    )
    with ExtractSession.open(settings):
        [(threads, memory, checkpoint)] = opened[0].query(
            "select current_setting('threads'), current_setting('memory_limit'),"
            " current_setting('checkpoint_threshold')"
        )
    assert threads == 3  # not the core count: DuckDB's default would not pass
    assert memory in ("96.0 MiB", "100.6 MB"), memory
    # the warehouse checkpoints at 48 MiB itself (with headroom), DuckDB never on its own
    assert opened[0]._checkpoint_bytes == 48 << 20
    assert checkpoint not in ("16.0 MiB", "16.7 MB"), checkpoint
