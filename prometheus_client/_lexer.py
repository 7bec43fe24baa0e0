"""Shared lexer for the Prometheus text and OpenMetrics parsers.

Parser layer (architecture layer 6): imports only the data-model layer.

Both parsers read one line at a time and hand pieces of it to the functions
here: quote-aware searches and splits, unquoting, unescaping, label sets and
number tokens. The functions reproduce the reference client's lexing rules
exactly, quirks included, because their results (and their error messages)
are observable through the public parsers:

* Quoting: a ``"`` opens or closes a quoted region unless it is escaped by
  an odd number of backslashes. Characters inside quotes never match a
  search.
* Escapes: only ``\\\\``, ``\\n`` and ``\\"`` are decoded; any other
  backslash is kept as is.
* Numbers: a value token becomes an ``int`` when ``int()`` accepts it and a
  ``float`` otherwise; a token with surrounding blanks or an underscore is
  rejected.

Every error is a ``ValueError``; nothing here loops without consuming input.

Speed: searches jump between candidate characters with precompiled regular
expressions instead of stepping through every character, and ``parse_labels``
first tries one regular expression that accepts the common well-formed label
sets (plain names, no blanks) and only falls back to the term-by-term lexer
for anything else.
"""
from __future__ import annotations

import re
import string
from typing import Dict, List, Optional, Sequence, Tuple, Union

from . import validation

#: Escape sequences decoded in label values and quoted names.
ESCAPE_SEQUENCES = {
    '\\\\': '\\',
    '\\n': '\n',
    '\\"': '"',
}

#: Escapes decoded in text-format HELP lines (no ``\"``).
HELP_ESCAPING_RE = re.compile(r'\\[\\n]')

#: Escapes decoded in label values, quoted names and OpenMetrics HELP lines.
ESCAPING_RE = re.compile(r'\\[\\n"]')

#: The characters a search for "whitespace" (``chars=None``) stops at.
_WHITESPACE = string.whitespace

# A legacy metric name; ``$`` (not ``\Z``) on purpose: like the reference
# client, a name followed by one trailing newline still matches.
_LEGACY_METRIC_NAME_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')

_SEARCH_PATTERNS: Dict[str, re.Pattern[str]] = {}


def replace_escape_sequence(match: re.Match[str]) -> str:
    """Return the character an escape sequence match stands for."""
    return ESCAPE_SEQUENCES[match.group(0)]


def replace_help_escaping(text: str) -> str:
    """Decode ``\\\\`` and ``\\n`` (text-format HELP rules)."""
    if '\\' not in text:
        return text
    return HELP_ESCAPING_RE.sub(replace_escape_sequence, text)


def replace_escaping(text: str) -> str:
    """Decode ``\\\\``, ``\\n`` and ``\\"``; other backslashes are kept."""
    if '\\' not in text:
        return text
    return ESCAPING_RE.sub(replace_escape_sequence, text)


def is_legacy_metric_name(name: str) -> bool:
    """True if ``name`` is non-empty and matches the legacy metric-name regex."""
    return bool(name) and _LEGACY_METRIC_NAME_RE.match(name) is not None


def sample_name(name: str, labels: Dict[str, str]) -> str:
    """The name of a sample written ``name{labels}``: ``name``, or the
    ``__name__`` label (taken out of ``labels``) when ``name`` is empty.

    Raises ValueError when there is neither, or both.
    """
    if not name:
        if '__name__' not in labels:
            raise ValueError
        return labels.pop('__name__')
    if '__name__' in labels:
        raise ValueError('metric name specified more than once')
    return name


def is_character_escaped(text: str, position: int) -> bool:
    """True if the character at ``position`` follows an odd run of backslashes."""
    backslashes = 0
    while position > backslashes and text[position - 1 - backslashes] == '\\':
        backslashes += 1
    return backslashes % 2 == 1


def _search_pattern(chars: str) -> re.Pattern[str]:
    """A regex matching a quote or any of ``chars`` (cached per ``chars``)."""
    pattern = _SEARCH_PATTERNS.get(chars)
    if pattern is None:
        members = ''.join(sorted(set(chars) | {'"'}))
        pattern = re.compile('[' + re.escape(members) + ']')
        if len(_SEARCH_PATTERNS) < 64:
            _SEARCH_PATTERNS[chars] = pattern
    return pattern


def next_unquoted_char(text: str, chars: Optional[str], start: int = 0) -> int:
    """Return the index of the first character of ``chars`` outside quotes.

    The scan starts at ``start``, which is assumed to be outside quotes.
    ``chars=None`` means any whitespace character. Returns -1 if not found.
    """
    if chars is None:
        chars = _WHITESPACE
    if not chars or start >= len(text):
        return -1
    if '"' not in text and '"' not in chars:
        # No quoting at all: the first occurrence of any of chars wins.
        if len(chars) == 1:
            return text.find(chars, start)
    in_quotes = False
    for match in _search_pattern(chars).finditer(text, start):
        position = match.start()
        char = match.group()
        if char == '"' and not is_character_escaped(text, position):
            in_quotes = not in_quotes
        if not in_quotes and char in chars:
            return position
    return -1


def last_unquoted_char(text: str, chars: Optional[str]) -> int:
    """Return the index of the last character of ``chars`` outside quotes.

    The text is scanned backwards from its end, which is taken to be outside
    quotes, down to (but excluding) index 0. Returns -1 if not found.
    """
    if chars is None:
        chars = _WHITESPACE
    in_quotes = False
    last = len(text) - 1
    # The first character is never examined (reference behaviour).
    for position in range(last, 0, -1):
        char = text[position]
        if char == '"' and not is_character_escaped(text, position):
            in_quotes = not in_quotes
        if not in_quotes and char in chars:
            return position
    return -1


def split_quoted(text: str, separator: Optional[str], maxsplit: int = 0) -> List[str]:
    """Split like ``str.split`` but never on a separator inside quotes.

    ``separator`` is a set of characters (``None``: whitespace). Runs of
    separators, and separators at the start, produce no empty tokens; a
    separator at the end leaves one trailing empty token. With
    ``maxsplit > 0`` the last token holds the unsplit rest.
    """
    tokens = ['']
    position = 0
    length = len(text)
    while position < length:
        split_at = next_unquoted_char(text, separator, position)
        if split_at == -1:
            tokens[-1] = text[position:]
            break
        if split_at == position:
            position += 1
            continue
        if 0 < maxsplit < len(tokens):
            tokens[-1] = text[position:]
            break
        tokens[-1] = text[position:split_at]
        position = split_at + 1
        tokens.append('')
    return tokens


def unquote_unescape(text: str) -> Tuple[str, bool]:
    """Strip surrounding quotes if present and decode escapes.

    The token is stripped of surrounding whitespace first. Returns ``(text,
    was_quoted)``. Raises ``ValueError('missing close quote')`` for a token
    that opens a quote without closing it.
    """
    quoted = False
    text = text.strip()
    if text.startswith('"'):
        if len(text) == 1 or text[-1] != '"':
            raise ValueError('missing close quote')
        text = text[1:-1]
        quoted = True
    return replace_escaping(text), quoted


# --------------------------------------------------------------------------
# Numbers


def parse_value(value: Union[str, Sequence[str]]) -> Union[int, float]:
    """Convert a value token to ``int`` if possible, else ``float``.

    A sequence of characters is joined first. Raises ``ValueError("Invalid
    value: '<tok>'")`` for a token with surrounding blanks or an underscore,
    and ``float``'s own error for anything else that is not a number.
    """
    value = ''.join(value)
    if value != value.strip() or '_' in value:
        raise ValueError(f'Invalid value: {value!r}')
    try:
        return int(value)
    except ValueError:
        return float(value)


def fast_number(token: str) -> Union[int, float]:
    """``parse_value`` for a token known to hold no blanks or underscores."""
    digits = token[1:] if token[:1] in '+-' else token
    if digits.isdecimal():
        try:
            return int(token)
        except ValueError:  # more digits than int() converts
            pass
    return float(token)


def divide_by_thousand(number: Union[int, float]) -> float:
    """Milliseconds to seconds, raising ValueError (not OverflowError)."""
    try:
        return number / 1000
    except OverflowError as error:
        raise ValueError(str(error)) from None


# --------------------------------------------------------------------------
# Labels

# One well-formed label: a plain (legacy) name and a double-quoted value.
_LABEL_PAIR = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\[\s\S])*"'
_FAST_LABELS_RE = re.compile(r'(?:%s(?:,%s)*)?' % (_LABEL_PAIR, _LABEL_PAIR))
_FAST_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\s\S])*)"')


# A label set of plain pairs whose values hold no quote or backslash: the
# commonest shape by far. Sample-line regexes embed it, so that a matched
# label set only needs splitting (no unescaping, no quote tracking).
SIMPLE_LABELS = r'(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*",)*[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
_SIMPLE_PAIR_RE = re.compile(r'([^=,]+)="([^"]*)"')


def simple_labels(labels_string: str, _find_pairs=_SIMPLE_PAIR_RE.findall) -> Optional[Dict[str, str]]:
    """Split a label set already matched by ``SIMPLE_LABELS``, or return None.

    Returns None (use the full lexer) when a name may start with ``__`` or a
    name repeats.
    """
    if labels_string.startswith('__') or ',__' in labels_string:
        return None
    pairs = _find_pairs(labels_string)
    labels = dict(pairs)
    if len(labels) != len(pairs):
        return None
    return labels


def fast_labels(labels_string: str) -> Optional[Dict[str, str]]:
    """Parse a plain, well-formed label set, or return None.

    Accepts only ``name="value"`` pairs joined by single commas, with legacy
    names that do not start with ``__`` and no repeated name. Anything else
    (blanks, quoted names, trailing commas, duplicates...) returns None so the
    caller can use the full lexer, which produces the reference results and
    errors.
    """
    if _FAST_LABELS_RE.fullmatch(labels_string) is None:
        return None
    labels: Dict[str, str] = {}
    for name, value in _FAST_LABEL_RE.findall(labels_string):
        if name in labels or name.startswith('__'):
            return None
        labels[name] = replace_escaping(value) if '\\' in value else value
    return labels


def next_term(text: str, openmetrics: bool) -> Tuple[str, str, str]:
    """Split the next comma-separated label term off ``text``.

    Returns ``(name, value, rest)``: the raw (unstripped) name, the stripped
    value text and the rest of the string starting at the separating ``,`` or
    ``}``. A term without ``=`` is a metric name: ``('__name__', term, rest)``.
    One leading comma is skipped; two raise ``ValueError('multiple
    commas')``. An empty term raises in OpenMetrics mode.
    """
    if not text:
        raise ValueError('empty label term')
    if text[0] == ',':
        text = text[1:]
        if not text:
            return '', '', ''
        if text[0] == ',':
            raise ValueError('multiple commas')
    term_end = next_unquoted_char(text, ',}')
    if term_end == -1:
        term_end = len(text)
    term = text[:term_end]
    rest = text[term_end:].strip()
    equals = next_unquoted_char(term, '=')
    if equals == -1:
        name, value = '__name__', term
    else:
        name, value = term[:equals], term[equals + 1:]
    if openmetrics and not value:
        raise ValueError('empty term:', value)
    return name, value.strip(), rest


def _closing_quote(value_term: str) -> int:
    """Index of the first unescaped quote after the opening one, or -1."""
    position = 1
    while True:
        position = value_term.find('"', position)
        if position == -1 or not is_character_escaped(value_term, position):
            return position
        position += 1


def _parse_labels_slow(labels_string: str, openmetrics: bool) -> Dict[str, str]:
    """The term-by-term label lexer (raises bare ValueErrors; see parse_labels)."""
    labels: Dict[str, str] = {}
    remaining = labels_string.strip()
    while remaining:
        name_term, value_term, remaining = next_term(remaining, openmetrics)
        if remaining.startswith('}'):
            # Only a label set cut at its closing brace is valid; the
            # reference client loops forever on this input.
            raise ValueError('unexpected closing brace')
        if not value_term:
            if openmetrics:
                raise ValueError('empty label value')
            continue
        label_name, quoted = unquote_unescape(name_term.strip())
        if not quoted and not is_legacy_metric_name(label_name):
            raise ValueError('unquoted label name is not a legacy name')
        if value_term[0] != '"':
            raise ValueError('label value is not quoted')
        if _closing_quote(value_term) != len(value_term) - 1:
            raise ValueError('unexpected text after the label value')
        label_value, _ = unquote_unescape(value_term)
        if label_name != '__name__':
            validation._validate_labelname(label_name)
        if label_name in labels:
            raise ValueError('duplicate label name')
        labels[label_name] = label_value
    return labels


def parse_labels(labels_string: str, openmetrics: bool = False) -> Dict[str, str]:
    """Parse the inside of a ``{...}`` label set into a dict.

    A quoted term without ``=`` is the metric name, stored as
    ``'__name__'``. Label names are checked with the current validation
    scheme. Raises ``ValueError('leading comma: <text>')`` in OpenMetrics
    mode for a leading comma, and ``ValueError('Invalid labels: <text>')``
    for any other problem.
    """
    labels = fast_labels(labels_string)
    if labels is not None:
        return labels
    if openmetrics and labels_string.strip().startswith(','):
        raise ValueError('leading comma: ' + labels_string)
    try:
        return _parse_labels_slow(labels_string, openmetrics)
    except ValueError:
        raise ValueError('Invalid labels: ' + labels_string) from None
