"""Tests for prometheus_client.samples: the NamedTuples and Timestamp."""
from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, strategies as st

from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp


class TestNamedTuples:
    @pytest.mark.parametrize("cls, fields, defaults", [
        (Sample, ("name", "labels", "value", "timestamp", "exemplar", "native_histogram"),
         {"timestamp": None, "exemplar": None, "native_histogram": None}),
        (Exemplar, ("labels", "value", "timestamp"), {"timestamp": None}),
        (BucketSpan, ("offset", "length"), {}),
        (NativeHistogram,
         ("count_value", "sum_value", "schema", "zero_threshold", "zero_count",
          "pos_spans", "neg_spans", "pos_deltas", "neg_deltas", "nh_exemplars"),
         {"pos_spans": None, "neg_spans": None, "pos_deltas": None,
          "neg_deltas": None, "nh_exemplars": None}),
    ])
    def test_fields_and_defaults(self, cls, fields, defaults):
        assert cls._fields == fields
        assert cls._field_defaults == defaults
        assert cls.__bases__ == (tuple,)
        assert cls.__module__ == "prometheus_client.samples"
        assert cls.__doc__ == "{}({})".format(cls.__name__, ", ".join(fields))

    def test_sample_equals_plain_tuple(self):
        assert Sample("n", {}, 1) == ("n", {}, 1, None, None, None)

    def test_sample_repr(self):
        assert repr(Sample("n", {}, 1)) == (
            "Sample(name='n', labels={}, value=1, timestamp=None, exemplar=None, native_histogram=None)")

    def test_exemplar_repr(self):
        assert repr(Exemplar({"a": "b"}, 1, Timestamp(1, 5))) == (
            "Exemplar(labels={'a': 'b'}, value=1, timestamp=Timestamp(1, 5))")

    def test_indexing_unpacking_and_helpers(self):
        sample = Sample("n", {"a": "b"}, 2.0, 3.0)
        assert (sample[0], sample[1], sample[2]) == ("n", {"a": "b"}, 2.0)
        name, labels, value, timestamp, exemplar, native = sample
        assert (name, timestamp, exemplar, native) == ("n", 3.0, None, None)
        assert sample._replace(value=5).value == 5
        assert sample._asdict()["labels"] == {"a": "b"}

    def test_native_histogram_holds_spans(self):
        nh = NativeHistogram(24, 100.5, 0, 0.001, 4, (BucketSpan(0, 2), BucketSpan(1, 2)),
                             None, (2, 1, -3, 3))
        assert nh.pos_spans[1] == (1, 2)
        assert nh.nh_exemplars is None
        assert BucketSpan(0, 2).length == 2

    def test_copy_and_pickle(self):
        sample = Sample("n", {"a": "b"}, 1, Timestamp(1, 2), Exemplar({"t": "x"}, 1.0))
        assert copy.deepcopy(sample) == sample
        assert pickle.loads(pickle.dumps(sample)) == sample


class TestTimestamp:
    @pytest.mark.parametrize("sec, nsec, text, rep, as_float", [
        (1, 5, "1.000000005", "Timestamp(1, 5)", 1.000000005),
        (1700000000, 123456789, "1700000000.123456789", "Timestamp(1700000000, 123456789)",
         1700000000.1234567),
        (12, 5, "12.000000005", "Timestamp(12, 5)", 12.000000005),
        (123, 456000, "123.000456000", "Timestamp(123, 456000)", 123.000456),
        (0, 999999999, "0.999999999", "Timestamp(0, 999999999)", 0.999999999),
        (1.7, 5.9, "1.000000005", "Timestamp(1, 5)", 1.000000005),   # truncated
        (1, -0.0, "1.000000000", "Timestamp(1, 0)", 1.0),
        (1, True, "1.000000001", "Timestamp(1, 1)", 1.000000001),
        # Negative seconds negate the nanoseconds (odd strings are real).
        (-1, 5, "-1.-00000005", "Timestamp(-1, -5)", -1.000000005),
        (-1.5, 5, "-1.-00000005", "Timestamp(-1, -5)", -1.000000005),
        (-0.5, 3, "0.-00000003", "Timestamp(0, -3)", -3e-09),
    ])
    def test_construction_and_rendering(self, sec, nsec, text, rep, as_float):
        ts = Timestamp(sec, nsec)
        assert str(ts) == text
        assert repr(ts) == rep
        assert float(ts) == as_float
        assert type(ts.sec) is int and type(ts.nsec) is int

    @pytest.mark.parametrize("nsec, message", [
        (1e9, "Invalid value for nanoseconds in Timestamp: 1000000000.0"),
        (-1, "Invalid value for nanoseconds in Timestamp: -1"),
        (-1.5, "Invalid value for nanoseconds in Timestamp: -1.5"),
        (10**9, "Invalid value for nanoseconds in Timestamp: 1000000000"),
    ])
    def test_invalid_nanoseconds(self, nsec, message):
        with pytest.raises(ValueError) as excinfo:
            Timestamp(1, nsec)
        assert str(excinfo.value) == message

    @pytest.mark.parametrize("sec, nsec, exc", [
        (1, float("nan"), ValueError),        # from int()
        (float("inf"), 1, OverflowError),     # from int()
        ("1", 2, TypeError),                  # comparing '1' < 0
    ])
    def test_other_construction_errors(self, sec, nsec, exc):
        with pytest.raises(exc):
            Timestamp(sec, nsec)

    def test_equality(self):
        assert Timestamp(1, 5) == Timestamp(1, 5)
        assert Timestamp(1, 5) == Timestamp(1.0, 5.0)
        assert Timestamp(1, 5) == Timestamp(1, 5.5)  # compares truncated parts
        assert not Timestamp(1, 5) != Timestamp(1, 5)
        assert Timestamp(1, 5) != Timestamp(1, 6)
        assert Timestamp(1, 5) != Timestamp(2, 5)

    def test_equality_with_other_types_is_false(self):
        ts = Timestamp(1, 0)
        assert not ts == 1
        assert ts != 1
        assert ts.__eq__(1) is False
        assert ts.__ne__(1) is True
        assert not ts == 1.0

    def test_ordering(self):
        assert Timestamp(1, 5) > Timestamp(1, 4)
        assert Timestamp(2, 0) > Timestamp(1, 999999999)
        assert Timestamp(1, 5) < Timestamp(2, 0)
        assert not Timestamp(1, 5) < Timestamp(1, 5)
        assert sorted([Timestamp(2, 1), Timestamp(1, 2)]) == [Timestamp(1, 2), Timestamp(2, 1)]
        assert min(Timestamp(2, 1), Timestamp(1, 2)) == Timestamp(1, 2)

    def test_ordering_with_other_types_raises_attribute_error(self):
        with pytest.raises(AttributeError):
            Timestamp(1, 0) > 1
        with pytest.raises(AttributeError):
            Timestamp(1, 0) < 1

    def test_no_le_ge(self):
        with pytest.raises(TypeError):
            Timestamp(1, 0) <= Timestamp(1, 0)
        with pytest.raises(TypeError):
            Timestamp(1, 0) >= Timestamp(1, 0)

    def test_unhashable(self):
        with pytest.raises(TypeError):
            hash(Timestamp(1, 2))
        assert Timestamp(1, 2) in [Timestamp(1, 2)]

    def test_attributes_and_copy(self):
        ts = Timestamp(1, 5)
        assert vars(ts) == {"sec": 1, "nsec": 5}
        assert copy.deepcopy(ts) == ts
        assert pickle.loads(pickle.dumps(ts)) == ts
        assert Timestamp.__doc__ == "A nanosecond-resolution timestamp."

    @given(st.integers(min_value=0, max_value=2**40), st.integers(min_value=0, max_value=10**9 - 1),
           st.integers(min_value=0, max_value=2**40), st.integers(min_value=0, max_value=10**9 - 1))
    def test_ordering_matches_tuple_ordering(self, sec1, nsec1, sec2, nsec2):
        a, b = Timestamp(sec1, nsec1), Timestamp(sec2, nsec2)
        key_a, key_b = (sec1, nsec1), (sec2, nsec2)
        assert (a < b) == (key_a < key_b)
        assert (a > b) == (key_a > key_b)
        assert (a == b) == (key_a == key_b)
        assert (a != b) == (key_a != key_b)
        assert [a < b, a == b, a > b].count(True) == 1

    @given(st.integers(min_value=-(2**31), max_value=2**31), st.integers(min_value=0, max_value=10**9 - 1))
    def test_str_and_float_agree(self, sec, nsec):
        ts = Timestamp(sec, nsec)
        assert str(ts).startswith(str(int(sec)) + ".")
        expected = sec + (-nsec if sec < 0 else nsec) / 1e9
        assert float(ts) == expected
        if sec >= 0:
            assert float(str(ts)) == pytest.approx(float(ts), rel=1e-15, abs=1e-9)
