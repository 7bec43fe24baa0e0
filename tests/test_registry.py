"""CollectorRegistry: name reservation, collisions, target_info, restriction."""
from __future__ import annotations

import ast

import pytest

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY, DuplicateTimeseries
from prometheus_client.samples import Sample


def clash_message(error):
    return str(error.value)


def test_counter_reserves_its_names_in_order():
    registry = CollectorRegistry()
    Counter("c", "h", registry=registry)
    Histogram("h", "h", registry=registry)
    assert list(registry._names_to_collectors) == [
        "c", "c_total", "c_created", "h", "h_bucket", "h_sum", "h_count", "h_created",
    ]


@pytest.mark.parametrize(
    "first, second, clashes",
    [
        (lambda r: Counter("c", "h", registry=r), lambda r: Counter("c_total", "h", registry=r),
         {"c", "c_total", "c_created"}),
        (lambda r: Counter("c", "h", registry=r), lambda r: Gauge("c_created", "h", registry=r), {"c_created"}),
        (lambda r: Counter("c", "h", registry=r), lambda r: Gauge("c", "h", registry=r), {"c"}),
        (lambda r: Histogram("h", "h", registry=r), lambda r: Summary("h", "h", registry=r),
         {"h", "h_sum", "h_count", "h_created"}),
        (lambda r: Gauge("g_created", "h", registry=r), lambda r: Counter("g", "h", registry=r), {"g_created"}),
        (lambda r: Info("i", "h", registry=r), lambda r: Gauge("i_info", "h", registry=r), {"i_info"}),
    ],
)
def test_collisions_raise_duplicate_timeseries(first, second, clashes):
    registry = CollectorRegistry()
    first(registry)
    before = dict(registry._names_to_collectors)
    with pytest.raises(DuplicateTimeseries) as error:
        second(registry)
    assert isinstance(error.value, ValueError)
    assert error.value.duplicates == clashes
    prefix = "Duplicated timeseries in CollectorRegistry: "
    assert clash_message(error).startswith(prefix)
    assert ast.literal_eval(clash_message(error)[len(prefix):]) == clashes  # set order is hash order
    assert registry._names_to_collectors == before  # nothing registered


def test_unregister_frees_names_and_unknown_raises_key_error():
    registry = CollectorRegistry()
    counter = Counter("c", "h", registry=registry)
    registry.unregister(counter)
    assert registry._names_to_collectors == {}
    Counter("c", "h", registry=registry)
    with pytest.raises(KeyError):
        registry.unregister(counter)


class Describing:
    def __init__(self, names):
        self.names = names
        self.collected = 0

    def describe(self):
        return [GaugeMetricFamily(name, "h") for name in self.names]

    def collect(self):
        self.collected += 1
        return [GaugeMetricFamily(name, "h", value=1) for name in self.names]


class NotDescribing:
    def __init__(self):
        self.collected = 0

    def collect(self):
        self.collected += 1
        yield CounterMetricFamily("x", "h", value=1)


def test_describe_is_used_even_without_auto_describe():
    registry = CollectorRegistry()
    collector = Describing(["a"])
    registry.register(collector)
    assert collector.collected == 0
    with pytest.raises(DuplicateTimeseries):
        registry.register(Describing(["a"]))


def test_without_auto_describe_a_nameless_collector_can_be_registered_twice():
    registry = CollectorRegistry()
    registry.register(NotDescribing())
    registry.register(NotDescribing())
    assert [m.name for m in registry.collect()] == ["x", "x"]


def test_auto_describe_collects_once_at_registration():
    registry = CollectorRegistry(auto_describe=True)
    collector = NotDescribing()
    registry.register(collector)
    assert collector.collected == 1
    assert registry._collector_to_names[collector] == ["x", "x_total", "x_created"]
    with pytest.raises(DuplicateTimeseries):
        registry.register(NotDescribing())


def test_global_registry_auto_describes():
    assert REGISTRY._auto_describe is True


def test_collect_order_is_registration_order_with_target_info_first():
    registry = CollectorRegistry(target_info={"env": "prod"})
    Gauge("b", "h", registry=registry)
    Gauge("a", "h", registry=registry)
    names = [m.name for m in registry.collect()]
    assert names == ["target", "b", "a"]


def test_target_info_lifecycle():
    registry = CollectorRegistry()
    assert registry.get_target_info() is None
    registry.set_target_info({"a": "b"})
    assert "target_info" in registry._names_to_collectors
    with pytest.raises(DuplicateTimeseries) as error:
        Gauge("target_info", "h", registry=registry)
    assert error.value.duplicates == {"target_info"}
    registry.set_target_info({})
    assert registry.get_target_info() == {}
    assert "target_info" not in registry._names_to_collectors
    Gauge("target_info", "h", registry=registry)
    with pytest.raises(ValueError, match="^CollectorRegistry already contains a target_info metric$"):
        registry.set_target_info({"a": "b"})


def test_target_info_metric_shape():
    registry = CollectorRegistry(target_info={"env": "prod", "region": "eu"})
    metric = next(iter(registry.collect()))
    assert (metric.name, metric.documentation, metric.type) == ("target", "Target metadata", "info")
    assert metric.samples == [Sample("target_info", {"env": "prod", "region": "eu"}, 1)]


def test_get_sample_value():
    registry = CollectorRegistry()
    Counter("rc", "h", ["l"], registry=registry).labels("x").inc()
    Summary("rs", "h", registry=registry).observe(3)
    assert registry.get_sample_value("rc_total", {"l": "x"}) == 1.0
    assert registry.get_sample_value("rc_total") is None
    assert registry.get_sample_value("rs_count") == 1.0
    assert registry.get_sample_value("rs_sum") == 3.0
    assert registry.get_sample_value("nope") is None


def test_restricted_registry_filters_by_sample_name_and_consults_only_owners():
    registry = CollectorRegistry(target_info={"a": "b"})
    Counter("rc", "h", ["l"], registry=registry).labels("x").inc()
    Summary("rs", "h", registry=registry).observe(3)
    untouched = Describing(["other"])
    registry.register(untouched)
    restricted = registry.restricted_registry(["rc_total", "rs_sum", "target_info", "missing"])
    metrics = list(restricted.collect())
    assert metrics[0].name == "target"
    by_name = {m.name: m for m in metrics[1:]}
    assert set(by_name) == {"rc", "rs"}
    assert [s.name for s in by_name["rc"].samples] == ["rc_total"]
    assert [s.name for s in by_name["rs"].samples] == ["rs_sum"]
    assert untouched.collected == 0
    assert list(registry.restricted_registry(["rc"]).collect()) == []


def test_restricted_registry_is_live_and_never_holds_the_lock():
    registry = CollectorRegistry()
    restricted = registry.restricted_registry(["g"])
    Gauge("g", "h", registry=registry).set(1)
    for _ in restricted.collect():
        assert not registry._lock.locked()
    assert [m.name for m in restricted.collect()] == ["g"]


def test_restricted_registry_drops_unit():
    registry = CollectorRegistry()
    Gauge("g", "h", unit="seconds", registry=registry).set(1)
    (metric,) = registry.restricted_registry(["g_seconds"]).collect()
    assert metric.unit == ""


def test_nameless_collectors_in_restricted_views_only_when_supported():
    for supported, expected in ((False, []), (True, ["x"])):
        registry = CollectorRegistry(support_collectors_without_names=supported)
        registry.register(NotDescribing())
        assert [m.name for m in registry.restricted_registry(["x_total"]).collect()] == expected


def test_collect_does_not_hold_the_lock_while_yielding():
    registry = CollectorRegistry()
    Gauge("g", "h", registry=registry)
    for _ in registry.collect():
        assert not registry._lock.locked()


def test_collector_may_register_during_collect():
    registry = CollectorRegistry()

    class Registering:
        def collect(self):
            Gauge("late", "h", registry=registry)
            return []

    registry.register(Registering())
    list(registry.collect())
    assert "late" in registry._names_to_collectors
