"""Pure-Python cells: the fallback twin of the compiled ``_cells`` module.

Used where the C extension could not be built (no compiler, PyPy) or when
``PROMETHEUS_CLIENT_PURE_PYTHON`` is set to a true value before import. The
behaviour is identical to the compiled cells; only the cost differs.

Thread safety: every update takes the cell's re-entrant lock, so an update
made from a signal handler or a GC callback while the same thread is inside
an update of the same cell cannot deadlock. Process safety: a cell that views
a shared buffer (an mmap) reads and writes it with ``struct`` under that lock,
which is exclusive within one process; concurrent adds from *different*
processes to the same slot need the compiled cells (the multiprocess engine
gives every process slots of its own, so it never relies on that).
"""
from __future__ import annotations

import struct
import threading
from typing import Any, List, Optional

COMPILED = 0

_DOUBLE = struct.Struct("d")


def _as_double(amount: Any) -> float:
    """``float(amount)`` for numbers only; other types raise the TypeError of ``0.0 += amount``."""
    if isinstance(amount, (str, bytes, bytearray)):
        raise TypeError("unsupported operand type(s) for +=: 'float' and '%s'" % type(amount).__name__)
    try:
        return float(amount)
    except TypeError:
        raise TypeError(
            "unsupported operand type(s) for +=: 'float' and '%s'" % type(amount).__name__
        ) from None


class Cell:
    """One float64 slot; see ``prometheus_client.storage`` for the contract.

    ``Cell()`` owns its slot; ``Cell(buffer, offset)`` views the 8-byte aligned
    slot at ``offset`` of a writable buffer. Raises ValueError for an offset
    outside the buffer or not aligned, BufferError for a read-only buffer.
    """

    __slots__ = ("_lock", "_value", "_view", "_offset", "_exemplar", "_adding", "_interrupting", "__weakref__")

    def __init__(self, buffer: Any = None, offset: int = 0) -> None:
        self._lock = threading.RLock()
        self._exemplar = None
        self._adding = False
        self._interrupting: List[float] = []
        self._point(buffer, offset)

    def _point(self, buffer: Any, offset: int) -> None:
        if buffer is None:
            view = None
        else:
            view = memoryview(buffer)
            if view.readonly:
                raise BufferError("Object is not writable.")
            view = view.cast("B")
            if offset < 0 or offset > len(view) - 8:
                raise ValueError("slot offset %d is outside the buffer of %d bytes" % (offset, len(view)))
            if offset % 8:
                raise ValueError("slot offset %d is not 8-byte aligned" % offset)
        previous = getattr(self, "_view", None)
        self._view, self._offset, self._value = view, offset, 0.0
        if previous is not None:
            previous.release()

    def rebind(self, buffer: Any = None, offset: int = 0) -> None:
        """Point the cell at another slot (its own when buffer is None); for use after fork()."""
        with self._lock:
            self._point(buffer, offset)

    def inc(self, amount: Any) -> None:
        """Add ``amount`` (any real number) to the slot.

        An ``inc`` that interrupts another one on the same thread (a signal
        handler, a GC callback) only queues its amount; the interrupted call
        adds it before returning, so no increment is lost.
        """
        kind = type(amount)
        if kind is not float:
            amount = float(amount) if kind is int else _as_double(amount)
        with self._lock:
            if self._adding:
                self._interrupting.append(amount)
                return
            self._adding = True
            try:
                interrupting = self._interrupting
                while True:
                    if self._view is None:
                        self._value += amount
                    else:
                        view, offset = self._view, self._offset
                        _DOUBLE.pack_into(view, offset, _DOUBLE.unpack_from(view, offset)[0] + amount)
                    if not interrupting:
                        break
                    amount = interrupting.pop()  # queued by a call that interrupted this one
            finally:
                self._adding = False

    def set(self, value: Any, timestamp: Optional[float] = None) -> None:
        """Store ``float(value)``; the timestamp is accepted and ignored."""
        value = float(value)
        with self._lock:
            if self._view is None:
                self._value = value
            else:
                _DOUBLE.pack_into(self._view, self._offset, value)

    def get(self) -> float:
        """Read the slot (with any increment still queued by an interrupting call)."""
        with self._lock:
            if self._view is None:
                value = self._value
            else:
                value = _DOUBLE.unpack_from(self._view, self._offset)[0]
            return value + sum(self._interrupting) if self._interrupting else value

    def set_exemplar(self, exemplar: Any) -> None:
        """Remember the latest exemplar."""
        self._exemplar = exemplar

    def get_exemplar(self) -> Any:
        """The latest exemplar, or None."""
        return self._exemplar

    def __repr__(self) -> str:
        return "<Cell %r%s>" % (self.get(), " (view)" if self._view is not None else "")


def load(buffer: Any, offset: int) -> float:
    """Read the aligned slot at ``offset`` of ``buffer``."""
    view = memoryview(buffer).cast("B")
    if offset < 0 or offset > len(view) - 8 or offset % 8:
        raise ValueError("bad slot offset %d" % offset)
    return _DOUBLE.unpack_from(view, offset)[0]
