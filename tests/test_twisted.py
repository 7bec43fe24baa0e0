"""Tests for prometheus_client.twisted (skipped when Twisted is not installed)."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

pytest.importorskip('twisted.web.wsgi')

from twisted.web.wsgi import WSGIResource  # noqa: E402

import prometheus_client.twisted as prometheus_twisted  # noqa: E402
from prometheus_client.metrics_core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import CollectorRegistry  # noqa: E402
from prometheus_client.twisted import MetricsResource  # noqa: E402


class StaticCollector:
    def __init__(self, *families: Any) -> None:
        self._families = families

    def collect(self) -> List[Any]:
        return list(self._families)


def test_public_names() -> None:
    assert prometheus_twisted.__all__ == ['MetricsResource']
    assert MetricsResource.__name__ == '<lambda>'


def test_resource_wraps_the_wsgi_app() -> None:
    registry = CollectorRegistry()
    registry.register(StaticCollector(GaugeMetricFamily('gg', 'G', value=2)))
    resource = MetricsResource(registry=registry)
    assert isinstance(resource, WSGIResource)
    captured: Dict[str, Any] = {}

    def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> None:
        captured['status'] = status

    body = resource._application({'REQUEST_METHOD': 'GET', 'PATH_INFO': '/metrics'}, start_response)
    assert captured['status'] == '200 OK'
    assert body == [b'# HELP gg G\n# TYPE gg gauge\ngg 2.0\n']
