"""Orchestrating a run: plan, load partitions, finish -- the loader's one orchestration.

``request`` (what a run is asked to do) → ``session`` (:class:`ExtractSession`: the run's
lock, client and warehouse, and its steps) → ``planning`` (applications, ``$metadata`` per
namespace, each set planned or skipped) with ``splitting`` (partitions, key ranges) →
``partition`` (one partition: ``start`` decides where its pass starts, pages go through the
batch writer) → ``finishing`` (consolidate, ``sweeps``, erasures, the run's record).
``phase`` (:func:`extract`) drives these steps for every caller; ``erase`` removes one
person. ``results`` holds what a run reports; ``context`` its shared resources.
"""
