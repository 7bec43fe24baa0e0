"""Prometheus protobuf exposition (``io.prometheus.client.MetricFamily``, delimited).

Encoder layer: pure functions from collected families (``Metric`` objects
with their ``Sample``s) to the binary format that Prometheus negotiates with
``Accept: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
encoding=delimited``, and back. The wire format is written and read by hand
(varints, zigzag, little-endian doubles); there is no dependency on the
``protobuf`` package. Layout and field numbers: ``specs/protobuf.md``.

Body: one ``MetricFamily`` message per family, each prefixed by its length
as a varint. How our families map onto the messages, chosen so that
Prometheus ingests the same series as from our text output:

* ``counter`` -> ``COUNTER`` named ``<name>_total``; the value comes from
  the ``_total`` sample (with its exemplar), ``_created`` becomes the
  ``created_timestamp`` of the child with the same labels.
* ``gauge`` -> ``GAUGE``; ``unknown`` -> ``UNTYPED``.
* ``info`` -> ``GAUGE`` named ``<name>_info``; ``stateset`` -> ``GAUGE``
  with one series per state (exactly the series of text 0.0.4).
* ``summary`` -> ``SUMMARY``: quantiles (samples with a ``quantile``
  label), ``_count``, ``_sum``, ``_created``.
* ``histogram`` -> ``HISTOGRAM``: classic buckets (``_bucket`` samples, in
  the given order, cumulative counts and exemplars), ``_count``, ``_sum``,
  ``_created``, plus the native fields of a sample named like the family
  that carries a ``native_histogram``; classic and native parts of one
  label set share one message. The ``+Inf`` bucket is left out (readers
  derive it from the count) unless it carries an exemplar next to other
  buckets, or is the only bucket of a histogram without native data (a
  lone ``+Inf`` next to native data is the text view of a native-only
  histogram, which must not look classic). A native histogram that would
  otherwise look classic (threshold 0, zero count 0, no spans) gets the
  no-op span ``(0, 0)``; native exemplars without a timestamp are left
  out (Prometheus requires one).
* ``gaugehistogram`` -> ``GAUGE_HISTOGRAM``: ``_bucket``, ``_gcount`` as the
  count and ``_gsum`` as the sum. Prometheus names the resulting series
  ``_count``/``_sum`` (the text format's ``_gcount``/``_gsum`` have no
  protobuf equivalent).
* Any other sample (say a gauge's ``foo_created``) becomes its own family
  named like the sample: ``GAUGE`` for ``<family>_created``, ``_gcount`` and
  ``_gsum`` (the families the text format hoists), otherwise the family's
  simple type (``COUNTER``, ``GAUGE``) or ``UNTYPED``.

Families with the same final name and type are merged into one message (the
format forbids repeating a name); families without series are left out.
Names are escaped with the negotiated scheme as in the text format, except
that ``allow-utf-8`` sends them unquoted (protobuf strings need no quoting).
Counts that are non-negative integers use the integer fields, others the
``*_float`` fields (a native histogram with a non-integer count becomes a
float histogram; summary counts, which have no float field, are rounded).
Sample timestamps become ``timestamp_ms`` (``int(float(ts) * 1000)`` as in
the text format, exact for ``Timestamp`` objects).

Speed: the encoded label pairs of a series are memoized on its ``LabelSet``
(as the text encoders memoize their label text), encoded label pairs and
family headers are cached by their text, and created timestamps by value.

Thread/process safety: every function is safe to call concurrently; the
caches are plain dicts whose races are benign (every entry is a pure
function of its key) and are cleared when they grow past a bound.
"""
from __future__ import annotations

import math
from struct import Struct
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .._labelset import LabelSet
from ..metrics_core import Metric
from ..registry import REGISTRY, Collector
from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from ..utils import floatToGoString
from ._escaping import ALLOWUTF8, UNDERSCORES, escape_label_name, escape_metric_name

__all__ = [
    'CONTENT_TYPE_PROTOBUF',
    'decode_metric_families',
    'encode_metric_families',
    'generate_latest',
]

CONTENT_TYPE_PROTOBUF = ('application/vnd.google.protobuf; '
                         'proto=io.prometheus.client.MetricFamily; encoding=delimited')
"""Content type of the delimited protobuf exposition."""

# MetricType enum values.
COUNTER = 0
GAUGE = 1
SUMMARY = 2
UNTYPED = 3
HISTOGRAM = 4
GAUGE_HISTOGRAM = 5

_TYPE_NAMES = {COUNTER: 'COUNTER', GAUGE: 'GAUGE', SUMMARY: 'SUMMARY', UNTYPED: 'UNTYPED',
               HISTOGRAM: 'HISTOGRAM', GAUGE_HISTOGRAM: 'GAUGE_HISTOGRAM'}

_UINT64_LIMIT = 1 << 64
_NANOS = 1_000_000_000
_INF = float('inf')

# ---------------------------------------------------------------------------
# Wire primitives
# ---------------------------------------------------------------------------

_ONE_BYTE = [bytes((i,)) for i in range(128)]
_pack_double = Struct('<d').pack
_unpack_double = Struct('<d').unpack_from
_pack_key_double = Struct('<Bd').pack          # key byte + double
_pack_value_message = Struct('<BBBd').pack     # key + length 9 + key 09 + double


def _varint(n: int) -> bytes:
    """Varint of ``n``; a negative ``n`` is written as 64-bit two's complement."""
    if n < 128:
        if n >= 0:
            return _ONE_BYTE[n]
        n += _UINT64_LIMIT
    elif n < 16384:
        return bytes(((n & 127) | 128, n >> 7))
    out = bytearray()
    while n > 127:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> int:
    """ZigZag mapping of sint32/sint64: 0, -1, 1, -2 -> 0, 1, 2, 3."""
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def _delimited(key: bytes, body: bytes) -> bytes:
    """A length-delimited field: ``key``, varint length, ``body``."""
    size = len(body)
    if size < 128:
        return key + _ONE_BYTE[size] + body
    return key + _varint(size) + body


def _uint(value: Any) -> Optional[int]:
    """``value`` as a uint64 if it is a non-negative whole number below 2**64, else None."""
    if value.__class__ is float:
        if 0.0 <= value < 1.8446744073709552e19 and value.is_integer():
            return int(value)
        return None
    if value.__class__ is int or value.__class__ is bool:
        return int(value) if 0 <= value < _UINT64_LIMIT else None
    return _uint(float(value))


def _round_uint(value: Any) -> int:
    """Nearest uint64 of a count that has no float field (NaN and negatives give 0)."""
    count = _uint(value)
    if count is not None:
        return count
    value = float(value)
    if not value > 0:
        return 0
    if value >= _UINT64_LIMIT:
        return _UINT64_LIMIT - 1
    return int(round(value))


def _timestamp_message(timestamp: Any) -> Optional[bytes]:
    """Body of a ``google.protobuf.Timestamp``; None for a non-finite float.

    Zero fields are omitted, as proto3 writers do.
    """
    if isinstance(timestamp, Timestamp):
        seconds, nanos = divmod(timestamp.sec * _NANOS + timestamp.nsec, _NANOS)
    else:
        value = float(timestamp)
        if not math.isfinite(value):
            return None
        seconds = math.floor(value)
        nanos = int(round((value - seconds) * 1e9))
        if nanos >= _NANOS:
            seconds += 1
            nanos -= _NANOS
    body = b'\x08' + _varint(seconds) if seconds else b''
    if nanos:
        body += b'\x10' + _varint(nanos)
    return body


def _timestamp_ms(timestamp: Any) -> int:
    """Milliseconds of a sample timestamp, truncated toward zero like the text format."""
    if isinstance(timestamp, Timestamp):
        total = timestamp.sec * _NANOS + timestamp.nsec
        millis = abs(total) // 1_000_000
        return millis if total >= 0 else -millis
    return int(float(timestamp) * 1000)


# ---------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------

# Cache bounds: a cache holding more entries is cleared (they only get that
# big with very high label churn, and everything in them is recomputable).
_PAIR_CACHE_LIMIT = 65536
_HEADER_CACHE_LIMIT = 4096

# Per escaping scheme: (label name, label value) -> encoded LabelPair field.
_pair_caches: Dict[str, Dict[Tuple[Any, Any], bytes]] = {}
# (family name, help, type, unit) -> (header bytes, trailer bytes).
_header_cache: Dict[Tuple[str, str, int, str], Tuple[bytes, bytes]] = {}

_LABELS_MEMO_KEYS: Dict[str, str] = {}
# LabelSet memo key of the (created value, encoded created_timestamp) pair.
_CREATED_MEMO_KEY = 'pb:created'

# Key bytes of the Metric sub-message carrying a simple value, per type.
_VALUE_KEYS = {COUNTER: 0x1a, GAUGE: 0x12, UNTYPED: 0x2a}

_METRIC_KEY = b'\x22'


class _Family:
    """One MetricFamily being built: header, encoded Metric fields, trailer."""

    __slots__ = ('header', 'entries', 'trailer')

    def __init__(self, header: bytes, trailer: bytes) -> None:
        self.header = header
        self.entries: List[bytes] = []
        self.trailer = trailer


class _State:
    """Per-call encoder state: escaping, caches and the families built so far."""

    __slots__ = ('escaping', 'memo_key', 'head_keys', 'pairs', 'label_names', 'metric_names',
                 'families', 'uppers', 'rests')

    def __init__(self, escaping: str) -> None:
        self.escaping = escaping
        memo_key = _LABELS_MEMO_KEYS.get(escaping)
        if memo_key is None:
            memo_key = 'pb:labels:' + escaping
            if len(_LABELS_MEMO_KEYS) < 64:
                _LABELS_MEMO_KEYS[escaping] = memo_key
        self.memo_key = memo_key
        # LabelSet memo keys of memoized entry heads, per value type.
        self.head_keys = {pb_type: f'{memo_key}:{pb_type}' for pb_type in _VALUE_KEYS}
        pairs = _pair_caches.get(escaping)
        if pairs is None or len(pairs) > _PAIR_CACHE_LIMIT:
            pairs = {}
            if len(_pair_caches) < 64:
                _pair_caches[escaping] = pairs
        self.pairs = pairs
        self.label_names: Dict[str, bytes] = {}
        self.metric_names: Dict[str, str] = {}
        self.families: Dict[Tuple[str, int], _Family] = {}
        self.uppers: Dict[Any, bytes] = {}
        self.rests: Dict[Tuple[Tuple[str, str], ...], bytes] = {}

    # -- names ---------------------------------------------------------------

    def metric_name(self, name: str) -> str:
        """The exposed form of a metric name under the escaping scheme."""
        escaped = self.metric_names.get(name)
        if escaped is None:
            if self.escaping == ALLOWUTF8:
                escaped = name
            else:
                escaped = escape_metric_name(name, self.escaping)
            self.metric_names[name] = escaped
        return escaped

    def _pair(self, name: str, value: str) -> bytes:
        """Encoded ``label`` field (LabelPair) of one label."""
        name_bytes = self.label_names.get(name)
        if name_bytes is None:
            exposed = name if self.escaping == ALLOWUTF8 else escape_label_name(name, self.escaping)
            name_bytes = self.label_names[name] = _delimited(b'\x0a', exposed.encode('utf-8'))
        return _delimited(b'\x0a', name_bytes + _delimited(b'\x12', value.encode('utf-8')))

    def _encode_items(self, items: Iterable[Tuple[str, str]]) -> bytes:
        """Encoded label fields of sorted ``(name, value)`` items."""
        pairs = self.pairs
        parts = []
        for item in items:
            encoded = pairs.get(item)
            if encoded is None:
                encoded = pairs[item] = self._pair(item[0], item[1])
            parts.append(encoded)
        return b''.join(parts)

    # -- labels ---------------------------------------------------------------

    def labels(self, labels: Optional[Mapping[str, str]]) -> bytes:
        """Encoded label fields of a label mapping (memoized on LabelSets)."""
        if not labels:
            return b''
        if labels.__class__ is LabelSet:
            rendered = labels.rendered  # type: ignore[attr-defined]
            encoded = rendered.get(self.memo_key)
            if encoded is None:
                encoded = rendered[self.memo_key] = self._encode_items(sorted(labels.items()))
            return encoded
        return self._encode_items(sorted(labels.items()))

    def labels_without(self, labels: Mapping[str, str], skip: str) -> bytes:
        """Encoded label fields of ``labels`` minus the label named ``skip``."""
        items = tuple(labels.items())
        if items[-1][0] == skip:
            rest = items[:-1]
        else:
            rest = tuple(item for item in items if item[0] != skip)
        encoded = self.rests.get(rest)
        if encoded is None:
            encoded = self.rests[rest] = self._encode_items(sorted(rest))
        return encoded

    def exemplar(self, exemplar: Exemplar) -> bytes:
        """Body of an Exemplar message."""
        body = self._encode_items(sorted(exemplar.labels.items())) if exemplar.labels else b''
        body += _pack_key_double(0x11, float(exemplar.value))
        if exemplar.timestamp is not None:
            timestamp = _timestamp_message(exemplar.timestamp)
            if timestamp is not None:
                body += _delimited(b'\x1a', timestamp)
        return body

    # -- families -------------------------------------------------------------

    def family(self, name: str, documentation: str, pb_type: int, unit: str) -> List[bytes]:
        """The list that collects the Metric fields of family ``name``/``pb_type``."""
        exposed = self.metric_name(name)
        family = self.families.get((exposed, pb_type))
        if family is None:
            cache_key = (exposed, documentation, pb_type, unit)
            cached = _header_cache.get(cache_key)
            if cached is None:
                header = (_delimited(b'\x0a', exposed.encode('utf-8'))
                          + _delimited(b'\x12', documentation.encode('utf-8'))
                          + b'\x18' + _ONE_BYTE[pb_type])
                trailer = _delimited(b'\x2a', unit.encode('utf-8')) if unit else b''
                cached = (header, trailer)
                if len(_header_cache) >= _HEADER_CACHE_LIMIT:
                    _header_cache.clear()
                _header_cache[cache_key] = cached
            family = self.families[(exposed, pb_type)] = _Family(*cached)
        return family.entries

    def finish(self) -> bytes:
        """The delimited body of every non-empty family, in first-seen order."""
        out: List[bytes] = []
        for family in self.families.values():
            entries = family.entries
            if not entries:
                continue
            size = len(family.header) + len(family.trailer) + sum(map(len, entries))
            out.append(_varint(size))
            out.append(family.header)
            out.extend(entries)
            out.append(family.trailer)
        return b''.join(out)


def _metric_entry(body: bytes) -> bytes:
    """The ``metric`` field of a MetricFamily holding ``body``."""
    size = len(body)
    if size < 128:
        return _METRIC_KEY + _ONE_BYTE[size] + body
    return _METRIC_KEY + _varint(size) + body


def _value_entry(label_bytes: bytes, value_key: int, value: Any, timestamp: Any) -> bytes:
    """Metric entry of a simple series (gauge, untyped or counter without extras)."""
    if value.__class__ is not float:
        value = float(value)
    body = label_bytes + _pack_value_message(value_key, 9, 0x09, value)
    if timestamp is not None:
        body += b'\x30' + _varint(_timestamp_ms(timestamp))
    return _metric_entry(body)


def _leftover_type(metric_type: int, family_name: str, sample_name: str) -> int:
    """Type of the family that takes a sample foreign to its own family."""
    if sample_name.startswith(family_name) and sample_name[len(family_name):] in (
            '_created', '_gcount', '_gsum'):
        return GAUGE
    if metric_type in _VALUE_KEYS:
        return metric_type
    return UNTYPED


def _encode_leftover(metric: Metric, sample: Sample, pb_type: int, state: _State) -> None:
    """Encode a sample that is not part of its family's own series."""
    leftover_type = _leftover_type(pb_type, metric.name, sample.name)
    entries = state.family(sample.name, metric.documentation, leftover_type, '')
    entries.append(_value_entry(state.labels(sample.labels), _VALUE_KEYS[leftover_type],
                                sample.value, sample.timestamp))


def _encode_simple(metric: Metric, state: _State, pb_type: int, series_name: str) -> None:
    """Gauge, untyped, info and stateset families: one value per sample."""
    entries = state.family(series_name, metric.documentation, pb_type, metric.unit)
    value_key = _VALUE_KEYS[pb_type]
    memo_key = state.head_keys[pb_type]
    append = entries.append
    float_ = float
    labelset_class = LabelSet
    for sample in metric.samples:
        if sample.name != series_name:
            _encode_leftover(metric, sample, pb_type, state)
            continue
        value = sample.value
        if value.__class__ is not float_:
            value = float_(value)
        labels = sample.labels
        if labels.__class__ is labelset_class and sample.timestamp is None:
            # Fast path: everything but the 8 value bytes is memoized on the series.
            rendered = labels.rendered
            head = rendered.get(memo_key)
            if head is None:
                head = rendered[memo_key] = _metric_entry(
                    state.labels(labels) + _pack_value_message(value_key, 9, 0x09, 0.0))[:-8]
            append(head + _pack_double(value))
            continue
        append(_value_entry(state.labels(labels), value_key, value, sample.timestamp))


def _created_field(labels: Any, created: Any, key: bytes) -> bytes:
    """The created_timestamp field (``key``) for a ``_created`` value, memoized on LabelSets."""
    if labels.__class__ is LabelSet:
        rendered = labels.rendered
        memo = rendered.get(_CREATED_MEMO_KEY)
        if memo is not None and memo[0] == created and memo[1] == key:
            return memo[2]
        field = _created_message(created, key)
        rendered[_CREATED_MEMO_KEY] = (created, key, field)
        return field
    return _created_message(created, key)


def _created_message(created: Any, key: bytes) -> bytes:
    message = _timestamp_message(created)
    return b'' if message is None else _delimited(key, message)


def _encode_counter(metric: Metric, state: _State) -> None:
    """Counter families: ``_total`` values with exemplars and ``_created`` times.

    The samples of a series are paired by label set. Fast path: a
    ``_total`` sample of a LabelSet without exemplar or timestamp, followed
    by its ``_created`` sample (same LabelSet) or by no ``_created`` sample
    at all (the instrumented Counter's layout); its entry is memoized on the
    LabelSet apart from the value.
    """
    name = metric.name
    total_name = name + '_total'
    created_name = name + '_created'
    entries = state.family(total_name, metric.documentation, COUNTER, metric.unit)
    memo_key = state.head_keys[COUNTER]
    # Finished entries (bytes) and slow-path children ([label bytes, total, created]), in order.
    ordered: List[Any] = []
    children: Dict[bytes, List[Any]] = {}
    samples = metric.samples
    count = len(samples)
    index = 0
    float_ = float
    labelset_class = LabelSet
    while index < count:
        sample = samples[index]
        index += 1
        sample_name = sample.name
        labels = sample.labels
        if (sample_name == total_name and labels.__class__ is labelset_class
                and sample.exemplar is None and sample.timestamp is None):
            created: Any = None
            if index < count:
                following = samples[index]
                if following.name == created_name:
                    if following.labels is not labels or following.timestamp is not None:
                        created = _SLOW
                    else:
                        created = following.value
                        index += 1
            if created is not _SLOW:
                value = sample.value
                if value.__class__ is not float_:
                    value = float_(value)
                rendered = labels.rendered
                memo = rendered.get(memo_key)
                if memo is None or memo[0] != created:
                    memo = rendered[memo_key] = _counter_memo(state.labels(labels), created)
                ordered.append(memo[1] + _pack_double(value) + memo[2])
                continue
        if sample_name == total_name:
            slot = 1
        elif sample_name == created_name:
            slot = 2
        else:
            _encode_leftover(metric, sample, COUNTER, state)
            continue
        key = state.labels(labels)
        child = children.get(key)
        if child is None or child[slot] is not None:  # new, or a repeated series
            child = children[key] = [key, None, None]
            ordered.append(child)
        child[slot] = sample
    for item in ordered:
        if item.__class__ is bytes:
            entries.append(item)
        else:
            _flush_counter(entries, item, metric, state)


_SLOW = object()  # marker: the series needs the general path


def _counter_memo(label_bytes: bytes, created: Any) -> Tuple[Any, bytes, bytes]:
    """(created value, entry bytes before the value, entry bytes after it)."""
    tail = b'' if created is None else _created_message(created, b'\x1a')
    entry = _metric_entry(label_bytes + _delimited(b'\x1a', _pack_key_double(0x09, 0.0) + tail))
    split = len(entry) - len(tail) - 8
    return created, entry[:split], tail


def _flush_counter(entries: List[bytes], child: List[Any], metric: Metric, state: _State) -> None:
    """Append the Metric entry of one counter child (general path)."""
    key, total, created = child
    if total is None:  # a lone _created: expose it as the text format does
        _encode_leftover(metric, created, COUNTER, state)
        return
    value = total.value
    if value.__class__ is not float:
        value = float(value)
    counter = _pack_key_double(0x09, value)
    if total.exemplar is not None:
        counter += _delimited(b'\x12', state.exemplar(total.exemplar))
    if created is not None:
        counter += _created_field(created.labels, created.value, b'\x1a')
    body = key + _delimited(b'\x1a', counter)
    if total.timestamp is not None:
        body += b'\x30' + _varint(_timestamp_ms(total.timestamp))
    entries.append(_metric_entry(body))


class _Child:
    """The parts of one summary or histogram series (one label set)."""

    __slots__ = ('items', 'count', 'sum', 'created', 'native', 'timestamp', 'created_labels')

    def __init__(self) -> None:
        self.items: List[Tuple[Any, Any, Optional[Exemplar]]] = []  # buckets or quantiles
        self.count: Any = None
        self.sum: Any = None
        self.created: Any = None
        self.created_labels: Any = None
        self.native: Optional[NativeHistogram] = None
        self.timestamp: Any = None


_ITEM, _COUNT, _SUM, _CREATED, _NATIVE = range(5)


def _collect_children(metric: Metric, state: _State, pb_type: int, roles: Dict[str, int],
                      item_label: str) -> Dict[bytes, _Child]:
    """Group the samples of a summary or histogram family by label set.

    Samples without a role (or a bucket/quantile sample without its
    ``le``/``quantile`` label, or a family-named sample without native data)
    are encoded as leftovers.
    """
    children: Dict[bytes, _Child] = {}
    for sample in metric.samples:
        role = roles.get(sample.name)
        labels = sample.labels
        if role == _ITEM:
            if not labels or item_label not in labels:
                role = None
        elif role == _NATIVE and sample.native_histogram is None:
            role = None
        if role is None:
            _encode_leftover(metric, sample, pb_type, state)
            continue
        if role == _ITEM:
            key = state.labels_without(labels, item_label)
        else:
            key = state.labels(labels)
        child = children.get(key)
        if child is None:
            child = children[key] = _Child()
        if child.timestamp is None and sample.timestamp is not None:
            child.timestamp = sample.timestamp
        if role == _ITEM:
            child.items.append((labels[item_label], sample.value, sample.exemplar))
        elif role == _COUNT:
            child.count = sample.value
        elif role == _SUM:
            child.sum = sample.value
        elif role == _CREATED:
            child.created = sample.value
            child.created_labels = labels
        else:
            child.native = sample.native_histogram
    return children


def _encode_summary(metric: Metric, state: _State) -> None:
    """Summary families: quantiles, count, sum and created time per child."""
    name = metric.name
    roles = {name: _ITEM, name + '_count': _COUNT, name + '_sum': _SUM, name + '_created': _CREATED}
    entries = state.family(name, metric.documentation, SUMMARY, metric.unit)
    for key, child in _collect_children(metric, state, SUMMARY, roles, 'quantile').items():
        body = b''
        if child.count is not None:
            body += b'\x08' + _varint(_round_uint(child.count))
        if child.sum is not None:
            body += _pack_key_double(0x11, float(child.sum))
        for quantile, value, _ in child.items:
            body += (b'\x1a\x12' + _pack_key_double(0x09, float(quantile))
                     + _pack_key_double(0x11, float(value)))
        if child.created is not None:
            body += _created_field(child.created_labels, child.created, b'\x22')
        metric_body = key + _delimited(b'\x22', body)
        if child.timestamp is not None:
            metric_body += b'\x30' + _varint(_timestamp_ms(child.timestamp))
        entries.append(_metric_entry(metric_body))


def _encode_histogram(metric: Metric, state: _State) -> None:
    """Histogram families (classic and native)."""
    name = metric.name
    roles = {name + '_bucket': _ITEM, name + '_count': _COUNT, name + '_sum': _SUM,
             name + '_created': _CREATED, name: _NATIVE}
    _encode_histogram_children(metric, state, HISTOGRAM, roles)


def _encode_gauge_histogram(metric: Metric, state: _State) -> None:
    """Gauge-histogram families: ``_gcount``/``_gsum`` become count and sum."""
    name = metric.name
    roles = {name + '_bucket': _ITEM, name + '_gcount': _COUNT, name + '_gsum': _SUM,
             name: _NATIVE}
    _encode_histogram_children(metric, state, GAUGE_HISTOGRAM, roles)


def _encode_histogram_children(metric: Metric, state: _State, pb_type: int,
                               roles: Dict[str, int]) -> None:
    entries = state.family(metric.name, metric.documentation, pb_type, metric.unit)
    for key, child in _collect_children(metric, state, pb_type, roles, 'le').items():
        body = _histogram_message(child, state, metric.name)
        metric_body = key
        if child.timestamp is not None:
            metric_body += b'\x30' + _varint(_timestamp_ms(child.timestamp))
        entries.append(_metric_entry(metric_body + _delimited(b'\x3a', body)))


def _histogram_message(child: _Child, state: _State, name: str) -> bytes:
    """Body of the Histogram message of one child, fields in ascending order."""
    native = child.native
    buckets = child.items
    count = child.count
    total = count
    # The +Inf bucket is implied by the count. Keep it only when it carries
    # an exemplar (next to other buckets, as the Go client does) or when it
    # is the whole classic histogram; next to native data a lone +Inf bucket
    # is just the text formats' view of a native-only histogram.
    if buckets and float(buckets[-1][0]) == _INF:
        if total is None:
            total = buckets[-1][1]
        if len(buckets) == 1:
            drop = native is not None
        else:
            drop = buckets[-1][2] is None
        if drop:
            buckets = buckets[:-1]
    native_fields = b''
    float_histogram = False
    sum_value = child.sum
    if native is not None:
        native_fields, float_histogram = _native_fields(native, state, name)
        total = native.count_value
        sum_value = native.sum_value
    count_field = b''
    if total is not None:
        integer = None if float_histogram else _uint(total)
        if integer is not None:
            count_field = b'\x08' + _varint(integer)
        else:
            float_histogram = True
    parts = [count_field]
    if sum_value is not None:
        parts.append(_pack_key_double(0x11, float(sum_value)))
    uppers = state.uppers
    for upper, cumulative, exemplar in buckets:
        upper_field = uppers.get(upper)
        if upper_field is None:
            upper_field = uppers[upper] = _pack_key_double(0x11, float(upper))
        if cumulative.__class__ is float and 0.0 <= cumulative < 128.0 and cumulative.is_integer():
            # Common case, inlined: a small whole count and no exemplar.
            bucket = b'\x08' + _ONE_BYTE[int(cumulative)] + upper_field
            if exemplar is None:
                parts.append(b'\x1a' + _ONE_BYTE[len(bucket)] + bucket)
                continue
            integer: Optional[int] = int(cumulative)
        else:
            integer = _uint(cumulative)
        if integer is not None:
            bucket = b'\x08' + _varint(integer) + upper_field
        else:
            bucket = upper_field
        if exemplar is not None:
            bucket += _delimited(b'\x1a', state.exemplar(exemplar))
        if integer is None:
            bucket += _pack_key_double(0x21, float(cumulative))
        parts.append(_delimited(b'\x1a', bucket))
    if total is not None and not count_field:
        parts.append(_pack_key_double(0x21, float(total)))
    parts.append(native_fields)
    if child.created is not None:
        parts.append(_created_field(child.created_labels, child.created, b'\x7a'))
    if native is not None and native.nh_exemplars:
        for exemplar in native.nh_exemplars:
            if exemplar.timestamp is not None:  # native exemplars need a timestamp
                parts.append(_delimited(b'\x82\x01', state.exemplar(exemplar)))
    return b''.join(parts)


def _spans(spans: Optional[Sequence[BucketSpan]], key: bytes) -> Tuple[bytes, int]:
    """Encoded span fields and the number of buckets they cover."""
    if not spans:
        return b'', 0
    out = []
    covered = 0
    for offset, length in spans:
        if length < 0:
            raise ValueError(f'negative span length {length}')
        covered += length
        out.append(_delimited(key, b'\x08' + _varint(_zigzag(int(offset)))
                              + b'\x10' + _varint(int(length))))
    return b''.join(out), covered


def _native_fields(native: NativeHistogram, state: _State, name: str) -> Tuple[bytes, bool]:
    """Native fields 5 to 14 of a histogram, and whether it is a float histogram.

    Raises:
        ValueError: span lengths do not add up to the number of deltas, or a
            span length is negative.
    """
    pos_deltas = list(native.pos_deltas or ())
    neg_deltas = list(native.neg_deltas or ())
    integer = (_uint(native.count_value) is not None and _uint(native.zero_count) is not None
               and all(_is_whole(delta) for delta in pos_deltas)
               and all(_is_whole(delta) for delta in neg_deltas))
    try:
        neg_spans, neg_covered = _spans(native.neg_spans, b'\x4a')
        pos_spans, pos_covered = _spans(native.pos_spans, b'\x62')
    except ValueError as error:
        raise ValueError(f'native histogram {name!r}: {error}') from None
    if neg_covered != len(neg_deltas) or pos_covered != len(pos_deltas):
        raise ValueError(
            f'native histogram {name!r}: span lengths cover {neg_covered} negative and '
            f'{pos_covered} positive buckets, but {len(neg_deltas)} and {len(pos_deltas)} '
            'deltas are given')
    zero_threshold = float(native.zero_threshold)
    parts = [b'\x28' + _varint(_zigzag(int(native.schema))),
             _pack_key_double(0x31, zero_threshold)]
    if integer:
        zero_count = _uint(native.zero_count)
        parts.append(b'\x38' + _varint(zero_count))  # type: ignore[arg-type]
    else:
        zero_count = None
        parts.append(_pack_key_double(0x41, float(native.zero_count)))
    parts.append(neg_spans)
    if neg_deltas:
        parts.append(_bucket_values(neg_deltas, integer, b'\x52', b'\x5a'))
    if not pos_spans and not neg_spans and not zero_threshold > 0 and not zero_count:
        pos_spans = b'\x62\x04\x08\x00\x10\x00'  # the no-op span that marks it native
    parts.append(pos_spans)
    if pos_deltas:
        parts.append(_bucket_values(pos_deltas, integer, b'\x6a', b'\x72'))
    return b''.join(parts), not integer


def _is_whole(value: Any) -> bool:
    if value.__class__ is int:
        return True
    return float(value).is_integer()


def _bucket_values(deltas: List[Any], integer: bool, delta_key: bytes, count_key: bytes) -> bytes:
    """Packed deltas (integer histogram) or packed absolute counts (float)."""
    if integer:
        return _delimited(delta_key, b''.join(_varint(_zigzag(int(delta))) for delta in deltas))
    counts = []
    running = 0.0
    for delta in deltas:
        running += float(delta)
        counts.append(_pack_double(running))
    return _delimited(count_key, b''.join(counts))


def _encode_gauge(metric: Metric, state: _State) -> None:
    _encode_simple(metric, state, GAUGE, metric.name)


def _encode_unknown(metric: Metric, state: _State) -> None:
    _encode_simple(metric, state, UNTYPED, metric.name)


def _encode_info(metric: Metric, state: _State) -> None:
    _encode_simple(metric, state, GAUGE, metric.name + '_info')


_FAMILY_ENCODERS: Dict[str, Callable[[Metric, _State], None]] = {
    'counter': _encode_counter,
    'gauge': _encode_gauge,
    'summary': _encode_summary,
    'histogram': _encode_histogram,
    'gaugehistogram': _encode_gauge_histogram,
    'unknown': _encode_unknown,
    'untyped': _encode_unknown,
    'info': _encode_info,
    'stateset': _encode_gauge,
}


def encode_metric_families(families: Iterable[Metric], escaping: str = UNDERSCORES) -> bytes:
    """Encode families as the delimited protobuf exposition (see module doc).

    Args:
        families: ``Metric`` families, as ``registry.collect()`` yields them.
        escaping: Name escaping scheme (``underscores``, ``allow-utf-8``,
            ``dots``, ``values``), as for the text format; ``allow-utf-8``
            keeps names as they are.

    Returns:
        The body: each MetricFamily prefixed by its varint length; ``b''``
        when there is no series.

    Raises:
        ValueError: a family of unknown type, a bucket bound or quantile
            that is not a number, or an inconsistent native histogram.
        TypeError, AttributeError, UnicodeEncodeError: a value that is not
            a number, a label value that is not a string, a lone surrogate.

    Thread-safe; never does I/O. The families are only read.
    """
    state = _State(escaping)
    for metric in families:
        encode = _FAMILY_ENCODERS.get(metric.type)
        if encode is None:
            raise ValueError(f'cannot encode family {metric.name!r} of unknown type {metric.type!r}')
        encode(metric, state)
    return state.finish()


def generate_latest(registry: Collector = REGISTRY, escaping: str = UNDERSCORES) -> bytes:
    """Collect ``registry`` and encode it as the delimited protobuf exposition.

    The protobuf counterpart of the text ``generate_latest`` (same
    signature); see :func:`encode_metric_families` for arguments, result
    and errors (plus whatever collection raises). Thread-safe.
    """
    return encode_metric_families(registry.collect(), escaping)


# ---------------------------------------------------------------------------
# Decoder
# ---------------------------------------------------------------------------

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_WIRE_NAMES = {0: 'varint', 1: 'fixed64', 2: 'length-delimited', 5: 'fixed32'}
_INT64_SIGN = 1 << 63

Field = Tuple[int, int, Any]  # (field number, wire type, value)


def _read_varint(data: bytes, pos: int, end: int) -> Tuple[int, int]:
    """Read a varint at ``pos``; returns (value mod 2**64, next position)."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ValueError('truncated varint')
        byte = data[pos]
        pos += 1
        result |= (byte & 127) << shift
        if byte < 128:
            return result & (_UINT64_LIMIT - 1), pos
        shift += 7
        if shift >= 70:
            raise ValueError('varint longer than 10 bytes')


def _fields(data: bytes, pos: int, end: int) -> List[Field]:
    """All fields of the message in ``data[pos:end]`` (values: int, or bytes for wire type 2)."""
    fields = []
    while pos < end:
        key, pos = _read_varint(data, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0 or number > 536870911:
            raise ValueError(f'invalid field number {number}')
        if wire_type == _VARINT:
            value, pos = _read_varint(data, pos, end)
        elif wire_type == _FIXED64:
            if pos + 8 > end:
                raise ValueError('truncated fixed64 field')
            value = data[pos:pos + 8]
            pos += 8
        elif wire_type == _LENGTH:
            size, pos = _read_varint(data, pos, end)
            if size > end - pos:
                raise ValueError(f'length-delimited field {number} runs past the end of its message')
            value = data[pos:pos + size]
            pos += size
        elif wire_type == _FIXED32:
            if pos + 4 > end:
                raise ValueError('truncated fixed32 field')
            value = data[pos:pos + 4]
            pos += 4
        else:
            raise ValueError(f'unsupported wire type {wire_type} (field {number})')
        fields.append((number, wire_type, value))
    return fields


def _expect(field: Field, wire_type: int, what: str) -> Any:
    if field[1] != wire_type:
        raise ValueError(f'{what}: expected wire type {_WIRE_NAMES[wire_type]}, '
                         f'got {_WIRE_NAMES.get(field[1], field[1])}')
    return field[2]


def _string(field: Field, what: str) -> str:
    try:
        return _expect(field, _LENGTH, what).decode('utf-8')
    except UnicodeDecodeError:
        raise ValueError(f'{what}: invalid UTF-8') from None


def _double(field: Field, what: str) -> float:
    return _unpack_double(_expect(field, _FIXED64, what))[0]


def _int64(field: Field, what: str) -> int:
    value = _expect(field, _VARINT, what)
    return value - _UINT64_LIMIT if value >= _INT64_SIGN else value


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def _packed(field: Field, what: str, scalar: Callable[[Field, str], Any], wire_type: int) -> List[Any]:
    """Elements of a repeated scalar field, packed or not."""
    if field[1] != _LENGTH:
        return [scalar(field, what)]
    data = field[2]
    values = []
    pos, end = 0, len(data)
    while pos < end:
        if wire_type == _VARINT:
            raw, pos = _read_varint(data, pos, end)
        else:
            if pos + 8 > end:
                raise ValueError(f'{what}: truncated packed doubles')
            raw = data[pos:pos + 8]
            pos += 8
        values.append(scalar((field[0], wire_type, raw), what))
    return values


def _decode_timestamp(data: bytes, what: str) -> Tuple[int, int]:
    """(seconds, nanos) of a google.protobuf.Timestamp."""
    seconds = nanos = 0
    for field in _fields(data, 0, len(data)):
        if field[0] == 1:
            seconds = _int64(field, what + ' seconds')
        elif field[0] == 2:
            nanos = _int64(field, what + ' nanos')
    if not 0 <= nanos < _NANOS:
        raise ValueError(f'{what}: nanos {nanos} out of range')
    return seconds, nanos


def _timestamp_object(seconds: int, nanos: int) -> Any:
    """A samples.Timestamp for (seconds, nanos), a float if it cannot hold it."""
    total = seconds * _NANOS + nanos
    if total >= 0:
        return Timestamp(total // _NANOS, total % _NANOS)
    whole, fraction = divmod(-total, _NANOS)
    if whole == 0:  # Timestamp cannot be negative with 0 whole seconds
        return -fraction / 1e9
    return Timestamp(-whole, fraction)


def _decode_labels(messages: List[bytes], what: str) -> Dict[str, str]:
    labels: Dict[str, str] = {}
    for message in messages:
        name = value = ''
        for field in _fields(message, 0, len(message)):
            if field[0] == 1:
                name = _string(field, what + ' label name')
            elif field[0] == 2:
                value = _string(field, what + ' label value')
        if name in labels:
            raise ValueError(f'{what}: duplicate label name {name!r}')
        labels[name] = value
    return labels


def _decode_exemplar(data: bytes, what: str) -> Exemplar:
    label_messages = []
    value = 0.0
    timestamp = None
    for field in _fields(data, 0, len(data)):
        if field[0] == 1:
            label_messages.append(_expect(field, _LENGTH, what + ' label'))
        elif field[0] == 2:
            value = _double(field, what + ' value')
        elif field[0] == 3:
            timestamp = _timestamp_object(*_decode_timestamp(_expect(field, _LENGTH, what), what))
    return Exemplar(_decode_labels(label_messages, what), value, timestamp)


def _created_value(data: bytes, what: str) -> float:
    seconds, nanos = _decode_timestamp(data, what)
    return seconds + nanos / 1e9


class _Decoded:
    """The fields of one decoded Metric message."""

    __slots__ = ('labels', 'kind', 'value', 'timestamp')

    def __init__(self) -> None:
        self.labels: Dict[str, str] = {}
        self.kind = 0          # Metric field number of the value sub-message, 0 if none
        self.value = b''       # that sub-message
        self.timestamp: Any = None


# Metric field number of the value sub-message expected for each type.
_VALUE_FIELDS = {COUNTER: 3, GAUGE: 2, SUMMARY: 4, UNTYPED: 5, HISTOGRAM: 7, GAUGE_HISTOGRAM: 7}


def _decode_metric(data: bytes, pb_type: int, what: str) -> _Decoded:
    decoded = _Decoded()
    label_messages = []
    expected = _VALUE_FIELDS[pb_type]
    for field in _fields(data, 0, len(data)):
        number = field[0]
        if number == 1:
            label_messages.append(_expect(field, _LENGTH, what + ' label'))
        elif number in (2, 3, 4, 5, 7):
            if number != expected:
                raise ValueError(f'{what}: a {_TYPE_NAMES[pb_type]} family holds a metric '
                                 f'with value field {number}')
            decoded.kind = number
            decoded.value = _expect(field, _LENGTH, what + ' value')
        elif number == 6:
            seconds, millis = divmod(_int64(field, what + ' timestamp_ms'), 1000)
            decoded.timestamp = _timestamp_object(seconds, millis * 1_000_000)
    decoded.labels = _decode_labels(label_messages, what)
    return decoded


def decode_metric_families(data: bytes) -> List[Metric]:
    """Decode a delimited protobuf exposition body into families.

    The inverse of :func:`encode_metric_families`, as far as the format
    allows: counters named ``x_total`` give a ``counter`` family ``x``
    (samples ``x_total``, ``x_created``); ``GAUGE``, ``UNTYPED`` and
    ``SUMMARY`` give ``gauge``, ``unknown`` and ``summary`` families;
    ``HISTOGRAM`` and ``GAUGE_HISTOGRAM`` give ``histogram`` and
    ``gaugehistogram`` families with ``_bucket`` samples (``le`` formatted
    as by the instrumented Histogram, ``+Inf`` added from the count),
    ``_count``/``_sum`` (``_gcount``/``_gsum``), ``_created``, and a sample
    named like the family, valued None and carrying a ``NativeHistogram``
    (empty sides None, the no-op span dropped), first, when the message
    has native data; a native histogram without classic buckets gives no
    classic samples. Only the fields present on the wire give samples.
    Sample and exemplar timestamps are ``Timestamp`` objects (exact), created
    times floats. Unknown fields are skipped.

    Args:
        data: The body (bytes-like).

    Returns:
        One ``Metric`` per MetricFamily message, in order.

    Raises:
        ValueError: for any malformed input (truncation, bad varints or
            wire types, invalid UTF-8, an unknown type, a value field not
            matching the family type, duplicate label names, span lengths
            that do not match the bucket count, invalid names). No other
            exception type is raised for bad bytes, and decoding always
            terminates.

    Thread-safe (pure function).
    """
    data = bytes(data)
    families = []
    pos, end = 0, len(data)
    index = 0
    while pos < end:
        size, pos = _read_varint(data, pos, end)
        if size > end - pos:
            raise ValueError(f'MetricFamily #{index} is truncated: {size} bytes announced, '
                             f'{end - pos} left')
        families.append(_decode_family(data[pos:pos + size], index))
        pos += size
        index += 1
    return families


def _decode_family(data: bytes, index: int) -> Metric:
    what = f'MetricFamily #{index}'
    name = documentation = unit = ''
    pb_type = COUNTER
    metric_messages = []
    for field in _fields(data, 0, len(data)):
        number = field[0]
        if number == 1:
            name = _string(field, what + ' name')
        elif number == 2:
            documentation = _string(field, what + ' help')
        elif number == 3:
            pb_type = _expect(field, _VARINT, what + ' type')
            if pb_type not in _TYPE_NAMES:
                raise ValueError(f'{what}: unknown metric type {pb_type}')
        elif number == 4:
            metric_messages.append(_expect(field, _LENGTH, what + ' metric'))
        elif number == 5:
            unit = _string(field, what + ' unit')
    what = f'{what} ({name!r})'
    if not name:
        raise ValueError(f'{what}: no name')
    metrics = [_decode_metric(message, pb_type, f'{what} metric #{i}')
               for i, message in enumerate(metric_messages)]
    if pb_type == COUNTER:
        base = name[:-6] if name.endswith('_total') and len(name) > 6 else name
        family = _new_family(base, documentation, 'counter', unit)
        for decoded in metrics:
            _add_counter(family, name, base, decoded, what)
    elif pb_type in (GAUGE, UNTYPED):
        family = _new_family(name, documentation, 'gauge' if pb_type == GAUGE else 'unknown', unit)
        for decoded in metrics:
            value = 0.0
            if decoded.kind:
                for field in _fields(decoded.value, 0, len(decoded.value)):
                    if field[0] == 1:
                        value = _double(field, what + ' value')
            family.samples.append(Sample(name, decoded.labels, value, decoded.timestamp))
    elif pb_type == SUMMARY:
        family = _new_family(name, documentation, 'summary', unit)
        for decoded in metrics:
            _add_summary(family, name, decoded, what)
    else:
        gauge = pb_type == GAUGE_HISTOGRAM
        family = _new_family(name, documentation, 'gaugehistogram' if gauge else 'histogram', unit)
        for decoded in metrics:
            _add_histogram(family, name, decoded, gauge, what)
    return family


def _new_family(name: str, documentation: str, typ: str, unit: str) -> Metric:
    family = Metric(name, documentation, typ)  # ValueError for an invalid name
    family.unit = unit  # as given: the name need not end with it
    return family


def _add_counter(family: Metric, name: str, base: str, decoded: _Decoded, what: str) -> None:
    value = 0.0
    exemplar = None
    created = None
    data = decoded.value
    for field in _fields(data, 0, len(data)):
        if field[0] == 1:
            value = _double(field, what + ' counter value')
        elif field[0] == 2:
            exemplar = _decode_exemplar(_expect(field, _LENGTH, what + ' exemplar'), what + ' exemplar')
        elif field[0] == 3:
            created = _created_value(_expect(field, _LENGTH, what + ' created'), what + ' created')
    family.samples.append(Sample(name, decoded.labels, value, decoded.timestamp, exemplar))
    if created is not None:
        family.samples.append(Sample(base + '_created', decoded.labels, created, decoded.timestamp))


def _add_summary(family: Metric, name: str, decoded: _Decoded, what: str) -> None:
    count = total = created = None
    quantiles = []
    data = decoded.value
    for field in _fields(data, 0, len(data)):
        number = field[0]
        if number == 1:
            count = float(_expect(field, _VARINT, what + ' sample_count'))
        elif number == 2:
            total = _double(field, what + ' sample_sum')
        elif number == 3:
            quantile = value = 0.0
            message = _expect(field, _LENGTH, what + ' quantile')
            for inner in _fields(message, 0, len(message)):
                if inner[0] == 1:
                    quantile = _double(inner, what + ' quantile')
                elif inner[0] == 2:
                    value = _double(inner, what + ' quantile value')
            quantiles.append((quantile, value))
        elif number == 4:
            created = _created_value(_expect(field, _LENGTH, what + ' created'), what + ' created')
    labels, timestamp = decoded.labels, decoded.timestamp
    for quantile, value in quantiles:
        family.samples.append(Sample(name, {**labels, 'quantile': floatToGoString(quantile)},
                                     value, timestamp))
    if count is not None:
        family.samples.append(Sample(name + '_count', labels, count, timestamp))
    if total is not None:
        family.samples.append(Sample(name + '_sum', labels, total, timestamp))
    if created is not None:
        family.samples.append(Sample(name + '_created', labels, created, timestamp))


class _HistogramFields:
    """Raw fields of a Histogram message."""

    __slots__ = ('count', 'count_float', 'sum', 'buckets', 'schema', 'zero_threshold',
                 'zero_count', 'zero_count_float', 'spans', 'deltas', 'counts', 'created',
                 'exemplars')

    def __init__(self) -> None:
        self.count: Optional[int] = None
        self.count_float: Optional[float] = None
        self.sum: Optional[float] = None
        self.buckets: List[Tuple[float, float, Optional[Exemplar]]] = []
        self.schema = 0
        self.zero_threshold = 0.0
        self.zero_count = 0
        self.zero_count_float = 0.0
        self.spans: Dict[int, List[BucketSpan]] = {9: [], 12: []}
        self.deltas: Dict[int, List[int]] = {10: [], 13: []}
        self.counts: Dict[int, List[float]] = {11: [], 14: []}
        self.created: Optional[float] = None
        self.exemplars: List[Exemplar] = []


def _decode_bucket(data: bytes, what: str) -> Tuple[float, float, Optional[Exemplar]]:
    count = 0
    count_float = 0.0
    upper = 0.0
    exemplar = None
    for field in _fields(data, 0, len(data)):
        number = field[0]
        if number == 1:
            count = _expect(field, _VARINT, what + ' cumulative_count')
        elif number == 2:
            upper = _double(field, what + ' upper_bound')
        elif number == 3:
            exemplar = _decode_exemplar(_expect(field, _LENGTH, what + ' exemplar'), what + ' exemplar')
        elif number == 4:
            count_float = _double(field, what + ' cumulative_count_float')
    return upper, (count_float if count_float > 0 else float(count)), exemplar


def _decode_span(data: bytes, what: str) -> BucketSpan:
    offset = length = 0
    for field in _fields(data, 0, len(data)):
        if field[0] == 1:
            offset = _unzigzag(_expect(field, _VARINT, what + ' offset') & 0xFFFFFFFF)
        elif field[0] == 2:
            length = _expect(field, _VARINT, what + ' length') & 0xFFFFFFFF
    return BucketSpan(offset, length)


def _histogram_fields(data: bytes, what: str) -> _HistogramFields:
    """The fields of a Histogram message."""
    parsed = _HistogramFields()
    for field in _fields(data, 0, len(data)):
        number = field[0]
        if number == 1:
            parsed.count = _expect(field, _VARINT, what + ' sample_count')
        elif number == 2:
            parsed.sum = _double(field, what + ' sample_sum')
        elif number == 3:
            parsed.buckets.append(_decode_bucket(_expect(field, _LENGTH, what + ' bucket'), what + ' bucket'))
        elif number == 4:
            parsed.count_float = _double(field, what + ' sample_count_float')
        elif number == 5:
            parsed.schema = _unzigzag(_expect(field, _VARINT, what + ' schema') & 0xFFFFFFFF)
        elif number == 6:
            parsed.zero_threshold = _double(field, what + ' zero_threshold')
        elif number == 7:
            parsed.zero_count = _expect(field, _VARINT, what + ' zero_count')
        elif number == 8:
            parsed.zero_count_float = _double(field, what + ' zero_count_float')
        elif number in (9, 12):
            parsed.spans[number].append(_decode_span(_expect(field, _LENGTH, what + ' span'), what + ' span'))
        elif number in (10, 13):
            parsed.deltas[number].extend(
                _unzigzag(value) for value in _packed(field, what + ' delta', _expect_varint, _VARINT))
        elif number in (11, 14):
            parsed.counts[number].extend(_packed(field, what + ' count', _double, _FIXED64))
        elif number == 15:
            parsed.created = _created_value(_expect(field, _LENGTH, what + ' created'), what + ' created')
        elif number == 16:
            parsed.exemplars.append(_decode_exemplar(_expect(field, _LENGTH, what + ' exemplar'),
                                                     what + ' exemplar'))
    return parsed


def _expect_varint(field: Field, what: str) -> int:
    return _expect(field, _VARINT, what)


def _native_histogram(parsed: _HistogramFields, what: str) -> NativeHistogram:
    """The NativeHistogram of a message that Prometheus would read as native."""
    is_float = (parsed.count_float or 0.0) > 0 or parsed.zero_count_float > 0
    sides = []
    for span_field, delta_field, count_field in ((12, 13, 14), (9, 10, 11)):
        spans = parsed.spans[span_field]
        covered = sum(span.length for span in spans)
        if is_float:
            counts = parsed.counts[count_field]
            deltas: List[Any] = [later - earlier for earlier, later in zip([0.0] + counts, counts)]
        else:
            deltas = parsed.deltas[delta_field]
        if covered != len(deltas):
            raise ValueError(f'{what}: spans cover {covered} buckets but {len(deltas)} are given')
        if not deltas and all(span.length == 0 for span in spans):
            sides.append((None, None))  # no buckets (at most the no-op span)
        else:
            sides.append((tuple(spans), tuple(deltas)))
    (pos_spans, pos_deltas), (neg_spans, neg_deltas) = sides
    if is_float:
        count: Any = parsed.count_float or 0.0
        zero_count: Any = parsed.zero_count_float
    else:
        count = parsed.count or 0
        zero_count = parsed.zero_count
    return NativeHistogram(count, parsed.sum if parsed.sum is not None else 0.0, parsed.schema,
                           parsed.zero_threshold, zero_count, pos_spans, neg_spans,
                           pos_deltas, neg_deltas, tuple(parsed.exemplars) or None)


def _add_histogram(family: Metric, name: str, decoded: _Decoded, gauge: bool, what: str) -> None:
    parsed = _histogram_fields(decoded.value, what)
    labels, timestamp = decoded.labels, decoded.timestamp
    samples = family.samples
    # Prometheus's test for a native histogram; one without classic buckets
    # has no classic series.
    native = (parsed.zero_threshold > 0 or parsed.zero_count > 0 or parsed.zero_count_float > 0
              or bool(parsed.spans[9]) or bool(parsed.spans[12]))
    if native:
        nh = _native_histogram(parsed, what)
        samples.append(Sample(name, labels, None, timestamp, None, nh))
    if parsed.buckets or not native:
        count: Any = parsed.count_float if (parsed.count_float or 0.0) > 0 else parsed.count
        if count is not None:
            count = float(count)
        for upper, cumulative, exemplar in parsed.buckets:
            samples.append(Sample(name + '_bucket', {**labels, 'le': floatToGoString(upper)},
                                  cumulative, timestamp, exemplar))
        if not parsed.buckets or parsed.buckets[-1][0] != _INF:
            samples.append(Sample(name + '_bucket', {**labels, 'le': '+Inf'},
                                  0.0 if count is None else count, timestamp))
        if count is not None:
            samples.append(Sample(name + ('_gcount' if gauge else '_count'), labels, count, timestamp))
        if parsed.sum is not None:
            samples.append(Sample(name + ('_gsum' if gauge else '_sum'), labels, parsed.sum, timestamp))
    if parsed.created is not None:
        samples.append(Sample(name + '_created', labels, parsed.created, timestamp))
