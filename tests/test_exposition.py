"""Tests for prometheus_client.exposition: the transports.

Covers the module surface, the WSGI app (called directly, through wsgiref's
validator and over real sockets), start_http_server (plain and TLS with
client certificates), MetricsHandler, write_to_textfile and the Pushgateway
client (URL, grouping-key, header and body rules with a recording handler,
then real requests against a local recording HTTP server).

Registries are built from tiny stand-in collectors over metrics_core
families, so the expected bytes do not depend on the metric classes.
"""
from __future__ import annotations

import base64
import gzip
import http.client
import os
import socket
import ssl
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from unittest import mock
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest
from _pki import make_pki, openssl_available  # tests/ is on sys.path under pytest

from prometheus_client import asgi, exposition, render
from prometheus_client.encoders import negotiation, text
from prometheus_client.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0,
    MetricsHandler,
    ThreadingWSGIServer,
    _bake_output,
    _compress_payload,
    _escape_grouping_key,
    _get_best_family,
    _get_ssl_ctx,
    basic_auth_handler,
    delete_from_gateway,
    instance_ip_grouping_key,
    make_wsgi_app,
    passthrough_redirect_handler,
    push_to_gateway,
    pushadd_to_gateway,
    start_http_server,
    start_wsgi_server,
    tls_auth_handler,
    write_to_textfile,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry

# ---------------------------------------------------------------------------
# Stand-in collectors and the bytes they render to.
# ---------------------------------------------------------------------------

REQS_BODY = b'# HELP reqs_total Requests\n# TYPE reqs_total counter\nreqs_total 1.0\n'
GG_BODY = b'# HELP gg G\n# TYPE gg gauge\ngg 2.0\n'
FULL_BODY = REQS_BODY + GG_BODY
OM_BODY = (
    b'# HELP reqs Requests\n# TYPE reqs counter\nreqs_total 1.0\n'
    b'# HELP gg G\n# TYPE gg gauge\ngg 2.0\n# EOF\n'
)
OM_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'
METHOD_405_BODY = b'# HTTP 405 Method Not Allowed: POST; use OPTIONS or GET\n'


class StaticCollector:
    """Yields fixed families and announces their names through describe()."""

    def __init__(self, *families: Any) -> None:
        self._families = families

    def collect(self) -> List[Any]:
        return list(self._families)

    def describe(self) -> List[Any]:
        return list(self._families)


class ExplodingCollector:
    """Raises on collect, counting the attempts."""

    def __init__(self) -> None:
        self.calls = 0

    def collect(self) -> List[Any]:
        self.calls += 1
        raise RuntimeError('collector exploded')


def make_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StaticCollector(CounterMetricFamily('reqs', 'Requests', value=1)))
    registry.register(StaticCollector(GaugeMetricFamily('gg', 'G', value=2)))
    return registry


def exploding_registry() -> Tuple[CollectorRegistry, ExplodingCollector]:
    registry = CollectorRegistry()
    collector = ExplodingCollector()
    registry.register(collector)
    return registry, collector


# ---------------------------------------------------------------------------
# Module surface.
# ---------------------------------------------------------------------------

class TestModuleSurface:
    def test_all_is_the_documented_tuple(self) -> None:
        assert exposition.__all__ == (
            'CONTENT_TYPE_LATEST', 'CONTENT_TYPE_PLAIN_0_0_4', 'CONTENT_TYPE_PLAIN_1_0_0',
            'delete_from_gateway', 'generate_latest', 'instance_ip_grouping_key',
            'make_asgi_app', 'make_wsgi_app', 'MetricsHandler', 'push_to_gateway',
            'pushadd_to_gateway', 'start_http_server', 'start_wsgi_server', 'write_to_textfile',
        )

    def test_content_type_constants(self) -> None:
        assert CONTENT_TYPE_PLAIN_0_0_4 == 'text/plain; version=0.0.4; charset=utf-8'
        assert CONTENT_TYPE_PLAIN_1_0_0 == 'text/plain; version=1.0.0; charset=utf-8'
        assert CONTENT_TYPE_LATEST is CONTENT_TYPE_PLAIN_1_0_0

    def test_reexports_are_the_same_objects(self) -> None:
        assert exposition.generate_latest is text.generate_latest
        assert exposition.choose_encoder is negotiation.choose_encoder
        assert exposition.gzip_accepted is negotiation.gzip_accepted
        assert exposition._get_version is negotiation._get_version
        assert exposition._get_escaping is negotiation._get_escaping
        assert exposition.make_asgi_app is asgi.make_asgi_app
        assert start_http_server is start_wsgi_server

    def test_optional_names(self) -> None:
        assert isinstance(exposition.SNAPPY_AVAILABLE, bool)
        assert (exposition.snappy is None) is (not exposition.SNAPPY_AVAILABLE)
        assert not hasattr(exposition, 'choose_formatter')

    def test_server_classes(self) -> None:
        assert ThreadingWSGIServer.daemon_threads is True
        assert issubclass(exposition._SilentHandler, exposition.WSGIRequestHandler)


# ---------------------------------------------------------------------------
# _bake_output and the WSGI app, called directly.
# ---------------------------------------------------------------------------

class TestBakeOutput:
    @pytest.mark.parametrize(
        ('accept', 'accept_encoding', 'params', 'disable'),
        [
            (None, None, {}, False),
            ('application/openmetrics-text; version=1.0.0', 'gzip', {}, True),
            ('text/plain; version=1.0.0', None, {'name[]': ['gg']}, False),
        ],
    )
    def test_is_the_shared_render_path(self, accept: Optional[str], accept_encoding: Optional[str],
                                       params: Dict[str, List[str]], disable: bool) -> None:
        registry = make_registry()
        assert _bake_output(registry, accept, accept_encoding, params, disable) == \
            render.render(registry, accept, accept_encoding, params, disable)

    def test_default_output(self) -> None:
        assert _bake_output(make_registry(), None, None, {}, False) == \
            ('200 OK', [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)], FULL_BODY)

    def test_name_filter_and_gzip(self) -> None:
        status, headers, body = _bake_output(make_registry(), '', 'gzip', {'name[]': ['gg']}, False)
        assert status == '200 OK'
        assert headers == [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4), ('Content-Encoding', 'gzip')]
        assert gzip.decompress(body) == GG_BODY


def call_wsgi(app: Any, method: str = 'GET', path: str = '/', query: str = '',
              **extra: str) -> Tuple[str, List[Tuple[str, str]], bytes]:
    """Run a WSGI app on a minimal environ; return status, headers, body."""
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path, 'QUERY_STRING': query, **extra}
    captured: Dict[str, Any] = {}

    def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> None:
        captured['status'], captured['headers'] = status, headers

    chunks = app(environ, start_response)
    assert isinstance(chunks, list) and len(chunks) == 1
    return captured['status'], captured['headers'], chunks[0]


class TestWsgiApp:
    def test_get_serves_all_metrics(self) -> None:
        assert call_wsgi(make_wsgi_app(make_registry())) == \
            ('200 OK', [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)], FULL_BODY)

    @pytest.mark.parametrize('path', ['/', '/metrics', '/whatever/deep'])
    def test_any_path_is_served(self, path: str) -> None:
        assert call_wsgi(make_wsgi_app(make_registry()), path=path)[2] == FULL_BODY

    def test_name_query_restricts(self) -> None:
        assert call_wsgi(make_wsgi_app(make_registry()), query='name[]=gg')[2] == GG_BODY

    def test_repeated_names_accumulate(self) -> None:
        body = call_wsgi(make_wsgi_app(make_registry()), query='name[]=gg&name[]=reqs_total')[2]
        assert sorted(body.split(b'# HELP')) == sorted(FULL_BODY.split(b'# HELP'))

    def test_openmetrics_accept(self) -> None:
        status, headers, body = call_wsgi(
            make_wsgi_app(make_registry()),
            HTTP_ACCEPT='application/openmetrics-text; version=1.0.0; charset=utf-8',
        )
        assert (status, headers, body) == ('200 OK', [('Content-Type', OM_CONTENT_TYPE)], OM_BODY)

    def test_gzip_when_accepted(self) -> None:
        status, headers, body = call_wsgi(make_wsgi_app(make_registry()), HTTP_ACCEPT_ENCODING='deflate, GZip;q=0.5')
        assert headers == [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4), ('Content-Encoding', 'gzip')]
        assert gzip.decompress(body) == FULL_BODY

    def test_disable_compression(self) -> None:
        app = make_wsgi_app(make_registry(), disable_compression=True)
        assert call_wsgi(app, HTTP_ACCEPT_ENCODING='gzip') == \
            ('200 OK', [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)], FULL_BODY)

    def test_options(self) -> None:
        assert call_wsgi(make_wsgi_app(make_registry()), method='OPTIONS') == \
            ('200 OK', [('Allow', 'OPTIONS,GET')], b'')

    @pytest.mark.parametrize('method', ['POST', 'HEAD', 'PUT', 'DELETE', 'get'])
    def test_other_methods_are_405(self, method: str) -> None:
        registry, collector = exploding_registry()
        assert call_wsgi(make_wsgi_app(registry), method=method) == (
            '405 Method Not Allowed',
            [('Allow', 'OPTIONS,GET')],
            f'# HTTP 405 Method Not Allowed: {method}; use OPTIONS or GET\n'.encode(),
        )
        assert collector.calls == 0

    def test_favicon_is_empty_and_not_collected(self) -> None:
        registry, collector = exploding_registry()
        assert call_wsgi(make_wsgi_app(registry), path='/favicon.ico') == ('200 OK', [], b'')
        assert collector.calls == 0

    def test_method_is_checked_before_path(self) -> None:
        app = make_wsgi_app(make_registry())
        assert call_wsgi(app, method='POST', path='/favicon.ico')[0] == '405 Method Not Allowed'
        environ_without_path = {'REQUEST_METHOD': 'OPTIONS'}
        assert app(environ_without_path, lambda *a: None) == [b'']

    def test_missing_environ_keys_raise_key_error(self) -> None:
        app = make_wsgi_app(make_registry())
        with pytest.raises(KeyError):
            app({}, lambda *a: None)
        with pytest.raises(KeyError):
            app({'REQUEST_METHOD': 'GET'}, lambda *a: None)

    def test_missing_query_string_is_fine(self) -> None:
        app = make_wsgi_app(make_registry())
        chunks = app({'REQUEST_METHOD': 'GET', 'PATH_INFO': '/'}, lambda *a: None)
        assert chunks == [FULL_BODY]

    def test_collection_errors_propagate(self) -> None:
        registry, _ = exploding_registry()
        with pytest.raises(RuntimeError, match='collector exploded'):
            call_wsgi(make_wsgi_app(registry))

    def test_bake_output_is_looked_up_per_request(self) -> None:
        app = make_wsgi_app(make_registry())
        fake = ('200 OK', [('Content-Type', 'x/y')], b'patched')
        with mock.patch('prometheus_client.exposition._bake_output', return_value=fake) as patched:
            assert call_wsgi(app, query='name[]=a', HTTP_ACCEPT='a/b', HTTP_ACCEPT_ENCODING='gzip') == fake
            call_wsgi(app)
        assert patched.call_count == 2
        args = patched.call_args_list[0].args
        assert args[1:] == ('a/b', 'gzip', {'name[]': ['a']}, False)

    @pytest.mark.parametrize(('method', 'path', 'status', 'body'), [
        ('GET', '/metrics', '200 OK', FULL_BODY),
        ('GET', '/metrics?name[]=gg', '200 OK', GG_BODY),
    ])
    def test_wsgiref_validator_accepts_the_app(self, method: str, path: str, status: str, body: bytes) -> None:
        """wsgiref.validate checks the environ/start_response/iterable protocol.

        Only metrics responses are validated: the 0.26.0 favicon, OPTIONS and
        405 answers carry no Content-Type, which the validator insists on.
        """
        app = validator(make_wsgi_app(make_registry()))
        environ: Dict[str, Any] = {}
        setup_testing_defaults(environ)
        path, _, query = path.partition('?')
        environ.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query)
        statuses: List[str] = []

        def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return lambda data: None

        result = app(environ, start_response)
        try:
            assert b''.join(result) == body
        finally:
            result.close()
        assert statuses == [status]


# ---------------------------------------------------------------------------
# Real servers.
# ---------------------------------------------------------------------------

def fetch(port: int, method: str = 'GET', path: str = '/', headers: Optional[Dict[str, str]] = None,
          context: Optional[ssl.SSLContext] = None, host: str = '127.0.0.1') -> Tuple[int, Any, bytes]:
    """One request with http.client (no automatic decompression)."""
    if context is None:
        conn: http.client.HTTPConnection = http.client.HTTPConnection(host, port, timeout=30)
    else:
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


@pytest.fixture(scope='module', name='http_server')
def fixture_http_server() -> Any:
    server, thread = start_http_server(0, '127.0.0.1', registry=make_registry())
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


class TestStartHttpServer:
    def test_returns_a_daemon_thread_and_threading_server(self, http_server: Any) -> None:
        assert isinstance(http_server, ThreadingWSGIServer)
        assert type(http_server).__name__ == 'TmpServer'
        assert http_server.server_address[0] == '127.0.0.1'
        assert http_server.server_address[1] != 0
        assert http_server.address_family == socket.AF_INET

    def test_thread_is_daemon(self) -> None:
        server, thread = start_wsgi_server(0, '127.0.0.1', registry=make_registry())
        try:
            assert thread.daemon and thread.is_alive()
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
        assert not thread.is_alive()

    def test_get_with_urllib(self, http_server: Any) -> None:
        port = http_server.server_address[1]
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=30) as response:
            assert response.status == 200
            assert response.headers['Content-Type'] == CONTENT_TYPE_PLAIN_0_0_4
            assert response.headers['Content-Length'] == str(len(FULL_BODY))
            assert response.read() == FULL_BODY

    def test_name_filter(self, http_server: Any) -> None:
        status, _, body = fetch(http_server.server_address[1], path='/metrics?name[]=gg')
        assert (status, body) == (200, GG_BODY)

    def test_gzip(self, http_server: Any) -> None:
        status, headers, body = fetch(http_server.server_address[1], headers={'Accept-Encoding': 'gzip'})
        assert status == 200
        assert headers['Content-Encoding'] == 'gzip'
        assert gzip.decompress(body) == FULL_BODY

    def test_openmetrics(self, http_server: Any) -> None:
        status, headers, body = fetch(
            http_server.server_address[1], headers={'Accept': 'application/openmetrics-text; version=1.0.0'})
        assert (status, headers['Content-Type'], body) == (200, OM_CONTENT_TYPE, OM_BODY)

    def test_favicon(self, http_server: Any) -> None:
        status, headers, body = fetch(http_server.server_address[1], path='/favicon.ico')
        assert (status, body) == (200, b'')
        assert 'Content-Type' not in headers

    @pytest.mark.parametrize(('method', 'status', 'body'), [
        ('POST', 405, METHOD_405_BODY),
        ('HEAD', 405, b''),
        ('OPTIONS', 200, b''),
    ])
    def test_methods(self, http_server: Any, method: str, status: int, body: bytes) -> None:
        got_status, headers, got_body = fetch(http_server.server_address[1], method=method)
        assert (got_status, got_body) == (status, body)
        assert headers['Allow'] == 'OPTIONS,GET'

    def test_concurrent_requests(self, http_server: Any) -> None:
        port = http_server.server_address[1]
        results: List[bytes] = []

        def worker() -> None:
            results.append(fetch(port)[2])

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [FULL_BODY] * 8

    def test_ipv6(self) -> None:
        if not socket.has_ipv6:
            pytest.skip('no IPv6')
        try:
            server, thread = start_http_server(0, '::1', registry=make_registry())
        except OSError:
            pytest.skip('IPv6 loopback unavailable')
        try:
            assert server.address_family == socket.AF_INET6
            assert fetch(server.server_address[1], host='::1')[2] == FULL_BODY
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def test_positional_and_keyword_forms(self) -> None:
        server, thread = start_http_server(port=0, addr='127.0.0.1')
        server.shutdown()
        server.server_close()
        thread.join()

    def test_get_best_family(self) -> None:
        assert _get_best_family('127.0.0.1', 0) == (socket.AF_INET, '127.0.0.1')
        assert _get_best_family('0.0.0.0', 8000) == (socket.AF_INET, '0.0.0.0')


# ---------------------------------------------------------------------------
# TLS.
# ---------------------------------------------------------------------------

@pytest.fixture(scope='module', name='certs')
def fixture_certs(tmp_path_factory: Any) -> Dict[str, str]:
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate."""
    if not openssl_available():
        pytest.skip('openssl CLI not available')
    paths = make_pki(str(tmp_path_factory.mktemp('certs')))
    return {
        'ca.pem': paths['ca.crt'],
        'server.pem': paths['server.crt'],
        'server.key': paths['server.key'],
        'client.pem': paths['client.crt'],
        'client.key': paths['client.key'],
    }


def client_context(certs: Dict[str, str], with_client_cert: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(certs['ca.pem'])
    if with_client_cert:
        context.load_cert_chain(certs['client.pem'], certs['client.key'])
    return context


@pytest.fixture(scope='module', name='tls_server')
def fixture_tls_server(certs: Dict[str, str]) -> Any:
    server, thread = start_http_server(
        0, '127.0.0.1', registry=make_registry(),
        certfile=certs['server.pem'], keyfile=certs['server.key'],
        client_cafile=certs['ca.pem'], client_auth_required=True,
    )
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


class TestTls:
    def test_https_without_client_auth(self, certs: Dict[str, str]) -> None:
        server, thread = start_http_server(0, '127.0.0.1', registry=make_registry(),
                                           certfile=certs['server.pem'], keyfile=certs['server.key'])
        try:
            status, headers, body = fetch(server.server_address[1], context=client_context(certs, False))
            assert (status, headers['Content-Type'], body) == (200, CONTENT_TYPE_PLAIN_0_0_4, FULL_BODY)
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def test_client_certificate_accepted(self, tls_server: Any, certs: Dict[str, str]) -> None:
        status, _, body = fetch(tls_server.server_address[1], path='/?name[]=gg',
                                context=client_context(certs, True))
        assert (status, body) == (200, GG_BODY)

    def test_missing_client_certificate_rejected(self, tls_server: Any, certs: Dict[str, str]) -> None:
        with pytest.raises(OSError):
            fetch(tls_server.server_address[1], context=client_context(certs, False))
        # The server survives the failed handshake.
        assert fetch(tls_server.server_address[1], context=client_context(certs, True))[0] == 200

    def test_plain_http_to_tls_server_fails(self, tls_server: Any) -> None:
        with pytest.raises((OSError, http.client.HTTPException)):
            fetch(tls_server.server_address[1])

    def test_stalled_handshake_does_not_block_other_clients(self, tls_server: Any, certs: Dict[str, str]) -> None:
        port = tls_server.server_address[1]
        with socket.create_connection(('127.0.0.1', port)):  # connects, never says hello
            assert fetch(port, context=client_context(certs, True))[2] == FULL_BODY

    def test_tls_version_bounds(self, certs: Dict[str, str]) -> None:
        server, thread = start_http_server(
            0, '127.0.0.1', registry=make_registry(), certfile=certs['server.pem'], keyfile=certs['server.key'],
            tls_min_version=ssl.TLSVersion.TLSv1_2, tls_max_version=ssl.TLSVersion.TLSv1_2,
        )
        try:
            context = client_context(certs, False)
            conn = http.client.HTTPSConnection('127.0.0.1', server.server_address[1], context=context, timeout=30)
            conn.request('GET', '/')
            negotiated = conn.sock.version()
            response = conn.getresponse()
            assert response.read() == FULL_BODY
            conn.close()
            assert negotiated == 'TLSv1.2'
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def test_ssl_context_settings(self, certs: Dict[str, str]) -> None:
        context = _get_ssl_ctx(certs['server.pem'], certs['server.key'], ssl.PROTOCOL_TLS_SERVER,
                               cafile=certs['ca.pem'], client_auth_required=True,
                               tls_min_version=ssl.TLSVersion.TLSv1_2, tls_max_version=ssl.TLSVersion.TLSv1_3)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.cert_store_stats()['x509_ca'] == 1
        assert (context.minimum_version, context.maximum_version) == (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
        default = _get_ssl_ctx(certs['server.pem'], certs['server.key'], ssl.PROTOCOL_TLS_SERVER)
        assert default.verify_mode == ssl.CERT_NONE

    def test_missing_server_files_message(self, tmp_path: Any) -> None:
        cert, key = str(tmp_path / 'nope.pem'), str(tmp_path / 'nope.key')
        with pytest.raises(FileNotFoundError) as info:
            _get_ssl_ctx(cert, key, ssl.PROTOCOL_TLS_SERVER)
        assert str(info.value) == (
            f'Cannot load server certificate file {cert!r} or its private key file {key!r}: '
            '[Errno 2] No such file or directory'
        )

    def test_garbage_server_files_keep_ssl_error_type(self, tmp_path: Any) -> None:
        garbage = tmp_path / 'garbage.pem'
        garbage.write_text('garbage\n')
        # (str() of a one-argument SSLError shows the args tuple, as in 0.26.0.)
        with pytest.raises(ssl.SSLError, match=r"Cannot load server certificate file '.*garbage\.pem' or its "
                                               r"private key file '.*garbage\.pem': "):
            _get_ssl_ctx(str(garbage), str(garbage), ssl.PROTOCOL_TLS_SERVER)

    def test_bad_ca_message(self, tmp_path: Any, certs: Dict[str, str]) -> None:
        ca = str(tmp_path / 'nope-ca.pem')
        with pytest.raises(FileNotFoundError) as info:
            _get_ssl_ctx(certs['server.pem'], certs['server.key'], ssl.PROTOCOL_TLS_SERVER, cafile=ca)
        assert str(info.value) == (
            f'Cannot load CA certificate chain from file {ca!r} or directory None: '
            '[Errno 2] No such file or directory'
        )

    def test_start_with_bad_files_raises_and_leaks_no_socket(self, tmp_path: Any) -> None:
        with pytest.raises(FileNotFoundError, match='^Cannot load server certificate file'):
            start_http_server(0, '127.0.0.1', certfile=str(tmp_path / 'a'), keyfile=str(tmp_path / 'b'))

    def test_tls_needs_both_files(self, certs: Dict[str, str]) -> None:
        server, thread = start_http_server(0, '127.0.0.1', registry=make_registry(), certfile=certs['server.pem'])
        try:
            assert fetch(server.server_address[1])[2] == FULL_BODY  # plain HTTP
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


# ---------------------------------------------------------------------------
# MetricsHandler.
# ---------------------------------------------------------------------------

@pytest.fixture(scope='module', name='handler_server')
def fixture_handler_server() -> Any:
    server = ThreadingHTTPServer(('127.0.0.1', 0), MetricsHandler.factory(make_registry()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


class TestMetricsHandler:
    def test_get(self, handler_server: Any) -> None:
        status, headers, body = fetch(handler_server.server_address[1], path='/metrics')
        assert (status, headers['Content-Type'], body) == (200, CONTENT_TYPE_PLAIN_0_0_4, FULL_BODY)
        assert 'Content-Length' not in headers

    def test_favicon_is_not_special(self, handler_server: Any) -> None:
        assert fetch(handler_server.server_address[1], path='/favicon.ico')[2] == FULL_BODY

    def test_name_filter_gzip_and_accept(self, handler_server: Any) -> None:
        status, headers, body = fetch(
            handler_server.server_address[1], path='/x?name[]=gg',
            headers={'Accept-Encoding': 'gzip', 'Accept': 'application/openmetrics-text; version=1.0.0'})
        assert status == 200
        assert headers['Content-Type'] == OM_CONTENT_TYPE
        assert headers['Content-Encoding'] == 'gzip'
        assert gzip.decompress(body) == GG_BODY + b'# EOF\n'

    @pytest.mark.parametrize('method', ['HEAD', 'POST', 'OPTIONS'])
    def test_only_get_is_implemented(self, handler_server: Any, method: str) -> None:
        assert fetch(handler_server.server_address[1], method=method)[0] == 501

    def test_default_registry_and_factory(self) -> None:
        from prometheus_client.registry import REGISTRY

        assert MetricsHandler.registry is REGISTRY
        registry = make_registry()
        handler_class = MetricsHandler.factory(registry)
        assert handler_class.__name__ == 'MetricsHandler'
        assert issubclass(handler_class, MetricsHandler)
        assert handler_class.registry is registry
        assert MetricsHandler.registry is REGISTRY

    def test_factory_on_subclass(self) -> None:
        class Custom(MetricsHandler):
            pass

        made = Custom.factory(make_registry())
        assert made.__name__ == 'Custom' and issubclass(made, Custom)

    def test_plain_http_server_with_bake_patch(self) -> None:
        server = HTTPServer(('127.0.0.1', 0), MetricsHandler.factory(make_registry()))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            fake = ('200 OK', [('Content-Type', 'x/y')], b'patched')
            with mock.patch('prometheus_client.exposition._bake_output', return_value=fake) as patched:
                status, headers, body = fetch(server.server_address[1])
            assert (status, headers['Content-Type'], body) == (200, 'x/y', b'patched')
            assert patched.call_count == 1
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


# ---------------------------------------------------------------------------
# write_to_textfile.
# ---------------------------------------------------------------------------

def dotted_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StaticCollector(GaugeMetricFamily('my.gauge', 'dotted', value=1)))
    return registry


class TestWriteToTextfile:
    def test_default_escaping_allows_utf8(self, tmp_path: Any) -> None:
        path = tmp_path / 'out.prom'
        write_to_textfile(str(path), dotted_registry())
        assert path.read_bytes() == b'# HELP "my.gauge" dotted\n# TYPE "my.gauge" gauge\n{"my.gauge"} 1.0\n'
        assert os.listdir(tmp_path) == ['out.prom']

    def test_underscores_escaping(self, tmp_path: Any) -> None:
        path = tmp_path / 'out.prom'
        write_to_textfile(str(path), dotted_registry(), escaping='underscores')
        assert path.read_bytes() == b'# HELP my_gauge dotted\n# TYPE my_gauge gauge\nmy_gauge 1.0\n'

    def test_replaces_existing_file(self, tmp_path: Any) -> None:
        path = tmp_path / 'out.prom'
        path.write_bytes(b'old contents that are much longer than the new ones' * 100)
        write_to_textfile(str(path), make_registry())
        assert path.read_bytes() == FULL_BODY

    def test_temp_name_fsync_then_rename(self, tmp_path: Any, monkeypatch: Any) -> None:
        events: List[Tuple[str, ...]] = []
        real_rename, real_fsync = os.rename, os.fsync

        def recording_fsync(fd: int) -> None:
            events.append(('fsync',))
            real_fsync(fd)

        def recording_rename(src: str, dst: str) -> None:
            events.append(('rename', src, dst))
            real_rename(src, dst)

        monkeypatch.setattr(os, 'fsync', recording_fsync)
        monkeypatch.setattr(os, 'rename', recording_rename)
        monkeypatch.setattr(os, 'replace', recording_rename)
        path = str(tmp_path / 'out.prom')
        write_to_textfile(path, make_registry())
        expected_tmp = f'{path}.{os.getpid()}.{threading.current_thread().ident}'
        assert events == [('fsync',), ('rename', expected_tmp, path)]

    def test_tmpdir(self, tmp_path: Any, monkeypatch: Any) -> None:
        renames: List[Tuple[str, str]] = []
        real_rename = os.rename

        def recording_rename(src: str, dst: str) -> None:
            renames.append((src, dst))
            real_rename(src, dst)

        monkeypatch.setattr(os, 'rename', recording_rename)
        monkeypatch.setattr(os, 'replace', recording_rename)
        tmpdir = tmp_path / 'tmpd'
        tmpdir.mkdir()
        path = str(tmp_path / 'out2.prom')
        write_to_textfile(path, make_registry(), tmpdir=str(tmpdir))
        ident = threading.current_thread().ident
        assert renames == [(f'{os.path.join(str(tmpdir), "out2.prom")}.{os.getpid()}.{ident}', path)]
        assert os.listdir(tmpdir) == []
        assert (tmp_path / 'out2.prom').read_bytes() == FULL_BODY

    def test_collection_error_leaves_target_untouched(self, tmp_path: Any) -> None:
        path = tmp_path / 'out.prom'
        path.write_bytes(b'previous\n')
        registry, _ = exploding_registry()
        with pytest.raises(RuntimeError, match='collector exploded'):
            write_to_textfile(str(path), registry)
        assert path.read_bytes() == b'previous\n'
        assert os.listdir(tmp_path) == ['out.prom']

    def test_write_error_removes_temp_file(self, tmp_path: Any, monkeypatch: Any) -> None:
        path = tmp_path / 'out.prom'
        path.write_bytes(b'previous\n')

        def failing_fsync(fd: int) -> None:
            raise OSError(28, 'No space left on device')

        monkeypatch.setattr(os, 'fsync', failing_fsync)
        with pytest.raises(OSError, match='No space left'):
            write_to_textfile(str(path), make_registry())
        assert path.read_bytes() == b'previous\n'
        assert os.listdir(tmp_path) == ['out.prom']

    def test_missing_directory_raises(self, tmp_path: Any) -> None:
        with pytest.raises(FileNotFoundError):
            write_to_textfile(str(tmp_path / 'no' / 'such' / 'out.prom'), make_registry())

    def test_reader_never_sees_a_partial_file(self, tmp_path: Any) -> None:
        """A concurrent reader only ever sees one complete version or the other."""
        small, large = CollectorRegistry(), CollectorRegistry()
        small.register(StaticCollector(GaugeMetricFamily('g', 'small', value=1)))
        family = GaugeMetricFamily('g', 'large', labels=['i'])
        for i in range(3000):
            family.add_metric([str(i)], i)
        large.register(StaticCollector(family))
        path = str(tmp_path / 'race.prom')
        write_to_textfile(path, small)
        expected = {open(path, 'rb').read()}
        write_to_textfile(path, large)
        expected.add(open(path, 'rb').read())

        done = threading.Event()
        seen: List[bytes] = []

        def reader() -> None:
            while not done.is_set():
                with open(path, 'rb') as f:
                    seen.append(f.read())

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for i in range(40):
                write_to_textfile(path, large if i % 2 else small)
        finally:
            done.set()
            thread.join()
        assert seen and set(seen) <= expected


# ---------------------------------------------------------------------------
# Pushgateway: URL, headers and body rules, recorded by a custom handler.
# ---------------------------------------------------------------------------

class RecordingHandler:
    """A push handler that only accepts keyword arguments and records them."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.sent = 0

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)

        def send() -> None:
            self.sent += 1

        return send


def gauge_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StaticCollector(GaugeMetricFamily('g', 'help', value=1)))
    return registry


G_BODY = b'# HELP g help\n# TYPE g gauge\ng 1.0\n'


class TestPushgatewayRules:
    @pytest.mark.parametrize(('gateway', 'url'), [
        ('localhost:9091', 'http://localhost:9091/metrics/job/myjob'),
        ('http://localhost:9091/', 'http://localhost:9091/metrics/job/myjob'),
        ('http://localhost:9091//', 'http://localhost:9091/metrics/job/myjob'),
        ('https://pg.example.com:443/prefix/', 'https://pg.example.com:443/prefix/metrics/job/myjob'),
        ('pg.example.com', 'http://pg.example.com/metrics/job/myjob'),
        ('ftp://x', 'http://ftp://x/metrics/job/myjob'),
        ('unix:/x', 'http://unix:/x/metrics/job/myjob'),
    ])
    def test_gateway_url(self, gateway: str, url: str) -> None:
        handler = RecordingHandler()
        push_to_gateway(gateway, 'myjob', gauge_registry(), handler=handler)
        assert handler.calls == [{
            'url': url,
            'method': 'PUT',
            'timeout': 30,
            'headers': [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)],
            'data': G_BODY,
        }]
        assert handler.sent == 1

    def test_grouping_key_encoding(self) -> None:
        handler = RecordingHandler()
        push_to_gateway('pg:9091', 'my job', gauge_registry(), handler=handler,
                        grouping_key={'b': 'x y', 'a': '', 'c': 'a/b', 'd': 'ü&=?', 'e': 5, 'f': None})
        assert handler.calls[0]['url'] == (
            'http://pg:9091/metrics/job@base64/bXkgam9i/a@base64/=/b@base64/eCB5/c@base64/YS9i'
            '/d/%C3%BC%26%3D%3F/e/5/f/None'
        )

    @pytest.mark.parametrize(('job', 'grouping_key', 'suffix'), [
        ('job/x', {'instance': 'host:80'}, '/metrics/job@base64/am9iL3g=/instance/host%3A80'),
        ('j', {'a': 9}, '/metrics/job/j/a/9'),
        ('j', {'a': ''}, '/metrics/job/j/a@base64/='),
        ('j', {'label': 'value with spaces'}, '/metrics/job/j/label@base64/dmFsdWUgd2l0aCBzcGFjZXM='),
        ('j', {'a': 9, 'b': 'a/ z'}, '/metrics/job/j/a/9/b@base64/YS8geg=='),
        ('my/job', None, '/metrics/job@base64/bXkvam9i'),
        ('', None, '/metrics/job@base64/='),
        ('j', {1: 'a', 2: 'b'}, '/metrics/job/j/1/a/2/b'),
    ])
    def test_grouping_key_table(self, job: str, grouping_key: Optional[Dict[Any, Any]], suffix: str) -> None:
        handler = RecordingHandler()
        push_to_gateway('http://pg:9091/', job, gauge_registry(), grouping_key=grouping_key, handler=handler)
        assert handler.calls[0]['url'] == 'http://pg:9091' + suffix

    @pytest.mark.parametrize(('key', 'value', 'expected'), [
        ('a', '', ('a@base64', '=')),
        ('a', 'x/y', ('a@base64', 'eC95')),
        ('a', 'x y', ('a@base64', 'eCB5')),
        ('a', 'x+y', ('a', 'x%2By')),
        ('a', 'ü', ('a', '%C3%BC')),
        ('a', 'é/è', ('a@base64', 'w6kvw6g=')),
        ('a', 'a~b.c-d_e', ('a', 'a~b.c-d_e')),
        ('a', '%', ('a', '%25')),
    ])
    def test_escape_grouping_key(self, key: str, value: str, expected: Tuple[str, str]) -> None:
        assert _escape_grouping_key(key, value) == expected

    def test_unsortable_grouping_keys_raise(self) -> None:
        with pytest.raises(TypeError):
            push_to_gateway('pg', 'j', gauge_registry(), grouping_key={1: 'a', 'b': 2}, handler=RecordingHandler())

    def test_methods_and_timeout(self) -> None:
        handler = RecordingHandler()
        push_to_gateway('pg', 'j', gauge_registry(), handler=handler, timeout=None)
        pushadd_to_gateway('pg', 'j', gauge_registry(), handler=handler, timeout=2.5)
        delete_from_gateway('pg', 'j', handler=handler)
        assert [(c['method'], c['timeout']) for c in handler.calls] == [('PUT', None), ('POST', 2.5), ('DELETE', 30)]
        assert handler.calls[2]['data'] == b''
        assert handler.calls[2]['headers'] == [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)]
        assert handler.sent == 3

    def test_pushadd_none_registry_uses_global(self, monkeypatch: Any) -> None:
        from prometheus_client.registry import REGISTRY

        rendered: List[Any] = []

        def spy_generate_latest(registry: Any) -> bytes:
            rendered.append(registry)
            return b'spied\n'

        # The global registry's process metrics change between scrapes, so
        # record which registry is rendered instead of comparing bytes.
        monkeypatch.setattr(exposition, 'generate_latest', spy_generate_latest)
        handler = RecordingHandler()
        pushadd_to_gateway('pg', 'j', None, handler=handler)
        assert rendered == [REGISTRY]
        assert handler.calls[0]['data'] == b'spied\n'

    @pytest.mark.parametrize('compression', ['gzip', 'GZIP', 'Gzip'])
    def test_gzip_compression(self, compression: str) -> None:
        handler = RecordingHandler()
        push_to_gateway('pg', 'j', gauge_registry(), handler=handler, compression=compression)  # type: ignore[arg-type]
        call = handler.calls[0]
        assert call['headers'] == [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4), ('Content-Encoding', 'gzip')]
        assert gzip.decompress(call['data']) == G_BODY

    def test_unsupported_compression(self) -> None:
        handler = RecordingHandler()
        with pytest.raises(ValueError, match='^Unsupported compression type: brotli$'):
            push_to_gateway('pg', 'j', gauge_registry(), handler=handler, compression='brotli')  # type: ignore[arg-type]
        with pytest.raises(ValueError, match='^Unsupported compression type: $'):
            _compress_payload(b'x', '')  # type: ignore[arg-type]
        assert handler.calls == []

    def test_snappy_missing(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(exposition, 'SNAPPY_AVAILABLE', False)
        monkeypatch.setattr(exposition, 'snappy', None)
        handler = RecordingHandler()
        with pytest.raises(RuntimeError) as info:
            push_to_gateway('pg', 'j', gauge_registry(), handler=handler, compression='snappy')
        assert str(info.value) == 'Snappy compression requires the python-snappy package to be installed.'
        assert handler.calls == []

    @pytest.mark.parametrize(('has_flush', 'suffix'), [(False, b''), (True, b'|flushed')])
    def test_snappy_stream_compressor(self, monkeypatch: Any, has_flush: bool, suffix: bytes) -> None:
        class FakeStreamCompressor:
            def compress(self, data: bytes) -> bytes:
                return b'framed:' + data

        if has_flush:
            FakeStreamCompressor.flush = lambda self: b'|flushed'  # type: ignore[attr-defined]

        class FakeSnappy:
            StreamCompressor = FakeStreamCompressor

        monkeypatch.setattr(exposition, 'SNAPPY_AVAILABLE', True)
        monkeypatch.setattr(exposition, 'snappy', FakeSnappy)
        assert _compress_payload(b'body', 'SNAPPY') == (
            b'framed:body' + suffix,
            [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4), ('Content-Encoding', 'snappy')],
        )

    def test_delete_rejects_compression(self) -> None:
        handler = RecordingHandler()
        with pytest.raises(ValueError, match='^Compression is not supported for DELETE requests.$'):
            exposition._use_gateway('DELETE', 'pg', 'j', None, None, 30, handler, 'gzip')
        assert handler.calls == []

    def test_collection_errors_propagate_before_any_request(self) -> None:
        registry, _ = exploding_registry()
        handler = RecordingHandler()
        with pytest.raises(RuntimeError, match='collector exploded'):
            push_to_gateway('pg', 'j', registry, handler=handler)
        assert handler.calls == []

    def test_positional_handler_also_works(self) -> None:
        seen: List[str] = []

        def handler(url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, str]],
                    data: bytes) -> Any:
            seen.append(url)
            return lambda: None

        push_to_gateway('pg', 'j', gauge_registry(), handler=handler)
        assert seen == ['http://pg/metrics/job/j']

    def test_basic_auth_appends_header_when_called(self, monkeypatch: Any) -> None:
        sent: List[List[Tuple[str, Any]]] = []

        def fake_default(url: str, method: str, timeout: Any, headers: Any, data: bytes) -> Any:
            sent.append(list(headers))
            return lambda: None

        monkeypatch.setattr(exposition, 'default_handler', fake_default)
        headers: List[Tuple[str, Any]] = [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)]
        send = basic_auth_handler('http://pg/x', 'PUT', 30, headers, b'', username='user', password='pa:ss')
        assert len(headers) == 1  # nothing happens before the call
        send()
        assert headers[-1] == ('Authorization', b'Basic dXNlcjpwYTpzcw==')
        assert sent == [headers]

    def test_basic_auth_without_credentials(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(exposition, 'default_handler', lambda *a: (lambda: None))
        headers: List[Tuple[str, Any]] = []
        basic_auth_handler('http://pg/x', 'PUT', 30, headers, b'', username='user')()
        assert headers == []

    def test_tls_auth_handler_loads_files_eagerly(self, tmp_path: Any) -> None:
        with pytest.raises(FileNotFoundError):
            tls_auth_handler('https://pg/x', 'PUT', 30, [], b'', str(tmp_path / 'c'), str(tmp_path / 'k'))

    def test_instance_ip_grouping_key(self) -> None:
        key = instance_ip_grouping_key()
        assert list(key) == ['instance']
        socket.inet_aton(key['instance'])  # a dotted IPv4 address


# ---------------------------------------------------------------------------
# Pushgateway: real requests against a local recording server.
# ---------------------------------------------------------------------------

class RecordingRequestHandler(BaseHTTPRequestHandler):
    """Records every request; answers per ``server.routes`` (default 200)."""

    def _handle(self) -> None:
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        self.server.requests.append((self.command, self.path, self.headers, body))  # type: ignore[attr-defined]
        status, extra = self.server.routes.get(self.path, (200, {}))  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header('Content-Length', '0')
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope='module', name='gateway_server')
def fixture_gateway_server() -> Any:
    server = ThreadingHTTPServer(('127.0.0.1', 0), RecordingRequestHandler)
    server.requests = []  # type: ignore[attr-defined]
    server.routes = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f'http://127.0.0.1:{server.server_address[1]}'  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(name='gateway')
def fixture_gateway(gateway_server: Any) -> Any:
    """The shared recording server, with no requests recorded and no routes."""
    gateway_server.requests.clear()
    gateway_server.routes.clear()
    return gateway_server


class TestPushgatewayOverHttp:
    def test_put_post_delete(self, gateway: Any) -> None:
        push_to_gateway(gateway.url, 'my_job', gauge_registry(), grouping_key={'instance': 'a b'})
        pushadd_to_gateway(gateway.url, 'my_job', gauge_registry())
        delete_from_gateway(gateway.url, 'my_job')
        assert [(m, p, b) for m, p, _, b in gateway.requests] == [
            ('PUT', '/metrics/job/my_job/instance@base64/YSBi', G_BODY),
            ('POST', '/metrics/job/my_job', G_BODY),
            ('DELETE', '/metrics/job/my_job', b''),
        ]
        for _, _, headers, _ in gateway.requests:
            assert headers['Content-Type'] == CONTENT_TYPE_PLAIN_0_0_4

    def test_gzip_body(self, gateway: Any) -> None:
        push_to_gateway(gateway.url, 'j', gauge_registry(), compression='gzip')
        _, _, headers, body = gateway.requests[0]
        assert headers['Content-Encoding'] == 'gzip'
        assert gzip.decompress(body) == G_BODY

    def test_basic_auth(self, gateway: Any) -> None:
        def handler(url: str, method: str, timeout: Any, headers: Any, data: bytes) -> Any:
            return basic_auth_handler(url, method, timeout, headers, data, 'user', 'pa:ss')

        push_to_gateway(gateway.url, 'j', gauge_registry(), handler=handler)
        _, _, headers, _ = gateway.requests[0]
        assert headers['Authorization'] == 'Basic ' + base64.b64encode(b'user:pa:ss').decode()

    def test_error_status_raises_http_error(self, gateway: Any) -> None:
        gateway.routes['/metrics/job/j'] = (400, {})
        with pytest.raises(urllib.error.HTTPError) as info:
            push_to_gateway(gateway.url, 'j', gauge_registry())
        assert info.value.code == 400

    def test_passthrough_redirect_resends_method_headers_and_body(self, gateway: Any) -> None:
        gateway.routes['/old/metrics/job/j'] = (301, {'Location': gateway.url + '/new/metrics/job/j'})
        push_to_gateway(gateway.url + '/old', 'j', gauge_registry(), handler=passthrough_redirect_handler,
                        compression='gzip')
        (m1, p1, h1, b1), (m2, p2, h2, b2) = gateway.requests
        assert (m1, p1, m2, p2) == ('PUT', '/old/metrics/job/j', 'PUT', '/new/metrics/job/j')
        assert b1 == b2 and gzip.decompress(b2) == G_BODY
        assert h2['Content-Type'] == CONTENT_TYPE_PLAIN_0_0_4
        assert h2['Content-Encoding'] == 'gzip'

    def test_passthrough_redirect_refuses_307_for_put(self, gateway: Any) -> None:
        gateway.routes['/metrics/job/j'] = (307, {'Location': gateway.url + '/elsewhere'})
        with pytest.raises(urllib.error.HTTPError) as info:
            push_to_gateway(gateway.url, 'j', gauge_registry(), handler=passthrough_redirect_handler)
        assert info.value.code == 307
        assert len(gateway.requests) == 1

    def test_passthrough_redirect_refuses_delete(self, gateway: Any) -> None:
        gateway.routes['/metrics/job/j'] = (301, {'Location': gateway.url + '/elsewhere'})
        with pytest.raises(urllib.error.HTTPError):
            delete_from_gateway(gateway.url, 'j', handler=passthrough_redirect_handler)

    def test_tls_auth_handler_with_client_certificate(self, tls_server: Any, certs: Dict[str, str]) -> None:
        """The TLS metrics server requires a client certificate and answers PUT with 405."""
        url = f'https://127.0.0.1:{tls_server.server_address[1]}'

        def handler(url: str, method: str, timeout: Any, headers: Any, data: bytes) -> Any:
            return tls_auth_handler(url, method, timeout, headers, data,
                                    certs['client.pem'], certs['client.key'], cafile=certs['ca.pem'])

        with pytest.raises(urllib.error.HTTPError) as info:
            push_to_gateway(url, 'j', gauge_registry(), handler=handler)
        assert info.value.code == 405  # the TLS handshake, client certificate included, succeeded

    def test_tls_auth_handler_insecure_skip_verify(self, tls_server: Any, certs: Dict[str, str]) -> None:
        url = f'https://127.0.0.1:{tls_server.server_address[1]}'

        def handler(url: str, method: str, timeout: Any, headers: Any, data: bytes) -> Any:
            return tls_auth_handler(url, method, timeout, headers, data,
                                    certs['client.pem'], certs['client.key'], insecure_skip_verify=True)

        with pytest.raises(urllib.error.HTTPError) as info:
            push_to_gateway(url, 'j', gauge_registry(), handler=handler)
        assert info.value.code == 405
