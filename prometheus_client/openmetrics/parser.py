"""Parser for the OpenMetrics text format (1.0, plus experimental native histograms).

Parser layer: imports the data model and the shared lexer only.

Unlike the Prometheus text parser this one is strict: it rejects blank
lines, free comments, repeated or late metadata, interleaved families,
clashing names, malformed histograms and the other violations listed in
behaviors.md §18.2, always with a ``ValueError`` naming the offending line or
family. The result mirrors the input closely: counters keep their family
name without ``_total``; values are ``int`` when ``int()`` accepts the token,
else ``float``; timestamps are ``Timestamp`` objects for integer and
``seconds.fraction`` forms and floats for exponent forms.

A histogram family may also hold native-histogram lines (``name{labels}
{count:..,sum:..,schema:..,zero_threshold:..,zero_count:..[,spans and
deltas]}``); they become samples whose ``value`` is None and whose
``native_histogram`` holds the parsed ``NativeHistogram``.

Families are generated lazily; ``# EOF`` must end the input.

Where the reference client fails with another exception type on malformed
input, this parser raises a ValueError instead:

* a native-histogram value missing a required field (reference: KeyError)
  -> ``Invalid native histogram, missing field <key>: <value text>``;
* a native-histogram sample named like a counter-like sample (``_total``,
  ``_sum``...; reference: TypeError) -> ``Counter-like samples must have a
  number value: <line>``; a native sample named ``<family>_bucket`` or
  ``_count`` (reference: AttributeError) -> the usual ``Invalid le label`` /
  ``... must be an integer`` messages;
* a group mixing ``Timestamp`` and float (exponent-form) timestamps
  (reference: AttributeError) -> ``Mix of timestamp formats within a group:
  <line>``;
* a counter-like integer value beyond float range (reference:
  OverflowError) -> ValueError with the same message.

``Clashing name`` names the first clashing sample name in the order bare
name, then the type's suffixes; the reference client picks one at random
(set iteration order).
"""
from __future__ import annotations

import io
import math
import re
from typing import (
    Dict, Iterable, Iterator, List, Optional, Sequence, Set, TextIO, Tuple, Union,
)

from .. import _lexer
from ..metrics_core import Metric
from ..parser import (  # noqa: F401  (re-exported under the reference names)
    _last_unquoted_char, _next_unquoted_char, _parse_value, _split_quoted,
    _unquote_unescape, parse_labels,
)
from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from ..utils import floatToGoString
from ..validation import _validate_metric_name

__all__ = ['text_fd_to_metric_families', 'text_string_to_metric_families']

ESCAPE_SEQUENCES = _lexer.ESCAPE_SEQUENCES
ESCAPING_RE = _lexer.ESCAPING_RE
_replace_escape_sequence = _lexer.replace_escape_sequence
_replace_escaping = _lexer.replace_escaping
_is_character_escaped = _lexer.is_character_escaped

#: Infinite numbers must be spelled exactly like floatToGoString spells them.
_CANONICAL_NUMBERS = {float('inf')}

_EXEMPLAR_MAX_CHARACTERS = 128
_INF = float('inf')
_tuple_new = tuple.__new__

# Suffixes a family's sample names may carry, by type (others: bare name).
_TYPE_SUFFIXES: Dict[str, Tuple[str, ...]] = {
    'counter': ('_total', '_created'),
    'summary': ('', '_count', '_sum', '_created'),
    'histogram': ('_count', '_sum', '_bucket', '_created'),
    'gaugehistogram': ('_gcount', '_gsum', '_bucket'),
    'info': ('_info',),
}
_NATIVE_HISTOGRAM_SUFFIXES = _TYPE_SUFFIXES['histogram']
_COUNTER_LIKE_NAN_SUFFIXES = frozenset(('_total', '_sum', '_count', '_bucket', '_gcount', '_gsum'))
_COUNTER_LIKE_NEGATIVE_SUFFIXES = frozenset(('_total', '_sum', '_count', '_bucket', '_gcount'))

# The common sample line: legacy name, optional plain label set, value and
# optional timestamp, single spaces, no exemplar. Anything else takes the
# general path.
# It is never a native-histogram line (nothing after the label set opens a
# brace).
_FAST_SAMPLE_RE = re.compile(
    r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(%s)?\})? ([^\s{}"#_]+)(?: ([^\s{}"#_]+))?'
    % _lexer.SIMPLE_LABELS)

# Native-histogram fields: ``key:value`` pairs, and the span and delta lists.
_NH_FIELD_RE = re.compile(r'(\w+):\s*([^,}]+)')
_NH_SPANS_RE = re.compile(r'(positive_spans|negative_spans):\[(\d+:\d+(?:,\d+:\d+)*)\]')
_NH_DELTAS_RE = re.compile(r'(positive_deltas|negative_deltas):\[(-?\d+(?:,-?\d+)*)\]')


# --------------------------------------------------------------------------
# Tokens


def _unescape_help(text: str) -> str:
    """Decode ``\\\\``, ``\\n`` and ``\\"`` in a HELP text; keep other backslashes."""
    return _lexer.replace_escaping(text)


def _isUncanonicalNumber(text: str) -> bool:  # noqa: N802 (reference name)
    """True if ``text`` is an infinity not spelled ``+Inf``.

    Raises ``float``'s ValueError for text that is not a number.
    """
    number = float(text)
    if number not in _CANONICAL_NUMBERS:
        return False
    return text != floatToGoString(number)


def _parse_timestamp(timestamp: Union[str, Sequence[str]]) -> Union[None, Timestamp, float]:
    """Parse a timestamp token (seconds); None for an empty token.

    Integers and ``seconds.fraction`` forms (nanosecond precision, extra
    digits cut) become ``Timestamp``; other numbers a float. NaN, infinities,
    blanks around the token and underscores are rejected.
    """
    timestamp = ''.join(timestamp)
    if not timestamp:
        return None
    if timestamp != timestamp.strip() or '_' in timestamp:
        raise ValueError(f'Invalid timestamp: {timestamp!r}')
    try:
        return Timestamp(int(timestamp), 0)
    except ValueError:
        pass
    seconds, dot, fraction = timestamp.partition('.')
    if dot:
        try:
            return Timestamp(int(seconds), int(fraction[:9].ljust(9, '0')))
        except ValueError:
            pass
    number = float(timestamp)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f'Invalid timestamp: {timestamp!r}')
    return number


def _parse_remaining_text(text: str) -> Tuple[Union[int, float], Union[None, Timestamp, float],
                                              Optional[Exemplar]]:
    """Parse what follows the series: ``value[ timestamp][ # {labels} value[ timestamp]]``.

    Returns ``(value, timestamp, exemplar)``. The grammar is applied
    character by character, exactly as the reference client does.
    """
    value_text, space, text = text.partition(' ')
    value = _parse_value(value_text)
    if not space:
        return value, None, None

    timestamp: List[str] = []
    exemplar_value: List[str] = []
    exemplar_timestamp: List[str] = []
    exemplar_labels: Optional[Dict[str, str]] = None
    state = 'timestamp'
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        if in_quotes:
            continue
        if state == 'timestamp':
            if char == '#' and not timestamp:
                state = 'exemplarspace'
            elif char == ' ':
                state = 'exemplarhash'
            else:
                timestamp.append(char)
        elif state == 'exemplarhash':
            if char != '#':
                raise ValueError('Invalid line: ' + text)
            state = 'exemplarspace'
        elif state == 'exemplarspace':
            if char != ' ':
                raise ValueError('Invalid line: ' + text)
            state = 'exemplarstartoflabels'
        elif state == 'exemplarstartoflabels':
            if char != '{':
                raise ValueError('Invalid line: ' + text)
            # The label set runs from the first unquoted '{' of the text to
            # its last unquoted '}', wherever the scan is.
            labels_start = _next_unquoted_char(text, '{')
            labels_end = _last_unquoted_char(text, '}')
            exemplar_labels = parse_labels(text[labels_start + 1:labels_end], True)
            state = 'exemplarparsedlabels'
        elif state == 'exemplarparsedlabels':
            if char == '}':
                state = 'exemplarvaluespace'
        elif state == 'exemplarvaluespace':
            if char != ' ':
                raise ValueError('Invalid line: ' + text)
            state = 'exemplarvalue'
        elif state == 'exemplarvalue':
            if char == ' ':
                if not exemplar_value:
                    raise ValueError('Invalid line: ' + text)
                state = 'exemplartimestamp'
            else:
                exemplar_value.append(char)
        else:  # exemplartimestamp
            exemplar_timestamp.append(char)

    if state == 'timestamp' and not timestamp:
        raise ValueError('Invalid line: ' + text)
    if state == 'exemplartimestamp' and not exemplar_timestamp:
        raise ValueError('Invalid line: ' + text)
    if state in ('exemplarhash', 'exemplarspace', 'exemplarstartoflabels', 'exemplarparsedlabels'):
        raise ValueError('Invalid line: ' + text)

    sample_timestamp = _parse_timestamp(timestamp)
    exemplar = None
    if exemplar_labels is not None:
        size = sum(len(name) + len(label_value) for name, label_value in exemplar_labels.items())
        if size > _EXEMPLAR_MAX_CHARACTERS:
            raise ValueError('Exemplar labels are too long: ' + text)
        exemplar = Exemplar(exemplar_labels, _parse_value(exemplar_value),
                            _parse_timestamp(exemplar_timestamp))
    return value, sample_timestamp, exemplar


def _parse_sample(text: str) -> Sample:
    """Parse one sample line by the general, quirk-exact rules."""
    label_start = _next_unquoted_char(text, '{')
    if label_start == -1 or ' # ' in text[:label_start]:
        name_end = _next_unquoted_char(text, ' ')
        name = text[:name_end]
        if not _lexer.is_legacy_metric_name(name):
            raise ValueError('invalid metric name:' + text)
        value, timestamp, exemplar = _parse_remaining_text(text[name_end + 1:])
        return Sample(name, {}, value, timestamp, exemplar)
    name = text[:label_start]
    label_end = _next_unquoted_char(text, '}')
    labels = parse_labels(text[label_start + 1:label_end], True)
    name = _lexer.sample_name(name, labels)
    value, timestamp, exemplar = _parse_remaining_text(text[label_end + 2:])
    return Sample(name, labels, value, timestamp, exemplar)


def _fast_sample(match: re.Match[str]) -> Optional[Sample]:
    """The sample of a line matched by ``_FAST_SAMPLE_RE``, or None to use the general path."""
    name, labels_text, value_token, timestamp_token = match.groups()
    labels = _lexer.simple_labels(labels_text) if labels_text else {}
    if labels is None:
        return None
    try:
        value = _lexer.fast_number(value_token)
        timestamp = None if timestamp_token is None else _parse_timestamp(timestamp_token)
    except ValueError:
        return None  # the general path reports the exact error
    return _tuple_new(Sample, (name, labels, value, timestamp, None, None))


# --------------------------------------------------------------------------
# Native histograms


def _compose_spans(span_matches: Iterable[Tuple[str, str]], spans_name: str
                   ) -> Optional[Tuple[BucketSpan, ...]]:
    """Build the BucketSpans of the last ``(name, 'o:l,...')`` match named ``spans_name``."""
    spans = None
    for name, content in span_matches:
        if name == spans_name:
            spans = content
    if spans is None:
        return None
    result = []
    for span in spans.split(','):
        offset, _, length = span.partition(':')
        result.append(BucketSpan(int(offset), int(length)))
    return tuple(result)


def _compose_deltas(deltas: Dict[str, str], deltas_name: str) -> Optional[Tuple[int, ...]]:
    """Build the delta tuple stored under ``deltas_name`` (``'d,d,...'``), if any."""
    if not isinstance(deltas, dict) or deltas_name not in deltas:
        return None
    return tuple(int(delta) for delta in deltas[deltas_name].split(','))


def _parse_nh_struct(text: str) -> NativeHistogram:
    """Parse ``{count:..,sum:..,schema:..,zero_threshold:..,zero_count:..,...}``.

    Fields are looked up anywhere in ``text`` (a later field wins); the five
    scalar fields are required.
    """
    fields = dict(_NH_FIELD_RE.findall(text))

    def field(key: str) -> str:
        if key not in fields:
            raise ValueError('Invalid native histogram, missing field %s: %s' % (key, text))
        return fields[key]

    count_value = int(field('count'))
    sum_value = float(field('sum'))
    schema = int(field('schema'))
    zero_threshold = float(field('zero_threshold'))
    zero_count = int(field('zero_count'))
    spans = _NH_SPANS_RE.findall(text)
    deltas = dict(_NH_DELTAS_RE.findall(text))
    return NativeHistogram(
        count_value, sum_value, schema, zero_threshold, zero_count,
        _compose_spans(spans, 'positive_spans'), _compose_spans(spans, 'negative_spans'),
        _compose_deltas(deltas, 'positive_deltas'), _compose_deltas(deltas, 'negative_deltas'),
    )


def _has_hash_before(text: str, start: int, end: int) -> bool:
    """True if an unquoted ``#`` lies in ``text[start:end]`` (scan from ``start``)."""
    position = _next_unquoted_char(text, '#', start)
    return position != -1 and position < end


def _parse_nh_sample(text: str, suffixes: Tuple[str, ...]) -> Optional[Sample]:
    """Parse the line as a native-histogram sample, or return None if it is not one.

    A native-histogram line has a ``{...}`` value after the series (the name
    and optional labels) with no ``#`` between them. Raises ValueError for a
    native-histogram line that is malformed or whose name carries one of
    ``suffixes``.
    """
    first_brace = _next_unquoted_char(text, '{')
    if first_brace == -1:
        return None
    first_space = _next_unquoted_char(text, ' ')
    if first_space != -1 and first_space < first_brace:
        # No labels: "name {...}".
        if _has_hash_before(text, first_space, first_brace):
            return None
        if _next_unquoted_char(text, '}', first_brace) == -1:
            raise ValueError  # the reference message is empty
        name = text[:first_brace - 1]
        if name.endswith(suffixes):
            raise ValueError('the sample name of a native histogram should have no suffixes', name)
        return Sample(name, None, None, None, None, _parse_nh_struct(text[first_brace:]))

    # Labels: "name{labels} {...}".
    labels_end = _next_unquoted_char(text, '}', first_brace)
    value_start = _next_unquoted_char(text, '{', labels_end + 1)
    if value_start == -1:
        return None
    if _has_hash_before(text, labels_end + 1, value_start):
        return None
    if _next_unquoted_char(text, '}', value_start) == -1:
        raise ValueError  # the reference message is empty
    labels: Optional[Dict[str, str]] = parse_labels(text[first_brace + 1:labels_end], True)
    name = text[:first_brace]
    if name.endswith(suffixes):
        raise ValueError('the sample name of a native histogram with labels should have no suffixes',
                         name)
    if not name:
        if labels is None or '__name__' not in labels:
            raise ValueError  # the reference message is empty
        name = labels.pop('__name__')
        if not labels:
            labels = None
    return Sample(name, labels, None, None, None, _parse_nh_struct(text[value_start:]))


# --------------------------------------------------------------------------
# Families


def _group_for_sample(sample: Sample, name: str, typ: str) -> Optional[Dict[str, str]]:
    """The labels identifying the group (child) a sample belongs to."""
    if typ == 'info':
        # Info samples cannot be told apart by group.
        return {}
    if typ == 'summary' and sample.name == name:
        group = dict(sample.labels)
        del group['quantile']
        return group
    if typ == 'stateset':
        group = dict(sample.labels)
        del group[name]
        return group
    if typ in ('histogram', 'gaugehistogram') and sample.name == name + '_bucket':
        group = dict(sample.labels)
        del group['le']
        return group
    return sample.labels


def _check_histogram(samples: Sequence[Sample], name: str) -> None:
    """Check the bucket rules of each child of a (gauge)histogram family."""
    group = None
    timestamp = None
    count = bucket = None
    has_negative_buckets = has_sum = has_gsum = has_negative_gsum = False
    value: Union[int, float] = 0

    def check_group() -> None:
        if bucket != _INF:
            raise ValueError('+Inf bucket missing: ' + name)
        if count is not None and value != count:
            raise ValueError('Count does not match +Inf value: ' + name)
        if has_sum and count is None:
            raise ValueError('_count must be present if _sum is present: ' + name)
        if has_gsum and count is None:
            raise ValueError('_gcount must be present if _gsum is present: ' + name)
        if not (has_sum or has_gsum) and count is not None:
            raise ValueError('_sum/_gsum must be present if _count is present: ' + name)
        if has_negative_buckets and has_sum:
            raise ValueError('Cannot have _sum with negative buckets: ' + name)
        if not has_negative_buckets and has_negative_gsum:
            raise ValueError('Cannot have negative _gsum with non-negative buckets: ' + name)

    for sample in samples:
        suffix = sample.name[len(name):]
        sample_group = _group_for_sample(sample, name, 'histogram')
        if not suffix:
            continue
        if sample_group != group or not _same_timestamp(sample.timestamp, timestamp):
            if group is not None:
                check_group()
            count = bucket = None
            has_negative_buckets = has_sum = has_gsum = has_negative_gsum = False
            value = 0
        group = sample_group
        timestamp = sample.timestamp

        if suffix == '_bucket':
            bound = float(sample.labels['le'])
            if bound < 0:
                has_negative_buckets = True
            if bucket is not None and bound <= bucket:
                raise ValueError('Buckets out of order: ' + name)
            if sample.value < value:
                raise ValueError('Bucket values out of order: ' + name)
            bucket = bound
            value = sample.value
        elif suffix in ('_count', '_gcount'):
            count = sample.value
        elif suffix == '_sum':
            has_sum = True
        elif suffix == '_gsum':
            has_gsum = True
            if sample.value < 0:
                has_negative_gsum = True

    if group is not None:
        check_group()


def _same_timestamp(first: object, second: object) -> bool:
    """Timestamp equality as the reference client sees it (types must match)."""
    return first == second


def _timestamp_before(later: object, earlier: object, line: str) -> bool:
    """True if ``earlier > later``.

    A Timestamp (integer or ``a.b`` form) and a float (exponent form) cannot
    be compared; the reference client fails with an AttributeError there, so
    the line is rejected.
    """
    if type(earlier) is not type(later):
        raise ValueError('Mix of timestamp formats within a group: ' + line)
    return earlier > later  # type: ignore[operator]


def _is_integral(value: object) -> bool:
    """True for an int or an integral float (a native sample's None is not)."""
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_nan(value: float) -> bool:
    """math.isnan, raising ValueError (not OverflowError) for an int beyond float range."""
    try:
        return math.isnan(value)
    except OverflowError as error:
        raise ValueError(str(error)) from None


class _FamilyBuilder:
    """State of the family being read; checks each sample as it arrives."""

    __slots__ = ('name', 'documentation', 'unit', 'typ', 'samples', 'allowed_names',
                 'group', 'group_timestamp', 'group_series', 'seen_groups',
                 'bucket_name', 'count_name', 'gcount_name')

    def __init__(self, name: str, typ: Optional[str] = None,
                 allowed_names: Optional[Tuple[str, ...]] = None) -> None:
        self.name = name
        self.documentation: Optional[str] = None
        self.unit: Optional[str] = None
        self.typ = typ
        self.samples: List[Sample] = []
        self.allowed_names = allowed_names if allowed_names is not None else (name,)
        self.group: Optional[frozenset] = None
        self.group_timestamp: object = None
        self.group_series: Set[tuple] = set()
        self.seen_groups: Set[frozenset] = set()
        self.bucket_name = name + '_bucket'
        self.count_name = name + '_count'
        self.gcount_name = name + '_gcount'

    def set_type(self, typ: str) -> None:
        self.typ = typ
        suffixes = _TYPE_SUFFIXES.get(typ, ('',))
        self.allowed_names = tuple(self.name + suffix for suffix in suffixes)

    def add(self, sample: Sample, line: str, is_native: bool) -> None:
        """Check ``sample`` (read from ``line``) and append it."""
        name = self.name
        typ = self.typ
        sample_name = sample.name
        labels = sample.labels
        value = sample.value
        if typ == 'stateset' and name not in labels:
            raise ValueError('Stateset missing label: ' + line)
        if sample_name == self.bucket_name:
            le = labels.get('le', 'NaN') if labels is not None else 'NaN'
            if le == 'NaN' or _isUncanonicalNumber(le):
                raise ValueError('Invalid le label: ' + line)
            if not _is_integral(value):
                raise ValueError('Bucket value must be an integer: ' + line)
        if sample_name == self.count_name or sample_name == self.gcount_name:
            if not _is_integral(value):
                raise ValueError('Count value must be an integer: ' + line)
        if typ == 'summary' and name == sample_name:
            quantile = labels.get('quantile', -1)
            if not 0 <= float(quantile) <= 1 or _isUncanonicalNumber(labels['quantile']):
                raise ValueError('Invalid quantile label: ' + line)

        if is_native:
            self.samples.append(sample)
        else:
            self._add_to_group(sample, line)

        if typ == 'stateset' and value not in (0, 1):
            raise ValueError('Stateset samples can only have values zero and one: ' + line)
        if typ == 'info' and value != 1:
            raise ValueError('Info samples can only have value one: ' + line)
        if value is None:
            # A native-histogram sample has no value to check, so it must not
            # claim a counter-like name (the reference client fails with a
            # TypeError here).
            if sample_name[len(name):] in _COUNTER_LIKE_NAN_SUFFIXES:
                raise ValueError('Counter-like samples must have a number value: ' + line)
            return
        if typ == 'summary' and name == sample_name and value < 0:
            raise ValueError('Quantile values cannot be negative: ' + line)
        suffix = sample_name[len(name):]
        if suffix in _COUNTER_LIKE_NAN_SUFFIXES and _is_nan(value):
            raise ValueError('Counter-like samples cannot be NaN: ' + line)
        if suffix in _COUNTER_LIKE_NEGATIVE_SUFFIXES and value < 0:
            raise ValueError('Counter-like samples cannot be negative: ' + line)
        if sample.exemplar and not (
                (typ in ('histogram', 'gaugehistogram') and sample_name.endswith('_bucket'))
                or (typ == 'counter' and sample_name.endswith('_total'))):
            raise ValueError(
                'Invalid line only histogram/gaugehistogram buckets and counters can have exemplars: '
                + line)

    def _add_to_group(self, sample: Sample, line: str) -> None:
        """Enforce contiguous children and timestamp order; drop duplicates.

        Label sets are compared as frozensets of items, which is equality of
        the sorted item tuples the reference client compares, without sorting.
        """
        items = frozenset(sample.labels.items())
        group = self._group_key(sample, items)
        timestamp = sample.timestamp
        current = self.group
        if current is not None:
            if group != current:
                if group in self.seen_groups:
                    raise ValueError('Invalid metric grouping: ' + line)
                self.group_series = set()
            else:
                group_timestamp = self.group_timestamp
                if (timestamp is None) != (group_timestamp is None):
                    raise ValueError('Mix of timestamp presence within a group: ' + line)
                if (group_timestamp is not None
                        and _timestamp_before(timestamp, group_timestamp, line)
                        and self.typ != 'info'):
                    raise ValueError('Timestamps went backwards within a group: ' + line)
        else:
            self.group_series = set()
        series = (sample.name, items)
        if timestamp != self.group_timestamp or series not in self.group_series:
            # Not a duplicate left by timestamp truncation.
            self.samples.append(sample)
        self.group_series.add(series)
        self.group = group
        self.group_timestamp = timestamp
        self.seen_groups.add(group)

    def _group_key(self, sample: Sample, items: frozenset) -> frozenset:
        """``_group_for_sample`` as a frozenset of label items."""
        typ = self.typ
        if typ == 'info':
            return frozenset()
        if typ == 'summary' and sample.name == self.name:
            left_out = 'quantile'
        elif typ == 'stateset':
            left_out = self.name
        elif sample.name == self.bucket_name and typ in ('histogram', 'gaugehistogram'):
            left_out = 'le'
        else:
            return items
        return items - {(left_out, sample.labels[left_out])}


class _OpenMetricsReader:
    """Reads lines, groups samples into families and builds Metric objects."""

    def __init__(self) -> None:
        self.family: Optional[_FamilyBuilder] = None
        self.seen_names: Set[str] = set()

    def build(self, family: _FamilyBuilder) -> Metric:
        """Finish ``family``: name clashes, unit and histogram checks."""
        name = family.name
        typ = family.typ if family.typ is not None else 'unknown'
        for suffix in ('',) + tuple(s for s in _TYPE_SUFFIXES.get(typ, ()) if s):
            if name + suffix in self.seen_names:
                raise ValueError('Clashing name: ' + name + suffix)
            self.seen_names.add(name + suffix)
        documentation = family.documentation if family.documentation is not None else ''
        unit = family.unit if family.unit is not None else ''
        if unit and not name.endswith('_' + unit):
            raise ValueError('Unit does not match metric name: ' + name)
        if unit and typ in ('info', 'stateset'):
            raise ValueError('Units not allowed for this metric type: ' + name)
        if typ in ('histogram', 'gaugehistogram'):
            _check_histogram(family.samples, name)
        _validate_metric_name(name)
        metric = Metric(name, documentation, typ, unit)
        metric.samples = family.samples
        return metric

    def metadata(self, line: str) -> Iterator[Metric]:
        """Handle a ``# HELP|TYPE|UNIT name text`` line."""
        parts = _split_quoted(line, ' ', 3)
        if len(parts) < 4:
            raise ValueError('Invalid line: ' + line)
        candidate, quoted = _unquote_unescape(parts[2])
        if not quoted and not _lexer.is_legacy_metric_name(candidate):
            raise ValueError
        family = self.family
        if family is not None and candidate == family.name and family.samples:
            raise ValueError('Received metadata after samples: ' + line)
        if family is None or candidate != family.name:
            if family is not None:
                yield self.build(family)
            family = self.family = _FamilyBuilder(candidate)
        keyword = parts[1]
        if keyword == 'HELP':
            if family.documentation is not None:
                raise ValueError('More than one HELP for metric: ' + line)
            family.documentation = _unescape_help(parts[3])
        elif keyword == 'UNIT':
            if family.unit is not None:
                raise ValueError('More than one UNIT for metric: ' + line)
            family.unit = parts[3]
        elif keyword == 'TYPE':
            if family.typ is not None:
                raise ValueError('More than one TYPE for metric: ' + line)
            if parts[3] == 'untyped':
                raise ValueError('Invalid TYPE for metric: ' + line)
            family.set_type(parts[3])
        else:
            raise ValueError('Invalid line: ' + line)

    def parse_sample(self, line: str) -> Tuple[Sample, bool]:
        """Parse a sample line: ``(sample, is_native_histogram)``."""
        match = _FAST_SAMPLE_RE.fullmatch(line)
        if match is not None:
            sample = _fast_sample(match)
            if sample is not None:
                return sample, False
        else:
            family = self.family
            if family is not None and family.typ == 'histogram':
                sample = _parse_nh_sample(line, _NATIVE_HISTOGRAM_SUFFIXES)
                if sample is not None:
                    return sample, True
        return _parse_sample(line), False

    def start_unknown_family(self, sample: Sample) -> _FamilyBuilder:
        """Start the family of unknown type a sample with an unexpected name makes."""
        candidate, quoted = _unquote_unescape(sample.name)
        if not quoted and not _lexer.is_legacy_metric_name(candidate):
            raise ValueError
        family = self.family = _FamilyBuilder(candidate, 'unknown', (sample.name,))
        return family


def text_string_to_metric_families(text: str) -> Iterator[Metric]:
    """Parse OpenMetrics text from a string; see text_fd_to_metric_families."""
    yield from text_fd_to_metric_families(io.StringIO(text))


def text_fd_to_metric_families(fd: Union[TextIO, Iterable[str]]) -> Iterator[Metric]:
    """Parse OpenMetrics text from a text file object (any iterable of lines).

    Yields ``Metric`` objects lazily. Raises ``ValueError`` for input that
    breaks the OpenMetrics rules, when the offending line is reached; input
    must end with ``# EOF``.
    """
    reader = _OpenMetricsReader()
    eof = False
    for line in fd:
        if line.endswith('\n'):
            line = line[:-1]
        if eof:
            raise ValueError('Received line after # EOF: ' + line)
        if not line:
            raise ValueError('Received blank line')
        if line == '# EOF':
            eof = True
        elif line[0] == '#':
            yield from reader.metadata(line)
        else:
            sample, is_native = reader.parse_sample(line)
            family = reader.family
            if not is_native and (family is None or sample.name not in family.allowed_names):
                if family is not None:
                    yield reader.build(family)
                family = reader.start_unknown_family(sample)
            family.add(sample, line, is_native)
    if reader.family is not None:
        yield reader.build(reader.family)
    if not eof:
        raise ValueError('Missing # EOF at end')
