"""Native histograms for a Prometheus started with ``--enable-feature=native-histograms``.

Two ways to run it (test_prometheus_native_histograms.py holds the values):

* ``python native_app.py PORT``: one process, ``start_http_server(PORT)``
  serving its own registry: ``nhpeer_native_seconds`` (native buckets only,
  factor 1.1) and ``nhpeer_mixed_seconds{route}`` (native and classic
  buckets). The observations are read at startup from the JSON object in
  ``NH_APP_OBSERVATIONS``: ``{"native": [...], "mixed": {route: [...]}}``.
  ``nhpeer_identity_info{token}`` carries ``PEER_APP_TOKEN``.
* ``gunicorn native_app:app`` with ``PROMETHEUS_MULTIPROC_DIR`` set:
  ``/observe?v=<float>`` observes v into ``nhpeer_mp_seconds`` (native only,
  factor 1.1, at most 12 populated buckets, so a worker halves its
  resolution as its values spread) and answers ``ok pid=<worker pid>``;
  ``/metrics`` is ``make_wsgi_app()`` on the default registry (the
  aggregated multiprocess view). ``nhpeer_mp_identity{token}`` is a gauge
  (mode ``max``, as Info is a single-process type) carrying the token.
"""
import json
import os
import sys
import threading
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Gauge, Histogram, Info, make_wsgi_app, start_http_server

TOKEN = os.environ.get("PEER_APP_TOKEN", "none")
FACTOR = 1.1
MP_MAX_BUCKETS = 12
MIXED_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0)


def single_process_registry(observations):
    """A fresh registry with the single-process metrics, ``observations`` already made."""
    registry = CollectorRegistry()
    Info("nhpeer_identity", "Which test process this is.", registry=registry).info({"token": TOKEN})
    native = Histogram("nhpeer_native_seconds", "Native buckets only.", registry=registry,
                       native_histogram_bucket_factor=FACTOR)
    mixed = Histogram("nhpeer_mixed_seconds", "Native and classic buckets.", ["route"],
                      registry=registry, buckets=MIXED_BUCKETS, native_histogram_bucket_factor=FACTOR)
    for value in observations["native"]:
        native.observe(value)
    for route, values in sorted(observations["mixed"].items()):
        for value in values:
            mixed.labels(route).observe(value)
    return registry


# -- the multiprocess WSGI app (module level: every gunicorn worker imports it) --

MP_HISTOGRAM = Histogram("nhpeer_mp_seconds", "Observed through /observe, in every worker.",
                         native_histogram_bucket_factor=FACTOR,
                         native_histogram_max_bucket_number=MP_MAX_BUCKETS)
MP_IDENTITY = Gauge("nhpeer_mp_identity", "Which test process this is.", ["token"],
                    multiprocess_mode="max")
MP_IDENTITY.labels(TOKEN).set(1)
METRICS = make_wsgi_app()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/observe":
        try:
            value = float(parse_qs(environ.get("QUERY_STRING", ""))["v"][0])
        except (KeyError, ValueError):
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"need ?v=<float>\n"]
        MP_HISTOGRAM.observe(value)
        body = ("ok pid=%d\n" % os.getpid()).encode("ascii")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/metrics":
        return METRICS(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]


if __name__ == "__main__":
    start_http_server(int(sys.argv[1]), addr="127.0.0.1",
                      registry=single_process_registry(json.loads(os.environ["NH_APP_OBSERVATIONS"])))
    threading.Event().wait()  # SIGTERM ends the process
