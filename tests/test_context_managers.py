"""prometheus_client.context_managers: Timer, ExceptionCounter and
InprogressTracker as context managers and as decorators (sync and async)."""
from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any, Dict, List, Tuple

import pytest

from prometheus_client import context_managers
from prometheus_client.context_managers import ExceptionCounter, InprogressTracker, Timer
from prometheus_client.decorator import getargspec


class FakeMetric:
    """Records what the helpers report. A labelled parent refuses values."""

    def __init__(self, labelnames: Tuple[str, ...] = ()) -> None:
        self.labelnames = labelnames
        self.observed: List[float] = []
        self.set_values: List[float] = []
        self.value = 0.0
        self.children: Dict[Any, FakeMetric] = {}

    def _check_observable(self) -> None:
        if self.labelnames:
            raise ValueError("fake metric is missing label values")

    def observe(self, amount: float) -> None:
        self._check_observable()
        self.observed.append(amount)

    def set(self, value: float) -> None:
        self._check_observable()
        self.set_values.append(value)

    def inc(self, amount: float = 1) -> None:
        self._check_observable()
        self.value += amount

    def dec(self, amount: float = 1) -> None:
        self._check_observable()
        self.value -= amount

    def labels(self, *values: Any, **labelkwargs: Any) -> FakeMetric:
        key = values or tuple(labelkwargs[name] for name in self.labelnames)
        if len(key) != len(self.labelnames):
            raise ValueError("Incorrect label count")
        return self.children.setdefault(key, FakeMetric())


class FakeClock:
    """A manual clock; ``tick`` is added after every reading."""

    def __init__(self, now: float = 100.0, tick: float = 0.0) -> None:
        self.now = now
        self.tick = tick

    def __call__(self) -> float:
        now = self.now
        self.now += self.tick
        return now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(context_managers, "default_timer", fake)
    return fake


@pytest.fixture
def metric():
    return FakeMetric()


def sample_function(request, retries: int = 3, *extra, timeout=None, **options) -> str:
    """Handle a request."""
    return "handled %s" % request


async def sample_coroutine_function(request, *, timeout: float = 1.0) -> str:
    """Handle a request asynchronously."""
    await asyncio.sleep(0)
    return "handled %s" % request


HELPERS = {
    "timer": lambda metric: Timer(metric, "observe"),
    "gauge_timer": lambda metric: Timer(metric, "set"),
    "exception_counter": lambda metric: ExceptionCounter(metric, Exception),
    "inprogress_tracker": lambda metric: InprogressTracker(metric),
}


# ---------------------------------------------------------------------------
# Decorators: what every helper preserves


@pytest.mark.parametrize("make_helper", HELPERS.values(), ids=HELPERS.keys())
@pytest.mark.parametrize("func", [sample_function, sample_coroutine_function], ids=["sync", "async"])
def test_decorators_preserve_the_function_identity(make_helper, func, metric):
    decorated = make_helper(metric)(func)

    assert inspect.signature(decorated) == inspect.signature(func)
    assert getargspec(decorated) == getargspec(func)
    assert decorated.__name__ == func.__name__
    assert decorated.__qualname__ == func.__qualname__
    assert decorated.__doc__ == func.__doc__
    assert decorated.__module__ == func.__module__
    assert decorated.__wrapped__ is func
    assert inspect.iscoroutinefunction(decorated) == inspect.iscoroutinefunction(func)


@pytest.mark.parametrize("make_helper", HELPERS.values(), ids=HELPERS.keys())
def test_decorated_lambda_is_renamed(make_helper, metric):
    decorated = make_helper(metric)(lambda x: x * 2)
    assert decorated.__name__ == "_lambda_"
    assert decorated(4) == 8


def test_upstream_getargspec_example(metric):
    @Timer(metric, "observe")
    def f(r):
        return r

    assert getargspec(f) == (["r"], None, None, None)


@pytest.mark.parametrize("make_helper", HELPERS.values(), ids=HELPERS.keys())
def test_decorators_return_values_and_propagate_exceptions_unchanged(make_helper, metric):
    error = KeyError("missing")

    @make_helper(metric)
    def fails():
        raise error

    assert make_helper(metric)(sample_function)("r", timeout=2) == "handled r"
    with pytest.raises(KeyError) as raised:
        fails()
    assert raised.value is error


@pytest.mark.parametrize("make_helper", HELPERS.values(), ids=HELPERS.keys())
def test_bad_arguments_fail_before_anything_is_recorded(make_helper, metric):
    decorated = make_helper(metric)(sample_function)
    with pytest.raises(TypeError):
        decorated()
    assert (metric.observed, metric.set_values, metric.value) == ([], [], 0)


# ---------------------------------------------------------------------------
# Timer as a context manager


def test_timer_returns_itself_and_records_the_duration(clock, metric):
    timer = Timer(metric, "observe")
    assert timer.duration is None
    with timer as entered:
        clock.now += 2.5
    assert entered is timer
    assert timer.duration == 2.5
    assert metric.observed == [2.5]


def test_timer_for_a_gauge_sets_the_duration(clock, metric):
    with Timer(metric, "set") as timer:
        clock.now += 4
    assert timer.duration == 4
    assert metric.set_values == [4]


def test_timer_never_reports_a_negative_duration(clock, metric):
    with Timer(metric, "observe") as timer:
        clock.now -= 10
    assert timer.duration == 0
    assert metric.observed == [0]


def test_timer_records_when_the_block_raises(clock, metric):
    error = RuntimeError("fail")
    with pytest.raises(RuntimeError) as raised:
        with Timer(metric, "observe"):
            clock.now += 1
            raise error
    assert raised.value is error
    assert metric.observed == [1]


def test_timer_exit_does_not_swallow(clock, metric):
    timer = Timer(metric, "observe")
    timer.__enter__()
    assert not timer.__exit__(ValueError, ValueError(), None)


def test_timer_labels_redirects_to_the_child(clock):
    parent = FakeMetric(("method",))
    with Timer(parent, "observe") as timer:
        assert timer.labels("get") is None
        clock.now += 3
    with Timer(parent, "observe") as timer:
        timer.labels(method="post")
    assert parent.children[("get",)].observed == [3]
    assert parent.children[("post",)].observed == [0]


def test_timer_on_labelled_parent_without_labels_raises_at_exit(clock):
    parent = FakeMetric(("method",))
    reached_end_of_block = False
    with pytest.raises(ValueError, match="missing label values"):
        with Timer(parent, "observe"):
            reached_end_of_block = True
    assert reached_end_of_block


def test_new_timer_is_a_fresh_timer_for_the_same_metric(clock, metric):
    timer = Timer(metric, "set")
    with timer:
        pass
    fresh = timer._new_timer()
    assert fresh is not timer
    assert type(fresh) is Timer
    assert fresh.duration is None
    with fresh:
        clock.now += 1
    assert metric.set_values == [0, 1]


def test_timer_uses_the_real_clock_by_default(metric):
    with Timer(metric, "observe") as timer:
        time.sleep(0.02)
    assert timer.duration >= 0.015
    assert metric.observed == [timer.duration]


def test_clock_is_looked_up_at_call_time(monkeypatch, metric):
    decorated = Timer(metric, "observe")(sample_function)
    monkeypatch.setattr(context_managers, "default_timer", FakeClock(tick=7))
    decorated("r")
    assert metric.observed == [7]


# ---------------------------------------------------------------------------
# Timer as a decorator


def test_timed_function_records_each_call(clock, metric):
    @Timer(metric, "observe")
    def work(seconds):
        clock.now += seconds
        return seconds

    assert work(1) == 1
    assert work(seconds=2) == 2
    assert metric.observed == [1, 2]


def test_timed_function_records_when_it_raises(clock, metric):
    @Timer(metric, "observe")
    def work():
        clock.now += 5
        raise ValueError("x")

    with pytest.raises(ValueError):
        work()
    assert metric.observed == [5]


def test_timer_labels_before_decorating_applies_to_every_call(clock):
    parent = FakeMetric(("method",))
    timer = Timer(parent, "observe")
    timer.labels("get")
    timer(sample_function)("r")
    assert parent.children[("get",)].observed == [0]


def test_recursive_calls_each_record_their_own_duration(monkeypatch, metric):
    # Every clock reading advances the clock by 1: starts read 0, 1, 2 and
    # stops read 3, 4, 5, so the durations are 1, 3, 5 (innermost first).
    monkeypatch.setattr(context_managers, "default_timer", FakeClock(now=0, tick=1))

    @Timer(metric, "observe")
    def countdown(n):
        return 0 if n == 0 else countdown(n - 1)

    countdown(2)
    assert metric.observed == [1, 3, 5]


def test_concurrent_calls_in_threads_each_record_their_own_duration(metric):
    threads_count = 4
    barrier = threading.Barrier(threads_count)

    @Timer(metric, "observe")
    def work():
        barrier.wait()  # all calls are in progress at the same time
        time.sleep(0.05)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(metric.observed) == threads_count
    assert all(duration >= 0.04 for duration in metric.observed)


def test_async_timed_function_measures_the_awaited_call(metric):
    @Timer(metric, "observe")
    async def work(x):
        await asyncio.sleep(0.05)
        return x

    assert inspect.iscoroutinefunction(work)
    assert asyncio.run(work(3)) == 3
    assert len(metric.observed) == 1
    assert metric.observed[0] >= 0.04


def test_async_timing_starts_when_awaited_and_ends_when_finished(clock, metric):
    @Timer(metric, "observe")
    async def work():
        await asyncio.sleep(0)
        clock.now += 3
        await asyncio.sleep(0)

    coroutine = work()
    clock.now += 100  # time between creating and awaiting is not measured
    assert metric.observed == []
    asyncio.run(coroutine)
    assert metric.observed == [3]


def test_async_timed_function_records_when_it_raises(clock, metric):
    error = ValueError("async failure")

    @Timer(metric, "observe")
    async def work():
        await asyncio.sleep(0)
        clock.now += 2
        raise error

    with pytest.raises(ValueError) as raised:
        asyncio.run(work())
    assert raised.value is error
    assert metric.observed == [2]


def test_concurrent_async_calls_each_record_their_own_duration(metric):
    @Timer(metric, "observe")
    async def work(seconds):
        await asyncio.sleep(seconds)

    async def main():
        await asyncio.gather(work(0.05), work(0.1))

    asyncio.run(main())
    short, long = sorted(metric.observed)
    assert short >= 0.04
    assert long >= 0.09


def test_generator_function_is_wrapped_synchronously(clock, metric):
    @Timer(metric, "observe")
    def numbers(n):
        clock.now += 10  # runs during iteration, not during the call
        yield from range(n)

    generator = numbers(3)
    assert metric.observed == [0]  # timed: the call that creates the generator
    assert list(generator) == [0, 1, 2]
    assert metric.observed == [0]


def test_async_generator_function_is_wrapped_synchronously(clock, metric):
    @Timer(metric, "observe")
    async def numbers(n):
        for number in range(n):
            await asyncio.sleep(0)
            yield number

    assert not inspect.iscoroutinefunction(numbers)
    generator = numbers(2)
    assert inspect.isasyncgen(generator)
    assert metric.observed == [0]

    async def consume():
        return [number async for number in generator]

    assert asyncio.run(consume()) == [0, 1]


# ---------------------------------------------------------------------------
# ExceptionCounter


def test_exception_counter_enter_and_exit(metric):
    counter = ExceptionCounter(metric, ValueError)
    assert counter.__enter__() is None
    assert counter.__exit__(None, None, None) is False
    assert metric.value == 0
    assert counter.__exit__(ValueError, ValueError(), None) is False
    assert metric.value == 1


@pytest.mark.parametrize(
    "exception_types, raised, counted",
    [
        (ValueError, ValueError(), True),
        (ValueError, UnicodeDecodeError("utf-8", b"", 0, 1, "bad"), True),  # subclass
        (ValueError, TypeError(), False),
        ((ValueError, TypeError), TypeError(), True),
        (Exception, KeyboardInterrupt(), False),
        (BaseException, KeyboardInterrupt(), True),
    ],
)
def test_exception_counter_counts_matching_exceptions(exception_types, raised, counted, metric):
    with pytest.raises(type(raised)):
        with ExceptionCounter(metric, exception_types):
            raise raised
    assert metric.value == (1 if counted else 0)

    @ExceptionCounter(metric, exception_types)
    def fails():
        raise raised

    with pytest.raises(type(raised)) as caught:
        fails()
    assert caught.value is raised
    assert metric.value == (2 if counted else 0)


def test_exception_counter_ignores_success(metric):
    with ExceptionCounter(metric, Exception):
        pass
    ExceptionCounter(metric, Exception)(sample_function)("r")
    assert metric.value == 0


def test_exception_counter_counts_exceptions_of_awaited_coroutines(metric):
    @ExceptionCounter(metric, ValueError)
    async def work(fail):
        await asyncio.sleep(0)
        if fail:
            raise ValueError("async failure")
        return "ok"

    assert inspect.iscoroutinefunction(work)
    assert asyncio.run(work(False)) == "ok"
    assert metric.value == 0
    with pytest.raises(ValueError, match="async failure"):
        asyncio.run(work(True))
    assert metric.value == 1


def test_exception_counter_async_ignores_other_exceptions(metric):
    @ExceptionCounter(metric, ValueError)
    async def work():
        await asyncio.sleep(0)
        raise KeyError("other")

    with pytest.raises(KeyError):
        asyncio.run(work())
    assert metric.value == 0


# ---------------------------------------------------------------------------
# InprogressTracker


def test_inprogress_tracker_as_context_manager(metric):
    tracker = InprogressTracker(metric)
    with tracker as entered:
        assert entered is None
        assert metric.value == 1
        with tracker:
            assert metric.value == 2
    assert metric.value == 0
    with pytest.raises(ValueError):
        with tracker:
            raise ValueError
    assert metric.value == 0


def test_inprogress_tracker_decorator_counts_calls_in_progress(metric):
    seen = []

    @InprogressTracker(metric)
    def work(depth):
        seen.append(metric.value)
        if depth:
            work(depth - 1)
        else:
            raise LookupError

    with pytest.raises(LookupError):
        work(2)
    assert seen == [1, 2, 3]
    assert metric.value == 0


def test_inprogress_tracker_async_is_in_progress_while_awaited(metric):
    seen = []

    @InprogressTracker(metric)
    async def work(release):
        await release.wait()
        return "done"

    async def main():
        release = asyncio.Event()
        coroutine = work(release)
        seen.append(metric.value)  # created, not started
        task = asyncio.ensure_future(coroutine)
        await asyncio.sleep(0)
        seen.append(metric.value)  # suspended inside the awaited call
        release.set()
        result = await task
        seen.append(metric.value)
        return result

    assert inspect.iscoroutinefunction(work)
    assert asyncio.run(main()) == "done"
    assert seen == [0, 1, 0]


def test_inprogress_tracker_async_decrements_after_exception(metric):
    @InprogressTracker(metric)
    async def work():
        await asyncio.sleep(0)
        assert metric.value == 1
        raise ValueError("async failure")

    with pytest.raises(ValueError, match="async failure"):
        asyncio.run(work())
    assert metric.value == 0


# ---------------------------------------------------------------------------
# With the real metric classes (skipped if prometheus_client.metrics is absent)


@pytest.fixture
def real():
    metrics = pytest.importorskip("prometheus_client.metrics")
    registry_module = pytest.importorskip("prometheus_client.registry")
    return metrics, registry_module.CollectorRegistry()


def test_real_histogram_time(real):
    metrics, registry = real
    histogram = metrics.Histogram("h", "help", registry=registry)

    @histogram.time()
    def f(r):
        time.sleep(0.01)
        return r

    assert getargspec(f) == (["r"], None, None, None)
    assert f(5) == 5
    with histogram.time() as timer:
        pass
    assert isinstance(timer, Timer)
    assert registry.get_sample_value("h_count") == 2
    assert registry.get_sample_value("h_sum") >= 0.01 + timer.duration


def test_real_labelled_histogram_timer(real):
    metrics, registry = real
    histogram = metrics.Histogram("h", "help", ["method"], registry=registry)
    with histogram.time() as timer:
        timer.labels("get")
    assert registry.get_sample_value("h_count", {"method": "get"}) == 1
    with pytest.raises(ValueError, match="histogram metric is missing label values"):
        with histogram.time():
            pass


def test_real_gauge_time_and_track_inprogress(real):
    metrics, registry = real
    gauge = metrics.Gauge("g", "help", registry=registry)
    with gauge.time() as timer:
        pass
    assert registry.get_sample_value("g") == timer.duration

    inprogress = metrics.Gauge("inprogress", "help", registry=registry)

    @inprogress.track_inprogress()
    async def work():
        await asyncio.sleep(0)
        return registry.get_sample_value("inprogress")

    assert asyncio.run(work()) == 1
    assert registry.get_sample_value("inprogress") == 0


def test_real_counter_count_exceptions(real):
    metrics, registry = real
    counter = metrics.Counter("c", "help", registry=registry)

    @counter.count_exceptions(ValueError)
    def f(r):
        if r:
            raise ValueError
        raise TypeError

    assert getargspec(f) == (["r"], None, None, None)
    with pytest.raises(TypeError):
        f(False)
    assert registry.get_sample_value("c_total") == 0
    with pytest.raises(ValueError):
        f(True)
    assert registry.get_sample_value("c_total") == 1


def test_real_async_histogram_time(real):
    metrics, registry = real
    histogram = metrics.Histogram("h", "help", registry=registry)

    @histogram.time()
    async def work():
        await asyncio.sleep(0.05)

    asyncio.run(work())
    assert registry.get_sample_value("h_sum") >= 0.04
