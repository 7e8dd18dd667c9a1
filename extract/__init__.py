"""Norce Commerce Query API 2.0 -> typed DuckDB raw tables: the loader.

The public API, used alike by the Prefect flow, the CLI, the tests and the benchmarks::

    with extract(settings, RunRequest(mode="incremental")) as done:   # plan, load, finish
        ...  # build and publish the working file; the run lock is held until here
    done.summary                                                      # what the run did

:func:`extract` drives an :class:`ExtractSession` (``plan()`` → ``load(partition)`` for each
partition, through a partition runner → ``finish()`` → ``hand_off()``); the Prefect flow
passes a runner that makes each partition a task. :func:`erase` removes one person.

The package follows the data: ``settings`` → ``http`` (client, auth, throttle, retry) →
``schema`` (catalog, ``$metadata``, load plans, types, privacy) → ``paging`` (cursors,
quarantine) → ``decode`` (pages -> Arrow) → ``load`` (DuckDB raw tables, batches, ``meta``)
→ ``run`` (planning, partitions, finishing). ``errors`` is the error tree of the whole
pipeline; ``redact`` keeps secrets out of messages. ``make lint`` checks that lower layers
never import higher ones.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extract.http.stats import RequestStats
    from extract.load.meta import DemoRow, PublishRow, record_demo, record_publish
    from extract.run.erase import Erased, erase
    from extract.run.partitions import Partition
    from extract.run.phase import Extracted, PartitionRunner, extract, in_threads
    from extract.run.planning import RunPlan
    from extract.run.request import RunMode, RunRequest
    from extract.run.results import PartitionResult, ProgressEvent, RunSummary
    from extract.run.session import ExtractSession

_EXPORTS: dict[str, str] = {
    "DemoRow": "extract.load.meta",
    "Erased": "extract.run.erase",
    "ExtractSession": "extract.run.session",
    "Extracted": "extract.run.phase",
    "Partition": "extract.run.partitions",
    "PartitionResult": "extract.run.results",
    "PartitionRunner": "extract.run.phase",
    "ProgressEvent": "extract.run.results",
    "PublishRow": "extract.load.meta",
    "RequestStats": "extract.http.stats",
    "RunMode": "extract.run.request",
    "RunPlan": "extract.run.planning",
    "RunRequest": "extract.run.request",
    "RunSummary": "extract.run.results",
    "erase": "extract.run.erase",
    "extract": "extract.run.phase",
    "in_threads": "extract.run.phase",
    "record_demo": "extract.load.meta",
    "record_publish": "extract.load.meta",
}
"""Public name -> the module defining it. Imported on first use, so that importing a
light module (``extract.errors``, ``extract.settings``) does not load DuckDB, Arrow and
the HTTP stack."""

__all__ = [
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'extract' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
