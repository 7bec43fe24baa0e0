"""Render JSON-described metric families; run under both libraries.

Used by the encoder differential tests. The very same file is imported
in-process by the tests (our package) and run as
``python -I _family_driver.py --serve`` under the black-box classic client,
so it only uses the public data-model API plus the standard library, and
stays Python 3.9 compatible.

Description of one registry (a JSON list of families)::

    [{"name": str, "doc": str, "type": str, "unit": str,
      "samples": [{"name": str,
                   "labels": int,            # index into "labelsets"
                   "value": value,
                   "timestamp": null | number | [sec, nsec],
                   "exemplar": null | {"labels": {...}, "value": value,
                                       "timestamp": null | number | [sec, nsec]},
                   "nh": null | {"count": ..., "sum": ..., "schema": ...,
                                 "zero_threshold": ..., "zero_count": ...,
                                 "pos_spans": null | [[o, l], ...],
                                 "neg_spans": ..., "pos_deltas": null | [...],
                                 "neg_deltas": ..., "exemplars": null | [ex...]}}]}]
    with a top-level {"families": [...], "labelsets": [{...}, ...]}

``value`` is a number, or ``{"str": "..."}`` for a string value, or null.
Sharing one labelset index between samples shares one label object (a
``LabelSet`` in our package, exercising the rendering memo).

Serve protocol: every input line is a JSON list of descriptions, every
output line the JSON list of their results. A result maps
``"text/<escaping>"`` and ``"om/<escaping>/<version>"`` to the output bytes
decoded as latin-1, or to ``[exception type name, str(args[0]), len(args)]``.
"""
import json
import sys

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import (
    BucketSpan,
    Exemplar,
    NativeHistogram,
    Sample,
    Timestamp,
)

try:  # only in our package
    from prometheus_client._labelset import LabelSet
except ImportError:  # the classic client: plain dicts
    LabelSet = dict

ESCAPINGS = ('underscores', 'allow-utf-8', 'dots', 'values')
OM_VERSIONS = ('1.0.0', '2.0.0')


def _timestamp(spec):
    if isinstance(spec, list):
        return Timestamp(spec[0], spec[1])
    return spec


def _value(spec):
    if isinstance(spec, dict):
        return spec['str']
    return spec


def _exemplar(spec):
    return Exemplar(dict(spec['labels']), _value(spec['value']), _timestamp(spec['timestamp']))


def _native_histogram(spec):
    def spans(key):
        if spec[key] is None:
            return None
        return [BucketSpan(offset, length) for offset, length in spec[key]]

    exemplars = spec['exemplars']
    return NativeHistogram(
        spec['count'], spec['sum'], spec['schema'], spec['zero_threshold'], spec['zero_count'],
        spans('pos_spans'), spans('neg_spans'), spec['pos_deltas'], spec['neg_deltas'],
        None if exemplars is None else [_exemplar(e) for e in exemplars])


class FamiliesCollector:
    """A collector yielding the same Metric objects on every collect()."""

    def __init__(self, metrics):
        self.metrics = metrics

    def collect(self):
        return list(self.metrics)


def build(description):
    """Build the Metric families of a description (see module doc)."""
    labelsets = [LabelSet(labels) for labels in description['labelsets']]
    metrics = []
    for family in description['families']:
        metric = Metric(family['name'], family['doc'], family['type'], family['unit'])
        for sample in family['samples']:
            metric.samples.append(Sample(
                sample['name'],
                labelsets[sample['labels']],
                _value(sample['value']),
                _timestamp(sample['timestamp']),
                None if sample['exemplar'] is None else _exemplar(sample['exemplar']),
                None if sample['nh'] is None else _native_histogram(sample['nh']),
            ))
        metrics.append(metric)
    return FamiliesCollector(metrics)


def _outcome(function):
    try:
        return function().decode('latin-1')
    except Exception as exception:  # noqa: BLE001 (any failure is a result)
        first = str(exception.args[0]) if exception.args else ''
        return [type(exception).__name__, first, len(exception.args)]


def render_all(collector, text_generate_latest, om_generate_latest):
    """Every format/escaping/version rendering of one collector."""
    result = {}
    for escaping in ESCAPINGS:
        result['text/' + escaping] = _outcome(lambda: text_generate_latest(collector, escaping))
        for version in OM_VERSIONS:
            result['om/%s/%s' % (escaping, version)] = _outcome(
                lambda: om_generate_latest(collector, escaping, version))
    return result


def serve():
    from prometheus_client.exposition import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest

    for line in sys.stdin:
        descriptions = json.loads(line)
        results = []
        for description in descriptions:
            try:
                collector = build(description)
            except Exception as exception:  # noqa: BLE001
                results.append({'build': [type(exception).__name__, str(exception)]})
                continue
            results.append(render_all(collector, generate_latest, om_generate_latest))
        sys.stdout.write(json.dumps(results) + '\n')
        sys.stdout.flush()


if __name__ == '__main__' and sys.argv[1:] == ['--serve']:
    serve()
