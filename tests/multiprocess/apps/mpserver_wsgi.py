"""WSGI app for the real-server multiprocess tests (gunicorn).

Started by tests/multiprocess/test_servers.py with ``--chdir`` pointing
here; never imported by the test process itself.

Endpoints (every response body starts with ``pid=<worker pid>``):

* ``/metrics``: the default registry, ``make_wsgi_app()`` (not instrumented,
  so a scrape never counts itself; the answering worker's pid is in the
  ``X-Worker-Pid`` response header);
* ``/metrics-classic``: the classic per-request pattern (fresh registry
  plus ``MultiProcessCollector``), not instrumented either;
* ``/set?v=<float>``: sets, in the answering worker, one gauge per
  multiprocess mode: label ``sign="pos"`` to v and ``sign="neg"`` to -v;
* ``/grow?start=<i>&n=<n>``: creates (incrementing once) the series
  ``app_many_total{i=...}`` for i in start .. start+n-1 in the answering
  worker, to grow its file over several chunks. The label values are i
  zero-padded to ``GROW_LABEL_WIDTH`` digits, chosen so that each of these
  records takes exactly ``GROW_RECORD_BYTES`` (a power of two) in the
  process file: records then fill a chunk exactly, the edge case of growth;
* ``/add?for=<pid>&v=<float>``: if the answering worker is ``pid``, adds v
  to ``app_work_seconds_total`` (a float-valued counter); the body then
  ends with ``added``;
* ``/gc?n=<n>``: runs n full garbage collections in the answering worker;
* ``/slow?s=<seconds>``: an instrumented request that sleeps;
* any other path: an instrumented request.

Instrumented requests: ``app_in_progress`` (livesum) up for the duration,
``app_requests_total{path}`` incremented before the response is sent,
``app_latency_seconds`` observed.
"""
import gc
import os
import time
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector

MODES = ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent")

REQUESTS = Counter("app_requests", "Requests served, by path.", ["path"])
IN_PROGRESS = Gauge("app_in_progress", "Requests in progress.", multiprocess_mode="livesum")
LATENCY = Histogram("app_latency_seconds", "Request latency.")
GAUGES = {
    mode: Gauge("app_gauge_" + mode, "A gauge in mode %s." % mode, ["sign"], multiprocess_mode=mode)
    for mode in MODES
}

WORK = Counter("app_work_seconds", "Work done, in seconds (float increments).")
MANY_HELP = "Many series, to grow the process files."
MANY = Counter("app_many", MANY_HELP, ["i"])
GROW_RECORD_BYTES = 128


def _grow_label_width():
    """The label width that makes an app_many record GROW_RECORD_BYTES long (8 if unknown)."""
    try:
        from prometheus_client.storage.process_file import series_record_size
    except ImportError:
        return 8
    for width in range(1, GROW_RECORD_BYTES):
        if series_record_size(("0" * width,), 1) == GROW_RECORD_BYTES:
            return width
    return 8


GROW_LABEL_WIDTH = _grow_label_width()

METRICS = make_wsgi_app()


def _reply(start_response, body, content_type="text/plain; charset=utf-8"):
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _pid_body():
    return ("pid=%d\n" % os.getpid()).encode("ascii")


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/metrics":
        def start_response_with_pid(status, headers, *args):
            return start_response(status, headers + [("X-Worker-Pid", str(os.getpid()))], *args)

        return METRICS(environ, start_response_with_pid)
    if path == "/metrics-classic":
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return _reply(start_response, generate_latest(registry), CONTENT_TYPE_LATEST)
    if path == "/set":
        value = float(query["v"][0])
        for gauge in GAUGES.values():
            gauge.labels("pos").set(value)
            gauge.labels("neg").set(-value)
        return _reply(start_response, _pid_body())
    if path == "/add":
        body = _pid_body()
        if int(query["for"][0]) == os.getpid():
            WORK.inc(float(query["v"][0]))
            body += b"added\n"
        return _reply(start_response, body)
    if path == "/gc":
        for _ in range(int(query.get("n", ["1"])[0])):
            gc.collect()
        return _reply(start_response, _pid_body())
    if path == "/grow":
        start, count = int(query["start"][0]), int(query["n"][0])
        for i in range(start, start + count):
            MANY.labels(str(i).zfill(GROW_LABEL_WIDTH)).inc()
        return _reply(start_response, _pid_body())
    IN_PROGRESS.inc()
    started = time.perf_counter()
    try:
        if path == "/slow":
            time.sleep(float(query.get("s", ["1"])[0]))
        REQUESTS.labels(path).inc()
        body = _pid_body()
    finally:
        LATENCY.observe(time.perf_counter() - started)
        IN_PROGRESS.dec()
    return _reply(start_response, body)
