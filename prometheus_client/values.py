"""Value storage as the metric classes see it: ``ValueClass``.

``ValueClass`` is the storage backend in use (see
:mod:`prometheus_client.storage` for the protocol). Metrics look it up here
each time they allocate the slot of a new series, so assigning
``values.ValueClass`` switches the backend for every series created
afterwards, as in the classic client.

* :func:`~prometheus_client.storage.inprocess.InProcessValue` (the default):
  lock-free compiled slots in process memory.
* :class:`MutexValue`: a lock-protected Python float, kept for code that
  selects it explicitly.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, List, Optional, Sequence

from .storage.inprocess import InProcessValue

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


def close_all_multiprocess_files() -> None:
    """Run and forget every cleanup registered by file-backed storage."""
    while _multi_process_cleanups:
        _multi_process_cleanups.pop()()


def get_value_class() -> Callable[..., Any]:
    """The storage backend to use by default in this process."""
    return InProcessValue


ValueClass = get_value_class()

__all__ = ["InProcessValue", "MutexValue", "ValueClass", "close_all_multiprocess_files", "get_value_class"]
