"""Tests for prometheus_client.django (skipped when Django is not installed)."""
from __future__ import annotations

import gzip
from typing import Any, List

import pytest

django = pytest.importorskip('django')

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(DEBUG=False, ALLOWED_HOSTS=['*'], USE_TZ=True)
    django.setup()

from django.test import RequestFactory  # noqa: E402

import prometheus_client.django as prometheus_django  # noqa: E402
from prometheus_client.django import PrometheusDjangoView  # noqa: E402
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import REGISTRY, CollectorRegistry  # noqa: E402

REQS_BODY = b'# HELP reqs_total Requests\n# TYPE reqs_total counter\nreqs_total 1.0\n'
GG_BODY = b'# HELP gg G\n# TYPE gg gauge\ngg 2.0\n'
FULL_BODY = REQS_BODY + GG_BODY


class StaticCollector:
    def __init__(self, *families: Any) -> None:
        self._families = families

    def collect(self) -> List[Any]:
        return list(self._families)

    def describe(self) -> List[Any]:
        return list(self._families)


def make_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StaticCollector(CounterMetricFamily('reqs', 'Requests', value=1)))
    registry.register(StaticCollector(GaugeMetricFamily('gg', 'G', value=2)))
    return registry


@pytest.fixture(name='factory')
def fixture_factory() -> RequestFactory:
    return RequestFactory()


def test_public_names() -> None:
    assert prometheus_django.__all__ == ['PrometheusDjangoView']
    assert PrometheusDjangoView.registry is None
    assert isinstance(PrometheusDjangoView.multiprocess_mode, bool)


def test_get(factory: RequestFactory) -> None:
    response = PrometheusDjangoView.as_view(registry=make_registry())(factory.get('/metrics'))
    assert response.status_code == 200
    assert response['Content-Type'] == 'text/plain; version=0.0.4; charset=utf-8'
    assert response.content == FULL_BODY


def test_gzip_and_openmetrics(factory: RequestFactory) -> None:
    request = factory.get('/metrics', HTTP_ACCEPT='application/openmetrics-text; version=1.0.0',
                          HTTP_ACCEPT_ENCODING='gzip')
    response = PrometheusDjangoView.as_view(registry=make_registry())(request)
    assert response['Content-Encoding'] == 'gzip'
    assert gzip.decompress(response.content).endswith(b'# EOF\n')


def test_head(factory: RequestFactory) -> None:
    response = PrometheusDjangoView.as_view(registry=make_registry())(factory.head('/metrics'))
    assert response.status_code == 200


def test_options(factory: RequestFactory) -> None:
    response = PrometheusDjangoView.as_view(registry=make_registry())(factory.options('/metrics'))
    assert response.status_code == 200
    assert response['Allow'] == 'OPTIONS,GET'


def test_post_is_405(factory: RequestFactory) -> None:
    response = PrometheusDjangoView.as_view(registry=make_registry())(factory.post('/metrics'))
    assert response.status_code == 405


def test_default_registry_is_global(factory: RequestFactory) -> None:
    view = PrometheusDjangoView(multiprocess_mode=False)
    view.setup(factory.get('/metrics'))
    view.get(factory.get('/metrics'))
    assert view.registry is REGISTRY
