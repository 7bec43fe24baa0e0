"""Tests for prometheus_client.utils: floatToGoString, parse_version, constants."""
from __future__ import annotations

import json
import math
import os
import random
import struct
import subprocess
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from prometheus_client import utils
from prometheus_client.utils import INF, MINUS_INF, NaN, floatToGoString, parse_version

CLASSIC_PYTHON = os.environ.get("PROMETHEUS_CLASSIC_PYTHON", "/tmp/classic/bin/python")


class TestConstants:
    def test_values(self):
        assert INF == float("inf") and INF > 0
        assert MINUS_INF == float("-inf")
        assert math.isnan(NaN)
        assert type(INF) is float and type(MINUS_INF) is float and type(NaN) is float


# behaviors.md §1, the whole table.
GOLDEN = [
    (0, "0.0"),
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (1, "1.0"),
    (True, "1.0"),
    (False, "0.0"),
    (17, "17.0"),
    (1.5, "1.5"),
    (-1.5, "-1.5"),
    (0.1, "0.1"),
    (0.05, "0.05"),
    (1e-05, "1e-05"),
    (1e-07, "1e-07"),
    (5e-324, "5e-324"),
    (100000.0, "100000.0"),
    (123456.7, "123456.7"),
    (999999.0, "999999.0"),
    (1000000.0, "1e+06"),
    (1234567.0, "1.234567e+06"),
    (1234567.8, "1.2345678e+06"),
    (12345678.9, "1.23456789e+07"),
    (1e10, "1e+10"),
    (1.5e10, "1.5e+10"),
    (1e15, "1e+15"),
    (1234567890123.0, "1.234567890123e+12"),
    (2478268416.0, "2.478268416e+09"),
    (1700000000.25, "1.70000000025e+09"),
    (1e16, "1e+16"),
    (1.5e16, "1.5e+16"),
    (1e22, "1e+22"),
    (1e23, "1e+23"),
    (2**53, "9.007199254740992e+15"),
    (2**63, "9.223372036854776e+18"),
    (10**20, "1e+20"),
    (-1e10, "-10000000000.0"),
    (-1234567.0, "-1234567.0"),
    (float("inf"), "+Inf"),
    ("+Inf", "+Inf"),
    (float("-inf"), "-Inf"),
    (float("nan"), "NaN"),
    ("2.5", "2.5"),
    (" 3 ", "3.0"),
    ("1e3", "1000.0"),
    (Decimal("1.1"), "1.1"),
    (0.1 + 0.2, "0.30000000000000004"),
]

# Further values observed by running the reference client.
OBSERVED = [
    (Fraction(1, 3), "0.3333333333333333"),
    (Decimal("NaN"), "NaN"),
    (Decimal("-Infinity"), "-Inf"),
    ("1_000", "1000.0"),
    ("infinity", "+Inf"),
    ("-nan", "NaN"),
    (b"1.5", "1.5"),
    (bytearray(b"2"), "2.0"),
    (0.0001, "0.0001"),
    (123456.78901234, "123456.78901234"),
    (9999999999999998.0, "9.999999999999998e+15"),
    (999999.999, "999999.999"),
    (1000000.1, "1.0000001e+06"),
    (1e300, "1e+300"),
    # Default histogram buckets and the examples given for `le` labels.
    (0.005, "0.005"), (0.025, "0.025"), (0.075, "0.075"), (2.5, "2.5"),
    (7.5, "7.5"), (10, "10.0"), (1e6, "1e+06"), (100.5, "100.5"),
]


@pytest.mark.parametrize("value, expected", GOLDEN + OBSERVED, ids=repr)
def test_float_to_go_string_golden(value, expected):
    assert floatToGoString(value) == expected


@pytest.mark.parametrize("value, exc", [
    (None, TypeError),
    ([], TypeError),
    (3 + 0j, TypeError),
    ("x", ValueError),
    ("", ValueError),
    (10**400, OverflowError),
])
def test_float_to_go_string_errors_come_from_float(value, exc):
    with pytest.raises(exc):
        floatToGoString(value)


class _HasFloat:
    def __float__(self):
        return 2.5


class _ReprFloat(float):
    def __repr__(self):
        return "weird"


class _ConvertingFloat(float):
    def __float__(self):
        return 7.0


class _ConvertingInt(int):
    def __float__(self):
        return 9.5


@pytest.mark.parametrize("value, expected", [
    (_HasFloat(), "2.5"),
    (_ReprFloat(3.0), "3.0"),          # subclasses go through float(): plain repr
    (_ConvertingFloat(3.0), "7.0"),    # ... and their __float__ is honoured
    (_ConvertingInt(2), "9.5"),
])
def test_float_to_go_string_converts_non_exact_floats(value, expected):
    assert floatToGoString(value) == expected


def test_float_to_go_string_result_is_plain_str():
    assert type(floatToGoString(1234567.0)) is str
    assert type(floatToGoString(1.0)) is str


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_to_go_string_round_trips(value):
    text = floatToGoString(value)
    parsed = float(text)
    assert parsed == value or (math.isnan(parsed) and math.isnan(value))
    if value == value and value != 0:
        assert math.copysign(1, parsed) == math.copysign(1, value)


@given(st.floats(min_value=1e6, max_value=1e16, exclude_max=True))
def test_float_to_go_string_go_exponent_range(value):
    text = floatToGoString(value)
    mantissa, exponent = text.split("e+")
    assert len(exponent) == 2 and 6 <= int(exponent) <= 15
    assert mantissa[0] in "123456789"
    assert not mantissa.endswith("0") and not mantissa.endswith(".")


@given(st.floats(max_value=-1.0, allow_infinity=False, allow_nan=False))
def test_float_to_go_string_negatives_are_repr(value):
    assert floatToGoString(value) == repr(value)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_float_to_go_string_ints_match_their_float(value):
    assert floatToGoString(value) == floatToGoString(float(value))


def _differential_inputs():
    """A few thousand floats, weighted to the interesting regions."""
    rng = random.Random(20260)
    values = [0.0, -0.0, INF, MINUS_INF, NaN, 5e-324, -5e-324, 1.7976931348623157e308]
    for exponent in range(-323, 309):
        values.append(float(f"1e{exponent}"))
        values.append(float(f"-1.5e{exponent}"))
    for _ in range(1500):  # arbitrary bit patterns
        values.append(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
    for _ in range(1500):  # around the Go-exponent thresholds 1e6 and 1e16
        base = rng.choice([1e6, 1e16, 1e5, 1e7, 1e15])
        values.append(base * rng.uniform(0.5, 2.0))
        values.append(math.nextafter(base, rng.choice([0.0, INF])))
    for _ in range(1000):  # integral values and short decimals, the common case
        values.append(float(rng.randrange(-10**12, 10**12)))
        values.append(round(rng.uniform(-1e9, 1e9), rng.randrange(0, 6)))
    return values


@pytest.mark.skipif(not os.path.exists(CLASSIC_PYTHON), reason="black-box classic client not installed")
def test_float_to_go_string_matches_classic_client(tmp_path):
    values = _differential_inputs()
    payload = json.dumps([v.hex() for v in values])
    script = (
        "import json, sys\n"
        "from prometheus_client.utils import floatToGoString\n"
        "values = [float.fromhex(h) for h in json.load(sys.stdin)]\n"
        "json.dump([floatToGoString(v) for v in values], sys.stdout)\n"
    )
    # -I: isolated mode, so neither this checkout (the working directory) nor
    # PYTHONPATH can shadow the classic package.
    result = subprocess.run([CLASSIC_PYTHON, "-I", "-c", script], input=payload.encode(),
                            capture_output=True, check=True, timeout=120, cwd=tmp_path)
    expected = json.loads(result.stdout)
    ours = [floatToGoString(v) for v in values]
    mismatches = [(v, e, o) for v, e, o in zip(values, expected, ours) if e != o]
    assert not mismatches[:20]
    assert len(expected) == len(values)


@pytest.mark.parametrize("text, expected", [
    ("2.0.0rc1", (2, 0, "0rc1")),
    ("1.2.3", (1, 2, 3)),
    ("", ("",)),
    ("1..2", (1, "", 2)),
    (" 1 . 2", (1, 2)),
    ("-1.2", (-1, 2)),
    ("1.2.3.4.5", (1, 2, 3, 4, 5)),
    ("a", ("a",)),
    ("01.002", (1, 2)),
    ("1_0.2", (10, 2)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_parse_version_compares_numerically():
    assert parse_version("1.10.0") > parse_version("1.9.3")
    assert parse_version("0.26.0") >= (0, 26)


@pytest.mark.parametrize("value", [None, 5, (1, 2)])
def test_parse_version_rejects_non_strings(value):
    with pytest.raises(AttributeError):
        parse_version(value)


def test_module_public_names():
    for name in ("INF", "MINUS_INF", "NaN", "floatToGoString", "parse_version"):
        assert hasattr(utils, name)
