"""The shared HTTP render path (api.md 9 ``_bake_output``; behaviors.md 12).

The registry here is a fake with ``collect()`` and ``restricted_registry()``
so the tests depend only on the data model and the encoders.
"""
from __future__ import annotations

import gzip

import pytest

from prometheus_client.metrics_core import Metric
from prometheus_client.render import render
from prometheus_client.samples import Sample


def gauge(name: str, value: float) -> Metric:
    metric = Metric(name, 'G', 'gauge')
    metric.samples.append(Sample(name, {}, value))
    return metric


class FakeRegistry:
    """Collects fixed families; restricted views filter by sample name."""

    def __init__(self, *metrics: Metric) -> None:
        self.metrics = metrics
        self.restrictions: list = []

    def collect(self):
        return list(self.metrics)

    def restricted_registry(self, names):
        self.restrictions.append(names)
        wanted = set(names)
        return FakeRegistry(*[metric for metric in self.metrics
                              if any(sample.name in wanted for sample in metric.samples)])


REGISTRY_BODY = b'# HELP gg G\n# TYPE gg gauge\ngg 2.0\n# HELP hh G\n# TYPE hh gauge\nhh 3.0\n'


def registry() -> FakeRegistry:
    return FakeRegistry(gauge('gg', 2), gauge('hh', 3))


def test_default_is_text_0_0_4_uncompressed():
    assert render(registry(), None, None, {}) == (
        '200 OK', [('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')], REGISTRY_BODY)


def test_openmetrics_with_gzip():
    status, headers, body = render(registry(), 'application/openmetrics-text; version=1.0.0', 'gzip', {})
    assert status == '200 OK'
    assert headers == [
        ('Content-Type', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'),
        ('Content-Encoding', 'gzip'),
    ]
    assert gzip.decompress(body) == REGISTRY_BODY + b'# EOF\n'


def test_disable_compression():
    status, headers, body = render(registry(), None, 'gzip', {}, disable_compression=True)
    assert headers == [('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')]
    assert body == REGISTRY_BODY


def test_positional_disable_compression_like_bake_output():
    _, headers, body = render(registry(), '*/*', 'deflate, GZip;q=0.5', {}, False)
    assert headers[-1] == ('Content-Encoding', 'gzip')
    assert gzip.decompress(body) == REGISTRY_BODY


def test_name_restriction_from_parse_qs():
    source = registry()
    status, headers, body = render(source, None, None, {'name[]': ['gg', 'missing']})
    assert source.restrictions == [['gg', 'missing']]
    assert body == b'# HELP gg G\n# TYPE gg gauge\ngg 2.0\n'


def test_name_restriction_with_a_single_string_like_django():
    """Django's QueryDict gives the last value: its characters become the names."""
    source = FakeRegistry(gauge('g', 1), gauge('gg', 2))
    _, _, body = render(source, None, None, {'name[]': 'gg'})
    assert source.restrictions == ['gg']
    assert body == b'# HELP g G\n# TYPE g gauge\ng 1.0\n'


def test_other_query_parameters_are_ignored():
    source = registry()
    assert render(source, None, None, {'name': ['gg'], 'x': ['1']})[2] == REGISTRY_BODY
    assert source.restrictions == []


def test_text_1_0_0_with_escaping():
    source = FakeRegistry(gauge('a.b', 1))
    _, headers, body = render(source, 'text/plain; version=1.0.0; escaping=allow-utf-8', None, {})
    assert headers == [('Content-Type', 'text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8')]
    assert body == b'# HELP "a.b" G\n# TYPE "a.b" gauge\n{"a.b"} 1.0\n'


def test_bad_version_propagates_type_error():
    with pytest.raises(TypeError):
        render(registry(), 'application/openmetrics-text; version=abc', None, {})


def test_encoding_errors_propagate():
    broken = Metric('b', 'h', 'gauge')
    broken.samples.append(Sample('b', {}, None))
    with pytest.raises(TypeError):
        render(FakeRegistry(broken), None, None, {})
