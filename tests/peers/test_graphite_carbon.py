"""GraphiteBridge.push() into a real carbon-cache 1.1.7; the datapoints are read from its whisper files."""
from __future__ import annotations

import hashlib
import os
import sys
import time
from typing import Dict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.bridge.graphite import GraphiteBridge

from ._harness import Peer, unique_token
from .conftest import Carbon


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter("peer_requests", "Requests.", ["method", "path"], registry=registry)
    counter.labels("get", "/a.b").inc(3)
    Gauge("peer_temp:celsius", "Temperature.", registry=registry).set(-2.5)
    histogram = Histogram("peer_size", "Sizes.", buckets=(1, 10), registry=registry)
    histogram.observe(5)
    Info("peer_build", "Build.", registry=registry).info({"version": "1.2.3"})
    return registry


def _whisper_path(metric: str) -> str:
    return metric.replace(".", os.sep) + ".wsp"


def _tagged_path(series: str) -> str:
    """Where carbon 1.1 stores a tagged series (with ENABLE_TAGS off too): ``_tagged/<sha256 parts>``."""
    digest = hashlib.sha256(series.encode()).hexdigest()
    return os.path.join("_tagged", digest[:3], digest[3:6], digest + ".wsp")


def _check_points(carbon: Carbon, expected: Dict[str, float], before: float) -> None:
    points = carbon.wait_for_points(sorted(expected), since=before - 2)
    after = time.time()
    for path, value in expected.items():
        assert len(points[path]) == 1, (path, points[path])
        timestamp, stored = points[path][0]
        assert stored == value, (path, points[path])
        assert int(before) <= timestamp <= after, (path, timestamp, before, after)


def test_plain_push(carbon: Carbon) -> None:
    prefix = "peers.%s" % unique_token("plain")
    before = time.time()
    GraphiteBridge(carbon.address, registry=_registry()).push(prefix=prefix)
    expected = {
        "peer_requests_total.method.get.path._a_b": 3.0,
        "peer_temp_celsius": -2.5,
        "peer_size_bucket.le.1_0": 0.0,
        "peer_size_bucket.le.10_0": 1.0,
        "peer_size_bucket.le._Inf": 1.0,
        "peer_size_count": 1.0,
        "peer_size_sum": 5.0,
        "peer_build_info.version.1_2_3": 1.0,
    }
    _check_points(carbon, {_whisper_path("%s.%s" % (prefix, k)): v for k, v in expected.items()}, before)
    created = _whisper_path("%s.peer_requests_created.method.get.path._a_b" % prefix)
    [(_, created_value)] = carbon.wait_for_points([created], since=before - 2)[created]
    assert before - 60 < created_value <= time.time()  # the counter's creation time
    carbon.wait_for_updates(["%s.%s" % (prefix, name) for name in expected])


def test_tagged_push(carbon: Carbon) -> None:
    prefix = "peers.%s" % unique_token("tagged")
    before = time.time()
    GraphiteBridge(carbon.address, registry=_registry(), tags=True).push(prefix=prefix)
    expected = {
        "peer_requests_total;method=get;path=_a_b": 3.0,
        "peer_temp_celsius": -2.5,
        "peer_size_bucket;le=10_0": 1.0,
        "peer_size_bucket;le=_Inf": 1.0,
        "peer_size_sum": 5.0,
        "peer_build_info;version=1_2_3": 1.0,
    }
    paths = {}
    for name, value in expected.items():
        full = "%s.%s" % (prefix, name)
        paths[_tagged_path(full) if ";" in name else _whisper_path(full)] = value
    _check_points(carbon, paths, before)
    carbon.wait_for_updates(["%s.%s" % (prefix, name) for name in expected])


def test_start_pushes_periodically(carbon: Carbon, tmp_path: "os.PathLike[str]") -> None:
    """``start()`` pushes at once and then every interval (in a child process: the thread cannot be stopped)."""
    prefix = "peers.%s" % unique_token("started")
    program = (
        "import itertools, threading\n"
        "from prometheus_client import CollectorRegistry, Gauge\n"
        "from prometheus_client.bridge.graphite import GraphiteBridge\n"
        "registry = CollectorRegistry()\n"
        "pushes = itertools.count(1)\n"
        "Gauge('peer_periodic', 'Push number.', registry=registry).set_function(lambda: next(pushes))\n"
        "GraphiteBridge(%r, registry=registry).start(interval=0.5, prefix=%r)\n"
        "threading.Event().wait()\n" % (carbon.address, prefix)
    )
    path = _whisper_path(prefix + ".peer_periodic")
    before = time.time()
    child = Peer("graphite-start", [sys.executable, "-c", program], str(tmp_path))
    try:
        def two_increasing_points() -> bool:
            values = [v for _, v in carbon.fetch([path], before - 2).get(path, [])]
            return len(values) >= 2 and values == sorted(values) and values[0] >= 1
        child.wait_until(two_increasing_points, 20, "two periodic pushes in %s" % path)
    finally:
        child.stop()
