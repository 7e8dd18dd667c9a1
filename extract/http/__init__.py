"""Talking to the Query API: one GET-only client, authenticated, throttled and retried.

``client`` (:class:`QueryClient`) takes with every call a ``context``
(:class:`RequestContext`: entity, header, counters, retry policy) and uses ``auth`` (the
cached bearer token), ``throttle`` (one adaptive limiter per host), ``budget`` (the run's
request cap), ``retry`` (:class:`RetryPolicy`: what to wait after a failure, when to give
up) and ``status`` (the one status policy: HTTP outcome -> error). ``stats`` counts requests.
"""
