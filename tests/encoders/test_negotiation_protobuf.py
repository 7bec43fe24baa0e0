"""Protobuf content negotiation (names-and-negotiation.md section 4) and serving.

* ``choose_encoder`` on the Accept headers Prometheus sends with protobuf
  enabled, and on q-value orderings;
* headers without an acceptable protobuf entry keep the classic choice
  (differential run against the black-box classic client when installed);
* the WSGI and ASGI apps serve protobuf with the exact content type, with
  and without gzip, and with ``name[]``.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
from functools import partial
from typing import Any, Dict, List, Tuple

import pytest

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_asgi_app, make_wsgi_app
from prometheus_client.encoders import protobuf
from prometheus_client.encoders.negotiation import choose_encoder, negotiate
from prometheus_client.encoders.text import generate_latest
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.render import render

PB = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'
ENTRY = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
TEXT_0_0_4 = 'text/plain; version=0.0.4; charset=utf-8'
TEXT_1_0_0 = 'text/plain; version=1.0.0; charset=utf-8; escaping='
OM_1_0_0 = 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping='

# Accept headers of Prometheus with protobuf enabled (names-and-negotiation.md, section 4).
PROMETHEUS_2_42 = f'{ENTRY};q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1'
PROMETHEUS_2_40_NATIVE = (f'{ENTRY},application/openmetrics-text;version=1.0.0;q=0.8,'
                          'application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')
PROMETHEUS_2_40_0 = ('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited,'
                     'application/openmetrics-text;version=1.0.0;q=0.75,application/openmetrics-text;q=0.6,'
                     'text/plain;version=0.0.4;q=0.5,*/*;q=0.1')
PROMETHEUS_3_4_PROTOBUF_FIRST = (
    f'{ENTRY};q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,'
    'application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,'
    'text/plain;version=0.0.4;q=0.2,*/*;q=0.1')
PROMETHEUS_OM_THEN_PROTOBUF = (  # scrape_protocols: [OpenMetricsText1.0.0, PrometheusProto, ...]
    f'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,{ENTRY};q=0.5,'
    'text/plain;version=0.0.4;q=0.4,*/*;q=0.3')


def describe(encoder: Any) -> Tuple[Any, Any]:
    if isinstance(encoder, partial):
        return encoder.func, encoder.keywords
    return encoder, None


PROTOBUF = (protobuf.generate_latest, {'escaping': 'underscores'}, PB)
TEXT = (generate_latest, None, TEXT_0_0_4)

TABLE = [
    (ENTRY, PROTOBUF),
    (PROMETHEUS_2_42, PROTOBUF),
    (PROMETHEUS_2_40_NATIVE, PROTOBUF),
    (PROMETHEUS_2_40_0, PROTOBUF),
    (PROMETHEUS_3_4_PROTOBUF_FIRST, PROTOBUF),  # no escaping on the protobuf entry: underscores
    (PROMETHEUS_OM_THEN_PROTOBUF, (openmetrics.generate_latest, {'escaping': 'allow-utf-8', 'version': '1.0.0'},
                                   OM_1_0_0 + 'allow-utf-8')),
    # q-values decide, whatever the order
    (f'text/plain;version=0.0.4;q=0.5,{ENTRY};q=0.4,*/*;q=0.1', TEXT),
    (f'text/plain;version=1.0.0;q=0.2,{ENTRY};q=0.5', PROTOBUF),
    (f'{ENTRY};q=0.2,text/plain;version=1.0.0;q=0.5',
     (generate_latest, {'escaping': 'underscores'}, TEXT_1_0_0 + 'underscores')),
    (f'text/*;q=0.8,{ENTRY};q=0.7', TEXT),
    # equal q: header order, wildcards after specific entries
    (f'text/plain,{ENTRY}', TEXT),
    (f'{ENTRY},text/plain', PROTOBUF),
    (f'*/*,{ENTRY}', PROTOBUF),
    (f'*/*;q=0.5,{ENTRY};q=0.5', PROTOBUF),
    # entries the reference rules skip are skipped here too
    (f'application/openmetrics-text;version=0.0.1;q=0.9,{ENTRY};q=0.5', PROTOBUF),
    (f'text/plain;version=0.9;q=0.9,{ENTRY};q=0.5', PROTOBUF),
    (f'application/json,{ENTRY};q=0.1', PROTOBUF),
    # an incomparable version is skipped instead of raising
    (f'application/openmetrics-text;version=abc;q=0.9,{ENTRY};q=0.5', PROTOBUF),
    (f'{ENTRY};q=0.5,text/plain;version=abc', PROTOBUF),
    # parameters: case, spaces, quotes, q syntax
    ('APPLICATION/VND.GOOGLE.PROTOBUF;PROTO=io.prometheus.client.MetricFamily;Encoding=delimited', PROTOBUF),
    ('application/vnd.google.protobuf ; proto="io.prometheus.client.MetricFamily" ; encoding="delimited"', PROTOBUF),
    (f'{ENTRY};q=abc,text/plain;version=1.0.0;q=0.9', PROTOBUF),  # unparsable q counts as 1
    (f'{ENTRY};q=7,text/plain;version=1.0.0', PROTOBUF),  # clamped to 1, then header order
    # escaping requested on the protobuf entry: applied and echoed
    (f'{ENTRY};escaping=allow-utf-8', (protobuf.generate_latest, {'escaping': 'allow-utf-8'},
                                       PB + '; escaping=allow-utf-8')),
    (f'{ENTRY};escaping=bogus', (protobuf.generate_latest, {'escaping': 'underscores'},
                                 PB + '; escaping=underscores')),
    # no acceptable protobuf entry: the reference rules, unchanged
    (f'{ENTRY};q=0,text/plain;version=1.0.0', (generate_latest, {'escaping': 'underscores'},
                                                TEXT_1_0_0 + 'underscores')),
    ('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', TEXT),
    ('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text', TEXT),
    ('application/vnd.google.protobuf;encoding=delimited', TEXT),
    ('application/vnd.google.protobuf;proto=other.Message;encoding=delimited', TEXT),
    ('application/vnd.google.protobuf', TEXT),
]


@pytest.mark.parametrize('accept, expected', TABLE)
def test_choose_encoder(accept, expected):
    encoder, content_type = choose_encoder(accept)
    assert (*describe(encoder), content_type) == expected


def test_incomparable_version_without_acceptable_protobuf_still_raises():
    with pytest.raises(TypeError):
        choose_encoder(f'{ENTRY};q=0,application/openmetrics-text;version=abc')


def test_negotiate_protobuf_with_gzip():
    encoder, content_type, use_gzip = negotiate(PROMETHEUS_3_4_PROTOBUF_FIRST, 'gzip')
    assert describe(encoder) == PROTOBUF[:2] and content_type == PB and use_gzip is True
    assert negotiate(PROMETHEUS_2_42, 'gzip', disable_compression=True)[2] is False


CLASSIC_PYTHON = '/work/main/.venv-classic/bin/python'
CLASSIC_SCRIPT = r'''
import json, sys
from functools import partial
from prometheus_client.exposition import choose_encoder
out = []
for accept in json.loads(sys.stdin.read()):
    try:
        encoder, content_type = choose_encoder(accept)
        func = encoder.func if isinstance(encoder, partial) else encoder
        keywords = encoder.keywords if isinstance(encoder, partial) else None
        out.append([func.__module__, keywords, content_type])
    except Exception as e:
        out.append(['error', type(e).__name__, str(e)])
print(json.dumps(out))
'''
MODULE_NAMES = {generate_latest: 'prometheus_client.exposition',
                openmetrics.generate_latest: 'prometheus_client.openmetrics.exposition'}


def unacceptable_protobuf_headers() -> List[str]:
    """Headers that mention protobuf without an acceptable entry, mixed with classic entries."""
    protobuf_entries = [f'{ENTRY};q=0', f'{ENTRY};q=0.0', f'{ENTRY}; q=0',
                        'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text',
                        'application/vnd.google.protobuf;encoding=delimited',
                        'application/vnd.google.protobuf;proto=io.prometheus.client.Metric;encoding=delimited',
                        'application/vnd.google.protobuf', 'application/vnd.google.protobuf;q=0.9']
    others = ['text/plain;version=1.0.0', 'application/openmetrics-text;version=1.0.0;escaping=dots',
              'application/openmetrics-text', 'text/plain;version=0.0.4;q=0.3', '*/*;q=0.1',
              'application/openmetrics-text;version=0.0.1', 'text/plain;version=abc', '']
    headers = []
    for first in protobuf_entries:
        for second in others:
            headers.append(f'{first},{second}')
            headers.append(f'{second},{first}')
    return headers


@pytest.mark.skipif(not os.path.exists(CLASSIC_PYTHON), reason='black-box classic client not installed')
def test_headers_without_acceptable_protobuf_choose_as_classic():
    headers = unacceptable_protobuf_headers()
    completed = subprocess.run([CLASSIC_PYTHON, '-I', '-c', CLASSIC_SCRIPT], input=json.dumps(headers),
                               capture_output=True, text=True, check=True, timeout=120)
    for accept, expected in zip(headers, json.loads(completed.stdout)):
        try:
            encoder, content_type = choose_encoder(accept)
        except Exception as exception:  # noqa: BLE001
            actual = ['error', type(exception).__name__, str(exception)]
        else:
            function, keywords = describe(encoder)
            actual = [MODULE_NAMES[function], keywords, content_type]
        assert actual == expected, accept


# ---------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------

def make_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter('reqs', 'Requests', ['code'], registry=registry)
    counter.labels('200').inc(3)
    Gauge('gg', 'G', registry=registry).set(2)
    Histogram('lat', 'Latency', buckets=[1], native_histogram_bucket_factor=1.1, registry=registry).observe(0.5)
    return registry


def call_wsgi(app: Any, **environ: str) -> Tuple[str, List[Tuple[str, str]], bytes]:
    responses: List[Any] = []
    chunks = app({'REQUEST_METHOD': 'GET', 'PATH_INFO': '/metrics', 'QUERY_STRING': '', **environ},
                 lambda status, headers, exc_info=None: responses.append((status, headers)))
    status, headers = responses[0]
    return status, headers, b''.join(chunks)


def call_asgi(app: Any, headers: List[Tuple[bytes, bytes]], query_string: bytes = b'') -> Tuple[int, Dict, bytes]:
    scope = {'type': 'http', 'asgi': {'version': '3.0'}, 'http_version': '1.1', 'method': 'GET',
             'path': '/metrics', 'query_string': query_string, 'headers': headers}
    incoming = [{'type': 'http.request', 'body': b'', 'more_body': False}]
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent
    return start['status'], dict(start['headers']), body['body']


@pytest.mark.parametrize('accept', [PROMETHEUS_2_42, PROMETHEUS_3_4_PROTOBUF_FIRST])
@pytest.mark.parametrize('use_gzip', [False, True])
def test_wsgi_serves_protobuf(accept, use_gzip):
    registry = make_registry()
    environ = {'HTTP_ACCEPT': accept}
    if use_gzip:
        environ['HTTP_ACCEPT_ENCODING'] = 'gzip'
    status, headers, body = call_wsgi(make_wsgi_app(registry), **environ)
    assert status == '200 OK'
    if use_gzip:
        assert headers == [('Content-Type', PB), ('Content-Encoding', 'gzip')]
        body = gzip.decompress(body)
    else:
        assert headers == [('Content-Type', PB)]
    assert body == protobuf.generate_latest(registry)
    assert [f.name for f in protobuf.decode_metric_families(body)] == ['reqs', 'gg', 'lat']


@pytest.mark.parametrize('use_gzip', [False, True])
def test_asgi_serves_protobuf(use_gzip):
    registry = make_registry()
    request_headers = [(b'accept', PROMETHEUS_3_4_PROTOBUF_FIRST.encode())]
    if use_gzip:
        request_headers.append((b'accept-encoding', b'gzip'))
    status, headers, body = call_asgi(make_asgi_app(registry), request_headers)
    assert status == 200
    assert headers[b'Content-Type'] == PB.encode()
    if use_gzip:
        assert headers[b'Content-Encoding'] == b'gzip'
        body = gzip.decompress(body)
    else:
        assert b'Content-Encoding' not in headers
    assert body == protobuf.generate_latest(registry)


def test_protobuf_with_name_filter_and_disabled_compression():
    registry = make_registry()
    status, headers, body = call_wsgi(make_wsgi_app(registry, disable_compression=True), HTTP_ACCEPT=ENTRY,
                                      HTTP_ACCEPT_ENCODING='gzip', QUERY_STRING='name[]=gg&name[]=reqs_total')
    assert headers == [('Content-Type', PB)]
    assert sorted((f.name, [s.name for s in f.samples]) for f in protobuf.decode_metric_families(body)) == [
        ('gg', ['gg']), ('reqs', ['reqs_total'])]
    status, headers, body = call_asgi(make_asgi_app(registry), [(b'accept', ENTRY.encode())], b'name[]=reqs_created')
    created, = protobuf.decode_metric_families(body)
    assert (created.name, created.type) == ('reqs_created', 'gauge')  # a lone _created, as in the text format


def test_render_without_protobuf_is_unchanged():
    registry = make_registry()
    for accept in (None, 'text/plain', 'application/openmetrics-text; version=1.0.0', '*/*'):
        status, headers, body = render(registry, accept, None, {})
        encoder, content_type = choose_encoder(accept)
        assert headers == [('Content-Type', content_type)] and not content_type.startswith('application/vnd')
        assert body == encoder(registry)
