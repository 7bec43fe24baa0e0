"""Protobuf exposition (specs/protobuf.md): encoder, decoder, independent decode.

* Golden bytes for every metric type, assembled by hand from the field
  tables of the spec (each hex chunk is commented; lengths counted by hand).
* Round trips through our own decoder, from custom families and from the
  instrumented metrics of a registry.
* An independent decode with the ``protobuf`` package: the
  ``io.prometheus.client`` schema is built programmatically from the field
  numbers in the spec, our output is parsed with it and compared field by
  field (and byte for byte against the package's own serialization). These
  tests skip when ``protobuf`` is not installed.
* Decoder robustness: malformed inputs raise ValueError, plus a Hypothesis
  fuzz run over random and mutated bodies.
"""
from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.encoders import protobuf
from prometheus_client.encoders.protobuf import (
    CONTENT_TYPE_PROTOBUF,
    decode_metric_families,
    encode_metric_families,
    generate_latest,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp


def hx(text: str) -> str:
    """Hex of the UTF-8 bytes of ``text`` (strings in the golden tables)."""
    return text.encode('utf-8').hex()


def unhex(*chunks: str) -> bytes:
    return bytes.fromhex(''.join(chunks).replace(' ', ''))


# Doubles, little-endian IEEE 754.
D_0 = '00 00 00 00 00 00 00 00'
D_0_25 = '00 00 00 00 00 00 d0 3f'
D_0_5 = '00 00 00 00 00 00 e0 3f'
D_0_9 = 'cd cc cc cc cc cc ec 3f'
D_1 = '00 00 00 00 00 00 f0 3f'
D_1_25 = '00 00 00 00 00 00 f4 3f'
D_1_5 = '00 00 00 00 00 00 f8 3f'
D_2 = '00 00 00 00 00 00 00 40'
D_2_5 = '00 00 00 00 00 00 04 40'
D_3 = '00 00 00 00 00 00 08 40'
D_5 = '00 00 00 00 00 00 14 40'
D_7 = '00 00 00 00 00 00 1c 40'
D_12_8 = '9a 99 99 99 99 99 29 40'
D_21_5 = '00 00 00 00 00 80 35 40'
D_2_POW_M128 = '00 00 00 00 00 00 f0 37'
# Varints.
V_1700000000 = '80 e2 cf aa 06'
V_500000000 = '80 ca b5 ee 01'
V_250000000 = '80 e5 9a 77'
V_1700000000250 = 'fa d1 95 ff bc 31'


# ---------------------------------------------------------------------------
# Wire primitives
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('value, encoded', [
    (0, '00'), (1, '01'), (127, '7f'), (128, '80 01'), (300, 'ac 02'), (16383, 'ff 7f'),
    (16384, '80 80 01'), (1700000000, V_1700000000), (2 ** 63, '80 80 80 80 80 80 80 80 80 01'),
    (2 ** 64 - 1, 'ff ff ff ff ff ff ff ff ff 01'),
    (-1, 'ff ff ff ff ff ff ff ff ff 01'),  # int64 -1: ten bytes, two's complement
])
def test_varint(value, encoded):
    assert protobuf._varint(value) == unhex(encoded)
    assert protobuf._read_varint(unhex(encoded), 0, len(unhex(encoded))) == (value % 2 ** 64, len(unhex(encoded)))


@pytest.mark.parametrize('value, zigzag', [(0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4), (63, 126), (-64, 127),
                                           (64, 128), (-(2 ** 63), 2 ** 64 - 1)])
def test_zigzag(value, zigzag):
    assert protobuf._zigzag(value) == zigzag
    assert protobuf._unzigzag(zigzag) == value


# ---------------------------------------------------------------------------
# Golden bytes, one family per metric type
# ---------------------------------------------------------------------------

def counter_example_a():
    family = CounterMetricFamily('http_requests', 'Total HTTP requests.', labels=['method'])
    family.add_metric(['get'], 1027, created=1700000000.5)
    return family


# protobuf.md section 6.A, verbatim.
GOLDEN_COUNTER = unhex(
    '57',                                            # record length 87
    '0a 13', hx('http_requests_total'),              # name
    '12 14', hx('Total HTTP requests.'),             # help
    '18 00',                                         # type COUNTER
    '22 28',                                         # metric, 40 bytes
    '0a 0d 0a 06', hx('method'), '12 03', hx('get'),  # label
    '1a 17',                                         # counter, 23 bytes
    '09 00 00 00 00 00 0c 90 40',                    # value 1027.0
    '1a 0c 08', V_1700000000, '10', V_500000000,     # created 1700000000.5
)


def counter_with_exemplar():
    return CounterMetricFamily('c', 'h', value=3, exemplar=Exemplar({'t': 'a'}, 0.5, 1700000000.25))


GOLDEN_COUNTER_EXEMPLAR = unhex(
    '3b',                                   # 59
    '0a 07', hx('c_total'), '12 01', hx('h'), '18 00',
    '22 2b',                                # metric, 43
    '1a 29',                                # counter, 41
    '09', D_3,                              # value
    '12 1e',                                # exemplar, 30
    '0a 06 0a 01', hx('t'), '12 01', hx('a'),
    '11', D_0_5,                            # exemplar value
    '1a 0b 08', V_1700000000, '10', V_250000000,  # exemplar timestamp
)


def gauge_with_timestamp():
    family = GaugeMetricFamily('temp_celsius', 'Temperature', labels=['room'])
    family.add_metric(['kitchen'], 21.5, timestamp=1700000000.25)
    return family


GOLDEN_GAUGE = unhex(
    '42',                                                 # 66
    '0a 0c', hx('temp_celsius'), '12 0b', hx('Temperature'), '18 01',
    '22 23',                                              # metric, 35
    '0a 0f 0a 04', hx('room'), '12 07', hx('kitchen'),
    '12 09 09', D_21_5,                                   # gauge
    '30', V_1700000000250,                                # timestamp_ms
)


def untyped_with_unit():
    return UnknownMetricFamily('u', 'unk', value=3, unit='bytes')


GOLDEN_UNTYPED = unhex(
    '24',                                       # 36
    '0a 07', hx('u_bytes'), '12 03', hx('unk'), '18 03',
    '22 0b 2a 09 09', D_3,                      # metric { untyped { value } }
    '2a 05', hx('bytes'),                       # unit (field 5, after the metrics)
)


def summary_with_quantiles():
    family = Metric('s', 'sum', 'summary')
    family.add_sample('s', {'quantile': '0.5'}, 0.25)
    family.add_sample('s', {'quantile': '0.9'}, 1.25)
    family.add_sample('s_count', {}, 2)
    family.add_sample('s_sum', {}, 1.5)
    family.add_sample('s_created', {}, 1700000000.0)
    return family


GOLDEN_SUMMARY = unhex(
    '49',                                      # 73
    '0a 01', hx('s'), '12 03', hx('sum'), '18 02',
    '22 3d',                                   # metric, 61
    '22 3b',                                   # summary, 59
    '08 02',                                   # sample_count
    '11', D_1_5,                               # sample_sum
    '1a 12 09', D_0_5, '11', D_0_25,           # quantile
    '1a 12 09', D_0_9, '11', D_1_25,           # quantile
    '22 06 08', V_1700000000,                  # created (nanos 0 omitted)
)


def classic_histogram():
    family = HistogramMetricFamily('h', 'hist', labels=['l'])
    family.add_metric(['x'], [('1.0', 1), ('2.0', 3, Exemplar({'t': 'b'}, 1.5)), ('+Inf', 4)], 5.0)
    family.add_sample('h_created', {'l': 'x'}, 1700000000.0)
    return family


GOLDEN_HISTOGRAM = unhex(
    '57',                                        # 87
    '0a 01', hx('h'), '12 04', hx('hist'), '18 04',
    '22 4a',                                     # metric, 74
    '0a 06 0a 01', hx('l'), '12 01', hx('x'),
    '3a 40',                                     # histogram, 64
    '08 04',                                     # sample_count
    '11', D_5,                                   # sample_sum
    '1a 0b 08 01 11', D_1,                       # bucket le=1
    '1a 1e 08 03 11', D_2,                       # bucket le=2 ...
    '1a 11 0a 06 0a 01', hx('t'), '12 01', hx('b'), '11', D_1_5,  # ... with its exemplar
    # no +Inf bucket: implied by the count
    '7a 06 08', V_1700000000,                    # created
)


def gauge_histogram():
    return GaugeHistogramMetricFamily('gh', 'help', buckets=[('1.0', 4), ('+Inf', 5)], gsum_value=7)


GOLDEN_GAUGE_HISTOGRAM = unhex(
    '28',                                       # 40
    '0a 02', hx('gh'), '12 04', hx('help'), '18 05',
    '22 1a 3a 18',                              # metric 26, histogram 24
    '08 05',                                    # count from _gcount
    '11', D_7,                                  # sum from _gsum
    '1a 0b 08 04 11', D_1,
)


def info_family():
    return InfoMetricFamily('build', 'Build info', value={'version': '1.0'})


GOLDEN_INFO = unhex(
    '37',                                       # 55
    '0a 0a', hx('build_info'), '12 0a', hx('Build info'), '18 01',
    '22 1b 0a 0e 0a 07', hx('version'), '12 03', hx('1.0'),
    '12 09 09', D_1,
)


def stateset_family():
    return StateSetMetricFamily('ss', 'states', value={'b': True, 'a': False})


GOLDEN_STATESET = unhex(
    '3a',                                       # 58
    '0a 02', hx('ss'), '12 06', hx('states'), '18 01',
    '22 14 0a 07 0a 02', hx('ss'), '12 01', hx('a'), '12 09 09', D_0,
    '22 14 0a 07 0a 02', hx('ss'), '12 01', hx('b'), '12 09 09', D_1,
)


def native_example_b():
    family = HistogramMetricFamily('nh', 'native')
    family.add_native_metric([], NativeHistogram(
        8, 12.8, 0, 2 ** -128, 1, pos_spans=[BucketSpan(-1, 5)], neg_spans=[BucketSpan(1, 1)],
        pos_deltas=[1, 0, 0, 1, -1], neg_deltas=[1]))
    return family


# protobuf.md section 6.B with packed deltas.
GOLDEN_NATIVE = unhex(
    '40',                                       # 64
    '0a 02', hx('nh'), '12 06', hx('native'), '18 04',
    '22 30 3a 2e',                              # metric 48, histogram 46
    '08 08', '11', D_12_8, '28 00', '31', D_2_POW_M128, '38 01',
    '4a 04 08 02 10 01',                        # negative span (1, 1)
    '52 01 02',                                 # negative deltas [1], packed
    '62 04 08 01 10 05',                        # positive span (-1, 5)
    '6a 05 02 00 00 02 01',                     # positive deltas, packed
)


def native_example_c():
    family = HistogramMetricFamily('e', 'empty')
    family.add_native_metric([], NativeHistogram(0, 0.0, 3, 0.0, 0))
    return family


# protobuf.md section 6.C: the no-op span keeps it native.
GOLDEN_NATIVE_EMPTY = unhex(
    '2e',                                       # 46
    '0a 01', hx('e'), '12 05', hx('empty'), '18 04',
    '22 20 3a 1e',
    '08 00', '11', D_0, '28 06', '31', D_0, '38 00',
    '62 04 08 00 10 00',                        # positive span (0, 0)
)


def native_float_with_exemplar():
    family = HistogramMetricFamily('f', 'float')
    family.add_native_metric([], NativeHistogram(
        2.5, 3.0, 1, 0.0, 0.5, pos_spans=[BucketSpan(0, 2)], pos_deltas=[1, 0],
        nh_exemplars=[Exemplar({}, 1.0, Timestamp(1700000000, 0)), Exemplar({}, 2.0)]))
    return family


GOLDEN_NATIVE_FLOAT = unhex(
    '62',                                       # 98
    '0a 01', hx('f'), '12 05', hx('float'), '18 04',
    '22 54 3a 52',                              # metric 84, histogram 82
    '11', D_3,                                  # sum
    '21', D_2_5,                                # sample_count_float
    '28 02', '31', D_0,                         # schema 1, threshold 0
    '41', D_0_5,                                # zero_count_float
    '62 04 08 00 10 02',                        # positive span (0, 2)
    '72 10', D_1, D_1,                          # absolute counts [1, 1]
    '82 01 11 11', D_1, '1a 06 08', V_1700000000,  # exemplar with timestamp
    # the exemplar without a timestamp is left out
)

GOLDENS = [
    (counter_example_a, GOLDEN_COUNTER),
    (counter_with_exemplar, GOLDEN_COUNTER_EXEMPLAR),
    (gauge_with_timestamp, GOLDEN_GAUGE),
    (untyped_with_unit, GOLDEN_UNTYPED),
    (summary_with_quantiles, GOLDEN_SUMMARY),
    (classic_histogram, GOLDEN_HISTOGRAM),
    (gauge_histogram, GOLDEN_GAUGE_HISTOGRAM),
    (info_family, GOLDEN_INFO),
    (stateset_family, GOLDEN_STATESET),
    (native_example_b, GOLDEN_NATIVE),
    (native_example_c, GOLDEN_NATIVE_EMPTY),
    (native_float_with_exemplar, GOLDEN_NATIVE_FLOAT),
]
GOLDEN_IDS = [make.__name__ for make, _ in GOLDENS]


@pytest.mark.parametrize('make, golden', GOLDENS, ids=GOLDEN_IDS)
def test_golden_bytes(make, golden):
    assert encode_metric_families([make()]).hex(' ') == golden.hex(' ')


def test_spec_example_b_unpacked_deltas_decode():
    """Readers accept unpacked repeated scalars (the spec shows B unpacked)."""
    body = unhex('08 08 11', D_12_8, '28 00 31', D_2_POW_M128, '38 01 4a 04 08 02 10 01 50 02',
                 '62 04 08 01 10 05 68 02 68 00 68 00 68 02 68 01')
    family = unhex('0a 02', hx('nh'), '12 00 18 04 22', '%02x' % (len(body) + 2), '3a', '%02x' % len(body)) + body
    decoded, = decode_metric_families(bytes([len(family)]) + family)
    assert decoded.samples == [Sample('nh', {}, None, None, None, NativeHistogram(
        8, 12.8, 0, 2 ** -128, 1, (BucketSpan(-1, 5),), (BucketSpan(1, 1),), (1, 0, 0, 1, -1), (1,)))]


def test_content_type():
    assert CONTENT_TYPE_PROTOBUF == ('application/vnd.google.protobuf; '
                                     'proto=io.prometheus.client.MetricFamily; encoding=delimited')


# ---------------------------------------------------------------------------
# Mapping rules
# ---------------------------------------------------------------------------

def decode(*families, escaping='underscores'):
    return decode_metric_families(encode_metric_families(families, escaping))


def test_empty_input_and_empty_families():
    assert encode_metric_families([]) == b''
    assert decode_metric_families(b'') == []
    assert encode_metric_families([GaugeMetricFamily('g', 'no series', labels=['a'])]) == b''


def test_same_name_families_are_merged():
    first = GaugeMetricFamily('g', 'first', labels=['a'])
    first.add_metric(['1'], 1)
    second = GaugeMetricFamily('g', 'second', labels=['a'])
    second.add_metric(['2'], 2)
    merged, = decode(first, second)
    assert merged.documentation == 'first'
    assert [s.labels for s in merged.samples] == [{'a': '1'}, {'a': '2'}]


def test_foreign_samples_become_their_own_families():
    family = GaugeMetricFamily('g', 'doc', value=1)
    family.add_sample('g_created', {}, 12.0)   # hoisted by the text format: a gauge
    family.add_sample('other', {}, 3.0)        # same type as its family
    histogram = HistogramMetricFamily('h', 'doc', buckets=[('+Inf', 1)], sum_value=1)
    histogram.add_sample('h_gsum', {}, 2.0)
    histogram.add_sample('h_bucket', {}, 4.0)  # no le label: not a bucket
    result = {(m.name, m.type): [(s.name, s.value) for s in m.samples] for m in decode(family, histogram)}
    assert result == {
        ('g', 'gauge'): [('g', 1.0)],
        ('g_created', 'gauge'): [('g_created', 12.0)],
        ('other', 'gauge'): [('other', 3.0)],
        ('h', 'histogram'): [('h_bucket', 1.0), ('h_count', 1.0), ('h_sum', 1.0)],
        ('h_gsum', 'gauge'): [('h_gsum', 2.0)],
        ('h_bucket', 'unknown'): [('h_bucket', 4.0)],
    }


def test_lone_created_sample_of_a_counter_is_a_gauge():
    family = Metric('c', 'doc', 'counter')
    family.add_sample('c_created', {'a': 'b'}, 5.0)
    assert [(m.name, m.type) for m in decode(family)] == [('c_created', 'gauge')]


def test_counter_pairs_created_by_labels_in_any_order():
    family = CounterMetricFamily('c', 'doc', labels=['k'])
    family.add_sample('c_created', {'k': '2'}, 20.0)
    family.add_sample('c_total', {'k': '1'}, 1.0)
    family.add_sample('c_total', {'k': '2'}, 2.0)
    family.add_sample('c_created', {'k': '1'}, 10.0)
    decoded, = decode(family)
    assert [(s.name, s.labels['k'], s.value) for s in decoded.samples] == [
        ('c_total', '2', 2.0), ('c_created', '2', 20.0), ('c_total', '1', 1.0), ('c_created', '1', 10.0)]


def test_inf_bucket_is_kept_when_it_is_the_only_one_or_has_an_exemplar():
    only = HistogramMetricFamily('a', 'doc', buckets=[('+Inf', 2)], sum_value=3)
    with_exemplar = HistogramMetricFamily('b', 'doc', buckets=[('1.0', 1), ('+Inf', 2, Exemplar({}, 9.0))],
                                          sum_value=3)
    wire = encode_metric_families([only, with_exemplar])
    a, b = decode_metric_families(wire)
    assert a.samples == only.samples and b.samples == with_exemplar.samples
    assert wire.count(unhex('11 00 00 00 00 00 00 f0 7f')) == 2  # upper_bound +Inf written twice


def test_histogram_without_count_takes_it_from_the_inf_bucket():
    family = HistogramMetricFamily('h', 'doc', buckets=[('-1.0', 0), ('+Inf', 2)], sum_value=None)
    decoded, = decode(family)
    assert [(s.name, s.value) for s in decoded.samples] == [('h_bucket', 0.0), ('h_bucket', 2.0), ('h_count', 2.0)]


def test_classic_and_native_share_one_message():
    family = HistogramMetricFamily('h', 'doc', labels=['l'])
    family.add_metric(['x'], [('1.0', 1), ('+Inf', 2)], 1.5)
    nh = NativeHistogram(2, 1.5, 0, 2 ** -128, 0, pos_spans=[BucketSpan(0, 2)], pos_deltas=[1, 0])
    family.add_native_metric(['x'], nh)
    decoded, = decode(family)
    assert len(decoded.samples) == 5
    assert decoded.samples[0] == Sample('h', {'l': 'x'}, None, None, None, nh._replace(
        pos_spans=(BucketSpan(0, 2),), pos_deltas=(1, 0)))
    assert decoded.samples[1:] == family.samples[:4]


def test_native_only_histogram_with_inf_bucket_view_stays_native():
    """The text-format view of a native-only histogram (+Inf, _count, _sum) is not sent as classic."""
    family = HistogramMetricFamily('h', 'doc')
    family.add_metric([], [('+Inf', 0)], 0)
    family.add_native_metric([], NativeHistogram(0, 0.0, 3, 0.0, 0))
    assert encode_metric_families([family]).endswith(unhex('62 04 08 00 10 00'))
    decoded, = decode(family)
    assert [s.name for s in decoded.samples] == ['h']


def test_gauge_histogram_native():
    family = GaugeHistogramMetricFamily('gh', 'doc', labels=[])
    family.add_sample('gh', {}, 1, native_histogram=NativeHistogram(1, 2.0, 0, 0.0, 1))
    decoded, = decode(family)
    assert decoded.type == 'gaugehistogram'
    assert decoded.samples == [Sample('gh', {}, None, None, None, NativeHistogram(1, 2.0, 0, 0.0, 1))]


def test_inconsistent_native_histogram_is_rejected():
    family = HistogramMetricFamily('h', 'doc')
    family.add_native_metric([], NativeHistogram(1, 1.0, 0, 0.0, 0, pos_spans=[BucketSpan(0, 2)], pos_deltas=[1]))
    with pytest.raises(ValueError, match="native histogram 'h'.*cover 0 negative and 2 positive"):
        encode_metric_families([family])


def test_non_integer_counts_use_float_fields():
    family = HistogramMetricFamily('h', 'doc', buckets=[('1.0', 0.5), ('+Inf', 1.5)], sum_value=2)
    wire = encode_metric_families([family])
    assert unhex('21', D_1_5) in wire            # sample_count_float
    assert unhex('1a 12 11', D_1, '21', D_0_5) in wire  # bucket with cumulative_count_float
    decoded, = decode_metric_families(wire)
    assert [s.value for s in decoded.samples] == [0.5, 1.5, 1.5, 2.0]


def test_summary_count_is_rounded():
    family = SummaryMetricFamily('s', 'doc', count_value=2.6, sum_value=1)
    decoded, = decode(family)
    assert decoded.samples[0].value == 3.0


def test_sample_timestamps():
    family = GaugeMetricFamily('g', 'doc', labels=['k'])
    family.add_metric(['a'], 1, timestamp=Timestamp(1, 999999999))   # exact: 1999 ms
    family.add_metric(['b'], 1, timestamp=1.001)                     # as the text format: int(1.001 * 1000)
    family.add_metric(['c'], 1, timestamp=Timestamp(-1, 500000000))  # -1.5 s
    family.add_metric(['d'], 1, timestamp=0)
    decoded, = decode(family)
    assert [s.timestamp for s in decoded.samples] == [
        Timestamp(1, 999000000), Timestamp(1, 0), Timestamp(-1, 500000000), Timestamp(0, 0)]


def test_created_timestamps():
    for created, message in [(1700000000.5, '08' + V_1700000000 + '10' + V_500000000),
                             (-1.25, '08 fe ff ff ff ff ff ff ff ff 01 10 80 af d0 e5 02'),  # -2 + 0.75
                             (0.0, ''), (Timestamp(3, 7), '08 03 10 07')]:
        assert protobuf._timestamp_message(created) == unhex(message)
    assert protobuf._timestamp_message(float('nan')) is None
    family = CounterMetricFamily('c', 'doc', value=1, created=float('inf'))
    assert decode(family)[0].samples == family.samples[:1]  # a non-finite created time is left out


def test_escaping_of_names():
    family = CounterMetricFamily('my.app', 'doc', labels=['http.code'])
    family.add_metric(['200'], 1)
    underscores, = decode(family)
    assert underscores.name == 'my_app' and underscores.samples[0].labels == {'http_code': '200'}
    utf8, = decode(family, escaping='allow-utf-8')
    assert utf8.name == 'my.app' and utf8.samples[0].labels == {'http.code': '200'}
    assert utf8.samples[0].name == 'my.app_total'
    values, = decode(family, escaping='values')
    assert values.samples[0].name == 'U__my_2e_app__total'


def test_utf8_label_values_and_help():
    family = GaugeMetricFamily('g', 'héllo “world”\n\\', labels=['k'])
    family.add_metric(['ünïcødé 😀'], 1)
    decoded, = decode(family)
    assert decoded.documentation == 'héllo “world”\n\\'
    assert decoded.samples[0].labels == {'k': 'ünïcødé 😀'}


def test_unknown_type_is_an_error():
    family = GaugeMetricFamily('g', 'doc', value=1)
    family.type = 'bogus'
    with pytest.raises(ValueError, match="family 'g' of unknown type 'bogus'"):
        encode_metric_families([family])


def test_bad_values_raise_like_the_text_format():
    family = GaugeMetricFamily('g', 'doc', value=1)
    family.samples[0] = family.samples[0]._replace(value=None)
    with pytest.raises(TypeError):
        encode_metric_families([family])


def test_large_messages_use_multi_byte_lengths():
    family = GaugeMetricFamily('g', 'x' * 300, labels=['k'])
    family.add_metric(['v' * 200], 1)
    decoded, = decode(family)
    assert decoded.documentation == 'x' * 300 and decoded.samples[0].labels == {'k': 'v' * 200}


# ---------------------------------------------------------------------------
# Round trips of instrumented metrics
# ---------------------------------------------------------------------------

def instrumented_registry():
    registry = CollectorRegistry()
    counter = Counter('requests', 'Total requests', ['method', 'code'], registry=registry)
    counter.labels('get', '200').inc()
    counter.labels('post', '500').inc(2.5, exemplar={'trace_id': 'abc'})
    Gauge('temp_celsius', 'Temperature', registry=registry).set(21.5)
    summary = Summary('latency_seconds', 'Latency', registry=registry)
    summary.observe(0.25)
    summary.observe(1)
    histogram = Histogram('size_bytes', 'Sizes', ['path'], buckets=[1, 10, 100.5, 1e6], registry=registry)
    histogram.labels('/a').observe(5, exemplar={'trace_id': 'def'})
    histogram.labels('/b').observe(1e7)
    Info('build', 'Build info', registry=registry).info({'version': '1.0', 'commit': 'abc'})
    Enum('state', 'State', states=['a', 'b', 'c'], registry=registry).state('b')
    return registry


def as_received(family: Metric) -> Metric:
    """What the decoder gives back for a collected family (info/stateset arrive as gauges)."""
    if family.type == 'info':
        received = Metric(family.name + '_info', family.documentation, 'gauge')
    elif family.type == 'stateset':
        received = Metric(family.name, family.documentation, 'gauge')
    else:
        received = Metric(family.name, family.documentation, family.type, family.unit)
    for sample in family.samples:
        exemplar = sample.exemplar
        if exemplar is not None and exemplar.timestamp is not None:
            exemplar = as_received_exemplar(exemplar)
        received.add_sample(sample.name, dict(sample.labels), float(sample.value), sample.timestamp, exemplar)
    return received


def as_received_exemplar(exemplar: Exemplar) -> Exemplar:
    """An exemplar as decoded: float value, exact Timestamp of its float timestamp."""
    seconds = math.floor(exemplar.timestamp)
    return exemplar._replace(value=float(exemplar.value),
                             timestamp=Timestamp(seconds, round((exemplar.timestamp - seconds) * 1e9)))


def test_round_trip_of_instrumented_metrics():
    registry = instrumented_registry()
    collected = list(registry.collect())
    decoded = decode_metric_families(generate_latest(registry))
    assert decoded == [as_received(family) for family in collected]


def test_repeated_scrapes_reuse_memos_and_follow_changes():
    registry = CollectorRegistry()
    counter = Counter('c', 'doc', ['k'], registry=registry)
    gauge = Gauge('g', 'doc', ['k'], registry=registry)
    counter.labels('a').inc()
    gauge.labels('a').set(1)
    first = generate_latest(registry)
    assert generate_latest(registry) == first
    counter.labels('a').inc()
    gauge.labels('a').set(7)
    counter.labels('a').reset()
    counter.labels('a').inc(4)
    families = decode_metric_families(generate_latest(registry))
    assert families == [as_received(family) for family in registry.collect()]
    assert families[0].samples[0].value == 4.0 and families[1].samples[0].value == 7.0
    # the same label set under another escaping scheme gets its own memo entries
    assert decode_metric_families(generate_latest(registry, escaping='allow-utf-8')) == families


def plain_native(nh: NativeHistogram) -> NativeHistogram:
    """A collected NativeHistogram as the decoder gives it back (empty sides None, exact timestamps)."""
    exemplars = None
    if nh.nh_exemplars:
        exemplars = tuple(as_received_exemplar(e) for e in nh.nh_exemplars if e.timestamp is not None) or None
    return nh._replace(pos_spans=tuple(nh.pos_spans) or None, neg_spans=tuple(nh.neg_spans) or None,
                       pos_deltas=tuple(nh.pos_deltas) or None, neg_deltas=tuple(nh.neg_deltas) or None,
                       nh_exemplars=exemplars)


def test_instrumented_native_histograms(metric_family_class):
    registry = CollectorRegistry()
    native_only = Histogram('lat', 'doc', ['p'], native_histogram_bucket_factor=1.1, registry=registry)
    for value in (0, 0.3, 1, 1.5, 3, 4, 5, -2):
        native_only.labels('a').observe(value, exemplar={'t': 'x'})
    both = Histogram('both', 'doc', buckets=[1, 2], native_histogram_bucket_factor=2, registry=registry)
    both.observe(1.5)
    Histogram('empty', 'doc', native_histogram_bucket_factor=2, native_histogram_zero_threshold=0,
              registry=registry)
    collected = {family.name: family.samples for family in registry.collect()}
    body = generate_latest(registry)
    decoded = {family.name: family.samples for family in decode_metric_families(body)}

    # Native only: the text formats' +Inf/_count/_sum view is not sent; the
    # +Inf exemplar travels as the native exemplar.
    native, inf, _count, _sum, created = collected['lat']
    assert decoded['lat'] == [native._replace(native_histogram=plain_native(native.native_histogram)),
                              created._replace(labels=dict(created.labels))]
    # Classic and native in one message: everything comes back.
    native, *classic = collected['both']
    assert decoded['both'][0] == native._replace(native_histogram=plain_native(native.native_histogram))
    assert decoded['both'][1:] == classic
    # Empty with threshold 0: the no-op span keeps it native.
    native, *_, created = collected['empty']
    assert decoded['empty'] == [native._replace(native_histogram=plain_native(native.native_histogram)), created]

    lat, both_record, empty = parse_delimited(metric_family_class, body)
    assert len(lat.metric[0].histogram.bucket) == 0 and len(lat.metric[0].histogram.exemplars) == 1
    assert [b.upper_bound for b in both_record.metric[0].histogram.bucket] == [1, 2]
    assert [(s.offset, s.length) for s in empty.metric[0].histogram.positive_span] == [(0, 0)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(['counter', 'gauge', 'unknown']),
                          st.dictionaries(st.sampled_from(['a', 'b', 'c.d', 'é']), st.text(max_size=5), max_size=3),
                          st.floats(allow_nan=False), st.none() | st.integers(0, 10 ** 13)),
                max_size=8))
def test_round_trip_property(series):
    families = []
    for index, (typ, labels, value, millis) in enumerate(series):
        family = Metric(f'f{index}', 'doc', typ)
        timestamp = None if millis is None else Timestamp(millis // 1000, millis % 1000 * 1_000_000)
        family.add_sample(f'f{index}_total' if typ == 'counter' else f'f{index}', labels, value, timestamp)
        families.append(family)
    assert decode_metric_families(encode_metric_families(families, 'allow-utf-8')) == families


# ---------------------------------------------------------------------------
# Independent decode with the protobuf package
# ---------------------------------------------------------------------------

def _schema():
    """Message classes of io.prometheus.client built from the spec's field tables."""
    descriptor_pb2 = pytest.importorskip('google.protobuf.descriptor_pb2')
    from google.protobuf import descriptor_pool, message_factory, timestamp_pb2

    F = descriptor_pb2.FieldDescriptorProto
    optional, repeated = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    file = descriptor_pb2.FileDescriptorProto(name='io/prometheus/client/metrics.proto',
                                              package='io.prometheus.client', syntax='proto2',
                                              dependency=['google/protobuf/timestamp.proto'])
    enum = file.enum_type.add(name='MetricType')
    for name, number in [('COUNTER', 0), ('GAUGE', 1), ('SUMMARY', 2), ('UNTYPED', 3), ('HISTOGRAM', 4),
                         ('GAUGE_HISTOGRAM', 5)]:
        enum.value.add(name=name, number=number)

    def message(name, *fields):
        descriptor = file.message_type.add(name=name)
        for field_name, number, kind, label, *type_name in fields:
            field = descriptor.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name[0]
            if label == repeated and kind in (F.TYPE_SINT64, F.TYPE_DOUBLE):
                field.options.packed = True  # our encoder packs; serialization then matches
    msg, ts = F.TYPE_MESSAGE, '.google.protobuf.Timestamp'
    message('LabelPair', ('name', 1, F.TYPE_STRING, optional), ('value', 2, F.TYPE_STRING, optional))
    message('Gauge', ('value', 1, F.TYPE_DOUBLE, optional))
    message('Untyped', ('value', 1, F.TYPE_DOUBLE, optional))
    message('Exemplar', ('label', 1, msg, repeated, '.io.prometheus.client.LabelPair'),
            ('value', 2, F.TYPE_DOUBLE, optional), ('timestamp', 3, msg, optional, ts))
    message('Counter', ('value', 1, F.TYPE_DOUBLE, optional),
            ('exemplar', 2, msg, optional, '.io.prometheus.client.Exemplar'),
            ('created_timestamp', 3, msg, optional, ts))
    message('Quantile', ('quantile', 1, F.TYPE_DOUBLE, optional), ('value', 2, F.TYPE_DOUBLE, optional))
    message('Summary', ('sample_count', 1, F.TYPE_UINT64, optional), ('sample_sum', 2, F.TYPE_DOUBLE, optional),
            ('quantile', 3, msg, repeated, '.io.prometheus.client.Quantile'),
            ('created_timestamp', 4, msg, optional, ts))
    message('Bucket', ('cumulative_count', 1, F.TYPE_UINT64, optional),
            ('cumulative_count_float', 4, F.TYPE_DOUBLE, optional), ('upper_bound', 2, F.TYPE_DOUBLE, optional),
            ('exemplar', 3, msg, optional, '.io.prometheus.client.Exemplar'))
    message('BucketSpan', ('offset', 1, F.TYPE_SINT32, optional), ('length', 2, F.TYPE_UINT32, optional))
    span, bucket = '.io.prometheus.client.BucketSpan', '.io.prometheus.client.Bucket'
    message('Histogram', ('sample_count', 1, F.TYPE_UINT64, optional),
            ('sample_count_float', 4, F.TYPE_DOUBLE, optional), ('sample_sum', 2, F.TYPE_DOUBLE, optional),
            ('bucket', 3, msg, repeated, bucket), ('created_timestamp', 15, msg, optional, ts),
            ('schema', 5, F.TYPE_SINT32, optional), ('zero_threshold', 6, F.TYPE_DOUBLE, optional),
            ('zero_count', 7, F.TYPE_UINT64, optional), ('zero_count_float', 8, F.TYPE_DOUBLE, optional),
            ('negative_span', 9, msg, repeated, span), ('negative_delta', 10, F.TYPE_SINT64, repeated),
            ('negative_count', 11, F.TYPE_DOUBLE, repeated), ('positive_span', 12, msg, repeated, span),
            ('positive_delta', 13, F.TYPE_SINT64, repeated), ('positive_count', 14, F.TYPE_DOUBLE, repeated),
            ('exemplars', 16, msg, repeated, '.io.prometheus.client.Exemplar'))
    message('Metric', ('label', 1, msg, repeated, '.io.prometheus.client.LabelPair'),
            ('gauge', 2, msg, optional, '.io.prometheus.client.Gauge'),
            ('counter', 3, msg, optional, '.io.prometheus.client.Counter'),
            ('summary', 4, msg, optional, '.io.prometheus.client.Summary'),
            ('untyped', 5, msg, optional, '.io.prometheus.client.Untyped'),
            ('histogram', 7, msg, optional, '.io.prometheus.client.Histogram'),
            ('timestamp_ms', 6, F.TYPE_INT64, optional))
    family = file.message_type.add(name='MetricFamily')
    family.field.add(name='name', number=1, type=F.TYPE_STRING, label=optional)
    family.field.add(name='help', number=2, type=F.TYPE_STRING, label=optional)
    family.field.add(name='type', number=3, type=F.TYPE_ENUM, label=optional,
                     type_name='.io.prometheus.client.MetricType')
    family.field.add(name='metric', number=4, type=msg, label=repeated, type_name='.io.prometheus.client.Metric')
    family.field.add(name='unit', number=5, type=F.TYPE_STRING, label=optional)

    pool = descriptor_pool.DescriptorPool()
    timestamp_file = descriptor_pb2.FileDescriptorProto()
    timestamp_pb2.DESCRIPTOR.CopyToProto(timestamp_file)
    pool.Add(timestamp_file)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName('io.prometheus.client.MetricFamily'))


@pytest.fixture(scope='module')
def metric_family_class():
    return _schema()


def parse_delimited(message_class, data: bytes):
    """Split the delimited body with a varint reader written here, parse each record."""
    records, pos = [], 0
    while pos < len(data):
        size = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7f) << shift
            shift += 7
            if byte < 0x80:
                break
        record = message_class()
        record.ParseFromString(data[pos:pos + size])
        records.append(record)
        pos += size
    assert pos == len(data)
    return records


def expected_messages(message_class):
    """The messages our goldens must parse into, built through the protobuf API."""
    def family(name, help_text, typ, unit=None):
        record = message_class(name=name, help=help_text, type=typ)
        if unit is not None:
            record.unit = unit
        return record

    def labels(metric, **pairs):
        for name, value in pairs.items():
            metric.label.add(name=name, value=value)

    counter = family('http_requests_total', 'Total HTTP requests.', 0)
    metric = counter.metric.add()
    labels(metric, method='get')
    metric.counter.value = 1027
    metric.counter.created_timestamp.seconds = 1700000000
    metric.counter.created_timestamp.nanos = 500000000

    exemplar_counter = family('c_total', 'h', 0)
    metric = exemplar_counter.metric.add()
    metric.counter.value = 3
    metric.counter.exemplar.label.add(name='t', value='a')
    metric.counter.exemplar.value = 0.5
    metric.counter.exemplar.timestamp.seconds = 1700000000
    metric.counter.exemplar.timestamp.nanos = 250000000

    gauge = family('temp_celsius', 'Temperature', 1)
    metric = gauge.metric.add()
    labels(metric, room='kitchen')
    metric.gauge.value = 21.5
    metric.timestamp_ms = 1700000000250

    untyped = family('u_bytes', 'unk', 3, unit='bytes')
    untyped.metric.add().untyped.value = 3

    summary = family('s', 'sum', 2)
    value = summary.metric.add().summary
    value.sample_count = 2
    value.sample_sum = 1.5
    value.quantile.add(quantile=0.5, value=0.25)
    value.quantile.add(quantile=0.9, value=1.25)
    value.created_timestamp.seconds = 1700000000

    histogram = family('h', 'hist', 4)
    metric = histogram.metric.add()
    labels(metric, l='x')
    value = metric.histogram
    value.sample_count = 4
    value.sample_sum = 5
    value.bucket.add(cumulative_count=1, upper_bound=1)
    bucket = value.bucket.add(cumulative_count=3, upper_bound=2)
    bucket.exemplar.label.add(name='t', value='b')
    bucket.exemplar.value = 1.5
    value.created_timestamp.seconds = 1700000000

    gauge_histogram = family('gh', 'help', 5)
    value = gauge_histogram.metric.add().histogram
    value.sample_count = 5
    value.sample_sum = 7
    value.bucket.add(cumulative_count=4, upper_bound=1)

    info = family('build_info', 'Build info', 1)
    metric = info.metric.add()
    labels(metric, version='1.0')
    metric.gauge.value = 1

    stateset = family('ss', 'states', 1)
    for state, enabled in (('a', 0), ('b', 1)):
        metric = stateset.metric.add()
        labels(metric, ss=state)
        metric.gauge.value = enabled

    native = family('nh', 'native', 4)
    value = native.metric.add().histogram
    value.sample_count = 8
    value.sample_sum = 12.8
    value.schema = 0
    value.zero_threshold = 2 ** -128
    value.zero_count = 1
    value.negative_span.add(offset=1, length=1)
    value.negative_delta.append(1)
    value.positive_span.add(offset=-1, length=5)
    value.positive_delta.extend([1, 0, 0, 1, -1])

    empty = family('e', 'empty', 4)
    value = empty.metric.add().histogram
    value.sample_count = 0
    value.sample_sum = 0
    value.schema = 3
    value.zero_threshold = 0
    value.zero_count = 0
    value.positive_span.add(offset=0, length=0)

    float_native = family('f', 'float', 4)
    value = float_native.metric.add().histogram
    value.sample_sum = 3
    value.sample_count_float = 2.5
    value.schema = 1
    value.zero_threshold = 0
    value.zero_count_float = 0.5
    value.positive_span.add(offset=0, length=2)
    value.positive_count.extend([1, 1])
    exemplar = value.exemplars.add(value=1)
    exemplar.timestamp.seconds = 1700000000

    return [counter, exemplar_counter, gauge, untyped, summary, histogram, gauge_histogram, info, stateset,
            native, empty, float_native]


def test_protobuf_package_parses_every_golden(metric_family_class):
    expected = expected_messages(metric_family_class)
    assert len(expected) == len(GOLDENS)
    for (make, golden), message in zip(GOLDENS, expected):
        ours = encode_metric_families([make()])
        assert ours == golden
        parsed, = parse_delimited(metric_family_class, ours)
        assert parsed == message, make.__name__
        # Same fields, same order, same presence: the package writes the same bytes.
        assert message.SerializeToString() == ours[1:], make.__name__


def test_protobuf_package_parses_a_whole_registry(metric_family_class):
    registry = instrumented_registry()
    body = generate_latest(registry)
    records = parse_delimited(metric_family_class, body)
    assert [(r.name, r.type, len(r.metric)) for r in records] == [
        ('requests_total', 0, 2), ('temp_celsius', 1, 1), ('latency_seconds', 2, 1), ('size_bytes', 4, 2),
        ('build_info', 1, 1), ('state', 1, 3)]
    requests = records[0].metric[1]
    assert [(p.name, p.value) for p in requests.label] == [('code', '500'), ('method', 'post')]
    assert requests.counter.value == 2.5
    assert requests.counter.exemplar.label[0].value == 'abc'
    assert requests.counter.HasField('created_timestamp')
    size = records[3].metric[1].histogram  # /b: 1e7 lands in +Inf only
    assert [(b.upper_bound, b.cumulative_count) for b in size.bucket] == [(1, 0), (10, 0), (100.5, 0), (1e6, 0)]
    assert (size.sample_count, size.sample_sum) == (1, 1e7)
    assert records[3].metric[0].histogram.bucket[1].exemplar.label[0].value == 'def'
    # Field-for-field agreement with our own decoder, family by family.
    ours = decode_metric_families(body)
    for record, family in zip(records, ours):
        reserialized = record.SerializeToString()
        assert decode_metric_families(protobuf._varint(len(reserialized)) + reserialized) == [family]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(-4, 8), st.floats(0, 1e-3), st.integers(0, 5),
                          st.lists(st.tuples(st.integers(-20, 20), st.integers(0, 4)), max_size=3),
                          st.lists(st.integers(-5, 5), max_size=12)), min_size=1, max_size=3))
def test_native_histograms_agree_with_protobuf_package(metric_family_class, histograms):
    family = HistogramMetricFamily('n', 'doc', labels=['i'])
    expected = metric_family_class(name='n', help='doc', type=4)
    for index, (schema, threshold, zero_count, spans, deltas) in enumerate(histograms):
        covered = sum(length for _, length in spans)
        deltas = (deltas + [0] * covered)[:covered]
        count = zero_count + sum(max(0, sum(deltas[:i + 1])) for i in range(len(deltas)))
        nh = NativeHistogram(count, 1.5, schema, threshold, zero_count,
                             pos_spans=[BucketSpan(o, l) for o, l in spans] or None, pos_deltas=deltas or None)
        family.add_native_metric([str(index)], nh)
        metric = expected.metric.add()
        metric.label.add(name='i', value=str(index))
        value = metric.histogram
        value.sample_count, value.sample_sum, value.schema = count, 1.5, schema
        value.zero_threshold, value.zero_count = threshold, zero_count
        for offset, length in spans:
            value.positive_span.add(offset=offset, length=length)
        value.positive_delta.extend(deltas)
        if not spans and not threshold > 0 and not zero_count:
            value.positive_span.add(offset=0, length=0)
    parsed, = parse_delimited(metric_family_class, encode_metric_families([family]))
    assert parsed == expected


# ---------------------------------------------------------------------------
# Decoder robustness
# ---------------------------------------------------------------------------

def record(body: bytes) -> bytes:
    return protobuf._varint(len(body)) + body


@pytest.mark.parametrize('data, message', [
    (b'\x05\x0a\x01', 'MetricFamily #0 is truncated: 5 bytes announced, 2 left'),
    (b'\x80', 'truncated varint'),
    (b'\xff' * 11, 'varint longer than 10 bytes'),
    (record(b'\x0b\x00'), 'unsupported wire type 3'),
    (record(b'\x0e\x00'), 'unsupported wire type 6'),
    (record(b'\x00\x00'), 'invalid field number 0'),
    (record(b'\x0a\x05ab'), 'runs past the end'),
    (record(b'\x09\x00\x00'), 'truncated fixed64'),
    (record(b'\x0d\x00'), 'truncated fixed32'),
    (record(b'\x0a\x02\xff\xfe'), 'name: invalid UTF-8'),
    (record(b'\x08\x01'), 'name: expected wire type length-delimited, got varint'),
    (record(b'\x0a\x01g\x18\x09'), 'unknown metric type 9'),
    (record(b'\x18\x01'), 'no name'),
    (record(b'\x0a\x01g\x18\x01\x22\x02\x1a\x00'), 'a GAUGE family holds a metric with value field 3'),
    (record(b'\x0a\x01g\x18\x01\x22\x10\x0a\x06\x0a\x01a\x12\x01b\x0a\x06\x0a\x01a\x12\x01c'),
     "duplicate label name 'a'"),
    (record(b'\x0a\x01h\x18\x04\x22\x08\x3a\x06\x62\x04\x08\x00\x10\x01'), 'spans cover 1 buckets but 0 are given'),
    (record(b'\x0a\x01c\x18\x00\x22\x0a\x1a\x08\x1a\x06\x10\x80\x94\xeb\xdc\x03'),
     'nanos 1000000000 out of range'),
    (record(b'\x0a\x01c\x18\x00\x22\x03\x1a\x01\x09'), 'truncated fixed64'),
    (record(b'\x0a\x01\x31\x18\x01'), None),  # an invalid metric name for the legacy scheme passes in UTF-8 mode
])
def test_malformed_input(data, message):
    if message is None:
        assert decode_metric_families(data)[0].name == '1'
        return
    with pytest.raises(ValueError, match=message):
        decode_metric_families(data)


def test_unknown_fields_are_skipped():
    extra = b'\xf8\x06\x01' + b'\xfa\x06\x02ab' + b'\xf9\x06' + b'\x00' * 8 + b'\xfd\x06' + b'\x00' * 4
    body = GOLDEN_GAUGE[1:] + extra
    assert decode_metric_families(record(body)) == decode_metric_families(GOLDEN_GAUGE)


def test_decoder_accepts_memoryview_and_bytearray():
    assert decode_metric_families(memoryview(GOLDEN_COUNTER)) == decode_metric_families(bytearray(GOLDEN_COUNTER))


def _check_decode(data: bytes) -> None:
    try:
        result = decode_metric_families(data)
    except ValueError:
        return
    assert all(isinstance(family, Metric) for family in result)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data):
    _check_decode(data)


ALL_GOLDEN = b''.join(golden for _, golden in GOLDENS)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(ALL_GOLDEN) - 1), st.integers(0, 255), st.sampled_from('rid')),
                min_size=1, max_size=4), st.integers(0, len(ALL_GOLDEN)))
def test_fuzz_mutated_bodies(edits, cut):
    data = bytearray(ALL_GOLDEN[:max(cut, 1)])
    for position, byte, kind in edits:
        position %= len(data) or 1
        if kind == 'r' and data:
            data[position] = byte
        elif kind == 'i':
            data.insert(position, byte)
        elif data:
            del data[position]
    _check_decode(bytes(data))


def test_decoding_a_huge_claimed_length_is_quick():
    assert pytest.raises(ValueError, decode_metric_families, b'\xff\xff\xff\xff\xff\xff\xff\xff\x7f')


def test_round_trip_of_every_golden():
    decoded = decode_metric_families(ALL_GOLDEN)
    assert encode_metric_families(decoded) == ALL_GOLDEN


def test_doubles_are_little_endian():
    assert protobuf._pack_key_double(0x09, 1027.0) == unhex('09 00 00 00 00 00 0c 90 40')
    assert struct.unpack('<d', unhex(D_12_8))[0] == 12.8
