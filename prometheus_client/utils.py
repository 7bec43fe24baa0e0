"""Number formatting shared by the encoders, and small helpers.

Bottom layer: imports nothing from the rest of the package.

Thread/process safety: everything here is a pure function.
"""
from __future__ import annotations

from typing import Tuple, Union

INF = float("inf")
MINUS_INF = float("-inf")
NaN = float("NaN")

# Python's repr switches to exponent notation at 1e16; below that, a value
# >= 1e6 prints with 7 or more integer digits, which Go (and so the
# reference client) writes in exponent form instead.
_GO_EXPONENT_MIN = 1e6
_PYTHON_EXPONENT_MIN = 1e16
# Go exponent suffix by the index of the decimal point in repr (7..16).
_EXPONENT_SUFFIX = {point: "e+%02d" % (point - 1) for point in range(7, 17)}


def floatToGoString(d: Union[float, int, str, object]) -> str:  # noqa: N802 (public name)
    """Format a number the way the Go client does, for exposition.

    ``float(d)`` is applied first, so ints, bools, numeric strings, Decimals
    and objects with ``__float__`` are accepted. Infinities print as
    ``+Inf``/``-Inf`` and NaN as ``NaN``. Other values print as Python's
    ``repr``, except positive values of 1e6 up to 1e16 (7 to 16 integer
    digits), which use Go's exponent style: ``1e+06``, ``1.234567e+06``.

    Hot path (called for every rendered sample): exact floats skip the
    ``float()`` call, and no regex or string formatting is used for common
    values.

    Thread-safe (pure function).

    Raises:
        TypeError, ValueError, OverflowError: whatever ``float(d)`` raises.
    """
    if d.__class__ is not float:
        d = float(d)  # type: ignore[arg-type]
    if d < _GO_EXPONENT_MIN:  # also all finite negatives; False for NaN
        if d == MINUS_INF:
            return "-Inf"
        return repr(d)
    if d < _PYTHON_EXPONENT_MIN:
        text = repr(d)
        point = text.find(".")
        mantissa = (text[0] + "." + text[1:point] + text[point + 1:]).rstrip("0").rstrip(".")
        return mantissa + _EXPONENT_SUFFIX[point]
    if d == INF:
        return "+Inf"
    if d != d:
        return "NaN"
    return repr(d)


def parse_version(version_str: str) -> Tuple[Union[int, str], ...]:
    """Split a dotted version string into a tuple for comparisons.

    Each dot-separated part becomes an ``int`` when ``int()`` accepts it,
    otherwise it stays a string: ``'2.0.0rc1'`` gives ``(2, 0, '0rc1')``.

    Thread-safe (pure function). Raises AttributeError for a non-string.
    """
    parts = []
    for part in version_str.split("."):
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(part)
    return tuple(parts)
