"""Deterministic, vectorised generation of a realistic Norce tenant.

One module per domain: :mod:`.lookups` (Core and Application), :mod:`.catalog`
(products, SKUs, prices, categories), :mod:`.customers`, :mod:`.people` (buyer snapshots,
guests), :mod:`.calendar` (when orders happen), :mod:`.orders` and :mod:`.order_lines`,
:mod:`.documents` and :mod:`.reporting` (derived from orders), :mod:`.changes` and
:mod:`.activity` (what the control API does later), :mod:`.names` (fake personal data).
:mod:`.world` ties them together.
"""

from simulator.generate.world import World, build_world, install

__all__ = ["World", "build_world", "install"]
