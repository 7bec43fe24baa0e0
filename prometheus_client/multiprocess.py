"""Multiprocess mode: one coherent view of the metrics of many processes.

Set ``PROMETHEUS_MULTIPROC_DIR`` to a directory before the first import of
``prometheus_client`` in every process (a pre-fork server's master and its
workers alike). Each process then keeps its metric values in a file of its
own there (see :mod:`prometheus_client.storage.process_file`), and any
process can serve the aggregated view:

* through the default registry, as in single-process mode
  (``generate_latest()``, ``start_http_server``, ``make_wsgi_app()``...);
* or with the classic pattern of a fresh registry per request::

      registry = CollectorRegistry()
      MultiProcessCollector(registry)
      data = generate_latest(registry)

Dead processes are detected without any hook (their file lock is free),
folded into an archive and their files removed; ``mark_process_dead`` is
still accepted and is idempotent.
"""
from __future__ import annotations

import os
from typing import Iterable, List, Optional

from .metrics_core import Metric
from .storage.aggregate import aggregator_for
from .storage.process_file import parse_process_file_name
from .storage.shared import multiprocess_directory_from_environment

_LIVE_GAUGE_MULTIPROCESS_MODES = {m for m in ("liveall", "livemin", "livemax", "livesum", "livemostrecent")}


def _directory(path: Optional[str]) -> Optional[str]:
    return path if path else multiprocess_directory_from_environment()


class MultiProcessCollector:
    """Collector for the files of a multiprocess directory.

    Raises ValueError when ``path`` (default ``PROMETHEUS_MULTIPROC_DIR``)
    is not set or not a directory. Registers itself with ``registry`` when
    given; registering a second collector for the same directory on the
    same registry is a no-op, so the aggregated view is never duplicated.
    Thread- and process-safe.
    """

    _aggregates_multiprocess = True  # registries then skip the metrics it covers

    def __init__(self, registry, path: Optional[str] = None, _include_group_report: bool = False) -> None:
        path = _directory(path)
        if not path or not os.path.isdir(path):
            raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set or not a directory")
        self._path = path
        # The default registry's aggregator also reports the process group
        # (process_* families); the classic per-request one does not.
        self._include_group_report = _include_group_report
        if registry:
            for collector in list(getattr(registry, "_collector_to_names", ())):
                if isinstance(collector, MultiProcessCollector) and collector._same_directory(path):
                    return
            registry.register(self)
            nameless = getattr(registry, "_collectors_without_names", None)
            if nameless is not None and self not in nameless:
                nameless.append(self)  # restricted (name[]) views consult it too

    def _same_directory(self, path: str) -> bool:
        return os.path.realpath(self._path) == os.path.realpath(path)

    def describe(self) -> List[Metric]:
        # The names are whatever the processes write; they are not reserved.
        return []

    def collect(self) -> Iterable[Metric]:
        return aggregator_for(self._path).collect(include_group_report=self._include_group_report)

    @staticmethod
    def merge(files: Iterable[str], accumulate: bool = True) -> List[Metric]:
        """Merge the given process files (classic signature).

        ``accumulate=False`` leaves histogram buckets non-cumulative and
        omits ``_count``.
        """
        files = list(files)
        directory = os.path.dirname(files[0]) if files else "."
        return aggregator_for(directory).merge_files(files, accumulate)


def mark_process_dead(pid: int, path: Optional[str] = None) -> None:
    """Fold the files of a process that has exited into the archive now.

    Not required (dead processes are found without it) and idempotent; files
    of a process that is still running are left alone.
    """
    path = _directory(path)
    if not path or not os.path.isdir(path):
        return
    if not any(parse_process_file_name(name) == pid for name in os.listdir(path)):
        return
    aggregator_for(path).compact(only_pid=pid)


__all__ = ["MultiProcessCollector", "mark_process_dead"]
