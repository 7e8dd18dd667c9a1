"""The simulator's OData v4 engine: query options in, JSON pages out.

``parse`` turns the query string into :class:`~simulator.odata.parse.QueryOptions`,
``filter`` compiles ``$filter`` into polars expressions, ``query`` selects, orders, pages
and expands rows over the store's frames, ``serialize`` renders them the way the real
(.NET) service does, and ``service`` maps a Query API path to all of that.
"""
