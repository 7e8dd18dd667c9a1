"""The run lock: one run per warehouse, held from the first request to the publish."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract.config import load_settings
from extract.errors import StateError
from extract.locking import RunLock
from extract.runner import Extractor


def test_lock_kept_across_close_until_the_caller_releases_it(tmp_path: Path) -> None:
    settings = load_settings(
        env={
            "NORCE_BASE_URL": "http://127.0.0.1:9",
            "NORCE_CLIENT_ID": "demo",
            "NORCE_CLIENT_SECRET": "demo-secret",
            "NORCE_WAREHOUSE": str(tmp_path / "norce.duckdb"),
        }
    )
    work = settings.warehouse.work_database
    extractor = Extractor(settings, mode="incremental")
    extractor.close(keep_lock=True)  # the database is closed: dbt may open it ...
    with pytest.raises(StateError, match="another run is using this warehouse"):
        RunLock(work).acquire()  # ... but no other run may start loading
    extractor.lock.release()
    with RunLock(work):
        pass

    plain = Extractor(settings, mode="incremental")
    plain.close()
    with RunLock(work):
        pass
