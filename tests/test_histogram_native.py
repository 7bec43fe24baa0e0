"""Histogram with native buckets: options, validation, children, exposition, exemplars.

Golden bytes for the text format and OpenMetrics 1.0 (the classic view only)
and OpenMetrics 2.0.0 (the native sample too); classic histograms must be
unchanged, byte for byte and in their hot path.
"""
from __future__ import annotations

import math
import time

import pytest

from prometheus_client import CollectorRegistry, Histogram, generate_latest, metrics, values
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.native_histogram import (
    DEFAULT_ZERO_THRESHOLD,
    NativeHistogramState,
    cell_sample_name,
    parse_cell_sample_name,
    spans_to_buckets,
)
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram

EXAMPLE1 = (0, 0.3, 1, 1.5, 3, 4, 5, -2)  # native-histograms.md worked example 1


@pytest.fixture
def registry():
    return CollectorRegistry()


@pytest.fixture
def frozen_time(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 123.456)
    return 123.456


def native_of(histogram):
    (family,) = histogram.collect()
    return [sample for sample in family.samples if sample.native_histogram is not None]


# --------------------------------------------------------------------------
# Options and validation

def test_native_buckets_are_off_by_default(registry):
    histogram = Histogram("h", "help", registry=registry)
    assert histogram._native is None
    assert "observe" not in vars(histogram) and "_append_samples" not in vars(histogram)
    assert histogram._upper_bounds == list(Histogram.DEFAULT_BUCKETS)
    assert not native_of(histogram)


@pytest.mark.parametrize("factor", [None, 1, 1.0, 0, 0.5, -3])
def test_factor_at_most_one_means_classic(registry, factor):
    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=factor)
    assert histogram._native is None and "observe" not in vars(histogram)
    assert len(histogram._upper_bounds) == 15
    assert "native_histogram_bucket_factor" not in histogram._kwargs


@pytest.mark.parametrize("factor,schema", [(1.1, 3), (2, 0), (1.0001, 8), (1e9, -4), ("1.5", 1)])
def test_factor_selects_the_schema(registry, factor, schema):
    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=factor)
    assert histogram._native.schema == schema
    assert native_of(histogram)[0].native_histogram.schema == schema


@pytest.mark.parametrize("options,message", [
    ({"native_histogram_bucket_factor": "x"}, "h: native_histogram_bucket_factor must be a number or None, got 'x'"),
    ({"native_histogram_bucket_factor": math.nan}, "h: native_histogram_bucket_factor must not be NaN"),
    ({"native_histogram_bucket_factor": [1.1]}, "native_histogram_bucket_factor must be a number"),
    ({"native_histogram_zero_threshold": -1}, "h: native_histogram_zero_threshold must be a finite non-negative"),
    ({"native_histogram_zero_threshold": math.inf}, "native_histogram_zero_threshold must be a finite"),
    ({"native_histogram_zero_threshold": math.nan}, "native_histogram_zero_threshold"),
    ({"native_histogram_zero_threshold": None}, "native_histogram_zero_threshold must be a number, got None"),
    ({"native_histogram_max_bucket_number": -1}, "h: native_histogram_max_bucket_number must be an int >= 0"),
    ({"native_histogram_max_bucket_number": 1.5}, "native_histogram_max_bucket_number"),
    ({"native_histogram_max_bucket_number": True}, "native_histogram_max_bucket_number"),
    ({"native_histogram_min_reset_duration": -0.5}, "h: native_histogram_min_reset_duration must be a non-negative"),
    ({"native_histogram_min_reset_duration": math.nan}, "native_histogram_min_reset_duration"),
    ({"native_histogram_max_zero_threshold": -1e-9}, "h: native_histogram_max_zero_threshold must be a finite"),
])
def test_invalid_options(registry, options, message):
    options.setdefault("native_histogram_bucket_factor", 1.1)
    if not message.startswith("h: "):
        message = "h: " + message
    with pytest.raises(ValueError, match="^Histogram " + message.replace("(", r"\(").replace("[", r"\[")):
        Histogram("h", "help", registry=registry, **options)
    assert list(registry.collect()) == []  # nothing registered


def test_invalid_options_are_refused_even_without_native_buckets(registry):
    with pytest.raises(ValueError, match="native_histogram_max_bucket_number"):
        Histogram("h", "help", registry=registry, native_histogram_max_bucket_number=-1)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        Histogram("h", "help", (), "", "", "", None, None, Histogram.DEFAULT_BUCKETS, 1.1)


def test_classic_buckets_given_are_kept(registry):
    histogram = Histogram("h", "help", registry=registry, buckets=[1, 5], native_histogram_bucket_factor=2)
    assert histogram._upper_bounds == [1.0, 5.0, math.inf]
    explicit_default = Histogram("d", "help", registry=registry, buckets=list(Histogram.DEFAULT_BUCKETS),
                                 native_histogram_bucket_factor=2)
    assert len(explicit_default._upper_bounds) == 15  # only the DEFAULT_BUCKETS object itself means "not given"


def test_children_get_the_options(registry):
    histogram = Histogram("h", "help", ["l"], registry=registry, native_histogram_bucket_factor=1.1,
                          native_histogram_zero_threshold=0.001, native_histogram_max_bucket_number=7,
                          native_histogram_min_reset_duration=60, native_histogram_max_zero_threshold=0.1)
    assert histogram._native is None  # the parent has no series of its own
    with pytest.raises(ValueError, match="histogram metric is missing label values"):
        histogram.observe(1)
    child = histogram.labels("a")
    state = child._native
    assert (state.schema, state.zero_threshold, state._max_buckets, state._min_reset_duration,
            state._max_zero_threshold) == (3, 0.001, 7, 60.0, 0.1)
    assert child._upper_bounds == [math.inf]
    child.observe(0.0005)
    child.observe(2)
    (sample,) = native_of(histogram)
    assert sample.name == "h" and sample.labels == {"l": "a"} and sample.value is None
    assert sample.native_histogram.zero_count == 1 and sample.native_histogram.count_value == 2


def test_labelled_children_with_classic_buckets(registry):
    histogram = Histogram("h", "help", ["l"], registry=registry, buckets=[1, 2],
                          native_histogram_bucket_factor=1.5)
    child = histogram.labels(l="x")
    assert child._upper_bounds == [1.0, 2.0, math.inf] and child._native.schema == 1


def test_time_and_remove(registry):
    histogram = Histogram("h", "help", ["l"], registry=registry, native_histogram_bucket_factor=2)
    with histogram.labels("a").time():
        pass

    @histogram.labels("b").time()
    def work():
        return 5

    assert work() == 5
    counts = {sample.labels["l"]: sample.native_histogram.count_value for sample in native_of(histogram)}
    assert counts == {"a": 1, "b": 1}
    histogram.remove("a")
    assert [sample.labels["l"] for sample in native_of(histogram)] == ["b"]


def test_value_stores_include_the_native_cells(registry):
    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=2)
    histogram.observe(3)
    stores = histogram._value_stores()
    assert len(stores) == 2 + 6  # _sum, +Inf bucket; count, sum, zero_count, zero_threshold, schema, p2


# --------------------------------------------------------------------------
# Exposition

NATIVE_ONLY_TEXT = b"""\
# HELP h help
# TYPE h histogram
h_bucket{le="+Inf"} 8.0
h_count 8.0
h_sum 12.8
# HELP h_created help
# TYPE h_created gauge
h_created 123.456
"""

NATIVE_ONLY_OM1 = b"""\
# HELP h help
# TYPE h histogram
h_bucket{le="+Inf"} 8.0
h_count 8.0
h_sum 12.8
h_created 123.456
# EOF
"""

NATIVE_ONLY_OM2 = b"""\
# HELP h help
# TYPE h histogram
h {count:8,sum:12.8,schema:0,zero_threshold:2.938735877055719e-39,zero_count:1,\
negative_spans:[1:1],negative_deltas:[1],positive_spans:[-1:5],positive_deltas:[1,0,0,1,-1]}
h_bucket{le="+Inf"} 8.0
h_count 8.0
h_sum 12.8
h_created 123.456
# EOF
"""


def test_native_only_exposition(registry, frozen_time):
    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=2)
    for value in EXAMPLE1:
        histogram.observe(value)
    assert generate_latest(registry) == NATIVE_ONLY_TEXT
    assert om_generate_latest(registry) == NATIVE_ONLY_OM1
    assert om_generate_latest(registry, version="1.0.0") == NATIVE_ONLY_OM1
    assert om_generate_latest(registry, version="2.0.0") == NATIVE_ONLY_OM2


def test_empty_native_histogram(registry, frozen_time):
    Histogram("h", "help", registry=registry, native_histogram_bucket_factor=1.1)
    assert om_generate_latest(registry, version="2.0.0") == b"""\
# HELP h help
# TYPE h histogram
h {count:0,sum:0.0,schema:3,zero_threshold:2.938735877055719e-39,zero_count:0}
h_bucket{le="+Inf"} 0.0
h_count 0.0
h_sum 0.0
h_created 123.456
# EOF
"""


def test_classic_and_native_exposition(registry, frozen_time):
    histogram = Histogram("hb", "both", ["l"], registry=registry, buckets=[1, 5],
                          native_histogram_bucket_factor=1.1)
    for value in (0.5, 3, 3.5, 9):
        histogram.labels("a").observe(value)
    text = b"""\
# HELP hb both
# TYPE hb histogram
hb_bucket{l="a",le="1.0"} 1.0
hb_bucket{l="a",le="5.0"} 3.0
hb_bucket{l="a",le="+Inf"} 4.0
hb_count{l="a"} 4.0
hb_sum{l="a"} 16.0
# HELP hb_created both
# TYPE hb_created gauge
hb_created{l="a"} 123.456
"""
    assert generate_latest(registry) == text
    assert om_generate_latest(registry, version="2.0.0") == b"""\
# HELP hb both
# TYPE hb histogram
hb{l="a"} {count:4,sum:16.0,schema:3,zero_threshold:2.938735877055719e-39,zero_count:0,\
positive_spans:[-8:1,20:3,10:1],positive_deltas:[1,0,-1,1,0]}
hb_bucket{l="a",le="1.0"} 1.0
hb_bucket{l="a",le="5.0"} 3.0
hb_bucket{l="a",le="+Inf"} 4.0
hb_count{l="a"} 4.0
hb_sum{l="a"} 16.0
hb_created{l="a"} 123.456
# EOF
"""


CLASSIC_TEXT = b"""\
# HELP hx hist ex
# TYPE hx histogram
hx_bucket{le="1.0"} 1.0
hx_bucket{le="5.0"} 3.0
hx_bucket{le="+Inf"} 4.0
hx_count 4.0
hx_sum 16.0
# HELP hx_created hist ex
# TYPE hx_created gauge
hx_created 1.70000000025e+09
"""

CLASSIC_OM = b"""\
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


@pytest.mark.parametrize("factor", [None, 1])
def test_classic_output_unchanged(registry, monkeypatch, factor):
    """behaviors.md section 7, byte for byte, with and without an inactive factor."""
    monkeypatch.setattr(time, "time", lambda: 1700000000.25)
    options = {} if factor is None else {"native_histogram_bucket_factor": factor}
    histogram = Histogram("hx", "hist ex", buckets=[1, 5], registry=registry, **options)
    histogram.observe(0.5, {"trace_id": "t1"})
    histogram.observe(3, {"trace_id": "t2"})
    histogram.observe(3.5)
    histogram.observe(9, {"trace_id": "t3"})
    assert generate_latest(registry) == CLASSIC_TEXT
    assert om_generate_latest(registry) == CLASSIC_OM
    assert om_generate_latest(registry, version="2.0.0") == CLASSIC_OM


def test_nan_and_infinities(registry, frozen_time):
    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=2)
    for value in (math.nan, math.inf, -math.inf, 1.0):
        histogram.observe(value)
    (family,) = histogram.collect()
    native, inf_bucket, count, total, created = family.samples
    # native count includes NaN; the classic view counts like a classic histogram (NaN in _sum only)
    assert native.native_histogram.count_value == 4 and math.isnan(native.native_histogram.sum_value)
    assert spans_to_buckets(native.native_histogram.pos_spans, native.native_histogram.pos_deltas) == {0: 1, 1025: 1}
    assert spans_to_buckets(native.native_histogram.neg_spans, native.native_histogram.neg_deltas) == {1025: 1}
    assert (inf_bucket.value, count.value) == (3.0, 3.0) and math.isnan(total.value)


def test_negative_values_keep_the_sum(registry):
    # classic histograms drop _sum when the first bound is negative; native-only ones have only +Inf
    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=2)
    histogram.observe(-3)
    names = [sample.name for sample in histogram.collect()[0].samples]
    assert names == ["h", "h_bucket", "h_count", "h_sum", "h_created"]


def test_exemplars(registry, frozen_time):
    histogram = Histogram("h", "help", registry=registry, buckets=[1], native_histogram_bucket_factor=2)
    histogram.observe(0.5, {"trace_id": "a"})
    histogram.observe(3, {"trace_id": "b"})
    histogram.observe(0.7)  # no exemplar: the latest one stays
    (native,) = native_of(histogram)
    assert native.native_histogram.nh_exemplars == (Exemplar({"trace_id": "b"}, 3, 123.456),)
    lines = om_generate_latest(registry, version="2.0.0").decode().splitlines()
    assert lines[2].endswith(' # {trace_id="b"} 3.0 123.456')
    assert lines[3] == 'h_bucket{le="1.0"} 2.0 # {trace_id="a"} 0.5 123.456'
    assert lines[4] == 'h_bucket{le="+Inf"} 3.0 # {trace_id="b"} 3.0 123.456'
    with pytest.raises(ValueError, match="exceeding the limit of 128"):
        histogram.observe(2, {"x": "y" * 200})
    assert native_of(histogram)[0].native_histogram.count_value == 4  # observed before validation failed


def test_nan_exemplar_only_on_native(registry, frozen_time):
    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=2)
    histogram.observe(math.nan, {"t": "n"})
    (family,) = histogram.collect()
    assert family.samples[0].native_histogram.nh_exemplars[0].labels == {"t": "n"}
    assert family.samples[1].exemplar is None


def test_reset_through_the_bucket_limit(registry, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    histogram = Histogram("h", "help", registry=registry, buckets=[10], native_histogram_bucket_factor=2,
                          native_histogram_max_bucket_number=2, native_histogram_min_reset_duration=60)
    for value in (1, 2, 3):
        histogram.observe(value)
    assert histogram._native.schema == 0 - 1  # over the limit too early: halved instead
    now[0] = 1060.0
    histogram.observe(100)  # a new bucket after the min reset duration: reset, then record
    (family,) = histogram.collect()
    by_name = {(sample.name, sample.labels.get("le")): sample for sample in family.samples}
    native = by_name[("h", None)].native_histogram
    assert (native.count_value, native.sum_value, native.schema) == (1, 100.0, 0)
    assert by_name[("h_bucket", "10.0")].value == 0.0 and by_name[("h_bucket", "+Inf")].value == 1.0
    assert by_name[("h_sum", None)].value == 100.0 and by_name[("h_created", None)].value == 1060.0


def test_collect_is_consistent_under_threads(registry):
    import threading

    histogram = Histogram("h", "help", registry=registry, native_histogram_bucket_factor=1.1,
                          native_histogram_max_bucket_number=10)
    stop = threading.Event()
    bad = []

    def scrape():
        while not stop.is_set():
            (family,) = histogram.collect()
            native = family.samples[0].native_histogram
            count = family.samples[2].value
            buckets = sum(spans_to_buckets(native.pos_spans, native.pos_deltas).values())
            if not (native.count_value == count == native.zero_count + buckets):
                bad.append(family.samples)

    def observe(offset):
        for i in range(2000):
            histogram.observe((i % 97) * 0.37 + offset)

    scraper = threading.Thread(target=scrape)
    scraper.start()
    workers = [threading.Thread(target=observe, args=(k,)) for k in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    scraper.join()
    assert not bad
    assert native_of(histogram)[0].native_histogram.count_value == 6000


# --------------------------------------------------------------------------
# Custom collectors

class NativeCollector:
    def __init__(self, state):
        self.state = state

    def collect(self):
        family = HistogramMetricFamily("job_seconds", "Job time", labels=["queue"])
        snapshot = self.state.snapshot()
        family.add_native_metric(["default"], snapshot)
        family.add_metric(["default"], [("+Inf", 9.0)], sum_value=snapshot.sum_value)
        yield family


def test_custom_collector_with_a_state_snapshot(registry):
    state = NativeHistogramState(0)
    for value in (1, 1.5, 3, 4, 5, 100, 0, 2, 2):
        state.observe(value)
    registry.register(NativeCollector(state))
    assert generate_latest(registry) == b"""\
# HELP job_seconds Job time
# TYPE job_seconds histogram
job_seconds_bucket{le="+Inf",queue="default"} 9.0
job_seconds_count{queue="default"} 9.0
job_seconds_sum{queue="default"} 118.5
"""
    assert om_generate_latest(registry) == b"""\
# HELP job_seconds Job time
# TYPE job_seconds histogram
job_seconds_bucket{le="+Inf",queue="default"} 9.0
job_seconds_count{queue="default"} 9.0
job_seconds_sum{queue="default"} 118.5
# EOF
"""
    text = om_generate_latest(registry, version="2.0.0")
    assert text.splitlines()[2] == (
        b'job_seconds{queue="default"} {count:9,sum:118.5,schema:0,zero_threshold:2.938735877055719e-39,'
        b'zero_count:1,positive_spans:[0:4,3:1],positive_deltas:[1,2,-1,-1,0]}')
    # and it parses back (the OpenMetrics parser reads deltas, not exemplars)
    (family,) = text_string_to_metric_families(text.decode())
    parsed = family.samples[0].native_histogram
    assert parsed == state.snapshot()._replace(neg_spans=None, neg_deltas=None)


def test_add_native_metric_sample_shape():
    family = HistogramMetricFamily("nh", "help", labels=["a"])
    native = NativeHistogram(2, 3.0, 0, DEFAULT_ZERO_THRESHOLD, 0, (BucketSpan(1, 1),), (), (2,), ())
    family.add_native_metric(["x"], native, timestamp=5)
    (sample,) = family.samples
    assert (sample.name, sample.labels, sample.value, sample.timestamp, sample.native_histogram) == (
        "nh", {"a": "x"}, None, 5, native)


# --------------------------------------------------------------------------
# Storage: cells come from values.ValueClass, with the naming the multiprocess reader uses

class RecordingBackend:
    """A multiprocess-like ValueClass recording identities; cells are in-process."""

    _multiprocess = True

    def __init__(self):
        self.allocated = []

    def __call__(self, typ, metric_name, name, labelnames, labelvalues, help_text, **kwargs):
        from prometheus_client.storage import Cell
        cell = Cell()
        self.allocated.append(((typ, metric_name, name, tuple(labelnames), tuple(labelvalues), help_text), cell))
        return cell

    def name_of(self, cell):
        return next(identity[2] for identity, allocated in self.allocated if allocated is cell)


def test_cells_are_allocated_and_released_through_the_backend(monkeypatch):
    backend = RecordingBackend()
    released, published = [], []
    monkeypatch.setattr(values, "ValueClass", backend)
    monkeypatch.setattr(metrics, "_release_store", released.append)
    monkeypatch.setattr(metrics, "_publish_exemplar", lambda cell, exemplar: published.append(cell))
    histogram = Histogram("h", "help", ["l"], registry=None, native_histogram_bucket_factor=1.5,
                          native_histogram_max_bucket_number=2)
    child = histogram.labels("a")
    names = [identity[2] for identity, _ in backend.allocated]
    assert names == ["h_sum", "h_bucket", "h:native:count", "h:native:sum", "h:native:zero_count",
                     "h:native:zero_threshold", "h:native:schema"]
    assert all(identity[:2] == ("histogram", "h") and identity[3][0] == "l" and identity[4][0] == "a"
               and identity[5] == "help" for identity, _ in backend.allocated)
    for value in (1.2, -1.2):
        child.observe(value)
    # A third bucket (p4 at schema 1): halve to schema 0 ({p1, p2, n1}: still 3), then to -1 ({p1, n1}).
    child.observe(3.0, {"trace": "x"})

    def names_of(cells):
        return sorted(backend.name_of(cell) for cell in cells)

    assert names_of(released) == ["h:native:n1", "h:native:n1", "h:native:p1", "h:native:p1",
                                  "h:native:p2", "h:native:p4"]
    live = {identity[2]: cell.get() for identity, cell in backend.allocated
            if not any(cell is gone for gone in released)}
    assert live == {"h_sum": 3.0, "h_bucket": 3.0, "h:native:count": 3.0, "h:native:sum": 3.0,
                    "h:native:zero_count": 0.0, "h:native:zero_threshold": DEFAULT_ZERO_THRESHOLD,
                    "h:native:schema": -1.0, "h:native:p1": 2.0, "h:native:n1": 1.0}
    assert names_of(published) == ["h:native:count", "h_bucket"]
    assert {parse_cell_sample_name("h", name) for name in live} == {
        None, "count", "sum", "zero_count", "zero_threshold", "schema", "p1", "n1"}
    assert cell_sample_name("h", "p1") in live
    released.clear()
    histogram.remove("a")  # removing the child releases every cell it holds
    assert names_of(released) == sorted(live)
