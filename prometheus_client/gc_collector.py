"""CPython garbage-collector statistics, per generation.

The numbers come from :func:`gc.get_stats`, which only CPython provides; on
other interpreters the collector is inert and never registers itself.

Thread and process safety: ``collect()`` keeps no state and takes one
snapshot from :func:`gc.get_stats`, so it is safe from any thread; in a
forked child it reports the child's interpreter, which starts from a copy of
the parent's counts. In multiprocess mode it reports the sum over the group
of processes, each child counting only what it added after its fork.
"""
from __future__ import annotations

import gc
import platform
from typing import List, Optional

from ._group_report import group_families, multiprocess_active, report_for_the_group
from .metrics_core import CounterMetricFamily, Metric
from .registry import REGISTRY, Collector, CollectorRegistry


class GCCollector(Collector):
    """Collector for Garbage collection statistics.

    Args:
        registry: on CPython the collector always registers itself with it
            (so ``None`` raises AttributeError there); elsewhere nothing
            happens.

    Construction raises whatever ``registry.register`` raises
    (DuplicateTimeseries).
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._group_directory: Optional[str] = None
        if not hasattr(gc, 'get_stats') or platform.python_implementation() != 'CPython':
            return
        if multiprocess_active():
            # Counts summed over every process of the group (and never going
            # backwards); a registry holding the aggregator gets them from it.
            self._group_directory = report_for_the_group(
                self._collect_this_process, lambda family: '', counters_inherited_by_fork=True)
            self._multiprocess_backed = True
            self.describe = self._collect_this_process
        registry.register(self)

    def collect(self) -> List[Metric]:
        """The GC families: this interpreter's, or the group's in multiprocess mode."""
        if self._group_directory is None:
            return self._collect_this_process()
        return group_families(self._group_directory, lambda name: name.startswith('python_gc_'))

    def _collect_this_process(self) -> List[Metric]:
        """Three counter families with a ``generation`` label ('0', '1', '2', ...)."""
        collected = CounterMetricFamily(
            'python_gc_objects_collected',
            'Objects collected during gc',
            labels=['generation'],
        )
        uncollectable = CounterMetricFamily(
            'python_gc_objects_uncollectable',
            'Uncollectable objects found during GC',
            labels=['generation'],
        )
        collections = CounterMetricFamily(
            'python_gc_collections',
            'Number of times this generation was collected',
            labels=['generation'],
        )
        for generation, stats in enumerate(gc.get_stats()):
            labelvalues = [str(generation)]
            collected.add_metric(labelvalues, value=stats['collected'])
            uncollectable.add_metric(labelvalues, value=stats['uncollectable'])
            collections.add_metric(labelvalues, value=stats['collections'])
        return [collected, uncollectable, collections]


GC_COLLECTOR = GCCollector()
