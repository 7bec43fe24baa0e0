"""The metric classes: behaviour, errors, samples, and the hot-path contracts."""
from __future__ import annotations

import gc
import signal
import threading
import time

import pytest

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    metrics,
    values,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.samples import Exemplar, Sample


@pytest.fixture
def registry():
    return CollectorRegistry()


@pytest.fixture
def frozen_time(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 123.456)
    return 123.456


def samples_of(metric):
    (family,) = metric.collect()
    return family.samples


# --- naming -----------------------------------------------------------------

@pytest.mark.parametrize(
    "args, expected",
    [
        (dict(name="c_total"), "c"),
        (dict(name="x_total", unit="total"), "x_total"),
        (dict(name="x_total", namespace="ns", subsystem="sub", unit="seconds"), "ns_sub_x_seconds"),
        (dict(name="requests", unit="total"), "requests_total"),
        (dict(name="c_seconds", unit="seconds"), "c_seconds"),
    ],
)
def test_counter_naming(registry, args, expected):
    assert Counter(documentation="h", registry=registry, **args)._name == expected


def test_str_and_repr(registry):
    counter = Counter("c", "h", ["l"], registry=registry)
    assert str(counter) == "counter:c"
    assert repr(counter) == "prometheus_client.metrics.Counter(c)"
    assert repr(counter.labels("x")) == "prometheus_client.metrics.Counter(c)"
    assert str(Enum("e", "h", states=["a"], registry=registry)) == "stateset:e"


# --- constructor errors -------------------------------------------------------

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: Counter("", "h", registry=r), "Metric name should not be empty"),
        (lambda r: Counter("_total", "h", registry=r), "metric name cannot be empty"),
        (lambda r: Counter("c", "h", ["__x"], registry=r), "Reserved label metric name: __x"),
        (lambda r: Summary("s", "h", ["quantile"], registry=r), "Reserved label methe fric name: quantile"),
        (lambda r: Histogram("s", "h", ["le"], registry=r), "Reserved label methe fric name: le"),
        (lambda r: Info("i", "h", unit="x", registry=r), "Metric name is of a type that cannot have a unit: i_x"),
        (lambda r: Enum("e", "h", unit="x", states=["a"], registry=r),
         "Metric name is of a type that cannot have a unit: e_x"),
        (lambda r: Enum("e", "h", registry=r), "No states provided for Enum metric: e"),
        (lambda r: Enum("e", "h", states=[], registry=r), "No states provided for Enum metric: e"),
        (lambda r: Enum("e", "h", ["e"], states=["a"], registry=r), "Overlapping labels for Enum metric: e"),
        (lambda r: Gauge("g", "h", multiprocess_mode="avg", registry=r), "Invalid multiprocess mode: avg"),
        (lambda r: Histogram("h", "h", buckets=[2, 1], registry=r), "Buckets not in sorted order"),
        (lambda r: Histogram("h", "h", buckets=[], registry=r), "Must have at least two buckets"),
        (lambda r: Histogram("h", "h", buckets=[float("inf")], registry=r), "Must have at least two buckets"),
    ],
)
def test_constructor_errors_register_nothing(registry, make, message):
    with pytest.raises(ValueError) as error:
        make(registry)
    assert str(error.value) == message
    assert registry._names_to_collectors == {}


def test_legacy_validation_errors(registry):
    from prometheus_client import validation

    validation.enable_legacy_validation()
    try:
        with pytest.raises(ValueError, match="^invalid metric name a b$"):
            Counter("a b", "h", registry=registry)
        with pytest.raises(ValueError, match="^Invalid label metric name: a.b$"):
            Counter("c", "h", ["a.b"], registry=registry)
    finally:
        validation.disable_legacy_validation()
    Counter("a b", "h", ["a.b"], registry=registry)  # UTF-8 names by default


# --- labels -------------------------------------------------------------------

def test_labels_positional_keyword_and_str_conversion(registry):
    counter = Counter("c", "h", ["a", "b"], registry=registry)
    child = counter.labels("x", 1)
    assert counter.labels(b=1, a="x") is child
    assert counter.labels("x", "1") is child
    assert counter.labels(None, 1.5) is counter.labels("None", "1.5")
    assert list(counter._metrics) == [("x", "1"), ("None", "1.5")]
    assert child._labelvalues == ("x", "1")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: c.labels("x", "y", "z"), "Incorrect label count"),
        (lambda c: c.labels(), "Incorrect label count"),
        (lambda c: c.labels(a="x"), "Incorrect label names"),
        (lambda c: c.labels(a="x", c="y"), "Incorrect label names"),
        (lambda c: c.labels("x", b="y"), "Can't pass both *args and **kwargs"),
        (lambda c: c.labels("x", "y").labels("z", "w"),
         "counter:c already has labels set ({'a': 'x', 'b': 'y'}); can not chain calls to .labels()"),
        (lambda c: c.inc(), "counter metric is missing label values"),
        (lambda c: c.inc(-1), "counter metric is missing label values"),
        (lambda c: c.count_exceptions(), "counter metric is missing label values"),
    ],
)
def test_labels_errors(registry, call, message):
    counter = Counter("c", "h", ["a", "b"], registry=registry)
    with pytest.raises(ValueError) as error:
        call(counter)
    assert str(error.value) == message


def test_labels_on_unlabelled_metric(registry):
    with pytest.raises(ValueError, match="^No label names were set when constructing counter:c$"):
        Counter("c", "h", registry=registry).labels("x")


@pytest.mark.parametrize(
    "make, call, word",
    [
        (lambda r: Gauge("m", "h", ["l"], registry=r), lambda m: m.set(1), "gauge"),
        (lambda r: Gauge("m", "h", ["l"], registry=r), lambda m: m.inc(), "gauge"),
        (lambda r: Gauge("m", "h", ["l"], registry=r), lambda m: m.dec(), "gauge"),
        (lambda r: Gauge("m", "h", ["l"], registry=r), lambda m: m.track_inprogress(), "gauge"),
        (lambda r: Gauge("m", "h", ["l"], registry=r), lambda m: m.set_function(lambda: 1), "gauge"),
        (lambda r: Summary("m", "h", ["l"], registry=r), lambda m: m.observe(1), "summary"),
        (lambda r: Histogram("m", "h", ["l"], registry=r), lambda m: m.observe(1), "histogram"),
        (lambda r: Enum("m", "h", ["l"], states=["a"], registry=r), lambda m: m.state("a"), "stateset"),
    ],
)
def test_updating_a_labelled_parent_raises(registry, make, call, word):
    metric = make(registry)
    with pytest.raises(ValueError, match="^%s metric is missing label values$" % word):
        call(metric)


def test_timer_on_labelled_parent_fails_at_exit(registry):
    histogram = Histogram("h", "h", ["l"], registry=registry)
    timer = histogram.time()
    with pytest.raises(ValueError, match="histogram metric is missing label values"):
        with timer:
            pass
    with histogram.time() as t:
        t.labels("a")
    assert histogram.labels("a")._sum.get() == t.duration


def test_info_on_labelled_parent_raises_attribute_error(registry):
    info = Info("i", "h", ["l"], registry=registry)
    with pytest.raises(AttributeError, match="_labelname_set"):
        info.info({})


def test_remove_remove_by_labels_and_clear(registry):
    counter = Counter("c", "h", ["l", "m"], registry=registry)
    for values_ in (("a", "1"), ("a", "2"), ("b", "1")):
        counter.labels(*values_).inc()
    counter.remove("b", 1)
    assert list(counter._metrics) == [("a", "1"), ("a", "2")]
    counter.remove("zz", "zz")  # unknown: silent
    with pytest.raises(ValueError, match=r"^Incorrect label count \(expected 2, got \('x',\)\)$"):
        counter.remove("x")
    with pytest.raises(TypeError, match=r"^labels must be a dict of \{label_name: label_value\}$"):
        counter.remove_by_labels(["a"])
    with pytest.raises(ValueError) as error:
        counter.remove_by_labels({"z": 1})
    assert str(error.value) == "Unknown label names: ['z']; expected ('l', 'm')"
    counter.remove_by_labels({})
    counter.labels("b", "2").inc()
    counter.remove_by_labels({"m": 2})
    assert list(counter._metrics) == [("a", "1")]
    counter.clear()
    assert counter._metrics == {}
    Counter("plain", "h", registry=registry).clear()  # no-op
    with pytest.raises(ValueError, match="No label names were set"):
        Counter("plain2", "h", registry=registry).remove("x")


def test_removed_child_readded_moves_to_the_end(registry):
    gauge = Gauge("g", "h", ["l"], registry=registry)
    gauge.labels("a").set(1)
    gauge.labels("b").set(2)
    gauge.remove("a")
    gauge.labels("a").set(3)
    assert [(s.labels, s.value) for s in samples_of(gauge)] == [({"l": "b"}, 2.0), ({"l": "a"}, 3.0)]


def test_children_are_built_through_the_subclass_init(registry):
    class ContextCounter(Counter):
        def __init__(self, *args, **kwargs):
            self.context = kwargs.pop("context", "from-init")
            super().__init__(*args, **kwargs)

    counter = ContextCounter("cc", "h", ["l"], namespace="ns", unit="seconds", registry=registry)
    child = counter.labels("x")
    assert child.context == "from-init"
    assert child._name == counter._name == "ns_cc_seconds"


# --- values and samples -------------------------------------------------------

def test_counter(registry, frozen_time):
    counter = Counter("c", "h", registry=registry)
    counter.inc()
    counter.inc(1.5)
    assert counter._value.get() == 2.5
    with pytest.raises(ValueError, match=r"^Counters can only be incremented by non-negative amounts\.$"):
        counter.inc(-1)
    with pytest.raises(TypeError):
        counter.inc("1")
    assert samples_of(counter) == [Sample("c_total", {}, 2.5), Sample("c_created", {}, 123.456)]


def test_counter_reset(registry, monkeypatch):
    counter = Counter("c", "h", registry=registry)
    counter.inc(3)
    monkeypatch.setattr(time, "time", lambda: 999.0)
    counter.reset()
    assert counter._value.get() == 0
    assert counter._created == 999.0


def test_counter_exemplars(registry, frozen_time):
    counter = Counter("c", "h", registry=registry)
    counter.inc(2, exemplar={"trace_id": "abc"})
    counter.inc()  # keeps the previous exemplar
    assert samples_of(counter)[0].exemplar == Exemplar({"trace_id": "abc"}, 2, 123.456)
    counter.inc(1, {})  # an empty dict is ignored
    assert samples_of(counter)[0].exemplar == Exemplar({"trace_id": "abc"}, 2, 123.456)
    with pytest.raises(ValueError) as error:
        counter.inc(1, exemplar={"a" * 100: "b" * 30})
    assert str(error.value) == "Exemplar labels have %d UTF-8 characters, exceeding the limit of 128"
    assert counter._value.get() == 5.0  # incremented before validation failed


def test_gauge(registry, monkeypatch):
    gauge = Gauge("g", "h", registry=registry)
    gauge.inc()
    gauge.inc(2)
    gauge.dec(0.5)
    assert gauge._value.get() == 2.5
    gauge.set("3")
    assert gauge._value.get() == 3.0
    with pytest.raises(TypeError):
        gauge.inc("1")
    monkeypatch.setattr(time, "time", lambda: 1700000000.5)
    gauge.set_to_current_time()
    assert samples_of(gauge) == [Sample("g", {}, 1700000000.5)]


def test_gauge_mostrecent_modes_refuse_inc_and_dec(registry):
    gauge = Gauge("g", "h", ["l"], multiprocess_mode="livemostrecent", registry=registry)
    with pytest.raises(RuntimeError, match="^inc must not be used with the mostrecent mode$"):
        gauge.inc()
    with pytest.raises(RuntimeError, match="^dec must not be used with the mostrecent mode$"):
        gauge.labels("x").dec()
    gauge.labels("x").set(4)
    assert gauge.labels("x")._value.get() == 4.0
    assert gauge.labels("x")._kwargs == {"multiprocess_mode": "livemostrecent"}


def test_gauge_set_function(registry):
    gauge = Gauge("g", "h", registry=registry)
    items = [1, 2, 3]
    gauge.set_function(lambda: len(items))
    gauge.set(100)
    assert samples_of(gauge) == [Sample("g", {}, 3.0)]
    items.append(4)
    assert registry.get_sample_value("g") == 4.0


def test_gauge_track_inprogress_and_time(registry):
    gauge = Gauge("g", "h", registry=registry)
    with gauge.track_inprogress():
        assert gauge._value.get() == 1
    assert gauge._value.get() == 0
    with gauge.time() as timer:
        pass
    assert gauge._value.get() == timer.duration >= 0


def test_summary(registry, frozen_time):
    summary = Summary("s", "h", ["l"], registry=registry)
    summary.labels("a").observe(0.25)
    summary.labels("a").observe(1)
    summary.labels("a").observe(-0.5)
    assert samples_of(summary) == [
        Sample("s_count", {"l": "a"}, 3.0),
        Sample("s_sum", {"l": "a"}, 0.75),
        Sample("s_created", {"l": "a"}, 123.456),
    ]


def test_histogram_buckets_and_samples(registry, frozen_time):
    histogram = Histogram("h", "h", buckets=[1, "10", 100.5, 1e6], registry=registry)
    assert histogram._upper_bounds == [1.0, 10.0, 100.5, 1e6, float("inf")]
    histogram.observe(5)
    histogram.observe(1e7)
    histogram.observe(1)  # on a bound: that bucket
    histogram.observe(float("nan"))
    names = [(s.name, s.labels, s.value) for s in samples_of(histogram)]
    assert names[:5] == [
        ("h_bucket", {"le": "1.0"}, 1.0),
        ("h_bucket", {"le": "10.0"}, 2.0),
        ("h_bucket", {"le": "100.5"}, 2.0),
        ("h_bucket", {"le": "1e+06"}, 2.0),
        ("h_bucket", {"le": "+Inf"}, 3.0),
    ]
    assert names[5] == ("h_count", {}, 3.0)
    assert names[6][0] == "h_sum" and names[6][2] != names[6][2]  # NaN
    assert names[7] == ("h_created", {}, 123.456)


def test_histogram_default_buckets_and_single_bound(registry):
    assert Histogram.DEFAULT_BUCKETS[-1] == float("inf")
    assert len(Histogram.DEFAULT_BUCKETS) == 15
    assert Histogram("h", "h", buckets=[1], registry=registry)._upper_bounds == [1.0, float("inf")]


def test_histogram_negative_first_bound_has_no_sum(registry):
    histogram = Histogram("neg", "h", buckets=[-1, 0, 1], registry=registry)
    histogram.observe(-0.5)
    assert [s.name for s in samples_of(histogram)] == ["neg_bucket"] * 4 + ["neg_count", "neg_created"]


def test_histogram_exemplars_per_bucket(registry, frozen_time):
    histogram = Histogram("hx", "h", buckets=[1, 5], registry=registry)
    histogram.observe(0.5, {"trace_id": "t1"})
    histogram.observe(3, {"trace_id": "t2"})
    histogram.observe(3.5)
    histogram.observe(9, {"trace_id": "t3"})
    exemplars = [s.exemplar for s in samples_of(histogram) if s.name == "hx_bucket"]
    assert exemplars == [
        Exemplar({"trace_id": "t1"}, 0.5, 123.456),
        Exemplar({"trace_id": "t2"}, 3, 123.456),
        Exemplar({"trace_id": "t3"}, 9, 123.456),
    ]


def test_info(registry):
    info = Info("i", "h", registry=registry)
    assert samples_of(info) == [Sample("i_info", {}, 1.0)]
    info.info({"version": "1.0", "commit": "abc"})
    assert samples_of(info) == [Sample("i_info", {"version": "1.0", "commit": "abc"}, 1.0)]
    labelled = Info("li", "h", ["l"], registry=registry)
    with pytest.raises(ValueError) as error:
        labelled.labels("x").info({"l": "y"})
    assert str(error.value) == "Overlapping labels for Info metric, metric: ('l',) child: {'l': 'y'}"
    with pytest.raises(ValueError, match="^Label value cannot be None$"):
        labelled.labels("x").info({"a": None})
    labelled.labels("x").info({"a": "b"})
    assert samples_of(labelled) == [Sample("li_info", {"l": "x", "a": "b"}, 1.0)]


def test_enum(registry):
    enum = Enum("state", "h", states=["a", "b", "c"], registry=registry)
    assert [s.value for s in samples_of(enum)] == [1, 0, 0]
    enum.state("b")
    assert samples_of(enum) == [
        Sample("state", {"state": "a"}, 0),
        Sample("state", {"state": "b"}, 1),
        Sample("state", {"state": "c"}, 0),
    ]
    with pytest.raises(ValueError, match="'zz' is not in list"):
        enum.state("zz")
    assert enum._kwargs == {"states": ["a", "b", "c"]}


def test_created_series_can_be_disabled_and_enabled(registry):
    counter = Counter("c", "h", registry=registry)
    try:
        metrics.disable_created_metrics()
        assert [s.name for s in samples_of(counter)] == ["c_total"]
    finally:
        metrics.enable_created_metrics()
    assert [s.name for s in samples_of(counter)] == ["c_total", "c_created"]


def test_created_switch_read_from_module_global(registry, monkeypatch):
    counter = Counter("c", "h", registry=registry)
    monkeypatch.setattr(metrics, "_use_created", False)
    assert [s.name for s in samples_of(counter)] == ["c_total"]


@pytest.mark.parametrize("value, expected", [("true", False), ("1", False), ("T", False), ("yes", True), ("", True)])
def test_created_environment_switch(monkeypatch, value, expected):
    monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", value)
    assert metrics._get_use_created() is expected


def test_describe(registry):
    (metric,) = Counter("c", "h", unit="seconds", registry=registry).describe()
    assert (metric.name, metric.documentation, metric.type, metric.unit, metric.samples) == (
        "c_seconds", "h", "counter", "seconds", [],
    )


def test_labelled_metric_without_children_has_no_samples(registry):
    assert samples_of(Counter("lab", "h", ["l"], registry=registry)) == []


def test_classic_sample_hooks_are_kept(registry, frozen_time):
    histogram = Histogram("h", "h", ["path"], buckets=[1], registry=registry)
    histogram.labels("/a").observe(0.5)
    assert list(histogram.labels("/a")._child_samples()) == [
        Sample("_bucket", {"le": "1.0"}, 1.0),
        Sample("_bucket", {"le": "+Inf"}, 1.0),
        Sample("_count", {}, 1.0),
        Sample("_sum", {}, 0.5),
        Sample("_created", {}, 123.456),
    ]
    multi = list(histogram._multi_samples())
    assert multi[0] == Sample("_bucket", {"path": "/a", "le": "1.0"}, 1.0)
    assert list(histogram._samples()) == multi


def test_subclass_overriding_child_samples_is_honoured(registry):
    class Doubled(Gauge):
        def _child_samples(self):
            return [Sample("", {}, self._value.get() * 2)]

    gauge = Doubled("d", "h", ["l"], registry=registry)
    gauge.labels("x").set(2)
    assert samples_of(gauge) == [Sample("d", {"l": "x"}, 4.0)]


def test_value_class_is_looked_up_when_a_series_is_created(registry, monkeypatch):
    monkeypatch.setattr(values, "ValueClass", values.MutexValue)
    counter = Counter("c", "h", ["l"], registry=registry)
    counter.labels("a").inc(2)
    assert isinstance(counter.labels("a")._value, values.MutexValue)
    gauge = Gauge("g", "h", registry=registry)
    gauge.set("4")
    assert registry.get_sample_value("c_total", {"l": "a"}) == 2.0
    assert registry.get_sample_value("g") == 4.0


def test_sample_labels_compare_and_deepcopy_as_dicts(registry):
    import copy

    Counter("c", "h", ["l"], registry=registry).labels("x").inc()
    snapshot = copy.deepcopy(list(registry.collect()))
    assert snapshot[0].samples[0].labels == {"l": "x"}
    assert repr(snapshot[0].samples[0]).startswith("Sample(name='c_total', labels={'l': 'x'}, value=1.0")


# --- concurrency --------------------------------------------------------------

def test_concurrent_child_creation_yields_one_child(registry):
    counter = Counter("c", "h", ["l"], registry=registry)
    barrier = threading.Barrier(8)
    seen = []

    def work():
        barrier.wait()
        for i in range(200):
            child = counter.labels(str(i % 10))
            child.inc()
            seen.append((i % 10, child))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(counter._metrics) == 10
    for key, child in seen:
        assert counter._metrics[(str(key),)] is child
    assert sum(c._value.get() for c in counter._metrics.values()) == 8 * 200


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_signal_handler_creating_children_while_the_lock_is_held(registry):
    counter = Counter("c", "h", ["l"], registry=registry)
    fired = []

    def handler(signum, frame):
        counter.labels("from-handler-%d" % (len(fired) % 3)).inc()
        fired.append(1)

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        i = 0
        while len(fired) < 30 and i < 200000:
            counter.labels("main-%d" % (i % 500)).inc()  # child creation holds the lock
            i += 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    assert fired
    handled = sum(c._value.get() for k, c in counter._metrics.items() if k[0].startswith("from-handler"))
    assert handled == len(fired)


def test_gc_callback_updating_metrics_does_not_deadlock(registry):
    counter = Counter("c", "h", ["l"], registry=registry)
    histogram = Histogram("h", "h", registry=registry)
    calls = []

    def callback(phase, info):
        if phase == "start":
            counter.labels("gc").inc()
            histogram.observe(0.1)
            calls.append(1)

    thresholds = gc.get_threshold()
    gc.callbacks.append(callback)
    gc.set_threshold(10)
    try:
        for i in range(3000):
            counter.labels("k%d" % i).inc()  # allocations under the parent lock trigger GC
            garbage = [[] for _ in range(5)]
            garbage.append(garbage)
    finally:
        gc.callbacks.remove(callback)
        gc.set_threshold(*thresholds)
    assert calls
    assert counter.labels("gc")._value.get() == len(calls)
    assert histogram._sum.get() == pytest.approx(0.1 * len(calls))


def test_labels_fast_path_takes_no_lock(registry):
    counter = Counter("c", "h", ["a", "b"], registry=registry)
    child = counter.labels("a", "b")
    with counter._lock:  # held by "another" owner: a lock-free lookup still returns
        result = []
        t = threading.Thread(target=lambda: result.append(counter.labels("a", "b")))
        t.start()
        t.join(5)
    assert result == [child]
