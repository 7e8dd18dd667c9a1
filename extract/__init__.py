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

from extract.http.stats import RequestStats
from extract.load.meta import DemoRow, PublishRow, record_demo, record_publish
from extract.run.erase import Erased, erase
from extract.run.partitions import Partition
from extract.run.phase import Extracted, PartitionRunner, extract, in_threads
from extract.run.planning import RunPlan
from extract.run.request import RunMode, RunRequest
from extract.run.results import PartitionResult, ProgressEvent, RunSummary
from extract.run.session import ExtractSession

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
