"""prometheus-async: an aiohttp app (apps/prometheus_async_app.py) using its decorators.

``aio.time`` (histogram and, in future form, summary), ``aio.count_exceptions``
(ValueError only) and ``aio.track_inprogress`` (a livesum gauge), served
by prometheus-async's aiohttp metrics server and by ``aio.web.server_stats``
on the app. Both read the default ``REGISTRY``: in multiprocess mode that is
the aggregated view, in every worker.
"""
from __future__ import annotations

import sys
import threading

import pytest

from ._harness import APPS, Req, Traffic, gunicorn_argv, key, kill_a_worker_after, run_scenario, wait_for

pytestmark = pytest.mark.slow
REQUIRES = ("aiohttp", "prometheus_async", "gunicorn")
SLOW = 2.0  # seconds a /work request stays in progress


def batch(n: int):
    reqs = [Req("GET", "/work?seconds=0.002", route="work") for _ in range(n)]
    reqs += [Req("GET", "/fetch", route="fetch")] * 3
    reqs += [Req("GET", "/risky?kind=value", 500, route="risky")] * 2
    reqs += [Req("GET", "/risky?kind=key", 400, route="risky")]
    reqs += [Req("GET", "/risky", 200, route="risky")] * 2
    return reqs


def expected(traffic: Traffic):
    want = {}
    for handler in ("work", "fetch", "risky"):
        count = traffic.count(route=handler)
        if count:
            want[key("async_app_requests_total", handler=handler)] = count
    works = traffic.count(route="work")
    want[key("async_app_work_seconds_count")] = works
    want[key("async_app_work_seconds_bucket", le="+Inf")] = works
    want[key("async_app_work_seconds_bucket", le="0.001")] = 0  # every work() sleeps >= 2 ms
    want[key("async_app_fetch_seconds_count")] = traffic.count(route="fetch")
    want[key("async_app_failures_total", kind="value")] = traffic.count(route="risky", status=500)
    want[key("async_app_work_in_progress")] = 0
    return want


def check_in_progress(server, scrape) -> None:
    """A slow /work request shows in the in-progress gauge, then leaves it."""
    result = {}

    def slow():
        result["response"] = server.request("GET", "/work?seconds=%s" % SLOW)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        wait_for(lambda: scrape().value("async_app_work_in_progress") == 1.0, SLOW * 0.75,
                 lambda: "async_app_work_in_progress == 1 during a slow request")
    finally:
        thread.join(30)
    assert result["response"].status == 200
    wait_for(lambda: scrape().value("async_app_work_in_progress") == 0.0, 5,
             "async_app_work_in_progress back to 0")
    last = scrape()
    assert last.value("async_app_work_seconds_bucket", le="1.0") < last.value("async_app_work_seconds_bucket", le="+Inf")


def test_single_process(launch):
    server = launch(
        "aiohttp-async",
        lambda port, aux: [sys.executable, str(APPS / "prometheus_async_app.py"), str(port)],
        aux=("metrics",), env=lambda port, aux: {"ASYNC_METRICS_PORT": str(aux["metrics"])},
        ready_extra=[("metrics", "/metrics")],
    )

    def scrape():  # prometheus-async's own aiohttp metrics server
        return server.scrape("/metrics", port=server.aux["metrics"])

    _, last = run_scenario(server, scrape, [batch(20), batch(4)], expected)
    assert last.family_types["async_app_work_seconds"] == "histogram"
    assert last.family_types["async_app_fetch_seconds"] == "summary"
    on_app = server.scrape("/metrics")  # server_stats mounted on the app: same registry
    for series in (key("async_app_work_seconds_count"), key("async_app_failures_total", kind="value")):
        assert on_app.values()[series] == last.values()[series]
    openmetrics = server.request("GET", "/metrics", port=server.aux["metrics"],
                                 headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text"), dict(openmetrics.headers)
    assert openmetrics.body.endswith(b"# EOF\n")
    check_in_progress(server, scrape)


def test_multiprocess_gunicorn_aiohttp_workers(launch, mpdir):
    """gunicorn -w 3 -k aiohttp.GunicornWebWorker, scraped through server_stats on the app, then on every worker's own metrics server: exact aggregated totals after every batch, no duplicate series,
    no counter going down between consecutive scrapes (also while traffic runs);
    after the first batch the busiest worker is SIGKILLed and replaced, and its
    counts must stay in the totals."""
    server = launch("gunicorn-aiohttp-mp",
                    lambda port, aux: gunicorn_argv("prometheus_async_app:app", port, 3,
                                                    worker_class="aiohttp.GunicornWebWorker"),
                    workers=3, multiproc_dir=mpdir)
    spread = [Req("GET", "/work?seconds=0.05", route="work")] * 6
    traffic, last = run_scenario(server, server.scrape, [batch(40), batch(20), batch(3)], expected,
                                 min_workers=3, spread=spread, final_scrapes=6,
                                 after_batch=kill_a_worker_after(server, 3))

    # Every worker's own prometheus-async metrics server shows the same aggregated totals.
    ports = {}

    def discover():
        info = server.request("GET", "/pid").json()
        ports[info["pid"]] = info["metrics_port"]
        return len(ports) >= 3

    wait_for(discover, 20, lambda: "/pid answered by 3 workers (saw %s)" % ports)
    want = expected(traffic)
    for pid, port in sorted(ports.items()):
        scrape = server.scrape("/metrics", port=port)
        assert scrape.problems() == [], scrape.problems()
        got = {series: scrape.values().get(series) for series in want}
        assert got == want, "worker %d's metrics server (port %d) disagrees" % (pid, port)
    check_in_progress(server, server.scrape)
