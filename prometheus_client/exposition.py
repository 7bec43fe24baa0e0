"""Transports: serve, push and write metrics (public façade of 0.26.0).

This module is the stable import path for everything that moves metrics out
of the process. It does no formatting of its own: every byte of a scrape
comes from the shared render path (:func:`prometheus_client.render.render`,
reached through :func:`_bake_output`), and every pushed or written body comes
from the text encoder (:func:`generate_latest`). What lives here is only the
plumbing around them:

* HTTP serving: :func:`make_wsgi_app` (a WSGI callable),
  :func:`start_http_server` / :func:`start_wsgi_server` (a threaded
  ``wsgiref`` server, optionally with TLS and client-certificate
  authentication) and :class:`MetricsHandler` (a ``http.server`` handler).
* The Pushgateway client: :func:`push_to_gateway` (PUT),
  :func:`pushadd_to_gateway` (POST), :func:`delete_from_gateway` (DELETE) and
  the pluggable request handlers (:func:`default_handler`,
  :func:`basic_auth_handler`, :func:`tls_auth_handler`,
  :func:`passthrough_redirect_handler`).
* :func:`write_to_textfile` for the node_exporter textfile collector.

Thread safety: every function here may be called from any thread. The
servers handle each request in its own daemon thread; the registry is only
read (through ``collect()``), so concurrent scrapes are safe as long as the
registry's collectors are.

Exceptions: errors raised while collecting or encoding propagate unchanged
out of the HTTP handlers (the server closes the connection), out of the push
functions and out of :func:`write_to_textfile`. TLS set-up raises the
``OSError`` subclass it met (``FileNotFoundError``, ``ssl.SSLError`` ...)
with a message that names the offending files. A Pushgateway reply with
status >= 400 raises ``urllib.error.HTTPError`` (an ``OSError``).
"""
from __future__ import annotations

import base64
import gzip
import os
import socket
import ssl
import sys
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingMixIn
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple, Union
from urllib.error import HTTPError
from urllib.parse import parse_qs, quote_plus, urlparse
from urllib.request import (
    BaseHandler,
    HTTPHandler,
    HTTPRedirectHandler,
    HTTPSHandler,
    Request,
    build_opener,
)
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .asgi import make_asgi_app
from .encoders.negotiation import (  # noqa: F401  (re-exported)
    _get_escaping,
    _get_version,
    choose_encoder,
    gzip_accepted,
)
from .encoders.text import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0,
    generate_latest,
)
from .registry import REGISTRY, Collector
from .render import render

try:
    import snappy  # type: ignore[import-not-found]

    SNAPPY_AVAILABLE = True
except ImportError:
    snappy = None
    SNAPPY_AVAILABLE = False

__all__ = (
    'CONTENT_TYPE_LATEST',
    'CONTENT_TYPE_PLAIN_0_0_4',
    'CONTENT_TYPE_PLAIN_1_0_0',
    'delete_from_gateway',
    'generate_latest',
    'instance_ip_grouping_key',
    'make_asgi_app',
    'make_wsgi_app',
    'MetricsHandler',
    'push_to_gateway',
    'pushadd_to_gateway',
    'start_http_server',
    'start_wsgi_server',
    'write_to_textfile',
)

CompressionType = Optional[Literal['gzip', 'snappy']]
"""Request-body compression accepted by the push functions."""

_ALLOWED_METHODS = 'OPTIONS,GET'


# ---------------------------------------------------------------------------
# The one render path, as every transport here sees it.
# ---------------------------------------------------------------------------

def _bake_output(
    registry: Collector,
    accept_header: Optional[str],
    accept_encoding_header: Optional[str],
    params: Dict[str, Any],
    disable_compression: bool,
) -> Tuple[str, List[Tuple[str, str]], bytes]:
    """Render a scrape response: ``('200 OK', headers, body)``.

    A thin alias of :func:`prometheus_client.render.render`, kept under this
    name because third-party adapters call it and tests patch it: the WSGI
    app and :class:`MetricsHandler` look it up on this module at every
    request.

    Args:
        registry: Anything with ``collect()``; ``params['name[]']`` restricts
            it with ``registry.restricted_registry(...)``.
        accept_header: The request's Accept header (or None).
        accept_encoding_header: The request's Accept-Encoding header (or None).
        params: Query parameters as ``urllib.parse.parse_qs`` returns them.
        disable_compression: Never gzip, whatever the client accepts.

    Raises:
        Whatever negotiation, collection or encoding raises (for example
        ``TypeError`` for a non-numeric ``version=`` in Accept).
    """
    return render(registry, accept_header, accept_encoding_header, params, disable_compression)


# ---------------------------------------------------------------------------
# WSGI app and the built-in threaded server.
# ---------------------------------------------------------------------------

def make_wsgi_app(registry: Collector = REGISTRY, disable_compression: bool = False) -> Callable:
    """Build a WSGI application that serves ``registry``.

    GET on any path returns the metrics (``/favicon.ico`` excepted: an empty
    200 without collecting); OPTIONS returns 200 with ``Allow: OPTIONS,GET``;
    every other method (HEAD included) gets 405 with the same ``Allow``
    header. The returned callable is thread-safe and keeps no state.

    Raises (from the app, per request):
        KeyError: ``REQUEST_METHOD`` (or, for GET, ``PATH_INFO``) is missing
            from the environ.
        Exception: whatever rendering raises.
    """

    def prometheus_app(environ: Dict[str, Any], start_response: Callable) -> List[bytes]:
        method = environ['REQUEST_METHOD']
        if method == 'OPTIONS':
            start_response('200 OK', [('Allow', _ALLOWED_METHODS)])
            return [b'']
        if method != 'GET':
            start_response('405 Method Not Allowed', [('Allow', _ALLOWED_METHODS)])
            message = f'# HTTP 405 Method Not Allowed: {method}; use OPTIONS or GET\n'
            return [message.encode('utf-8')]
        if environ['PATH_INFO'] == '/favicon.ico':
            # Browsers ask for it; answering without collecting is cheaper.
            start_response('200 OK', [])
            return [b'']
        params = parse_qs(environ.get('QUERY_STRING', ''))
        # Looked up on the module at call time on purpose (patch point).
        status, headers, body = _bake_output(
            registry,
            environ.get('HTTP_ACCEPT'),
            environ.get('HTTP_ACCEPT_ENCODING'),
            params,
            disable_compression,
        )
        start_response(status, headers)
        return [body]

    return prometheus_app


class _SilentHandler(WSGIRequestHandler):
    """WSGI request handler that does not log requests to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Drop the access-log line."""


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """Threaded WSGI server: one daemon thread per request."""

    daemon_threads = True


def _get_best_family(address: Optional[str], port: Union[int, str]) -> Tuple[socket.AddressFamily, str]:
    """Return ``(family, host)`` of the first passive TCP address for a bind.

    Lets ``addr='::'`` or ``'::1'`` bind an IPv6 socket and a host name bind
    whatever it resolves to first.

    Raises:
        socket.gaierror: The address does not resolve.
    """
    infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, sockaddr = infos[0]
    return family, str(sockaddr[0])


def _get_ssl_ctx(
    certfile: str,
    keyfile: str,
    protocol: int,
    cafile: Optional[str] = None,
    capath: Optional[str] = None,
    client_auth_required: bool = False,
    tls_min_version: Optional[ssl.TLSVersion] = None,
    tls_max_version: Optional[ssl.TLSVersion] = None,
) -> ssl.SSLContext:
    """Build the server-side TLS context of :func:`start_wsgi_server`.

    Client CAs come from ``cafile``/``capath`` when either is given, else
    from the system defaults. ``client_auth_required`` makes a client
    certificate mandatory (``CERT_REQUIRED``).

    Raises:
        OSError: (the same subclass as the underlying error, such as
            ``FileNotFoundError`` or ``ssl.SSLError``) when the CA chain,
            the default CA chain or the server certificate and key cannot be
            loaded; the message names the files.
    """
    context = ssl.SSLContext(protocol=protocol)
    if cafile is not None or capath is not None:
        try:
            context.load_verify_locations(cafile, capath)
        except OSError as exc:
            raise type(exc)(
                f'Cannot load CA certificate chain from file {cafile!r} or directory {capath!r}: {exc}'
            ) from exc
    else:
        try:
            context.load_default_certs(purpose=ssl.Purpose.CLIENT_AUTH)
        except OSError as exc:
            raise type(exc)(f'Cannot load default CA certificate chain: {exc}') from exc
    if client_auth_required:
        context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_cert_chain(certfile=certfile, keyfile=keyfile)
    except OSError as exc:
        raise type(exc)(
            f'Cannot load server certificate file {certfile!r} or its private key file {keyfile!r}: {exc}'
        ) from exc
    if tls_min_version is not None:
        context.minimum_version = tls_min_version
    if tls_max_version is not None:
        context.maximum_version = tls_max_version
    return context


def start_wsgi_server(
    port: int,
    addr: str = '0.0.0.0',
    registry: Collector = REGISTRY,
    certfile: Optional[str] = None,
    keyfile: Optional[str] = None,
    client_cafile: Optional[str] = None,
    client_capath: Optional[str] = None,
    protocol: int = ssl.PROTOCOL_TLS_SERVER,
    client_auth_required: bool = False,
    tls_min_version: Optional[ssl.TLSVersion] = None,
    tls_max_version: Optional[ssl.TLSVersion] = None,
) -> Tuple[WSGIServer, threading.Thread]:
    """Serve ``registry`` over HTTP (or HTTPS) from a daemon thread.

    ``start_http_server`` is the same function. ``port=0`` picks a free port
    (read it from ``server.server_address[1]``). HTTPS is used when both
    ``certfile`` and ``keyfile`` are given; ``client_cafile``/``client_capath``
    and ``client_auth_required`` configure client-certificate checks. The
    TLS handshake runs in the request's own thread, so a client that never
    completes it cannot stall the accept loop.

    Stop it with ``server.shutdown(); server.server_close(); thread.join()``.

    Returns:
        ``(server, thread)``; the server class derives from
        :class:`ThreadingWSGIServer`.

    Raises:
        OSError: The address cannot be bound, or the TLS files cannot be
            loaded (see :func:`_get_ssl_ctx`).
        socket.gaierror: ``addr`` does not resolve.
    """

    class TmpServer(ThreadingWSGIServer):
        """ThreadingWSGIServer bound to the address family of ``addr``."""

        def handle_error(self, request: Any, client_address: Any) -> None:
            # A failed handshake or a client hanging up is the client's
            # business, not a server error worth a traceback on stderr.
            if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
                return
            super().handle_error(request, client_address)

    TmpServer.address_family, addr = _get_best_family(addr, port)
    context = None
    if certfile and keyfile:
        # Built before binding, so bad TLS files leave no socket behind.
        context = _get_ssl_ctx(
            certfile, keyfile, protocol, client_cafile, client_capath,
            client_auth_required, tls_min_version, tls_max_version,
        )
    app = make_wsgi_app(registry)
    httpd = make_server(addr, port, app, TmpServer, handler_class=_SilentHandler)
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=httpd.serve_forever)
    thread.daemon = True
    thread.start()
    return httpd, thread


start_http_server = start_wsgi_server


class MetricsHandler(BaseHTTPRequestHandler):
    """``http.server`` request handler that serves a registry on GET.

    Usable directly as the handler class of an ``HTTPServer`` (it serves the
    class attribute ``registry``, REGISTRY by default) or through
    :meth:`factory`. Any path is served (no favicon special case), the
    ``name[]`` query parameter, Accept and Accept-Encoding are honoured; only
    GET is implemented (other methods get the standard 501). Errors raised
    while rendering propagate and the server closes the connection.
    """

    registry: Collector = REGISTRY

    def do_GET(self) -> None:
        """Send the rendered metrics (status, headers, then the body)."""
        params = parse_qs(urlparse(self.path).query)
        # Looked up on the module at call time on purpose (patch point).
        status, headers, body = _bake_output(
            self.registry,
            self.headers.get('Accept'),
            self.headers.get('Accept-Encoding'),
            params,
            False,
        )
        code, _, reason = status.partition(' ')
        self.send_response(int(code), reason or None)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Drop the access-log line."""

    @classmethod
    def factory(cls, registry: Collector) -> type:
        """Return a subclass of ``cls`` (same ``__name__``) serving ``registry``."""
        return type(str(cls.__name__), (cls, object), {'registry': registry})


# ---------------------------------------------------------------------------
# Textfile collector.
# ---------------------------------------------------------------------------

def write_to_textfile(
    path: str,
    registry: Collector,
    escaping: str = 'allow-utf-8',
    tmpdir: Optional[str] = None,
) -> None:
    """Atomically replace ``path`` with the text-format exposition of ``registry``.

    The body is written to ``<path>.<pid>.<thread ident>`` (or to that base
    name inside ``tmpdir``, which must be on the same filesystem), flushed
    and fsync'ed, then renamed over ``path``: a reader such as the
    node_exporter textfile collector sees either the old file or the whole
    new one, never a partial write, even across a crash. On any error the
    temporary file is removed and ``path`` is left untouched.

    Note the default escaping ``allow-utf-8`` quotes UTF-8 names, which
    node_exporter rejects; pass ``escaping='underscores'`` for it.

    Thread safety: concurrent calls for the same path from different threads
    or processes use distinct temporary files; the last rename wins.

    Raises:
        OSError: The temporary file cannot be written or renamed.
        Exception: whatever collection or encoding raises.
    """
    ident = threading.current_thread().ident
    if tmpdir is None:
        tmppath = f'{path}.{os.getpid()}.{ident}'
    else:
        tmppath = f'{os.path.join(tmpdir, os.path.basename(path))}.{os.getpid()}.{ident}'
    try:
        # Render first: a failing collector then creates no file at all.
        body = generate_latest(registry, escaping)
        with open(tmppath, 'wb') as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        if os.name == 'nt':
            os.replace(tmppath, path)
        else:
            os.rename(tmppath, path)
    except BaseException:
        if os.path.exists(tmppath):
            os.remove(tmppath)
        raise


# ---------------------------------------------------------------------------
# Pushgateway client.
# ---------------------------------------------------------------------------

class _PrometheusRedirectHandler(HTTPRedirectHandler):
    """Redirect handler that re-sends the same method, headers and body.

    urllib's default turns a redirected PUT/POST into a body-less GET; the
    Pushgateway needs the original request. Followed: 301/302/303/307 for
    GET and HEAD, 301/302/303 for POST and PUT. Anything else raises
    ``urllib.error.HTTPError``.
    """

    def redirect_request(self, req: Request, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Request:
        """Build the request for ``newurl`` (see the class docstring)."""
        method = req.get_method()
        followed = (
            (code in (301, 302, 303, 307) and method in ('GET', 'HEAD'))
            or (code in (301, 302, 303) and method in ('POST', 'PUT'))
        )
        if not followed:
            raise HTTPError(req.full_url, code, msg, headers, fp)
        new_request = Request(
            newurl.replace(' ', '%20'),
            data=req.data,
            headers=req.headers,
            origin_req_host=req.origin_req_host,
            unverifiable=True,
            method=method,
        )
        return new_request


def _make_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: Sequence[Tuple[str, str]],
    data: bytes,
    base_handler: Union[BaseHandler, type],
) -> Callable[[], None]:
    """Return a callable that sends one request through ``base_handler``.

    Raises (from the callable):
        urllib.error.HTTPError: The gateway answered with status >= 400.
        urllib.error.URLError: The gateway cannot be reached.
        OSError: A status >= 400 that urllib did not already raise for.
    """

    def handle() -> None:
        request = Request(url, data=data, method=method)
        for name, value in headers:
            request.add_header(name, value)
        response = build_opener(base_handler).open(request, timeout=timeout)
        with closing(response):
            if response.code >= 400:
                raise OSError(f'error talking to pushgateway: {response.code} {response.msg}')

    return handle


def default_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: List[Tuple[str, str]],
    data: bytes,
) -> Callable[[], None]:
    """Plain urllib request handler (see :func:`_make_handler` for errors)."""
    return _make_handler(url, method, timeout, headers, data, HTTPHandler)


def passthrough_redirect_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: List[Tuple[str, str]],
    data: bytes,
) -> Callable[[], None]:
    """Handler that follows redirects with the same method, headers and body.

    See :class:`_PrometheusRedirectHandler` for which redirects are followed.
    """
    return _make_handler(url, method, timeout, headers, data, _PrometheusRedirectHandler)


def basic_auth_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: List[Tuple[str, str]],
    data: bytes,
    username: Optional[str] = None,
    password: Optional[str] = None,
) -> Callable[[], None]:
    """Handler that adds HTTP basic authentication.

    When the returned callable runs and both credentials are given, it
    appends ``('Authorization', b'Basic <base64 of user:password>')`` (a bytes
    value) to ``headers`` and sends the request like :func:`default_handler`.
    """

    def handle() -> None:
        if username is not None and password is not None:
            token = base64.b64encode(f'{username}:{password}'.encode('utf-8'))
            headers.append(('Authorization', b'Basic ' + token))  # type: ignore[arg-type]
        default_handler(url, method, timeout, headers, data)()

    return handle


def tls_auth_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: List[Tuple[str, str]],
    data: bytes,
    certfile: str,
    keyfile: str,
    cafile: Optional[str] = None,
    protocol: int = ssl.PROTOCOL_TLS_CLIENT,
    insecure_skip_verify: bool = False,
) -> Callable[[], None]:
    """Handler that talks HTTPS with a client certificate.

    The server is verified against ``cafile`` (or the system CAs) unless
    ``insecure_skip_verify``. The TLS context is built immediately.

    Raises:
        OSError: (``FileNotFoundError``, ``ssl.SSLError`` ...) the CA file,
            certificate or key cannot be loaded; raised by this call, not by
            the returned callable.
    """
    context = ssl.SSLContext(protocol=protocol)
    if cafile is not None:
        context.load_verify_locations(cafile)
    else:
        context.load_default_certs()
    if insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(certfile=certfile, keyfile=keyfile)
    return _make_handler(url, method, timeout, headers, data, HTTPSHandler(context=context))


def _escape_grouping_key(k: str, v: str) -> Tuple[str, str]:
    """Encode one grouping-key pair as two URL path segments.

    An empty value becomes ``k@base64`` / ``=``; a value holding ``/`` or a
    space becomes ``k@base64`` / its URL-safe base64 (padding kept); any
    other value is ``quote_plus``-encoded.
    """
    if v == '':
        # A lone '=' is valid (empty) base64 and keeps the segment non-empty.
        return k + '@base64', '='
    if '/' in v or ' ' in v:
        # A '/' cannot travel in a path segment even percent-encoded, and
        # quote_plus would turn a space into '+', which the gateway keeps.
        return k + '@base64', base64.urlsafe_b64encode(v.encode('utf-8')).decode('utf-8')
    return k, quote_plus(v)


def _compress_payload(data: bytes, compression: CompressionType) -> Tuple[bytes, List[Tuple[str, str]]]:
    """Compress a push body; return it with the request headers.

    ``compression`` is matched case-insensitively.

    Raises:
        RuntimeError: ``'snappy'`` without python-snappy installed.
        ValueError: Any other value than None, ``'gzip'`` or ``'snappy'``.
    """
    headers = [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)]
    if compression is None:
        return data, headers
    encoding = compression.lower()
    if encoding == 'gzip':
        headers.append(('Content-Encoding', 'gzip'))
        return gzip.compress(data), headers
    if encoding == 'snappy':
        if not SNAPPY_AVAILABLE:
            raise RuntimeError('Snappy compression requires the python-snappy package to be installed.')
        # The gateway expects the framed (stream) format, not raw blocks.
        compressor = snappy.StreamCompressor()
        compressed = compressor.compress(data)
        flush = getattr(compressor, 'flush', None)
        if flush is not None:
            compressed += flush()
        headers.append(('Content-Encoding', 'snappy'))
        return compressed, headers
    raise ValueError(f'Unsupported compression type: {compression}')


def _gateway_url(gateway: str, job: str, grouping_key: Optional[Dict[str, Any]]) -> str:
    """Build ``<gateway>/metrics/job/<job>{/<k>/<v>}`` (keys sorted)."""
    if urlparse(gateway).scheme not in ('http', 'https'):
        gateway = f'http://{gateway}'
    gateway = gateway.rstrip('/')
    url = '{}/metrics/{}/{}'.format(gateway, *_escape_grouping_key('job', job))
    if grouping_key:
        url += ''.join(
            '/{}/{}'.format(*_escape_grouping_key(str(k), str(v)))
            for k, v in sorted(grouping_key.items())
        )
    return url


def _use_gateway(
    method: str,
    gateway: str,
    job: str,
    registry: Optional[Collector],
    grouping_key: Optional[Dict[str, Any]],
    timeout: Optional[float],
    handler: Callable,
    compression: CompressionType = None,
) -> None:
    """Send one PUT/POST/DELETE to the Pushgateway through ``handler``.

    The handler is called with keyword arguments ``url``, ``method``,
    ``timeout``, ``headers`` (a list of 2-tuples it may extend) and ``data``,
    and the callable it returns is invoked with no arguments.

    Raises:
        ValueError: Unsupported compression, or compression with DELETE.
        RuntimeError: Snappy requested but not installed.
        Exception: whatever the URL building, collection or handler raises.
    """
    url = _gateway_url(gateway, job, grouping_key)
    if method == 'DELETE':
        if compression is not None:
            raise ValueError('Compression is not supported for DELETE requests.')
        data = b''
        headers = [('Content-Type', CONTENT_TYPE_PLAIN_0_0_4)]
    else:
        if registry is None:
            registry = REGISTRY
        data, headers = _compress_payload(generate_latest(registry), compression)
    handler(url=url, method=method, timeout=timeout, headers=headers, data=data)()


def push_to_gateway(
    gateway: str,
    job: str,
    registry: Collector,
    grouping_key: Optional[Dict[str, Any]] = None,
    timeout: Optional[float] = 30,
    handler: Callable = default_handler,
    compression: CompressionType = None,
) -> None:
    """Replace the whole group ``job`` + ``grouping_key`` with ``registry`` (PUT).

    ``gateway`` is a base URL; ``http://`` is prefixed unless it already has
    an http or https scheme. See :func:`_use_gateway` for what is raised.
    """
    _use_gateway('PUT', gateway, job, registry, grouping_key, timeout, handler, compression)


def pushadd_to_gateway(
    gateway: str,
    job: str,
    registry: Optional[Collector],
    grouping_key: Optional[Dict[str, Any]] = None,
    timeout: Optional[float] = 30,
    handler: Callable = default_handler,
    compression: CompressionType = None,
) -> None:
    """Replace the pushed metric families within the group (POST).

    ``registry=None`` pushes the global REGISTRY. See :func:`push_to_gateway`.
    """
    _use_gateway('POST', gateway, job, registry, grouping_key, timeout, handler, compression)


def delete_from_gateway(
    gateway: str,
    job: str,
    grouping_key: Optional[Dict[str, Any]] = None,
    timeout: Optional[float] = 30,
    handler: Callable = default_handler,
) -> None:
    """Delete every metric of exactly this group (DELETE, empty body)."""
    _use_gateway('DELETE', gateway, job, None, grouping_key, timeout, handler)


def instance_ip_grouping_key() -> Dict[str, Any]:
    """Return ``{'instance': <IP of this host>}`` for use as a grouping key.

    The address is the local end of a UDP socket "connected" to localhost
    (no packet is sent), which on Linux is usually ``127.0.0.1``.

    Raises:
        OSError: No usable local address.
    """
    with closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as s:
        if sys.platform == 'darwin':
            # macOS refuses to connect a UDP socket to port 0.
            s.connect(('10.255.255.255', 1))
        else:
            s.connect(('localhost', 0))
        return {'instance': s.getsockname()[0]}
