"""Native-histogram math, sparse encoding, merging and per-series state.

Property tests (Hypothesis) check the bucket arithmetic exactly, on and next
to every kind of boundary, for every schema -4..8; the spec's test vectors
and worked examples are checked literally.
"""
from __future__ import annotations

import math
import random
import signal
import sys
import threading
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from prometheus_client import native_histogram as nh
from prometheus_client.native_histogram import (
    DEFAULT_ZERO_THRESHOLD,
    MAX_FLOAT,
    NativeHistogramState,
    bucket_bounds,
    bucket_index,
    buckets_to_spans,
    cell_sample_name,
    merge_native_histograms,
    parse_cell_sample_name,
    reduce_index,
    schema_for_factor,
    spans_to_buckets,
)
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram

SCHEMAS = list(range(-4, 9))
INF = math.inf
NORMAL_MIN = sys.float_info.min  # 2**-1022; bounds below it are rounded for schema > 0

schemas = st.sampled_from(SCHEMAS)
positive_floats = st.one_of(
    st.floats(min_value=NORMAL_MIN, max_value=MAX_FLOAT),
    st.floats(min_value=1e-6, max_value=1e6),
    st.sampled_from([NORMAL_MIN, 0.5, 1.0, 2.0, 3.0, 0.3, 1e-9, 1e300, MAX_FLOAT, 2.0 ** -128]),
)


def valid_index(schema, index):
    """Clamp an arbitrary int into the range of indexes with normal-float bounds."""
    low = reduce_index(-1021 << max(schema, 0), max(-schema, 0)) + 1
    high = (1024 << schema if schema >= 0 else 1024 >> -schema) + 1
    return min(max(index, low), high)


# --------------------------------------------------------------------------
# Bucket math

SPEC_VECTORS = {  # value: {schema: index}, from native-histograms.md section 3
    1.0: {-4: 0, -1: 0, 0: 0, 1: 0, 3: 0, 8: 0},
    1.0001: {-4: 1, -1: 1, 0: 1, 1: 1, 3: 1, 8: 1},
    1.5: {-4: 1, -1: 1, 0: 1, 1: 2, 3: 5, 8: 150},
    2.0: {-4: 1, -1: 1, 0: 1, 1: 2, 3: 8, 8: 256},
    3.0: {-4: 1, -1: 1, 0: 2, 1: 4, 3: 13, 8: 406},
    0.5: {-4: 0, -1: 0, 0: -1, 1: -2, 3: -8, 8: -256},
    0.3: {-4: 0, -1: 0, 0: -1, 1: -3, 3: -13, 8: -444},
    100.0: {-4: 1, -1: 4, 0: 7, 1: 14, 3: 54, 8: 1701},
    1e-9: {-4: -1, -1: -14, 0: -29, 1: -59, 3: -239, 8: -7653},
    1e300: {-4: 63, -1: 499, 0: 997, 1: 1994, 3: 7973, 8: 255125},
    MAX_FLOAT: {-4: 64, -1: 512, 0: 1024, 1: 2048, 3: 8192, 8: 262144},
    INF: {-4: 65, -1: 513, 0: 1025, 1: 2049, 3: 8193, 8: 262145},
}


@pytest.mark.parametrize("value", list(SPEC_VECTORS))
def test_spec_test_vectors(value):
    for schema, index in SPEC_VECTORS[value].items():
        assert bucket_index(value, schema) == index, (value, schema)


@pytest.mark.parametrize("factor,schema", [
    (65536, -4), (256, -3), (16, -2), (4, -1), (3, 0), (2, 0), (1.5, 1), (1.2, 2), (1.1, 3),
    (1.05, 4), (1.03, 5), (1.02, 6), (1.01, 7), (1.005, 8), (1.0001, 8), (100000, -4), (INF, -4),
])
def test_schema_for_factor(factor, schema):
    assert schema_for_factor(factor) == schema


@pytest.mark.parametrize("factor", [1, 1.0, 0.5, 0, -2, math.nan])
def test_schema_for_factor_rejects(factor):
    with pytest.raises(ValueError, match="greater than 1"):
        schema_for_factor(factor)


@given(factor=st.floats(min_value=1.0, exclude_min=True, allow_infinity=True))
def test_schema_for_factor_is_the_coarsest_within_the_factor(factor):
    schema = schema_for_factor(factor)
    base = bucket_bounds(1, schema)[1]
    if schema < 8:
        assert base <= factor
    if schema > -4:
        assert bucket_bounds(1, schema - 1)[1] > factor


def test_octave_table_is_correctly_rounded():
    """Every boundary 2**(j/256 - 1) is the float nearest to the real number."""
    for j, entry in enumerate(nh._SCHEMA8_OCTAVE):
        half_ulp = Fraction(math.ulp(entry)) / 2
        target = Fraction(2) ** (j - 256)  # entry**256 should be as close as possible to this
        below, above = Fraction(entry) - half_ulp, Fraction(entry) + half_ulp
        assert below ** 256 < target < above ** 256 or (j == 0 and entry == 0.5), j


def test_boundary_tables_are_nested():
    for schema in range(1, 9):
        coarse = nh._LAYOUTS[schema - 1].table if schema > 1 else (0.5,)
        fine = nh._LAYOUTS[schema].table
        assert fine[::2] == coarse


@settings(max_examples=400)
@given(value=positive_floats, schema=schemas)
@example(value=INF, schema=0)
@example(value=MAX_FLOAT, schema=8)
def test_every_value_lands_in_the_bucket_containing_it(value, schema):
    index = bucket_index(value, schema)
    lower, upper = bucket_bounds(index, schema)
    assert lower < value <= upper


@settings(max_examples=400)
@given(schema=schemas, raw_index=st.integers(-300000, 300000))
def test_exact_on_boundaries_and_next_floats(schema, raw_index):
    index = valid_index(schema, raw_index)
    lower, upper = bucket_bounds(index, schema)
    if upper == INF:
        assert bucket_index(INF, schema) == index
        return
    assert bucket_index(upper, schema) == index
    assert bucket_index(math.nextafter(upper, INF), schema) == index + 1 or upper == MAX_FLOAT
    below = math.nextafter(upper, 0.0)
    assert bucket_index(below, schema) == (index if below > lower else index - 1)
    assert bucket_index(math.nextafter(lower, INF), schema) == index


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_boundary_of_a_range_exactly(schema):
    """All boundaries between 2**-20 and 2**20, exhaustively."""
    first = bucket_index(2.0 ** -20, schema)
    last = bucket_index(2.0 ** 20, schema)
    for index in range(first, last + 1):
        lower, upper = bucket_bounds(index, schema)
        assert lower < upper
        assert bucket_index(upper, schema) == index
        assert bucket_index(math.nextafter(upper, INF), schema) == index + 1
        assert bucket_index(math.nextafter(upper, 0.0), schema) == index
        assert bucket_bounds(index + 1, schema)[0] == upper


@pytest.mark.parametrize("schema", SCHEMAS)
def test_powers_of_two_are_boundaries_in_every_schema(schema):
    for exponent in range(-1022, 1024):  # normal floats: the next float is in the next bucket
        value = math.ldexp(1.0, exponent)
        index = bucket_index(value, schema)
        if schema >= 0:
            assert index == exponent << schema
        assert bucket_index(math.nextafter(value, INF), schema) == index + 1 or (
            schema < 0 and exponent % (1 << -schema) != 0)


def test_special_buckets():
    for schema in SCHEMAS:
        top = 1024 << schema if schema >= 0 else 1024 >> -schema
        assert bucket_bounds(top, schema)[1] == MAX_FLOAT
        assert bucket_bounds(top + 1, schema) == (MAX_FLOAT, INF)
        with pytest.raises(ValueError, match="overflow"):
            bucket_bounds(top + 2, schema)


@pytest.mark.parametrize("value", [0.0, -0.0, -1.0, math.nan, -INF])
def test_bucket_index_rejects_non_positive(value):
    with pytest.raises(ValueError, match="> 0"):
        bucket_index(value, 0)


@pytest.mark.parametrize("schema", [-5, 9, -53, 1.5, True, None])
def test_invalid_schema(schema):
    with pytest.raises((ValueError, TypeError)):
        bucket_index(1.0, schema)


def test_reduce_index_table():
    old = [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]
    assert [reduce_index(i, 1) for i in old] == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]
    assert reduce_index(14, 2) == 4 and reduce_index(7, 2) == 2 and reduce_index(-7, 2) == -1
    with pytest.raises(ValueError):
        reduce_index(3, -1)


@settings(max_examples=400)
@given(value=positive_floats, schema=schemas, data=st.data())
def test_reducing_equals_indexing_at_the_coarser_schema(value, schema, data):
    coarser = data.draw(st.integers(-4, schema))
    assert reduce_index(bucket_index(value, schema), schema - coarser) == bucket_index(value, coarser)


@settings(max_examples=200)
@given(schema=schemas, raw_index=st.integers(-100000, 100000), data=st.data())
def test_reducing_is_exact_on_boundaries(schema, raw_index, data):
    index = valid_index(schema, raw_index)
    upper = bucket_bounds(index, schema)[1]
    assume(upper < INF)
    coarser = data.draw(st.integers(-4, schema))
    assert reduce_index(index, schema - coarser) == bucket_index(upper, coarser)


# --------------------------------------------------------------------------
# Spans and deltas

bucket_maps = st.dictionaries(st.integers(-60, 60), st.integers(1, 50), max_size=25)


@given(buckets=bucket_maps, max_gap=st.integers(0, 5))
def test_spans_round_trip(buckets, max_gap):
    spans, deltas = buckets_to_spans(buckets, max_gap)
    assert spans_to_buckets(spans, deltas) == buckets
    assert sum(span.length for span in spans) == len(deltas)
    assert all(span.length > 0 for span in spans)
    assert all(span.offset > max_gap for span in spans[1:])
    if buckets:
        assert spans[0].offset == min(buckets)
        # running counts: never negative, zero only in bridged gaps
        running, counts = 0, []
        for delta in deltas:
            running += delta
            counts.append(running)
        assert min(counts) >= 0
        assert sum(counts) == sum(buckets.values())
    else:
        assert (spans, deltas) == ((), ())


def test_zero_counts_are_left_out():
    assert buckets_to_spans({1: 0, 2: 3, 9: 0}) == ((BucketSpan(2, 1),), (3,))
    assert buckets_to_spans({}) == ((), ())


def test_spec_worked_example_encodings():
    # Example 1
    assert buckets_to_spans({-1: 1, 0: 1, 1: 1, 2: 2, 3: 1}) == ((BucketSpan(-1, 5),), (1, 0, 0, 1, -1))
    # Example 2, exact (no gap bridging) and reduced
    assert buckets_to_spans({1: 2, 2: 1, 7: 2, 14: 3}, max_gap=0) == (
        (BucketSpan(1, 2), BucketSpan(4, 1), BucketSpan(6, 1)), (2, -1, 1, 1))
    assert buckets_to_spans({1: 3, 4: 2, 7: 3}, max_gap=0) == (
        (BucketSpan(1, 1), BucketSpan(2, 1), BucketSpan(2, 1)), (3, -1, 1))
    assert buckets_to_spans({1: 3, 4: 2, 7: 3}) == ((BucketSpan(1, 7),), (3, -3, 0, 2, -2, 0, 3))
    assert buckets_to_spans({1: 3, 2: 2, 4: 3}, max_gap=0) == ((BucketSpan(1, 2), BucketSpan(1, 1)), (3, -1, 1))
    # Example 3: exact form, and Go's gap filling
    example3 = {-3: 1, 1: 2, 2: 1, 3: 1, 5: 1}
    assert buckets_to_spans(example3, max_gap=0) == (
        (BucketSpan(-3, 1), BucketSpan(3, 3), BucketSpan(1, 1)), (1, 1, -1, 0, 0))
    assert buckets_to_spans(example3) == ((BucketSpan(-3, 1), BucketSpan(3, 5)), (1, 1, -1, 0, -1, 1))


def test_spans_to_buckets_errors():
    assert spans_to_buckets(None, None) == {} and spans_to_buckets((), ()) == {}
    with pytest.raises(ValueError, match="cover 2 buckets but 1 deltas"):
        spans_to_buckets([BucketSpan(0, 2)], [1])
    with pytest.raises(ValueError, match="no spans"):
        spans_to_buckets(None, [1])
    with pytest.raises(ValueError, match="negative count"):
        spans_to_buckets([BucketSpan(0, 2)], [1, -2])
    with pytest.raises(ValueError):
        buckets_to_spans({1: 1}, max_gap=-1)


# --------------------------------------------------------------------------
# State

class RecordingCells:
    """A cell factory that remembers what it allocated and what was released."""

    def __init__(self):
        self.live = {}
        self.released = []

    def new_cell(self, key):
        from prometheus_client.storage import Cell
        cell = Cell()
        assert key not in self.live, "a live key was allocated twice"
        self.live[key] = cell
        return cell

    def release(self, cell):
        for key, live in list(self.live.items()):
            if live is cell:
                del self.live[key]
                self.released.append(key)
                return
        raise AssertionError("released a cell that is not live")

    def values(self):
        return {key: cell.get() for key, cell in self.live.items()}


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def make_state(schema=0, cells=None, clock=None, **options):
    cells = cells or RecordingCells()
    return NativeHistogramState(schema, new_cell=cells.new_cell, release_cell=cells.release,
                                clock=clock or FakeClock(), **options)


def buckets_of(snapshot):
    return (spans_to_buckets(snapshot.pos_spans, snapshot.pos_deltas),
            spans_to_buckets(snapshot.neg_spans, snapshot.neg_deltas))


def test_worked_example_1():
    cells = RecordingCells()
    state = make_state(0, cells)
    for value in (0, 0.3, 1, 1.5, 3, 4, 5, -2):
        state.observe(value)
    snapshot = state.snapshot()
    assert snapshot == NativeHistogram(8, 12.8, 0, DEFAULT_ZERO_THRESHOLD, 1, (BucketSpan(-1, 5),),
                                       (BucketSpan(1, 1),), (1, 0, 0, 1, -1), (1,), None)
    assert type(snapshot.count_value) is int and type(snapshot.zero_count) is int
    assert cells.values() == {
        "count": 8.0, "sum": 12.8, "zero_count": 1.0, "zero_threshold": DEFAULT_ZERO_THRESHOLD, "schema": 0.0,
        "p-1": 1.0, "p0": 1.0, "p1": 1.0, "p2": 2.0, "p3": 1.0, "n1": 1.0,
    }


def test_worked_example_2_at_several_schemas():
    values = [1.1, 1.1, 1.3, 3.0, 3.1, 10, 10, 10, 0]
    expected = {2: {1: 2, 2: 1, 7: 2, 14: 3}, 1: {1: 3, 4: 2, 7: 3}, 0: {1: 3, 2: 2, 4: 3}}
    for schema, buckets in expected.items():
        state = make_state(schema)
        for value in values:
            state.observe(value)
        snapshot = state.snapshot()
        assert buckets_of(snapshot) == (buckets, {})
        assert (snapshot.count_value, snapshot.zero_count) == (9, 1)
        assert snapshot.sum_value == pytest.approx(39.6)


def test_special_values():
    state = make_state(3, zero_threshold=0.0)
    for value in (math.nan, INF, -INF, 0.0, -0.0, 5e-324, -5e-324, MAX_FLOAT):
        state.observe(value)
    snapshot = state.snapshot()
    assert snapshot.count_value == 8 and math.isnan(snapshot.sum_value)
    assert snapshot.zero_count == 2  # only exact zeros with threshold 0
    positive, negative = buckets_of(snapshot)
    assert positive == {8193: 1, 8192: 1, bucket_index(5e-324, 3): 1}
    assert negative == {8193: 1, bucket_index(5e-324, 3): 1}


def test_zero_bucket_is_closed():
    state = make_state(0, zero_threshold=0.5)
    for value in (0.5, -0.5, 0.25, math.nextafter(0.5, 1), -math.nextafter(0.5, 1)):
        state.observe(value)
    snapshot = state.snapshot()
    assert snapshot.zero_count == 3
    assert buckets_of(snapshot) == ({0: 1}, {0: 1})


def test_empty_snapshot():
    snapshot = make_state(3).snapshot()
    assert snapshot == NativeHistogram(0, 0.0, 3, DEFAULT_ZERO_THRESHOLD, 0, (), (), (), (), None)


def test_state_validation():
    with pytest.raises(ValueError, match="schema"):
        NativeHistogramState(9)
    for option in ("zero_threshold", "max_bucket_number", "min_reset_duration", "max_zero_threshold"):
        with pytest.raises(ValueError, match=option):
            NativeHistogramState(0, **{option: -1})
        with pytest.raises(ValueError, match=option):
            NativeHistogramState(0, **{option: math.nan})


def test_default_cells_and_clock(monkeypatch):
    import time
    monkeypatch.setattr(time, "time", lambda: 42.5)
    state = NativeHistogramState(0)
    assert state.created == 42.5
    state.observe(3)
    assert state.snapshot().count_value == 1
    assert len(state.cells()) == 6


# -- limit strategy (spec section 7, worked example 3)

EXAMPLE3_VALUES = (1.2, 1.2, 0.3, 1.5, 2.5)  # schema 1: buckets {1: 2, -3: 1, 2: 1, 3: 1}


def test_limit_halves_the_resolution():
    cells = RecordingCells()
    state = make_state(1, cells, max_bucket_number=4)
    for value in EXAMPLE3_VALUES:
        state.observe(value)
    assert buckets_of(state.snapshot()) == ({-3: 1, 1: 2, 2: 1, 3: 1}, {})
    state.observe(5)  # fifth bucket: 5 is in bucket 5 at schema 1
    snapshot = state.snapshot()
    assert snapshot.schema == 0 and state.schema == 0
    assert buckets_of(snapshot) == ({-1: 1, 1: 3, 2: 1, 3: 1}, {})
    # the spec's exact form is [(-1,1), (1,3)] / [1, 2, -2, 0]; the one-bucket gap is bridged
    assert snapshot.pos_spans == (BucketSpan(-1, 5),) and snapshot.pos_deltas == (1, -1, 3, -2, 0)
    assert snapshot.count_value == 6 and snapshot.zero_threshold == DEFAULT_ZERO_THRESHOLD
    assert sorted(cells.released) == ["p-3", "p1", "p2", "p3", "p5"]
    assert cells.values()["schema"] == 0.0
    assert {key for key in cells.live if key[0] in "pn"} == {"p-1", "p1", "p2", "p3"}
    # new observations are indexed at the new schema
    state.observe(3.0)
    assert buckets_of(state.snapshot())[0][2] == 2


def test_limit_widens_the_zero_bucket_first():
    cells = RecordingCells()
    state = make_state(1, cells, max_bucket_number=4, max_zero_threshold=0.4)
    for value in EXAMPLE3_VALUES + (5,):
        state.observe(value)
    snapshot = state.snapshot()
    assert snapshot.schema == 1
    assert snapshot.zero_threshold == 2 ** -1.5 == 0.3535533905932738
    assert snapshot.zero_count == 1
    assert buckets_of(snapshot) == ({1: 2, 2: 1, 3: 1, 5: 1}, {})
    assert cells.values()["zero_threshold"] == 0.3535533905932738
    assert cells.released == ["p-3"]
    state.observe(-0.35)  # now inside the wider zero bucket
    assert state.snapshot().zero_count == 2


def test_widening_moves_the_mirror_bucket_too():
    state = make_state(0, max_bucket_number=3, max_zero_threshold=1.0)
    for value in (0.3, -0.3, 3.0, 10.0):
        state.observe(value)
    snapshot = state.snapshot()
    assert snapshot.zero_threshold == 0.5 and snapshot.zero_count == 2
    assert buckets_of(snapshot) == ({2: 1, 4: 1}, {})


def test_widening_beyond_the_max_falls_back_to_halving():
    state = make_state(1, max_bucket_number=4, max_zero_threshold=0.3)
    for value in EXAMPLE3_VALUES + (5,):
        state.observe(value)
    assert state.snapshot().schema == 0 and state.zero_threshold == DEFAULT_ZERO_THRESHOLD


def test_halving_stops_at_schema_minus_4():
    state = make_state(-3, max_bucket_number=1)
    for value in (1e-30, 1e-10, 1.0, 1e100, 1e300):
        state.observe(value)
    snapshot = state.snapshot()
    assert snapshot.schema == -4
    assert snapshot.count_value == 5 and sum(buckets_of(snapshot)[0].values()) == 5


def test_limit_resets_after_the_min_reset_duration():
    clock = FakeClock(1000.0)
    cells = RecordingCells()
    state = make_state(1, cells, clock=clock, max_bucket_number=4, min_reset_duration=10.0)
    assert state.created == 1000.0
    for value in EXAMPLE3_VALUES:
        state.observe(value)
    clock.now = 1010.0
    state.observe(5)
    snapshot = state.snapshot()
    assert state.created == 1010.0
    assert snapshot == NativeHistogram(1, 5.0, 1, DEFAULT_ZERO_THRESHOLD, 0, (BucketSpan(5, 1),), (), (1,), (), None)
    assert sorted(cells.released) == ["p-3", "p1", "p2", "p3", "p5"]  # p5 of the triggering observation too
    assert cells.values()["count"] == 1.0


def test_reset_is_scheduled_after_halving():
    clock = FakeClock(1000.0)
    resets = []
    state = make_state(1, clock=clock, max_bucket_number=4, min_reset_duration=10.0,
                       max_zero_threshold=0.4, on_reset=lambda: resets.append(clock.now))
    for value in EXAMPLE3_VALUES:
        state.observe(value)
    clock.now = 1001.0
    state.observe(5)  # too early to reset: widen instead
    state.observe(1e6)  # and halve
    assert state.schema == 0 and state.zero_threshold > DEFAULT_ZERO_THRESHOLD
    clock.now = 1009.9
    state.observe(1.0)
    assert state.snapshot().count_value == 8 and not resets
    clock.now = 1010.0  # due: the next snapshot (or observation) resets
    snapshot = state.snapshot()
    assert resets == [1010.0] and state.created == 1010.0
    assert (snapshot.count_value, snapshot.schema, snapshot.zero_threshold) == (0, 1, DEFAULT_ZERO_THRESHOLD)
    clock.now = 1011.0
    state.observe(1.2)
    assert buckets_of(state.snapshot()) == ({1: 1}, {})


def test_no_reset_when_min_reset_duration_is_zero():
    clock = FakeClock(0.0)
    state = make_state(1, clock=clock, max_bucket_number=4)
    for value in EXAMPLE3_VALUES + (5,):
        clock.now += 1e9
        state.observe(value)
    assert state.snapshot().count_value == 6 and state.schema == 0 and state.created == 0.0


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.floats(min_value=-1e12, max_value=1e12), max_size=60),
       limit=st.integers(1, 6), schema=schemas, max_zero=st.sampled_from([0.0, 1e-3, 1.0, 100.0]))
def test_limit_preserves_count_and_sum(values, limit, schema, max_zero):
    state = make_state(schema, max_bucket_number=limit, max_zero_threshold=max_zero)
    for value in values:
        state.observe(value)
    snapshot = state.snapshot()
    positive, negative = buckets_of(snapshot)
    assert snapshot.count_value == len(values)
    assert snapshot.count_value == snapshot.zero_count + sum(positive.values()) + sum(negative.values())
    assert snapshot.sum_value == pytest.approx(sum(values), rel=1e-9, abs=1e-6)
    assert len(positive) + len(negative) <= limit or snapshot.schema == -4
    # equal to observing everything directly with the final schema and threshold
    direct = make_state(snapshot.schema, zero_threshold=snapshot.zero_threshold)
    for value in values:
        direct.observe(value)
    assert buckets_of(direct.snapshot()) == (positive, negative)
    assert direct.snapshot().zero_count == snapshot.zero_count


def test_threads_keep_the_count_invariant():
    state = make_state(3, max_bucket_number=20)
    stop = threading.Event()
    problems = []

    def reader():
        while not stop.is_set():
            snapshot = state.snapshot()
            positive, negative = buckets_of(snapshot)
            if snapshot.count_value != snapshot.zero_count + sum(positive.values()) + sum(negative.values()):
                problems.append(snapshot)

    def writer(seed):
        rng = random.Random(seed)
        for _ in range(3000):
            state.observe(rng.choice([0.0, rng.uniform(-100, 100), rng.lognormvariate(0, 5)]))

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    read = threading.Thread(target=reader)
    read.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    read.join()
    assert not problems
    assert state.snapshot().count_value == 12000


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_observe_from_a_signal_handler_does_not_deadlock():
    state = make_state(0, max_bucket_number=3)
    fired = []

    def handler(signum, frame):
        state.observe(7.0)
        fired.append(1)

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    observed = 0
    try:
        while len(fired) < 30 and observed < 300000:
            state.observe(float(observed % 50) - 25.0)
            observed += 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    assert state.snapshot().count_value == observed + len(fired)


def test_reentrant_observation_during_a_layout_change_is_deferred():
    """An observation from a GC callback or signal handler while a bucket is being created."""
    cells = RecordingCells()
    holder = {}
    reentered = []

    def new_cell(key):
        cell = cells.new_cell(key)
        if key[0] in "pn" and len(reentered) < 20 and "state" in holder:
            reentered.append(key)
            holder["state"].observe(-float(len(reentered)) * 3.7)  # may itself open a bucket
        return cell

    state = NativeHistogramState(2, new_cell=new_cell, release_cell=cells.release, clock=FakeClock(),
                                 max_bucket_number=3)
    holder["state"] = state
    for value in (1.0, 5.0, 20.0, 300.0, 7e5):
        state.observe(value)
    snapshot = state.snapshot()
    positive, negative = buckets_of(snapshot)
    assert reentered
    assert snapshot.count_value == 5 + len(reentered)
    assert snapshot.count_value == snapshot.zero_count + sum(positive.values()) + sum(negative.values())
    assert len(positive) + len(negative) <= 3 or snapshot.schema == -4


def test_a_failing_observation_changes_nothing():
    state = make_state(0)
    with pytest.raises(TypeError):
        state.observe("x")
    state.observe(1.0)
    assert state.snapshot().count_value == 1


# --------------------------------------------------------------------------
# Merging

def observed(values, schema, zero_threshold=DEFAULT_ZERO_THRESHOLD, exemplar=None):
    state = make_state(schema, zero_threshold=zero_threshold)
    for value in values:
        state.observe(value)
    state.exemplar = exemplar
    return state.snapshot()


value_lists = st.lists(st.one_of(st.floats(min_value=-1e6, max_value=1e6), st.sampled_from([0.0, 1.0, -2.0, 0.5])),
                       max_size=30)


@settings(max_examples=200)
@given(parts=st.lists(st.tuples(value_lists, schemas), min_size=1, max_size=5))
def test_merge_equals_observing_everything_at_the_coarsest_schema(parts):
    merged = merge_native_histograms([observed(values, schema) for values, schema in parts])
    everything = [value for values, _ in parts for value in values]
    direct = observed(everything, min(schema for _, schema in parts))
    assert merged._replace(sum_value=0) == direct._replace(sum_value=0)
    assert merged.sum_value == pytest.approx(math.fsum(everything), abs=1e-6)


@settings(max_examples=200)
@given(parts=st.lists(st.tuples(value_lists, schemas, st.sampled_from([0.0, DEFAULT_ZERO_THRESHOLD, 1e-3, 0.3, 1.0])),
                      min_size=2, max_size=5))
def test_merge_with_different_zero_thresholds(parts):
    merged = merge_native_histograms([observed(values, schema, threshold) for values, schema, threshold in parts])
    everything = [value for values, _, _ in parts for value in values]
    assert merged.count_value == len(everything)
    assert merged.zero_threshold >= max(threshold for _, _, threshold in parts)
    positive, negative = buckets_of(merged)
    assert merged.count_value == merged.zero_count + sum(positive.values()) + sum(negative.values())
    # The same as observing everything with the merged schema and threshold.
    direct = observed(everything, merged.schema, merged.zero_threshold)
    assert buckets_of(direct) == (positive, negative)
    assert direct.zero_count == merged.zero_count


def test_merge_widens_a_straddled_threshold():
    # threshold 0.3 at schema 0 falls inside bucket -1 = (0.25, 0.5], populated by the other input
    wide = observed([0.2, 3.0], 0, zero_threshold=0.3)
    narrow = observed([0.26, 0.4, -0.45, 1.0], 0)
    merged = merge_native_histograms([wide, narrow])
    assert merged.zero_threshold == 0.5
    assert merged.zero_count == 4
    assert buckets_of(merged) == ({0: 1, 2: 1}, {})


def test_merge_keeps_an_inputs_own_straddling_bucket():
    # 0.4 lies in bucket -1 = (0.25, 0.5] above its own threshold 0.3: legal, kept as is
    own = observed([0.4], 0, zero_threshold=0.3)
    other = observed([1.0], 0, zero_threshold=0.1)
    merged = merge_native_histograms([own, other])
    assert merged.zero_threshold == 0.3
    assert buckets_of(merged) == ({-1: 1, 0: 1}, {})


def test_merge_reduces_to_the_coarsest_schema():
    fine = observed([1.1, 1.1, 1.3, 3.0, 3.1, 10, 10, 10, 0], 2)
    coarse = observed([], 0)
    merged = merge_native_histograms([fine, coarse])
    assert merged.schema == 0
    assert buckets_of(merged) == ({1: 3, 2: 2, 4: 3}, {})
    assert merged.pos_spans == (BucketSpan(1, 4),) and merged.pos_deltas == (3, -1, -2, 3)


def test_merge_details():
    first = observed([1.0], 0, exemplar=Exemplar({"a": "1"}, 1.0, 10.0))
    second = observed([2.0], 0, exemplar=Exemplar({"a": "2"}, 2.0, 5.0))
    third = observed([3.0], 0)
    merged = merge_native_histograms(iter([first, second, third]))
    assert merged.nh_exemplars == (Exemplar({"a": "1"}, 1.0, 10.0),)
    assert merged.count_value == 3 and type(merged.count_value) is int
    assert merge_native_histograms([first]) is first
    with pytest.raises(ValueError, match="at least one"):
        merge_native_histograms([])
    with pytest.raises(ValueError, match="schema"):
        merge_native_histograms([first, first._replace(schema=9)])
    with pytest.raises(ValueError, match="deltas"):
        merge_native_histograms([first, first._replace(pos_deltas=(1, 1))])


def test_merge_accepts_custom_histograms_with_none_fields():
    custom = NativeHistogram(24, 100.5, 0, 0.001, 4, (BucketSpan(0, 2), BucketSpan(1, 2)), None, (2, 1, -3, 3))
    merged = merge_native_histograms([custom, custom])
    assert merged.count_value == 48 and merged.zero_count == 8 and merged.sum_value == 201.0
    assert spans_to_buckets(custom.pos_spans, custom.pos_deltas) == {0: 2, 1: 3, 4: 3}
    assert buckets_of(merged) == ({0: 4, 1: 6, 4: 6}, {})


def test_merge_is_fast_enough_for_many_series():
    import time
    inputs = [observed([random.lognormvariate(0, 3) for _ in range(200)], 3) for _ in range(4)]
    start = time.perf_counter()
    for _ in range(250):
        merge_native_histograms(inputs)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0  # 1000 series of 4 processes; typically well under a second


# --------------------------------------------------------------------------
# Cell naming shared with the multiprocess reader

def test_cell_sample_names():
    assert cell_sample_name("h", "p-3") == "h:native:p-3"
    assert parse_cell_sample_name("h", "h:native:p-3") == "p-3"
    assert parse_cell_sample_name("h", "h_sum") is None
    assert parse_cell_sample_name("a.b", cell_sample_name("a.b", "count")) == "count"
