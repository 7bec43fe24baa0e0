"""Escaping shared by the text encoders: names, label sets and HELP text.

Encoder layer: imports only the data model (``validation`` for the legacy
name checks, ``_labelset`` for the rendering memo).

Name escaping schemes (``escaping`` argument everywhere):

* ``allow-utf-8``: legacy-valid names are kept; other names are quoted, with
  backslash, newline and double quote backslash-escaped.
* ``underscores``: every character that is not legal in a legacy name
  becomes ``_``.
* ``dots``: always applied: ``_`` becomes ``__``, ``.`` becomes ``_dot_``,
  any other illegal character ``__``.
* ``values``: ``U__`` prefix, ``_`` becomes ``__``, an illegal character
  becomes ``_<hex code point>_`` (a lone surrogate ``_FFFD_``).
* anything else: the name is returned unchanged.

Legacy metric names may contain ``:``, label names may not; digits are legal
anywhere but at the start. The reference client's regexes end in ``$``, so a
legal name followed by one trailing newline also counts as legal; this is
kept on purpose (it decides which names the schemes leave alone).

LabelSet memo: the encoders store, in ``LabelSet.rendered``, the rendered
``{...}`` label text under :func:`memo_key` (a string per escaping scheme)
and the text of large values under the float itself (see
:func:`remember_large_value`).

Thread/process safety: everything here is a pure function, except that
:func:`render_labels_memoized` and :func:`remember_large_value` memoize on a
:class:`LabelSet` (benign races: every memo entry is a pure function of its
key, so concurrent renderers can only compute the same text twice).
"""
from __future__ import annotations

from sys import maxunicode
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from .._labelset import LabelSet
from ..utils import floatToGoString
from ..validation import _is_valid_legacy_labelname, _is_valid_legacy_metric_name

ALLOWUTF8 = 'allow-utf-8'
UNDERSCORES = 'underscores'
DOTS = 'dots'
VALUES = 'values'

_SURROGATE_MIN = 0xD800
_SURROGATE_MAX = 0xDFFF


def _is_legacy_metric_rune(b: str, i: int) -> bool:
    """Whether character ``b`` at index ``i`` is legal in a legacy metric name.

    Raises:
        ValueError: ``"Input 'b' must be a single character."`` unless
            ``len(b) == 1``.
    """
    if len(b) != 1:
        raise ValueError("Input 'b' must be a single character.")
    return ('a' <= b <= 'z' or 'A' <= b <= 'Z' or b == '_' or b == ':'
            or ('0' <= b <= '9' and i > 0))


def _is_legacy_labelname_rune(b: str, i: int) -> bool:
    """Whether character ``b`` at index ``i`` is legal in a legacy label name.

    Raises:
        ValueError: ``"Input 'b' must be a single character."`` unless
            ``len(b) == 1``.
    """
    if len(b) != 1:
        raise ValueError("Input 'b' must be a single character.")
    return 'a' <= b <= 'z' or 'A' <= b <= 'Z' or b == '_' or ('0' <= b <= '9' and i > 0)


def _is_valid_utf8(s: str) -> bool:
    """Whether the single character ``s`` can be encoded (is no surrogate).

    Raises:
        TypeError: from ``ord`` when ``s`` is not exactly one character.
    """
    code = ord(s)
    return 0 <= code < _SURROGATE_MIN or _SURROGATE_MAX < code <= maxunicode


def _escape(s: str, escaping: str, valid_rune_fn: Callable[[str, int], bool]) -> str:
    """Apply ``escaping`` to every character of ``s``, unconditionally.

    Unlike :func:`escape_metric_name`, legal names are transformed too
    (``values`` adds ``U__`` and doubles underscores even in ``foo_bar``),
    and ``allow-utf-8`` escapes without adding quotes.
    """
    if escaping == ALLOWUTF8:
        return s.replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')
    if escaping == UNDERSCORES:
        return ''.join(b if valid_rune_fn(b, i) else '_' for i, b in enumerate(s))
    if escaping == DOTS:
        parts = []
        for i, b in enumerate(s):
            if b == '_':
                parts.append('__')
            elif b == '.':
                parts.append('_dot_')
            elif valid_rune_fn(b, i):
                parts.append(b)
            else:
                parts.append('__')
        return ''.join(parts)
    if escaping == VALUES:
        parts = ['U__']
        for i, b in enumerate(s):
            if b == '_':
                parts.append('__')
            elif valid_rune_fn(b, i):
                parts.append(b)
            elif not _is_valid_utf8(b):
                parts.append('_FFFD_')
            else:
                parts.append('_%x_' % ord(b))
        return ''.join(parts)
    return s


def escape_metric_name(s: str, escaping: str = UNDERSCORES) -> str:
    """Escape a metric name for exposition under ``escaping`` (see module doc).

    The empty string is returned as is. Thread-safe; raises nothing for
    string input.
    """
    if not s:
        return s
    if escaping == ALLOWUTF8:
        if not _is_valid_legacy_metric_name(s):
            return '"' + _escape(s, escaping, _is_legacy_metric_rune) + '"'
        return _escape(s, escaping, _is_legacy_metric_rune)
    if escaping == UNDERSCORES or escaping == VALUES:
        if _is_valid_legacy_metric_name(s):
            return s
        return _escape(s, escaping, _is_legacy_metric_rune)
    if escaping == DOTS:
        return _escape(s, escaping, _is_legacy_metric_rune)
    return s


def escape_label_name(s: str, escaping: str = UNDERSCORES) -> str:
    """Escape a label name for exposition under ``escaping`` (see module doc).

    Label names follow the label rules: no ``:``, and a name starting with
    ``__`` does not count as legal. The empty string is returned as is.
    Thread-safe; raises nothing for string input.
    """
    if not s:
        return s
    if escaping == ALLOWUTF8:
        if not _is_valid_legacy_labelname(s):
            return '"' + _escape(s, escaping, _is_legacy_labelname_rune) + '"'
        return _escape(s, escaping, _is_legacy_labelname_rune)
    if escaping == UNDERSCORES or escaping == VALUES:
        if _is_valid_legacy_labelname(s):
            return s
        return _escape(s, escaping, _is_legacy_labelname_rune)
    if escaping == DOTS:
        return _escape(s, escaping, _is_legacy_labelname_rune)
    return s


def escape_label_value(value: str) -> str:
    """Backslash-escape ``\\``, newline and ``"`` (both formats, all schemes).

    Raises:
        AttributeError: for a non-string value (as the reference client).
    """
    return value.replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def memo_key(escaping: str) -> str:
    """The key under which rendered label text is memoized on a LabelSet.

    Label sets render identically in the text and OpenMetrics formats, so the
    key depends only on the escaping scheme.
    """
    key = _MEMO_KEYS.get(escaping)
    if key is None:
        key = 'labels:' + escaping
    return key


_MEMO_KEYS = {scheme: 'labels:' + scheme for scheme in (ALLOWUTF8, UNDERSCORES, DOTS, VALUES)}


def value_memo_key(sample_name: str) -> Tuple[str, str]:
    """LabelSet memo key of the last large value memoized for ``sample_name``."""
    return ('value', sample_name)


# A LabelSet memo holding more entries than this is cleared (it only ever
# grows past it if concurrent scrapes race on changing large values).
_MEMO_LIMIT = 32


def large_value_text(rendered: Optional[Dict[Any, Any]], slot_key: Tuple[str, str], value: float) -> str:
    """Go-style text of a value outside (-1e6, 1e6), memoized on a LabelSet's memo if there is one.

    The encoders format values inside that range inline (``repr``) and call
    this for the rest; ``rendered`` is None for plain label dicts.
    """
    if rendered is None:
        return floatToGoString(value)
    text = rendered.get(value)
    if text is None:
        text = remember_large_value(rendered, slot_key, value)
    return text


def remember_large_value(rendered: Dict[Any, Any], slot_key: Tuple[str, str], value: float) -> str:
    """Format a large ``value`` and memoize it in a LabelSet's ``rendered``.

    Values outside (-1e6, 1e6) (typically ``_created`` timestamps) are slow
    to format in Go style and rarely change between scrapes. The memo maps
    the float itself to its text, so a hit is one lookup and every entry is
    correct whoever wrote it (the text is a pure function of the value);
    ``slot_key`` (from :func:`value_memo_key`) remembers the last value per
    sample name so that the previous entry is dropped when the value
    changes. No GC-tracked object is allocated per series. Float keys cannot
    collide with the string and tuple keys of the other memo entries.

    Thread-safe: racing writers can at worst leave a stale (still correct)
    entry, and the memo is cleared once it exceeds ``_MEMO_LIMIT`` entries.
    """
    text = floatToGoString(value)
    if len(rendered) >= _MEMO_LIMIT:
        rendered.clear()
    previous = rendered.get(slot_key)
    rendered[value] = text
    rendered[slot_key] = value
    if previous is not None and previous != value:  # NaN != NaN: old key dropped
        rendered.pop(previous, None)
    return text


def render_labels(labels: Mapping[str, str], escaping: str, name_cache: Dict[str, str]) -> str:
    """Render ``{name="value",...}`` (sorted by raw name), or ``''`` if empty.

    ``name_cache`` maps raw label names to their escaped form; it is filled
    as names are met and may be shared across calls with the same escaping.

    Raises:
        AttributeError: for labels that are not a mapping, or non-string
            values (the reference client's errors).
    """
    if not labels:
        return ''
    parts = []
    append = parts.append
    for name, value in sorted(labels.items()):
        escaped_name = name_cache.get(name)
        if escaped_name is None:
            escaped_name = name_cache[name] = escape_label_name(name, escaping)
        if value.__class__ is not str or '\\' in value or '\n' in value or '"' in value:
            value = value.replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')
        append(f'{escaped_name}="{value}"')
    return '{' + ','.join(parts) + '}'


def render_labels_memoized(labels: Mapping[str, str], escaping: str, key: str,
                           name_cache: Dict[str, str]) -> str:
    """:func:`render_labels`, memoized on ``labels`` when it is a LabelSet.

    ``key`` must be ``memo_key(escaping)``. Plain dicts are rendered every
    time. The encoders inline this function's fast path; it exists for
    callers outside the per-sample loop.
    """
    if labels.__class__ is LabelSet:
        rendered = labels.rendered  # type: ignore[attr-defined]
        text = rendered.get(key)
        if text is None:
            text = rendered[key] = render_labels(labels, escaping, name_cache)
        return text
    return render_labels(labels, escaping, name_cache)


def escape_help_text(documentation: str) -> str:
    """HELP text for the Prometheus text format: ``\\`` and newline escaped."""
    return documentation.replace('\\', r'\\').replace('\n', r'\n')


def escape_help_openmetrics(documentation: str) -> str:
    """HELP text for OpenMetrics: ``\\``, newline and ``"`` escaped."""
    return documentation.replace('\\', r'\\').replace('\n', r'\n').replace('"', r'\"')
