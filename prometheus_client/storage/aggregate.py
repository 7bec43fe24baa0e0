"""The reader of the multiprocess engine: one coherent view of a directory.

A scrape reads every process file (parsing only records appended since the
last scrape), then the archive of dead processes, and merges them into
:class:`~prometheus_client.metrics_core.Metric` families with the classic
client's rules and output shape:

* counters, summaries, histograms: summed (histogram buckets made
  cumulative, ``_count`` synthesized; per label set ``_sum``, buckets, ``_count``);
* gauges by mode: ``all`` one series per process (``pid`` label), ``min``,
  ``max``, ``sum``, ``mostrecent``; the ``live*`` modes count live
  processes only;
* info and stateset (Enum) series: set (1) when set in any process.

Dead processes (whose file lock is free) are compacted: under a
non-blocking directory lock their files are folded into ``archive.json``
(written to a temporary name, fsynced, renamed), which lists the files it
absorbed, and then unlinked. Readers read process files first and the
archive last, and ignore a process file the archive absorbed, so a value is
never counted twice nor lost, and no counter goes backwards between two
scrapes. Files stay bounded by the live processes plus the archive and the
lock file.

A file that cannot be read (truncated, corrupt, foreign) is skipped, logged
once and counted in ``prometheus_client_multiprocess_skipped_files_total``;
the scrape still answers.

Thread safety: concurrent scrapes in one process share merges (a scrape
waits for the merge in progress and takes the next one). Process safety:
any number of processes may scrape the same directory at once.

This module never imports the metric classes.
"""
from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import threading
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..metrics_core import CounterMetricFamily, Metric
from ..samples import Exemplar
from .shared import refresh_callbacks
from .process_file import (
    FILE_SUFFIX,
    CorruptFileError,
    Identity,
    EXEMPLAR_TYPE,
    ProcessFileSnapshot,
    split_mode,
    is_removed,
    parse_process_file_name,
    read_exemplar,
    read_slots,
)

logger = logging.getLogger("prometheus_client.multiprocess")

ARCHIVE_NAME = "archive.json"
LOCK_NAME = ".lock"
ARCHIVE_VERSION = 2
# How long the archive remembers a file it absorbed after the file is gone,
# and the age after which a leftover temporary file is removed.
ABSORBED_GRACE_SECONDS = 600.0
_ADDITIVE_GAUGE_MODES = frozenset(("sum", "livesum"))
_LIVE_ONLY_MODES = frozenset(("liveall", "livesum", "livemin", "livemax", "livemostrecent"))
# Types whose slots are flags (1 or 0): merged with max, never summed.
_FLAG_TYPES = frozenset(("info", "stateset"))

# One reading of one series: (identity, pid, values, exemplar or None).
# Values are [value] or, for the mostrecent modes, [value, time of the last set].
Reading = Tuple[Identity, int, List[float], Optional[Exemplar]]


class _ProcessReading:
    __slots__ = ("name", "pid", "alive", "series", "snapshot")

    def __init__(self, name: str, pid: int, alive: bool, series: List[Reading], snapshot: ProcessFileSnapshot):
        self.name, self.pid, self.alive, self.series, self.snapshot = name, pid, alive, series, snapshot


def _read_series(snapshot: ProcessFileSnapshot) -> List[Reading]:
    mapping = snapshot.refresh()
    pid = snapshot.pid
    exemplars: Dict[int, Exemplar] = {}
    series = []
    for identity, first, count, position in snapshot.records:
        if identity[0] == EXEMPLAR_TYPE:
            found = read_exemplar(mapping, first)
            if found is not None:
                exemplars[int(identity[6])] = Exemplar(*found)
        elif not is_removed(mapping, position):
            series.append((identity, pid, read_slots(mapping, first, count), position))
    return [(identity, pid, values, exemplars.get(position)) for identity, pid, values, position in series]


class _Archive:
    """The folded values of dead processes, and the files they came from."""

    def __init__(self, absorbed: Optional[Dict[str, float]] = None, series: Optional[Dict[tuple, Reading]] = None) -> None:
        # file name -> when it was absorbed (unix time)
        self.absorbed: Dict[str, float] = dict(absorbed or {})
        self.series: Dict[tuple, Reading] = series if series is not None else {}

    @classmethod
    def load(cls, path: str) -> "_Archive":
        try:
            with open(path, "rb") as f:
                document = json.loads(f.read())
        except FileNotFoundError:
            return cls()
        if not isinstance(document, dict) or document.get("version") != ARCHIVE_VERSION:
            raise CorruptFileError("not an archive of this format")
        archive = cls({str(name): float(when) for name, when in document["absorbed"]})
        for identity, pid, values in document["series"]:
            identity = (identity[0], identity[1], identity[2], tuple(identity[3]), tuple(identity[4]),
                        identity[5], identity[6])
            archive.series[_archive_key(identity, pid)] = (identity, pid, [float(v) for v in values], None)
        return archive

    def fold(self, readings: Iterable[Reading]) -> None:
        """Fold the series of one dead process in (live-only gauges are dropped)."""
        for identity, pid, values, _ in readings:  # dead processes' exemplars are not kept
            mode = split_mode(identity[6])[0]
            if mode in _LIVE_ONLY_MODES:
                continue
            key = _archive_key(identity, pid)
            previous = self.series.get(key)
            if previous is None:
                self.series[key] = (identity, pid if mode == "all" else -1, list(values), None)
                continue
            old = previous[2]
            if _is_summed(identity[0], mode):
                old[:] = _exact_partials(old + values)  # the archive keeps the exact sum
            elif identity[0] in _FLAG_TYPES:
                old[0] = max(old[0], values[0])
            elif mode == "min":
                old[0] = min(old[0], values[0])
            elif mode == "max":
                old[0] = max(old[0], values[0])
            elif mode == "mostrecent":
                if values[1] >= old[1]:
                    old[0], old[1] = values[0], values[1]
            elif mode == "all":
                old[0] = values[0]

    def dump(self) -> bytes:
        return json.dumps(
            {
                "version": ARCHIVE_VERSION,
                "absorbed": [[name, when] for name, when in self.absorbed.items()],
                "series": [[list(identity), pid, values] for identity, pid, values, _ in self.series.values()],
            },
            separators=(",", ":"),
        ).encode("utf-8")


class _Sum(list):
    """The addends of a summed series, added exactly (``math.fsum``) when read.

    A float sum depends on the order of its additions; summing exactly makes
    the result the same whichever processes were folded into the archive
    first, so a counter never moves backwards when a process dies.
    """

    __slots__ = ()


def _is_summed(typ: str, mode: str) -> bool:
    return typ not in _FLAG_TYPES and mode in ("", "sum", "livesum")


def _exact_partials(values: List[float]) -> List[float]:
    """Non-overlapping floats whose exact sum is the exact sum of ``values``."""
    if not all(math.isfinite(v) for v in values):
        return [math.fsum(values)] if values else []
    partials: List[float] = []
    for x in values:
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]
    return partials


def _archive_key(identity: Identity, pid: int) -> tuple:
    return (identity, pid) if split_mode(identity[6])[0] == "all" else (identity, -1)


class DirectoryAggregator:
    """Merges the files of one multiprocess directory into Metric families.

    Use :func:`aggregator_for` to share one instance (and its parse cache)
    per directory and process.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._snapshots: Dict[str, Tuple[int, ProcessFileSnapshot]] = {}
        self._skipped: Dict[str, int] = {}  # file name -> inode, logged once each
        self.skipped_files_total = 0
        self._merge_lock = threading.Lock()
        self._last_merge: Tuple[float, Tuple[List[Metric], List[Metric]]] = (-1e9, ([], []))

    # -- public -----------------------------------------------------------

    def collect(self, include_group_report: bool = False, only_group_report: bool = False) -> List[Metric]:
        """The merged families, optionally preceded by (or only) the group-report ones.

        Concurrent callers share merges: a caller that arrives while a merge
        runs waits and takes the next merge, which started after it arrived,
        so every caller sees everything written before its call.
        """
        arrived = time.monotonic()
        with self._merge_lock:
            started, merged = self._last_merge
            if started < arrived:
                started = time.monotonic()
                merged = self._merge()
                self._last_merge = (started, merged)
        families, group_families = merged
        if only_group_report:
            return group_families
        return group_families + families if include_group_report else families

    def merge_files(self, paths: Iterable[str], accumulate: bool = True) -> List[Metric]:
        """Merge exactly these files (no archive, no compaction), as classic ``merge``."""
        readings = []
        for path in paths:
            snapshot = ProcessFileSnapshot(path)
            try:
                readings.append(_read_series(snapshot))
            finally:
                snapshot.close()
        merger = _Merger()
        for series in readings:
            merger.add(series, alive=True)
        return merger.families(accumulate)

    def compact(self, only_pid: Optional[int] = None) -> None:
        """Fold the files of dead processes (optionally of one pid) into the archive."""
        readings = self._read_processes()
        dead = [r for r in readings if not r.alive and (only_pid is None or r.pid == only_pid)]
        if dead:
            self._compact(dead)

    # -- merge ------------------------------------------------------------

    def _merge(self) -> Tuple[List[Metric], List[Metric]]:
        refresh_callbacks()  # this process's computed values, fresh
        readings = self._read_processes()
        dead = [reading for reading in readings if not reading.alive]
        if dead:
            self._compact(dead)
        try:
            archive = _Archive.load(os.path.join(self.path, ARCHIVE_NAME))  # always read last
        except (CorruptFileError, ValueError, TypeError, KeyError, IndexError, OSError) as error:
            self._skip(ARCHIVE_NAME, -1, error)
            archive = _Archive()
        absorbed = set(archive.absorbed)
        merger = _Merger()
        merger.add(archive.series.values(), alive=False)
        for reading in readings:
            if reading.name not in absorbed:
                merger.add(reading.series, alive=reading.alive)
        families = merger.families(accumulate=True)
        group_families = merger.families(accumulate=True, group=True)
        if self.skipped_files_total:
            families.append(
                CounterMetricFamily(
                    "prometheus_client_multiprocess_skipped_files",
                    "Files in the multiprocess directory that could not be read and were skipped.",
                    value=self.skipped_files_total,
                )
            )
        return families, group_families

    def _read_processes(self) -> List[_ProcessReading]:
        try:
            names = sorted(os.listdir(self.path))
        except OSError as error:
            logger.warning("prometheus_client: cannot list the multiprocess directory %r: %s", self.path, error)
            return []
        present = set(names)
        for gone in [name for name in self._snapshots if name not in present]:
            self._snapshots.pop(gone)[1].close()
        readings = []
        for name in names:
            pid = parse_process_file_name(name)
            if pid is None:
                if name.endswith(FILE_SUFFIX):
                    self._skip(name, self._inode(name), "not a file of this client's multiprocess format")
                continue
            snapshot = self._snapshot(name)
            if snapshot is None:
                continue
            try:
                series = _read_series(snapshot)
                alive = snapshot.is_owner_alive()
            except (CorruptFileError, OSError, ValueError) as error:
                self._forget(name)
                self._skip(name, self._inode(name), error)
                continue
            readings.append(_ProcessReading(name, pid, alive, series, snapshot))
        return readings

    def _inode(self, name: str) -> int:
        try:
            return os.stat(os.path.join(self.path, name)).st_ino
        except OSError:
            return -1

    def _snapshot(self, name: str) -> Optional[ProcessFileSnapshot]:
        path = os.path.join(self.path, name)
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            return None  # compacted meanwhile: the archive has it
        except OSError as error:
            self._skip(name, -1, error)
            return None
        cached = self._snapshots.get(name)
        if cached is not None and cached[0] == inode:
            return cached[1]
        if cached is not None:
            self._forget(name)
        if self._skipped.get(name) == inode:
            return None
        try:
            snapshot = ProcessFileSnapshot(path)
        except FileNotFoundError:
            return None
        except (CorruptFileError, OSError) as error:
            self._skip(name, inode, error)
            return None
        self._snapshots[name] = (inode, snapshot)
        return snapshot

    def _forget(self, name: str) -> None:
        cached = self._snapshots.pop(name, None)
        if cached is not None:
            cached[1].close()

    def _skip(self, name: str, inode: int, reason: Any) -> None:
        if self._skipped.get(name) == inode:
            return
        self._skipped[name] = inode
        self.skipped_files_total += 1
        logger.warning("prometheus_client: skipping %r in the multiprocess directory %r: %s", name, self.path, reason)

    # -- compaction -------------------------------------------------------

    def _compact(self, dead: List[_ProcessReading]) -> None:
        try:
            lock_fd = os.open(os.path.join(self.path, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            logger.warning("prometheus_client: cannot compact %r: %s", self.path, error)
            return
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another scraper is compacting; its archive will show up
            archive_path = os.path.join(self.path, ARCHIVE_NAME)
            try:
                archive = _Archive.load(archive_path)
            except (CorruptFileError, ValueError, TypeError, KeyError, IndexError) as error:
                logger.warning("prometheus_client: replacing the unreadable archive %r: %s", archive_path, error)
                archive = _Archive()
            already = set(archive.absorbed)
            newly: List[str] = []
            for reading in dead:
                if reading.name in already:
                    continue
                try:
                    series = _read_series(reading.snapshot)  # final values: the owner is dead
                except (CorruptFileError, OSError, ValueError) as error:
                    self._skip(reading.name, self._inode(reading.name), error)
                    continue
                archive.fold(series)
                newly.append(reading.name)
            present = set(os.listdir(self.path))
            now = time.time()
            # A name is remembered while its file exists and for a grace period
            # after: a slow scraper that read the file before it was unlinked
            # must still find it in the archive it reads last.
            archive.absorbed = {
                name: when
                for name, when in archive.absorbed.items()
                if name in present or now - when < ABSORBED_GRACE_SECONDS
            }
            archive.absorbed.update((name, now) for name in newly)
            self._remove_stale_temporaries(present, now)
            if newly:
                self._write_atomically(archive_path, archive.dump())
            for name in archive.absorbed:
                self._forget(name)
                try:
                    os.unlink(os.path.join(self.path, name))
                except FileNotFoundError:
                    pass
        except OSError as error:
            logger.warning("prometheus_client: compaction of %r failed: %s", self.path, error)
        finally:
            os.close(lock_fd)

    def _remove_stale_temporaries(self, names: Iterable[str], now: float) -> None:
        """Temporary files left by processes killed while creating or compacting."""
        for name in names:
            if not name.endswith(".tmp"):
                continue
            path = os.path.join(self.path, name)
            try:
                if now - os.stat(path).st_mtime > ABSORBED_GRACE_SECONDS:
                    os.unlink(path)
            except OSError:
                pass

    def _write_atomically(self, path: str, data: bytes) -> None:
        temporary = "%s.%d.tmp" % (path, os.getpid())
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, path)
        directory_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


def _value_of(accumulator: list) -> float:
    return math.fsum(accumulator) if type(accumulator) is _Sum else accumulator[0]


class _Merger:
    """Accumulates readings and builds families with the classic output shape."""

    def __init__(self) -> None:
        # family name -> (help, type, {series key: accumulator}, group report?)
        self._families: Dict[str, Tuple[str, str, Dict[tuple, list], bool]] = {}
        # (family, series key) -> newest exemplar across processes
        self._exemplars: Dict[Tuple[str, tuple], Exemplar] = {}

    def _keep_newest_exemplar(self, family: str, key: tuple, exemplar: Exemplar) -> None:
        current = self._exemplars.get((family, key))
        if current is None or (exemplar.timestamp or 0.0) >= (current.timestamp or 0.0):
            self._exemplars[(family, key)] = exemplar

    def add(self, readings: Iterable[Reading], alive: bool) -> None:
        families = self._families
        for identity, pid, values, exemplar in readings:
            typ, family, sample, labelnames, labelvalues, help_text, mode = identity
            mode, group = split_mode(mode)
            if mode in _LIVE_ONLY_MODES and not alive:
                continue
            entry = families.get(family)
            if entry is None:
                entry = families[family] = (help_text, typ, {}, group)
            accumulators = entry[2]
            key = (sample, labelnames, labelvalues, pid if mode in ("all", "liveall") else None)
            if exemplar is not None:
                self._keep_newest_exemplar(family, key, exemplar)
            accumulator = accumulators.get(key)
            if accumulator is None:
                accumulators[key] = _Sum(values) if _is_summed(typ, mode) else list(values)
            elif type(accumulator) is _Sum:
                accumulator.extend(values)  # archive entries bring their exact partials
            elif mode in ("min", "livemin"):
                accumulator[0] = min(accumulator[0], values[0])
            elif mode in ("max", "livemax") or typ in _FLAG_TYPES:
                accumulator[0] = max(accumulator[0], values[0])
            elif mode in ("mostrecent", "livemostrecent"):
                if values[1] >= accumulator[1]:
                    accumulator[0], accumulator[1] = values[0], values[1]
            elif mode in ("all", "liveall"):
                accumulator[0] = values[0]

    def families(self, accumulate: bool, group: bool = False) -> List[Metric]:
        """The merged families; ``group`` selects the group-report ones instead."""
        result = []
        for name, (help_text, typ, accumulators, is_group) in self._families.items():
            if is_group != group:
                continue
            metric = Metric(name, help_text, typ)
            exemplars = {key: exemplar for (family, key), exemplar in self._exemplars.items() if family == name}
            if typ == "histogram":
                self._histogram_samples(metric, accumulators, accumulate, exemplars)
            else:
                for key, values in accumulators.items():
                    sample, labelnames, labelvalues, pid = key
                    labels = dict(zip(labelnames, labelvalues))
                    if pid is not None:
                        labels["pid"] = str(pid)
                    metric.add_sample(sample, labels, _value_of(values), None, exemplars.get(key))
            result.append(metric)
        return result

    @staticmethod
    def _histogram_samples(
        metric: Metric, accumulators: Dict[tuple, list], accumulate: bool, exemplars: Dict[tuple, Exemplar]
    ) -> None:
        # label set (without le) -> [sum or None, {le: count}, {le: exemplar}]
        series: Dict[Tuple[Tuple[str, ...], Tuple[str, ...]], list] = {}
        for key, values in accumulators.items():
            sample, labelnames, labelvalues, _ = key
            if sample.endswith("_bucket") and labelnames and labelnames[-1] == "le":
                entry = series.setdefault((labelnames[:-1], labelvalues[:-1]), [None, {}, {}])
                le = labelvalues[-1]
                entry[1][le] = _value_of(values)
                if key in exemplars:
                    entry[2][le] = exemplars[key]
            else:
                entry = series.setdefault((labelnames, labelvalues), [None, {}, {}])
                entry[0] = _value_of(values)
        name = metric.name
        for (labelnames, labelvalues), (total, buckets, bucket_exemplars) in series.items():
            labels = dict(zip(labelnames, labelvalues))
            if total is not None:
                metric.add_sample(name + "_sum", labels, total)
            cumulative = 0.0
            for le, count in sorted(buckets.items(), key=lambda item: float(item[0])):
                cumulative = cumulative + count if accumulate else count
                metric.add_sample(name + "_bucket", dict(labels, le=le), cumulative, None, bucket_exemplars.get(le))
            if accumulate:
                metric.add_sample(name + "_count", labels, cumulative)


_aggregators: Dict[Tuple[int, str], DirectoryAggregator] = {}
_aggregators_lock = threading.Lock()


def aggregator_for(path: str) -> DirectoryAggregator:
    """The shared aggregator of ``path`` for this process (a new one after fork)."""
    key = (os.getpid(), os.path.realpath(path))
    with _aggregators_lock:
        aggregator = _aggregators.get(key)
        if aggregator is None:
            aggregator = _aggregators[key] = DirectoryAggregator(path)
        return aggregator


__all__ = ["ARCHIVE_NAME", "DirectoryAggregator", "aggregator_for"]

