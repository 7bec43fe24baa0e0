"""The metric classes users instrument their code with.

A metric object is either a *family* (the parent the user constructs) or a
*child* (one series, returned by ``labels()``; an unlabelled metric is its own
only child). The family validates and precomputes everything once; a child
holds only what its hot path needs: its value stores (slots from
``values.ValueClass``) and its label set.

Hot paths (``inc``, ``set``, ``observe``, ``labels`` for an existing child)
do no validation beyond the sign or type of their argument, build no dict
and take no lock: the slot primitive is lock-free, and a labelled parent's
value stores are stand-ins that raise the documented ``ValueError`` when
updated, so "is this observable?" costs nothing on the fast path.

Thread safety: every update is safe from any thread, from signal handlers and
from GC callbacks. Child creation and removal are serialised by the parent's
re-entrant lock; ``labels()`` for an existing child takes no lock.

Module globals read at call time (tests and users patch them):
``time.time``, ``values.ValueClass``, ``_use_created``.
"""
from __future__ import annotations

import math
import os
import time
import weakref
from bisect import bisect_left
from operator import itemgetter
from threading import Lock, RLock
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from . import values  # ValueClass is looked up at call time
from .storage.shared import publish_exemplar as _publish_exemplar
from .storage.shared import register_callback as _register_storage_callback
from .storage.shared import release as _release_store
from ._labelset import labelset
from .context_managers import ExceptionCounter, InprogressTracker, Timer
from .metrics_core import Metric
from .native_histogram import DEFAULT_ZERO_THRESHOLD, NativeHistogramState, cell_sample_name, schema_for_factor
from .registry import Collector, CollectorRegistry, REGISTRY
from .samples import Exemplar, Sample
from .utils import INF, floatToGoString
from .validation import _validate_exemplar, _validate_labelnames, _validate_metric_name

T = TypeVar("T", bound="MetricWrapperBase")
F = TypeVar("F", bound=Callable[..., Any])

_new_sample = tuple.__new__  # Sample(...) without the keyword-default machinery


def _build_full_name(metric_type: str, name: str, namespace: str, subsystem: str, unit: str) -> str:
    """Join namespace, subsystem and name; strip a counter's ``_total``; add the unit.

    Raises ValueError for an empty name and for a unit on info/stateset.
    """
    if not name:
        raise ValueError("Metric name should not be empty")
    full_name = ""
    if namespace:
        full_name += namespace + "_"
    if subsystem:
        full_name += subsystem + "_"
    full_name += name
    if metric_type == "counter" and full_name.endswith("_total"):
        full_name = full_name[:-6]
    if unit and not full_name.endswith("_" + unit):
        full_name += "_" + unit
    if unit and metric_type in ("info", "stateset"):
        raise ValueError("Metric name is of a type that cannot have a unit: " + full_name)
    return full_name


def _get_use_created() -> bool:
    """False when PROMETHEUS_DISABLE_CREATED_SERIES is true, 1 or t (any case)."""
    return os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in ("true", "1", "t")


_use_created = _get_use_created()


def disable_created_metrics() -> None:
    """Stop exporting ``_created`` series (takes effect at the next collect)."""
    global _use_created
    _use_created = False


def enable_created_metrics() -> None:
    """Export ``_created`` series again (takes effect at the next collect)."""
    global _use_created
    _use_created = True


def _key_getter(labelnames: Tuple[str, ...]) -> Callable[[Dict[str, Any]], Tuple[Any, ...]]:
    """A function from ``labels()`` keyword arguments to the child key tuple."""
    if len(labelnames) == 1:
        (only,) = labelnames
        return lambda labelkwargs: (labelkwargs[only],)
    return itemgetter(*labelnames)


class _MissingLabelValues:
    """The value store of a labelled parent: every update raises ValueError.

    Putting this object where a child has its slot lets the hot path skip the
    "has label values?" check: a parent fails on first touch, with the
    message the classic client gives.
    """

    __slots__ = ("_message",)

    def __init__(self, metric_type: str) -> None:
        self._message = "%s metric is missing label values" % metric_type

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(self._message)

    inc = set = get = set_exemplar = get_exemplar = _refuse


class MetricWrapperBase(Collector):
    """Common machinery of the metric classes: naming, labels, children, collect.

    Raises ValueError (or DuplicateTimeseries from the registry) at
    construction for bad names, label names and clashes; nothing is
    registered when construction fails.
    """

    _type: Optional[str] = None
    _reserved_labelnames: Sequence[str] = ()
    # Suffixes of the samples a child produces, in output order; the metric
    # layer turns them into full sample names once per collect.
    _sample_suffixes: Tuple[str, ...] = ("",)

    def _is_observable(self) -> bool:
        # True for a series that holds values: an unlabelled metric or a child.
        return not self._labelnames or (self._labelnames and self._labelvalues)  # type: ignore[return-value]

    def _raise_if_not_observable(self) -> None:
        if not self._is_observable():
            raise ValueError("%s metric is missing label values" % str(self._type))

    def _is_parent(self) -> bool:
        return self._labelnames and not self._labelvalues  # type: ignore[return-value]

    def _get_metric(self) -> Metric:
        return Metric(self._name, self._documentation, self._type, self._unit)  # type: ignore[arg-type]

    def describe(self) -> Iterable[Metric]:
        return [self._get_metric()]

    def collect(self) -> Iterable[Metric]:
        """A one-element list holding this family with all its samples."""
        metric = self._get_metric()
        cls = type(self)
        if (
            cls._child_samples is MetricWrapperBase._child_samples
            and cls._samples is MetricWrapperBase._samples
            and cls._multi_samples is MetricWrapperBase._multi_samples
        ):
            name = self._name
            sample_names = [name + suffix for suffix in self._sample_suffixes]
            use_created = _use_created
            out = metric.samples
            if self._is_parent():
                with self._lock:
                    children = list(self._metrics.values())
                for child in children:
                    child._append_samples(out, sample_names, use_created)
            else:
                self._append_samples(out, sample_names, use_created)
        else:  # a subclass customised the classic sample hooks: honour them
            for suffix, labels, value, timestamp, exemplar, native_histogram in self._samples():
                metric.add_sample(self._name + suffix, labels, value, timestamp, exemplar, native_histogram)
        return [metric]

    def __str__(self) -> str:
        return f"{self._type}:{self._name}"

    def __repr__(self) -> str:
        metric_type = type(self)
        return f"{metric_type.__module__}.{metric_type.__name__}({self._name})"

    def __init__(
        self: T,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Optional[CollectorRegistry] = REGISTRY,
        _labelvalues: Optional[Sequence[str]] = None,
    ) -> None:
        self._original_name = name
        self._namespace = namespace
        self._subsystem = subsystem
        self._name = _build_full_name(self._type, name, namespace, subsystem, unit)  # type: ignore[arg-type]
        if _labelvalues:
            # A child: its parent validated these very names already.
            self._labelnames = tuple(labelnames)
        else:
            self._labelnames = _validate_labelnames(self, labelnames)
        self._labelvalues = tuple(_labelvalues or ())
        self._kwargs: Dict[str, Any] = {}
        self._documentation = documentation
        self._unit = unit

        if not _labelvalues:
            _validate_metric_name(self._name)

        # Values kept in multiprocess storage reach a registry through its
        # multiprocess aggregator; the registry skips this object then.
        self._multiprocess_backed = bool(getattr(values.ValueClass, "_multiprocess", False))

        if self._is_parent():
            # Serialises child creation and removal; lookups of existing children skip it.
            self._lock = RLock()
            self._metrics: Dict[Sequence[str], T] = {}
            self._key_from_kwargs = _key_getter(self._labelnames)
            self._parent_init()

        if self._is_observable():
            self._labelset = labelset(zip(self._labelnames, self._labelvalues))
            self._metric_init()

        if not self._labelvalues:
            # Register the family, not its children.
            if registry:
                registry.register(self)

    def labels(self: T, *labelvalues: Any, **labelkwargs: Any) -> T:
        """Return the child for these label values, creating it on first use.

        Positional values follow the declared label-name order; keyword values
        may come in any order. Values are converted with ``str()``.

        Raises ValueError when the metric has no label names, when called on a
        child, when mixing positional and keyword values, or for a wrong
        count or wrong names.
        """
        # Fast paths: an existing child, looked up without a lock. Anything
        # unusual (new child, non-str values, wrong names) falls through.
        if not labelkwargs:
            try:
                child = self._metrics.get(labelvalues)
            except (TypeError, AttributeError):
                child = None
            if child is not None:
                return child
        elif not labelvalues:
            try:
                child = self._metrics[self._key_from_kwargs(labelkwargs)]
                if len(labelkwargs) == len(self._labelnames):
                    return child
            except (KeyError, TypeError, AttributeError):
                pass
        return self._create_child(labelvalues, labelkwargs)

    def _create_child(self: T, labelvalues: Tuple[Any, ...], labelkwargs: Dict[str, Any]) -> T:
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)

        if self._labelvalues:
            raise ValueError(
                "{} already has labels set ({}); can not chain calls to .labels()".format(
                    self, dict(zip(self._labelnames, self._labelvalues))
                )
            )

        if labelvalues and labelkwargs:
            raise ValueError("Can't pass both *args and **kwargs")

        if labelkwargs:
            if sorted(labelkwargs) != sorted(self._labelnames):
                raise ValueError("Incorrect label names")
            key = tuple(str(labelkwargs[labelname]) for labelname in self._labelnames)
        else:
            if len(labelvalues) != len(self._labelnames):
                raise ValueError("Incorrect label count")
            key = tuple(map(str, labelvalues))

        with self._lock:
            child = self._metrics.get(key)
            if child is None:
                child = self.__class__(
                    self._original_name,
                    documentation=self._documentation,
                    labelnames=self._labelnames,
                    namespace=self._namespace,
                    subsystem=self._subsystem,
                    unit=self._unit,
                    _labelvalues=key,
                    **self._kwargs,
                )
                self._metrics[key] = child
            return child

    def remove(self, *labelvalues: Any) -> None:
        """Remove the child with these label values; unknown values are ignored.

        Raises ValueError when the metric has no label names or the count is wrong.
        """
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)

        if len(labelvalues) != len(self._labelnames):
            raise ValueError(
                "Incorrect label count (expected %d, got %s)" % (len(self._labelnames), labelvalues)
            )
        key = tuple(str(value) for value in labelvalues)
        with self._lock:
            child = self._metrics.pop(key, None)
        if child is not None:
            child._release_storage()

    def remove_by_labels(self, labels: Dict[str, str]) -> None:
        """Remove every child whose labels include all the given pairs.

        Raises ValueError when the metric has no label names or a given label
        name is unknown, TypeError when ``labels`` is not a dict.
        """
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)

        if not isinstance(labels, dict):
            raise TypeError("labels must be a dict of {label_name: label_value}")

        if not labels:
            return

        invalid = [name for name in labels if name not in self._labelnames]
        if invalid:
            raise ValueError("Unknown label names: %s; expected %s" % (invalid, self._labelnames))

        wanted = [(self._labelnames.index(name), str(value)) for name, value in labels.items()]
        with self._lock:
            removed = [self._metrics.pop(key) for key in list(self._metrics) if all(key[i] == value for i, value in wanted)]
        for child in removed:
            child._release_storage()

    def clear(self) -> None:
        """Remove all children (a no-op for a metric without labels)."""
        if not self._labelnames:
            return
        with self._lock:
            removed, self._metrics = self._metrics, {}
        if self._multiprocess_backed:
            for child in removed.values():
                child._release_storage()

    def _release_storage(self) -> None:
        """This child was removed: let multiprocess storage stop exporting it."""
        if self._multiprocess_backed:
            for store in self._value_stores():
                _release_store(store)

    def _value_stores(self) -> List[Any]:
        """The value stores (slots) this child allocated from ``values.ValueClass``."""
        return [self._value]

    # The classic sample hooks. Subclasses may override them; otherwise the
    # faster _append_samples path is used by collect().

    def _samples(self) -> Iterable[Sample]:
        if self._is_parent():
            return self._multi_samples()
        else:
            return self._child_samples()

    def _multi_samples(self) -> Iterable[Sample]:
        with self._lock:
            metrics = self._metrics.copy()
        for labels, metric in metrics.items():
            series_labels = list(zip(self._labelnames, labels))
            for suffix, sample_labels, value, timestamp, exemplar, native_histogram in metric._samples():
                yield Sample(
                    suffix,
                    dict(series_labels + list(sample_labels.items())),
                    value,
                    timestamp,
                    exemplar,
                    native_histogram,
                )

    def _child_samples(self) -> Iterable[Sample]:
        """This child's samples with suffix names and only their own labels."""
        out: List[Sample] = []
        self._append_samples(out, list(self._sample_suffixes), _use_created)
        labelnames = self._labelnames
        if not labelnames:
            return out
        return [
            sample._replace(labels={k: v for k, v in sample.labels.items() if k not in labelnames})
            for sample in out
        ]

    def _append_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        """Append this child's samples, with full names and labels, to ``out``."""
        raise NotImplementedError("_append_samples() must be implemented by %r" % self)

    def _metric_init(self) -> None:  # pragma: no cover - abstract
        """Allocate the value stores of a series (an unlabelled metric or a child)."""
        raise NotImplementedError("_metric_init() must be implemented by %r" % self)

    def _parent_init(self) -> None:
        """Give a labelled parent stand-in value stores that refuse updates."""
        self._value = _MissingLabelValues(self._type)  # type: ignore[arg-type]


class Counter(MetricWrapperBase):
    """A running total that only goes up: requests served, bytes sent, errors.

    ``inc()`` adds 1 or the given non-negative amount; ``count_exceptions()``
    counts exceptions escaping a block or function::

        failures = Counter('job_failures', 'Jobs that raised')
        failures.inc()
        with failures.count_exceptions(ValueError):
            run_job()

    Exposed as ``<name>_total`` (a trailing ``_total`` in the given name is
    dropped first) plus ``<name>_created``.

    Thread safety: ``inc`` is lock-free and safe from any thread or signal handler.
    """

    _type = "counter"
    _sample_suffixes = ("_total", "_created")

    def _metric_init(self) -> None:
        self._value = values.ValueClass(
            self._type, self._name, self._name + "_total", self._labelnames, self._labelvalues, self._documentation
        )
        self._created = time.time()

    def inc(self, amount: float = 1, exemplar: Optional[Dict[str, str]] = None) -> None:
        """Add ``amount`` (default 1) and, if given, remember ``exemplar`` with it.

        Raises ValueError for a negative amount, an invalid exemplar or on a
        labelled parent.
        """
        try:
            negative = amount < 0
        except TypeError:
            self._raise_if_not_observable()  # the classic client's first complaint
            raise
        if negative:
            self._raise_if_not_observable()
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self._value.inc(amount)
        if exemplar:
            _validate_exemplar(exemplar)
            recorded = Exemplar(exemplar, amount, time.time())
            self._value.set_exemplar(recorded)
            if self._multiprocess_backed:
                _publish_exemplar(self._value, recorded)

    def reset(self) -> None:
        """Set the counter back to 0 and renew ``_created`` (a logical restart)."""
        if self._is_parent():
            raise AttributeError("'%s' object has no attribute '_value'" % type(self).__name__)
        self._value.set(0)
        self._created = time.time()

    def count_exceptions(
        self, exception: Union[Type[BaseException], Tuple[Type[BaseException], ...]] = Exception
    ) -> ExceptionCounter:
        """A context manager and decorator adding 1 per escaping ``exception``.

        Raises ValueError on a labelled parent.
        """
        self._raise_if_not_observable()
        return ExceptionCounter(self, exception)

    def _append_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        value = self._value
        out.append(_new_sample(Sample, (sample_names[0], self._labelset, value.get(), None, value.get_exemplar(), None)))
        if use_created:
            out.append(_new_sample(Sample, (sample_names[1], self._labelset, self._created, None, None, None)))


class Gauge(MetricWrapperBase):
    """A value that goes up and down: queue length, temperature, in-flight requests.

    ``inc()``/``dec()``/``set()`` change it; ``set_to_current_time()``,
    ``track_inprogress()`` and ``time()`` cover common uses; ``set_function()``
    makes every scrape ask a callback instead::

        in_flight = Gauge('requests_in_flight', 'Requests being handled')
        with in_flight.track_inprogress():
            handle()
        queue_length = Gauge('queue_length', 'Items waiting')
        queue_length.set_function(lambda: len(queue))

    ``multiprocess_mode`` says how the values of several processes combine
    (see docs/multiprocess.md).

    Thread safety: ``inc``, ``dec`` and ``set`` are lock-free and safe from
    any thread or signal handler.
    """

    _type = "gauge"
    _MULTIPROC_MODES = frozenset(
        ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent")
    )
    _MOST_RECENT_MODES = frozenset(("mostrecent", "livemostrecent"))

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Optional[CollectorRegistry] = REGISTRY,
        _labelvalues: Optional[Sequence[str]] = None,
        multiprocess_mode: Literal[
            "all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent"
        ] = "all",
    ):
        self._multiprocess_mode = multiprocess_mode
        if multiprocess_mode not in self._MULTIPROC_MODES:
            raise ValueError("Invalid multiprocess mode: " + multiprocess_mode)
        self._is_most_recent = self._multiprocess_mode in self._MOST_RECENT_MODES
        self._function: Optional[Callable[[], float]] = None
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
        )
        self._kwargs["multiprocess_mode"] = self._multiprocess_mode

    def _metric_init(self) -> None:
        self._value = values.ValueClass(
            self._type,
            self._name,
            self._name,
            self._labelnames,
            self._labelvalues,
            self._documentation,
            multiprocess_mode=self._multiprocess_mode,
        )

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (RuntimeError in the mostrecent modes)."""
        if self._is_most_recent:
            raise RuntimeError("inc must not be used with the mostrecent mode")
        self._value.inc(amount)

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` (RuntimeError in the mostrecent modes)."""
        if self._is_most_recent:
            raise RuntimeError("dec must not be used with the mostrecent mode")
        try:
            negated = -amount
        except TypeError:
            self._raise_if_not_observable()  # the classic client's first complaint
            raise
        self._value.inc(negated)

    def set(self, value: float) -> None:
        """Set gauge to the given value (converted with ``float()``).

        In the mostrecent modes the storage backend, which was told the mode
        when it allocated the slot, records the time of the update itself.
        """
        self._value.set(value)

    def set_to_current_time(self) -> None:
        """Set the gauge to ``time.time()``."""
        self.set(time.time())

    def track_inprogress(self) -> InprogressTracker:
        """A context manager and decorator: +1 while the code runs, -1 after.

        Raises ValueError on a labelled parent.
        """
        self._raise_if_not_observable()
        return InprogressTracker(self)

    def time(self) -> Timer:
        """A context manager and decorator setting the gauge to the run time in seconds."""
        return Timer(self, "set")

    def set_function(self, f: Callable[[], float]) -> None:
        """Report ``float(f())`` at every scrape instead of the stored value.

        ``f`` may be called from any thread. Raises ValueError on a labelled parent.
        """
        self._raise_if_not_observable()
        self._function = f
        if self._multiprocess_backed and not getattr(self, "_function_refreshed", False):
            # Other processes read the slot: keep it fed with f()'s value.
            self._function_refreshed = True
            _register_storage_callback(_function_refresher(self))

    def _append_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        function = self._function
        value = self._value.get() if function is None else float(function())
        out.append(_new_sample(Sample, (sample_names[0], self._labelset, value, None, None, None)))


def _function_refresher(gauge: "Gauge") -> Callable[[], None]:
    """A callback writing ``f()`` of a set_function gauge into its slot, while the gauge lives."""
    reference = weakref.ref(gauge)

    def refresh() -> None:
        live = reference()
        if live is not None and live._function is not None:
            live._value.set(float(live._function()))

    return refresh


class Summary(MetricWrapperBase):
    """Count and total of observed sizes or durations (no quantiles).

    ``observe(amount)`` records one event; ``time()`` records the duration
    of a block or function::

        latency = Summary('handler_seconds', 'Time spent in the handler')
        with latency.time():
            handle()

    Thread safety: ``observe`` is lock-free; a scrape that races with it may
    see the count and the sum of slightly different moments.
    """

    _type = "summary"
    _reserved_labelnames = ["quantile"]
    _sample_suffixes = ("_count", "_sum", "_created")

    def _metric_init(self) -> None:
        self._count = values.ValueClass(
            self._type, self._name, self._name + "_count", self._labelnames, self._labelvalues, self._documentation
        )
        self._sum = values.ValueClass(
            self._type, self._name, self._name + "_sum", self._labelnames, self._labelvalues, self._documentation
        )
        self._created = time.time()

    def _parent_init(self) -> None:
        self._count = self._sum = _MissingLabelValues(self._type)

    def _value_stores(self) -> List[Any]:
        return [self._count, self._sum]

    def observe(self, amount: float) -> None:
        """Record one observation (negative amounts are accepted but make the sum non-monotonic)."""
        self._count.inc(1)
        self._sum.inc(amount)

    def time(self) -> Timer:
        """A context manager and decorator observing the run time in seconds."""
        return Timer(self, "observe")

    def _append_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        labelset = self._labelset
        out.append(_new_sample(Sample, (sample_names[0], labelset, self._count.get(), None, None, None)))
        out.append(_new_sample(Sample, (sample_names[1], labelset, self._sum.get(), None, None, None)))
        if use_created:
            out.append(_new_sample(Sample, (sample_names[2], labelset, self._created, None, None, None)))


# Rendered `le` values of bucket bounds seen so far: most programs use a few
# bucket layouts, and every child of a histogram shares its parent's.
_le_strings: Dict[float, str] = {}


def _le_string(bound: float) -> str:
    if bound == 0:  # 0.0 and -0.0 are equal keys but render differently
        return floatToGoString(bound)
    text = _le_strings.get(bound)
    if text is None:
        text = _le_strings[bound] = floatToGoString(bound)
    return text


class _NativeConfig:
    """The validated native-histogram options of a Histogram family."""

    __slots__ = ("schema", "zero_threshold", "max_bucket_number", "min_reset_duration", "max_zero_threshold",
                 "options")

    def __init__(self, schema: int, zero_threshold: float, max_bucket_number: int, min_reset_duration: float,
                 max_zero_threshold: float, options: Dict[str, Any]) -> None:
        self.schema = schema
        self.zero_threshold = zero_threshold
        self.max_bucket_number = max_bucket_number
        self.min_reset_duration = min_reset_duration
        self.max_zero_threshold = max_zero_threshold
        self.options = options  # the constructor keywords, passed on to children


def _native_number(name: str, option: str, value: Any, allow_infinite: bool) -> float:
    """``float(value)`` of a native-histogram option that must be >= 0; ValueError otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Histogram {name}: {option} must be a number, got {value!r}") from error
    if not number >= 0 or (math.isinf(number) and not allow_infinite):
        kind = "a non-negative number" if allow_infinite else "a finite non-negative number"
        raise ValueError(f"Histogram {name}: {option} must be {kind}, got {value!r}")
    return number


def _native_histogram_config(
    name: str,
    bucket_factor: Optional[float],
    zero_threshold: float,
    max_bucket_number: int,
    min_reset_duration: float,
    max_zero_threshold: float,
) -> Optional[_NativeConfig]:
    """Validate the native-histogram options; None when native buckets are off.

    Raises ValueError naming the histogram and the option for a value of the
    wrong type or range (every option is checked, even with native buckets off).
    """
    zero_threshold = _native_number(name, "native_histogram_zero_threshold", zero_threshold, False)
    max_zero_threshold = _native_number(name, "native_histogram_max_zero_threshold", max_zero_threshold, False)
    min_reset_duration = _native_number(name, "native_histogram_min_reset_duration", min_reset_duration, True)
    if isinstance(max_bucket_number, bool) or not isinstance(max_bucket_number, int) or max_bucket_number < 0:
        raise ValueError(f"Histogram {name}: native_histogram_max_bucket_number must be an int >= 0 "
                         f"(0 for no limit), got {max_bucket_number!r}")
    if bucket_factor is None:
        return None
    try:
        factor = float(bucket_factor)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Histogram {name}: native_histogram_bucket_factor must be a number or None, "
                         f"got {bucket_factor!r}") from error
    if math.isnan(factor):
        raise ValueError(f"Histogram {name}: native_histogram_bucket_factor must not be NaN")
    if factor <= 1:
        return None
    options = {
        "native_histogram_bucket_factor": bucket_factor,
        "native_histogram_zero_threshold": zero_threshold,
        "native_histogram_max_bucket_number": max_bucket_number,
        "native_histogram_min_reset_duration": min_reset_duration,
        "native_histogram_max_zero_threshold": max_zero_threshold,
    }
    return _NativeConfig(schema_for_factor(factor), zero_threshold, max_bucket_number, min_reset_duration,
                         max_zero_threshold, options)


class Histogram(MetricWrapperBase):
    """Observations counted in cumulative buckets, plus their count and sum.

    Buckets are upper bounds (``le``); ``+Inf`` is added when missing. The
    default bounds suit request latencies from a few milliseconds to ten
    seconds; pass ``buckets=`` for anything else::

        size = Histogram('response_bytes', 'Response sizes', buckets=[100, 1000, 10000])
        size.observe(512)
        with Histogram('handler_seconds', 'Handler time').time():
            handle()

    **Native (sparse exponential) buckets** (experimental) are enabled by
    ``native_histogram_bucket_factor`` greater than 1: the maximum ratio
    between the bounds of one bucket (1.1 is a common choice; the resolution
    actually used is the coarsest schema whose factor does not exceed it).
    The other keyword-only options are those of the Go client:

    * ``native_histogram_zero_threshold`` (default ``2**-128``): observations
      with ``|v| <=`` this go to the zero bucket. Unlike Go, 0 means a
      zero-width zero bucket (only exact zeros), not "the default".
    * ``native_histogram_max_bucket_number`` (default 0, no limit): when an
      observation takes the number of populated buckets over it, the
      histogram is reset if ``native_histogram_min_reset_duration`` seconds
      (default 0: never) have passed since the last reset; otherwise the
      zero bucket is widened up to ``native_histogram_max_zero_threshold``
      (default 0: never) and then the resolution halved, and a reset is
      scheduled for when the min reset duration has passed. A reset zeroes
      the classic buckets as well and renews ``_created``.

    With native buckets and no ``buckets=`` argument, the histogram has no
    classic buckets except ``+Inf``; with ``buckets=`` both kinds are kept.
    The text format and OpenMetrics 1.0 show only the classic view; the
    native buckets appear in OpenMetrics 2.0.0 and protobuf output. The
    classic view counts like a classic histogram (NaN is in ``_sum`` only),
    the native count includes NaN observations. The latest exemplar passed
    to ``observe`` is kept, with its timestamp, for the native histogram as
    well as for its classic bucket.

    Thread safety: ``observe`` is lock-free (one binary search and two slot
    adds); a scrape that races with it may see buckets and sum of slightly
    different moments. With native buckets, ``observe`` and collection take
    one lock per series, so a scrape sees a consistent histogram.

    Raises ValueError at construction for unsorted or too few buckets and for
    invalid native-histogram options.
    """

    _type = "histogram"
    _reserved_labelnames = ["le"]
    DEFAULT_BUCKETS = (
        0.005,
        0.01,
        0.025,
        0.05,
        0.075,
        0.1,
        0.25,
        0.5,
        0.75,
        1.0,
        2.5,
        5.0,
        7.5,
        10.0,
        INF,
    )
    _sample_suffixes = ("_bucket", "_count", "_sum", "_created")
    _native: Optional[NativeHistogramState] = None

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Optional[CollectorRegistry] = REGISTRY,
        _labelvalues: Optional[Sequence[str]] = None,
        buckets: Sequence[Union[float, str]] = DEFAULT_BUCKETS,
        *,
        native_histogram_bucket_factor: Optional[float] = None,
        native_histogram_zero_threshold: float = DEFAULT_ZERO_THRESHOLD,
        native_histogram_max_bucket_number: int = 0,
        native_histogram_min_reset_duration: float = 0.0,
        native_histogram_max_zero_threshold: float = 0.0,
    ):
        self._native_config = _native_histogram_config(
            name,
            native_histogram_bucket_factor,
            native_histogram_zero_threshold,
            native_histogram_max_bucket_number,
            native_histogram_min_reset_duration,
            native_histogram_max_zero_threshold,
        )
        if self._native_config is not None and buckets is Histogram.DEFAULT_BUCKETS:
            # Native buckets replace the default classic ones: only +Inf is kept.
            self._upper_bounds = [INF]
            self._le_values = [_le_string(INF)]
            self._has_sum = True
        else:
            self._prepare_buckets(buckets)
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
        )
        self._kwargs["buckets"] = buckets
        if self._native_config is not None:
            self._kwargs.update(self._native_config.options)

    def _prepare_buckets(self, source_buckets: Sequence[Union[float, str]]) -> None:
        buckets = [float(b) for b in source_buckets]
        if buckets != sorted(buckets):
            # Most likely a mistake: refuse rather than silently reorder.
            raise ValueError("Buckets not in sorted order")
        if buckets and buckets[-1] != INF:
            buckets.append(INF)
        if len(buckets) < 2:
            raise ValueError("Must have at least two buckets")
        self._upper_bounds = buckets
        self._le_values = [_le_string(bound) for bound in buckets]
        self._has_sum = buckets[0] >= 0

    def _metric_init(self) -> None:
        self._buckets: List[Any] = []
        self._created = time.time()
        bucket_labelnames = self._labelnames + ("le",)
        self._sum = values.ValueClass(
            self._type, self._name, self._name + "_sum", self._labelnames, self._labelvalues, self._documentation
        )
        for le in self._le_values:
            self._buckets.append(
                values.ValueClass(
                    self._type,
                    self._name,
                    self._name + "_bucket",
                    bucket_labelnames,
                    self._labelvalues + (le,),
                    self._documentation,
                )
            )
        if self._native_config is not None:
            self._native_init(self._native_config)

    def _native_init(self, config: _NativeConfig) -> None:
        """Give this series native buckets and switch it to the native hot path.

        The classic-only path is left untouched: ``observe`` and
        ``_append_samples`` are replaced on this instance only.
        """
        value_class = values.ValueClass
        typ, name, labelnames, labelvalues, documentation = (
            self._type, self._name, self._labelnames, self._labelvalues, self._documentation)

        def new_cell(key: str) -> Any:
            return value_class(typ, name, cell_sample_name(name, key), labelnames, labelvalues, documentation)

        self._native = NativeHistogramState(
            config.schema,
            zero_threshold=config.zero_threshold,
            max_bucket_number=config.max_bucket_number,
            min_reset_duration=config.min_reset_duration,
            max_zero_threshold=config.max_zero_threshold,
            new_cell=new_cell,
            release_cell=_release_store if self._multiprocess_backed else None,
            created=self._created,
            on_reset=self._reset_classic,
        )
        if len(self._buckets) == 1:
            self._inf_bucket = self._buckets[0]
            self.observe = self._observe_native_only  # type: ignore[method-assign]
        else:
            self.observe = self._observe_native  # type: ignore[method-assign]
        self._append_samples = self._append_native_samples  # type: ignore[method-assign]

    def _parent_init(self) -> None:
        self._sum = _MissingLabelValues(self._type)

    def _value_stores(self) -> List[Any]:
        stores = [self._sum] + self._buckets
        if self._native is not None:
            stores.extend(self._native.cells())
        return stores

    def observe(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        """Record one observation in its bucket and the sum.

        NaN is added to the sum and counted in no bucket; negative amounts
        are accepted but make the sum non-monotonic. With native buckets, NaN
        is also counted in the native count (spec), never in a bucket.
        ``exemplar`` (label names to values) is validated after the
        observation is recorded; ValueError if invalid.
        """
        self._sum.inc(amount)
        upper_bounds = self._upper_bounds
        index = bisect_left(upper_bounds, amount)
        if amount <= upper_bounds[index]:  # false only for NaN, which bisects to 0
            bucket = self._buckets[index]
            bucket.inc(1)
            if exemplar:
                _validate_exemplar(exemplar)
                recorded = Exemplar(exemplar, amount, time.time())
                bucket.set_exemplar(recorded)
                if self._multiprocess_backed:
                    _publish_exemplar(bucket, recorded)

    def _observe_native(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        """``observe`` of a series with classic and native buckets."""
        native = self._native
        with native.lock:  # type: ignore[union-attr]
            native.record(amount)  # type: ignore[union-attr]  # first: it may reset the classic part
            self._sum.inc(amount)
            upper_bounds = self._upper_bounds
            index = bisect_left(upper_bounds, amount)
            bucket = self._buckets[index] if amount <= upper_bounds[index] else None
            if bucket is not None:
                bucket.inc(1)
        if exemplar:
            self._record_native_exemplar(amount, exemplar, bucket)

    def _observe_native_only(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        """``observe`` of a series whose only classic bucket is +Inf."""
        native = self._native
        with native.lock:  # type: ignore[union-attr]
            native.record(amount)  # type: ignore[union-attr]  # first: it may reset the classic part
            self._sum.inc(amount)
            if amount == amount:  # NaN is in no classic bucket
                self._inf_bucket.inc(1)
        if exemplar:
            self._record_native_exemplar(amount, exemplar, self._inf_bucket if amount == amount else None)

    def _record_native_exemplar(self, amount: float, exemplar: Dict[str, str], bucket: Any) -> None:
        _validate_exemplar(exemplar)
        recorded = Exemplar(exemplar, amount, time.time())
        native = self._native
        native.exemplar = recorded  # type: ignore[union-attr]
        if bucket is not None:
            bucket.set_exemplar(recorded)
        if self._multiprocess_backed:
            _publish_exemplar(native.count_cell, recorded)  # type: ignore[union-attr]
            if bucket is not None:
                _publish_exemplar(bucket, recorded)

    def _reset_classic(self) -> None:
        """The native part was reset (bucket limit): zero the classic buckets and renew ``_created``."""
        self._sum.set(0)
        for bucket in self._buckets:
            bucket.set(0)
        self._created = self._native.created  # type: ignore[union-attr]

    def time(self) -> Timer:
        """A context manager and decorator observing the run time in seconds."""
        return Timer(self, "observe")

    def _append_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        bucket_name = sample_names[0]
        labelset = self._labelset
        cumulative = 0.0
        append = out.append
        for le, bucket in zip(self._le_values, self._buckets):
            cumulative += bucket.get()
            labels = labelset.copy()
            labels["le"] = le
            append(_new_sample(Sample, (bucket_name, labels, cumulative, None, bucket.get_exemplar(), None)))
        append(_new_sample(Sample, (sample_names[1], labelset, cumulative, None, None, None)))
        if self._has_sum:
            append(_new_sample(Sample, (sample_names[2], labelset, self._sum.get(), None, None, None)))
        if use_created:
            append(_new_sample(Sample, (sample_names[3], labelset, self._created, None, None, None)))

    def _append_native_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        """The native sample (named like the family, value None), then the classic ones.

        Taken under the series lock, so the native and classic views agree.
        """
        native = self._native
        with native.lock:  # type: ignore[union-attr]
            snapshot = native.snapshot()  # type: ignore[union-attr]
            family_name = sample_names[0][: -len("_bucket")]
            out.append(_new_sample(Sample, (family_name, self._labelset, None, None, None, snapshot)))
            Histogram._append_samples(self, out, sample_names, use_created)


class Info(MetricWrapperBase):
    """Key-value facts about the target, exposed as labels of a series valued 1.

    ::

        build = Info('build', 'Build of this service')
        build.info({'version': '1.4.2', 'commit': 'abc123'})

    In multiprocess mode every process's info series are exported (a label
    set that several processes report appears once).

    Thread safety: ``info`` replaces the whole label set atomically.
    """

    _type = "info"
    _sample_suffixes = ("_info",)

    def _metric_init(self) -> None:
        self._labelname_set = set(self._labelnames)
        self._lock = Lock()
        self._value: Dict[str, str] = {}
        self._info_labelset = self._labelset
        self._store: Any = None
        if self._multiprocess_backed:
            self._store = self._allocate_info_store(self._value)

    def _allocate_info_store(self, value: Dict[str, str]) -> Any:
        """In multiprocess storage an info series is a slot holding 1."""
        store = values.ValueClass(
            self._type,
            self._name,
            self._name + "_info",
            self._labelnames + tuple(value),
            self._labelvalues + tuple(value.values()),
            self._documentation,
        )
        store.set(1)
        return store

    def _value_stores(self) -> List[Any]:
        return [self._store]

    def _parent_init(self) -> None:
        pass  # info() on a parent fails on the missing _labelname_set, as classic

    def info(self, val: Dict[str, str]) -> None:
        """Replace the info labels.

        Raises ValueError when a key is one of the metric's label names or a
        value is None.
        """
        if self._labelname_set.intersection(val.keys()):
            raise ValueError(
                "Overlapping labels for Info metric, metric: {} child: {}".format(self._labelnames, val)
            )
        if any(i is None for i in val.values()):
            raise ValueError("Label value cannot be None")
        value = dict(val)
        info_labels = labelset(self._labelset)
        info_labels.update(value)  # built before publication, never mutated after
        with self._lock:
            self._value = value
            self._info_labelset = info_labels
            if self._multiprocess_backed:
                previous, self._store = self._store, self._allocate_info_store(value)
                _release_store(previous)

    def _append_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        out.append(_new_sample(Sample, (sample_names[0], self._info_labelset, 1.0, None, None, None)))


class Enum(MetricWrapperBase):
    """Which one of a fixed set of states holds (an OpenMetrics stateset).

    The first state is the initial one::

        phase = Enum('job_phase', 'Current phase', states=['queued', 'running', 'done'])
        phase.state('running')

    In multiprocess mode a state is reported set when any process has it set.

    Thread safety: ``state`` is an atomic assignment.
    """

    _type = "stateset"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Optional[CollectorRegistry] = REGISTRY,
        _labelvalues: Optional[Sequence[str]] = None,
        states: Optional[Sequence[str]] = None,
    ):
        if name in labelnames:
            raise ValueError(f"Overlapping labels for Enum metric: {name}")
        if not states:
            raise ValueError(f"No states provided for Enum metric: {name}")
        self._states = states
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
        )
        self._kwargs["states"] = states

    def _metric_init(self) -> None:
        self._value = 0
        self._lock = Lock()
        self._state_labelsets = []
        for state in self._states:
            state_labels = labelset(self._labelset)
            state_labels[self._name] = state  # built before publication, never mutated after
            self._state_labelsets.append(state_labels)
        self._state_stores: List[Any] = []
        if self._multiprocess_backed:
            # In multiprocess storage each state is a slot holding 1 or 0.
            for state in self._states:
                self._state_stores.append(
                    values.ValueClass(
                        self._type,
                        self._name,
                        self._name,
                        self._labelnames + (self._name,),
                        self._labelvalues + (state,),
                        self._documentation,
                    )
                )
            self._state_stores[0].set(1)

    def _value_stores(self) -> List[Any]:
        return self._state_stores

    def _parent_init(self) -> None:
        pass

    def state(self, state: str) -> None:
        """Make ``state`` the one that holds.

        Raises ValueError on a labelled parent or for an unknown state.
        """
        self._raise_if_not_observable()
        with self._lock:
            previous, self._value = self._value, self._states.index(state)
            if self._state_stores:
                self._state_stores[previous].set(0)
                self._state_stores[self._value].set(1)

    def _append_samples(self, out: List[Sample], sample_names: List[str], use_created: bool) -> None:
        name = sample_names[0]
        current = self._value
        for index, state_labels in enumerate(self._state_labelsets):
            out.append(_new_sample(Sample, (name, state_labels, 1 if index == current else 0, None, None, None)))


__all__ = [
    "Counter",
    "Enum",
    "Gauge",
    "Histogram",
    "Info",
    "MetricWrapperBase",
    "Summary",
    "disable_created_metrics",
    "enable_created_metrics",
]
