"""Timing, in-progress and exception-counting helpers behind metric methods.

``Histogram.time()``, ``Summary.time()``, ``Gauge.time()``,
``Gauge.track_inprogress()`` and ``Counter.count_exceptions()`` return these
objects. Each works as a context manager (``with h.time() as t:``) and as a
decorator that keeps the decorated function's signature, name, docstring,
qualname, module and ``__wrapped__`` (see :mod:`prometheus_client.decorator`).

Decorating an ``async def`` function gives a coroutine function whose
measurement covers the awaited call: the time until the coroutine finishes,
the exceptions it raises, the time it is in progress. (The classic client
measured only the creation of the coroutine.) Plain functions, generator
functions and async generator functions are wrapped synchronously, as in the
classic client: for generators the measurement covers only the call that
creates the generator, not its iteration. Async generators are left that way
on purpose: forwarding ``asend``/``athrow``/``aclose`` correctly needs a
hand-written async-generator proxy, a cost out of proportion to its use.

Thread safety: decorated functions are thread-safe, re-entrant and
recursion-safe (each call of a timed function is measured on its own, as by
a new :class:`Timer`; the other two helpers keep no per-call state). A single
:class:`Timer` object used as a context manager belongs to one ``with`` block
at a time. Decorated calls do not go through ``__enter__``/``__exit__`` (they
inline the same steps, which halves the overhead), so overriding those in a
subclass only affects ``with`` use.

Raises: nothing of its own; exceptions of the wrapped code and of the metric
methods (``inc``, ``dec``, ``observe``, ``set``, ``labels``) propagate.

The clock is ``default_timer`` of this module (``timeit.default_timer``),
looked up at each start and stop so tests can patch it here.
"""
from __future__ import annotations

import inspect
from timeit import default_timer
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Literal,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from .decorator import decorate

if TYPE_CHECKING:
    from .metrics import Counter, Gauge

__all__ = ["ExceptionCounter", "InprogressTracker", "Timer"]

F = TypeVar("F", bound=Callable[..., Any])


def _decorate(func: F, call: Callable[..., Any], call_async: Callable[..., Any]) -> F:
    """Decorate ``func`` with ``call``, or with ``call_async`` if ``func`` is
    an ``async def`` function (the wrapper is then a coroutine function)."""
    return decorate(func, call_async if inspect.iscoroutinefunction(func) else call)


class ExceptionCounter:
    """Increment ``counter`` by 1 when an exception that is an instance of
    ``exception`` (a class or a tuple of classes) leaves the block or the
    decorated function.

    The exception always propagates (``__exit__`` returns False). Thread-safe
    and re-entrant: it keeps no state between uses.
    """

    def __init__(
        self,
        counter: Counter,
        exception: Union[Type[BaseException], Tuple[Type[BaseException], ...]],
    ) -> None:
        self._counter = counter
        self._exception = exception

    def _count(self, error: Optional[BaseException]) -> None:
        if isinstance(error, self._exception):
            self._counter.inc()

    def __enter__(self) -> None:
        pass

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> Literal[False]:
        self._count(value)
        return False

    def __call__(self, f: F) -> F:
        """Decorate ``f``; for an ``async def`` function, count the
        exceptions raised while it is awaited."""

        # Same semantics as ``with self:``, without the two method calls.
        def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except BaseException as error:
                self._count(error)
                raise

        async def call_async(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await function(*args, **kwargs)
            except BaseException as error:
                self._count(error)
                raise

        return _decorate(f, call, call_async)


class InprogressTracker:
    """Increment ``gauge`` on entry and decrement it on exit (also when an
    exception propagates): the number of blocks or calls in progress.

    Thread-safe and re-entrant: it keeps no state between uses.
    """

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge

    def __enter__(self) -> None:
        self._gauge.inc()

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self._gauge.dec()

    def __call__(self, f: F) -> F:
        """Decorate ``f``; an ``async def`` function is in progress until
        its coroutine finishes."""

        # Same semantics as ``with self:``, without the two method calls.
        def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            gauge = self._gauge
            gauge.inc()
            try:
                return function(*args, **kwargs)
            finally:
                gauge.dec()

        async def call_async(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            gauge = self._gauge
            gauge.inc()
            try:
                return await function(*args, **kwargs)
            finally:
                gauge.dec()

        return _decorate(f, call, call_async)


class Timer:
    """Measure elapsed seconds and report them to ``metric``.

    On exit, ``duration`` is set to the elapsed time (never negative) and
    ``getattr(metric, callback_name)(duration)`` is called: ``observe`` for
    histograms and summaries, ``set`` for gauges. The report happens even
    when an exception leaves the block, and whatever the callback raises
    (e.g. ``ValueError: histogram metric is missing label values`` for a
    labelled parent without :meth:`labels`) propagates from ``__exit__``.

    One Timer object measures one block at a time. As a decorator, every
    call is measured independently, exactly as by a fresh timer from
    :meth:`_new_timer` (the start time is a local of the call), so decorated
    functions are thread-safe, re-entrant and recursion-safe.
    """

    def __init__(self, metric: Any, callback_name: str) -> None:
        self._metric = metric
        self._callback_name = callback_name
        self.duration: Optional[float] = None

    def _new_timer(self) -> Timer:
        """A fresh Timer for the same metric and callback."""
        return self.__class__(self._metric, self._callback_name)

    def __enter__(self) -> Timer:
        self._start = default_timer()
        return self

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        # max(): the clock is monotonic, but a patched one may step back.
        duration = max(default_timer() - self._start, 0)
        self.duration = duration
        getattr(self._metric, self._callback_name)(duration)

    def labels(self, *args: Any, **kw: Any) -> None:
        """Report to ``metric.labels(*args, **kw)`` instead of ``metric``.

        Call it inside the ``with`` block of a labelled metric's timer.

        Raises:
            ValueError: from ``metric.labels`` (wrong label values).
        """
        self._metric = self._metric.labels(*args, **kw)

    def __call__(self, f: F) -> F:
        """Decorate ``f``; an ``async def`` function is timed until its
        coroutine finishes."""

        # Same semantics as ``with self._new_timer():``, without creating a
        # Timer and making two method calls per call.
        def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            start = default_timer()
            try:
                return function(*args, **kwargs)
            finally:
                getattr(self._metric, self._callback_name)(max(default_timer() - start, 0))

        async def call_async(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            start = default_timer()
            try:
                return await function(*args, **kwargs)
            finally:
                getattr(self._metric, self._callback_name)(max(default_timer() - start, 0))

        return _decorate(f, call, call_async)
