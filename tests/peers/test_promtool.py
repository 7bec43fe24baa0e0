"""``promtool check metrics`` (Prometheus 2.42) accepts our text 0.0.4 output without lint warnings."""
from __future__ import annotations

import subprocess

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    Summary,
    generate_latest,
)
from prometheus_client.metrics_core import (
    GaugeHistogramMetricFamily,
    StateSetMetricFamily,
    UnknownMetricFamily,
)

from ._harness import require_binary


class _CustomCollector:
    def collect(self):  # type: ignore[no-untyped-def]
        gh = GaugeHistogramMetricFamily("peer_queue_size_bytes", "Queued bytes.", labels=["queue"])
        gh.add_metric(["a"], [("10.0", 1), ("+Inf", 3)], gsum_value=42)
        yield gh
        ss = StateSetMetricFamily("peer_features", "Enabled features.")
        ss.add_metric([], {"fast": True, "safe": False})
        yield ss
        yield UnknownMetricFamily("peer_mystery_ratio", "Unknown type.", value=0.5)


def _every_type_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    counter = Counter("peer_requests", "Requests handled.", ["method", "path"], registry=registry)
    counter.labels("get", "/a").inc(3)
    counter.labels("post", 'quote " and \\ and\nnewline').inc()
    Gauge("peer_temperature_celsius", "Temperature.", registry=registry).set(-21.5)
    summary = Summary("peer_latency_seconds", "Latency.", ["route"], registry=registry)
    summary.labels("/").observe(0.25)
    histogram = Histogram("peer_size_bytes", "Sizes.", buckets=(10, 100, 1000), registry=registry)
    histogram.observe(50, exemplar={"trace_id": "hist-50"})  # exemplars are not in text 0.0.4
    Info("peer_build", "Build information.", registry=registry).info({"version": "1.2.3"})
    Enum("peer_state", "State.", states=["starting", "running"], registry=registry).state("running")
    Counter("peer_traced", "Traced.", registry=registry).inc(3, exemplar={"trace_id": "abc"})
    registry.register(_CustomCollector())
    return registry


def test_promtool_check_metrics_accepts_generate_latest() -> None:
    promtool = require_binary("promtool")
    body = generate_latest(_every_type_registry())
    for name in ("process_cpu_seconds_total", "python_info", "python_gc_objects_collected_total",
                 "peer_requests_total", "peer_size_bytes_bucket", "peer_build_info", "peer_state",
                 "peer_queue_size_bytes_gcount", "peer_features", "peer_mystery_ratio"):
        assert ("\n%s" % name).encode() in body, name
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b""), body.decode()


def test_promtool_rejects_a_broken_exposition() -> None:
    """The check is real: promtool does fail on a parse error and on lint problems."""
    promtool = require_binary("promtool")
    broken = subprocess.run([promtool, "check", "metrics"], input=b'x{a="1} 1\n',
                            capture_output=True, timeout=60)
    assert broken.returncode == 1, broken
    lint = subprocess.run([promtool, "check", "metrics"], input=b"# TYPE requests counter\nrequests 1\n",
                          capture_output=True, timeout=60)
    assert lint.returncode == 3, lint
