"""Tests for prometheus_client.openmetrics.parser (strict OpenMetrics, native histograms).

Table-driven tests of every rule and message of behaviors.md §18.2, round
trips through the OpenMetrics encoder, and differential tests against the
classic client 0.26.0 (the harness lives in tests/test_parser.py).
"""
from __future__ import annotations

from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.core import BucketSpan, NativeHistogram, Timestamp
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import (
    _CANONICAL_NUMBERS, _isUncanonicalNumber, _parse_nh_sample, _parse_nh_struct,
    _parse_remaining_text, _parse_sample, _parse_timestamp, _unescape_help,
    text_fd_to_metric_families, text_string_to_metric_families,
)
from test_parser import (  # the shared classic-client harness
    NAMES, NUMBERS, ClassicParsers, _quoted, assert_same_as_classic, exposition,
    metadata_lines, open_classic, sample_lines,
)


def parse(text: str) -> list:
    return list(text_string_to_metric_families(text))


def error_of(text: str) -> str:
    with pytest.raises(ValueError) as info:
        parse(text)
    return str(info.value)


@pytest.fixture(scope='module')
def classic():
    yield from open_classic()


# --------------------------------------------------------------------------
# Documented results


def test_counter_with_exemplar() -> None:
    [family] = parse('# TYPE a counter\na_total 1 # {x="y"} 1 1.5\n# EOF\n')
    assert repr(family) == (
        "Metric(a, , counter, , [Sample(name='a_total', labels={}, value=1, timestamp=None, "
        "exemplar=Exemplar(labels={'x': 'y'}, value=1, timestamp=Timestamp(1, 500000000)), "
        "native_histogram=None)])")


def test_gauge_with_unit_and_timestamp() -> None:
    [family] = parse('# TYPE g_seconds gauge\n# UNIT g_seconds seconds\ng_seconds 1.5 1700000000.123\n# EOF\n')
    assert (family.name, family.type, family.unit) == ('g_seconds', 'gauge', 'seconds')
    assert family.samples[0].timestamp == Timestamp(1700000000, 123000000)


def test_help_keeps_unknown_escapes() -> None:
    [family] = parse('# HELP a \\q\n# EOF\n')
    assert repr(family) == 'Metric(a, \\q, unknown, , [])'
    assert _unescape_help('a\\\\b\\nc\\"d\\qe\\') == 'a\\b\nc"d\\qe\\'


@pytest.mark.parametrize('text, expected', [
    ('1', Timestamp(1, 0)),
    ('-2', Timestamp(-2, 0)),
    ('2.5', Timestamp(2, 500000000)),
    ('1.1234567891', Timestamp(1, 123456789)),
    ('1.', Timestamp(1, 0)),
    ('-0.5', Timestamp(0, 500000000)),
    ('1.5e3', 1500.0),
    ('.5', 0.5),
    ('', None),
])
def test_timestamps(text: str, expected: object) -> None:
    assert _parse_timestamp(text) == expected
    assert type(_parse_timestamp(text)) is type(expected)


@pytest.mark.parametrize('text, message', [
    ('NaN', "Invalid timestamp: 'NaN'"),
    ('+Inf', "Invalid timestamp: '+Inf'"),
    ('1_0', "Invalid timestamp: '1_0'"),
    ('3 ', "Invalid timestamp: '3 '"),
    ('1e400', "Invalid timestamp: '1e400'"),
    ('0x1', "could not convert string to float: '0x1'"),
])
def test_timestamp_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        _parse_timestamp(text)
    assert str(info.value) == message


def test_values_are_int_or_float() -> None:
    [family] = parse('a 1\nb 1.0\n# EOF\n')[:1]
    assert type(family.samples[0].value) is int
    assert type(parse('b 1.0\n# EOF\n')[0].samples[0].value) is float


def test_duplicate_samples_in_a_group_are_dropped() -> None:
    [family] = parse('a{x="1"} 1 1\na{x="1"} 2 1.0\n# EOF\n')
    assert [s.value for s in family.samples] == [1]
    [family] = parse('# TYPE a gauge\na -1\na NaN\n# EOF\n')
    assert [s.value for s in family.samples] == [-1]


def test_info_samples_may_go_back_in_time() -> None:
    [family] = parse('# TYPE a info\na_info{x="1"} 1 2\na_info{x="1"} 1 1\n# EOF\n')
    assert len(family.samples) == 2


def test_remaining_text() -> None:
    assert _parse_remaining_text('1') == (1, None, None)
    value, timestamp, exemplar = _parse_remaining_text('1 2 # {a="b"} 3 4.5')
    assert (value, timestamp) == (1, Timestamp(2, 0))
    assert exemplar == ({'a': 'b'}, 3, Timestamp(4, 500000000))
    assert _parse_sample('{"a.b",c="d"} 1').name == 'a.b'


def test_uncanonical_numbers() -> None:
    assert _CANONICAL_NUMBERS == {float('inf')}
    assert not _isUncanonicalNumber('+Inf')
    assert _isUncanonicalNumber('Inf') and _isUncanonicalNumber('+inf') and _isUncanonicalNumber('1e400')
    assert not _isUncanonicalNumber('1e3') and not _isUncanonicalNumber('NaN')


def test_fd_input() -> None:
    families = list(text_fd_to_metric_families(['a 1\n', '# EOF']))
    assert [f.name for f in families] == ['a']


# --------------------------------------------------------------------------
# Every error message of behaviors.md §18.2

HIST = '# TYPE a histogram\n'
GHIST = '# TYPE a gaugehistogram\n'


@pytest.mark.parametrize('text, message', [
    ('# EOF\nx', 'Received line after # EOF: x'),
    ('# EOF\n\n', 'Received line after # EOF: '),
    ('\n# EOF\n', 'Received blank line'),
    ('', 'Missing # EOF at end'),
    ('a 1\n', 'Missing # EOF at end'),
    ('# HELP a\n# EOF\n', 'Invalid line: # HELP a'),
    ('# FOO a b\n# EOF\n', 'Invalid line: # FOO a b'),
    ('a 1\n#EOF\n', 'Invalid line: #EOF'),
    ('a 1\n# EOF \n', 'Invalid line: # EOF '),
    ('# TYPE a gauge\na 1\n# HELP a x\n# EOF\n', 'Received metadata after samples: # HELP a x'),
    ('# HELP a b\n# HELP a c\n# EOF\n', 'More than one HELP for metric: # HELP a c'),
    ('# TYPE a gauge\n# TYPE a gauge\n# EOF\n', 'More than one TYPE for metric: # TYPE a gauge'),
    ('# UNIT a_s s\n# UNIT a_s s\n# EOF\n', 'More than one UNIT for metric: # UNIT a_s s'),
    ('# TYPE a untyped\n# EOF\n', 'Invalid TYPE for metric: # TYPE a untyped'),
    ('# TYPE a foo\n# EOF\n', 'Invalid metric type: foo'),
    ('# HELP a.b x\n# EOF\n', ''),
    ('# TYPE a counter\n# TYPE a_created gauge\n# EOF\n', 'Clashing name: a_created'),
    ('# TYPE a gauge\n# HELP b x\n# TYPE a gauge\n# EOF\n', 'Clashing name: a'),
    ('# UNIT a s\n# EOF\n', 'Unit does not match metric name: a'),
    ('# TYPE a_s info\n# UNIT a_s s\n# EOF\n', 'Units not allowed for this metric type: a_s'),
    (HIST + 'a_bucket{le="1"} 0\n# EOF\n', '+Inf bucket missing: a'),
    (HIST + 'a_bucket{le="+Inf"} 2\na_count 1\na_sum 2\n# EOF\n', 'Count does not match +Inf value: a'),
    (HIST + 'a_bucket{le="+Inf"} 2\na_sum 2\n# EOF\n', '_count must be present if _sum is present: a'),
    (GHIST + 'a_bucket{le="+Inf"} 2\na_gsum 2\n# EOF\n', '_gcount must be present if _gsum is present: a'),
    (HIST + 'a_bucket{le="+Inf"} 2\na_count 2\n# EOF\n', '_sum/_gsum must be present if _count is present: a'),
    (HIST + 'a_bucket{le="-1"} 0\na_bucket{le="+Inf"} 2\na_count 2\na_sum 2\n# EOF\n',
     'Cannot have _sum with negative buckets: a'),
    (GHIST + 'a_bucket{le="1"} 0\na_bucket{le="+Inf"} 2\na_gcount 2\na_gsum -2\n# EOF\n',
     'Cannot have negative _gsum with non-negative buckets: a'),
    (HIST + 'a_bucket{le="2"} 1\na_bucket{le="1"} 1\na_bucket{le="+Inf"} 2\n# EOF\n', 'Buckets out of order: a'),
    (HIST + 'a_bucket{le="1"} 2\na_bucket{le="2"} 1\na_bucket{le="+Inf"} 2\n# EOF\n',
     'Bucket values out of order: a'),
    (HIST + 'a_bucket{le="Inf"} 0\n# EOF\n', 'Invalid le label: a_bucket{le="Inf"} 0'),
    (HIST + 'a_bucket 0\n# EOF\n', 'Invalid le label: a_bucket 0'),
    (HIST + 'a_bucket{le="NaN"} 0\n# EOF\n', 'Invalid le label: a_bucket{le="NaN"} 0'),
    (HIST + 'a_bucket{le="+Inf"} 0.5\n# EOF\n', 'Bucket value must be an integer: a_bucket{le="+Inf"} 0.5'),
    ('# TYPE a summary\na_count 1.5\n# EOF\n', 'Count value must be an integer: a_count 1.5'),
    ('# TYPE a stateset\na{b="x"} 1\n# EOF\n', 'Stateset missing label: a{b="x"} 1'),
    ('# TYPE a summary\na{quantile="1.5"} 1\n# EOF\n', 'Invalid quantile label: a{quantile="1.5"} 1'),
    ('# TYPE a summary\na 1\n# EOF\n', 'Invalid quantile label: a 1'),
    ('# TYPE a stateset\na{a="x"} 2\n# EOF\n', 'Stateset samples can only have values zero and one: a{a="x"} 2'),
    ('# TYPE a info\na_info{x="y"} 2\n# EOF\n', 'Info samples can only have value one: a_info{x="y"} 2'),
    ('# TYPE a summary\na{quantile="0.5"} -1\n# EOF\n', 'Quantile values cannot be negative: a{quantile="0.5"} -1'),
    ('# TYPE a counter\na_total NaN\n# EOF\n', 'Counter-like samples cannot be NaN: a_total NaN'),
    ('# TYPE a counter\na_total -1\n# EOF\n', 'Counter-like samples cannot be negative: a_total -1'),
    ('# TYPE a gauge\na 1 # {b="c"} 1\n# EOF\n',
     'Invalid line only histogram/gaugehistogram buckets and counters can have exemplars: a 1 # {b="c"} 1'),
    ('a{x="1"} 1\na{x="2"} 2\na{x="1"} 3\n# EOF\n', 'Invalid metric grouping: a{x="1"} 3'),
    ('a{x="1"} 1 1\na{x="1"} 1\n# EOF\n', 'Mix of timestamp presence within a group: a{x="1"} 1'),
    ('a{x="1"} 1 2\na{x="1"} 1 1\n# EOF\n', 'Timestamps went backwards within a group: a{x="1"} 1 1'),
    ('a 1 # {d="' + 'x' * 130 + '"} 2\n# EOF\n', 'Exemplar labels are too long: # {d="' + 'x' * 130 + '"} 2'),
    ('a 1 2 3\n# EOF\n', 'Invalid line: 2 3'),
    ('a 1 \n# EOF\n', 'Invalid line: '),
    ('a 1 # {} 2 \n# EOF\n', 'Invalid line: # {} 2 '),
    ('a 1 NaN\n# EOF\n', "Invalid timestamp: 'NaN'"),
    ('a 1_0\n# EOF\n', "Invalid value: '1_0'"),
    ('a.b 1\n# EOF\n', 'invalid metric name:a.b 1'),
    ('a\t1\n# EOF\n', 'invalid metric name:a\t1'),
    ('a{__name__="x"} 1\n# EOF\n', 'metric name specified more than once'),
    ('a{b="c",} 1\n# EOF\n', 'Invalid labels: b="c",'),
    ('a{,b="c"} 1\n# EOF\n', 'leading comma: ,b="c"'),
    # Where the classic client fails with another exception type, ours
    # raises a ValueError (see the module docstring of the parser).
    ('x 1 1\nx 1 1e0\n# EOF\n', 'Mix of timestamp formats within a group: x 1 1e0'),
    (HIST + 'a {count:1}\n# EOF\n', 'Invalid native histogram, missing field sum: {count:1}'),
    (HIST + 'a_total {count:1,sum:2,schema:0,zero_threshold:0,zero_count:0}\n# EOF\n',
     'Counter-like samples must have a number value: a_total {count:1,sum:2,schema:0,zero_threshold:0,zero_count:0}'),
])
def test_errors(text: str, message: str) -> None:
    assert error_of(text) == message


def test_families_before_an_error_are_yielded() -> None:
    families = text_string_to_metric_families('# TYPE a counter\n# TYPE b counter\n# TYPE a counter\n# EOF\n')
    assert [next(families).name, next(families).name] == ['a', 'b']
    with pytest.raises(ValueError, match='^Clashing name: a'):
        next(families)


# --------------------------------------------------------------------------
# Native histograms

NH = '{count:24,sum:100.5,schema:0,zero_threshold:0.001,zero_count:4,positive_spans:[0:2,1:2],positive_deltas:[2,1,-3,3]}'


def test_native_histogram_line() -> None:
    [family] = parse('# TYPE nh histogram\nnh ' + NH + ' # {t="a"} 0.67\n'
                     'nh{a="b"} {count:1,sum:2,schema:-1,zero_threshold:0,zero_count:0,'
                     'negative_spans:[0:1],negative_deltas:[1]}\n# EOF\n')
    first, second = family.samples
    assert (first.name, first.labels, first.value) == ('nh', None, None)
    assert first.native_histogram == NativeHistogram(
        24, 100.5, 0, 0.001, 4, (BucketSpan(0, 2), BucketSpan(1, 2)), None, (2, 1, -3, 3), None)
    assert second.labels == {'a': 'b'}
    assert second.native_histogram.neg_spans == (BucketSpan(0, 1),)
    assert second.native_histogram.neg_deltas == (1,)


def test_native_histogram_only_under_histogram_type() -> None:
    assert error_of('nh ' + NH + '\n# EOF\n').startswith('Invalid labels: count:24')


@pytest.mark.parametrize('text, expected', [
    ('nh 1', None),
    ('nh{a="b"} 1', None),
    ('nh 1 # {a="b"} 2', None),
    ('nh x# {count:1}', None),
    ('{"nh"} ' + NH, ('nh', None)),
    ('{"nh",a="b"} ' + NH, ('nh', {'a': 'b'})),
    ('nh{} ' + NH, ('nh', {})),
    ('nh x ' + NH, ('nh x', None)),
])
def test_native_histogram_detection(text: str, expected) -> None:
    sample = _parse_nh_sample(text, ('_count', '_sum', '_bucket'))
    assert (sample if sample is None else (sample.name, sample.labels)) == expected


@pytest.mark.parametrize('text, message', [
    ('nh_count ' + NH, "('the sample name of a native histogram should have no suffixes', 'nh_count')"),
    ('nh_bucket{a="b"} ' + NH,
     "('the sample name of a native histogram with labels should have no suffixes', 'nh_bucket')"),
    ('nh {count:1', ''),
    ('{a="b"} ' + NH, ''),
    ('nh {count:1.5,sum:2,schema:0,zero_threshold:0,zero_count:0}',
     "invalid literal for int() with base 10: '1.5'"),
])
def test_native_histogram_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        _parse_nh_sample(text, ('_count', '_sum', '_bucket'))
    assert str(info.value) == message


def test_native_histogram_struct_quirks() -> None:
    base = '{count:1,sum:2,schema:0,zero_threshold:0,zero_count:0'
    assert _parse_nh_struct(base + ',count:7}').count_value == 7  # the last field wins
    assert _parse_nh_struct(base + ',positive_spans:[-1:2]}').pos_spans is None  # not a span list
    assert _parse_nh_struct(base + ',positive_spans:[0:2, 1:1]}').pos_spans is None
    assert _parse_nh_struct(base + ',positive_deltas:[1],positive_deltas:[2]}').pos_deltas == (2,)
    assert _parse_nh_struct(base + ',positive_spans:[]}').pos_spans is None


# --------------------------------------------------------------------------
# Round trips through the OpenMetrics encoder


def test_round_trip_is_byte_exact() -> None:
    registry = CollectorRegistry()
    Counter('requests', 'Requests "served"\\ok', ['path'], registry=registry).labels('/a\n"b"').inc(3)
    Gauge('temp_celsius', 'Temperature', unit='celsius', registry=registry).set(-1.5)
    Histogram('size_bytes', 'Sizes', registry=registry, buckets=(1, 10)).observe(5)
    Summary('latency_seconds', 'Latency', registry=registry).observe(0.25)
    Info('build', 'Build', registry=registry).info({'version': '1.2'})
    Enum('state', 'State', states=['a', 'b'], registry=registry).state('b')
    text = generate_latest(registry).decode()

    class Families:
        def collect(self):
            return text_string_to_metric_families(text)

    again = CollectorRegistry()
    again.register(Families())
    assert generate_latest(again).decode() == text


# --------------------------------------------------------------------------
# Differential tests against the classic client

OM_CORPUS = [
    '', '# EOF', '# EOF\n', '# EOF\n\n', '# EOF\nx', '\n# EOF\n', 'a 1\n', 'a 1\n# EOF\n', 'a 1\n# EOF',
    'a 1\n#EOF\n', 'a 1\n# EOF \n', ' a 1\n# EOF\n', 'a 1 \n# EOF\n', 'a  1\n# EOF\n', 'a\t1\n# EOF\n',
    'a 1\r\n# EOF\n', '# HELP a\n# EOF\n', '# HELP a \n# EOF\n', '# HELP a b c\n# EOF\n', '# FOO a b\n# EOF\n',
    '# TYPE a foo\n# EOF\n', '# HELP "a.b" x\n# EOF\n', '# UNIT a \n# EOF\n', '# HELP a \\\\q\\"\\n\n# EOF\n',
    '#  HELP a b\n# EOF\n', '# HELP  a b\n# EOF\n', '# TYPE a  gauge\n# EOF\n', '# HELP "a\n# EOF\n',
    '# HELP "a b" c d\n# EOF\n', '# HELP a b\\\n# EOF\n', '{"a.b"} 1\n# EOF\n', '# TYPE "a.b" gauge\n{"a.b"} 1\n# EOF\n',
    '# TYPE "a.b" counter\n{"a.b_total"} 1\n# EOF\n', '"a.b"{c="d"} 1\n"a.b"{c="e"} 2\n# EOF\n',
    'a.b{c="d"} 1\n# EOF\n', '"a{c="d"} 1\n# EOF\n', '{"a\\"b"} 1\n# EOF\n', 'a 1\nb 2\na 3\n# EOF\n',
    'a{x="1"} 1 1e0\na{x="1"} 2 1e0\n# EOF\n', '# TYPE a counter\na_total 1\na_created 2\n# EOF\n',
    '# TYPE a counter\na 1\n# EOF\n', '# TYPE a counter\na_created -1\n# EOF\n', '# TYPE a info\na_info{x="y"} 1.0\n# EOF\n',
    '# TYPE a stateset\na{a="x"} 1.0\na{a="y"} 0\n# EOF\n', '# TYPE a summary\na{quantile="0.50"} 1\n# EOF\n',
    '# TYPE a summary\na_count 1.0\n# EOF\n',
    HIST + 'a_bucket{le="1.0"} 0\na_bucket{le="+Inf"} 1\na_count 1\na_sum 2\n# EOF\n',
    HIST + 'a_bucket{le="+Inf"} 2 # {x="y"} 1\n# EOF\n', HIST + 'a_count 2 # {x="y"} 1\n# EOF\n',
    GHIST + 'a_bucket{le="-1"} 0\na_bucket{le="+Inf"} 2\na_gcount 2\na_gsum -2\n# EOF\n',
    '# TYPE a summary\na{quantile="0.5"} 1\na{quantile="0.9",x="1"} 1\na{quantile="0.5"} 1\n# EOF\n',
    '# TYPE a counter\na_total{x="1"} 1\na_created{x="1"} 1\na_total{x="2"} 1\na_created{x="1"} 1\n# EOF\n',
    '# TYPE a_s counter\n# UNIT a_s s\na_s_total 1\n# EOF\n', '# HELP a_s x\n# UNIT a_s \n# TYPE a_s stateset\n# EOF\n',
    'a 1 # {d="e"} 2 3\n# EOF\n', 'a 1 # {d="e"} 2 3 4\n# EOF\n', 'a 1 5 # {d="e"} 2 3\n# EOF\n',
    'a 1 # {}\n# EOF\n', 'a 1 # 2\n# EOF\n', 'a 1 #{} 2\n# EOF\n', 'a 1 # {d="e"}2\n# EOF\n',
    'a 1 # {d="e"} 2 NaN\n# EOF\n', 'a 1 # {d="e"} 2 1.5e3\n# EOF\n', 'a 1 # {d="e",} 2\n# EOF\n',
    'a 1 # {d="e"} 2 # {f="g"} 3\n# EOF\n', 'a 1 "a b"\n# EOF\n', 'a 1 "{" # {x="y"} 2\n# EOF\n',
    'a 1 \\"{" # {x="y"} 2\n# EOF\n', 'a 1 # {a="\\"}"} 2\n# EOF\n', 'a 1 # {}} 2\n# EOF\n', 'a 1 1.-5\n# EOF\n',
    'a 1 1.+5\n# EOF\n', 'a 1 ' + '9' * 5000 + '\n# EOF\n', 'a{b="c"}} 1\n# EOF\n', 'a{b="c" 1\n# EOF\n',
    'a{}1\n# EOF\n', 'a {} 1\n# EOF\n', 'a{b="c"}x1\n# EOF\n', 'a}\n# EOF\n', 'a ' + '9' * 400 + '\n# EOF\n',
    '# TYPE a_total counter\na_total_total ' + '9' * 400 + '\n# EOF\n',
    '# TYPE nh histogram\nnh ' + NH + '\n# EOF\n',
    '# TYPE nh histogram\nnh_total ' + NH + '\n# EOF\n', '# TYPE nh histogram\nnh_created ' + NH + '\n# EOF\n',
    '# TYPE nh histogram\nnh x ' + NH + '\n# EOF\n', '# TYPE nh histogram\nother ' + NH + '\n# EOF\n',
    '# TYPE nh histogram\nnh{a="b"} ' + NH + '\nnh{a="b"} ' + NH + '\nnh_bucket{le="+Inf"} 1\n# EOF\n',
    '# TYPE nh histogram\nnh_bucket{le="+Inf"} 1\nnh_count 1\nnh_sum 2\nnh ' + NH + '\n# EOF\n',
    '# TYPE nh gauge\nnh ' + NH + '\n# EOF\n', '# TYPE nh histogram\nnh ' + NH + ' 123\n# EOF\n',
    '# TYPE x histogram\n{"x_bucket"} ' + NH + '\n# EOF\n', '# TYPE x histogram\n{"x_count"} ' + NH + '\n# EOF\n',
    '# TYPE x histogram\n{"x_bucket",le="+Inf"} ' + NH + '\n# EOF\n',
    '# TYPE x histogram\nx{a="b"}#' + NH + '\n# EOF\n', '# TYPE x histogram\nx{a="b"}"#"' + NH + '\n# EOF\n',
    '# TYPE x histogram\nx{a="b"} {"}"\n# EOF\n', '# TYPE x histogram\nx {count: # 1}\n# EOF\n',
]


def test_corpus_matches_classic(classic: ClassicParsers) -> None:
    assert_same_as_classic(classic, 'om', OM_CORPUS, text_string_to_metric_families)


@st.composite
def om_sample_lines(draw) -> str:
    line = draw(sample_lines()).replace('\t', ' ')
    if draw(st.integers(0, 3)) == 0:
        labels = '{%s=%s}' % (draw(st.sampled_from(['t', 'trace_id', '"a.b"'])), _quoted(draw(st.text(max_size=4))))
        line += ' # %s %s' % (labels, draw(NUMBERS))
        if draw(st.booleans()):
            line += ' ' + draw(NUMBERS)
    return line


@st.composite
def native_histogram_lines(draw) -> str:
    name = draw(NAMES)
    fields = ['count:%s' % draw(st.sampled_from(['1', '0', '1.5', 'x'])), 'sum:%s' % draw(NUMBERS),
              'schema:%s' % draw(st.sampled_from(['0', '-1', '8'])), 'zero_threshold:0.001', 'zero_count:0']
    fields = draw(st.permutations(fields))[:draw(st.integers(3, 5))]
    for side in draw(st.lists(st.sampled_from(['positive', 'negative']), max_size=2)):
        fields.append('%s_spans:[%s]' % (side, draw(st.sampled_from(['0:1', '0:2,1:2', '-1:1', '', '0:x']))))
        fields.append('%s_deltas:[%s]' % (side, draw(st.sampled_from(['1', '2,-1', '', '1.5']))))
    labels = draw(st.sampled_from(['', '{}', '{a="b"}', '{"q.r",a="b"}', ' ']))
    return '%s%s {%s}' % (name, labels, ','.join(fields))


OM_LINES = st.one_of(om_sample_lines(), om_sample_lines(), metadata_lines(), native_histogram_lines(),
                     st.text(max_size=12))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts=st.lists(exposition(OM_LINES).map(lambda text: text + '# EOF\n'), min_size=20, max_size=20))
def test_generated_expositions_match_classic(classic: ClassicParsers, texts: List[str]) -> None:
    assert_same_as_classic(classic, 'om', texts, text_string_to_metric_families)
