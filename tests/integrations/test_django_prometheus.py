"""django-prometheus: a single-file Django project (apps/django_prometheus_app.py) under gunicorn.

Its Before/After middlewares count requests by view/transport/method,
responses by status/view/method, latency by view/method and exceptions by
type and view; the app adds a custom counter. Metrics are served by
``django_prometheus.urls`` on ``/metrics``. The multiprocess run uses three
sync workers and no ``child_exit`` hook (our engine does not need one).
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from ._harness import Req, Traffic, gunicorn_argv, key, kill_a_worker_after, run_scenario

pytestmark = pytest.mark.slow
REQUIRES = ("django", "django_prometheus", "gunicorn")
APP = "django_prometheus_app:application"
BODY = b"django-" * 9

VIEW = {"/items/{id}": "item", "/echo": "echo", "/status/{code}": "status", "/boom": "boom", "unmatched": "<unnamed view>"}


def batch(n: int):
    reqs = [Req("GET", "/items/%d" % i, route="/items/{id}") for i in range(n)]
    reqs += [Req("POST", "/echo", body=BODY)] * 2
    reqs += [Req("GET", "/status/404", 404, route="/status/{code}")] * 2
    reqs += [Req("GET", "/status/201", 201, route="/status/{code}")]
    reqs += [Req("GET", "/boom", 500)]
    reqs += [Req("GET", "/no/such/page", 404, route="unmatched")] * 2
    return reqs


def expected(traffic: Traffic):
    want = {}
    responses = defaultdict(int)
    views = defaultdict(int)
    for req, count in traffic.sent.items():
        view = VIEW[req.route]
        responses[(req.method, str(req.status), view)] += count
        views[(req.method, view)] += count
    for (method, status, view), count in responses.items():
        want[key("django_http_responses_total_by_status_view_method_total", method=method, status=status, view=view)] = count
    for (method, view), count in views.items():
        if view != "<unnamed view>":  # no view ran: process_view is not called
            want[key("django_http_requests_total_by_view_transport_method_total",
                     method=method, transport="http", view=view)] = count
        if view != "boom":  # an exception is timed twice (process_exception and process_response)
            want[key("django_http_requests_latency_seconds_by_view_method_count", method=method, view=view)] = count
    booms = traffic.count(route="/boom")
    if booms:
        want[key("django_http_exceptions_total_by_type_total", type="ValueError")] = booms
        want[key("django_http_exceptions_total_by_view_total", view="boom")] = booms
    want[key("django_app_echoed_bytes_total", method="POST")] = float(len(BODY) * traffic.count(route="/echo"))
    return want


def check_final(scrape) -> None:
    assert scrape.family_types["django_http_responses_total_by_status_view_method"] == "counter"
    assert scrape.family_types["django_http_requests_latency_seconds_by_view_method"] == "histogram"
    # PROMETHEUS_LATENCY_BUCKETS (default) ends with +Inf and is exposed bucket by bucket.
    les = [l["le"] for l, _ in scrape.matching("django_http_requests_latency_seconds_by_view_method_bucket", view="item")]
    assert les[-1] == "+Inf" and len(les) == len(set(les)) > 5, les
    statuses = {l["status"] for l, _ in scrape.matching("django_http_responses_total_by_status_view_method_total")}
    assert {"200", "201", "404", "500"} <= statuses, statuses


def test_single_process(launch):
    server = launch("gunicorn-django", lambda port, aux: gunicorn_argv(APP, port, 1), workers=1)
    _, scrape = run_scenario(server, server.scrape, [batch(20), batch(4)], expected)
    check_final(scrape)


def test_multiprocess_gunicorn_workers(launch, mpdir):
    """gunicorn -w 3, no child_exit hook: exact aggregated totals after every batch, no duplicate series,
    no counter going down between consecutive scrapes (also while traffic runs);
    after the first batch the busiest worker is SIGKILLed and replaced, and its
    counts must stay in the totals."""
    server = launch("gunicorn-django-mp", lambda port, aux: gunicorn_argv(APP, port, 3),
                    workers=3, multiproc_dir=mpdir)
    spread = [Req("GET", "/items/9", route="/items/{id}")] * 6
    _, scrape = run_scenario(server, server.scrape, [batch(40), batch(20), batch(3)], expected,
                             min_workers=3, spread=spread, final_scrapes=6,
                             after_batch=kill_a_worker_after(server, 3))
    check_final(scrape)
