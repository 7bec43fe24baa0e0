"""Immutable value types of the data model: samples, exemplars, timestamps.

Bottom layer: imports nothing from the rest of the package.

* ``Sample``, ``Exemplar``, ``BucketSpan`` and ``NativeHistogram`` are
  ``typing.NamedTuple`` classes. Their field order is part of the public API
  (callers unpack them and index ``s[0]``, ``s[1]``, ``s[2]``).
* ``Timestamp`` is a nanosecond-resolution timestamp (seconds plus
  nanoseconds).

Thread/process safety: the tuples are immutable and safe to share. A
``Timestamp`` is never mutated by this package; treat it as immutable.
Nothing here validates the types of the values it holds (so an unusual
value only fails when it is rendered).
"""
# No ``from __future__ import annotations`` here: the NamedTuples keep real
# (evaluated) ``__annotations__``, as the reference client's do, for code
# that introspects them.
from typing import Dict, NamedTuple, Optional, Sequence, Union


class Timestamp:
    """A nanosecond-resolution timestamp."""

    def __init__(self, sec: float, nsec: float) -> None:
        """Build a timestamp of ``sec`` seconds plus ``nsec`` nanoseconds.

        ``nsec`` must lie in ``[0, 1e9)``; for a negative ``sec`` it is
        negated (so ``Timestamp(-1, 5)`` is ``-1.000000005`` s). Both parts
        are stored truncated to ``int``.

        Raises:
            ValueError: ``'Invalid value for nanoseconds in Timestamp: <nsec>'``
                when ``nsec`` is out of range (and ``int()``'s own errors for
                NaN/infinite parts).
        """
        if nsec < 0 or nsec >= 1e9:
            raise ValueError(f"Invalid value for nanoseconds in Timestamp: {nsec}")
        if sec < 0:
            nsec = -nsec
        self.sec: int = int(sec)
        self.nsec: int = int(nsec)

    def __str__(self) -> str:
        return f"{self.sec}.{self.nsec:09d}"

    def __repr__(self) -> str:
        return f"Timestamp({self.sec}, {self.nsec})"

    def __float__(self) -> float:
        return self.sec + self.nsec / 1e9

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Timestamp)
                and self.sec == other.sec and self.nsec == other.nsec)

    def __ne__(self, other: object) -> bool:
        return not self == other

    # Only another Timestamp is comparable; anything else fails with the
    # AttributeError of the missing ``sec`` (as the reference client does).
    def __gt__(self, other: 'Timestamp') -> bool:
        return self.sec > other.sec or (self.sec == other.sec and self.nsec > other.nsec)

    def __lt__(self, other: 'Timestamp') -> bool:
        return self.sec < other.sec or (self.sec == other.sec and self.nsec < other.nsec)

    # Defining __eq__ makes the class unhashable; say so explicitly.
    __hash__ = None  # type: ignore[assignment]


# The NamedTuples keep the default generated docstrings (``Sample(name,
# labels, ...)``), as the reference client's do.

class Exemplar(NamedTuple):
    labels: Dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None


class BucketSpan(NamedTuple):  # experimental: a run of native-histogram buckets
    offset: int
    length: int


class NativeHistogram(NamedTuple):  # experimental: a native-histogram value
    count_value: float
    sum_value: float
    schema: int
    zero_threshold: float
    zero_count: float
    pos_spans: Optional[Sequence[BucketSpan]] = None
    neg_spans: Optional[Sequence[BucketSpan]] = None
    pos_deltas: Optional[Sequence[int]] = None
    neg_deltas: Optional[Sequence[int]] = None
    nh_exemplars: Optional[Sequence[Exemplar]] = None


class Sample(NamedTuple):
    name: str
    labels: Dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None
    exemplar: Optional[Exemplar] = None
    native_histogram: Optional[NativeHistogram] = None
