"""The shared-memory storage backend: slots in this process's file.

A :class:`SharedMemoryBackend` is a ``ValueClass``: called with the identity
of one sample it appends a record to this process's file (created on first
use, see :mod:`.process_file`) and returns a :class:`~prometheus_client.storage.Cell`
viewing the record's slot. The metric hot path is therefore the same as in
process memory: one atomic add, no pid check, no lock, no syscall.

Fork: every backend re-homes its live slots in the child (``os.register_at_fork``):
the child gets a file of its own, each live series a fresh record there, and
its cells are re-pointed at it, so a child never writes into its parent's
file nor holds its parent's lock. As in the classic client, the child's
numbers start from zero (the parent's file keeps the parent's); info and
enum states and native-histogram settings, which are facts rather than
counts, carry over.

Failure: if the directory is missing or not writable, or the disk is full,
slots degrade to process memory with one warning through ``logging``;
metric updates never raise because of storage.

Thread safety: allocation is serialised per backend; slot updates are
lock-free. Gauges in the mostrecent modes get a pair of slots (value, time
of the last ``set``), written time first.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import Cell
from .process_file import (
    DEFAULT_CHUNK_SIZE,
    EXEMPLAR_PAYLOAD_BYTES,
    EXEMPLAR_SLOTS,
    EXEMPLAR_TYPE,
    GROUP_PREFIX,
    ProcessFile,
    encode_descriptor,
    encode_labelvalues,
    split_mode,
)

logger = logging.getLogger("prometheus_client.multiprocess")

_MOST_RECENT_MODES = frozenset(("mostrecent", "livemostrecent"))
# Records of these types hold flags that a forked child inherits as they are.
_FLAG_DESCRIPTOR_PREFIXES = (b'["info",', b'["stateset",')
# Records holding a setting rather than a count (a native histogram's current
# schema and zero threshold): a forked child keeps them too.
_SETTING_MARKERS = (b':native:schema",', b':native:zero_threshold",')
_EXEMPLAR_DESCRIPTOR = encode_descriptor((EXEMPLAR_TYPE, "", "", ("record",), "", ""))


def multiprocess_directory_from_environment() -> Optional[str]:
    """``PROMETHEUS_MULTIPROC_DIR``, migrating the deprecated lower-case name.

    When only ``prometheus_multiproc_dir`` is set, it is copied to the
    upper-case name with a DeprecationWarning, as in the classic client.
    """
    import warnings

    if "prometheus_multiproc_dir" in os.environ and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["prometheus_multiproc_dir"]
        warnings.warn(
            "prometheus_multiproc_dir variable has been deprecated in favor of the upper case naming "
            "PROMETHEUS_MULTIPROC_DIR",
            DeprecationWarning,
        )
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class TimestampedValue:
    """A gauge value with the time of its last ``set`` (the mostrecent modes)."""

    __slots__ = ("_value", "_timestamp", "__weakref__")
    _multiprocess = True

    def __init__(self, value: Cell, timestamp: Cell) -> None:
        self._value = value
        self._timestamp = timestamp

    def inc(self, amount: float) -> None:
        self._timestamp.set(time.time())
        self._value.inc(amount)

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        value = float(value)
        self._timestamp.set(time.time() if timestamp is None else timestamp)
        self._value.set(value)

    def get(self) -> float:
        return self._value.get()

    def set_exemplar(self, exemplar: Any) -> None:
        self._value.set_exemplar(exemplar)

    def get_exemplar(self) -> Any:
        return self._value.get_exemplar()


class SharedMemoryBackend:
    """Allocates slots in the calling process's file in ``directory``.

    ``directory`` None means "read PROMETHEUS_MULTIPROC_DIR at first use".
    ``process_identifier`` is called at allocation to notice a process
    change that happened without ``os.fork`` hooks (the classic signature).
    """

    _multiprocess = True

    def __init__(
        self,
        directory: Optional[str] = None,
        process_identifier: Callable[[], Any] = os.getpid,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._directory = directory
        self._process_identifier = process_identifier
        self._chunk_size = chunk_size
        self._lock = threading.Lock()
        self._file: Optional[ProcessFile] = None
        self._identity_of_process: Any = None
        self._degraded = False
        # Every record allocated in this process: (descriptor bytes, label
        # values bytes, weak refs to its cells).
        self._records: List[Tuple[bytes, bytes, List["weakref.ref[Cell]"]]] = []
        # Descriptor bytes by descriptor, so that children of one metric share one.
        self._descriptors: Dict[tuple, bytes] = {}
        # Cell -> (chunk, offset in chunk, offset in file) of its record.
        self._record_of: "weakref.WeakKeyDictionary[Cell, Tuple[Any, int, int]]" = weakref.WeakKeyDictionary()
        # Cell -> (sequence cell, length cell, chunk, payload offset) of its exemplar record.
        self._exemplar_of: "weakref.WeakKeyDictionary[Cell, Tuple[Cell, Cell, Any, int]]" = (
            weakref.WeakKeyDictionary()
        )
        _live_backends.add(self)

    @property
    def directory(self) -> Optional[str]:
        if self._directory is None:
            self._directory = multiprocess_directory_from_environment()
        return self._directory

    def __call__(
        self,
        typ: str,
        metric_name: str,
        name: str,
        labelnames: Sequence[str],
        labelvalues: Sequence[str],
        help_text: str,
        multiprocess_mode: str = "",
        **kwargs: Any,
    ) -> Any:
        """Allocate the slot(s) of one sample; returns a ValueStore."""
        mode = multiprocess_mode if typ == "gauge" or multiprocess_mode.startswith(GROUP_PREFIX) else ""
        key = (typ, metric_name, name, tuple(labelnames), help_text, mode)
        descriptor = self._descriptors.get(key)
        if descriptor is None:
            descriptor = self._descriptors.setdefault(key, encode_descriptor(key))
        slot_count = 2 if split_mode(mode)[0] in _MOST_RECENT_MODES else 1
        cells = self._allocate(descriptor, encode_labelvalues(labelvalues), slot_count)
        if slot_count == 2:
            return TimestampedValue(cells[0], cells[1])
        return cells[0]

    def _allocate(self, descriptor: bytes, labelvalues: bytes, slot_count: int) -> List[Cell]:
        with self._lock:
            process = self._process_identifier()
            if process != self._identity_of_process:
                self._start_new_process(process)
            record, locations = self._locations(descriptor, labelvalues, slot_count)
            cells = [Cell() if chunk is None else Cell(chunk, offset) for chunk, offset in locations]
            self._records.append((descriptor, labelvalues, [weakref.ref(cell) for cell in cells]))
            if record is not None:
                for cell in cells:
                    self._record_of[cell] = record
            return cells

    def _locations(self, descriptor: bytes, labelvalues: bytes, slot_count: int) -> Tuple[Any, List[Tuple[Any, int]]]:
        """Where the record and its slots go: the process file, or process memory when degraded."""
        if not self._degraded:
            try:
                if self._file is None:
                    self._file = ProcessFile(self.directory or "", os.getpid(), self._chunk_size)
                return self._file.allocate(descriptor, labelvalues, slot_count)
            except (OSError, ValueError) as error:
                self._degrade(error)
        return None, [(None, 0)] * slot_count

    def publish_exemplar(self, cell: Any, exemplar: Any) -> bool:
        """Make a slot's latest exemplar visible to readers; False if not ours.

        The exemplar record is allocated on first use and rewritten under a
        sequence lock, so a reader never sees half of one.
        """
        timestamp = None if exemplar.timestamp is None else float(exemplar.timestamp)
        payload = json.dumps([exemplar.labels, float(exemplar.value), timestamp], separators=(",", ":")).encode()
        if len(payload) > EXEMPLAR_PAYLOAD_BYTES:
            return True  # cannot happen for valid exemplars (128 characters of labels)
        with self._lock:
            try:
                record = self._record_of.get(cell)
            except TypeError:
                return False
            if record is None or self._file is None:
                return False
            target = self._exemplar_of.get(cell)
            if target is None:
                try:
                    _, locations = self._file.allocate(
                        _EXEMPLAR_DESCRIPTOR, encode_labelvalues((str(record[2]),)), EXEMPLAR_SLOTS
                    )
                except (OSError, ValueError):
                    return True
                chunk, first = locations[0]
                target = (Cell(chunk, first), Cell(chunk, first + 8), chunk, first + 16)
                self._exemplar_of[cell] = target
            sequence, length, chunk, start = target
            version = sequence.get()
            sequence.set(version + 1)
            chunk[start:start + len(payload)] = payload
            length.set(len(payload))
            sequence.set(version + 2)
            return True

    def release(self, store: Any) -> bool:
        """Forget the series a value store belongs to; False if not ours."""
        cells = [store._value, store._timestamp] if isinstance(store, TimestampedValue) else [store]
        with self._lock:
            record = None
            for cell in cells:
                try:
                    record = self._record_of.pop(cell, None) or record
                except TypeError:  # not a slot at all
                    return False
        if record is None or self._file is None:
            return False
        self._file.mark_removed(record)
        return True

    def _degrade(self, error: Exception) -> None:
        self._degraded = True
        logger.warning(
            "prometheus_client: multiprocess storage in %r is unavailable (%s); metric values of process %d "
            "are kept in process memory and will be missing from the aggregated view",
            self._directory,
            error,
            os.getpid(),
        )

    def _start_new_process(self, process: Any) -> None:
        """This is a new process (first use, or a fork the hooks did not see)."""
        if self._identity_of_process is not None:
            self._rehome()
        self._identity_of_process = process

    def _rehome(self) -> None:
        """In a forked child: move every live slot into a file of our own."""
        inherited, self._file = self._file, None
        self._degraded = False
        self._exemplar_of = weakref.WeakKeyDictionary()  # republished on the next exemplar
        records, self._records = self._records, []
        for descriptor, labelvalues, references in records:
            cells = [reference() for reference in references]
            if all(cell is None for cell in cells):
                continue
            keeps_value = descriptor.startswith(_FLAG_DESCRIPTOR_PREFIXES) or any(
                marker in descriptor for marker in _SETTING_MARKERS
            )
            record, locations = self._locations(descriptor, labelvalues, len(cells))
            for cell, (chunk, offset) in zip(cells, locations):
                if cell is None:
                    continue
                value = cell.get()
                if chunk is None:
                    cell.rebind()
                    self._record_of.pop(cell, None)
                else:
                    cell.rebind(chunk, offset)
                    self._record_of[cell] = record
                if keeps_value:  # an info or enum state is a fact, not a count
                    cell.set(value)
            self._records.append((descriptor, labelvalues, references))
        if inherited is not None:
            inherited.abandon()  # after the rebinds, so its mappings can close

    # fork hooks ----------------------------------------------------------

    def _before_fork(self) -> None:
        self._lock.acquire()

    def _after_fork_in_parent(self) -> None:
        self._lock.release()

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # the parent's may be held by a thread that is not here
        if self._identity_of_process is not None:
            try:
                self._rehome()
                self._identity_of_process = self._process_identifier()
            except Exception:  # never break the child: fall back to process memory
                logger.exception("prometheus_client: could not re-home metric slots after fork")

    def close(self) -> None:
        """Stop using the file (values written so far stay for the readers)."""
        with self._lock:
            if self._file is not None:
                self._file.abandon()
                self._file = None


_live_backends: "weakref.WeakSet[SharedMemoryBackend]" = weakref.WeakSet()


# Values computed by callbacks (Gauge.set_function) must be written into the
# slots to be seen by other processes: refresh_callbacks() runs them, before
# every merge in the scraping process and periodically in every process that
# has any (a daemon thread, restarted in forked children).
_callbacks: List[Callable[[], None]] = []
_callbacks_lock = threading.Lock()
_refresh_lock = threading.Lock()
_refresher: Optional[threading.Thread] = None
CALLBACK_REFRESH_SECONDS = 1.0


def register_callback(callback: Callable[[], None]) -> None:
    """Run ``callback`` before every merge and every second (thread-safe)."""
    with _callbacks_lock:
        _callbacks.append(callback)
    _ensure_refresher()


def refresh_callbacks() -> None:
    """Run every registered callback now; a failing one is logged, not raised.

    Refreshes never overlap within a process: otherwise a refresh that read
    its figures earlier could write them after a later one and move a value
    (a CPU-time counter) backwards.
    """
    with _callbacks_lock:
        callbacks = list(_callbacks)
    with _refresh_lock:
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("prometheus_client: a multiprocess value callback failed")


def _ensure_refresher() -> None:
    global _refresher
    with _callbacks_lock:
        if (_refresher is not None and _refresher.is_alive()) or not _callbacks:
            return
        _refresher = threading.Thread(target=_refresh_forever, name="prometheus-multiprocess-callbacks", daemon=True)
        _refresher.start()


def _refresh_forever() -> None:
    while True:
        time.sleep(CALLBACK_REFRESH_SECONDS)
        refresh_callbacks()


def publish_exemplar(store: Any, exemplar: Any) -> None:
    """A slot got a new exemplar: show it in the aggregated view. Thread-safe."""
    for backend in list(_live_backends):
        if backend.publish_exemplar(store, exemplar):
            return


def release(store: Any) -> None:
    """A series was removed: stop exporting it from multiprocess storage.

    A no-op for stores of any other backend. Thread-safe.
    """
    for backend in list(_live_backends):
        if backend.release(store):
            return


def _before_fork() -> None:
    for backend in list(_live_backends):
        backend._before_fork()


def _after_fork_in_parent() -> None:
    for backend in list(_live_backends):
        backend._after_fork_in_parent()


def _after_fork_in_child() -> None:
    global _callbacks_lock, _refresh_lock, _refresher
    for backend in list(_live_backends):
        backend._after_fork_in_child()
    _callbacks_lock, _refresh_lock, _refresher = threading.Lock(), threading.Lock(), None
    if _callbacks:
        try:
            _ensure_refresher()
        except Exception:
            logger.exception("prometheus_client: could not restart the callback refresher after fork")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )


__all__ = [
    "SharedMemoryBackend",
    "TimestampedValue",
    "multiprocess_directory_from_environment",
    "publish_exemplar",
    "refresh_callbacks",
    "register_callback",
    "release",
]

