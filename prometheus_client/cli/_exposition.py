"""What ``check`` looks at: an exposition read leniently, line by line.

The library's parsers are the judges of validity (``check`` runs them too),
but they stop at the first error, and the OpenMetrics one keeps only the
first of two identical series. To report *every* problem, and where it is,
``check`` also reads the text with the tolerant reader here: each sample line
becomes a :class:`Point` with its line number, grouped into a
:class:`Family` by the TYPE lines and the naming rules of the format; lines
it cannot read, and structural faults (a family split in two, a second TYPE
line), become :class:`Problem` s. Protobuf input is converted from the
decoded families into the same model.

Pure functions of their input; no I/O.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

from ..encoders._escaping import escape_label_value

TEXT = "text"
OPENMETRICS = "openmetrics"
PROTOBUF = "protobuf"

FORMAT_NAMES = {
    TEXT: "Prometheus text 0.0.4",
    OPENMETRICS: "OpenMetrics 1.0",
    PROTOBUF: "Prometheus protobuf",
}

# Sample names a family owns: the family name plus one of these suffixes.
_SUFFIXES = {
    TEXT: {
        "counter": ("",),
        "gauge": ("",),
        "untyped": ("",),
        "summary": ("", "_sum", "_count"),
        "histogram": ("_bucket", "_sum", "_count"),
    },
    OPENMETRICS: {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "unknown": ("",),
        "summary": ("", "_sum", "_count", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
        "info": ("_info",),
        "stateset": ("",),
    },
}
_UNTYPED = {TEXT: "untyped", OPENMETRICS: "unknown"}
_ALL_SUFFIXES = ("_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info")

ERROR = "error"
WARNING = "warning"


class Problem(NamedTuple):
    """One finding: printed as ``<severity>: <metric>: <message>``."""

    severity: str  # ERROR or WARNING
    metric: str  # the family name, or "-" when no family is concerned
    message: str

    def __str__(self) -> str:
        return "%s: %s: %s" % (self.severity, self.metric, self.message)


@dataclass
class Point:
    """One sample line: name, labels in written order, value, line number."""

    name: str
    labels: Tuple[Tuple[str, str], ...]
    value: float
    line: Optional[int] = None  # None for protobuf input
    native: bool = False  # a native-histogram sample (protobuf), no classic buckets

    def label_dict(self) -> Dict[str, str]:
        return dict(self.labels)


@dataclass
class Family:
    name: str
    type: str
    line: Optional[int] = None
    points: List[Point] = field(default_factory=list)
    declared: bool = False  # had a TYPE line (or is a decoded protobuf family)


@dataclass
class Exposition:
    format: str
    families: List[Family]
    problems: List[Problem]

    def sample_count(self) -> int:
        return sum(len(family.points) for family in self.families)


def where(line: Optional[int]) -> str:
    return " (line %d)" % line if line is not None else ""


def render_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def series_text(name: str, labels: Iterable[Tuple[str, str]]) -> str:
    """``name{a="b",...}`` as it would be written (no braces when no labels)."""
    pairs = ",".join('%s="%s"' % (key, escape_label_value(value)) for key, value in labels)
    return "%s{%s}" % (name, pairs) if pairs else name


# -- reading one line ------------------------------------------------------------

class _LineError(ValueError):
    pass


_BLANKS = " \t"


def _skip_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in _BLANKS:
        position += 1
    return position


def _quoted(text: str, position: int) -> Tuple[str, int]:
    """Read the quoted string starting at ``text[position] == '"'``."""
    out = []
    position += 1
    while position < len(text):
        char = text[position]
        if char == "\\":
            if position + 1 >= len(text):
                break
            escaped = text[position + 1]
            out.append({"\\": "\\", "n": "\n", '"': '"'}.get(escaped, "\\" + escaped))
            position += 2
        elif char == '"':
            return "".join(out), position + 1
        else:
            out.append(char)
            position += 1
    raise _LineError("unterminated quoted string")


def _token(text: str, position: int, stop: str) -> Tuple[str, int]:
    """A quoted string, or a run of characters up to one of ``stop`` or a blank."""
    if position < len(text) and text[position] == '"':
        return _quoted(text, position)
    start = position
    while position < len(text) and text[position] not in stop and text[position] not in _BLANKS:
        position += 1
    return text[start:position], position


def _label_set(text: str, position: int) -> Tuple[Optional[str], List[Tuple[str, str]], int]:
    """Read ``{...}`` starting at ``text[position] == '{'``: (quoted metric name, labels, end)."""
    metric_name: Optional[str] = None
    labels: List[Tuple[str, str]] = []
    position += 1
    first = True
    while True:
        position = _skip_blanks(text, position)
        if position >= len(text):
            raise _LineError("missing '}'")
        if text[position] == "}":
            return metric_name, labels, position + 1
        quoted = text[position] == '"'
        name, position = _token(text, position, '=,}')
        position = _skip_blanks(text, position)
        if first and quoted and position < len(text) and text[position] in ",}":
            metric_name = name  # {"my.metric",...}
        else:
            if not name:
                raise _LineError("missing label name")
            if position >= len(text) or text[position] != "=":
                raise _LineError("missing '=' after label name %r" % name)
            position = _skip_blanks(text, position + 1)
            if position >= len(text) or text[position] != '"':
                raise _LineError("label value of %r is not quoted" % name)
            value, position = _quoted(text, position)
            labels.append((name, value))
            position = _skip_blanks(text, position)
        first = False
        if position < len(text) and text[position] == ",":
            position += 1
        elif position >= len(text) or text[position] != "}":
            raise _LineError("expected ',' or '}' in the label set")


def parse_number(token: str) -> float:
    """A sample value as Prometheus reads it (no hex, no underscores)."""
    if "_" in token or "x" in token.lower():
        raise ValueError(token)
    return float(token)


def _sample_line(text: str) -> Tuple[str, List[Tuple[str, str]], float]:
    position = 0
    name = ""
    labels: List[Tuple[str, str]] = []
    if text[0] != "{":
        name, position = _token(text, 0, "{")
        position = _skip_blanks(text, position)
    if position < len(text) and text[position] == "{":
        quoted_name, labels, position = _label_set(text, position)
        if quoted_name is not None:
            if name:
                raise _LineError("metric name given twice")
            name = quoted_name
    if not name:
        raise _LineError("no metric name")
    rest = text[position:].split()
    if not rest:
        raise _LineError("no value")
    try:
        value = parse_number(rest[0])
    except ValueError:
        raise _LineError("value %r is not a number" % rest[0]) from None
    return name, labels, value


# -- grouping lines into families ---------------------------------------------------

class _Reader:
    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self.suffixes = _SUFFIXES[fmt]
        self.families: List[Family] = []
        self.by_name: Dict[str, Family] = {}
        self.current: Optional[Family] = None
        self.problems: List[Problem] = []
        self.metadata_lines: Dict[Tuple[str, str], int] = {}
        self.reported_split: set = set()
        self.unreadable: List[Tuple[int, str]] = []

    def owns(self, family: Family, sample_name: str) -> bool:
        return any(family.name + suffix == sample_name for suffix in self.suffixes.get(family.type, ("",)))

    def family_for_sample(self, name: str, line: int) -> Family:
        if self.current is not None and self.owns(self.current, name):
            return self.current
        candidates = [name] + [name[:-len(s)] for s in _ALL_SUFFIXES if name.endswith(s) and len(name) > len(s)]
        for base in candidates:
            family = self.by_name.get(base)
            if family is not None and self.owns(family, name):
                self._note_split(family, line)
                self.current = family
                return family
        return self._new_family(name, _UNTYPED[self.format], line, declared=False)

    def _new_family(self, name: str, typ: str, line: int, declared: bool) -> Family:
        family = Family(name, typ, line, declared=declared)
        self.families.append(family)
        self.by_name.setdefault(name, family)
        self.current = family
        return family

    def _note_split(self, family: Family, line: int) -> None:
        if family is not self.current and family.name not in self.reported_split:
            self.reported_split.add(family.name)
            self.problems.append(Problem(
                ERROR, family.name,
                "the lines of this family are not together: line %d comes after lines of %s; "
                "families must not be interleaved" % (line, self.current.name if self.current else "another family")))

    def metadata(self, keyword: str, name: str, rest: str, line: int) -> None:
        family = self.by_name.get(name)
        if family is None:
            family = self._new_family(name, _UNTYPED[self.format], line, declared=False)
        elif family is not self.current:
            self._note_split(family, line)
            self.current = family
        first = self.metadata_lines.get((keyword, name))
        if first is not None:
            self.problems.append(Problem(ERROR, name, "second %s line (line %d; the first is line %d)"
                                         % (keyword, line, first)))
            return
        self.metadata_lines[(keyword, name)] = line
        if family.points:
            self.problems.append(Problem(ERROR, name, "%s line after the samples of the family%s"
                                         % (keyword, where(line))))
        if keyword == "TYPE":
            typ = rest.split()[0] if rest.split() else ""
            if typ not in self.suffixes:
                self.problems.append(Problem(
                    ERROR, name, "unknown type %r for %s (line %d); it is read as %s"
                    % (typ, FORMAT_NAMES[self.format], line, _UNTYPED[self.format])))
                typ = _UNTYPED[self.format]
            family.type = typ
            family.declared = True
            family.line = line

    def read_line(self, text: str, line: int) -> None:
        if text[0] == "#":
            position = _skip_blanks(text, 1)
            keyword, position = _token(text, position, "")
            if keyword not in ("HELP", "TYPE", "UNIT"):
                return
            position = _skip_blanks(text, position)
            name, position = _token(text, position, "")
            if name:
                self.metadata(keyword, name, text[position:], line)
            return
        name, labels, value = _sample_line(text)
        family = self.family_for_sample(name, line)
        family.points.append(Point(name, tuple(labels), value, line))


def read_text(text: str, fmt: str) -> Exposition:
    """Read a text or OpenMetrics exposition leniently (see the module docstring)."""
    reader = _Reader(fmt)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif text and fmt == TEXT:
        reader.problems.append(Problem(ERROR, "-", "the last line does not end with a line feed"))
    crlf = 0
    for number, raw in enumerate(lines, 1):
        if raw.endswith("\r"):
            crlf += 1
            if crlf == 1:
                reader.problems.append(Problem(
                    ERROR, "-", "line %d ends with a carriage return (CR LF); only LF ends a line" % number))
        stripped = raw.strip()
        if not stripped:
            continue
        if fmt == OPENMETRICS and stripped == "# EOF":
            break
        try:
            reader.read_line(stripped, number)
        except _LineError as error:
            reader.unreadable.append((number, str(error)))
    if reader.unreadable:
        number, reason = reader.unreadable[0]
        more = len(reader.unreadable) - 1
        reader.problems.append(Problem(
            ERROR, "-", "cannot read line %d: %s%s" % (
                number, reason, " (and %d more unreadable line%s)" % (more, "s" if more > 1 else "") if more else "")))
    return Exposition(fmt, reader.families, reader.problems)


def from_families(families: Iterable[object], fmt: str = PROTOBUF) -> Exposition:
    """The model of decoded ``Metric`` families (the protobuf decoder's output)."""
    result: List[Family] = []
    for metric in families:
        family = Family(metric.name, metric.type, None, declared=True)  # type: ignore[attr-defined]
        for sample in metric.samples:  # type: ignore[attr-defined]
            native = getattr(sample, "native_histogram", None) is not None
            value = float("nan") if native and sample.value is None else float(sample.value)
            family.points.append(Point(sample.name, tuple(sample.labels.items()), value, None, native))
        result.append(family)
    return Exposition(fmt, result, [])


_LEGACY_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LEGACY_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def is_legacy_metric_name(name: str) -> bool:
    return bool(_LEGACY_METRIC_NAME.match(name))


def is_legacy_label_name(name: str) -> bool:
    return bool(_LEGACY_LABEL_NAME.match(name))
