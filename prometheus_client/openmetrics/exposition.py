"""OpenMetrics text format encoder (1.0.0, and 2.0.0 native histograms).

Encoder layer: a pure function from families (anything whose ``collect()``
yields :class:`~prometheus_client.metrics_core.Metric`) to UTF-8 bytes, plus
the name-escaping helpers of the public API. No I/O, no locks.

Rendering rules (behaviors.md section 3): ``# HELP``/``# TYPE`` (and
``# UNIT`` when the family has a unit) with the raw family name and type;
every sample in order, ``_created`` kept inline; exemplars after `` # ``
(only on counter ``_total``, histogram ``_bucket`` / native and
gaugehistogram ``_bucket`` samples, otherwise ``ValueError``); timestamps as
``str()``; native-histogram samples only when ``version >= 2.0.0``; the
output always ends with ``# EOF``.

Sample names are escaped with the *label-name* character rules (so ``:`` is
illegal) and, for ``dots``/``values``, even when already legal; HELP/TYPE
names use :func:`escape_metric_name`. These asymmetries are the reference
client's observable behaviour and are kept.

Thread/process safety: safe to call concurrently from any number of threads
(the only shared state is the label memo on LabelSets, whose races are
benign).
"""
from __future__ import annotations

from sys import maxunicode  # noqa: F401  (visible here in the reference client)
from typing import Any, Dict, List, Optional, Tuple

from .._labelset import LabelSet
from ..encoders._escaping import (  # noqa: F401  (public API of this module)
    _SURROGATE_MAX,
    _SURROGATE_MIN,
    ALLOWUTF8,
    DOTS,
    UNDERSCORES,
    VALUES,
    _escape,
    _is_legacy_labelname_rune,
    _is_legacy_metric_rune,
    _is_valid_utf8,
    escape_help_openmetrics,
    escape_label_name,
    escape_label_value,
    escape_metric_name,
    memo_key,
    large_value_text,
    render_labels,
    value_memo_key,
)
from ..metrics_core import Metric
from ..samples import Exemplar, NativeHistogram, Sample
from ..utils import floatToGoString, parse_version
from ..validation import _is_valid_legacy_labelname, _is_valid_legacy_metric_name  # noqa: F401

CONTENT_TYPE_LATEST = 'application/openmetrics-text; version=1.0.0; charset=utf-8'
"""Content type of OpenMetrics 1.0.0."""
CONTENT_TYPE_LATEST_2_0 = 'application/openmetrics-text; version=2.0.0; charset=utf-8'
"""Content type of OpenMetrics 2.0.0 (native histograms)."""
ESCAPING_HEADER_TAG = 'escaping'
"""Name of the content-type parameter that carries the escaping scheme."""

_NATIVE_HISTOGRAM_MIN_VERSION = (2, 0, 0)

# Bounds of the values whose Go formatting is plain ``repr`` (see utils).
_GO_PLAIN_MIN = -1e6
_GO_PLAIN_MAX = 1e6

# Per sample name: (rendered name before the labels, quoted name to put
# inside the braces or None, key of the value memo on LabelSets).
_NameInfo = Tuple[str, Optional[str], Tuple[str, str]]


def _is_valid_exemplar_metric(metric: Metric, sample: Sample) -> bool:
    """Whether ``sample`` of ``metric`` may carry an exemplar.

    Counter ``*_total`` samples, histogram ``*_bucket`` samples and the
    histogram sample named like the family (native histogram), and
    gaugehistogram ``*_bucket`` samples.
    """
    metric_type = metric.type
    name = sample.name
    if metric_type == 'counter':
        return name.endswith('_total')
    if metric_type == 'histogram':
        return name.endswith('_bucket') or name == metric.name
    if metric_type == 'gaugehistogram':
        return name.endswith('_bucket')
    return False


def _compose_exemplar_string(metric: Metric, sample: Sample, exemplar: Exemplar) -> str:
    """Render `` # {labels} value[ timestamp]`` for one exemplar.

    Exemplar label names are printed raw (never escaped), values escaped as
    label values, sorted by name; the value via ``floatToGoString``; the
    timestamp via ``str()``.

    Raises:
        ValueError: ``'Metric <name> has exemplars, but is not a histogram
            bucket or counter'`` when the sample may not carry one.
        AttributeError, TypeError: for a malformed exemplar.
    """
    if not _is_valid_exemplar_metric(metric, sample):
        raise ValueError(f"Metric {metric.name} has exemplars, but is not a histogram bucket or counter")
    label_text = ','.join(f'{name}="{escape_label_value(value)}"'
                          for name, value in sorted(exemplar.labels.items()))
    text = f' # {{{label_text}}} {floatToGoString(exemplar.value)}'
    if exemplar.timestamp is not None:
        text += f' {exemplar.timestamp}'
    return text


def _native_histogram_text(native_histogram: NativeHistogram) -> str:
    """Render the ``{count:...,sum:...,...}`` value of a native histogram.

    Numbers print with ``str()``; the negative spans/deltas come first, each
    part only when its spans are non-empty.
    """
    parts = [
        f'count:{native_histogram.count_value}',
        f'sum:{native_histogram.sum_value}',
        f'schema:{native_histogram.schema}',
        f'zero_threshold:{native_histogram.zero_threshold}',
        f'zero_count:{native_histogram.zero_count}',
    ]
    for spans, deltas, sign in ((native_histogram.neg_spans, native_histogram.neg_deltas, 'negative'),
                                (native_histogram.pos_spans, native_histogram.pos_deltas, 'positive')):
        if spans:
            span_text = ','.join(f'{span[0]}:{span[1]}' for span in spans)
            delta_text = ','.join(str(delta) for delta in deltas)  # type: ignore[union-attr]
            parts.append(f'{sign}_spans:[{span_text}],{sign}_deltas:[{delta_text}]')
    return '{' + ','.join(parts) + '}'


def generate_latest(registry, escaping=UNDERSCORES, version='1.0.0'):  # type: ignore[no-untyped-def]
    """Render the OpenMetrics text of everything ``registry`` collects.

    Args:
        registry: Anything with ``collect()`` yielding Metric families.
        escaping: Name escaping scheme (``underscores``, ``allow-utf-8``,
            ``dots``, ``values``; anything else leaves names untouched).
        version: OpenMetrics version; native-histogram samples are rendered
            only when ``parse_version(version) >= (2, 0, 0)`` (compared at
            the first such sample), otherwise skipped.

    Returns:
        UTF-8 bytes ending with ``# EOF\\n``.

    Raises:
        Exception: whatever collecting or rendering raises, e.g.
            ``ValueError`` for an exemplar on a sample that may not carry
            one, or ``TypeError`` for a non-numeric version component. An
            exception raised while rendering a family gets that Metric
            appended to its ``args`` and is re-raised.

    Thread-safe: may be called concurrently.
    """
    output: List[str] = []
    state = _RenderState(escaping, version)
    for metric in registry.collect():
        try:
            _render_family(metric, state, output)
        except Exception as exception:
            exception.args = (*exception.args, metric)
            raise
    output.append('# EOF\n')
    return ''.join(output).encode('utf-8')


class _RenderState:
    """What one ``generate_latest`` call computes once and shares by family."""

    __slots__ = ('escaping', 'version', 'memo_key', 'label_names', 'sample_names',
                 'native_histograms_enabled')

    def __init__(self, escaping: str, version: Any) -> None:
        self.escaping = escaping
        self.version = version
        self.memo_key = memo_key(escaping)
        self.label_names: Dict[str, str] = {}
        self.sample_names: Dict[str, _NameInfo] = {}
        self.native_histograms_enabled: Optional[bool] = None

    def renders_native_histograms(self) -> bool:
        """Whether the requested version shows native histograms (raises TypeError if incomparable)."""
        enabled = self.native_histograms_enabled
        if enabled is None:
            # Spelled as the reference client compares, so that an
            # incomparable version raises the same TypeError message.
            enabled = self.native_histograms_enabled = not (
                parse_version(self.version) < _NATIVE_HISTOGRAM_MIN_VERSION)
        return enabled


def _render_family(metric: Metric, state: _RenderState, output: List[str]) -> None:
    """Append the lines of one family to output."""
    escaping = state.escaping
    escaped_name = escape_metric_name(metric.name, escaping)
    output.append(f'# HELP {escaped_name} {escape_help_openmetrics(metric.documentation)}\n'
                  f'# TYPE {escaped_name} {metric.type}\n')
    if metric.unit:
        output.append(f'# UNIT {escaped_name} {metric.unit}\n')

    key = state.memo_key
    label_names = state.label_names
    names = state.sample_names
    append = output.append
    float_ = float
    repr_ = repr
    labelset_class = LabelSet
    for sample in metric.samples:
        sample_name = sample.name
        info = names.get(sample_name)
        if info is None:
            info = names[sample_name] = _name_info(sample_name, escaping)
        prefix, quoted, value_key = info

        labels = sample.labels
        if labels.__class__ is labelset_class:
            rendered = labels.rendered  # type: ignore[attr-defined]
            label_text = rendered.get(key)
            if label_text is None:
                label_text = rendered[key] = render_labels(labels, escaping, label_names)
        else:
            rendered = None
            label_text = render_labels(labels, escaping, label_names)
        if quoted is not None:
            if label_text:
                label_text = '{' + quoted + ',' + label_text[1:]
            elif quoted:
                label_text = '{' + quoted + '}'

        exemplar = sample.exemplar
        exemplar_text = _compose_exemplar_string(metric, sample, exemplar) if exemplar else ''
        timestamp = sample.timestamp
        timestamp_text = '' if timestamp is None else f' {timestamp}'

        native_histogram = sample.native_histogram
        if native_histogram:
            if not state.renders_native_histograms():
                continue
            nh_exemplars = native_histogram.nh_exemplars
            if nh_exemplars:
                exemplar_text += ''.join(_compose_exemplar_string(metric, sample, nh_exemplar)
                                         for nh_exemplar in nh_exemplars)
            append(f'{prefix}{label_text} {_native_histogram_text(native_histogram)}'
                   f'{timestamp_text}{exemplar_text}\n')
            continue

        value = sample.value
        if value is None:
            value_text = ''
        else:
            if value.__class__ is not float_:
                value = float_(value)
            if _GO_PLAIN_MIN < value < _GO_PLAIN_MAX:
                value_text = repr_(value)
            else:  # typically _created timestamps: slow to format, memoized
                value_text = large_value_text(rendered, value_key, value)
        append(f'{prefix}{label_text} {value_text}{timestamp_text}{exemplar_text}\n')


def _name_info(sample_name: str, escaping: str) -> _NameInfo:
    """Work out once per sample name how it is rendered.

    ``allow-utf-8``: legal names print (escaped) before the braces, others go
    quoted inside them. Other schemes escape with the label-name rules,
    unconditionally.
    """
    value_key = value_memo_key(sample_name)
    if escaping == ALLOWUTF8:
        if _is_valid_legacy_metric_name(sample_name):
            return escape_metric_name(sample_name, escaping), None, value_key
        return '', escape_metric_name(sample_name, escaping), value_key
    return _escape(sample_name, escaping, _is_legacy_labelname_rune), None, value_key
