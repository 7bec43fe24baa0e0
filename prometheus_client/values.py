"""Value storage as the metric classes see it: ``ValueClass``.

``ValueClass`` is the storage backend in use (see
:mod:`prometheus_client.storage` for the protocol). Metrics look it up here
each time they allocate the slot of a new series, so assigning
``values.ValueClass`` switches the backend for every series created
afterwards, as in the classic client.

* :func:`~prometheus_client.storage.inprocess.InProcessValue` (the default):
  lock-free compiled slots in process memory.
* :func:`MultiProcessValue`: slots in this process's file of the
  multiprocess directory (chosen at import when ``PROMETHEUS_MULTIPROC_DIR``
  is set).
* :class:`MutexValue`: a lock-protected Python float, kept for code that
  selects it explicitly.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, List, Optional, Sequence

from .storage.inprocess import InProcessValue
from .storage.shared import SharedMemoryBackend

# Cleanups registered by storage backends that hold files open; run by
# close_all_multiprocess_files().
_multi_process_cleanups: List[Callable[[], None]] = []


class MutexValue:
    """A float protected by a re-entrant lock.

    Thread-safe; an update from a signal handler or GC callback on the thread
    that is already inside an update of the same value does not deadlock.
    ``set`` stores ``float(value)``; the timestamp is ignored.
    """

    _multiprocess = False

    def __init__(
        self,
        typ: str,
        metric_name: str,
        name: str,
        labelnames: Sequence[str],
        labelvalues: Sequence[str],
        help_text: str,
        **kwargs: Any,
    ) -> None:
        self._value = 0.0
        self._exemplar: Any = None
        self._lock = threading.RLock()

    def inc(self, amount: float) -> None:
        with self._lock:
            self._value += amount

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        value = float(value)
        with self._lock:
            self._value = value

    def set_exemplar(self, exemplar: Any) -> None:
        with self._lock:
            self._exemplar = exemplar

    def get(self) -> float:
        with self._lock:
            return self._value

    def get_exemplar(self) -> Any:
        with self._lock:
            return self._exemplar


def MultiProcessValue(process_identifier: Callable[[], Any] = os.getpid) -> Callable[..., Any]:
    """A multiprocess storage backend (the classic factory signature).

    Returns a ``ValueClass`` that keeps every slot in this process's file in
    ``PROMETHEUS_MULTIPROC_DIR`` (see :mod:`prometheus_client.multiprocess`).
    ``process_identifier`` is consulted when a slot is allocated, to notice
    a process change made without ``os.fork`` (forks are handled by hooks).
    """
    backend = SharedMemoryBackend(process_identifier=process_identifier)
    _multi_process_cleanups.append(backend.close)
    return backend


def close_all_multiprocess_files() -> None:
    """Run and forget every cleanup registered by file-backed storage."""
    while _multi_process_cleanups:
        _multi_process_cleanups.pop()()


def get_value_class() -> Callable[..., Any]:
    """The storage backend to use by default in this process.

    Multiprocess storage when ``PROMETHEUS_MULTIPROC_DIR`` (or the deprecated
    lower-case name) is set, plain process memory otherwise.
    """
    if "prometheus_multiproc_dir" in os.environ or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return MultiProcessValue()
    return InProcessValue


ValueClass = get_value_class()

__all__ = [
    "InProcessValue",
    "MultiProcessValue",
    "MutexValue",
    "ValueClass",
    "close_all_multiprocess_files",
    "get_value_class",
]
