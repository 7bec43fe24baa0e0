"""Metric families: the collected form of metrics, and custom-collector helpers.

Data-model layer: imports only ``samples`` and ``validation``.

``Metric`` is one family (name, help text, type, unit) with its list of
``Sample``s; ``registry.collect()`` yields these and the encoders render
them. The ``*MetricFamily`` subclasses are helpers for custom collectors:
each builds the sample names and labels of its type through ``add_metric``.

Values, label values and bucket bounds are stored as given (never
converted): a bad value only fails when it is rendered. Label names given
to a family are not validated (as in the reference client); the family name
is, with the current scheme of ``validation``.

Thread/process safety: a ``Metric`` is a plain mutable object. Build it in
one thread (typically inside ``collect()``), then treat it as a read-only
snapshot; concurrent ``add_sample``/``add_metric`` calls on one family are
not synchronised.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

from .samples import Exemplar, NativeHistogram, Sample, Timestamp
from .validation import _validate_metric_name

METRIC_TYPES = (
    'counter', 'gauge', 'summary', 'histogram',
    'gaugehistogram', 'unknown', 'info', 'stateset',
)

_VALUE_AND_LABELS = 'Can only specify at most one of value and labels.'
_BUCKETS_AND_LABELS = 'Can only specify at most one of buckets and labels.'


class Metric:
    """One metric family: name, help text, type, unit and its samples.

    The generic form that collection produces and encoders consume. Custom
    collectors normally build one of the typed ``*MetricFamily`` subclasses
    instead, which derive sample names and labels for them.
    """

    def __init__(self, name: str, documentation: str, typ: str, unit: str = ''):
        """Build an empty family.

        ``'_' + unit`` is appended to ``name`` unless already its suffix;
        ``typ='untyped'`` is stored as ``'unknown'``.

        Raises:
            ValueError: ``'metric name cannot be empty'`` (or the legacy-mode
                ``'invalid metric name <name>'``), checked first; then
                ``'Invalid metric type: <typ>'`` for a type not in
                ``METRIC_TYPES``.
        """
        if unit and not name.endswith("_" + unit):
            name += "_" + unit
        _validate_metric_name(name)
        self.name: str = name
        self.documentation: str = documentation
        self.unit: str = unit
        if typ == 'untyped':
            typ = 'unknown'
        if typ not in METRIC_TYPES:
            raise ValueError('Invalid metric type: ' + typ)
        self.type: str = typ
        self.samples: List[Sample] = []

    def add_sample(self, name: str, labels: Dict[str, str], value: float,
                   timestamp: Optional[Union[Timestamp, float]] = None,
                   exemplar: Optional[Exemplar] = None,
                   native_histogram: Optional[NativeHistogram] = None) -> None:
        """Append one ``Sample`` as given (no checks, no name suffixing).

        Low-level: custom collectors should prefer the families' ``add_metric``.
        """
        self.samples.append(Sample(name, labels, value, timestamp, exemplar, native_histogram))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Metric)
                and self.name == other.name
                and self.documentation == other.documentation
                and self.type == other.type
                and self.unit == other.unit
                and self.samples == other.samples)

    def __repr__(self) -> str:
        return "Metric({}, {}, {}, {}, {})".format(
            self.name, self.documentation, self.type, self.unit, self.samples)

    def _restricted_metric(self, names) -> Optional[Metric]:
        """Return a copy holding only the samples whose name is in ``names``.

        Used by restricted registries (``name[]`` queries). The copy is a
        plain ``Metric`` and drops the unit; ``None`` when no sample matches.
        """
        samples = [s for s in self.samples if s[0] in names]
        if not samples:
            return None
        restricted = Metric(self.name, self.documentation, self.type)
        restricted.samples = samples
        return restricted


def _label_names(labels: Optional[Sequence[str]], inline_value_given: bool) -> Tuple[str, ...]:
    """The family's label names; ValueError when inline data comes with them too."""
    if labels is not None and inline_value_given:
        raise ValueError(_VALUE_AND_LABELS)
    return tuple(labels) if labels is not None else ()


class _PlainValueFamily(Metric):
    """A family whose series are one sample named like the family (gauge, unknown)."""

    _family_type = ''

    def __init__(self, name: str, documentation: str, value: Optional[float] = None,
                 labels: Optional[Sequence[str]] = None, unit: str = ''):
        """Raises ValueError when both ``value`` and ``labels`` are given,
        or for an invalid name (see ``Metric``)."""
        Metric.__init__(self, name, documentation, self._family_type, unit)
        self._labelnames = _label_names(labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float,
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        """Add one series: a sample named like the family.

        ``labels`` are the label values, zipped with the family's label names.
        """
        self.samples.append(Sample(self.name, dict(zip(self._labelnames, labels)), value, timestamp))


class UnknownMetricFamily(_PlainValueFamily):
    """Custom-collector helper for a family of type ``unknown`` (untyped)."""

    _family_type = 'unknown'


# Older name of the same class (same object).
UntypedMetricFamily = UnknownMetricFamily


class CounterMetricFamily(Metric):
    """Custom-collector helper for a family of type ``counter``."""

    def __init__(self, name: str, documentation: str, value: Optional[float] = None,
                 labels: Optional[Sequence[str]] = None, created: Optional[float] = None,
                 unit: str = '', exemplar: Optional[Exemplar] = None):
        """A trailing ``_total`` is stripped from ``name`` before the unit is added.

        Raises ValueError when both ``value`` and ``labels`` are given, or for
        an invalid name (see ``Metric``).
        """
        if name.endswith('_total'):
            name = name[:-6]
        Metric.__init__(self, name, documentation, 'counter', unit)
        self._labelnames = _label_names(labels, value is not None)
        if value is not None:
            self.add_metric([], value, created, exemplar=exemplar)

    def add_metric(self, labels: Sequence[str], value: float, created: Optional[float] = None,
                   timestamp: Optional[Union[Timestamp, float]] = None,
                   exemplar: Optional[Exemplar] = None) -> None:
        """Add one series: ``<name>_total`` and, if ``created`` is given
        (the Unix time the series started), ``<name>_created``.

        ``labels`` are the label values, zipped with the family's label names.
        ``timestamp`` applies to both samples; ``exemplar`` (kept as given)
        only to ``_total``.
        """
        labelnames = self._labelnames
        self.samples.append(Sample(self.name + '_total', dict(zip(labelnames, labels)),
                                   value, timestamp, exemplar))
        if created is not None:
            self.samples.append(Sample(self.name + '_created', dict(zip(labelnames, labels)),
                                       created, timestamp))


class GaugeMetricFamily(_PlainValueFamily):
    """Custom-collector helper for a family of type ``gauge``."""

    _family_type = 'gauge'


class SummaryMetricFamily(Metric):
    """Custom-collector helper for a family of type ``summary`` (no quantiles)."""

    def __init__(self, name: str, documentation: str, count_value: Optional[int] = None,
                 sum_value: Optional[float] = None, labels: Optional[Sequence[str]] = None,
                 unit: str = ''):
        """Raises ValueError: ``'count_value and sum_value must be provided
        together.'`` (checked first), the "at most one of value and labels"
        error when ``count_value`` and ``labels`` are both given, or for an
        invalid name (see ``Metric``)."""
        Metric.__init__(self, name, documentation, 'summary', unit)
        if (sum_value is None) != (count_value is None):
            raise ValueError('count_value and sum_value must be provided together.')
        self._labelnames = _label_names(labels, count_value is not None)
        if count_value is not None and sum_value is not None:
            self.add_metric([], count_value, sum_value)

    def add_metric(self, labels: Sequence[str], count_value: int, sum_value: float,
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        """Add one series: ``<name>_count`` then ``<name>_sum``.

        ``labels`` are the label values, zipped with the family's label names.
        """
        labelnames = self._labelnames
        self.samples.append(Sample(self.name + '_count', dict(zip(labelnames, labels)),
                                   count_value, timestamp))
        self.samples.append(Sample(self.name + '_sum', dict(zip(labelnames, labels)),
                                   sum_value, timestamp))


class HistogramMetricFamily(Metric):
    """Custom-collector helper for a family of type ``histogram``."""

    def __init__(self, name: str, documentation: str,
                 buckets: Optional[Sequence[Union[Tuple[str, float], Tuple[str, float, Exemplar]]]] = None,
                 sum_value: Optional[float] = None, labels: Optional[Sequence[str]] = None,
                 unit: str = ''):
        """Raises ValueError: ``'sum value cannot be provided without
        buckets.'`` (checked first), ``'Can only specify at most one of
        buckets and labels.'``, or for an invalid name (see ``Metric``); plus
        whatever ``add_metric`` raises for inline buckets."""
        Metric.__init__(self, name, documentation, 'histogram', unit)
        if sum_value is not None and buckets is None:
            raise ValueError('sum value cannot be provided without buckets.')
        if labels is not None and buckets is not None:
            raise ValueError(_BUCKETS_AND_LABELS)
        if labels is None:
            labels = []
        self._labelnames: Tuple[str, ...] = tuple(labels)
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(self, labels: Sequence[str],
                   buckets: Sequence[Union[Tuple[str, float], Tuple[str, float, Exemplar]]],
                   sum_value: Optional[float],
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        """Add one series of classic buckets.

        ``labels`` are the label values, zipped with the family's label names.
        ``buckets`` is a sorted sequence ending with ``'+Inf'`` of
        ``(le, cumulative_count)`` or ``(le, cumulative_count, exemplar)``
        entries (``le`` is kept as given, normally a string). Each becomes a
        ``<name>_bucket`` sample with an extra ``le`` label. Then, only when
        ``sum_value`` is not None and ``float(first le) >= 0`` (a sum is
        meaningless with negative observations), ``<name>_count`` (the last
        bucket's value) and ``<name>_sum`` follow.

        Raises:
            IndexError, KeyError: for empty ``buckets``.
            ValueError: for an entry of fewer than two items, or a first
                ``le`` that ``float()`` rejects.
        """
        labelnames = self._labelnames
        for entry in buckets:
            bucket, value = entry[:2]
            exemplar = None
            if len(entry) == 3:
                exemplar = entry[2]  # type: ignore[misc]
            bucket_labels = dict(zip(labelnames, labels))
            bucket_labels['le'] = bucket
            self.samples.append(Sample(self.name + '_bucket', bucket_labels, value,
                                       timestamp, exemplar))
        if float(buckets[0][0]) >= 0 and sum_value is not None:
            self.samples.append(Sample(self.name + '_count', dict(zip(labelnames, labels)),
                                       buckets[-1][1], timestamp))
            self.samples.append(Sample(self.name + '_sum', dict(zip(labelnames, labels)),
                                       sum_value, timestamp))


    def add_native_metric(self, labels: Sequence[str], native_histogram: NativeHistogram,
                          timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        """Add one native-histogram series (experimental; not in the reference API).

        Appends a sample named exactly like the family, with the label names
        zipped with ``labels``, value None (as the OpenMetrics parser and
        instrumented histograms produce) and the ``NativeHistogram`` in
        ``Sample.native_histogram``, e.g. a
        :meth:`~prometheus_client.native_histogram.NativeHistogramState.snapshot`.
        Only OpenMetrics 2.0.0 (and protobuf) render it; the text format and
        OpenMetrics 1.0 skip it. To expose classic buckets too, call
        ``add_metric`` with the same label values as well.
        """
        self.samples.append(Sample(self.name, dict(zip(self._labelnames, labels)),
                                   None, timestamp, None, native_histogram))


class GaugeHistogramMetricFamily(Metric):
    """Custom-collector helper for a family of type ``gaugehistogram``."""

    def __init__(self, name: str, documentation: str,
                 buckets: Optional[Sequence[Tuple[str, float]]] = None,
                 gsum_value: Optional[float] = None, labels: Optional[Sequence[str]] = None,
                 unit: str = ''):
        """Raises ValueError: ``'Can only specify at most one of buckets and
        labels.'`` or for an invalid name (see ``Metric``); plus whatever
        ``add_metric`` raises for inline buckets. ``gsum_value`` without
        ``buckets`` is ignored."""
        Metric.__init__(self, name, documentation, 'gaugehistogram', unit)
        if labels is not None and buckets is not None:
            raise ValueError(_BUCKETS_AND_LABELS)
        if labels is None:
            labels = []
        self._labelnames: Tuple[str, ...] = tuple(labels)
        if buckets is not None:
            self.add_metric([], buckets, gsum_value)

    def add_metric(self, labels: Sequence[str], buckets: Sequence[Tuple[str, float]],
                   gsum_value: Optional[float],
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        """Add one series of gauge-histogram buckets.

        ``labels`` are the label values, zipped with the family's label names.
        ``buckets`` is a sorted sequence ending with ``'+Inf'`` of
        ``(le, count)`` pairs, each becoming a ``<name>_bucket`` sample with
        an extra ``le`` label. ``<name>_gcount`` (the last bucket's value) and
        ``<name>_gsum`` (even when ``gsum_value`` is None) always follow.

        Raises:
            IndexError/KeyError: for empty ``buckets``; ValueError: for a
                bucket entry that is not a pair.
        """
        labelnames = self._labelnames
        for bucket, value in buckets:
            bucket_labels = dict(zip(labelnames, labels))
            bucket_labels['le'] = bucket
            self.samples.append(Sample(self.name + '_bucket', bucket_labels, value, timestamp))
        self.samples.append(Sample(self.name + '_gcount', dict(zip(labelnames, labels)),
                                   buckets[-1][1], timestamp))
        self.samples.append(Sample(self.name + '_gsum', dict(zip(labelnames, labels)),
                                   gsum_value, timestamp))


class InfoMetricFamily(Metric):
    """Custom-collector helper for a family of type ``info``."""

    def __init__(self, name: str, documentation: str, value: Optional[Dict[str, str]] = None,
                 labels: Optional[Sequence[str]] = None):
        """Raises ValueError when both ``value`` and ``labels`` are given,
        or for an invalid name (see ``Metric``)."""
        Metric.__init__(self, name, documentation, 'info')
        self._labelnames = _label_names(labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: Dict[str, str],
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        """Add one series: ``<name>_info`` with value 1.

        Its labels are the family's label names zipped with ``labels``,
        updated with the ``value`` dict (which wins on a clash).
        """
        info_labels = dict(zip(self._labelnames, labels))
        info_labels.update(value)
        self.samples.append(Sample(self.name + '_info', info_labels, 1, timestamp))


class StateSetMetricFamily(Metric):
    """Custom-collector helper for a family of type ``stateset``."""

    def __init__(self, name: str, documentation: str, value: Optional[Dict[str, bool]] = None,
                 labels: Optional[Sequence[str]] = None):
        """Raises ValueError when both ``value`` and ``labels`` are given,
        or for an invalid name (see ``Metric``)."""
        Metric.__init__(self, name, documentation, 'stateset')
        self._labelnames = _label_names(labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: Dict[str, bool],
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        """Add one series: ``value`` maps state names to booleans.

        One sample per state, states sorted by name; the state is the value
        of a label named like the family, and the sample value is 1 for a
        truthy state, else 0.
        """
        labelnames = self._labelnames + (self.name,)
        label_values = tuple(labels)
        for state, enabled in sorted(value.items()):
            self.samples.append(Sample(self.name, dict(zip(labelnames, label_values + (state,))),
                                       1 if enabled else 0, timestamp))
