"""Collectors of per-process figures reporting for the whole process group.

In multiprocess mode a collector such as the process or GC collector only
sees the process that answers the scrape, so its numbers would jump between
workers (and its counters go backwards). :func:`report_for_the_group` makes
every process write the collector's samples into multiprocess storage,
refreshed before every merge and every second, marked as a *group report*:
the default registry's aggregator shows them merged (counters summed over
every process that ever ran, gauges by the mode the collector chooses),
while the classic per-request ``MultiProcessCollector`` output is unchanged.

Thread safety: the refresh runs under the storage layer's callback
discipline (one at a time per process); process safety as for any slot.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import values
from .metrics_core import Metric
from .storage.aggregate import aggregator_for
from .storage.process_file import GROUP_PREFIX
from .storage.shared import register_callback


def multiprocess_active() -> bool:
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def report_for_the_group(
    collect_this_process: Callable[[], List[Metric]],
    gauge_mode: Callable[[Metric], str],
    counters_inherited_by_fork: bool = False,
) -> Optional[str]:
    """Keep writing ``collect_this_process()`` into group slots; return the directory.

    ``gauge_mode(family)`` gives the multiprocess mode of a gauge family.
    With ``counters_inherited_by_fork`` (interpreter statistics that a forked
    child starts from its parent's values), a child reports only what it
    added after the fork, so the parent's share is not counted twice.
    """
    slots: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], Any] = {}
    at_fork: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float] = {}

    def refresh() -> None:
        for family in collect_this_process():
            counter = family.type == "counter"
            mode = "" if counter else gauge_mode(family)
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                slot = slots.get(key)
                if slot is None:
                    labelnames = tuple(name for name, _ in key[1])
                    labelvalues = tuple(value for _, value in key[1])
                    slot = slots[key] = values.ValueClass(
                        family.type, family.name, sample.name, labelnames, labelvalues, family.documentation,
                        multiprocess_mode=GROUP_PREFIX + mode,
                    )
                value = float(sample.value)
                if counter and counters_inherited_by_fork:
                    value -= at_fork.get(key, 0.0)
                slot.set(value)

    if counters_inherited_by_fork and hasattr(os, "register_at_fork"):
        def remember_inherited_counts() -> None:
            at_fork.clear()
            for family in collect_this_process():
                if family.type == "counter":
                    for sample in family.samples:
                        at_fork[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)

        os.register_at_fork(after_in_child=remember_inherited_counts)

    register_callback(refresh)
    return getattr(values.ValueClass, "directory", None)


def group_families(directory: str, names: Callable[[str], bool]) -> List[Metric]:
    """The merged group-report families whose name ``names`` accepts."""
    return [family for family in aggregator_for(directory).collect(only_group_report=True) if names(family.name)]
