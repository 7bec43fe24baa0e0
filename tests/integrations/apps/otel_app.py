"""A WSGI app recording OpenTelemetry metrics, exported with PrometheusMetricReader (run by gunicorn).

As OpenTelemetry documents it: a ``MeterProvider`` with a
``PrometheusMetricReader`` (which registers a collector on the default
``REGISTRY``) and ``prometheus_client.start_http_server(port=..., addr=...)``,
started by each worker on OTEL_METRICS_PORT (0: any free port, reported by
``/pid``). The app also keeps a plain prometheus_client Counter, which in
multiprocess mode is aggregated over the workers while the OpenTelemetry
values stay per process.

Instruments: counter ``http.server.requests`` ({request}), histogram
``http.server.duration`` (ms, buckets 1/10/100 through a View), counter
``app.sent`` (By), up-down counter ``app.active.sessions`` ({session}).
Recorded values are deterministic: /items records 5 ms, /login 50 ms,
/logout 500 ms.
"""
import json
import os

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import Counter, start_http_server

reader = PrometheusMetricReader()
provider = MeterProvider(
    resource=Resource.create({"service.name": "integration-otel", "deployment.environment": "test"}),
    metric_readers=[reader],
    views=[View(instrument_name="http.server.duration", aggregation=ExplicitBucketHistogramAggregation((1.0, 10.0, 100.0)))],
)
meter = provider.get_meter("integration.app", "1.0.0")
REQUESTS = meter.create_counter("http.server.requests", unit="{request}", description="Requests handled")
DURATION = meter.create_histogram("http.server.duration", unit="ms", description="Request duration")
SENT = meter.create_counter("app.sent", unit="By", description="Response bytes sent")
SESSIONS = meter.create_up_down_counter("app.active.sessions", unit="{session}", description="Open sessions")

PLAIN_REQUESTS = Counter("otel_app_plain_requests", "Requests handled (prometheus_client)", ["route"])

metrics_server, _metrics_thread = start_http_server(port=int(os.environ.get("OTEL_METRICS_PORT", "0")), addr="127.0.0.1")
METRICS_PORT = metrics_server.server_address[1]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    method = environ["REQUEST_METHOD"]
    status, body, route, millis = 200, b"ok", path, None
    if path.startswith("/items/"):
        route, millis = "/items/{id}", 5.0
        body = json.dumps({"id": path.rsplit("/", 1)[1]}).encode()
    elif path == "/login":
        millis = 50.0
        SESSIONS.add(1, {"realm": "web"})
    elif path == "/logout":
        millis = 500.0
        SESSIONS.add(-1, {"realm": "web"})
    elif path == "/pid":
        body = json.dumps({"pid": os.getpid(), "metrics_port": METRICS_PORT}).encode()
    else:
        status, body, route = 404, b"not found", "unmatched"
    if path != "/pid":
        attributes = {"http.route": route, "http.request.method": method, "http.response.status_code": status}
        REQUESTS.add(1, attributes)
        if millis is not None:
            DURATION.record(millis, {"http.route": route})
        SENT.add(len(body))
        PLAIN_REQUESTS.labels(route).inc()
    start_response("%d %s" % (status, "OK" if status == 200 else "Not Found"), [
        ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
        ("X-Worker-Pid", str(os.getpid())),
    ])
    return [body]
