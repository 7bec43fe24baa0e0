"""prometheus-flask-exporter: a Flask app (apps/flask_exporter_app.py) under gunicorn.

Single process: ``PrometheusMetrics(app)``, scraped on the app's ``/metrics``.
Multiprocess: ``GunicornPrometheusMetrics(app)`` in three sync workers and the
library's gunicorn recipe (apps/flask_gunicorn_conf.py): the master starts
``prometheus_client.start_http_server`` on its own port (one registry holding
a ``MultiProcessCollector``, scraped again and again) and calls
``mark_process_dead`` from ``child_exit``.
"""
from __future__ import annotations

from collections import defaultdict
from importlib.metadata import version

import pytest

from ._harness import APPS, Req, Traffic, gunicorn_argv, key, kill_a_worker_after, run_scenario

pytestmark = pytest.mark.slow
REQUIRES = ("flask", "prometheus_flask_exporter", "gunicorn")
APP = "flask_exporter_app:app"
BODY = b"flask!" * 11


def batch(n: int):
    reqs = [Req("GET", "/items/%d" % (i % 4)) for i in range(n)]
    reqs += [Req("POST", "/echo", body=BODY)] * 2
    reqs += [Req("GET", "/status/404", 404)] * 2
    reqs += [Req("GET", "/status/202", 202)]
    reqs += [Req("GET", "/boom", 500)] * 2
    reqs += [Req("GET", "/missing", 404)]
    return reqs


def expected(traffic: Traffic):
    want = {}
    totals = defaultdict(int)
    durations = defaultdict(int)
    parity = defaultdict(int)
    for req, count in traffic.sent.items():
        totals[(req.method, str(req.status))] += count
        durations[(req.method, req.path, str(req.status))] += count
        if req.path.startswith("/items/"):
            parity["even" if int(req.path.rsplit("/", 1)[1]) % 2 == 0 else "odd"] += count
    for (method, status), count in totals.items():
        want[key("flask_http_request_total", method=method, status=status)] = count
    for (method, path, status), count in durations.items():
        labels = dict(method=method, path=path, status=status)
        want[key("flask_http_request_duration_seconds_count", **labels)] = count
        want[key("flask_http_request_duration_seconds_bucket", le="+Inf", **labels)] = count
    for label, count in parity.items():
        want[key("flask_app_items_total", parity=label)] = count
    booms = traffic.count(path="/boom")
    if booms:
        want[key("flask_http_request_exceptions_total", method="GET", status="500")] = booms
    want[key("flask_app_info", version="1.2.3")] = 1.0
    want[key("flask_exporter_info", version=version("prometheus-flask-exporter"))] = 1.0
    return want


def check_final(scrape) -> None:
    paths = {l["path"] for l, _ in scrape.matching("flask_http_request_duration_seconds_count")}
    assert "/pid" not in paths and "/metrics" not in paths, paths
    les = sorted(float(l["le"]) for l, _ in scrape.matching("flask_http_request_duration_seconds_bucket", path="/echo"))
    assert les == [0.01, 0.1, 1.0, float("inf")], les
    assert scrape.family_types["flask_app_info"] == "gauge"
    assert len(scrape.matching("flask_app_info")) == 1


def test_single_process(launch):
    server = launch("gunicorn-flask", lambda port, aux: gunicorn_argv(APP, port, 1), workers=1)
    _, scrape = run_scenario(server, server.scrape, [batch(20), batch(4)], expected)
    check_final(scrape)


def test_multiprocess_gunicorn_prometheus_metrics(launch, mpdir):
    """gunicorn -w 3 with the library's recipe, scraped on the master's port: exact aggregated totals after every batch, no duplicate series,
    no counter going down between consecutive scrapes (also while traffic runs);
    after the first batch the busiest worker is SIGKILLed and replaced, and its
    counts must stay in the totals."""
    server = launch(
        "gunicorn-flask-mp",
        lambda port, aux: gunicorn_argv(APP, port, 3, "-c", str(APPS / "flask_gunicorn_conf.py")),
        workers=3, multiproc_dir=mpdir, aux=("metrics",),
        env=lambda port, aux: {"FLASK_METRICS_PORT": str(aux["metrics"])},
        ready_extra=[("metrics", "/metrics")],
    )
    def scrape():
        return server.scrape("/metrics", port=server.aux["metrics"])

    spread = [Req("GET", "/items/1")] * 6
    _, last = run_scenario(server, scrape, [batch(40), batch(20), batch(3)], expected,
                           min_workers=3, spread=spread, final_scrapes=6,
                           after_batch=kill_a_worker_after(server, 3))
    check_final(last)
    # The app itself has no /metrics in this mode: the master serves them.
    assert server.request("GET", "/metrics").status == 404
