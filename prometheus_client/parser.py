"""Parser for the Prometheus text exposition format (0.0.4).

Parser layer: imports the data model and the shared lexer only.

The parser is lax, like the reference client's: it accepts much that a
strict reader would reject (blank lines, free comments, runs of blanks or
tabs, trailing commas in label sets) and it groups samples into families by
the rules below rather than by validating them. Successful parsing does not
mean the text meets the specification.

* ``# HELP name doc`` and ``# TYPE name type`` start a new family when the
  name changes; other ``#`` lines are comments.
* A sample whose name the current family does not allow (``name`` for most
  types; ``name_count``/``name_sum`` too for summaries; ``name_bucket``,
  ``name_count`` and ``name_sum`` for histograms) ends that family and is
  returned as its own one-sample ``unknown`` family.
* Counter families lose a trailing ``_total``; when the TYPE name had none,
  ``_total`` is appended to every sample name instead.
* Values are ``int`` when ``int()`` accepts the token, else ``float``;
  timestamps are milliseconds in the text and seconds (float) in the result.

Every error is a ``ValueError`` (see behaviors.md §18.1 for the messages).
Families are generated lazily, so an error surfaces only when the parser
reaches the offending line.

Where the reference client fails with another exception type, this parser
raises a ValueError instead: a timestamp too large for a float (reference:
OverflowError, same message) and a whitespace-only quoted-name token in a
HELP/TYPE line (reference: IndexError; here the bare ValueError of an
invalid name). ``parse_labels`` rejects label text holding an unquoted ``}``
where the reference client loops forever.
"""
from __future__ import annotations

import io
import re
from typing import Iterable, Iterator, List, Optional, TextIO, Tuple, Union

from . import _lexer
from .metrics_core import Metric
from .samples import Sample

__all__ = [
    'ESCAPE_SEQUENCES',
    'ESCAPING_RE',
    'HELP_ESCAPING_RE',
    'parse_labels',
    'replace_escape_sequence',
    'text_fd_to_metric_families',
    'text_string_to_metric_families',
]

ESCAPE_SEQUENCES = _lexer.ESCAPE_SEQUENCES
HELP_ESCAPING_RE = _lexer.HELP_ESCAPING_RE
ESCAPING_RE = _lexer.ESCAPING_RE
replace_escape_sequence = _lexer.replace_escape_sequence
parse_labels = _lexer.parse_labels

# Private helpers kept under the reference client's names.
_replace_help_escaping = _lexer.replace_help_escaping
_replace_escaping = _lexer.replace_escaping
_is_character_escaped = _lexer.is_character_escaped
_next_term = _lexer.next_term
_next_unquoted_char = _lexer.next_unquoted_char
_last_unquoted_char = _lexer.last_unquoted_char
_split_quoted = _lexer.split_quoted
_unquote_unescape = _lexer.unquote_unescape
_parse_value = _lexer.parse_value

_tuple_new = tuple.__new__

# The common, well-formed sample line: a legacy name, an optional plain label
# set, one value and an optional timestamp, separated by single spaces.
# Lines that do not match take the general path, which handles everything.
_FAST_SAMPLE_RE = re.compile(
    r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(%s)?\})? ([^\s{}"_]+)(?: ([^\s{}"_]+))?'
    % _lexer.SIMPLE_LABELS)

# Sample names a family accepts, by type: suffixes appended to the family name.
_ALLOWED_SUFFIXES = {
    'counter': ('',),
    'gauge': ('',),
    'summary': ('_count', '_sum', ''),
    'histogram': ('_count', '_sum', '_bucket'),
}


def _parse_value_and_timestamp(text: str) -> Tuple[Union[int, float], Optional[float]]:
    """Parse ``value [timestamp]``: value int or float, timestamp ms -> s.

    Tokens are split on spaces (or on tabs when the text has no space); the
    first token is the value and the last one, if there are several, the
    timestamp.
    """
    text = text.lstrip()
    separator = ' ' if ' ' in text else '\t'
    tokens = [token.strip() for token in text.split(separator) if token.strip()]
    if not tokens:
        return float(text), None
    value = _parse_value(tokens[0])
    if len(tokens) == 1:
        return value, None
    return value, _lexer.divide_by_thousand(_parse_value(tokens[-1]))


def _parse_sample(text: str) -> Sample:
    """Parse one (stripped) sample line by the general, quirk-exact rules."""
    label_start = _next_unquoted_char(text, '{')
    if label_start == -1 or ' # ' in text[:label_start]:
        name_end = _next_unquoted_char(text, ' \t')
        name = text[:name_end].strip()
        if not _lexer.is_legacy_metric_name(name):
            raise ValueError('invalid metric name:' + text)
        value, timestamp = _parse_value_and_timestamp(text[name_end + 1:])
        return Sample(name, {}, value, timestamp)
    name = text[:label_start].strip()
    label_end = label_start + _next_unquoted_char(text[label_start:], '}')
    labels = parse_labels(text[label_start + 1:label_end], False)
    name = _lexer.sample_name(name, labels)
    value, timestamp = _parse_value_and_timestamp(text[label_end + 1:])
    return Sample(name, labels, value, timestamp)


def _parse_sample_line(line: str, _fast_match=_FAST_SAMPLE_RE.fullmatch) -> Sample:
    """Parse a sample line, taking the fast path when the line is plain."""
    match = _fast_match(line)
    if match is not None:
        name, labels_text, value_token, timestamp_token = match.groups()
        labels = _lexer.simple_labels(labels_text) if labels_text else {}
        if labels is not None:
            try:
                value = _lexer.fast_number(value_token)
                timestamp = None
                if timestamp_token is not None:
                    timestamp = _lexer.divide_by_thousand(_lexer.fast_number(timestamp_token))
            except ValueError:
                pass  # the general path reports the exact error
            else:
                return _tuple_new(Sample, (name, labels, value, timestamp, None, None))
    return _parse_sample(line)


def _build_family(name: str, documentation: str, typ: str, samples: List[Sample]) -> Metric:
    """Make a Metric, applying the counter ``_total`` rules."""
    if typ == 'counter':
        if name.endswith('_total'):
            name = name[:-6]
        else:
            samples = [sample._replace(name=sample.name + '_total') for sample in samples]
    family = Metric(name, documentation, typ)
    family.samples = samples
    return family


def _metadata_name(token: str) -> str:
    """The metric name of a HELP/TYPE line; unquoted names must be legacy."""
    name, quoted = _unquote_unescape(token)
    if not quoted and not _lexer.is_legacy_metric_name(name):
        raise ValueError
    return name


def text_string_to_metric_families(text: str) -> Iterator[Metric]:
    """Parse Prometheus text format from a string; see text_fd_to_metric_families."""
    yield from text_fd_to_metric_families(io.StringIO(text))


def text_fd_to_metric_families(fd: Union[TextIO, Iterable[str]]) -> Iterator[Metric]:
    """Parse Prometheus text format from a text file object (any iterable of lines).

    Yields ``Metric`` objects lazily. This parser is lax: successful parsing
    does not mean the text meets the specification. Raises ``ValueError`` on
    malformed input, when the offending line is reached.
    """
    name = ''
    documentation = ''
    typ = 'untyped'
    samples: List[Sample] = []
    allowed_names: Tuple[str, ...] = ()

    fast_match = _FAST_SAMPLE_RE.fullmatch
    simple_labels = _lexer.simple_labels
    fast_number = _lexer.fast_number
    for line in fd:
        line = line.strip()
        if not line:
            continue
        if line[0] != '#':
            # Fast path (inlined: this loop is the parser's hot spot).
            sample = None
            match = fast_match(line)
            if match is not None:
                sample_name, labels_text, value_token, timestamp_token = match.groups()
                labels = simple_labels(labels_text) if labels_text else {}
                if labels is not None and timestamp_token is None:
                    try:
                        value = fast_number(value_token)
                    except ValueError:
                        pass  # the general path reports the exact error
                    else:
                        sample = _tuple_new(Sample, (sample_name, labels, value, None, None, None))
            if sample is None:
                sample = _parse_sample_line(line)
            if sample.name in allowed_names:
                samples.append(sample)
                continue
            if name:
                yield _build_family(name, documentation, typ, samples)
            name, documentation, typ, samples, allowed_names = '', '', 'untyped', [], ()
            yield _build_family(sample.name, '', 'untyped', [sample])
            continue

        parts = _split_quoted(line, None, 3)
        if len(parts) < 2:
            continue
        keyword = parts[1]
        if keyword == 'HELP':
            candidate = _metadata_name(parts[2]) if len(parts) > 2 else ''
            if candidate != name:
                if name:
                    yield _build_family(name, documentation, typ, samples)
                name, typ, samples, allowed_names = candidate, 'untyped', [], (candidate,)
            documentation = _replace_help_escaping(parts[3]) if len(parts) == 4 else ''
        elif keyword == 'TYPE':
            candidate = _metadata_name(parts[2]) if len(parts) > 2 else ''
            if len(parts) < 4:
                raise ValueError
            if candidate != name:
                if name:
                    yield _build_family(name, documentation, typ, samples)
                name, documentation, samples = candidate, '', []
            typ = parts[3]
            suffixes = _ALLOWED_SUFFIXES.get(typ, ('',))
            allowed_names = tuple(name + suffix for suffix in suffixes)

    if name:
        yield _build_family(name, documentation, typ, samples)
