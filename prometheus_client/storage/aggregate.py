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

How a scrape stays cheap. Every series is interned once, when its record
is first parsed, into a small integer (*series id*) of a table that lives
as long as the aggregator; nothing is decoded or hashed per scrape. For
the summed series (nearly all of them), each file keeps a precomputed
gather of its slot positions in series-id order, so reading a file is one
C-level ``itemgetter`` over a ``memoryview`` of its mapping, and the exact
sums of all files are ``map(math.fsum, zip(*rows))``. The families' shape
(label sets, histogram bucket order) is rebuilt only when new series
appear, and keeps its label dicts, so the encoder's per-label-set memo
holds across scrapes.

Dead processes (whose file lock is free) are compacted: under a
non-blocking directory lock their files are folded into ``archive.json``
(written to a temporary name, fsynced, renamed), which lists the files it
absorbed, and then unlinked. Readers read process files first and the
archive last, and ignore a process file the archive absorbed, so a value is
never counted twice nor lost; sums are exact (``math.fsum`` over every
addend), so no counter goes backwards between two scrapes whatever the
order in which processes were folded. Files stay bounded by the live
processes plus the archive and the lock file.

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
from operator import itemgetter
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from .._labelset import LabelSet, labelset
from ..metrics_core import CounterMetricFamily, Metric
from ..native_histogram import (
    COUNT_KEY,
    NEGATIVE_PREFIX,
    POSITIVE_PREFIX,
    SCHEMA_KEY,
    SUM_KEY,
    ZERO_COUNT_KEY,
    ZERO_THRESHOLD_KEY,
    buckets_to_spans,
    merge_native_histograms,
    spans_to_buckets,
)
from ..samples import Exemplar, NativeHistogram, Sample
from .shared import refresh_callbacks
from .process_file import (
    EXEMPLAR_TYPE,
    FILE_SUFFIX,
    ZERO_SLOT_INDEX,
    CorruptFileError,
    Descriptor,
    Identity,
    ProcessFileSnapshot,
    decode_labelvalues,
    encode_labelvalues,
    is_removed,
    parse_process_file_name,
    read_exemplar,
    removals,
    split_mode,
)

logger = logging.getLogger("prometheus_client.multiprocess")

ARCHIVE_NAME = "archive.json"
LOCK_NAME = ".lock"
ARCHIVE_VERSION = 2
# How long the archive remembers a file it absorbed after the file is gone,
# and the age after which a leftover temporary file is removed.
ABSORBED_GRACE_SECONDS = 600.0
_LIVE_ONLY_MODES = frozenset(("liveall", "livesum", "livemin", "livemax", "livemostrecent"))
# Types whose slots are flags (1 or 0): merged with max, never summed.
_FLAG_TYPES = frozenset(("info", "stateset"))

# How the readings of one series from several processes combine.
SUM = "sum"  # exact sum over every process, live or dead
LIVE_SUM = "livesum"  # exact sum over live processes
MIN, MAX, MOST_RECENT, LAST = "min", "max", "mostrecent", "last"
NATIVE = "native"  # one number of a native histogram: per process, merged as histograms
_NATIVE_INFIX = ":native:"
_KIND_OF_MODE = {
    "": SUM, "sum": SUM, "livesum": LIVE_SUM, "min": MIN, "livemin": MIN, "max": MAX, "livemax": MAX,
    "mostrecent": MOST_RECENT, "livemostrecent": MOST_RECENT, "all": LAST, "liveall": LAST,
}
# A file holding fewer summed series than this fraction of the table is read
# record by record instead of through a gather over the whole table.
_DENSE_FRACTION = 0.25

# One reading of one series: (identity, pid, values, exemplar or None).
# Values are [value] or, for the mostrecent modes, [value, time of the last set].
Reading = Tuple[Identity, int, List[float], Optional[Exemplar]]


class _Kind:
    """What the series of one descriptor share, resolved for merging."""

    __slots__ = ("descriptor", "typ", "family", "sample", "labelnames", "help", "mode", "group", "live_only",
                 "merge", "per_pid", "is_exemplar", "native_key")

    def __init__(self, descriptor: Descriptor) -> None:
        typ, family, sample, labelnames, help_text, raw_mode = descriptor
        mode, group = split_mode(raw_mode)
        self.descriptor = descriptor
        self.typ, self.family, self.sample, self.labelnames, self.help = typ, family, sample, labelnames, help_text
        self.mode, self.group = mode, group
        self.live_only = mode in _LIVE_ONLY_MODES
        self.is_exemplar = typ == EXEMPLAR_TYPE
        self.native_key = ""
        if typ in _FLAG_TYPES:
            self.merge = MAX
        elif typ == "histogram" and sample.startswith(family + _NATIVE_INFIX):
            self.merge = NATIVE
            self.native_key = sample[len(family) + len(_NATIVE_INFIX):]
        else:
            self.merge = _KIND_OF_MODE.get(mode, SUM)
        self.per_pid = self.merge in (LAST, NATIVE)


class _SeriesTable:
    """Interned descriptors and series of one directory; series ids never change.

    A series id names (descriptor, label values, pid for per-process
    gauges). Not thread-safe: used under the aggregator's merge lock.
    """

    def __init__(self) -> None:
        self.kind_ids: Dict[Descriptor, int] = {}
        self.kinds: List[_Kind] = []
        self._ids: Dict[Tuple[int, bytes, int], int] = {}
        self.kind_of: List[int] = []  # series id -> kind id
        self.labelvalues: List[Tuple[str, ...]] = []
        self.pid: List[int] = []

    def __len__(self) -> int:
        return len(self.kind_of)

    def kind_id(self, descriptor: Descriptor) -> int:
        found = self.kind_ids.get(descriptor)
        if found is None:
            found = self.kind_ids[descriptor] = len(self.kinds)
            self.kinds.append(_Kind(descriptor))
        return found

    def series_id(self, kind_id: int, labelvalues: bytes, pid: int) -> int:
        """The id of a series; ValueError when new and its label values do not decode."""
        key = (kind_id, labelvalues, pid if self.kinds[kind_id].per_pid else -1)
        found = self._ids.get(key)
        if found is None:
            kind = self.kinds[kind_id]
            values = decode_labelvalues(labelvalues, len(kind.labelnames))
            found = self._ids[key] = len(self.kind_of)
            self.kind_of.append(kind_id)
            self.labelvalues.append(values)
            self.pid.append(key[2])
        return found


class _FileState:
    """One process file as the table sees it: its series ids and slot gathers.

    Rebuilt incrementally: new records are interned at each refresh; the
    derived lists are recomputed only when records were added or removed.
    """

    def __init__(self, name: str, snapshot: ProcessFileSnapshot) -> None:
        self.name = name
        self.snapshot = snapshot
        self.pid = snapshot.pid
        self.alive = True
        self._kind_ids: List[int] = []  # descriptor number in the file -> kind id
        self._parsed = 0
        # (series id, first slot, slot count, record position) of each series record
        self._records: List[Tuple[int, int, int, int]] = []
        self._exemplar_records: List[Tuple[int, int]] = []  # (series record position, first slot)
        self._removals_seen = 0.0
        self._removed: Set[int] = set()
        self._dirty = True
        # derived
        self.summed: Dict[int, int] = {}  # series id -> first slot (first live record of the sum kinds)
        self.extra_summed: List[Tuple[int, int]] = []  # duplicates, and live-only sums
        self.others: List[Tuple[int, int, int]] = []  # (series id, first slot, slot count) of other kinds
        self.sid_at: Dict[int, int] = {}  # record position -> series id
        self._gather: Optional[Tuple[int, Callable[[Any], tuple]]] = None

    def refresh(self, table: _SeriesTable) -> Any:
        """Parse new records and flags; returns the mapping. Raises CorruptFileError."""
        snapshot = self.snapshot
        mapping = snapshot.refresh()
        descriptors = snapshot.descriptors
        kind_ids = self._kind_ids
        while len(kind_ids) < len(descriptors):
            kind_ids.append(table.kind_id(descriptors[len(kind_ids)]))
        series = snapshot.series
        if self._parsed < len(series):
            kinds = table.kinds
            series_id = table.series_id
            pid = self.pid
            records = self._records
            try:
                for number, labelvalues, first, count, position in series[self._parsed:]:
                    kind_id = kind_ids[number]
                    if kinds[kind_id].is_exemplar:
                        self._exemplar_records.append((int(decode_labelvalues(labelvalues, 1)[0]), first))
                    else:
                        records.append((series_id(kind_id, labelvalues, pid), first, count, position))
            except (ValueError, TypeError, UnicodeDecodeError) as error:
                raise CorruptFileError("bad label values: %s" % error) from None
            self._parsed = len(series)
            self._dirty = True
        seen = removals(mapping)
        if seen != self._removals_seen:
            self._removals_seen = seen
            self._removed = {position for _, _, _, position in self._records if is_removed(mapping, position)}
            self._dirty = True
        if self._dirty:
            self._derive(table)
        return mapping

    def _derive(self, table: _SeriesTable) -> None:
        kinds, kind_of = table.kinds, table.kind_of
        summed: Dict[int, int] = {}
        extra: List[Tuple[int, int]] = []
        others: List[Tuple[int, int, int]] = []
        sid_at: Dict[int, int] = {}
        removed = self._removed
        for sid, first, count, position in self._records:
            if position in removed:
                continue
            sid_at[position] = sid
            merge = kinds[kind_of[sid]].merge
            if merge == SUM:
                if sid in summed:
                    extra.append((sid, first))
                else:
                    summed[sid] = first
            else:
                others.append((sid, first, count))
        self.summed, self.extra_summed, self.others, self.sid_at = summed, extra, others, sid_at
        self._gather = None
        self._dirty = False

    def row(self, size: int) -> Optional[Callable[[Any], tuple]]:
        """A function reading this file's summed values in series-id order (0.0 where absent).

        None when the file holds too few of the table's series for a dense
        read to pay off; the caller then reads ``summed`` one by one.
        """
        if len(self.summed) < _DENSE_FRACTION * size or size < 2:
            return None
        if self._gather is None or self._gather[0] != size:
            positions = [ZERO_SLOT_INDEX] * size
            for sid, first in self.summed.items():
                positions[sid] = first
            self._gather = (size, itemgetter(*positions))
        return self._gather[1]

    def exemplars(self, mapping: Any) -> Iterable[Tuple[int, Exemplar]]:
        sid_at = self.sid_at
        for position, first in self._exemplar_records:
            sid = sid_at.get(position)
            if sid is None:
                continue
            found = read_exemplar(mapping, first)
            if found is not None:
                yield sid, Exemplar(*found)

    def close(self) -> None:
        self.snapshot.close()


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
                return cls.parse(f.read())
        except FileNotFoundError:
            return cls()

    @classmethod
    def parse(cls, data: bytes) -> "_Archive":
        """Raises CorruptFileError, ValueError, TypeError, KeyError or IndexError when malformed."""
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("version") != ARCHIVE_VERSION:
            raise CorruptFileError("not an archive of this format")
        archive = cls({str(name): float(when) for name, when in document["absorbed"]})
        for identity, pid, values in document["series"]:
            identity = (str(identity[0]), str(identity[1]), str(identity[2]), tuple(identity[3]),
                        tuple(identity[4]), str(identity[5]), str(identity[6]))
            if len(identity[3]) != len(identity[4]):
                raise CorruptFileError("bad labels in the archive")
            archive.series[_archive_key(identity, pid)] = (identity, int(pid), [float(v) for v in values], None)
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
                summed = _is_summed(identity[0], mode)
                self.series[key] = (identity, pid if mode == "all" else -1,
                                    _exact_partials(values) if summed else list(values), None)
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

    def fold_natives(self, readings: Iterable[Reading]) -> None:
        """Fold the native-histogram cells of dead processes into one merged histogram per series.

        Dead processes may have used different schemas; the archive keeps a
        single histogram per series, merged at the coarsest of them, stored
        as cells under pid -1.
        """
        groups: Dict[tuple, Dict[int, Dict[str, float]]] = {}
        for identity, pid, values, _ in readings:
            typ, family, sample, labelnames, labelvalues, help_text, mode = identity
            prefix, _, key = sample.rpartition(_NATIVE_INFIX)
            group = (typ, family, prefix, labelnames, labelvalues, help_text, mode)
            groups.setdefault(group, {}).setdefault(pid, {})[key] = values[0]
        if not groups:
            return
        archived: Dict[tuple, List[tuple]] = {}
        for archive_key, (identity, pid, values, _) in self.series.items():
            typ, family, sample, labelnames, labelvalues, help_text, mode = identity
            prefix, infix, key = sample.rpartition(_NATIVE_INFIX)
            group = (typ, family, prefix, labelnames, labelvalues, help_text, mode)
            if infix and group in groups:
                archived.setdefault(group, []).append(archive_key)
                groups[group].setdefault(-1, {})[key] = values[0]
        for group, processes in groups.items():
            histograms = [h for h in map(native_from_cells, processes.values()) if h is not None]
            for archive_key in archived.get(group, ()):
                del self.series[archive_key]
            if not histograms:
                continue
            merged = histograms[0] if len(histograms) == 1 else merge_native_histograms(histograms)
            typ, family, prefix, labelnames, labelvalues, help_text, mode = group
            for key, number in native_cells(merged).items():
                identity = (typ, family, prefix + _NATIVE_INFIX + key, labelnames, labelvalues, help_text, mode)
                self.series[(identity, -1)] = (identity, -1, [number], None)

    def dump(self) -> bytes:
        return json.dumps(
            {
                "version": ARCHIVE_VERSION,
                "absorbed": [[name, when] for name, when in self.absorbed.items()],
                "series": [[list(identity), pid, values] for identity, pid, values, _ in self.series.values()],
            },
            separators=(",", ":"),
        ).encode("utf-8")


class _ArchiveView:
    """An archive mapped onto a series table: dense rows of partials, and the rest."""

    def __init__(self, archive: _Archive, table: _SeriesTable) -> None:
        self.absorbed = set(archive.absorbed)
        self.summed: Dict[int, List[float]] = {}
        self.others: List[Tuple[int, List[float]]] = []
        for identity, pid, values, _ in archive.series.values():
            typ, family, sample, labelnames, labelvalues, help_text, mode = identity
            kind_id = table.kind_id((typ, family, sample, labelnames, help_text, mode))
            sid = table.series_id(kind_id, encode_labelvalues(labelvalues), pid)
            if table.kinds[kind_id].merge == SUM:
                self.summed.setdefault(sid, []).extend(values)
            else:
                self.others.append((sid, values))
        self._rows: List[List[float]] = []

    def rows(self, size: int) -> List[List[float]]:
        """The summed partials as rows over the table (0.0 where absent)."""
        if not self._rows:
            depth = max((len(v) for v in self.summed.values()), default=0)
            self._rows = [[0.0] * size for _ in range(depth)]
            for sid, partials in self.summed.items():
                for depth_index, partial in enumerate(partials):
                    self._rows[depth_index][sid] = partial
        for row in self._rows:
            if len(row) < size:
                row.extend([0.0] * (size - len(row)))
        return self._rows


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


def _newer(current: Optional[Exemplar], candidate: Exemplar) -> Exemplar:
    """The newer of two exemplars (the candidate on a tie or without timestamps)."""
    if current is None or (candidate.timestamp or 0.0) >= (current.timestamp or 0.0):
        return candidate
    return current


def _double_view(mapping: Any) -> memoryview:
    view = memoryview(mapping)
    usable = len(view) - len(view) % 8
    return view[:usable].cast("d") if usable != len(view) else view.cast("d")


class _Readings:
    """The values of one scrape, by series id."""

    def __init__(self, size: int, dense: bool = True) -> None:
        self.size = size if dense else 0  # size 0: every file is read series by series
        self.rows: List[Any] = []
        self.extra: Dict[int, List[float]] = {}
        self.present: Set[int] = set()
        self.others: Dict[int, List[float]] = {}  # min/max/last/mostrecent: [value] or [value, time]
        self.live_sums: Dict[int, List[float]] = {}  # addends of livesum gauges
        self.exemplars: Dict[int, Exemplar] = {}

    def add_other(self, sid: int, merge: str, values: List[float]) -> None:
        if merge == LIVE_SUM:
            self.live_sums.setdefault(sid, []).append(values[0])
            return
        accumulator = self.others.get(sid)
        if accumulator is None:
            self.others[sid] = list(values)
        elif merge == MIN:
            accumulator[0] = min(accumulator[0], values[0])
        elif merge == MAX:
            accumulator[0] = max(accumulator[0], values[0])
        elif merge == MOST_RECENT:
            if values[1] >= accumulator[1]:
                accumulator[0], accumulator[1] = values[0], values[1]
        else:  # LAST
            accumulator[0] = values[0]

    def keep_exemplar(self, sid: int, exemplar: Exemplar) -> None:
        self.exemplars[sid] = _newer(self.exemplars.get(sid), exemplar)

    def read_file(self, state: _FileState, mapping: Any, table: _SeriesTable) -> None:
        kinds, kind_of = table.kinds, table.kind_of
        view = _double_view(mapping)
        try:
            row = state.row(self.size) if self.size else None
            if row is not None:
                self.rows.append(row(view))
            else:
                extra = self.extra
                for sid, first in state.summed.items():
                    extra.setdefault(sid, []).append(view[first])
            for sid, first in state.extra_summed:
                self.extra.setdefault(sid, []).append(view[first])
            self.present.update(state.summed)
            alive = state.alive
            for sid, first, count in state.others:
                kind = kinds[kind_of[sid]]
                if kind.live_only and not alive:
                    continue
                self.add_other(sid, kind.merge, [view[first + i] for i in range(count)])
        finally:
            view.release()
        for sid, exemplar in state.exemplars(mapping):
            self.keep_exemplar(sid, exemplar)

    def dead_series(self, table: _SeriesTable) -> List[Reading]:
        """What was read, as readings for the archive (sums as all their addends)."""
        result: List[Reading] = []
        kinds, kind_of, labelvalues, pids = table.kinds, table.kind_of, table.labelvalues, table.pid
        for values_by_sid in (self.extra, self.others):
            for sid, values in values_by_sid.items():
                typ, family, sample, labelnames, help_text, mode = kinds[kind_of[sid]].descriptor
                identity = (typ, family, sample, labelnames, labelvalues[sid], help_text, mode)
                result.append((identity, pids[sid], values, None))
        return result

    def read_archive(self, view: _ArchiveView, table: _SeriesTable) -> None:
        self.rows.extend(view.rows(self.size))
        self.present.update(view.summed)
        kinds, kind_of = table.kinds, table.kind_of
        for sid, values in view.others:
            self.add_other(sid, kinds[kind_of[sid]].merge, values)

    def values(self) -> Callable[[int], Optional[float]]:
        """The merged value of a series id, or None when no process has it."""
        rows = self.rows
        if len(rows) > 1:
            sums = list(map(math.fsum, zip(*rows)))
        elif rows:
            sums = list(rows[0])
        else:
            sums = [0.0] * self.size
        for sid, addends in self.extra.items():
            sums[sid] = math.fsum([row[sid] for row in rows] + addends)
        present, others, live_sums = self.present, self.others, self.live_sums

        def value(sid: int) -> Optional[float]:
            if sid in present:
                return sums[sid]
            found = others.get(sid)
            if found is not None:
                return found[0]
            addends = live_sums.get(sid)
            return None if addends is None else math.fsum(addends)

        return value


_new_tuple = tuple.__new__


class _FamilyShape:
    """The samples of one family in output order, as series ids with their label dicts."""

    __slots__ = ("name", "help", "typ", "group", "plain", "histograms", "natives")

    def __init__(self, kind: _Kind) -> None:
        self.name, self.help, self.typ, self.group = kind.family, kind.help, kind.typ, kind.group
        self.plain: List[Tuple[str, LabelSet, int]] = []  # (sample name, labels, series id)
        # base label key -> [base labels, _sum series id or -1, [(le bound, labels with le, series id)]]
        self.histograms: Dict[tuple, list] = {}
        # base label key -> (labels, {pid: {native cell key: series id}})
        self.natives: Dict[tuple, Tuple[LabelSet, Dict[int, Dict[str, int]]]] = {}

    def add(self, sid: int, kind: _Kind, labelvalues: Tuple[str, ...], pid: int) -> None:
        labelnames = kind.labelnames
        if kind.merge == NATIVE:
            key = (labelnames, labelvalues)
            entry = self.natives.get(key)
            if entry is None:
                entry = self.natives[key] = (labelset(zip(labelnames, labelvalues)), {})
            entry[1].setdefault(pid, {})[kind.native_key] = sid
            return
        if self.typ == "histogram" and kind.typ == "histogram":
            if kind.sample.endswith("_bucket") and labelnames and labelnames[-1] == "le":
                entry = self._histogram(labelnames[:-1], labelvalues[:-1])
                le = labelvalues[-1]
                try:
                    bound = float(le)
                except ValueError:
                    bound = math.inf
                entry[2].append((bound, labelset(dict(entry[0], le=le)), sid))
                return
            if kind.sample == self.name + "_sum":
                self._histogram(labelnames, labelvalues)[1] = sid
                return
        labels = labelset(zip(labelnames, labelvalues))
        if kind.per_pid:
            labels["pid"] = str(pid)
        self.plain.append((kind.sample, labels, sid))

    def _histogram(self, labelnames: Tuple[str, ...], labelvalues: Tuple[str, ...]) -> list:
        key = (labelnames, labelvalues)
        entry = self.histograms.get(key)
        if entry is None:
            entry = self.histograms[key] = [labelset(zip(labelnames, labelvalues)), -1, []]
        return entry

    def finish(self) -> None:
        for entry in self.histograms.values():
            entry[2].sort(key=itemgetter(0))

    def metric(self, value: Callable[[int], Optional[float]], exemplars: Dict[int, Exemplar],
               accumulate: bool) -> Optional[Metric]:
        samples: List[Sample] = []
        append = samples.append
        for labels, processes in self.natives.values():
            merged = _merged_native(processes, value, exemplars)
            if merged is not None:
                append(_new_tuple(Sample, (self.name, labels, None, None, None, merged)))
        for sample, labels, sid in self.plain:
            v = value(sid)
            if v is not None:
                append(_new_tuple(Sample, (sample, labels, v, None, exemplars.get(sid), None)))
        name = self.name
        for labels, sum_sid, buckets in self.histograms.values():
            total = value(sum_sid) if sum_sid >= 0 else None
            bucket_samples = []
            cumulative = 0.0
            for _, bucket_labels, sid in buckets:
                v = value(sid)
                if v is None:
                    continue
                cumulative = cumulative + v if accumulate else v
                bucket_samples.append(
                    _new_tuple(Sample, (name + "_bucket", bucket_labels, cumulative, None, exemplars.get(sid), None))
                )
            if total is not None:
                append(_new_tuple(Sample, (name + "_sum", labels, total, None, None, None)))
            samples.extend(bucket_samples)
            if accumulate and bucket_samples:
                append(_new_tuple(Sample, (name + "_count", labels, cumulative, None, None, None)))
        if not samples:
            return None
        metric = Metric(name, self.help, self.typ)
        metric.samples = samples
        return metric


def native_from_cells(numbers: Dict[str, float]) -> Optional[NativeHistogram]:
    """A native histogram from the numbers of its cells (see ``native_histogram``), or None if incomplete."""
    try:
        schema = int(numbers[SCHEMA_KEY])
        zero_threshold = numbers[ZERO_THRESHOLD_KEY]
        count, total, zero_count = numbers[COUNT_KEY], numbers[SUM_KEY], numbers[ZERO_COUNT_KEY]
    except KeyError:
        return None
    positive: Dict[int, float] = {}
    negative: Dict[int, float] = {}
    for key, number in numbers.items():
        if number and key[:1] in (POSITIVE_PREFIX, NEGATIVE_PREFIX) and key[1:].lstrip("-").isdigit():
            (positive if key[0] == POSITIVE_PREFIX else negative)[int(key[1:])] = _whole(number)
    pos_spans, pos_deltas = buckets_to_spans(positive)
    neg_spans, neg_deltas = buckets_to_spans(negative)
    return NativeHistogram(_whole(count), total, schema, zero_threshold, _whole(zero_count),
                           pos_spans, neg_spans, pos_deltas, neg_deltas)


def native_cells(histogram: NativeHistogram) -> Dict[str, float]:
    """Inverse of :func:`native_from_cells` (the archive stores merged histograms as cells)."""
    numbers = {SCHEMA_KEY: float(histogram.schema), ZERO_THRESHOLD_KEY: float(histogram.zero_threshold),
               COUNT_KEY: float(histogram.count_value), SUM_KEY: float(histogram.sum_value),
               ZERO_COUNT_KEY: float(histogram.zero_count)}
    for prefix, spans, deltas in ((POSITIVE_PREFIX, histogram.pos_spans, histogram.pos_deltas),
                                  (NEGATIVE_PREFIX, histogram.neg_spans, histogram.neg_deltas)):
        for index, count in spans_to_buckets(spans, deltas).items():
            numbers[prefix + str(index)] = float(count)
    return numbers


def _whole(number: float) -> Any:
    return int(number) if number.is_integer() else number


def _merged_native(processes: Dict[int, Dict[str, int]], value: Callable[[int], Optional[float]],
                   exemplars: Dict[int, Exemplar]) -> Optional[NativeHistogram]:
    histograms = []
    newest: Optional[Exemplar] = None
    for cells in processes.values():
        exemplar = exemplars.get(cells.get(COUNT_KEY, -1))
        if exemplar is not None:
            newest = _newer(newest, exemplar)
        numbers = {}
        for key, sid in cells.items():
            number = value(sid)
            if number is not None:
                numbers[key] = number
        histogram = native_from_cells(numbers) if numbers else None
        if histogram is not None:
            histograms.append(histogram)
    if not histograms:
        return None
    merged = histograms[0] if len(histograms) == 1 else merge_native_histograms(histograms)
    return merged if newest is None else merged._replace(nh_exemplars=(newest,))


class _Layout:
    """Every family's shape over the whole table; extended as the table grows.

    Series ids only ever get appended, so a layout is extended with the new
    ids rather than rebuilt; only the histograms they touch are re-sorted.
    """

    def __init__(self) -> None:
        self.size = 0
        self._shapes: Dict[str, _FamilyShape] = {}
        self.shapes: List[_FamilyShape] = []

    def extend(self, table: _SeriesTable) -> None:
        kinds, kind_of, labelvalues, pids = table.kinds, table.kind_of, table.labelvalues, table.pid
        shapes = self._shapes
        touched = {}
        for sid in range(self.size, len(table)):
            kind = kinds[kind_of[sid]]
            shape = shapes.get(kind.family)
            if shape is None:
                shape = shapes[kind.family] = _FamilyShape(kind)
                self.shapes.append(shape)
            shape.add(sid, kind, labelvalues[sid], pids[sid])
            touched[kind.family] = shape
        for shape in touched.values():
            shape.finish()
        self.size = len(table)

    def families(self, readings: "_Readings", accumulate: bool) -> Tuple[List[Metric], List[Metric]]:
        """(families, group-report families) with this scrape's values."""
        value = readings.values()
        exemplars = readings.exemplars
        plain: List[Metric] = []
        group: List[Metric] = []
        for shape in self.shapes:
            metric = shape.metric(value, exemplars, accumulate)
            if metric is not None:
                (group if shape.group else plain).append(metric)
        return plain, group


class DirectoryAggregator:
    """Merges the files of one multiprocess directory into Metric families.

    Use :func:`aggregator_for` to share one instance (and its parse cache)
    per directory and process.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._table = _SeriesTable()
        self._files: Dict[str, Tuple[int, _FileState]] = {}
        self._layout: Optional[_Layout] = None
        self._archive: Optional[Tuple[tuple, _ArchiveView]] = None
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
        table = _SeriesTable()
        loaded: List[Tuple[_FileState, Any]] = []
        try:
            for path in paths:
                state = _FileState(os.path.basename(path), ProcessFileSnapshot(path))
                try:
                    loaded.append((state, state.refresh(table)))
                except BaseException:
                    state.close()
                    raise
            readings = _Readings(len(table))
            for state, mapping in loaded:
                readings.read_file(state, mapping, table)
            layout = _Layout()
            layout.extend(table)
            return layout.families(readings, accumulate)[0]
        finally:
            for state, _ in loaded:
                state.close()

    def compact(self, only_pid: Optional[int] = None) -> None:
        """Fold the files of dead processes (optionally of one pid) into the archive."""
        with self._merge_lock:
            states = self._read_processes()
            dead = [s for s, _ in states if not s.alive and (only_pid is None or s.pid == only_pid)]
            if dead:
                self._compact(dead)

    # -- merge ------------------------------------------------------------

    def _merge(self) -> Tuple[List[Metric], List[Metric]]:
        refresh_callbacks()  # this process's computed values, fresh
        states = self._read_processes()
        dead = [state for state, _ in states if not state.alive]
        if dead:
            self._compact(dead)
        archive = self._archive_view()  # always read last
        table = self._table
        readings = _Readings(len(table))
        for state, mapping in states:
            if state.name not in archive.absorbed:
                readings.read_file(state, mapping, table)
        readings.read_archive(archive, table)
        if self._layout is None:
            self._layout = _Layout()
        if self._layout.size != len(table):
            self._layout.extend(table)
        families, group_families = self._layout.families(readings, accumulate=True)
        if self.skipped_files_total:
            families.append(
                CounterMetricFamily(
                    "prometheus_client_multiprocess_skipped_files",
                    "Files in the multiprocess directory that could not be read and were skipped.",
                    value=self.skipped_files_total,
                )
            )
        in_use = len(readings.present) + len(readings.others) + len(readings.live_sums)
        if len(table) > 2 * in_use + 10000:
            self._reset_table()  # series of the past dominate: start afresh next time
        return families, group_families

    def _reset_table(self) -> None:
        for _, state in self._files.values():
            state.close()
        self._files = {}
        self._table = _SeriesTable()
        self._layout = None
        self._archive = None

    def _archive_view(self) -> _ArchiveView:
        path = os.path.join(self.path, ARCHIVE_NAME)
        try:
            with open(path, "rb") as f:
                status = os.fstat(f.fileno())
                key = (status.st_ino, status.st_mtime_ns, status.st_size)
                if self._archive is not None and self._archive[0] == key:
                    return self._archive[1]
                document = f.read()
        except FileNotFoundError:
            key, document = (), b""
        except OSError as error:
            self._skip(ARCHIVE_NAME, -1, error)
            return _ArchiveView(_Archive(), self._table)
        if self._archive is not None and self._archive[0] == key:
            return self._archive[1]
        try:
            archive = _Archive.parse(document) if document else _Archive()
            view = _ArchiveView(archive, self._table)
        except (CorruptFileError, ValueError, TypeError, KeyError, IndexError) as error:
            self._skip(ARCHIVE_NAME, -1, error)
            return _ArchiveView(_Archive(), self._table)
        self._archive = (key, view)
        return view

    def _read_processes(self) -> List[Tuple[_FileState, Any]]:
        try:
            names = sorted(os.listdir(self.path))
        except OSError as error:
            logger.warning("prometheus_client: cannot list the multiprocess directory %r: %s", self.path, error)
            return []
        present = set(names)
        for gone in [name for name in self._files if name not in present]:
            self._files.pop(gone)[1].close()
        result = []
        for name in names:
            pid = parse_process_file_name(name)
            if pid is None:
                if name.endswith(FILE_SUFFIX):
                    self._skip(name, self._inode(name), "not a file of this client's multiprocess format")
                continue
            state = self._state(name)
            if state is None:
                continue
            try:
                mapping = state.refresh(self._table)
                state.alive = state.snapshot.is_owner_alive()
            except (CorruptFileError, OSError, ValueError) as error:
                self._forget(name)
                self._skip(name, self._inode(name), error)
                continue
            result.append((state, mapping))
        return result

    def _inode(self, name: str) -> int:
        try:
            return os.stat(os.path.join(self.path, name)).st_ino
        except OSError:
            return -1

    def _state(self, name: str) -> Optional[_FileState]:
        path = os.path.join(self.path, name)
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            return None  # compacted meanwhile: the archive has it
        except OSError as error:
            self._skip(name, -1, error)
            return None
        cached = self._files.get(name)
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
        state = _FileState(name, snapshot)
        self._files[name] = (inode, state)
        return state

    def _forget(self, name: str) -> None:
        cached = self._files.pop(name, None)
        if cached is not None:
            cached[1].close()

    def _skip(self, name: str, inode: int, reason: Any) -> None:
        if self._skipped.get(name) == inode:
            return
        self._skipped[name] = inode
        self.skipped_files_total += 1
        logger.warning("prometheus_client: skipping %r in the multiprocess directory %r: %s", name, self.path, reason)

    # -- compaction -------------------------------------------------------

    def _compact(self, dead: List[_FileState]) -> None:
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
            folded = _Readings(0, dense=False)
            for state in dead:
                if state.name in already:
                    continue
                try:
                    mapping = state.refresh(self._table)  # final values: the owner is dead
                    folded.read_file(state, mapping, self._table)
                except (CorruptFileError, OSError, ValueError) as error:
                    self._skip(state.name, self._inode(state.name), error)
                    continue
                newly.append(state.name)
            dead_series = folded.dead_series(self._table)
            archive.fold(r for r in dead_series if _NATIVE_INFIX not in r[0][2])
            archive.fold_natives(r for r in dead_series if _NATIVE_INFIX in r[0][2])
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
                if name in present:
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
