"""A real Prometheus 2.42 ingests our native histograms over the protobuf exposition.

A dedicated Prometheus (not the session one of conftest.py, which runs
without native histograms) is started with ``--enable-feature=native-histograms``;
it then asks for ``application/vnd.google.protobuf; ...; encoding=delimited``
first. It scrapes two targets, both running apps/native_app.py:

* ``nh_single``: ``start_http_server`` in one process, with a native-only
  histogram and a labelled native+classic histogram, observed at startup
  with the known values below (zero, negatives, exact bucket boundaries
  such as 1.0 and 2.0, and a geometric spread);
* ``nh_gunicorn``: gunicorn, 3 sync workers, multiprocess mode. Before
  Prometheus starts, ``MP_VALUES`` are sent to ``/observe`` from several
  threads; each worker's histogram is limited to 12 buckets, so workers
  halve their resolution, each as far as its own values require, and the
  aggregated ``/metrics`` merges them at the coarsest schema.

What is checked, through Prometheus' HTTP API: ``histogram_count`` and
``histogram_sum`` are the exact count and sum of the observations;
``histogram_quantile`` lands inside the native bucket (at the exposed
schema) that holds the true quantile of the values by rank, the bucket
Prometheus must pick whatever its interpolation inside it; the stored
buckets are exactly the observations bucketed at that schema; one series
per label set.

Prometheus 2.42 behaviours observed (and asserted here):

* it has no ``scrape_classic_histograms`` option (the config is rejected:
  ``field scrape_classic_histograms not found in type config.ScrapeConfig``),
  and for a histogram that carries native data it stores only the native
  histogram: the classic ``_bucket``/``_count``/``_sum`` series of the
  native+classic histogram are not ingested, although our protobuf
  exposition carries them;
* the query API returns a native sample as ``"histogram": [ts, {count, sum,
  buckets: [[boundary_rule, lower, upper, count], ...]}]`` with rule 0
  (``(lower, upper]``) for positive buckets, 1 (``[lower, upper)``) for
  negative ones and 3 (``[-t, t]``) for the zero bucket.
"""
from __future__ import annotations

import json
import math
import os
import sys
import threading
import urllib.parse
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from prometheus_client.encoders.protobuf import decode_metric_families
from prometheus_client.native_histogram import bucket_bounds, bucket_index, schema_for_factor, spans_to_buckets

from tests._processes import gunicorn_common_options

from ._harness import Peer, free_port, http, require_binary, require_module, unique_token
from .conftest import APPS, Prometheus

pytestmark = pytest.mark.slow

# What Prometheus 2.42 sends with --enable-feature=native-histograms (captured, real-components.md).
PROTOBUF_ACCEPT = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
                   "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;"
                   "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
FACTOR = 1.1  # as in apps/native_app.py
CONFIGURED_SCHEMA = schema_for_factor(FACTOR)  # 3
MP_MAX_BUCKETS = 12  # as in apps/native_app.py
MP_WORKERS = 3
QUANTILES = (0.05, 0.1, 0.5, 0.9)

# -- the observations ----------------------------------------------------------------

SPREAD = [round(0.003 * 1.23 ** k, 9) for k in range(45)]  # 0.003 .. about 27000
NATIVE_VALUES = ([0.0] * 6 + [-0.001, -1.0, -2.0, -2.0, -2.5, -1000.0] + [1.0] * 5 + [2.0] * 4
                 + [0.5, 0.25, 4.0, 1024.0] + SPREAD)
MIXED_VALUES = {
    "get": [0.0, 0.05, 0.5, 1.0, 1.0, 2.0, 3.3, 5.0, 12.0, -0.7] + [round(0.1 * k, 6) for k in range(1, 21)],
    "post": [2.0, 2.0, 7.5, 100.0, -4.0, 0.0, 1e-9],
}
MIXED_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0)  # as in apps/native_app.py

# At schema -2 these values fill exactly MP_MAX_BUCKETS buckets (at -1, 21), so a worker that
# gets (nearly) all of them ends at -2, and the one that also gets the single extreme value,
# sent last, goes down to -3: the workers usually end at different schemas.
_MP_BASE = [0.0, -0.02, -0.5, -2.0, -7.25, -50.0, 3e-6, 5e-5, 0.001, 0.01, 0.03, 0.125, 0.5, 1.0, 2.0, 3.7,
            8.0, 16.0, 42.0, 100.0, 333.0, 1000.0]
MP_VALUES = [_MP_BASE[i % len(_MP_BASE)] * (1 + (i // len(_MP_BASE)) / 32) for i in range(299)] + [1e-30]
MP_CLIENT_THREADS = 6


# -- expectations computed from the values ---------------------------------------------


def true_quantile(values: List[float], q: float) -> float:
    """The value of rank ``q * n`` (the first one whose cumulative count reaches it)."""
    ordered = sorted(values)
    rank = q * len(ordered)  # a float64 product, as Prometheus computes it
    return ordered[max(int(math.ceil(rank)), 1) - 1]


def native_bucket_of(value: float, schema: int, zero_threshold: float) -> Tuple[float, float]:
    """``(lower, upper)`` of the native bucket holding ``value`` (both bounds included)."""
    if abs(value) <= zero_threshold:
        return -zero_threshold, zero_threshold
    lower, upper = bucket_bounds(bucket_index(abs(value), schema), schema)
    return (lower, upper) if value > 0 else (-upper, -lower)


def expected_buckets(values: List[float], schema: int, zero_threshold: float) -> Dict[Tuple[int, float, float], int]:
    """``{(boundary rule, lower, upper): count}`` as Prometheus' API lists the buckets."""
    buckets: Dict[Tuple[int, float, float], int] = {}
    for value in values:
        lower, upper = native_bucket_of(value, schema, zero_threshold)
        rule = 3 if abs(value) <= zero_threshold else (0 if value > 0 else 1)
        buckets[(rule, lower, upper)] = buckets.get((rule, lower, upper), 0) + 1
    return buckets


def populated_buckets(values: List[float], schema: int, zero_threshold: float) -> int:
    """Populated positive plus negative buckets (the zero bucket does not count)."""
    return len({(value > 0, bucket_index(abs(value), schema)) for value in values if abs(value) > zero_threshold})


def limited_schema(values: List[float], zero_threshold: float) -> int:
    """The schema a worker ends at: halvings happen until at most MP_MAX_BUCKETS buckets remain.

    Populated buckets only grow with more values and only shrink with a
    coarser schema, so the end result is the finest schema within the limit
    for the whole set of values (-4 at worst), whatever the order.
    """
    for schema in range(CONFIGURED_SCHEMA, -5, -1):
        if populated_buckets(values, schema, zero_threshold) <= MP_MAX_BUCKETS:
            return schema
    return -4


# -- the peers ----------------------------------------------------------------------


def _protobuf_scrape(port: int) -> Dict[str, Any]:
    """Our own scrape with Prometheus' Accept header: ``{family name: Metric}``."""
    status, headers, body = http("http://127.0.0.1:%d/metrics" % port, headers={"Accept": PROTOBUF_ACCEPT})
    assert status == 200, (status, body[:300])
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert content_type.startswith("application/vnd.google.protobuf"), content_type
    return {family.name: family for family in decode_metric_families(body)}


def _native_sample(family: Any, **labels: str) -> Any:
    found = [s.native_histogram for s in family.samples if s.native_histogram is not None and s.labels == labels]
    assert len(found) == 1, "expected one native sample %s%s, got %r" % (family.name, labels, family.samples)
    return found[0]


def _drive(port: int) -> Tuple[List[float], Dict[int, List[float]], List[Tuple[float, Any]]]:
    """Send MP_VALUES to /observe from several threads; ``(acknowledged, by worker pid, failures)``."""
    acknowledged: List[float] = []
    by_pid: Dict[int, List[float]] = {}
    failures: List[Tuple[float, Any]] = []
    lock = threading.Lock()

    def client(values: List[float]) -> None:
        for value in values:
            url = "http://127.0.0.1:%d/observe?v=%s" % (port, urllib.parse.quote(repr(value)))
            try:
                status, _, body = http(url, timeout=10)
            except OSError as e:
                with lock:
                    failures.append((value, repr(e)))
                continue
            with lock:
                if status == 200 and body.startswith(b"ok pid="):
                    acknowledged.append(value)
                    by_pid.setdefault(int(body.split(b"=", 1)[1]), []).append(value)
                else:
                    failures.append((value, (status, body[:200])))

    threads = [threading.Thread(target=client, args=(MP_VALUES[i::MP_CLIENT_THREADS],))
               for i in range(MP_CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "the /observe clients hang"
    return acknowledged, by_pid, failures


class Setup:
    def __init__(self) -> None:
        self.peers: List[Peer] = []
        self.tokens: Dict[str, str] = {}
        self.ports: Dict[str, int] = {}
        self.prometheus: Any = None
        self.scrapes: Dict[str, Dict[str, Any]] = {}
        self.acknowledged: List[float] = []
        self.by_pid: Dict[int, List[float]] = {}

    def start(self, job: str, argv: List[str], directory: str, env: Dict[str, str]) -> Peer:
        port = self.ports[job] = free_port()
        token = self.tokens[job] = unique_token(job)
        argv = [arg.replace("{port}", str(port)) for arg in argv]
        peer = Peer(job, argv, directory, port, env=dict(env, PEER_APP_TOKEN=token))
        self.peers.append(peer)
        url = "http://127.0.0.1:%d/metrics" % port
        peer.wait_ready(lambda: token.encode() in http(url)[2], timeout=30)
        return peer

    def query(self, expr: str) -> List[Dict[str, Any]]:
        """Raw instant-vector results (a native sample has "histogram", not "value")."""
        data = self.prometheus.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return data["result"]

    def detail(self) -> str:
        return self.prometheus.target_health()


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    binary = require_binary("prometheus")
    require_module("gunicorn")
    setup = Setup()
    directory = str(tmp_path_factory.mktemp("native_histograms"))
    mpdir = os.path.join(directory, "multiproc")
    os.mkdir(mpdir)
    try:
        setup.start("nh_single", [sys.executable, os.path.join(APPS, "native_app.py"), "{port}"], directory,
                    {"NH_APP_OBSERVATIONS": json.dumps({"native": NATIVE_VALUES, "mixed": MIXED_VALUES})})
        gunicorn = setup.start("nh_gunicorn", [
            sys.executable, "-m", "gunicorn", "-k", "sync", "-w", str(MP_WORKERS), "-b", "127.0.0.1:{port}",
            "--chdir", APPS, "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning",
            *gunicorn_common_options(), "native_app:app",
        ], directory, {"PROMETHEUS_MULTIPROC_DIR": mpdir})
        setup.acknowledged, setup.by_pid, failures = _drive(setup.ports["nh_gunicorn"])
        assert not failures, "observations not acknowledged: %r\n%s" % (failures[:10], gunicorn.log())
        for job, port in setup.ports.items():
            setup.scrapes[job] = _protobuf_scrape(port)

        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": ["127.0.0.1:%d" % port]}]}
                               for job, port in sorted(setup.ports.items())],
        }
        config_path = os.path.join(directory, "prometheus.yml")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=1)  # JSON is YAML
        data_dir = os.path.join(directory, "data")
        port = free_port()
        peer = Peer("prometheus", [
            binary, "--config.file=" + config_path, "--storage.tsdb.path=" + data_dir,
            "--web.listen-address=127.0.0.1:%d" % port, "--enable-feature=native-histograms",
        ], directory, port)
        setup.peers.append(peer)
        setup.prometheus = Prometheus(peer, dict(setup.ports))
        peer.wait_ready(lambda: http(setup.prometheus.url + "/-/ready")[0] == 200)
        flags = setup.prometheus.api("status/flags")
        assert flags["storage.tsdb.path"] == data_dir, flags  # our instance, not a sibling's
        assert "native-histograms" in flags.get("enable-feature", ""), flags
        # The first scrape comes about 6 s after start; wait for both targets' native series.
        for job, name in (("nh_single", "nhpeer_native_seconds"), ("nh_gunicorn", "nhpeer_mp_seconds")):
            peer.wait_until(lambda: setup.query('histogram_count(%s{job="%s"})' % (name, job)), 40,
                            "a native histogram %s from job %s" % (name, job), setup.detail)
        yield setup
    finally:
        for peer in reversed(setup.peers):
            peer.stop()


# -- the cases: (job, metric name, labels) -> observed values, exposed schema and threshold --

CASES = {
    "single-native": ("nh_single", "nhpeer_native_seconds", {}),
    "single-mixed-get": ("nh_single", "nhpeer_mixed_seconds", {"route": "get"}),
    "single-mixed-post": ("nh_single", "nhpeer_mixed_seconds", {"route": "post"}),
    "gunicorn": ("nh_gunicorn", "nhpeer_mp_seconds", {}),
}


def _case(native: Setup, case: str) -> Tuple[str, str, List[float], Any]:
    """``(PromQL selector, job, values, our own exposed native sample)``."""
    job, name, labels = CASES[case]
    if job == "nh_gunicorn":
        values = native.acknowledged
    elif labels:
        values = MIXED_VALUES[labels["route"]]
    else:
        values = NATIVE_VALUES
    exposed = _native_sample(native.scrapes[job][name], **labels)
    matchers = ",".join('%s="%s"' % item for item in sorted(dict(labels, job=job).items()))
    return "%s{%s}" % (name, matchers), job, values, exposed


def _close(a: float, b: float) -> bool:
    """Equal to within a few ulps (see test_stored_buckets_are_the_observations_bucketed)."""
    return math.isclose(a, b, rel_tol=4 * sys.float_info.epsilon, abs_tol=0.0)


def _scalar(native: Setup, expr: str) -> float:
    results = native.query(expr)
    assert len(results) == 1 and "value" in results[0], "%s -> %r\n%s" % (expr, results, native.detail())
    return float(results[0]["value"][1])


# -- the tests ------------------------------------------------------------------------


def test_targets_are_up_and_ours(native: Setup) -> None:
    assert {r["metric"]["job"]: r["value"][1] for r in native.query("up")} == {
        "nh_single": "1", "nh_gunicorn": "1"}, native.detail()
    [single] = native.query('nhpeer_identity_info{job="nh_single"}')
    assert single["metric"]["token"] == native.tokens["nh_single"], single
    [multi] = native.query('nhpeer_mp_identity{job="nh_gunicorn"}')
    assert multi["metric"]["token"] == native.tokens["nh_gunicorn"], multi


def test_exposed_schema_and_threshold(native: Setup) -> None:
    """Our own protobuf scrape: the single process keeps the factor's schema, 2**-128 threshold."""
    for case in ("single-native", "single-mixed-get", "single-mixed-post"):
        exposed = _case(native, case)[3]
        assert (exposed.schema, exposed.zero_threshold) == (CONFIGURED_SCHEMA, 2.0 ** -128), (case, exposed)


@pytest.mark.parametrize("case", sorted(CASES))
def test_count_and_sum(native: Setup, case: str) -> None:
    selector, _, values, exposed = _case(native, case)
    count = _scalar(native, "histogram_count(%s)" % selector)
    total = _scalar(native, "histogram_sum(%s)" % selector)
    assert count == len(values), (selector, count, len(values))
    assert math.isclose(total, math.fsum(values), rel_tol=1e-9, abs_tol=1e-12), (selector, total, math.fsum(values))
    assert total == exposed.sum_value  # stored as exposed, to the bit


@pytest.mark.parametrize("q", QUANTILES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_quantile_in_the_bucket_of_the_true_quantile(native: Setup, case: str, q: float) -> None:
    selector, _, values, exposed = _case(native, case)
    truth = true_quantile(values, q)
    lower, upper = native_bucket_of(truth, exposed.schema, exposed.zero_threshold)
    got = _scalar(native, "histogram_quantile(%r, %s)" % (q, selector))
    slack = 4 * sys.float_info.epsilon  # Prometheus' own bounds may be an ulp off ours, see below
    assert lower - slack * abs(lower) <= got <= upper + slack * abs(upper), (
        "histogram_quantile(%r, %s) = %r, outside the bucket [%r, %r] (schema %d) of the true quantile %r"
        % (q, selector, got, lower, upper, exposed.schema, truth))


@pytest.mark.parametrize("case", sorted(CASES))
def test_stored_buckets_are_the_observations_bucketed(native: Setup, case: str) -> None:
    """Prometheus' buckets equal the values bucketed at the exposed schema (empty ones aside).

    Bounds are compared to within a few ulps: Prometheus 2.42 prints them from
    its own table of boundaries, some entries of which are one ulp below the
    correctly rounded ``2**(j/2**schema)`` that bucket_bounds returns (e.g.
    0.7071067811865475 for sqrt(1/2) = 0.7071067811865476 at schema 3).
    """
    selector, _, values, exposed = _case(native, case)
    [result] = native.query(selector)
    histogram = result["histogram"][1]
    stored = sorted((float(lower), float(upper), rule, int(count))
                    for rule, lower, upper, count in histogram["buckets"] if float(count) != 0)
    want = sorted((lower, upper, rule, count) for (rule, lower, upper), count
                  in expected_buckets(values, exposed.schema, exposed.zero_threshold).items())
    assert [(rule, count) for _, _, rule, count in stored] == [(rule, count) for _, _, rule, count in want], (
        selector, histogram, want)
    for got, expected in zip(stored, want):
        assert _close(got[0], expected[0]) and _close(got[1], expected[1]), (selector, got, expected)
    assert float(histogram["count"]) == len(values)


def test_one_series_per_label_set(native: Setup) -> None:
    def label_sets(match: str) -> List[Dict[str, str]]:
        series = native.prometheus.api("series", **{"match[]": match})
        return sorted((s for s in series), key=lambda s: sorted(s.items()))

    single = native.ports["nh_single"]
    gunicorn = native.ports["nh_gunicorn"]
    assert label_sets('{__name__=~"nhpeer_native_seconds.*"}') == [
        {"__name__": "nhpeer_native_seconds", "instance": "127.0.0.1:%d" % single, "job": "nh_single"}]
    assert label_sets('{__name__=~"nhpeer_mp_seconds.*"}') == [
        {"__name__": "nhpeer_mp_seconds", "instance": "127.0.0.1:%d" % gunicorn, "job": "nh_gunicorn"}]
    assert label_sets('{__name__=~"nhpeer_mixed_seconds.*"}') == [
        {"__name__": "nhpeer_mixed_seconds", "instance": "127.0.0.1:%d" % single, "job": "nh_single",
         "route": route} for route in ("get", "post")]


def test_classic_view_not_ingested_by_prometheus_2_42(native: Setup) -> None:
    """2.42 keeps only the native histogram when one is present (no scrape_classic_histograms yet).

    The classic buckets are in our protobuf exposition all the same.
    """
    for suffix in ("_bucket", "_count", "_sum"):
        assert native.query('{__name__="nhpeer_mixed_seconds%s"}' % suffix) == []
    family = native.scrapes["nh_single"]["nhpeer_mixed_seconds"]
    for route, values in MIXED_VALUES.items():
        classic = {s.labels["le"]: s.value for s in family.samples
                   if s.name == "nhpeer_mixed_seconds_bucket" and s.labels["route"] == route}
        expected = {repr(float(le)): float(sum(1 for v in values if v <= le)) for le in MIXED_BUCKETS}
        expected["+Inf"] = float(len(values))
        assert classic == expected, (route, family.samples)


def test_gunicorn_workers_merged_exactly_at_the_coarsest_schema(native: Setup) -> None:
    assert sorted(native.acknowledged) == sorted(MP_VALUES)
    assert len(native.by_pid) >= 2, "only one worker got traffic: %r" % sorted(native.by_pid)
    exposed = _native_sample(native.scrapes["nh_gunicorn"]["nhpeer_mp_seconds"])
    threshold = exposed.zero_threshold
    per_worker = {pid: limited_schema(values, threshold) for pid, values in native.by_pid.items()}
    assert exposed.schema == min(per_worker.values()) < CONFIGURED_SCHEMA, (exposed.schema, per_worker)
    assert exposed.count_value == len(native.acknowledged)
    assert math.isclose(exposed.sum_value, math.fsum(native.acknowledged), rel_tol=1e-9)
    zero = sum(1 for v in native.acknowledged if abs(v) <= threshold)
    assert exposed.zero_count == zero
    positive = spans_to_buckets(exposed.pos_spans, exposed.pos_deltas)
    negative = spans_to_buckets(exposed.neg_spans, exposed.neg_deltas)
    want_positive: Dict[int, int] = {}
    want_negative: Dict[int, int] = {}
    for v in native.acknowledged:
        if abs(v) > threshold:
            side = want_positive if v > 0 else want_negative
            index = bucket_index(abs(v), exposed.schema)
            side[index] = side.get(index, 0) + 1
    assert (positive, negative) == (want_positive, want_negative)
