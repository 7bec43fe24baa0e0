"""Storage: where the numbers of a series live.

This layer sits under the metric classes and knows nothing about them. Its
contract is small:

* A **slot** is one float64. The metric layer only ever calls, on the value
  object of a series, ``inc(amount)``, ``set(value, timestamp=None)``,
  ``get()``, ``set_exemplar(exemplar)`` and ``get_exemplar()``; that is the
  :class:`ValueStore` protocol, the protocol of the classic client's
  ``values.ValueClass`` objects, so user code that assigns its own
  ``values.ValueClass`` keeps working. ``set`` converts with ``float()``
  (``Gauge.set('3')`` works) and, when no timestamp is given but the series
  needs one (a gauge in a ``mostrecent`` mode, told by the ``multiprocess_mode``
  keyword at allocation), reads the clock itself: the metric layer never
  branches on the mode in its hot path.
* A **backend** allocates the slots of a series. It is a callable with the
  classic ``ValueClass`` signature (:class:`Backend`): given the identity of
  one sample (type, family name, sample name, label names and values, help,
  and keyword extras such as ``multiprocess_mode``) it returns a ValueStore.
  Backends may also offer ``forget(value)`` (a series was removed) and a
  reader-side snapshot; the in-process backend needs neither.

Two backends plug in behind the same hot path:

* in-process (:mod:`prometheus_client.storage.inprocess`): each slot is a
  :class:`Cell` owning its float64;
* shared memory (the multiprocess engine): each slot is a :class:`Cell`
  viewing 8 bytes of the process's mmap'd file.

:class:`Cell` is the compiled slot primitive from ``_cells.c`` (atomic add and
store, no Python lock) or, where it could not be built or when the
environment variable ``PROMETHEUS_CLIENT_PURE_PYTHON`` is true at import, its
pure-Python twin with identical behaviour. ``COMPILED`` tells which one is in
use.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence

try:  # Protocol is in typing from 3.8 on; kept explicit for readers.
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment,misc]


def _pure_python_requested() -> bool:
    return os.environ.get("PROMETHEUS_CLIENT_PURE_PYTHON", "").lower() in ("1", "true", "t", "yes")


if _pure_python_requested():
    from ._pycells import COMPILED, Cell, load
else:
    try:
        from ._cells import COMPILED, Cell, load  # type: ignore[no-redef]
    except ImportError:
        from ._pycells import COMPILED, Cell, load  # type: ignore[no-redef]


class ValueStore(Protocol):
    """What a metric child holds for each of its numbers.

    Implementations must make ``inc`` and ``set`` safe to call from any thread,
    from signal handlers and from GC callbacks, and must never raise for a
    valid real-number argument.
    """

    def inc(self, amount: float) -> None: ...

    def set(self, value: float, timestamp: Optional[float] = None) -> None: ...

    def get(self) -> float: ...

    def set_exemplar(self, exemplar: Any) -> None: ...

    def get_exemplar(self) -> Any: ...


class Backend(Protocol):
    """Allocates the slot of one sample; the classic ``ValueClass`` signature."""

    def __call__(
        self,
        typ: str,
        metric_name: str,
        name: str,
        labelnames: Sequence[str],
        labelvalues: Sequence[str],
        help_text: str,
        **kwargs: Any,
    ) -> ValueStore: ...


__all__ = ["Backend", "COMPILED", "Cell", "ValueStore", "load"]
