"""Validation of metric names, label names and exemplar labels.

Bottom layer: imports nothing from the rest of the package.

Two schemes exist. The default accepts any non-empty UTF-8 metric name and
any label name that does not start with ``__``. The legacy scheme (turned on
by ``enable_legacy_validation()`` or by the environment variable
``PROMETHEUS_LEGACY_NAME_VALIDATION`` set to ``true``/``1``/``t``, any case,
read once at import) also applies the classic regexes below.

The scheme lives in the module global ``_legacy_validation``, which every
check reads at call time, so tests and users may reassign it directly.

Thread/process safety: the checks are pure functions of their argument and
that global. Switching the scheme while other threads validate is safe (a
check sees either the old or the new value) but is process-global.

Errors: every check raises ``ValueError`` with the exact message of the
reference client (including its typo ``'Reserved label methe fric name: '``
and the unformatted ``%d`` in the exemplar-length message).
"""
from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping, Tuple

METRIC_NAME_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
METRIC_LABEL_NAME_RE = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')
RESERVED_METRIC_LABEL_NAME_RE = re.compile(r'^__.*$')

_ENV_LEGACY_VALIDATION = 'PROMETHEUS_LEGACY_NAME_VALIDATION'
_TRUE_VALUES = ('true', '1', 't')
_EXEMPLAR_MAX_CHARACTERS = 128


def _init_legacy_validation() -> bool:
    """Retrieve name validation setting from environment."""
    return os.environ.get(_ENV_LEGACY_VALIDATION, 'False').lower() in _TRUE_VALUES


_legacy_validation = _init_legacy_validation()


def get_legacy_validation() -> bool:
    """Return the current status of the legacy validation setting."""
    return _legacy_validation


def enable_legacy_validation() -> None:
    """Enable legacy name validation instead of allowing all UTF8 characters.

    Process-global; takes effect for every later validation.
    """
    global _legacy_validation
    _legacy_validation = True


def disable_legacy_validation() -> None:
    """Disable legacy name validation, instead allowing all UTF8 characters.

    Process-global; takes effect for every later validation.
    """
    global _legacy_validation
    _legacy_validation = False


def _validate_metric_name(name: str) -> None:
    """Raise ValueError if ``name`` is not a valid metric name.

    Uses the current (global) validation scheme.

    Raises:
        ValueError: ``'metric name cannot be empty'`` for an empty (falsy)
            name; in legacy mode ``'invalid metric name <name>'`` when the
            name does not match ``METRIC_NAME_RE``.
        UnicodeEncodeError: in UTF-8 mode, for a name that is not valid
            UTF-8 (lone surrogates).
    """
    if not name:
        raise ValueError('metric name cannot be empty')
    if _legacy_validation:
        if not METRIC_NAME_RE.match(name):
            raise ValueError('invalid metric name ' + name)
        return
    name.encode('utf-8')


def _is_valid_legacy_metric_name(name: str) -> bool:
    """Returns true if the provided metric name conforms to the legacy validation scheme."""
    if len(name) == 0:
        return False
    return METRIC_NAME_RE.match(name) is not None


def _validate_labelname(l: str) -> None:  # noqa: E741 (reference parameter name)
    """Raise ValueError if ``l`` is not a valid label name.

    Uses the current (global) validation scheme.

    Raises:
        ValueError: in legacy mode ``'Invalid label metric name: <l>'`` when
            the name does not match ``METRIC_LABEL_NAME_RE``; in both modes
            ``'Reserved label metric name: <l>'`` for a name starting ``__``.
        UnicodeEncodeError: in UTF-8 mode, for a name that is not valid UTF-8.
    """
    if _legacy_validation:
        if not METRIC_LABEL_NAME_RE.match(l):
            raise ValueError('Invalid label metric name: ' + l)
    else:
        l.encode('utf-8')
    if l.startswith('__'):
        raise ValueError('Reserved label metric name: ' + l)


def _is_valid_legacy_labelname(l: str) -> bool:  # noqa: E741
    """Returns true if the provided label name conforms to the legacy validation scheme."""
    if len(l) == 0:
        return False
    if METRIC_LABEL_NAME_RE.match(l) is None:
        return False
    return RESERVED_METRIC_LABEL_NAME_RE.match(l) is None


def _validate_labelnames(cls: Any, labelnames: Iterable[str]) -> Tuple[str, ...]:
    """Validate ``labelnames`` for a metric class and return them as a tuple.

    Each name is checked with ``_validate_labelname``; then a name listed in
    ``cls._reserved_labelnames`` (``['quantile']`` for Summary, ``['le']``
    for Histogram) is rejected.

    Raises:
        ValueError: as ``_validate_labelname``, or
            ``'Reserved label methe fric name: <l>'`` (sic).
    """
    labelnames = tuple(labelnames)
    for l in labelnames:  # noqa: E741
        _validate_labelname(l)
        if l in cls._reserved_labelnames:
            raise ValueError('Reserved label methe fric name: ' + l)
    return labelnames


def _validate_exemplar(exemplar: Mapping[str, str]) -> None:
    """Raise ValueError if the exemplar labels are invalid.

    Every key must be a valid label name, and the total number of characters
    (Python characters, not bytes) of all keys and values must not exceed 128.

    Raises:
        ValueError: as ``_validate_labelname``, or
            ``'Exemplar labels have %d UTF-8 characters, exceeding the limit of 128'``
            (the ``%d`` is literal).
    """
    characters = 0
    for name, value in exemplar.items():
        _validate_labelname(name)
        characters += len(name)
        characters += len(value)
    if characters > _EXEMPLAR_MAX_CHARACTERS:
        raise ValueError('Exemplar labels have %d UTF-8 characters, exceeding the limit of 128')


def _validate_metric_label_name_token(tok: str) -> None:
    """Raise ValueError if a parsed label name token is invalid.

    Used by the parsers. An unquoted token must match
    ``METRIC_LABEL_NAME_RE``; in UTF-8 mode a token wrapped in double quotes
    is accepted as is (UTF-8 names must be quoted). In legacy mode quoted
    tokens are rejected.

    Raises:
        ValueError: ``'invalid label name token <tok>'``.
        UnicodeEncodeError: for a quoted token that is not valid UTF-8.
    """
    if not tok:
        raise ValueError('invalid label name token ' + tok)
    quoted = tok[0] == '"' and tok[-1] == '"'
    if not quoted or _legacy_validation:
        if not METRIC_LABEL_NAME_RE.match(tok):
            raise ValueError('invalid label name token ' + tok)
        return
    tok.encode('utf-8')
