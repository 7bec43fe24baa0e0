"""OpenTelemetry's Prometheus exporter: a WSGI app (apps/otel_app.py) under gunicorn.

The SDK's ``PrometheusMetricReader`` registers a collector (no ``describe``)
on the default ``REGISTRY`` and builds ``CounterMetricFamily`` /
``GaugeMetricFamily`` / ``HistogramMetricFamily`` / ``InfoMetricFamily`` with
keyword arguments on every scrape; ``prometheus_client.start_http_server``
serves them. Checked: the names and units as the exporter maps them
(``http.server.duration`` in ms -> ``http_server_duration_milliseconds``,
``app.sent`` in By -> ``app_sent_bytes_total``, ``{request}`` dropped, an
up-down counter as a gauge), the attribute and scope labels, bucket ``le``
strings exposed verbatim, ``target_info``, and ``# UNIT`` in OpenMetrics.

OpenTelemetry keeps its values in the SDK, per process: in multiprocess mode
each gunicorn worker serves its own OpenTelemetry values next to the
aggregated prometheus_client metrics, so the test checks each worker's
OpenTelemetry series against the requests that worker answered and the
plain Counter against the total.
"""
from __future__ import annotations

import json
from collections import Counter as Tally
from typing import Dict, Optional

import pytest

from ._harness import (Req, Scrape, SeriesKey, Traffic, check_multiproc_dir, decreases, drive, gunicorn_argv, key,
                       run_scenario, settle, wait_for)

pytestmark = pytest.mark.slow
REQUIRES = ("opentelemetry.sdk", "opentelemetry.exporter.prometheus", "gunicorn")
APP = "otel_app:app"
SCOPE = dict(otel_scope_name="integration.app", otel_scope_version="1.0.0", otel_scope_schema_url="")
MILLIS = {"/items/{id}": 5.0, "/login": 50.0, "/logout": 500.0}
BOUNDS = ("1.0", "10.0", "100.0", "+Inf")


def batch(n: int):
    reqs = [Req("GET", "/items/%d" % (i % 10), route="/items/{id}") for i in range(n)]
    reqs += [Req("GET", "/login")] * 3
    reqs += [Req("GET", "/logout")]
    reqs += [Req("GET", "/nowhere", 404, route="unmatched")] * 2
    return reqs


def body_length(req: Req) -> int:
    if req.route == "/items/{id}":
        return len(json.dumps({"id": req.path.rsplit("/", 1)[1]}).encode())
    return len(b"not found") if req.status == 404 else len(b"ok")


def otel_expected(sent: Tally) -> Dict[SeriesKey, float]:
    """The OpenTelemetry series of one process that answered ``sent``."""
    want: Dict[SeriesKey, float] = {}
    if not sent:
        return want
    requests: Tally = Tally()
    for req, count in sent.items():
        requests[(req.route, str(req.status))] += count
    for (route, status), count in requests.items():
        want[key("http_server_requests_total", http_route=route, http_request_method="GET",
                 http_response_status_code=status, **SCOPE)] = count
    for route, millis in MILLIS.items():
        count = sum(c for r, c in sent.items() if r.route == route)
        if not count:
            continue
        labels = dict(http_route=route, **SCOPE)
        want[key("http_server_duration_milliseconds_count", **labels)] = count
        want[key("http_server_duration_milliseconds_sum", **labels)] = millis * count
        for bound in BOUNDS:
            within = bound == "+Inf" or millis <= float(bound)
            want[key("http_server_duration_milliseconds_bucket", le=bound, **labels)] = count if within else 0
    want[key("app_sent_bytes_total", **SCOPE)] = float(sum(body_length(r) * c for r, c in sent.items()))
    logins = sum(c for r, c in sent.items() if r.path == "/login")
    logouts = sum(c for r, c in sent.items() if r.path == "/logout")
    if logins or logouts:
        want[key("app_active_sessions", realm="web", **SCOPE)] = logins - logouts
    return want


def plain_expected(sent: Tally) -> Dict[SeriesKey, float]:
    routes: Tally = Tally()
    for req, count in sent.items():
        routes[req.route] += count
    return {key("otel_app_plain_requests_total", route=route): count for route, count in routes.items()}


def check_mapping(scrape: Scrape) -> None:
    assert scrape.family_types["http_server_requests"] == "counter"
    assert scrape.family_types["http_server_duration_milliseconds"] == "histogram"
    assert scrape.family_types["app_sent_bytes"] == "counter"
    # OpenTelemetry exports an instrument only once it has a measurement: a
    # worker that served no /login nor /logout has no sessions family (the
    # expected values check its presence wherever it must be).
    assert scrape.family_types.get("app_active_sessions", "gauge") == "gauge"
    assert 'le="10.0"' in scrape.text and 'le="+Inf"' in scrape.text  # str(float) bounds, verbatim
    targets = scrape.matching("target_info")
    assert len(targets) == 1, targets
    labels, value = targets[0]
    assert value == 1.0
    assert labels["service_name"] == "integration-otel" and labels["deployment_environment"] == "test", labels
    assert labels["telemetry_sdk_language"] == "python" and labels["telemetry_sdk_name"] == "opentelemetry", labels


def test_single_process(launch):
    server = launch("gunicorn-otel", lambda port, aux: gunicorn_argv(APP, port, 1), workers=1,
                    aux=("metrics",), env=lambda port, aux: {"OTEL_METRICS_PORT": str(aux["metrics"])},
                    ready_extra=[("metrics", "/metrics")])

    def scrape():
        return server.scrape("/metrics", port=server.aux["metrics"])

    def expected(traffic: Traffic):
        return {**otel_expected(traffic.sent), **plain_expected(traffic.sent)}

    _, last = run_scenario(server, scrape, [batch(20), batch(4)], expected)
    check_mapping(last)
    assert last.matching("process_cpu_seconds_total"), "the default registry's own collectors are missing"

    openmetrics = server.request("GET", "/metrics", port=server.aux["metrics"],
                                 headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    text = openmetrics.body.decode("utf-8")
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert "# UNIT http_server_duration_milliseconds milliseconds\n" in text, text[:3000]
    assert "# UNIT app_sent_bytes bytes\n" in text, text[:3000]
    assert "# TYPE target info\n" in text and text.endswith("# EOF\n")


def test_multiprocess_gunicorn_workers(launch, mpdir):
    server = launch("gunicorn-otel-mp", lambda port, aux: gunicorn_argv(APP, port, 3), workers=3,
                    multiproc_dir=mpdir)
    ports: Dict[int, int] = {}

    def discover():
        info = server.request("GET", "/pid").json()
        ports[info["pid"]] = info["metrics_port"]
        return len(ports) >= 3

    wait_for(discover, 20, lambda: "/pid answered by 3 workers (saw %s)" % ports)

    traffic = Traffic()
    previous: Dict[int, Optional[Scrape]] = {pid: None for pid in ports}

    def check_every_worker() -> None:
        for pid, port in sorted(ports.items()):
            want = {**otel_expected(traffic.by_pid.get(pid, Tally())), **plain_expected(traffic.sent)}
            previous[pid] = settle(server, lambda: server.scrape("/metrics", port=port), want, previous[pid])

    for n in (30, 5):
        drive(server, batch(n), traffic)
        check_every_worker()
    rounds = 0
    while set(traffic.by_pid) < set(ports):
        assert rounds < 25, server.fail("workers %s never answered (by pid: %s)" % (set(ports) - set(traffic.by_pid), traffic.by_pid))
        drive(server, [Req("GET", "/items/1", route="/items/{id}")] * 6, traffic, threads=6)
        rounds += 1
    assert set(traffic.by_pid) == set(ports), "a worker not seen by /pid answered: %s vs %s" % (traffic.by_pid, ports)
    check_every_worker()

    for _ in range(2):  # again: exact, no duplicates, nothing decreasing
        for pid, port in sorted(ports.items()):
            scrape = server.scrape("/metrics", port=port)
            want = {**otel_expected(traffic.by_pid[pid]), **plain_expected(traffic.sent)}
            problems = scrape.problems() + decreases(previous[pid], scrape)
            got = {series: scrape.values().get(series) for series in want}
            assert not problems and got == want, server.fail("worker %d: %s\n%r\n%r" % (pid, problems, got, want))
            check_mapping(scrape)
            previous[pid] = scrape
    # The OpenTelemetry totals over the workers are the client's totals.
    totals = sum(server.scrape("/metrics", port=p).total("http_server_requests_total") for p in ports.values())
    assert totals == sum(traffic.sent.values())
    check_multiproc_dir(server)
