"""starlette-exporter: a Starlette app (apps/starlette_exporter_app.py) under uvicorn.

The middleware labels each request with the route template, status code,
``app_name`` and a ``client`` label taken from the X-Client header (allowed
values only); unmatched paths are not counted; ``/metrics``, ``/openmetrics``
and ``/pid`` are skipped. In multiprocess mode its handler builds a fresh
``CollectorRegistry()`` + ``MultiProcessCollector`` per scrape.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from ._harness import AbsentOr, Req, Traffic, key, kill_a_worker_after, run_scenario, uvicorn_argv

pytestmark = pytest.mark.slow
REQUIRES = ("starlette", "starlette_exporter", "uvicorn")
APP = "starlette_exporter_app:app"
APP_NAME = "integration"


def _client(req: Req) -> str:
    value = dict(req.headers).get("X-Client", "")
    return value if value in ("alpha", "beta") else ""


def batch(n: int):
    reqs = []
    for i in range(n):
        reqs.append(Req("GET", "/items/%d" % i, route="/items/{item_id}", headers=(("X-Client", "alpha"),)))
        reqs.append(Req("GET", "/items/%d" % (i + 100), route="/items/{item_id}", headers=(("X-Client", "beta"),)))
    reqs += [Req("GET", "/items/7", route="/items/{item_id}", headers=(("X-Client", "mallory"),))] * 2
    reqs += [Req("POST", "/echo", body=b"x" * 64)] * 3
    reqs += [Req("GET", "/status/404", 404, route="/status/{code}")] * 2
    reqs += [Req("GET", "/status/503", 503, route="/status/{code}")]
    reqs += [Req("GET", "/boom", 500)] * 2
    reqs += [Req("GET", "/not/a/route", 404)] * 2  # unhandled: filtered out by the middleware
    return reqs


def expected(traffic: Traffic):
    want = {}
    counts = defaultdict(int)
    for req, count in traffic.sent.items():
        if req.route == "/not/a/route":
            continue
        counts[(req.method, req.route, str(req.status), _client(req))] += count
    for (method, path, status, client), count in counts.items():
        labels = dict(method=method, path=path, status_code=status, app_name=APP_NAME, client=client)
        want[key("starlette_requests_total", **labels)] = count
        want[key("starlette_request_duration_seconds_count", **labels)] = count
        want[key("starlette_request_duration_seconds_bucket", le="+Inf", **labels)] = count
        # livesum: a label set only a since-killed worker used is gone from the view
        want[key("starlette_requests_in_progress", method=method, app_name=APP_NAME, client=client)] = AbsentOr(0.0)
    return want


def check_final(scrape, traffic: Traffic) -> None:
    assert scrape.family_types.get("starlette_requests") == "counter"
    assert scrape.family_types.get("starlette_request_duration_seconds") == "histogram"
    paths = {labels["path"] for labels, _ in scrape.matching("starlette_requests_total")}
    assert paths == {"/items/{item_id}", "/echo", "/status/{code}", "/boom"}, paths
    buckets = sorted(float(l["le"]) for l, _ in scrape.matching(
        "starlette_request_duration_seconds_bucket", path="/echo"))
    assert buckets == [0.005, 0.05, 0.5, 5.0, float("inf")], buckets
    total = scrape.total("starlette_requests_total")
    assert total == sum(c for r, c in traffic.sent.items() if r.route != "/not/a/route")


def test_single_process(launch):
    server = launch("uvicorn-starlette", lambda port, aux: uvicorn_argv(APP, port))
    traffic, scrape = run_scenario(server, server.scrape, [batch(15), batch(4)], expected)
    check_final(scrape, traffic)
    in_progress = scrape.matching("starlette_requests_in_progress")
    assert sorted((l["method"], l["client"], v) for l, v in in_progress) == [
        ("GET", "", 0.0), ("GET", "alpha", 0.0), ("GET", "beta", 0.0), ("POST", "", 0.0)], in_progress

    # OpenMetrics handler: same totals, exemplars from the callback on counter and buckets.
    response = server.request("GET", "/openmetrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/openmetrics-text"), response.headers
    families = {f.name: f for f in parse_openmetrics(response.body.decode("utf-8"))}
    requests = families["starlette_requests"]
    totals = [s for s in requests.samples if s.name == "starlette_requests_total"]
    assert sum(s.value for s in totals) == scrape.total("starlette_requests_total")
    assert all(s.exemplar is not None and s.exemplar.labels == {"trace_id": "4bf92f3577b34da6"} for s in totals), totals
    buckets = [s for s in families["starlette_request_duration_seconds"].samples if s.name.endswith("_bucket")]
    assert any(s.exemplar and s.exemplar.labels == {"trace_id": "4bf92f3577b34da6"} for s in buckets), buckets


def test_multiprocess_uvicorn_workers(launch, mpdir):
    """uvicorn --workers 2: exact aggregated totals after every batch, no duplicate series,
    no counter going down between consecutive scrapes (also while traffic runs);
    after the first batch the busiest worker is SIGKILLed and replaced, and its
    counts must stay in the totals."""
    server = launch("uvicorn-starlette-mp", lambda port, aux: uvicorn_argv(APP, port, workers=2),
                    workers=2, multiproc_dir=mpdir)
    spread = [Req("GET", "/items/1", route="/items/{item_id}", headers=(("X-Client", "alpha"),))] * 4
    traffic, scrape = run_scenario(server, server.scrape, [batch(30), batch(15), batch(3)], expected,
                                   min_workers=2, spread=spread, final_scrapes=6,
                                   after_batch=kill_a_worker_after(server, 2))
    check_final(scrape, traffic)
    response = server.request("GET", "/openmetrics")
    families = {f.name: f for f in parse_openmetrics(response.body.decode("utf-8"))}
    totals = [s for s in families["starlette_requests"].samples if s.name == "starlette_requests_total"]
    assert sum(s.value for s in totals) == scrape.total("starlette_requests_total")
