"""Paging through an entity set: which request comes next, and surviving bad records.

``odata`` (literals and key filters: the only way values enter a ``$filter``) → ``cursors``
(keyset, nextLink, ``$skip``: "next request, or stop") → ``quarantine`` (one fetch that
shrinks a failing page and isolates a bad record) → ``pager`` (:func:`iter_pages`, the loop).
"""
