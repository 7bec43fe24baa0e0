"""prometheus-fastapi-instrumentator: a FastAPI app (apps/fastapi_instrumentator_app.py) under uvicorn.

Default metrics (counter by handler/method/status, request/response size
summaries, two latency histograms), the livesum in-progress gauge and a
custom counter added through ``Instrumentator.add``; unmatched paths are
grouped under ``handler="none"``. In multiprocess mode ``expose()`` builds a
fresh ``CollectorRegistry()`` + ``MultiProcessCollector`` per scrape.
"""
from __future__ import annotations

import gzip
from collections import defaultdict

import pytest

from ._harness import AbsentOr, Req, Scrape, Traffic, key, kill_a_worker_after, run_scenario, uvicorn_argv

pytestmark = pytest.mark.slow
REQUIRES = ("fastapi", "prometheus_fastapi_instrumentator", "uvicorn")
APP = "fastapi_instrumentator_app:app"
BODY = b"0123456789" * 7


def batch(n: int):
    reqs = [Req("GET", "/items/%d" % i, route="/items/{item_id}") for i in range(n)]
    reqs += [Req("POST", "/echo", body=BODY)] * 3
    reqs += [Req("GET", "/status/404", 404, route="/status/{code}")] * 2
    reqs += [Req("GET", "/status/201", 201, route="/status/{code}")]
    reqs += [Req("GET", "/boom", 500)] * 2
    reqs += [Req("GET", "/does/not/exist", 404, route="none")] * 2
    return reqs


def expected(traffic: Traffic):
    want = {}
    by_status = defaultdict(int)
    by_handler_method = defaultdict(int)
    by_handler = defaultdict(int)
    for req, count in traffic.sent.items():
        by_status[(req.route, req.method, str(req.status))] += count
        by_handler_method[(req.route, req.method)] += count
        by_handler[req.route] += count
    for (handler, method, status), count in by_status.items():
        want[key("http_requests_total", handler=handler, method=method, status=status)] = count
    for (handler, method), count in by_handler_method.items():
        want[key("http_request_duration_seconds_count", handler=handler, method=method)] = count
        want[key("http_request_duration_seconds_bucket", handler=handler, method=method, le="+Inf")] = count
        # livesum: a label set only a since-killed worker used is gone from the view
        want[key("http_requests_inprogress", handler=handler, method=method)] = AbsentOr(0.0)
    for handler, count in by_handler.items():
        want[key("http_request_size_bytes_count", handler=handler)] = count
        want[key("http_response_size_bytes_count", handler=handler)] = count
    echoes = traffic.count(route="/echo")
    want[key("http_request_size_bytes_sum", handler="/echo")] = float(len(BODY) * echoes)
    want[key("http_response_size_bytes_sum", handler="/echo")] = float(len(BODY) * echoes)
    want[key("http_request_duration_highr_seconds_count")] = sum(traffic.sent.values())
    items = [int(r.path.rsplit("/", 1)[1]) for r in traffic.sent for _ in range(traffic.sent[r]) if r.route == "/items/{item_id}"]
    for parity, test in (("even", 0), ("odd", 1)):
        count = sum(1 for i in items if i % 2 == test)
        if count:
            want[key("fastapi_app_items_total", parity=parity)] = count
    return want


def check_final(scrape) -> None:
    handlers = {l["handler"] for l, _ in scrape.matching("http_requests_total")}
    assert handlers == {"/items/{item_id}", "/echo", "/status/{code}", "/boom", "none"}, handlers
    assert scrape.family_types["http_requests"] == "counter"
    assert scrape.family_types["http_request_size_bytes"] == "summary"
    assert scrape.family_types["http_request_duration_seconds"] == "histogram"
    assert scrape.family_types["http_requests_inprogress"] == "gauge"
    les = sorted(float(l["le"]) for l, _ in scrape.matching("http_request_duration_seconds_bucket", handler="/echo"))
    assert les == [0.01, 0.1, 1.0, float("inf")], les
    assert len(scrape.matching("http_request_duration_highr_seconds_bucket")) > 20


def test_single_process(launch):
    server = launch("uvicorn-fastapi", lambda port, aux: uvicorn_argv(APP, port))
    _, scrape = run_scenario(server, server.scrape, [batch(20), batch(4)], expected)
    check_final(scrape)
    in_progress = scrape.matching("http_requests_inprogress")
    assert len(in_progress) == 5 and all(v == 0.0 for _, v in in_progress), in_progress
    assert scrape.matching("process_cpu_seconds_total"), "the default registry's process collector is missing"
    gz = server.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
    assert gz.status == 200 and gz.headers.get("Content-Encoding") == "gzip", dict(gz.headers)
    unzipped = Scrape(gzip.decompress(gz.body).decode("utf-8"), "gzip /metrics")
    assert unzipped.problems() == []
    assert unzipped.value("http_requests_total", handler="/echo", method="POST", status="200") == \
        scrape.value("http_requests_total", handler="/echo", method="POST", status="200")


def test_multiprocess_uvicorn_workers(launch, mpdir):
    """uvicorn --workers 2: exact aggregated totals after every batch, no duplicate series,
    no counter going down between consecutive scrapes (also while traffic runs);
    after the first batch the busiest worker is SIGKILLed and replaced, and its
    counts must stay in the totals."""
    server = launch("uvicorn-fastapi-mp", lambda port, aux: uvicorn_argv(APP, port, workers=2),
                    workers=2, multiproc_dir=mpdir)
    spread = [Req("GET", "/items/42", route="/items/{item_id}")] * 4
    _, scrape = run_scenario(server, server.scrape, [batch(40), batch(20), batch(3)], expected,
                             min_workers=2, spread=spread, final_scrapes=6,
                             after_batch=kill_a_worker_after(server, 2))
    check_final(scrape)
