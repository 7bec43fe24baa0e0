"""One metric of every type on the default registry, for Prometheus to scrape.

Served by whichever transport the test picks:

* ``python every_type.py PORT``: ``start_http_server(PORT, addr='127.0.0.1')``
* ``python every_type.py PORT CERT KEY CAFILE``: the same over HTTPS, with
  client certificates required
* ``gunicorn every_type:wsgi_app``: ``make_wsgi_app()``
* ``uvicorn every_type:asgi_app``: ``make_asgi_app()``

``PEER_APP_TOKEN`` ends up as a label of the Info metric, so the test can
tell its own app apart from anything else that answers on the port.
test_prometheus_scrape.py holds the values Prometheus must end up with.
"""
import os
import sys
import threading

from prometheus_client import (
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    make_asgi_app,
    make_wsgi_app,
    start_http_server,
)

TOKEN = os.environ.get("PEER_APP_TOKEN", "none")

REQUESTS = Counter("peer_requests", "Requests handled.", ["method", "path"])
TEMPERATURE = Gauge("peer_temperature_celsius", "Temperature.")
LATENCY = Summary("peer_latency_seconds", "Latency.")
SIZE = Histogram("peer_size_bytes", "Sizes.", buckets=(10, 100, 1000))
BUILD = Info("peer_build", "Build information.")
STATE = Enum("peer_state", "State.", states=["starting", "running", "stopped"])
TRACED = Counter("peer_traced", "Traced operations.")
DOTTED = Gauge("peer.dotted.gauge", "A UTF-8 name, escaped for Prometheus 2.42.", ["lab.el"])

REQUESTS.labels("get", "/a").inc(3)
REQUESTS.labels(method="post", path="/b/c").inc(1.5)
TEMPERATURE.set(-21.5)
LATENCY.observe(0.25)
LATENCY.observe(0.75)
SIZE.observe(5)
SIZE.observe(50, exemplar={"trace_id": "hist-50"})
SIZE.observe(5000)
BUILD.info({"version": "1.2.3", "token": TOKEN})
STATE.state("running")
TRACED.inc(3, exemplar={"trace_id": "abc123", "span": "s-1"})
DOTTED.labels("v").set(7)

wsgi_app = make_wsgi_app()
asgi_app = make_asgi_app()

if __name__ == "__main__":
    tls = {}
    if len(sys.argv) > 2:
        certfile, keyfile, cafile = sys.argv[2:5]
        tls = dict(certfile=certfile, keyfile=keyfile, client_cafile=cafile, client_auth_required=True)
    start_http_server(int(sys.argv[1]), addr="127.0.0.1", **tls)
    threading.Event().wait()  # SIGTERM ends the process
