"""The loader's public API is small and pinned (as httpx pins its own)."""

from __future__ import annotations

import extract


def test_exported_members() -> None:
    assert sorted(extract.__all__) == sorted(
        [
            "DemoRow",
            "Erased",
            "ExtractSession",
            "Extracted",
            "Partition",
            "PartitionResult",
            "PartitionRunner",
            "ProgressEvent",
            "PublishRow",
            "RequestStats",
            "RunMode",
            "RunPlan",
            "RunRequest",
            "RunSummary",
            "erase",
            "extract",
            "in_threads",
            "record_demo",
            "record_publish",
        ]
    )
    for name in extract.__all__:
        assert getattr(extract, name).__module__.startswith("extract.") or name in (
            "RunMode",
            "PartitionRunner",
        ), name
