"""Benchmarks of the Orders load: ours vs the raw-fetch ceiling and dlt, in one run.

``python -m bench`` (``make bench``) measures, against the simulator served from a separate
process on 127.0.0.1 with the same concurrency for every contender:

* ``ceiling``     -- bare httpx threads fetching the pages ours fetches (:mod:`bench.ceiling`);
* ``ours``        -- the full extract + load of Orders (:mod:`bench.ours`);
* ``dlt``         -- dlt's ``rest_api`` source into DuckDB (:mod:`bench.peer_dlt`);
* ``loader``      -- recorded pages replayed through our decode + load on one core
  (:mod:`bench.replay`);
* ``scaling``     -- ours at three data sizes (:mod:`bench.scaling`);
* ``incremental`` -- ours after k changed orders (:mod:`bench.incremental`).

Each workload runs in its own child process (:mod:`bench.procs`), so its wall time, CPU
seconds and peak RSS are its own. Results go to ``bench/results/latest.{md,json}``
(:mod:`bench.report`).
"""
