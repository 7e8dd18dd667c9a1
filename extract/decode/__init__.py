"""Decoding OData JSON pages into typed Arrow tables, one per raw table of a plan.

``pages`` (:class:`PageDecoder` for a plan's pages, :class:`KeyDecoder` for key-only
sweeps) builds on ``structs`` (msgspec Struct types generated per plan), ``columns`` (one
vectorised conversion per declared type) and ``decimals`` (exact decimal parsing).
"""
