"""What to pull and how it is typed: the catalog, the tenant's ``$metadata``, load plans.

``catalog`` (one declarative :class:`EntitySpec` per entity set: the place to add a set)
and ``metadata`` (a namespace's ``$metadata``) meet in ``reconcile``, which builds the
``plan`` of a set (raw tables, columns, request options) under the ``privacy`` policy;
``types`` is the one mapping from ``Edm.*`` to DuckDB and Arrow types.
"""
