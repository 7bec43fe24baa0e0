"""GCCollector: families from gc.get_stats, registration rules, counts after collecting cycles."""
from __future__ import annotations

import gc
import inspect
import platform
import types
from typing import Dict, Iterator, List

import pytest

from prometheus_client import gc_collector, registry
from prometheus_client.gc_collector import GC_COLLECTOR, GCCollector

on_cpython = pytest.mark.skipif(
    platform.python_implementation() != 'CPython' or not hasattr(gc, 'get_stats'),
    reason='gc statistics are CPython-only',
)


class RecordingRegistry:
    def __init__(self) -> None:
        self.registered: List[object] = []

    def register(self, collector: object) -> None:
        self.registered.append(collector)


def by_generation(collector: GCCollector, sample_name: str) -> Dict[str, object]:
    return {
        sample.labels['generation']: sample.value
        for family in collector.collect()
        for sample in family.samples
        if sample.name == sample_name
    }


@pytest.fixture
def automatic_gc_disabled() -> Iterator[None]:
    """No automatic collection may run between the measurements."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@on_cpython
def test_families() -> None:
    families = GCCollector(registry=RecordingRegistry()).collect()  # type: ignore[arg-type]
    assert [(f.name, f.type, f.documentation) for f in families] == [
        ('python_gc_objects_collected', 'counter', 'Objects collected during gc'),
        ('python_gc_objects_uncollectable', 'counter', 'Uncollectable objects found during GC'),
        ('python_gc_collections', 'counter', 'Number of times this generation was collected'),
    ]
    generations = [str(index) for index in range(len(gc.get_stats()))]
    for family in families:
        assert [s.name for s in family.samples] == [family.name + '_total'] * len(generations)
        assert [s.labels for s in family.samples] == [{'generation': g} for g in generations]
        assert all(type(s.value) is int for s in family.samples)


@on_cpython
def test_collecting_two_cycles_counts_two_objects(automatic_gc_disabled: None) -> None:
    collector = GCCollector(registry=RecordingRegistry())  # type: ignore[arg-type]
    gc.collect()
    collected_before = by_generation(collector, 'python_gc_objects_collected_total')
    collections_before = by_generation(collector, 'python_gc_collections_total')
    for _ in range(2):
        cycle: list = []
        cycle.append(cycle)
        del cycle
    gc.collect(0)
    collected_after = by_generation(collector, 'python_gc_objects_collected_total')
    collections_after = by_generation(collector, 'python_gc_collections_total')
    assert collected_after['0'] == collected_before['0'] + 2  # type: ignore[operator]
    assert collections_after['0'] == collections_before['0'] + 1  # type: ignore[operator]


@on_cpython
def test_ordinary_cycles_are_not_uncollectable() -> None:
    collector = GCCollector(registry=RecordingRegistry())  # type: ignore[arg-type]
    assert set(by_generation(collector, 'python_gc_objects_uncollectable_total').values()) == {0}


@on_cpython
def test_registers_unconditionally_on_cpython() -> None:
    recording = RecordingRegistry()
    collector = GCCollector(registry=recording)  # type: ignore[arg-type]
    assert recording.registered == [collector]
    with pytest.raises(AttributeError):
        GCCollector(registry=None)  # type: ignore[arg-type]


@on_cpython
def test_with_a_real_registry() -> None:
    own_registry = registry.CollectorRegistry()
    GCCollector(registry=own_registry)
    assert own_registry.get_sample_value('python_gc_collections_total', {'generation': '0'}) is not None


def test_inert_on_other_implementations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc_collector, 'platform', types.SimpleNamespace(python_implementation=lambda: 'PyPy'))
    recording = RecordingRegistry()
    GCCollector(registry=recording)  # type: ignore[arg-type]
    GCCollector(registry=None)  # type: ignore[arg-type]
    assert recording.registered == []


def test_inert_without_get_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc_collector, 'gc', types.SimpleNamespace())
    monkeypatch.setattr(gc_collector, 'platform', types.SimpleNamespace(python_implementation=lambda: 'CPython'))
    recording = RecordingRegistry()
    GCCollector(registry=recording)  # type: ignore[arg-type]
    assert recording.registered == []


def test_signature_and_singleton() -> None:
    parameters = inspect.signature(GCCollector).parameters
    assert list(parameters) == ['registry']
    assert parameters['registry'].default is registry.REGISTRY
    assert registry.Collector in GCCollector.__mro__
    assert isinstance(GC_COLLECTOR, GCCollector)
