"""The collector registry: who owns which time-series names, and collection.

A registry never formats: ``collect()`` yields :class:`Metric` families, and
the encoders turn them into bytes.

Thread safety: registration, unregistration and the snapshot taken at the
start of ``collect()`` are serialised by ``_lock`` (a plain, non-reentrant
``threading.Lock``; third-party code inspects ``_lock.locked()``). Collectors
run with the lock released, so a collector may itself register or unregister,
and a slow collector never blocks registration.
"""
from __future__ import annotations

import threading
from typing import Dict, Iterable, List, Optional

try:
    from typing import Protocol
except ImportError:  # pragma: no cover - Python < 3.8 is not supported
    Protocol = object  # type: ignore[assignment,misc]

from .metrics_core import Metric

# Sample-name suffixes a family of each type reserves in a registry, in the
# order the classic client records them.
_TYPE_SUFFIXES: Dict[str, tuple] = {
    "counter": ("_total", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "info": ("_info",),
}


class Collector(Protocol):
    """Anything with ``collect()`` returning an iterable of :class:`Metric`.

    An optional ``describe()`` with the same return shape declares the names
    the collector will produce, for collision detection at registration.
    """

    def collect(self) -> Iterable[Metric]:
        pass


class _EmptyCollector(Collector):
    """Placeholder owner of the reserved ``target_info`` name."""

    def collect(self) -> Iterable[Metric]:
        return []


class DuplicateTimeseries(ValueError):
    """A collector would produce a time-series name another one already owns.

    ``duplicates`` is the set of clashing names; the message starts with the
    exact prefix integrations match on.
    """

    def __init__(self, duplicates: set) -> None:
        self.duplicates = duplicates
        super().__init__("Duplicated timeseries in CollectorRegistry: " + str(duplicates))


def _without_shadowed(collectors: List[Collector]) -> List[Collector]:
    """Drop metrics kept in multiprocess storage when an aggregator is present.

    A registry that holds a multiprocess aggregator (it sets
    ``_aggregates_multiprocess``) gets those metrics' values, from every
    process, through it; collecting them directly too would duplicate them.
    """
    if any(getattr(c, "_aggregates_multiprocess", False) for c in collectors):
        return [c for c in collectors if not getattr(c, "_multiprocess_backed", False)]
    return collectors


class CollectorRegistry(Collector):
    """Holds collectors and collects them in registration order.

    ``auto_describe``: collectors without ``describe()`` are collected once at
    registration to learn their names (the global ``REGISTRY`` does this).
    ``target_info``: labels of a ``target_info`` family yielded first.
    ``support_collectors_without_names``: nameless collectors also take part
    in restricted (``name[]``) collection.

    Raises :class:`DuplicateTimeseries` from ``register`` on a name clash and
    ``KeyError`` from ``unregister`` for an unknown collector.
    """

    def __init__(
        self,
        auto_describe: bool = False,
        target_info: Optional[Dict[str, str]] = None,
        support_collectors_without_names: bool = False,
    ) -> None:
        self._collector_to_names: Dict[Collector, List[str]] = {}
        self._names_to_collectors: Dict[str, Collector] = {}
        self._auto_describe = auto_describe
        self._lock = threading.Lock()
        self._target_info: Optional[Dict[str, str]] = {}
        self._support_collectors_without_names = support_collectors_without_names
        self._collectors_without_names: List[Collector] = []
        self.set_target_info(target_info)

    def register(self, collector: Collector) -> None:
        """Add a collector; raises DuplicateTimeseries and registers nothing on a clash."""
        with self._lock:
            names = self._get_names(collector)
            duplicates = set(self._names_to_collectors).intersection(names)
            if duplicates:
                raise DuplicateTimeseries(duplicates)
            for name in names:
                self._names_to_collectors[name] = collector
            self._collector_to_names[collector] = names
            if self._support_collectors_without_names and not names:
                if collector not in self._collectors_without_names:
                    self._collectors_without_names.append(collector)

    def unregister(self, collector: Collector) -> None:
        """Remove a collector and free its names; KeyError if it is unknown."""
        with self._lock:
            for name in self._collector_to_names[collector]:
                del self._names_to_collectors[name]
            del self._collector_to_names[collector]
            if collector in self._collectors_without_names:
                self._collectors_without_names.remove(collector)

    def _get_names(self, collector: Collector) -> List[str]:
        """The time-series names a collector will produce, in a stable order."""
        describe = getattr(collector, "describe", None)
        if describe is None:
            if not self._auto_describe:
                return []
            describe = collector.collect
        names: List[str] = []
        for metric in describe():
            names.append(metric.name)
            for suffix in _TYPE_SUFFIXES.get(metric.type, ()):
                names.append(metric.name + suffix)
        return names

    def collect(self) -> Iterable[Metric]:
        """Yield every family: target info first, then collectors in registration order."""
        with self._lock:
            collectors = _without_shadowed(list(self._collector_to_names))
            target_info_metric = self._target_info_metric() if self._target_info else None
        if target_info_metric is not None:
            yield target_info_metric
        for collector in collectors:
            yield from collector.collect()

    def restricted_registry(self, names: Iterable[str]) -> "RestrictedRegistry":
        """A live view that collects only samples with the given names."""
        return RestrictedRegistry(set(names), self)

    def set_target_info(self, labels: Optional[Dict[str, str]]) -> None:
        """Set (truthy dict) or clear (None or {}) the ``target_info`` labels.

        Raises ValueError if another collector already owns ``target_info``.
        """
        with self._lock:
            if labels:
                if not self._target_info and "target_info" in self._names_to_collectors:
                    raise ValueError("CollectorRegistry already contains a target_info metric")
                self._names_to_collectors["target_info"] = _EmptyCollector()
            elif self._target_info:
                self._names_to_collectors.pop("target_info", None)
            self._target_info = labels

    def get_target_info(self) -> Optional[Dict[str, str]]:
        """The labels last given to ``set_target_info`` (or the constructor)."""
        with self._lock:
            return self._target_info

    def _target_info_metric(self) -> Metric:
        metric = Metric("target", "Target metadata", "info")
        metric.add_sample("target_info", self._target_info, 1)
        return metric

    def get_sample_value(self, name: str, labels: Optional[Dict[str, str]] = None) -> Optional[float]:
        """The value of the first sample with this exact name and labels, else None.

        Meant for tests: it collects the whole registry.
        """
        if labels is None:
            labels = {}
        for metric in self.collect():
            for sample in metric.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return None


class RestrictedRegistry:
    """A live view of a registry limited to samples with the requested names.

    Only collectors that registered one of the names (plus nameless ones, if
    the registry supports them) are collected. The registry lock is never
    held while yielding.
    """

    def __init__(self, names: Iterable[str], registry: CollectorRegistry) -> None:
        self._name_set = set(names)
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        """Yield the matching part of each candidate collector's families."""
        collectors = set()
        target_info_metric = None
        with self._registry._lock:
            if "target_info" in self._name_set and self._registry._target_info:
                target_info_metric = self._registry._target_info_metric()
            for name in self._name_set:
                if name != "target_info" and name in self._registry._names_to_collectors:
                    collectors.add(self._registry._names_to_collectors[name])
            collectors.update(self._registry._collectors_without_names)
            if any(getattr(c, "_aggregates_multiprocess", False) for c in self._registry._collector_to_names):
                collectors = {c for c in collectors if not getattr(c, "_multiprocess_backed", False)}
        if target_info_metric is not None:
            yield target_info_metric
        for collector in collectors:
            for metric in collector.collect():
                restricted = metric._restricted_metric(self._name_set)
                if restricted is not None:
                    yield restricted


REGISTRY = CollectorRegistry(auto_describe=True)
"""The default registry that metrics register with unless told otherwise."""

__all__ = ["Collector", "CollectorRegistry", "DuplicateTimeseries", "REGISTRY", "RestrictedRegistry"]
