"""Tests for prometheus_client.metrics_core: Metric and the *MetricFamily helpers.

Expected values were observed by running the reference client 0.26.0.
"""
from __future__ import annotations

import copy
import pickle

import pytest

from prometheus_client import metrics_core, validation
from prometheus_client.metrics_core import (
    METRIC_TYPES,
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp


def S(name, labels, value, timestamp=None, exemplar=None, native_histogram=None):
    return Sample(name, labels, value, timestamp, exemplar, native_histogram)


def _message(exc_type, func, *args, **kwargs):
    with pytest.raises(exc_type) as excinfo:
        func(*args, **kwargs)
    return str(excinfo.value)


class TestMetric:
    def test_metric_types(self):
        assert METRIC_TYPES == ('counter', 'gauge', 'summary', 'histogram',
                                'gaugehistogram', 'unknown', 'info', 'stateset')

    def test_attributes(self):
        m = Metric('h', 'x', 'gauge')
        assert vars(m) == {'name': 'h', 'documentation': 'x', 'unit': '', 'type': 'gauge', 'samples': []}

    @pytest.mark.parametrize("name, unit, expected", [
        ('a', 'bytes', 'a_bytes'),
        ('a_bytes', 'bytes', 'a_bytes'),
        ('a', '', 'a'),
        ('a', None, 'a'),
        ('', 'x', '_x'),
        ('a_total', 'total', 'a_total'),
    ])
    def test_unit_suffix(self, name, unit, expected):
        m = Metric(name, 'h', 'gauge', unit)
        assert m.name == expected
        assert m.unit == unit

    def test_untyped_becomes_unknown(self):
        assert Metric('a', 'h', 'untyped').type == 'unknown'

    @pytest.mark.parametrize("typ", METRIC_TYPES)
    def test_all_types_accepted(self, typ):
        assert Metric('a', 'h', typ).type == typ

    @pytest.mark.parametrize("args, exc, message", [
        (('m', 'h', 'foo'), ValueError, 'Invalid metric type: foo'),
        (('', 'h', 'gauge'), ValueError, 'metric name cannot be empty'),
        (('', 'h', 'foo'), ValueError, 'metric name cannot be empty'),  # name checked first
        ((None, 'h', 'gauge'), ValueError, 'metric name cannot be empty'),
        (('a', 'h', None), TypeError, 'can only concatenate str (not "NoneType") to str'),
        (('a', 'h', 'gauge', 5), TypeError, 'can only concatenate str (not "int") to str'),
    ])
    def test_errors(self, args, exc, message):
        assert _message(exc, Metric, *args) == message

    def test_legacy_name_validation(self, monkeypatch):
        monkeypatch.setattr(validation, '_legacy_validation', True)
        assert _message(ValueError, Metric, 'a-b', 'h', 'gauge') == 'invalid metric name a-b'
        assert _message(ValueError, CounterMetricFamily, 'a-b', 'h') == 'invalid metric name a-b'
        monkeypatch.setattr(validation, '_legacy_validation', False)
        assert Metric('a-b', 'h', 'gauge').name == 'a-b'

    def test_add_sample(self):
        m = Metric('a', 'h', 'histogram')
        nh = NativeHistogram(1, 2.0, 0, 0.001, 0)
        m.add_sample('a_total', {'l': 'v'}, 1, 2.5, Exemplar({}, 1), nh)
        m.add_sample('a', {}, 2)
        assert m.samples == [S('a_total', {'l': 'v'}, 1, 2.5, Exemplar({}, 1), nh), S('a', {}, 2)]
        assert all(type(s) is Sample for s in m.samples)

    def test_repr(self):
        m = Metric('a', 'h', 'counter')
        m.add_sample('a_total', {}, 1)
        expected = ("Metric(a, h, counter, , [Sample(name='a_total', labels={}, value=1, "
                    "timestamp=None, exemplar=None, native_histogram=None)])")
        assert repr(m) == expected
        assert str(m) == expected
        assert repr(Metric('g', 'doc', 'gauge', 'seconds')) == 'Metric(g_seconds, doc, gauge, seconds, [])'

    def test_equality(self):
        assert Metric('c', 'h', 'counter') == CounterMetricFamily('c', 'h')
        assert CounterMetricFamily('c', 'h') == Metric('c', 'h', 'counter')
        assert CounterMetricFamily('c', 'h', 1) != Metric('c', 'h', 'counter')
        assert Metric('c', 'h', 'counter') != Metric('c', 'h2', 'counter')
        assert Metric('c', 'h', 'counter') != Metric('c', 'h', 'gauge')
        assert Metric('c', 'h', 'gauge', 'u') != Metric('c_u', 'h', 'gauge')
        assert not Metric('c', 'h', 'gauge') == 1
        assert Metric('c', 'h', 'gauge').__eq__(1) is False

    def test_unhashable(self):
        with pytest.raises(TypeError):
            hash(Metric('c', 'h', 'gauge'))

    def test_restricted_metric(self):
        m = Metric('m', 'h', 'gauge', 'u')
        m.add_sample('m_u', {}, 1)
        m.add_sample('m_x', {'a': 'b'}, 2)
        restricted = m._restricted_metric(['m_x'])
        assert type(restricted) is Metric
        assert vars(restricted) == {'name': 'm_u', 'documentation': 'h', 'unit': '', 'type': 'gauge',
                                    'samples': [S('m_x', {'a': 'b'}, 2)]}
        assert restricted.samples[0] is m.samples[1]
        assert m._restricted_metric({'m_x': 1}) == restricted
        assert m._restricted_metric(['nope']) is None
        assert Metric('m', 'h', 'gauge')._restricted_metric(['m']) is None

    def test_restricted_metric_of_family_is_plain_metric(self):
        c = CounterMetricFamily('c', 'h', 1, unit='s')
        restricted = c._restricted_metric(['c_s_total'])
        assert type(restricted) is Metric
        assert not hasattr(restricted, '_labelnames')
        assert restricted.unit == ''

    def test_deepcopy_and_pickle(self):
        families = [
            HistogramMetricFamily('h', 'x', [('1', 1), ('+Inf', 2, Exemplar({'a': 'b'}, 1, Timestamp(1, 2)))], 2),
            CounterMetricFamily('c', 'h', 1, created=2, exemplar=Exemplar({'t': 'x'}, 1)),
            StateSetMetricFamily('s', 'h', {'a': True}),
        ]
        for family in families:
            copied = copy.deepcopy(family)
            assert copied == family and copied is not family
            assert copied.samples[0].labels is not family.samples[0].labels
            assert pickle.loads(pickle.dumps(family)) == family


class TestUnknownAndGauge:
    def test_alias(self):
        assert UntypedMetricFamily is UnknownMetricFamily

    @pytest.mark.parametrize("cls, typ", [(UnknownMetricFamily, 'unknown'), (GaugeMetricFamily, 'gauge')])
    def test_inline_value(self, cls, typ):
        m = cls('g', 'h', value=0, unit='b')
        assert m.type == typ
        assert m.samples == [S('g_b', {}, 0)]
        assert m._labelnames == ()

    @pytest.mark.parametrize("cls", [UnknownMetricFamily, GaugeMetricFamily])
    def test_labels(self, cls):
        m = cls('g', 'h', labels=['a', 'b'])
        assert m.samples == []
        m.add_metric(['1', '2'], 3, timestamp=4)
        m.add_metric(['1'], 5)               # zip truncates
        m.add_metric(['1', '2', '3'], 6)
        assert m.samples == [S('g', {'a': '1', 'b': '2'}, 3, 4), S('g', {'a': '1'}, 5),
                             S('g', {'a': '1', 'b': '2'}, 6)]

    @pytest.mark.parametrize("cls", [UnknownMetricFamily, GaugeMetricFamily])
    def test_value_and_labels(self, cls):
        assert _message(ValueError, cls, 'g', 'h', value=1, labels=[]) == (
            'Can only specify at most one of value and labels.')

    def test_no_value(self):
        assert GaugeMetricFamily('g', 'h', value=None, labels=None).samples == []

    def test_labels_any_iterable(self):
        assert GaugeMetricFamily('g', 'h', labels={'x': 1, 'y': 2})._labelnames == ('x', 'y')
        assert GaugeMetricFamily('g', 'h', labels=iter(['a', 'b']))._labelnames == ('a', 'b')

    def test_values_stored_unconverted(self):
        assert GaugeMetricFamily('g', 'h', value='not a number').samples[0].value == 'not a number'


class TestCounter:
    @pytest.mark.parametrize("name, unit, expected", [
        ('c_total', '', 'c'),
        ('c', '', 'c'),
        ('c_total', 'total', 'c_total'),
        ('c_total', 'seconds', 'c_seconds'),
        ('c_seconds_total', 'seconds', 'c_seconds'),
    ])
    def test_total_stripped_before_unit(self, name, unit, expected):
        assert CounterMetricFamily(name, 'h', 1, unit=unit).name == expected

    def test_empty_after_stripping(self):
        assert _message(ValueError, CounterMetricFamily, '_total', 'h') == 'metric name cannot be empty'

    def test_inline(self):
        m = CounterMetricFamily('c', 'h', 1, created=5, exemplar={'a': 'b'})
        assert m.type == 'counter'
        assert m.samples == [S('c_total', {}, 1, None, {'a': 'b'}), S('c_created', {}, 5)]

    def test_inline_without_created(self):
        assert CounterMetricFamily('c', 'h', value=1, created=None).samples == [S('c_total', {}, 1)]

    def test_add_metric(self):
        m = CounterMetricFamily('h', 'x', labels=['a'])
        ex = Exemplar({}, 1)
        m.add_metric(['A'], 1, 2, timestamp=7, exemplar=ex)
        m.add_metric(['B'], 3)
        assert m.samples == [S('h_total', {'a': 'A'}, 1, 7, ex), S('h_created', {'a': 'A'}, 2, 7),
                             S('h_total', {'a': 'B'}, 3)]
        assert m.samples[0].labels is not m.samples[1].labels

    def test_behaviors_example(self):
        m = CounterMetricFamily('fam', 'family', labels=['l'])
        m.add_metric(['a'], 1, created=10.5, timestamp=1.5, exemplar=Exemplar({'k': 'v'}, 2, Timestamp(12, 5)))
        m.add_metric(['b'], 2, timestamp=Timestamp(1700000000, 123456789))
        assert [(s.name, s.labels, s.value, s.timestamp) for s in m.samples] == [
            ('fam_total', {'l': 'a'}, 1, 1.5),
            ('fam_created', {'l': 'a'}, 10.5, 1.5),
            ('fam_total', {'l': 'b'}, 2, Timestamp(1700000000, 123456789)),
        ]

    def test_value_and_labels(self):
        assert _message(ValueError, CounterMetricFamily, 'c', 'h', value=1, labels=['a']) == (
            'Can only specify at most one of value and labels.')


class TestSummary:
    def test_inline(self):
        m = SummaryMetricFamily('sm', 'sum', count_value=2, sum_value=3.5, unit='seconds')
        assert (m.name, m.type, m.unit) == ('sm_seconds', 'summary', 'seconds')
        assert m.samples == [S('sm_seconds_count', {}, 2), S('sm_seconds_sum', {}, 3.5)]

    @pytest.mark.parametrize("kwargs, message", [
        ({'count_value': 1}, 'count_value and sum_value must be provided together.'),
        ({'sum_value': 1, 'labels': ['a']}, 'count_value and sum_value must be provided together.'),
        ({'count_value': 1, 'sum_value': 2, 'labels': ['a']}, 'Can only specify at most one of value and labels.'),
        ({'count_value': 1, 'sum_value': 2, 'labels': []}, 'Can only specify at most one of value and labels.'),
    ])
    def test_errors(self, kwargs, message):
        assert _message(ValueError, SummaryMetricFamily, 'c', 'h', **kwargs) == message

    def test_add_metric(self):
        m = SummaryMetricFamily('h', 'x', labels=['a'])
        m.add_metric(['A'], 1, 2, timestamp=7)
        assert m.samples == [S('h_count', {'a': 'A'}, 1, 7), S('h_sum', {'a': 'A'}, 2, 7)]
        assert m.samples[0].labels is not m.samples[1].labels


class TestHistogram:
    def test_inline(self):
        m = HistogramMetricFamily('h', 'help', buckets=[('1', 1), ('+Inf', 2)], sum_value=3)
        assert m.type == 'histogram'
        assert m.samples == [S('h_bucket', {'le': '1'}, 1), S('h_bucket', {'le': '+Inf'}, 2),
                             S('h_count', {}, 2), S('h_sum', {}, 3)]
        labels = [s.labels for s in m.samples]
        assert len({id(x) for x in labels}) == 4

    def test_no_sum_means_no_count(self):
        ex = Exemplar({'a': 'b'}, 1)
        m = HistogramMetricFamily('h', 'help', buckets=[('1', 1), ('+Inf', 2, ex)], sum_value=None)
        assert m.samples == [S('h_bucket', {'le': '1'}, 1), S('h_bucket', {'le': '+Inf'}, 2, None, ex)]

    def test_negative_first_bucket_means_no_count_or_sum(self):
        m = HistogramMetricFamily('h', 'help', buckets=[('-1', 1), ('+Inf', 2)], sum_value=3)
        assert [s.name for s in m.samples] == ['h_bucket', 'h_bucket']

    @pytest.mark.parametrize("first", ['-0', 0, '0.0', '1e-9'])
    def test_non_negative_first_bucket(self, first):
        m = HistogramMetricFamily('h', 'x', [(first, 1), ('+Inf', 2)], 2)
        assert m.samples[2:] == [S('h_count', {}, 2), S('h_sum', {}, 2)]
        assert m.samples[0].labels == {'le': first}

    def test_nan_first_bucket(self):
        m = HistogramMetricFamily('h', 'x', [('NaN', 1), ('+Inf', 2)], 2)
        assert [s.name for s in m.samples] == ['h_bucket', 'h_bucket']

    def test_unit(self):
        m = HistogramMetricFamily('h', 'x', [('1', 1), ('+Inf', 2)], 2, unit='s')
        assert [s.name for s in m.samples] == ['h_s_bucket', 'h_s_bucket', 'h_s_count', 'h_s_sum']

    def test_add_metric_labels_and_timestamp(self):
        m = HistogramMetricFamily('h', 'x', labels=['a'])
        m.add_metric(['A', 'B'], [('1', 1), ('+Inf', 2)], 3, timestamp=7)
        assert m.samples == [S('h_bucket', {'a': 'A', 'le': '1'}, 1, 7),
                             S('h_bucket', {'a': 'A', 'le': '+Inf'}, 2, 7),
                             S('h_count', {'a': 'A'}, 2, 7), S('h_sum', {'a': 'A'}, 3, 7)]

    def test_le_labelname_is_overridden_in_buckets(self):
        m = HistogramMetricFamily('h', 'x', labels=['le'])
        m.add_metric(['A'], [('1', 1), ('+Inf', 2)], 3)
        assert [s.labels for s in m.samples] == [{'le': '1'}, {'le': '+Inf'}, {'le': 'A'}, {'le': 'A'}]

    def test_bucket_entries(self):
        m = HistogramMetricFamily('h', 'x', labels=['a'])
        m.add_metric(['A'], [('1', 1, None, 5), ('+Inf', 2)], 3)  # 4-tuples: no exemplar
        assert m.samples[0] == S('h_bucket', {'a': 'A', 'le': '1'}, 1)
        msg = _message(ValueError, m.add_metric, ['A'], [('1',), ('+Inf', 2)], 3)
        assert msg == 'not enough values to unpack (expected 2, got 1)'

    @pytest.mark.parametrize("kwargs, message", [
        ({'sum_value': 1}, 'sum value cannot be provided without buckets.'),
        ({'sum_value': 0, 'buckets': None}, 'sum value cannot be provided without buckets.'),
        ({'sum_value': 1, 'labels': ['a']}, 'sum value cannot be provided without buckets.'),
        ({'buckets': [('1', 1)], 'labels': ['a']}, 'Can only specify at most one of buckets and labels.'),
    ])
    def test_errors(self, kwargs, message):
        assert _message(ValueError, HistogramMetricFamily, 'c', 'h', **kwargs) == message

    def test_empty_buckets(self):
        with pytest.raises(KeyError):
            HistogramMetricFamily('h', 'help', buckets={})
        with pytest.raises(IndexError):
            HistogramMetricFamily('h', 'help', buckets=[])
        with pytest.raises(IndexError):
            HistogramMetricFamily('h', 'help', buckets=[], sum_value=3)

    def test_invalid_first_bound(self):
        with pytest.raises(ValueError):
            HistogramMetricFamily('h', 'x', [('a', 1), ('+Inf', 2)], 2)

    def test_add_native_metric(self):
        m = HistogramMetricFamily('nh', 'help', labels=['a'])
        nh = NativeHistogram(24, 100.5, 0, 0.001, 4, (BucketSpan(0, 2), BucketSpan(1, 2)), None, (2, 1, -3, 3))
        m.add_native_metric(['x'], nh, timestamp=5)
        m.add_metric(['x'], [('1', 1), ('+Inf', 24)], 100.5)
        assert m.samples[0] == S('nh', {'a': 'x'}, None, 5, None, nh)
        assert [s.name for s in m.samples] == ['nh', 'nh_bucket', 'nh_bucket', 'nh_count', 'nh_sum']


class TestGaugeHistogram:
    def test_inline(self):
        m = GaugeHistogramMetricFamily('gh', 'help', buckets=[('1.0', 4), ('+Inf', 5)], gsum_value=7)
        assert m.type == 'gaugehistogram'
        assert m.samples == [S('gh_bucket', {'le': '1.0'}, 4), S('gh_bucket', {'le': '+Inf'}, 5),
                             S('gh_gcount', {}, 5), S('gh_gsum', {}, 7)]

    def test_gsum_always_present(self):
        m = GaugeHistogramMetricFamily('h', 'help', buckets=[('1', 1), ('+Inf', 2)])
        assert m.samples[2:] == [S('h_gcount', {}, 2), S('h_gsum', {}, None)]
        m = GaugeHistogramMetricFamily('h', 'x', [('-1', 1), ('+Inf', 2)], 2)
        assert m.samples[2:] == [S('h_gcount', {}, 2), S('h_gsum', {}, 2)]

    def test_gsum_without_buckets_ignored(self):
        assert GaugeHistogramMetricFamily('h', 'help', gsum_value=3).samples == []

    def test_add_metric(self):
        m = GaugeHistogramMetricFamily('h', 'x', labels=['a'])
        m.add_metric(['A'], [('1', 1), ('+Inf', 2)], 3, timestamp=7)
        assert m.samples == [S('h_bucket', {'a': 'A', 'le': '1'}, 1, 7),
                             S('h_bucket', {'a': 'A', 'le': '+Inf'}, 2, 7),
                             S('h_gcount', {'a': 'A'}, 2, 7), S('h_gsum', {'a': 'A'}, 3, 7)]

    def test_errors(self):
        assert _message(ValueError, GaugeHistogramMetricFamily, 'h', 'help', buckets=[('1', 1)], labels=['a']) == (
            'Can only specify at most one of buckets and labels.')
        assert _message(ValueError, GaugeHistogramMetricFamily, 'h', 'x', [('1', 1, Exemplar({}, 1))]) == (
            'too many values to unpack (expected 2)')
        with pytest.raises(KeyError):
            GaugeHistogramMetricFamily('h', 'help', buckets={})
        with pytest.raises(IndexError):
            GaugeHistogramMetricFamily('h', 'help', buckets=[])


class TestInfo:
    def test_inline(self):
        m = InfoMetricFamily('ii', 'info', value={'k': 'v'})
        assert (m.name, m.type) == ('ii', 'info')
        assert m.samples == [S('ii_info', {'k': 'v'}, 1)]
        assert InfoMetricFamily('i', 'h', {}).samples == [S('i_info', {}, 1)]

    def test_add_metric_merges_labels(self):
        m = InfoMetricFamily('h', 'x', labels=['a', 'c'])
        m.add_metric(['A', 'C'], {'a': '1', 'b': '2'}, timestamp=7)
        assert m.samples == [S('h_info', {'a': '1', 'c': 'C', 'b': '2'}, 1, 7)]

    def test_value_dict_not_mutated(self):
        value = {'b': '2'}
        m = InfoMetricFamily('h', 'x', labels=['a'])
        m.add_metric(['A'], value)
        assert value == {'b': '2'}

    def test_errors(self):
        assert _message(ValueError, InfoMetricFamily, 'i', 'h', {'a': 'b'}, labels=['x']) == (
            'Can only specify at most one of value and labels.')
        assert _message(ValueError, InfoMetricFamily, 'i', 'h', value={}, labels=[]) == (
            'Can only specify at most one of value and labels.')
        with pytest.raises(TypeError):
            InfoMetricFamily('i', 'h', unit='x')


class TestStateSet:
    def test_inline_sorted_states(self):
        m = StateSetMetricFamily('s', 'h', {'b': 1, 'a': 0, 'c': ''})
        assert m.type == 'stateset'
        assert m.samples == [S('s', {'s': 'a'}, 0), S('s', {'s': 'b'}, 1), S('s', {'s': 'c'}, 0)]

    def test_behaviors_example(self):
        m = StateSetMetricFamily('ss', 'states', value={'b': True, 'a': False})
        assert m.samples == [S('ss', {'ss': 'a'}, 0), S('ss', {'ss': 'b'}, 1)]

    def test_empty(self):
        assert StateSetMetricFamily('s', 'h', {}).samples == []

    def test_add_metric(self):
        m = StateSetMetricFamily('h', 'x', labels=['a'])
        m.add_metric(['A'], {'y': True, 'x': False}, timestamp=7)
        assert m.samples == [S('h', {'a': 'A', 'h': 'x'}, 0, 7), S('h', {'a': 'A', 'h': 'y'}, 1, 7)]

    def test_zip_truncation_quirks(self):
        m = StateSetMetricFamily('h', 'x', labels=['h'])
        m.add_metric(['A'], {'b': 1}, timestamp=7)
        assert m.samples == [S('h', {'h': 'b'}, 1, 7)]
        m = StateSetMetricFamily('h', 'x', labels=['a', 'b'])
        m.add_metric(['A'], {'b': 1})  # the state lands on label 'b'
        assert m.samples == [S('h', {'a': 'A', 'b': 'b'}, 1)]

    def test_errors(self):
        assert _message(ValueError, StateSetMetricFamily, 's', 'h', {'b': 1}, labels=['x']) == (
            'Can only specify at most one of value and labels.')
        with pytest.raises(TypeError):
            StateSetMetricFamily('s', 'h', unit='x')


@pytest.mark.parametrize("cls", [UnknownMetricFamily, CounterMetricFamily, GaugeMetricFamily,
                                 SummaryMetricFamily, HistogramMetricFamily, GaugeHistogramMetricFamily,
                                 InfoMetricFamily, StateSetMetricFamily])
def test_families_are_metrics_with_labelnames(cls):
    family = cls('f', 'h', labels=('a',))
    assert isinstance(family, Metric)
    assert family._labelnames == ('a',)
    assert family.samples == []


def test_module_exports():
    for name in ('Metric', 'METRIC_TYPES', 'UnknownMetricFamily', 'UntypedMetricFamily',
                 'CounterMetricFamily', 'GaugeMetricFamily', 'SummaryMetricFamily',
                 'HistogramMetricFamily', 'GaugeHistogramMetricFamily', 'InfoMetricFamily',
                 'StateSetMetricFamily', 'Sample', 'Exemplar', 'Timestamp', 'NativeHistogram'):
        assert hasattr(metrics_core, name), name
