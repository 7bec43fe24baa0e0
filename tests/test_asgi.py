"""Tests for prometheus_client.asgi: the ASGI app driven by hand-written
receive/send coroutines on a plain asyncio loop (no ASGI server needed)."""
from __future__ import annotations

import asyncio
import gzip
import threading
from typing import Any, Dict, List, Optional

import pytest

from prometheus_client.asgi import make_asgi_app
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry

REQS_BODY = b'# HELP reqs_total Requests\n# TYPE reqs_total counter\nreqs_total 1.0\n'
GG_BODY = b'# HELP gg G\n# TYPE gg gauge\ngg 2.0\n'
FULL_BODY = REQS_BODY + GG_BODY
TEXT_0_0_4 = b'text/plain; version=0.0.4; charset=utf-8'
OM_1_0_0 = b'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'


class StaticCollector:
    """Yields fixed families and announces their names through describe()."""

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


def http_scope(headers: Optional[List[Any]] = None, query_string: bytes = b'',
               method: str = 'GET', path: str = '/metrics') -> Dict[str, Any]:
    return {
        'type': 'http', 'asgi': {'version': '3.0'}, 'http_version': '1.1',
        'method': method, 'path': path, 'query_string': query_string,
        'headers': headers if headers is not None else [],
    }


class Exchange:
    """Feeds scripted messages to the app and records what it sends."""

    def __init__(self, *incoming: Dict[str, Any]) -> None:
        self.incoming = list(incoming)
        self.received = 0
        self.sent: List[Dict[str, Any]] = []

    async def receive(self) -> Dict[str, Any]:
        self.received += 1
        return self.incoming.pop(0)

    async def send(self, message: Dict[str, Any]) -> None:
        self.sent.append(message)


def run_app(app: Any, scope: Dict[str, Any], *incoming: Dict[str, Any]) -> Exchange:
    exchange = Exchange(*(incoming or ({'type': 'http.request', 'body': b'', 'more_body': False},)))
    asyncio.run(app(scope, exchange.receive, exchange.send))
    return exchange


def response(exchange: Exchange) -> Any:
    start, body = exchange.sent
    assert start['type'] == 'http.response.start'
    assert body['type'] == 'http.response.body'
    assert 'more_body' not in body
    return start['status'], start['headers'], body['body']


class TestAsgiApp:
    def test_default_scrape(self) -> None:
        exchange = run_app(make_asgi_app(make_registry()), http_scope())
        assert response(exchange) == (200, [(b'Content-Type', TEXT_0_0_4)], FULL_BODY)
        assert exchange.received == 1

    @pytest.mark.parametrize(('method', 'path'), [('POST', '/x'), ('GET', '/favicon.ico'), ('HEAD', '/')])
    def test_method_and_path_are_ignored(self, method: str, path: str) -> None:
        exchange = run_app(make_asgi_app(make_registry()), http_scope(method=method, path=path))
        assert response(exchange)[2] == FULL_BODY

    def test_name_query(self) -> None:
        exchange = run_app(make_asgi_app(make_registry()), http_scope(query_string=b'name[]=gg'))
        assert response(exchange)[2] == GG_BODY

    def test_missing_query_string(self) -> None:
        scope = http_scope()
        del scope['query_string']
        assert response(run_app(make_asgi_app(make_registry()), scope))[2] == FULL_BODY

    def test_openmetrics_and_gzip(self) -> None:
        scope = http_scope(headers=[
            (b'accept', b'application/openmetrics-text; version=1.0.0'),
            (b'Accept-Encoding', b'gzip'),
        ])
        status, headers, body = response(run_app(make_asgi_app(make_registry()), scope))
        assert status == 200
        assert headers == [(b'Content-Type', OM_1_0_0), (b'Content-Encoding', b'gzip')]
        assert gzip.decompress(body).endswith(b'# EOF\n')

    def test_repeated_accept_headers_are_joined(self) -> None:
        scope = http_scope(headers=[
            (b'Accept', b'application/openmetrics-text; version=0.0.1'),
            (b'accept', b'text/plain; version=1.0.0'),
        ])
        _, headers, _ = response(run_app(make_asgi_app(make_registry()), scope))
        assert headers == [(b'Content-Type', b'text/plain; version=1.0.0; charset=utf-8; escaping=underscores')]

    def test_disable_compression(self) -> None:
        scope = http_scope(headers=[(b'accept-encoding', b'gzip')])
        exchange = run_app(make_asgi_app(make_registry(), disable_compression=True), scope)
        assert response(exchange) == (200, [(b'Content-Type', TEXT_0_0_4)], FULL_BODY)

    def test_disconnect_sends_nothing(self) -> None:
        exchange = run_app(make_asgi_app(make_registry()), http_scope(), {'type': 'http.disconnect'})
        assert exchange.sent == []
        assert exchange.received == 1

    @pytest.mark.parametrize('scope_type', ['websocket', 'lifespan', None])
    def test_non_http_scope_is_an_assertion_error(self, scope_type: Optional[str]) -> None:
        scope = http_scope()
        if scope_type is None:
            del scope['type']
        else:
            scope['type'] = scope_type
        exchange = Exchange({'type': 'http.request'})
        with pytest.raises(AssertionError):
            asyncio.run(make_asgi_app(make_registry())(scope, exchange.receive, exchange.send))
        assert exchange.sent == [] and exchange.received == 0

    def test_render_errors_propagate(self) -> None:
        class Exploding:
            def collect(self) -> List[Any]:
                raise RuntimeError('collector exploded')

        registry = CollectorRegistry()
        registry.register(Exploding())
        exchange = Exchange({'type': 'http.request'})
        with pytest.raises(RuntimeError, match='collector exploded'):
            asyncio.run(make_asgi_app(registry)(http_scope(), exchange.receive, exchange.send))
        assert exchange.sent == []

    def test_rendering_does_not_block_the_event_loop(self) -> None:
        """Collection runs off the loop: it can wait for a coroutine on the loop.

        The collector blocks until an event is set by a coroutine scheduled on
        the same loop. Were rendering done on the loop thread, that coroutine
        could never run (the wait times out and the test fails instead of
        hanging).
        """
        loop_may_run = threading.Event()
        collect_threads: List[int] = []

        class WaitsForTheLoop:
            def collect(self) -> List[Any]:
                collect_threads.append(threading.get_ident())
                assert loop_may_run.wait(timeout=30), 'event loop was blocked during rendering'
                return [GaugeMetricFamily('gg', 'G', value=2)]

        registry = CollectorRegistry()
        registry.register(WaitsForTheLoop())
        app = make_asgi_app(registry)

        async def main() -> Exchange:
            exchange = Exchange({'type': 'http.request'})

            async def other_request() -> None:
                await asyncio.sleep(0)
                loop_may_run.set()

            await asyncio.gather(app(http_scope(), exchange.receive, exchange.send), other_request())
            return exchange

        exchange = asyncio.run(main())
        assert response(exchange)[2] == GG_BODY
        assert collect_threads and collect_threads[0] != threading.get_ident()

    def test_concurrent_requests(self) -> None:
        app = make_asgi_app(make_registry())

        async def main() -> List[Exchange]:
            exchanges = [Exchange({'type': 'http.request'}) for _ in range(10)]
            await asyncio.gather(*(app(http_scope(), e.receive, e.send) for e in exchanges))
            return exchanges

        for exchange in asyncio.run(main()):
            assert response(exchange)[2] == FULL_BODY
