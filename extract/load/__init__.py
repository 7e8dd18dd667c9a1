"""The DuckDB side of a load: the working database, raw tables, batches and bookkeeping.

``warehouse`` (the one connection and its transactions) → ``tables`` (raw tables from
plans, schema evolution) → ``merge`` (merge on key, replace, purge, mark deleted) →
``batch`` (:class:`BatchWriter`: pages in, one transaction per batch with its state).
``state`` is a partition's watermark and pass; ``meta`` owns every write to schema ``meta``
(its tables are in ``meta_tables``);
``locking`` keeps one run per warehouse; ``erasure`` removes one person from raw.
"""
