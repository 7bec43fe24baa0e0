"""Prometheus text format encoder (0.0.4 shape; 1.0.0 with name escaping).

Encoder layer: a pure function from families (anything whose ``collect()``
yields :class:`~prometheus_client.metrics_core.Metric`) to UTF-8 bytes. It
does no I/O and never holds a lock; collection is the registry's business.

Rendering rules (behaviors.md section 2): family names and types are
"munged" (counter ``x`` is exposed as ``x_total``, info as ``x_info`` gauge,
stateset as gauge, gaugehistogram as histogram, unknown as untyped); samples
named ``<family>_created``, ``_gcount`` or ``_gsum`` are held back and
emitted as separate trailing gauge families; exemplars and units are never
shown; timestamps are integer milliseconds. A native-histogram sample
whose value is None (what instrumented histograms and the OpenMetrics 2.0
parser produce) is skipped: this format cannot carry native buckets, so only
the classic view of such a histogram is shown. (The classic client raises
TypeError there; a native sample with a numeric value still prints it.)

Speed: the rendered ``{labels}`` text is memoized on
:class:`~prometheus_client._labelset.LabelSet` instances (the label dicts that
metric children build once), keyed by escaping scheme and shared with the
OpenMetrics encoder, so a repeated scrape formats each label set once.

Thread/process safety: safe to call concurrently from any number of threads
(the only shared state is the label memo, whose races are benign).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

from .._labelset import LabelSet
from ..metrics_core import Metric
from ..registry import REGISTRY, Collector
from ..validation import _is_valid_legacy_metric_name
from ._escaping import (
    ALLOWUTF8,
    UNDERSCORES,
    escape_help_text,
    escape_metric_name,
    memo_key,
    large_value_text,
    render_labels,
    value_memo_key,
)

CONTENT_TYPE_PLAIN_0_0_4 = 'text/plain; version=0.0.4; charset=utf-8'
"""Content type of the text format 0.0.4 (what scrapes get by default)."""
CONTENT_TYPE_PLAIN_1_0_0 = 'text/plain; version=1.0.0; charset=utf-8'
"""Content type of the text format 1.0.0 (UTF-8 names allowed)."""
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_1_0_0
"""The newest text content type; the same object as CONTENT_TYPE_PLAIN_1_0_0."""

# Family type -> (suffix added to the exposed family name, exposed type).
_MUNGED_TYPES: Dict[str, Tuple[str, str]] = {
    'counter': ('_total', 'counter'),
    'info': ('_info', 'gauge'),
    'stateset': ('', 'gauge'),
    'gaugehistogram': ('', 'histogram'),
    'unknown': ('', 'untyped'),
}

# Sample-name suffixes hoisted into trailing gauge families, in output order.
_HOISTED_SUFFIXES = ('_created', '_gcount', '_gsum')

# Bounds of the values whose Go formatting is plain ``repr`` (see utils).
_GO_PLAIN_MIN = -1e6
_GO_PLAIN_MAX = 1e6

# Per sample name: (rendered name before the labels, quoted name to put
# inside the braces or None, append function of the line list it goes to,
# key of the value memo on LabelSets).
_NameInfo = Tuple[str, Optional[str], Callable[[str], None], Tuple[str, str]]


def generate_latest(registry: Collector = REGISTRY, escaping: str = UNDERSCORES) -> bytes:
    """Render the Prometheus text format of everything ``registry`` collects.

    Args:
        registry: Anything with ``collect()`` yielding Metric families.
        escaping: Name escaping scheme (``underscores``, ``allow-utf-8``,
            ``dots``, ``values``; anything else leaves names untouched).

    Returns:
        UTF-8 bytes; ``b''`` when nothing is collected.

    Raises:
        Exception: whatever collecting or rendering raises. An exception
            raised while rendering a family gets that Metric appended to its
            ``args`` and is re-raised (the reference client's behaviour).

    Thread-safe: may be called concurrently.
    """
    output: List[str] = []
    key = memo_key(escaping)
    label_names: Dict[str, str] = {}
    for metric in registry.collect():
        try:
            _render_family(metric, escaping, key, label_names, output)
        except Exception as exception:
            exception.args = (*exception.args, metric)
            raise
    return ''.join(output).encode('utf-8')


def _render_family(metric: Metric, escaping: str, key: str,
                   label_names: Dict[str, str], output: List[str]) -> None:
    """Append the lines of one family (and its hoisted families) to output."""
    name = metric.name
    munged = _MUNGED_TYPES.get(metric.type)
    if munged is None:
        exposed_name, exposed_type = name, metric.type
    else:
        exposed_name, exposed_type = name + munged[0], munged[1]
    help_text = escape_help_text(metric.documentation)
    escaped_name = escape_metric_name(exposed_name, escaping)
    output.append(f'# HELP {escaped_name} {help_text}\n# TYPE {escaped_name} {exposed_type}\n')

    hoisted: Dict[str, List[str]] = {}
    names: Dict[str, _NameInfo] = {}
    main_append = output.append
    float_ = float
    repr_ = repr
    labelset_class = LabelSet
    for sample in metric.samples:
        sample_name = sample.name
        info = names.get(sample_name)
        if info is None:
            info = names[sample_name] = _name_info(sample_name, name, escaping, hoisted, main_append)
        prefix, quoted, append, value_key = info

        labels = sample.labels
        if labels.__class__ is labelset_class:
            rendered = labels.rendered  # type: ignore[attr-defined]
            label_text = rendered.get(key)
            if label_text is None:
                label_text = rendered[key] = render_labels(labels, escaping, label_names)
        else:
            rendered = None
            label_text = render_labels(labels, escaping, label_names)
        if quoted is not None:
            label_text = '{' + quoted + (',' + label_text[1:] if label_text else '}')

        value = sample.value
        if value.__class__ is not float_:
            if value is None and sample.native_histogram is not None:
                continue  # native buckets have no text form (the classic client raises TypeError)
            value = float_(value)
        if _GO_PLAIN_MIN < value < _GO_PLAIN_MAX:
            value_text = repr_(value)
        else:  # typically _created timestamps: slow to format, memoized
            value_text = large_value_text(rendered, value_key, value)

        timestamp = sample.timestamp
        if timestamp is None:
            append(f'{prefix}{label_text} {value_text}\n')
        else:
            append(f'{prefix}{label_text} {value_text} {int(float_(timestamp) * 1000)}\n')

    for suffix in _HOISTED_SUFFIXES:
        lines = hoisted.get(suffix)
        if lines:
            hoisted_name = escape_metric_name(name + suffix, escaping)
            output.append(f'# HELP {hoisted_name} {help_text}\n# TYPE {hoisted_name} gauge\n')
            output.extend(lines)


def _name_info(sample_name: str, family_name: str, escaping: str,
               hoisted: Dict[str, List[str]], main_append: Callable[[str], None]) -> _NameInfo:
    """Work out once per sample name how its lines are rendered and where to."""
    append = main_append
    if sample_name.startswith(family_name):
        suffix = sample_name[len(family_name):]
        if suffix in _HOISTED_SUFFIXES:
            append = hoisted.setdefault(suffix, []).append
    value_key = value_memo_key(sample_name)
    if escaping == ALLOWUTF8 and not _is_valid_legacy_metric_name(sample_name):
        return '', escape_metric_name(sample_name, escaping), append, value_key
    return escape_metric_name(sample_name, escaping), None, append, value_key
