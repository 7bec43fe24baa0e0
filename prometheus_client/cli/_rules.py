"""The rules of ``check``: problems that promtool does not report.

Each rule is a function from the model of :mod:`._exposition` to a list of
:class:`~._exposition.Problem`; :func:`check_exposition` runs them all and
:func:`compare_reads` compares two reads of the same target. Pure functions.

Severity: ``error`` for what is wrong (a consumer drops, rejects or
misreads data), ``warning`` for what is legal but likely to hurt.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

from ._exposition import (
    ERROR,
    TEXT,
    WARNING,
    Exposition,
    Family,
    Point,
    Problem,
    is_legacy_label_name,
    is_legacy_metric_name,
    parse_number,
    render_value,
    series_text,
    where,
)

_HISTOGRAMS = ("histogram", "gaugehistogram")
_NUMBERED_LABELS = {"le", "quantile"}

SeriesKey = Tuple[str, Tuple[Tuple[str, str], ...]]


def _normalised_number(text: str) -> str:
    try:
        return repr(parse_number(text))
    except ValueError:
        return text


def series_key(family: Family, point: Point) -> SeriesKey:
    """Series identity: ``le``/``quantile`` compared as numbers (``1`` is ``1.0``)."""
    numbered = family.type in _HISTOGRAMS or family.type == "summary"
    labels = dict(point.labels)
    if numbered:
        labels = {k: (_normalised_number(v) if k in _NUMBERED_LABELS else v) for k, v in labels.items()}
    return point.name, tuple(sorted(labels.items()))


def _group_key(point: Point, without: str) -> Tuple[Tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in point.labels if k != without))


def _in_group(family: Family, group: Tuple[Tuple[str, str], ...]) -> str:
    """`` in name{labels}`` naming the labelled child concerned; empty for an unlabelled family."""
    return " in %s" % series_text(family.name, group) if group else ""


# -- rules -----------------------------------------------------------------------

def check_names(family: Family, fmt: str) -> List[Problem]:
    problems: List[Problem] = []
    seen = set()

    def add(severity: str, message: str) -> None:
        if message not in seen:
            seen.add(message)
            problems.append(Problem(severity, family.name, message))

    for name in {family.name} | {point.name for point in family.points}:
        if not is_legacy_metric_name(name):
            add(WARNING, "metric name %r is not a legacy Prometheus name: Prometheus 2 and many other "
                         "consumers reject it, and scrapers without UTF-8 support see it escaped" % name)
        elif name.startswith("__"):
            add(ERROR, "metric name %r starts with '__', which is reserved for Prometheus internals" % name)
        elif ":" in name:
            add(WARNING, "metric name %r contains ':', which is reserved for recording rules" % name)
    for point in family.points:
        names = [name for name, _ in point.labels]
        for name in names:
            if name.startswith("__"):
                add(ERROR, "label name %r is reserved (names starting with '__' are for Prometheus "
                           "internals)%s" % (name, where(point.line)))
            elif not is_legacy_label_name(name):
                add(WARNING, "label name %r is not a legacy Prometheus name: Prometheus 2 and many "
                             "other consumers reject it%s" % (name, where(point.line)))
        duplicated = sorted({name for name in names if names.count(name) > 1})
        for name in duplicated:
            add(ERROR, "label %r appears twice in %s%s" % (name, point.name, where(point.line)))
    return problems


def check_duplicates(family: Family) -> List[Problem]:
    problems = []
    first_seen: Dict[SeriesKey, Optional[int]] = {}
    reported = set()
    for point in family.points:
        key = series_key(family, point)
        if key in first_seen:
            if key not in reported:
                reported.add(key)
                lines = ""
                first_line = first_seen[key]
                if point.line is not None and first_line is not None:
                    lines = " (lines %d and %d)" % (first_line, point.line)
                problems.append(Problem(ERROR, family.name, "duplicate series %s%s"
                                        % (series_text(point.name, point.labels), lines)))
        else:
            first_seen[key] = point.line
    return problems


def _counter_samples(family: Family, fmt: str) -> List[Point]:
    if family.type != "counter":
        return []
    return [point for point in family.points if not point.name.endswith("_created")]


def check_counter_values(family: Family, fmt: str) -> List[Problem]:
    problems = []
    for point in _counter_samples(family, fmt):
        if math.isnan(point.value):
            problems.append(Problem(ERROR, family.name, "counter %s is NaN%s"
                                    % (series_text(point.name, point.labels), where(point.line))))
        elif point.value < 0:
            problems.append(Problem(ERROR, family.name, "counter %s is negative (%s)%s" % (
                series_text(point.name, point.labels), render_value(point.value), where(point.line))))
    return problems


def _check_count(family: Family, point: Point, what: str) -> List[Problem]:
    if math.isnan(point.value) or point.value < 0:
        return [Problem(ERROR, family.name, "%s is %s; a count cannot be negative or NaN%s"
                        % (what, render_value(point.value), where(point.line)))]
    return []


def check_histogram(family: Family, fmt: str) -> List[Problem]:
    if family.type not in _HISTOGRAMS or any(point.native for point in family.points):
        return []
    gauge = family.type == "gaugehistogram"
    count_name = family.name + ("_gcount" if gauge else "_count")
    sum_name = family.name + ("_gsum" if gauge else "_sum")
    groups: Dict[Tuple[Tuple[str, str], ...], Dict[str, List[Point]]] = {}
    for point in family.points:
        group = groups.setdefault(_group_key(point, "le"), {"buckets": [], "count": [], "sum": []})
        if point.name == family.name + "_bucket":
            group["buckets"].append(point)
        elif point.name == count_name:
            group["count"].append(point)
        elif point.name == sum_name:
            group["sum"].append(point)
    problems: List[Problem] = []
    for key, group in groups.items():
        child = _in_group(family, key)

        def add(severity: str, message: str, line: Optional[int] = None) -> None:
            problems.append(Problem(severity, family.name, message + where(line)))

        bounds: List[Tuple[float, Point]] = []
        for point in group["buckets"]:
            le = point.label_dict().get("le")
            if le is None:
                add(ERROR, "a bucket%s has no 'le' label" % child, point.line)
                continue
            try:
                bounds.append((parse_number(le), point))
            except ValueError:
                add(ERROR, "bucket bound le=%r%s is not a number" % (le, child), point.line)
                continue
            problems.extend(_check_count(family, point, series_text(point.name, point.labels)))
        infinite = [point for bound, point in bounds if bound == math.inf]
        if group["buckets"] and not infinite:
            last = group["buckets"][-1]
            add(ERROR, "no +Inf bucket%s" % child, last.line)
        elif not group["buckets"] and (group["count"] or group["sum"]):
            first = (group["count"] or group["sum"])[0]
            add(ERROR, "no buckets%s, not even the mandatory +Inf bucket" % child, first.line)
        if [bound for bound, _ in bounds] != sorted(bound for bound, _ in bounds):
            add(WARNING if fmt == TEXT else ERROR, "buckets%s are not in increasing le order" % child,
                bounds[0][1].line)
        ordered = sorted(bounds, key=lambda pair: pair[0])
        for (_, low), (_, high) in zip(ordered, ordered[1:]):  # noqa: B905 (strict= needs 3.10)
            if high.value < low.value:
                add(ERROR, 'buckets%s are not cumulative: le="%s" has %s, less than le="%s" with %s' % (
                    child, high.label_dict()["le"], render_value(high.value), low.label_dict()["le"],
                    render_value(low.value)), high.line)
                break
        for point in group["count"]:
            problems.extend(_check_count(family, point, series_text(point.name, point.labels)))
            if infinite and not math.isnan(point.value) and point.value != infinite[0].value:
                add(ERROR, "%s is %s but the +Inf bucket is %s" % (
                    series_text(point.name, point.labels), render_value(point.value),
                    render_value(infinite[0].value)), point.line)
        if bool(group["count"]) != bool(group["sum"]):
            present, missing = (count_name, sum_name) if group["count"] else (sum_name, count_name)
            add(ERROR, "%s without %s (they come together)"
                % (series_text(present, key), series_text(missing, key)))
    return problems


def check_summary(family: Family, fmt: str) -> List[Problem]:
    if family.type != "summary":
        return []
    problems: List[Problem] = []
    groups: Dict[Tuple[Tuple[str, str], ...], Dict[str, List[Point]]] = {}
    for point in family.points:
        group = groups.setdefault(_group_key(point, "quantile"), {"count": [], "sum": []})
        if point.name == family.name:
            quantile = point.label_dict().get("quantile")
            text = series_text(point.name, point.labels)
            if quantile is None:
                problems.append(Problem(ERROR, family.name, "%s has no 'quantile' label%s" % (text, where(point.line))))
                continue
            try:
                q = parse_number(quantile)
            except ValueError:
                q = math.nan
            if not 0 <= q <= 1:
                problems.append(Problem(ERROR, family.name, "quantile %r is not a number in [0, 1]%s"
                                        % (quantile, where(point.line))))
        elif point.name == family.name + "_count":
            group["count"].append(point)
        elif point.name == family.name + "_sum":
            group["sum"].append(point)
    for key, group in groups.items():
        for point in group["count"]:
            problems.extend(_check_count(family, point, series_text(point.name, point.labels)))
        if bool(group["count"]) != bool(group["sum"]):
            present, missing = ("_count", "_sum") if group["count"] else ("_sum", "_count")
            problems.append(Problem(ERROR, family.name, "%s without %s (they come together)" % (
                series_text(family.name + present, key), series_text(family.name + missing, key))))
    return problems


def check_exposition(exposition: Exposition) -> List[Problem]:
    """Every rule over every family, after the problems found while reading."""
    problems = list(exposition.problems)
    fmt = exposition.format
    for family in exposition.families:
        problems.extend(check_names(family, fmt))
        problems.extend(check_duplicates(family))
        problems.extend(check_counter_values(family, fmt))
        problems.extend(check_histogram(family, fmt))
        problems.extend(check_summary(family, fmt))
    if not exposition.sample_count():
        problems.append(Problem(WARNING, "-", "the exposition has no samples"))
    return problems


# -- two reads -------------------------------------------------------------------

def _monotonic_points(family: Family) -> List[Point]:
    """Samples that never decrease: counters, histogram buckets/count/sum, summary count/sum."""
    if family.type == "counter":
        return [p for p in family.points if not p.name.endswith("_created")]
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}.get(family.type, ())
    names = {family.name + suffix for suffix in suffixes}
    return [p for p in family.points if p.name in names and not p.native]


def _created_name(family: Family) -> str:
    base = family.name
    if family.type == "counter" and base.endswith("_total"):
        base = base[:-len("_total")]  # text format: the family is named after the sample
    return base + "_created"


def _snapshot(exposition: Exposition) -> Tuple[Dict[SeriesKey, Tuple[Family, Point]], Dict[SeriesKey, float]]:
    monotonic: Dict[SeriesKey, Tuple[Family, Point]] = {}
    created: Dict[SeriesKey, float] = {}
    for family in exposition.families:
        for point in family.points:
            if point.name.endswith("_created"):
                created[(point.name, tuple(sorted(point.labels)))] = point.value
        for point in _monotonic_points(family):
            monotonic.setdefault(series_key(family, point), (family, point))
    return monotonic, created


def compare_reads(first: Exposition, second: Exposition) -> List[Problem]:
    """Counters (and histogram or summary counts and sums) that went backwards or vanished."""
    before, created_before = _snapshot(first)
    after, created_after = _snapshot(second)
    problems = []
    for key, (family, old) in before.items():
        text = series_text(old.name, old.labels)
        if key not in after:
            problems.append(Problem(WARNING, family.name, "%s disappeared between the two reads" % text))
            continue
        new = after[key][1]
        if not new.value < old.value:
            continue
        created_key = (_created_name(family), _group_key(old, "le" if family.type in _HISTOGRAMS else ""))
        was, now = created_before.get(created_key), created_after.get(created_key)
        change = "%s -> %s" % (render_value(old.value), render_value(new.value))
        if was is not None and now is not None and was != now:
            problems.append(Problem(WARNING, family.name, "%s was reset between the two reads (%s; its _created "
                                    "changed, so the process restarted or reset it)" % (text, change)))
        elif old.name.endswith("_sum"):
            problems.append(Problem(WARNING, family.name, "%s went backwards between the two reads (%s); "
                                    "legitimate only if negative values are observed" % (text, change)))
        else:
            problems.append(Problem(ERROR, family.name, "%s went backwards between the two reads (%s)"
                                    % (text, change)))
    return problems
