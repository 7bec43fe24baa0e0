"""Native (sparse, exponential) histograms: bucket math, encoding, merging, state.

Three parts, see ``specs/native-histograms.md`` for the data model:

* **Bucket math** (pure functions): :func:`schema_for_factor`,
  :func:`bucket_index`, :func:`bucket_bounds`, :func:`reduce_index`.
  Bucket ``i`` of schema ``s`` covers ``(base**(i-1), base**i]`` with
  ``base = 2**(2**-s)`` (the negative side mirrors it). Indexes are computed
  from ``math.frexp`` and, for ``s > 0``, a table of the boundaries inside
  one power of two, never from a logarithm: a value lying exactly on a
  boundary always lands in the bucket whose inclusive upper bound it is.
  The boundaries of schema ``s`` are a subset of those of schema ``s + 1``
  (all tables are slices of the schema-8 table), so reducing the
  resolution with :func:`reduce_index` is exact even for values on a
  boundary. Table entries are ``2 ** (j/256 - 1)`` as computed by the
  platform's ``pow`` (correctly rounded on the usual libms; the test suite
  checks every entry against exact rational arithmetic). In the subnormal
  range (below ``2**-1022``) :func:`bucket_bounds` returns rounded bounds
  for ``s > 0``; the indexes themselves stay exact.
* **Sparse encoding**: :func:`buckets_to_spans` and
  :func:`spans_to_buckets` convert between ``{index: count}`` and the
  spans-plus-deltas form of :class:`~prometheus_client.samples.NativeHistogram`.
  Like the Go client, gaps of at most two empty buckets are bridged with
  zero counts (an empty bucket costs less on the wire than a new span).
* **Merging**: :func:`merge_native_histograms`, an exact merge at the
  coarsest schema of the inputs (used by the multiprocess reader).
* **Per-series state**: :class:`NativeHistogramState`, what an instrumented
  ``Histogram`` child records observations into, including the
  bucket-limiting strategy of the spec (reset, widen the zero bucket, halve
  the resolution). Its numbers live in *cells* obtained from a factory, so
  the same code records into process memory or into multiprocess storage.

Everything here except :class:`NativeHistogramState` is a pure function of
its arguments: safe from any thread, no I/O, no global state. The module
imports only the data model (``samples``) and, lazily, the storage cell type.
"""
from __future__ import annotations

import math
import sys
import threading
import time
from bisect import bisect_left
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .samples import BucketSpan, Exemplar, NativeHistogram

MIN_SCHEMA = -4
"""Coarsest valid schema (growth factor 65536)."""
MAX_SCHEMA = 8
"""Finest valid schema (growth factor about 1.0027)."""
DEFAULT_ZERO_THRESHOLD = 2.0 ** -128
"""Go's default zero threshold, a bucket boundary in every schema."""
MAX_FLOAT = sys.float_info.max

_INF = float("inf")
_frexp = math.frexp
_ldexp = math.ldexp

# 2 ** (j/256 - 1) for j in 0..255: the boundaries inside the octave [0.5, 1)
# at schema 8; schema s > 0 uses every 2**(8-s)-th entry.
_SCHEMA8_OCTAVE = tuple(2.0 ** (j / 256 - 1) for j in range(256))


class _Layout:
    """Everything the index computation of one schema needs, precomputed.

    ``index_0 = bisect_left(table, frac) + (exp - 1) * per_octave`` is the
    index at ``max(schema, 0)``; for a negative schema it is then reduced by
    ``shift`` halvings (ceiling division by ``2**shift``).
    """

    __slots__ = ("schema", "table", "per_octave", "shift", "max_index", "overflow_index")

    def __init__(self, schema: int) -> None:
        self.schema = schema
        if schema > 0:
            step = 1 << (MAX_SCHEMA - schema)
            self.table: Tuple[float, ...] = _SCHEMA8_OCTAVE[::step]
            self.per_octave = 1 << schema
            self.shift = 0
            self.max_index = 1024 << schema
        else:
            self.table = (0.5,)
            self.per_octave = 1
            self.shift = -schema
            self.max_index = 1024 >> -schema
        self.overflow_index = self.max_index + 1

    def index(self, value: float) -> int:
        """Index of a positive (non-NaN) value; +Inf gets the overflow index."""
        if value > MAX_FLOAT:
            return self.overflow_index
        frac, exp = _frexp(value)
        index = bisect_left(self.table, frac) + (exp - 1) * self.per_octave
        if self.shift:
            index = -((-index) >> self.shift)
        return index

    def upper(self, index: int) -> float:
        """Inclusive upper bound of bucket ``index`` (ValueError past the overflow bucket)."""
        if index >= self.max_index:
            if index == self.max_index:
                return MAX_FLOAT
            if index == self.overflow_index:
                return _INF
            raise ValueError(f"bucket index {index} is beyond the overflow bucket {self.overflow_index} "
                             f"of schema {self.schema}")
        if self.shift:
            return _ldexp(1.0, index << self.shift)
        octave, position = divmod(index, self.per_octave)
        return _ldexp(self.table[position], octave + 1)


_LAYOUTS = {schema: _Layout(schema) for schema in range(MIN_SCHEMA, MAX_SCHEMA + 1)}


def _layout(schema: int) -> _Layout:
    layout = _LAYOUTS.get(schema)
    if layout is None or isinstance(schema, bool):
        raise ValueError(f"native histogram schema must be an integer from {MIN_SCHEMA} to {MAX_SCHEMA}, "
                         f"got {schema!r}")
    return layout


# --------------------------------------------------------------------------
# Bucket math


def schema_for_factor(factor: float) -> int:
    """The schema for a maximum bucket growth factor (Go's ``NativeHistogramBucketFactor``).

    Returns the coarsest schema whose growth factor ``2**(2**-s)`` does not
    exceed ``factor``, clamped to ``[-4, 8]``: 1.1 gives 3, 2 gives 0,
    100000 gives -4, and any factor in ``(1, 1.0027)`` gives 8 (the finest
    resolution there is). This is the table of spec section 6.

    Raises:
        ValueError: for ``factor <= 1`` or NaN.
    """
    if not factor > 1:
        raise ValueError(f"native histogram bucket factor must be greater than 1, got {factor!r}")
    for schema in range(MIN_SCHEMA, MAX_SCHEMA + 1):
        if _LAYOUTS[schema].upper(1) <= factor:
            return schema
    return MAX_SCHEMA


def bucket_index(value: float, schema: int) -> int:
    """Index of the bucket of ``value > 0`` at ``schema``.

    Exact on every boundary: ``bucket_index(base**i) == i``. ``+Inf`` gets the
    overflow index ``1024 * 2**schema + 1``, ``MaxFloat64`` the index below it.
    For a negative observation use ``bucket_index(-value, schema)`` on the
    negative side.

    Raises:
        ValueError: for a value that is not ``> 0`` (including NaN) or an
            invalid schema.
    """
    layout = _layout(schema)
    if not value > 0:
        raise ValueError(f"bucket_index needs a value > 0, got {value!r}")
    return layout.index(value)


def bucket_bounds(index: int, schema: int) -> Tuple[float, float]:
    """``(lower, upper)`` of bucket ``index``: it holds ``lower < v <= upper``.

    The bucket of ``MaxFloat64`` has upper bound ``MaxFloat64``; the
    overflow bucket is ``(MaxFloat64, inf]``. Bounds are the exact float
    boundaries :func:`bucket_index` uses (rounded only in the subnormal range).

    Raises:
        ValueError: for an invalid schema or an index past the overflow bucket.
    """
    layout = _layout(schema)
    upper = layout.upper(index)
    return layout.upper(index - 1), upper


def reduce_index(index: int, steps: int) -> int:
    """Index of the bucket containing bucket ``index`` after ``steps`` halvings.

    ``ceil(index / 2**steps)``: bucket ``j`` of schema ``s - 1`` is the union
    of buckets ``2j - 1`` and ``2j`` of schema ``s``.

    Raises:
        ValueError: for negative ``steps``.
    """
    if steps < 0:
        raise ValueError(f"reduce_index needs steps >= 0, got {steps!r}")
    return -((-index) >> steps)


# --------------------------------------------------------------------------
# Sparse encoding


def buckets_to_spans(buckets: Mapping[int, Any], max_gap: int = 2
                     ) -> Tuple[Tuple[BucketSpan, ...], Tuple[Any, ...]]:
    """Encode ``{index: count}`` as ``(spans, deltas)``.

    Buckets with a count of 0 are left out, except that a run of at most
    ``max_gap`` empty indexes between two populated buckets is listed with
    zero counts rather than starting a new span (Go does the same with
    ``max_gap=2``; ``max_gap=0`` gives the exact form). The first span's
    offset is the absolute index of its first bucket; each later offset is
    the number of skipped indexes. The first delta is the first count, each
    later one the difference to the previous listed count. Counts keep their
    type (ints give int deltas). No buckets give ``((), ())``.

    Raises:
        ValueError: for a negative ``max_gap``.
    """
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap!r}")
    indexes = sorted(index for index, count in buckets.items() if count)
    if not indexes:
        return (), ()
    spans: List[BucketSpan] = []
    deltas: List[Any] = []
    previous_count: Any = 0
    span_start = indexes[0]
    span_offset = span_start
    previous_index = span_start - 1
    for index in indexes:
        gap = index - previous_index - 1
        if gap > max_gap:
            spans.append(BucketSpan(span_offset, previous_index - span_start + 1))
            span_offset, span_start = gap, index
        else:
            for _ in range(gap):  # bridge the gap with empty buckets
                deltas.append(-previous_count)
                previous_count = 0
        count = buckets[index]
        deltas.append(count - previous_count)
        previous_count = count
        previous_index = index
    spans.append(BucketSpan(span_offset, previous_index - span_start + 1))
    return tuple(spans), tuple(deltas)


def spans_to_buckets(spans: Optional[Sequence[Tuple[int, int]]], deltas: Optional[Sequence[Any]]
                     ) -> Dict[int, Any]:
    """Decode spans and deltas into ``{index: count}`` (empty buckets left out).

    ``None`` stands for "no buckets". Inverse of :func:`buckets_to_spans`
    for buckets with non-zero counts.

    Raises:
        ValueError: when the span lengths do not add up to the number of
            deltas, or a reconstructed count is negative.
    """
    buckets: Dict[int, Any] = {}
    for index, count in _iterate_buckets(spans, deltas):
        buckets[index] = count
    return buckets


def _iterate_buckets(spans: Optional[Sequence[Tuple[int, int]]], deltas: Optional[Sequence[Any]]
                     ) -> Iterable[Tuple[int, Any]]:
    """Yield ``(index, absolute count)`` of the non-empty buckets, in index order."""
    if not spans:
        if deltas:
            raise ValueError(f"native histogram has {len(deltas)} bucket deltas but no spans")
        return
    deltas = deltas or ()
    if sum(span[1] for span in spans) != len(deltas):
        raise ValueError(f"native histogram spans cover {sum(span[1] for span in spans)} buckets "
                         f"but {len(deltas)} deltas are given")
    position = 0
    index = 0
    count: Any = 0
    for offset, length in spans:
        index += offset
        for delta in deltas[position:position + length]:
            count += delta
            if count:
                if count < 0:
                    raise ValueError(f"native histogram bucket {index} has a negative count {count!r}")
                yield index, count
            index += 1
        position += length


# --------------------------------------------------------------------------
# Merging


def _add_all(numbers: List[Any]) -> Any:
    """Sum exactly for floats (fsum), falling back to plain addition for inf/NaN mixes."""
    if all(type(number) is int for number in numbers):
        return sum(numbers)
    try:
        return math.fsum(numbers)
    except (ValueError, OverflowError):
        return sum(numbers)


def merge_native_histograms(histograms: Iterable[NativeHistogram]) -> NativeHistogram:
    """Merge native histograms (e.g. one series from several processes) exactly.

    The result has the coarsest (smallest) schema of the inputs, every other
    input's buckets reduced to it, and the largest zero threshold. When that
    threshold falls strictly inside a populated bucket of an input with a
    smaller threshold, it is raised to that bucket's upper bound (as
    Prometheus does); then every bucket lying at or below the threshold is
    added to the zero count. Counts and sums add (ints stay ints); the
    result's ``nh_exemplars`` holds the newest exemplar of all inputs (by
    timestamp; later inputs win ties), or None. A single input is returned
    unchanged.

    Linear in the total number of buckets; thread-safe (pure).

    Raises:
        ValueError: for no input, an invalid schema, or spans and deltas that
            do not match (see :func:`spans_to_buckets`).
    """
    inputs = histograms if isinstance(histograms, (list, tuple)) else list(histograms)
    if not inputs:
        raise ValueError("merge_native_histograms needs at least one histogram")
    if len(inputs) == 1:
        _layout(inputs[0].schema)
        return inputs[0]
    schema = min(histogram.schema for histogram in inputs)
    layout = _layout(schema)
    threshold = max(histogram.zero_threshold for histogram in inputs)
    # Bucket of the merged schema containing the threshold, and whether the
    # threshold is its upper bound (then nothing can straddle it).
    if threshold > 0:
        threshold_index = layout.index(threshold)
        on_boundary = layout.upper(threshold_index) == threshold
        fold_limit = threshold_index if on_boundary else threshold_index - 1
    else:
        threshold_index, on_boundary, fold_limit = 0, True, None
    straddled = False
    zero_counts = []
    positive: Dict[int, Any] = {}
    negative: Dict[int, Any] = {}
    for histogram in inputs:
        steps = histogram.schema - schema
        _layout(histogram.schema)
        zero_counts.append(histogram.zero_count)
        other_threshold = histogram.zero_threshold < threshold
        for spans, deltas, merged in ((histogram.pos_spans, histogram.pos_deltas, positive),
                                      (histogram.neg_spans, histogram.neg_deltas, negative)):
            for index, count in _iterate_buckets(spans, deltas):
                if steps:
                    index = -((-index) >> steps)
                if fold_limit is not None and index <= fold_limit:
                    zero_counts.append(count)
                    continue
                if index == threshold_index and not on_boundary and other_threshold:
                    straddled = True
                merged[index] = merged.get(index, 0) + count
    if straddled:
        # Widen to the straddled bucket's upper bound and fold that bucket.
        threshold = layout.upper(threshold_index)
        for merged in (positive, negative):
            count = merged.pop(threshold_index, None)
            if count is not None:
                zero_counts.append(count)
    pos_spans, pos_deltas = buckets_to_spans(positive)
    neg_spans, neg_deltas = buckets_to_spans(negative)
    newest: Optional[Exemplar] = None
    for histogram in inputs:
        for exemplar in histogram.nh_exemplars or ():
            if newest is None or _exemplar_time(exemplar) >= _exemplar_time(newest):
                newest = exemplar
    return NativeHistogram(
        _add_all([histogram.count_value for histogram in inputs]),
        _add_all([histogram.sum_value for histogram in inputs]),
        schema,
        threshold,
        _add_all(zero_counts),
        pos_spans,
        neg_spans,
        pos_deltas,
        neg_deltas,
        None if newest is None else (newest,),
    )


def _exemplar_time(exemplar: Exemplar) -> float:
    timestamp = exemplar.timestamp
    return float("-inf") if timestamp is None else float(timestamp)


# --------------------------------------------------------------------------
# Per-series state

# Cell keys of a state. Bucket cells are "p<index>" (positive side) and
# "n<index>" (negative side), holding counts at the *current* schema; the
# multiprocess reader relies on these names.
COUNT_KEY = "count"
SUM_KEY = "sum"
ZERO_COUNT_KEY = "zero_count"
ZERO_THRESHOLD_KEY = "zero_threshold"
SCHEMA_KEY = "schema"
POSITIVE_PREFIX = "p"
NEGATIVE_PREFIX = "n"


def _whole(number: float) -> Any:
    """An integral float as an int (counts print as ``8``, not ``8.0``)."""
    if number.__class__ is float and number.is_integer():
        return int(number)
    return number


def _default_clock() -> float:
    return time.time()  # looked up at call time, so patching time.time works


def _in_process_cell(key: str) -> Any:
    from .storage import Cell  # lazy: keeps the pure parts of this module free of storage

    return Cell()


class NativeHistogramState:
    """The native-histogram numbers of one series, and how observations change them.

    Args:
        schema: Initial (configured) schema, -4..8.
        zero_threshold: Initial half-width of the zero bucket (``>= 0``).
        max_bucket_number: Limit on populated buckets (both sides); 0 means
            unlimited.
        min_reset_duration: Seconds; a histogram over its bucket limit is
            reset when at least this long has passed since the last reset
            (creation counts). 0 means never reset.
        max_zero_threshold: How far the zero bucket may be widened to stay
            within the limit.
        new_cell: ``new_cell(key)`` returns a cell (an object with
            ``inc(amount)``, ``set(value)`` and ``get()``) for one number of
            this series; see the ``*_KEY`` constants and the ``p<index>`` /
            ``n<index>`` bucket keys. Default: a fresh in-process cell.
        release_cell: Called with every cell this state stops using
            (buckets dropped by a reset, a resolution change or zero-bucket
            widening). Optional.
        clock: Returns the current time in seconds; default ``time.time()``
            looked up at each call.
        created: The creation time; default ``clock()``.
        on_reset: Called (under the lock) after every reset, e.g. to zero
            classic buckets kept next to the native ones.

    Observation (spec sections 3, 4 and 7): a value ``v`` with
    ``|v| <= zero threshold`` goes to the zero bucket; other values to the
    positive or negative bucket of their index at the current schema; NaN is
    counted in ``count`` and ``sum`` only; ``count`` and ``sum`` take every
    observation. When a new bucket takes the number of populated buckets
    over the limit: the histogram is reset (everything zeroed, configured
    schema and threshold restored, ``created`` renewed, then the
    observation recorded) if the min reset duration has passed; otherwise
    the zero bucket is widened (at most up to the max zero threshold) and
    then the resolution halved, until the limit holds or the schema is -4;
    either of those schedules a reset for when the min reset duration
    expires (performed by the first observation or snapshot after it).

    ``exemplar`` is the latest exemplar (set by the owner, e.g. the
    ``Histogram``; kept across resets) and ``created`` the creation time,
    renewed by every reset.

    Thread safety: every method is safe from any thread. ``lock`` (a
    re-entrant lock, so that an observation from a signal handler or a GC
    callback on a thread that is inside one cannot deadlock) serialises
    observations and snapshots, which are therefore consistent: ``count ==
    zero count + all buckets + NaN observations``. Callers that keep further
    numbers which must be consistent with this state may hold it around
    :meth:`record`. Such a re-entrant observation is deferred until the one
    it interrupted is complete. Not process-safe by itself: in multiprocess
    mode each process has its own state, writing cells that a reader merges.

    Raises:
        ValueError: at construction, for an invalid schema or negative or
            NaN limits. ``observe``/``record`` raise TypeError for a
            non-number (before anything changed); exceptions of
            ``new_cell`` propagate.
    """

    __slots__ = (
        "lock", "created", "exemplar",
        "_new_cell", "_release_cell", "_clock", "_on_reset",
        "_initial_schema", "_initial_zero_threshold", "_max_buckets", "_min_reset_duration",
        "_max_zero_threshold",
        "_layout", "_table", "_per_octave", "_shift", "_overflow_index",
        "_zero_threshold", "_negative_zero_threshold",
        "_count", "_sum", "_zero_count", "_zero_threshold_cell", "_schema_cell",
        "_positive", "_negative", "_last_reset", "_reset_at", "_busy", "_deferred",
    )

    def __init__(
        self,
        schema: int,
        *,
        zero_threshold: float = DEFAULT_ZERO_THRESHOLD,
        max_bucket_number: int = 0,
        min_reset_duration: float = 0.0,
        max_zero_threshold: float = 0.0,
        new_cell: Optional[Callable[[str], Any]] = None,
        release_cell: Optional[Callable[[Any], Any]] = None,
        clock: Optional[Callable[[], float]] = None,
        created: Optional[float] = None,
        on_reset: Optional[Callable[[], Any]] = None,
    ) -> None:
        layout = _layout(schema)
        if not zero_threshold >= 0:
            raise ValueError(f"zero_threshold must be >= 0, got {zero_threshold!r}")
        if not max_bucket_number >= 0:
            raise ValueError(f"max_bucket_number must be >= 0, got {max_bucket_number!r}")
        if not min_reset_duration >= 0:
            raise ValueError(f"min_reset_duration must be >= 0, got {min_reset_duration!r}")
        if not max_zero_threshold >= 0:
            raise ValueError(f"max_zero_threshold must be >= 0, got {max_zero_threshold!r}")
        self.lock = threading.RLock()
        self.exemplar: Optional[Exemplar] = None
        self._new_cell = new_cell or _in_process_cell
        self._release_cell = release_cell
        self._clock = clock or _default_clock
        self._on_reset = on_reset
        self._initial_schema = schema
        self._initial_zero_threshold = float(zero_threshold)
        self._max_buckets = max_bucket_number or sys.maxsize
        self._min_reset_duration = float(min_reset_duration)
        self._max_zero_threshold = float(max_zero_threshold)
        self.created = self._last_reset = self._clock() if created is None else created
        self._reset_at: Optional[float] = None
        self._busy = False
        self._deferred: List[float] = []
        self._count = self._new_cell(COUNT_KEY)
        self._sum = self._new_cell(SUM_KEY)
        self._zero_count = self._new_cell(ZERO_COUNT_KEY)
        self._zero_threshold_cell = self._new_cell(ZERO_THRESHOLD_KEY)
        self._schema_cell = self._new_cell(SCHEMA_KEY)
        self._positive: Dict[int, Any] = {}
        self._negative: Dict[int, Any] = {}
        self._set_schema(layout)
        self._set_zero_threshold(self._initial_zero_threshold)

    # -- configuration of the hot path

    def _set_schema(self, layout: _Layout) -> None:
        self._layout = layout
        self._table = layout.table
        self._per_octave = layout.per_octave
        self._shift = layout.shift
        self._overflow_index = layout.overflow_index
        self._schema_cell.set(layout.schema)

    def _set_zero_threshold(self, threshold: float) -> None:
        self._zero_threshold = threshold
        self._negative_zero_threshold = -threshold
        self._zero_threshold_cell.set(threshold)

    @property
    def schema(self) -> int:
        """The current schema (lower than configured after halvings)."""
        return self._layout.schema

    @property
    def zero_threshold(self) -> float:
        """The current zero threshold (higher than configured after widening)."""
        return self._zero_threshold

    @property
    def count_cell(self) -> Any:
        """The cell holding the observation count (e.g. to attach exemplars to)."""
        return self._count

    # -- observing

    def observe(self, value: float) -> None:
        """Record one observation (takes the lock)."""
        with self.lock:
            self.record(value)

    def record(self, value: float) -> None:
        """Record one observation; the caller must hold :attr:`lock`.

        An observation made while another one of this state is in progress
        on the same thread (from a signal handler or a GC callback) is
        deferred and recorded right after it, so it never sees a bucket
        layout in the middle of a change.
        """
        if self._busy:
            self._deferred.append(value)
            return
        self._busy = True
        try:
            if self._reset_at is not None:
                self._reset_if_due()
            self._sum.inc(value)  # first: a non-number fails before anything changed
            self._count.inc(1.0)
            if value > self._zero_threshold:
                buckets, prefix, magnitude = self._positive, POSITIVE_PREFIX, value
            elif value < self._negative_zero_threshold:
                buckets, prefix, magnitude = self._negative, NEGATIVE_PREFIX, -value
            else:
                buckets = None
                if value == value:  # not NaN: NaN is in count and sum only
                    self._zero_count.inc(1.0)
            if buckets is not None:
                if magnitude <= MAX_FLOAT:
                    frac, exp = _frexp(magnitude)
                    index = bisect_left(self._table, frac) + (exp - 1) * self._per_octave
                    if self._shift:
                        index = -((-index) >> self._shift)
                else:
                    index = self._overflow_index
                cell = buckets.get(index)
                if cell is None:
                    self._add_bucket(buckets, prefix, index, value)
                else:
                    cell.inc(1.0)
        finally:
            self._busy = False
        if self._deferred:
            self.record(self._deferred.pop(0))

    def _add_bucket(self, buckets: Dict[int, Any], prefix: str, index: int, value: float) -> None:
        """Slow path of record(): the observation opens a new bucket."""
        cell = self._new_cell(prefix + str(index))
        cell.inc(1.0)
        buckets[index] = cell
        if len(self._positive) + len(self._negative) > self._max_buckets:
            self._limit_buckets(value)

    # -- the bucket limit (spec section 7)

    def _limit_buckets(self, value: float) -> None:
        now = self._clock()
        if self._min_reset_duration > 0 and now - self._last_reset >= self._min_reset_duration:
            self._reset(now)
            self._deferred.insert(0, value)  # recorded again, first, once this observation is done
            return
        fired = False
        while len(self._positive) + len(self._negative) > self._max_buckets:
            if self._widen_zero_bucket() or self._halve_resolution():
                fired = True
            else:
                break
        if fired and self._min_reset_duration > 0 and self._reset_at is None:
            self._reset_at = self._last_reset + self._min_reset_duration

    def _widen_zero_bucket(self) -> bool:
        """Fold the bucket(s) closest to zero into the zero bucket, if allowed."""
        if self._zero_threshold >= self._max_zero_threshold:
            return False
        smallest = min(min(self._positive, default=sys.maxsize), min(self._negative, default=sys.maxsize))
        if smallest == sys.maxsize:
            return False
        threshold = self._layout.upper(smallest)
        if threshold > self._max_zero_threshold:
            return False
        moved = 0.0
        for buckets in (self._positive, self._negative):
            cell = buckets.pop(smallest, None)
            if cell is not None:
                moved += cell.get()
                self._release(cell)
        self._zero_count.inc(moved)
        self._set_zero_threshold(threshold)
        return True

    def _halve_resolution(self) -> bool:
        """Go one schema coarser, merging neighbouring buckets; False at schema -4."""
        schema = self._layout.schema
        if schema <= MIN_SCHEMA:
            return False
        merged = []
        for buckets in (self._positive, self._negative):
            counts: Dict[int, float] = {}
            for index, cell in list(buckets.items()):
                new_index = -((-index) >> 1)
                counts[new_index] = counts.get(new_index, 0.0) + cell.get()
                self._release(cell)
            merged.append(counts)
        self._set_schema(_LAYOUTS[schema - 1])
        self._positive = self._cells_for(POSITIVE_PREFIX, merged[0])
        self._negative = self._cells_for(NEGATIVE_PREFIX, merged[1])
        return True

    def _cells_for(self, prefix: str, counts: Dict[int, float]) -> Dict[int, Any]:
        cells = {}
        for index, count in counts.items():
            cell = self._new_cell(prefix + str(index))
            cell.set(count)
            cells[index] = cell
        return cells

    def _release(self, cell: Any) -> None:
        if self._release_cell is not None:
            self._release_cell(cell)

    def _reset_if_due(self) -> None:
        now = self._clock()
        if self._reset_at is not None and now >= self._reset_at:
            self._reset(now)

    def _reset(self, now: float) -> None:
        """Back to the configured resolution, with everything zeroed and a new created time."""
        buckets = list(self._positive.values()) + list(self._negative.values())
        self._positive, self._negative = {}, {}
        for cell in buckets:
            self._release(cell)
        self._count.set(0.0)
        self._sum.set(0.0)
        self._zero_count.set(0.0)
        if self._layout.schema != self._initial_schema:
            self._set_schema(_LAYOUTS[self._initial_schema])
        if self._zero_threshold != self._initial_zero_threshold:
            self._set_zero_threshold(self._initial_zero_threshold)
        self.created = self._last_reset = now
        self._reset_at = None
        if self._on_reset is not None:
            self._on_reset()

    # -- reading

    def snapshot(self) -> NativeHistogram:
        """The current value as a NativeHistogram (consistent: taken under the lock).

        Counts are ints, buckets encoded with :func:`buckets_to_spans` (empty
        sides as ``()``); ``nh_exemplars`` is ``(latest exemplar,)`` or None.
        Performs a reset that has fallen due first.
        """
        with self.lock:
            if self._reset_at is not None and not self._busy:
                self._busy = True
                try:
                    self._reset_if_due()
                finally:
                    self._busy = False
                if self._deferred:
                    self.record(self._deferred.pop(0))
            count = self._count.get()
            total = self._sum.get()
            zero_count = self._zero_count.get()
            positive = [(index, cell.get()) for index, cell in list(self._positive.items())]
            negative = [(index, cell.get()) for index, cell in list(self._negative.items())]
            schema = self._layout.schema
            threshold = self._zero_threshold
            exemplar = self.exemplar
        pos_spans, pos_deltas = buckets_to_spans({index: _whole(count) for index, count in positive})
        neg_spans, neg_deltas = buckets_to_spans({index: _whole(count) for index, count in negative})
        return NativeHistogram(
            _whole(count), total, schema, threshold, _whole(zero_count),
            pos_spans, neg_spans, pos_deltas, neg_deltas,
            None if exemplar is None else (exemplar,),
        )

    def cells(self) -> List[Any]:
        """Every cell currently in use (e.g. to release them all when the series is removed)."""
        with self.lock:
            return [self._count, self._sum, self._zero_count, self._zero_threshold_cell, self._schema_cell,
                    *self._positive.values(), *self._negative.values()]


def cell_sample_name(family_name: str, key: str) -> str:
    """The sample name under which a histogram stores the native cell ``key``.

    ``<family>:native:<key>``. Used as the ``name`` argument of
    ``values.ValueClass``, so that a multiprocess reader can tell the cells
    of the native part apart (see :func:`parse_cell_sample_name`).
    """
    return family_name + _CELL_INFIX + key


def parse_cell_sample_name(family_name: str, sample_name: str) -> Optional[str]:
    """The native cell key of a stored sample name, or None if it is not one."""
    prefix = family_name + _CELL_INFIX
    if sample_name.startswith(prefix):
        return sample_name[len(prefix):]
    return None


_CELL_INFIX = ":native:"

__all__ = [
    "COUNT_KEY",
    "DEFAULT_ZERO_THRESHOLD",
    "MAX_SCHEMA",
    "MIN_SCHEMA",
    "NEGATIVE_PREFIX",
    "NativeHistogramState",
    "POSITIVE_PREFIX",
    "SCHEMA_KEY",
    "SUM_KEY",
    "ZERO_COUNT_KEY",
    "ZERO_THRESHOLD_KEY",
    "bucket_bounds",
    "bucket_index",
    "buckets_to_spans",
    "cell_sample_name",
    "merge_native_histograms",
    "parse_cell_sample_name",
    "reduce_index",
    "schema_for_factor",
    "spans_to_buckets",
]
