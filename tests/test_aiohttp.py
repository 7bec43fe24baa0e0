"""Tests for prometheus_client.aiohttp (skipped when aiohttp is not installed)."""
from __future__ import annotations

import asyncio
import gzip
from typing import Any, Dict, List, Optional, Tuple

import pytest

pytest.importorskip('aiohttp')

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

import prometheus_client.aiohttp as prometheus_aiohttp  # noqa: E402
from prometheus_client.aiohttp import make_aiohttp_handler  # noqa: E402
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import CollectorRegistry  # noqa: E402

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


def request(handler: Any, method: str = 'GET', path: str = '/metrics',
            headers: Optional[Dict[str, str]] = None) -> Tuple[int, Any, bytes]:
    async def main() -> Tuple[int, Any, bytes]:
        app = web.Application()
        app.router.add_route('*', '/metrics', handler)
        async with TestClient(TestServer(app), auto_decompress=False) as client:
            response = await client.request(method, path, headers=headers or {})
            return response.status, response.headers, await response.read()

    return asyncio.run(main())


def test_public_names() -> None:
    assert prometheus_aiohttp.__all__ == ['make_aiohttp_handler']


def test_default_scrape() -> None:
    status, headers, body = request(make_aiohttp_handler(make_registry()), headers={'Accept-Encoding': 'identity'})
    assert status == 200
    assert headers['Content-Type'] == 'text/plain; version=0.0.4; charset=utf-8'
    assert body == FULL_BODY


def test_name_filter() -> None:
    assert request(make_aiohttp_handler(make_registry()), path='/metrics?name[]=gg',
                   headers={'Accept-Encoding': 'identity'})[2] == GG_BODY


def test_openmetrics_accept() -> None:
    status, headers, body = request(
        make_aiohttp_handler(make_registry()),
        headers={'Accept': 'application/openmetrics-text; version=1.0.0', 'Accept-Encoding': 'identity'})
    assert headers['Content-Type'] == \
        'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'
    assert body.endswith(b'# EOF\n')


def test_aiohttp_does_the_compression() -> None:
    status, headers, body = request(make_aiohttp_handler(make_registry()), headers={'Accept-Encoding': 'gzip'})
    assert headers['Content-Encoding'] == 'gzip'
    assert gzip.decompress(body) == FULL_BODY


def test_disable_compression() -> None:
    _, headers, body = request(make_aiohttp_handler(make_registry(), disable_compression=True),
                               headers={'Accept-Encoding': 'gzip'})
    assert 'Content-Encoding' not in headers
    assert body == FULL_BODY


def test_any_method_the_route_allows() -> None:
    assert request(make_aiohttp_handler(make_registry()), method='POST',
                   headers={'Accept-Encoding': 'identity'})[2] == FULL_BODY
