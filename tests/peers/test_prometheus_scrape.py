"""A real Prometheus scrapes our three HTTP transports; we read back what it stored.

apps/every_type.py registers one metric of every type (and a counter and a
histogram bucket with exemplars) and is served by ``start_http_server``, by
``make_wsgi_app()`` under gunicorn and by ``make_asgi_app()`` under uvicorn.
Prometheus 2.42 negotiates OpenMetrics 1.0.0, so the check covers
``_created`` series, exemplars (``--enable-feature=exemplar-storage``) and the
``info``/``stateset`` metadata types that only the OpenMetrics parser reports.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List

import pytest

from .conftest import FILTER_NAMES, FILTERED_JOBS

pytestmark = pytest.mark.slow

JOBS = ("http_server", "https_server", "wsgi", "asgi")


def _by_labels(results: List[Dict[str, Any]], *names: str) -> Dict[Any, float]:
    return {tuple(r["metric"].get(n) for n in names): r["value"] for r in results}


@pytest.fixture(params=JOBS)
def scraped(request: pytest.FixtureRequest, prometheus: Any, every_type_apps: Dict[str, Any]) -> Dict[str, Any]:
    """Wait until Prometheus has ingested one scrape of the app behind ``job``."""
    job = request.param
    app = every_type_apps[job]
    found = prometheus.wait_for('peer_build_info{job="%s"}' % job, timeout=40)
    assert found[0]["metric"]["token"] == app["token"], found  # our app, not a stranger
    return dict(app, job=job, prometheus=prometheus)


def test_target_is_up(scraped: Dict[str, Any]) -> None:
    assert scraped["prometheus"].query('up{job="%s"}' % scraped["job"])[0]["value"] == 1.0


def test_samples_of_every_type(scraped: Dict[str, Any]) -> None:
    prom, job = scraped["prometheus"], scraped["job"]

    def q(expr: str) -> List[Dict[str, Any]]:
        return prom.query(expr.replace("JOB", 'job="%s"' % job))

    assert _by_labels(q("peer_requests_total{JOB}"), "method", "path") == {
        ("get", "/a"): 3.0, ("post", "/b/c"): 1.5}
    assert [r["value"] for r in q("peer_temperature_celsius{JOB}")] == [-21.5]
    assert [r["value"] for r in q("peer_latency_seconds_count{JOB}")] == [2.0]
    assert [r["value"] for r in q("peer_latency_seconds_sum{JOB}")] == [1.0]
    assert _by_labels(q("peer_size_bytes_bucket{JOB}"), "le") == {
        ("10.0",): 1.0, ("100.0",): 2.0, ("1000.0",): 2.0, ("+Inf",): 3.0}
    assert [r["value"] for r in q("peer_size_bytes_count{JOB}")] == [3.0]
    assert [r["value"] for r in q("peer_size_bytes_sum{JOB}")] == [5055.0]
    info = q("peer_build_info{JOB}")
    assert len(info) == 1 and info[0]["value"] == 1.0
    assert info[0]["metric"]["version"] == "1.2.3"
    assert _by_labels(q("peer_state{JOB}"), "peer_state") == {
        ("starting",): 0.0, ("running",): 1.0, ("stopped",): 0.0}
    assert [r["value"] for r in q("peer_traced_total{JOB}")] == [3.0]
    # Prometheus 2.42 asks for no escaping scheme: names are escaped with underscores.
    assert _by_labels(q("peer_dotted_gauge{JOB}"), "lab_el") == {("v",): 7.0}


def test_created_series(scraped: Dict[str, Any]) -> None:
    """OpenMetrics ``_created`` lines become ``*_created`` series holding the creation time."""
    prom, job = scraped["prometheus"], scraped["job"]
    window = (scraped["started"] - 1, scraped["ready"] + 1)
    created = {
        "peer_requests_created": 2,
        "peer_latency_seconds_created": 1,
        "peer_size_bytes_created": 1,
        "peer_traced_created": 1,
    }
    for name, count in created.items():
        results = prom.query('%s{job="%s"}' % (name, job))
        assert len(results) == count, (name, results)
        for r in results:
            assert window[0] <= r["value"] <= window[1], (name, r, window)
    assert prom.query('peer_temperature_celsius_created{job="%s"}' % job) == []


def test_exemplars(scraped: Dict[str, Any]) -> None:
    prom, job = scraped["prometheus"], scraped["job"]
    window = (scraped["started"] - 1, scraped["ready"] + 1)

    def exemplars(expr: str) -> List[Dict[str, Any]]:
        data = prom.api("query_exemplars", query=expr, start=str(window[0] - 60),
                        end=str(time.time() + 60))
        return [dict(e, series=d["seriesLabels"]) for d in data for e in d["exemplars"]]

    counter = exemplars('peer_traced_total{job="%s"}' % job)
    assert len(counter) == 1, counter
    assert counter[0]["labels"] == {"trace_id": "abc123", "span": "s-1"}
    assert float(counter[0]["value"]) == 3.0
    assert window[0] <= counter[0]["timestamp"] <= window[1]

    bucket = exemplars('peer_size_bytes_bucket{job="%s"}' % job)
    assert len(bucket) == 1, bucket
    assert bucket[0]["series"]["le"] == "100.0"
    assert bucket[0]["labels"] == {"trace_id": "hist-50"}
    assert float(bucket[0]["value"]) == 50.0
    assert window[0] <= bucket[0]["timestamp"] <= window[1]


def test_metadata_types_prove_openmetrics(scraped: Dict[str, Any]) -> None:
    """``info`` and ``stateset`` are only reported when the OpenMetrics parser was used."""
    prom, job = scraped["prometheus"], scraped["job"]
    metadata = prom.api("targets/metadata", match_target='{job="%s"}' % job)
    types = {m["metric"]: m["type"] for m in metadata}
    helps = {m["metric"]: m["help"] for m in metadata}
    expected = {
        "peer_requests": "counter",
        "peer_temperature_celsius": "gauge",
        "peer_latency_seconds": "summary",
        "peer_size_bytes": "histogram",
        "peer_build": "info",
        "peer_state": "stateset",
        "peer_traced": "counter",
    }
    assert {name: types.get(name) for name in expected} == expected, types
    assert helps["peer_requests"] == "Requests handled."
    # /api/v1/metadata aggregates over all targets (they all agree).
    for name in expected:
        assert prom.api("metadata", metric=name)[name] == [
            {"type": expected[name], "help": helps[name], "unit": ""}]
    # The default collectors went through too.
    assert types.get("process_cpu_seconds") == "counter", types
    assert types.get("python_info") == "gauge", types  # a GaugeMetricFamily, as in 0.26


@pytest.mark.parametrize("job", FILTERED_JOBS)
def test_name_filter_in_scrape_params(prometheus: Any, every_type_apps: Dict[str, Any], job: str) -> None:
    """A job scraping ``?name[]=...`` gets only those samples (filtering is by sample name)."""
    prometheus.wait_for('peer_state{job="%s_filtered"}' % job, timeout=40)
    names = {r["metric"]["__name__"] for r in prometheus.query('{job="%s_filtered"}' % job)}
    synthetic = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added"}
    assert names - synthetic == set(FILTER_NAMES)
    assert len(prometheus.query('peer_requests_total{job="%s_filtered"}' % job)) == 2
    assert len(prometheus.query('peer_state{job="%s_filtered"}' % job)) == 3
    [size_sum] = prometheus.query('peer_size_bytes_sum{job="%s_filtered"}' % job)
    assert size_sum["value"] == 5055.0
