"""Golden-byte tests of the Prometheus text encoder (behaviors.md 2, 6, 7, 10).

Registries are fake collectors yielding the very Metric objects the metric
classes (or the registry) would yield, so these tests depend only on the
data model. Expected bytes are copied from behaviors.md (produced by the
classic client); the classic differential test covers the rest.
"""
from __future__ import annotations

import inspect
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prometheus_client._labelset import LabelSet
from prometheus_client.encoders import text
from prometheus_client.encoders._escaping import memo_key
from prometheus_client.encoders.text import generate_latest
from prometheus_client.metrics_core import (
    GaugeHistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.registry import REGISTRY
from prometheus_client.utils import floatToGoString
from prometheus_client.samples import (
    BucketSpan,
    Exemplar,
    NativeHistogram,
    Sample,
    Timestamp,
)


class Families:
    """A collector yielding fixed families."""

    def __init__(self, *metrics: Metric) -> None:
        self.metrics = metrics

    def collect(self):
        return list(self.metrics)


def family(name, documentation, typ, samples, unit=''):
    metric = Metric(name, documentation, typ, unit)
    for sample in samples:
        metric.samples.append(Sample(*sample))
    return metric


def one_of_each_kind() -> Families:
    """What Counter/Gauge/Summary/Histogram/Info/Enum yield in behaviors.md 2."""
    get = LabelSet(code='200', method='get')
    post = LabelSet(method='post', code='500')
    return Families(
        family('requests', 'Total requests', 'counter', [
            ('requests_total', get, 1.0), ('requests_created', get, 123.456),
            ('requests_total', post, 2.5), ('requests_created', post, 123.456)]),
        family('temp_celsius', 'Temperature', 'gauge', [('temp_celsius', LabelSet(), 21.5)]),
        family('latency_seconds', 'Latency', 'summary', [
            ('latency_seconds_count', {}, 2.0), ('latency_seconds_sum', {}, 1.25),
            ('latency_seconds_created', {}, 123.456)]),
        family('size_bytes', 'Sizes', 'histogram', [
            ('size_bytes_bucket', LabelSet(le='1.0'), 0.0),
            ('size_bytes_bucket', LabelSet(le='10.0'), 1.0),
            ('size_bytes_bucket', LabelSet(le='100.5'), 1.0),
            ('size_bytes_bucket', LabelSet(le='1e+06'), 1.0),
            ('size_bytes_bucket', LabelSet(le='+Inf'), 2.0),
            ('size_bytes_count', {}, 2.0), ('size_bytes_sum', {}, 10000005.0),
            ('size_bytes_created', {}, 123.456)]),
        family('build', 'Build info', 'info', [
            ('build_info', {'version': '1.0', 'commit': 'abc'}, 1.0)]),
        family('state', 'State', 'stateset', [
            ('state', {'state': 'a'}, 0.0), ('state', {'state': 'b'}, 1.0),
            ('state', {'state': 'c'}, 0.0)]),
    )


ONE_OF_EACH_KIND = b'''\
# HELP requests_total Total requests
# TYPE requests_total counter
requests_total{code="200",method="get"} 1.0
requests_total{code="500",method="post"} 2.5
# HELP requests_created Total requests
# TYPE requests_created gauge
requests_created{code="200",method="get"} 123.456
requests_created{code="500",method="post"} 123.456
# HELP temp_celsius Temperature
# TYPE temp_celsius gauge
temp_celsius 21.5
# HELP latency_seconds Latency
# TYPE latency_seconds summary
latency_seconds_count 2.0
latency_seconds_sum 1.25
# HELP latency_seconds_created Latency
# TYPE latency_seconds_created gauge
latency_seconds_created 123.456
# HELP size_bytes Sizes
# TYPE size_bytes histogram
size_bytes_bucket{le="1.0"} 0.0
size_bytes_bucket{le="10.0"} 1.0
size_bytes_bucket{le="100.5"} 1.0
size_bytes_bucket{le="1e+06"} 1.0
size_bytes_bucket{le="+Inf"} 2.0
size_bytes_count 2.0
size_bytes_sum 1.0000005e+07
# HELP size_bytes_created Sizes
# TYPE size_bytes_created gauge
size_bytes_created 123.456
# HELP build_info Build info
# TYPE build_info gauge
build_info{commit="abc",version="1.0"} 1.0
# HELP state State
# TYPE state gauge
state{state="a"} 0.0
state{state="b"} 1.0
state{state="c"} 0.0
'''


def test_one_metric_of_each_kind():
    assert generate_latest(one_of_each_kind()) == ONE_OF_EACH_KIND


def test_rendering_again_uses_the_memo_and_gives_the_same_bytes():
    registry = one_of_each_kind()
    assert generate_latest(registry) == generate_latest(registry) == ONE_OF_EACH_KIND
    get_labels = registry.metrics[0].samples[0].labels
    assert get_labels.rendered[memo_key('underscores')] == '{code="200",method="get"}'


def test_custom_families():
    registry = Families(
        GaugeHistogramMetricFamily('gh', 'help', buckets=[('1.0', 4), ('+Inf', 5)], gsum_value=7),
        UnknownMetricFamily('u', 'unk', value=3, unit='bytes'),
        StateSetMetricFamily('ss', 'states', value={'b': True, 'a': False}),
        InfoMetricFamily('ii', 'info', value={'k': 'v'}),
        SummaryMetricFamily('sm', 'sum', count_value=2, sum_value=3.5, unit='seconds'),
    )
    assert generate_latest(registry) == b'''\
# HELP gh help
# TYPE gh histogram
gh_bucket{le="1.0"} 4.0
gh_bucket{le="+Inf"} 5.0
# HELP gh_gcount help
# TYPE gh_gcount gauge
gh_gcount 5.0
# HELP gh_gsum help
# TYPE gh_gsum gauge
gh_gsum 7.0
# HELP u_bytes unk
# TYPE u_bytes untyped
u_bytes 3.0
# HELP ss states
# TYPE ss gauge
ss{ss="a"} 0.0
ss{ss="b"} 1.0
# HELP ii_info info
# TYPE ii_info gauge
ii_info{k="v"} 1.0
# HELP sm_seconds sum
# TYPE sm_seconds summary
sm_seconds_count 2.0
sm_seconds_sum 3.5
'''


def test_negative_first_bucket_and_labelled_histogram():
    b, a = LabelSet(path='/b'), LabelSet(path='/a')
    registry = Families(
        family('neg', 'negative buckets', 'histogram', [
            ('neg_bucket', {'le': '-1.0'}, 0.0), ('neg_bucket', {'le': '0.0'}, 1.0),
            ('neg_bucket', {'le': '1.0'}, 1.0), ('neg_bucket', {'le': '+Inf'}, 1.0),
            ('neg_count', {}, 1.0), ('neg_created', {}, 123.456)]),
        family('hl', 'labelled', 'histogram', [
            ('hl_bucket', LabelSet(path='/b', le='1.0'), 0.0),
            ('hl_bucket', LabelSet(path='/b', le='+Inf'), 1.0),
            ('hl_count', b, 1.0), ('hl_sum', b, 2.0), ('hl_created', b, 123.456),
            ('hl_bucket', LabelSet(path='/a', le='1.0'), 1.0),
            ('hl_bucket', LabelSet(path='/a', le='+Inf'), 1.0),
            ('hl_count', a, 1.0), ('hl_sum', a, 0.5), ('hl_created', a, 123.456)]),
    )
    assert generate_latest(registry) == b'''\
# HELP neg negative buckets
# TYPE neg histogram
neg_bucket{le="-1.0"} 0.0
neg_bucket{le="0.0"} 1.0
neg_bucket{le="1.0"} 1.0
neg_bucket{le="+Inf"} 1.0
neg_count 1.0
# HELP neg_created negative buckets
# TYPE neg_created gauge
neg_created 123.456
# HELP hl labelled
# TYPE hl histogram
hl_bucket{le="1.0",path="/b"} 0.0
hl_bucket{le="+Inf",path="/b"} 1.0
hl_count{path="/b"} 1.0
hl_sum{path="/b"} 2.0
hl_bucket{le="1.0",path="/a"} 1.0
hl_bucket{le="+Inf",path="/a"} 1.0
hl_count{path="/a"} 1.0
hl_sum{path="/a"} 0.5
# HELP hl_created labelled
# TYPE hl_created gauge
hl_created{path="/b"} 123.456
hl_created{path="/a"} 123.456
'''


def test_family_without_samples_is_header_only():
    registry = Families(family('lab', 'help', 'counter', []))
    assert generate_latest(registry) == b'# HELP lab_total help\n# TYPE lab_total counter\n'


def test_header_only_family_followed_by_hoisted_created_block():
    """What a restricted registry asked only for rc_created yields (behaviors.md 10.4)."""
    registry = Families(family('rc', 'h', 'counter', [('rc_created', {'l': 'x'}, 123.456)]))
    assert generate_latest(registry) == b'''\
# HELP rc_total h
# TYPE rc_total counter
# HELP rc_created h
# TYPE rc_created gauge
rc_created{l="x"} 123.456
'''


def test_target_info_family():
    registry = Families(
        family('target', 'Target metadata', 'info', [('target_info', {'env': 'prod', 'region': 'eu'}, 1)]),
        family('g', 'h', 'gauge', [('g', {}, 1.0)]),
    )
    assert generate_latest(registry) == b'''\
# HELP target_info Target metadata
# TYPE target_info gauge
target_info{env="prod",region="eu"} 1.0
# HELP g h
# TYPE g gauge
g 1.0
'''


def test_empty_registry_is_empty_bytes():
    assert generate_latest(Families()) == b''


def test_default_registry_is_the_global_registry():
    assert inspect.signature(generate_latest).parameters['registry'].default is REGISTRY
    assert inspect.signature(generate_latest).parameters['escaping'].default == 'underscores'


def test_duplicate_families_are_both_rendered():
    gauge = family('d', 'h', 'gauge', [('d', {}, 1)])
    assert generate_latest(Families(gauge, gauge)) == b'# HELP d h\n# TYPE d gauge\nd 1.0\n' * 2


def test_help_escaping_and_label_value_escaping():
    registry = Families(family('esc', 'He said "hi"\nback\\slash\ttab', 'gauge', [
        ('esc', LabelSet(a='q"uote\nnl\\bs\ttab'), 1.0)]))
    assert generate_latest(registry) == (
        b'# HELP esc He said "hi"\\nback\\\\slash\ttab\n'
        b'# TYPE esc gauge\n'
        b'esc{a="q\\"uote\\nnl\\\\bs\ttab"} 1.0\n')


def test_unicode_is_utf8():
    registry = Families(family('cc', '\u4500', 'gauge', [('cc', {'l': '\u4500'}, 1)]))
    assert generate_latest(registry) == (
        b'# HELP cc \xe4\x94\x80\n# TYPE cc gauge\ncc{l="\xe4\x94\x80"} 1.0\n')


def dotted_registry() -> Families:
    labels = LabelSet({'http.method': 'GET', 'ok': 'x'})
    return Families(
        family('my.app:req', 'dotted counter', 'counter', [
            ('my.app:req_total', labels, 1.0), ('my.app:req_created', labels, 123.456)]),
        family('a:b', 'colon gauge', 'gauge', [('a:b', {}, 3.0)]),
    )


DOTTED_TEXT = {
    'underscores': b'''\
# HELP my_app:req_total dotted counter
# TYPE my_app:req_total counter
my_app:req_total{http_method="GET",ok="x"} 1.0
# HELP my_app:req_created dotted counter
# TYPE my_app:req_created gauge
my_app:req_created{http_method="GET",ok="x"} 123.456
# HELP a:b colon gauge
# TYPE a:b gauge
a:b 3.0
''',
    'allow-utf-8': b'''\
# HELP "my.app:req_total" dotted counter
# TYPE "my.app:req_total" counter
{"my.app:req_total","http.method"="GET",ok="x"} 1.0
# HELP "my.app:req_created" dotted counter
# TYPE "my.app:req_created" gauge
{"my.app:req_created","http.method"="GET",ok="x"} 123.456
# HELP a:b colon gauge
# TYPE a:b gauge
a:b 3.0
''',
    'dots': b'''\
# HELP my_dot_app:req__total dotted counter
# TYPE my_dot_app:req__total counter
my_dot_app:req__total{http_dot_method="GET",ok="x"} 1.0
# HELP my_dot_app:req__created dotted counter
# TYPE my_dot_app:req__created gauge
my_dot_app:req__created{http_dot_method="GET",ok="x"} 123.456
# HELP a:b colon gauge
# TYPE a:b gauge
a:b 3.0
''',
    'values': b'''\
# HELP U__my_2e_app:req__total dotted counter
# TYPE U__my_2e_app:req__total counter
U__my_2e_app:req__total{U__http_2e_method="GET",ok="x"} 1.0
# HELP U__my_2e_app:req__created dotted counter
# TYPE U__my_2e_app:req__created gauge
U__my_2e_app:req__created{U__http_2e_method="GET",ok="x"} 123.456
# HELP a:b colon gauge
# TYPE a:b gauge
a:b 3.0
''',
}


@pytest.mark.parametrize('escaping', sorted(DOTTED_TEXT))
def test_names_under_each_escaping(escaping):
    assert generate_latest(dotted_registry(), escaping) == DOTTED_TEXT[escaping]


def test_one_labelset_rendered_under_every_escaping():
    """The memo is per escaping: a shared LabelSet never leaks across schemes."""
    registry = dotted_registry()
    for _ in range(2):
        for escaping in ('values', 'underscores', 'dots', 'allow-utf-8'):
            assert generate_latest(registry, escaping) == DOTTED_TEXT[escaping]


@pytest.mark.parametrize('escaping, expected', [
    ('dots', b'# HELP simple__name h\n# TYPE simple__name gauge\nsimple__name{my__label="v"} 1.0\n'),
    ('values', b'# HELP simple_name h\n# TYPE simple_name gauge\nsimple_name{my_label="v"} 1.0\n'),
    ('bogus', b'# HELP simple_name h\n# TYPE simple_name gauge\nsimple_name{my_label="v"} 1.0\n'),
])
def test_plain_names(escaping, expected):
    registry = Families(family('simple_name', 'h', 'gauge', [('simple_name', LabelSet(my_label='v'), 1.0)]))
    assert generate_latest(registry, escaping) == expected


def test_dotted_counter_under_dots():
    registry = Families(family('dotted.counter', 'h', 'counter', [('dotted.counter_total', {}, 1.0)]))
    assert b'\ndotted_dot_counter__total 1.0\n' in generate_latest(registry, 'dots')


def test_quirky_utf8_names():
    """Empty sample names, and a legacy-valid name with a trailing newline."""
    registry = Families(
        family('g', 'h', 'gauge', [('', {'a': 'b'}, 1), ('', {}, 2)]),
        family('abc\n', 'h', 'gauge', [('abc\n', {}, 1), ('abc\n_created', {}, 3)]),
    )
    assert generate_latest(registry, 'allow-utf-8') == b'''\
# HELP g h
# TYPE g gauge
{,a="b"} 1.0
{} 2.0
# HELP abc\\n h
# TYPE abc\\n gauge
abc\\n 1.0
# HELP "abc\\n_created" h
# TYPE "abc\\n_created" gauge
{"abc\\n_created"} 3.0
'''


def test_timestamps_and_exemplars():
    exemplar_labels = LabelSet(trace_id='abc', span='x"y')
    registry = Families(
        family('ex', 'ex counter', 'counter', [
            ('ex_total', {}, 2.0, None, Exemplar(exemplar_labels, 2.0, 1700000000.25)),
            ('ex_created', {}, 1700000000.25)]),
        family('fam', 'family', 'counter', [
            ('fam_total', {'l': 'a'}, 1, 1.5, Exemplar({'k': 'v'}, 2, Timestamp(12, 5))),
            ('fam_created', {'l': 'a'}, 10.5, 1.5),
            ('fam_total', {'l': 'b'}, 2, Timestamp(1700000000, 123456789))]),
        family('gt', 'gauge ts', 'gauge', [
            ('gt', {'x': '1'}, 3, 1700000000), ('gt', {'x': '2'}, 4, 1700000000.1239),
            ('gt', {'x': '3'}, 5, -123.456), ('gt', {'x': '4'}, 6, Timestamp(123, 456))]),
    )
    assert generate_latest(registry) == b'''\
# HELP ex_total ex counter
# TYPE ex_total counter
ex_total 2.0
# HELP ex_created ex counter
# TYPE ex_created gauge
ex_created 1.70000000025e+09
# HELP fam_total family
# TYPE fam_total counter
fam_total{l="a"} 1.0 1500
fam_total{l="b"} 2.0 1700000000123
# HELP fam_created family
# TYPE fam_created gauge
fam_created{l="a"} 10.5 1500
# HELP gt gauge ts
# TYPE gt gauge
gt{x="1"} 3.0 1700000000000
gt{x="2"} 4.0 1700000000123
gt{x="3"} 5.0 -123456
gt{x="4"} 6.0 123000
'''


def test_native_histogram_sample_renders_its_value():
    native = NativeHistogram(24, 100.5, 0, 0.001, 4, (BucketSpan(0, 2),), None, (2, 1))
    registry = Families(family('nh', 'h', 'histogram', [('nh', {}, 0.0, None, None, native)]))
    assert generate_latest(registry) == b'# HELP nh h\n# TYPE nh histogram\nnh 0.0\n'


def test_value_formats():
    values = [0, -0.0, True, 17, 1e-05, 999999.0, 1e6, 1234567.8, 1e16, -1e10,
              float('inf'), float('-inf'), float('nan'), '2.5', ' 3 ', 2 ** 63]
    samples = [('v', {'i': str(index)}, value) for index, value in enumerate(values)]
    output = generate_latest(Families(family('v', 'h', 'gauge', samples))).decode()
    rendered = [line.split(' ')[1] for line in output.splitlines()[2:]]
    assert rendered == ['0.0', '-0.0', '1.0', '17.0', '1e-05', '999999.0', '1e+06',
                        '1.2345678e+06', '1e+16', '-10000000000.0', '+Inf', '-Inf', 'NaN',
                        '2.5', '3.0', '9.223372036854776e+18']


def test_large_value_memo_follows_value_changes():
    labels = LabelSet(l='x')
    for value, expected in ((1234567.0, '1.234567e+06'), (2345678.0, '2.345678e+06'),
                            (2345678.0, '2.345678e+06'), (5.0, '5.0'), (1e7, '1e+07')):
        registry = Families(family('g', 'h', 'gauge', [('g', labels, value)]))
        assert generate_latest(registry) == f'# HELP g h\n# TYPE g gauge\ng{{l="x"}} {expected}\n'.encode()


def test_large_values_of_samples_sharing_a_labelset():
    labels = LabelSet(l='x')
    registry = Families(family('h', 'h', 'histogram', [
        ('h_sum', labels, 3e6), ('h_created', labels, 1.5e9), ('h_count', labels, 2e6)]))
    expected = (b'# HELP h h\n# TYPE h histogram\nh_sum{l="x"} 3e+06\nh_count{l="x"} 2e+06\n'
                b'# HELP h_created h\n# TYPE h_created gauge\nh_created{l="x"} 1.5e+09\n')
    assert generate_latest(registry) == expected
    assert generate_latest(registry) == expected


def test_plain_dict_and_labelset_render_alike():
    plain = Families(family('g', 'h', 'gauge', [('g', {'b': '2', 'a': '1'}, 1)]))
    memo = Families(family('g', 'h', 'gauge', [('g', LabelSet(b='2', a='1'), 1)]))
    assert generate_latest(plain) == generate_latest(memo) == (
        b'# HELP g h\n# TYPE g gauge\ng{a="1",b="2"} 1.0\n')


def test_error_while_rendering_gets_the_metric_appended():
    bad = family('bad', 'h', 'gauge', [('bad', {}, None)])
    with pytest.raises(TypeError) as caught:
        generate_latest(Families(family('ok', 'h', 'gauge', [('ok', {}, 1)]), bad))
    with pytest.raises(TypeError) as float_of_none:  # the wording varies across Pythons
        float(None)
    assert caught.value.args == (str(float_of_none.value), bad)


def test_non_string_label_value_fails_like_the_reference():
    bad = family('bad', 'h', 'gauge', [('bad', {'a': 1}, 1)])
    with pytest.raises(AttributeError) as caught:
        generate_latest(Families(bad))
    assert caught.value.args == ("'int' object has no attribute 'replace'", bad)


def test_value_with_float_method():
    class Number:
        def __float__(self):
            return 2.5

    registry = Families(family('g', 'h', 'gauge', [('g', {}, Number())]))
    assert generate_latest(registry).endswith(b'\ng 2.5\n')


def test_content_type_constants():
    assert text.CONTENT_TYPE_PLAIN_0_0_4 == 'text/plain; version=0.0.4; charset=utf-8'
    assert text.CONTENT_TYPE_PLAIN_1_0_0 == 'text/plain; version=1.0.0; charset=utf-8'
    assert text.CONTENT_TYPE_LATEST is text.CONTENT_TYPE_PLAIN_1_0_0


@given(value=st.floats(allow_nan=False).filter(lambda value: not -1e6 < value < 1e6))
def test_large_value_text_round_trips(value):
    """The large-value memo relies on Go-style text parsing back exactly."""
    assert float(floatToGoString(value)) == value


def test_large_value_memo_with_nan_and_infinity():
    labels = LabelSet()
    for value, expected in ((float('nan'), 'NaN'), (float('inf'), '+Inf'), (float('nan'), 'NaN'),
                            (float('-inf'), '-Inf'), (-2e6, '-2000000.0')):
        registry = Families(family('g', 'h', 'gauge', [('g', labels, value)]))
        assert generate_latest(registry) == f'# HELP g h\n# TYPE g gauge\ng {expected}\n'.encode()


def test_large_value_memo_stays_small():
    labels = LabelSet(l='x')
    for step in range(200):
        registry = Families(family('h', 'h', 'histogram', [
            ('h_sum', labels, 2e6 + step), ('h_created', labels, 1.5e9), ('h_count', labels, float('nan'))]))
        generate_latest(registry)
        generate_latest(registry, 'values')
    # two label texts + (slot, text) for each of the three sample names
    assert len(labels.rendered) <= 8


def test_concurrent_renderers_sharing_a_labelset_stay_correct():
    """Each thread renders its own large values through one shared LabelSet."""
    labels = LabelSet(l='x')
    failures = []

    def scrape(thread_index):
        for step in range(300):
            value = 1e6 * (thread_index + 2) + step
            registry = Families(family('g', 'h', 'gauge', [('g', labels, value)]))
            expected = f'# HELP g h\n# TYPE g gauge\ng{{l="x"}} {floatToGoString(value)}\n'.encode()
            if generate_latest(registry) != expected:
                failures.append((thread_index, step))

    threads = [threading.Thread(target=scrape, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
