"""The simulator's OData v4 engine: query options in, JSON pages out.

``parse`` turns the query string into :class:`~simulator.odata.parse.QueryOptions`;
``filter`` (with ``literals``) compiles ``$filter`` into polars expressions; ``resolve``
checks options against an entity type; ``query`` selects, orders and pages rows and
``expand`` adds related rows through cached join indexes (``rows`` holds the results,
``cache`` the per-version caches); ``serialize`` renders rows the way the real (.NET)
service does; ``service`` maps a Query API path to all of that; ``errors`` is the one
exception, rendered as an OData error body.
"""
