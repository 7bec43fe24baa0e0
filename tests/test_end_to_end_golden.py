"""Golden bytes of behaviors.md, produced through the real metric classes.

The encoder tests pin the formats with hand-built families; these pin the
whole path users take: metric classes -> registry -> encoders.
"""
from __future__ import annotations

import time

import pytest

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 123.456)
    r = CollectorRegistry()
    c = Counter("requests", "Total requests", ["method", "code"], registry=r)
    c.labels("get", "200").inc()
    c.labels(method="post", code="500").inc(2.5)
    Gauge("temp_celsius", "Temperature", registry=r).set(21.5)
    s = Summary("latency_seconds", "Latency", registry=r)
    s.observe(0.25)
    s.observe(1)
    h = Histogram("size_bytes", "Sizes", buckets=[1, 10, 100.5, 1e6], registry=r)
    h.observe(5)
    h.observe(1e7)
    Info("build", "Build info", registry=r).info({"version": "1.0", "commit": "abc"})
    Enum("state", "State", states=["a", "b", "c"], registry=r).state("b")
    return r


TEXT = """\
# HELP requests_total Total requests
# TYPE requests_total counter
requests_total{code="200",method="get"} 1.0
requests_total{code="500",method="post"} 2.5
# HELP requests_created Total requests
# TYPE requests_created gauge
requests_created{code="200",method="get"} 123.456
requests_created{code="500",method="post"} 123.456
# HELP temp_celsius Temperature
# TYPE temp_celsius gauge
temp_celsius 21.5
# HELP latency_seconds Latency
# TYPE latency_seconds summary
latency_seconds_count 2.0
latency_seconds_sum 1.25
# HELP latency_seconds_created Latency
# TYPE latency_seconds_created gauge
latency_seconds_created 123.456
# HELP size_bytes Sizes
# TYPE size_bytes histogram
size_bytes_bucket{le="1.0"} 0.0
size_bytes_bucket{le="10.0"} 1.0
size_bytes_bucket{le="100.5"} 1.0
size_bytes_bucket{le="1e+06"} 1.0
size_bytes_bucket{le="+Inf"} 2.0
size_bytes_count 2.0
size_bytes_sum 1.0000005e+07
# HELP size_bytes_created Sizes
# TYPE size_bytes_created gauge
size_bytes_created 123.456
# HELP build_info Build info
# TYPE build_info gauge
build_info{commit="abc",version="1.0"} 1.0
# HELP state State
# TYPE state gauge
state{state="a"} 0.0
state{state="b"} 1.0
state{state="c"} 0.0
"""

OPENMETRICS = """\
# HELP requests Total requests
# TYPE requests counter
requests_total{code="200",method="get"} 1.0
requests_created{code="200",method="get"} 123.456
requests_total{code="500",method="post"} 2.5
requests_created{code="500",method="post"} 123.456
# HELP temp_celsius Temperature
# TYPE temp_celsius gauge
temp_celsius 21.5
# HELP latency_seconds Latency
# TYPE latency_seconds summary
latency_seconds_count 2.0
latency_seconds_sum 1.25
latency_seconds_created 123.456
# HELP size_bytes Sizes
# TYPE size_bytes histogram
size_bytes_bucket{le="1.0"} 0.0
size_bytes_bucket{le="10.0"} 1.0
size_bytes_bucket{le="100.5"} 1.0
size_bytes_bucket{le="1e+06"} 1.0
size_bytes_bucket{le="+Inf"} 2.0
size_bytes_count 2.0
size_bytes_sum 1.0000005e+07
size_bytes_created 123.456
# HELP build Build info
# TYPE build info
build_info{commit="abc",version="1.0"} 1.0
# HELP state State
# TYPE state stateset
state{state="a"} 0.0
state{state="b"} 1.0
state{state="c"} 0.0
# EOF
"""


def test_text_format(registry):
    assert generate_latest(registry).decode() == TEXT


def test_openmetrics_format(registry):
    assert openmetrics.generate_latest(registry).decode() == OPENMETRICS


def test_rendering_twice_gives_the_same_bytes(registry):
    # label renderings are memoized on the children's label sets
    assert generate_latest(registry) == generate_latest(registry)
    assert openmetrics.generate_latest(registry) == openmetrics.generate_latest(registry)
    assert generate_latest(registry, "allow-utf-8").decode() == TEXT


def test_exemplars_and_dotted_names(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1700000000.25)
    r = CollectorRegistry()
    Counter("ex", "ex counter", registry=r).inc(2, exemplar={"trace_id": "abc", "span": 'x"y'})
    h = Histogram("hx", "hist ex", buckets=[1, 5], registry=r)
    h.observe(0.5, {"trace_id": "t1"})
    h.observe(3, {"trace_id": "t2"})
    h.observe(3.5)
    h.observe(9, {"trace_id": "t3"})
    assert openmetrics.generate_latest(r).decode() == """\
# HELP ex ex counter
# TYPE ex counter
ex_total 2.0 # {span="x\\"y",trace_id="abc"} 2.0 1700000000.25
ex_created 1.70000000025e+09
# HELP hx hist ex
# TYPE hx histogram
hx_bucket{le="1.0"} 1.0 # {trace_id="t1"} 0.5 1700000000.25
hx_bucket{le="5.0"} 3.0 # {trace_id="t2"} 3.0 1700000000.25
hx_bucket{le="+Inf"} 4.0 # {trace_id="t3"} 9.0 1700000000.25
hx_count 4.0
hx_sum 16.0
hx_created 1.70000000025e+09
# EOF
"""


def test_escaping_schemes_through_metric_classes(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 123.456)
    r = CollectorRegistry()
    Counter("my.app:req", "dotted counter", ["http.method", "ok"], registry=r).labels("GET", "x").inc()
    Gauge("a:b", "colon gauge", registry=r).set(3)
    assert generate_latest(r, "allow-utf-8").decode() == """\
# HELP "my.app:req_total" dotted counter
# TYPE "my.app:req_total" counter
{"my.app:req_total","http.method"="GET",ok="x"} 1.0
# HELP "my.app:req_created" dotted counter
# TYPE "my.app:req_created" gauge
{"my.app:req_created","http.method"="GET",ok="x"} 123.456
# HELP a:b colon gauge
# TYPE a:b gauge
a:b 3.0
"""
    # the same label sets rendered under another scheme must not reuse the memo
    assert openmetrics.generate_latest(r, "values").decode() == """\
# HELP U__my_2e_app:req dotted counter
# TYPE U__my_2e_app:req counter
U__my_2e_app_3a_req__total{U__http_2e_method="GET",ok="x"} 1.0
U__my_2e_app_3a_req__created{U__http_2e_method="GET",ok="x"} 123.456
# HELP a:b colon gauge
# TYPE a:b gauge
U__a_3a_b 3.0
# EOF
"""
