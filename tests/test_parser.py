"""Tests for prometheus_client.parser (Prometheus text format) and the shared lexer.

Three kinds of test:

* table-driven unit tests of the documented behaviour (behaviors.md §18.1),
  lexer helpers included;
* round trips through the text encoder;
* differential tests: a corpus of valid and invalid inputs, hand-written and
  Hypothesis-generated, parsed by ours and by the classic client 0.26.0
  (a black-box interpreter, one subprocess per test module) and compared
  family by family, error type and message included.

The classic interpreter comes from ``$PROMETHEUS_CLASSIC_PYTHON``, else
``.venv-classic/bin/python`` in the repository, else ``/tmp/classic/bin/python``.
Without one the differential tests are skipped (they fail under CI).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import tempfile
from typing import Any, Dict, Iterable, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import (
    ESCAPE_SEQUENCES, ESCAPING_RE, HELP_ESCAPING_RE, _last_unquoted_char,
    _next_term, _next_unquoted_char, _parse_sample, _parse_value,
    _parse_value_and_timestamp, _split_quoted, _unquote_unescape, parse_labels,
    replace_escape_sequence, text_fd_to_metric_families,
    text_string_to_metric_families,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------
# Helpers


def describe(text: str, parse=text_string_to_metric_families) -> Dict[str, Any]:
    """Families parsed from ``text`` (as comparable lists) and the error, if any."""
    families: List[list] = []
    try:
        for family in parse(text):
            families.append([family.name, family.documentation, family.type, family.unit,
                             [repr(sample) for sample in family.samples]])
    except Exception as error:  # noqa: BLE001 (the type is part of the result)
        return {'families': families, 'error': [type(error).__name__, str(error)]}
    return {'families': families, 'error': None}


def sample_reprs(text: str) -> List[str]:
    return [repr(sample) for family in text_string_to_metric_families(text) for sample in family.samples]


def error_of(text: str) -> str:
    with pytest.raises(ValueError) as info:
        list(text_string_to_metric_families(text))
    return str(info.value)


# --------------------------------------------------------------------------
# The classic client as an oracle (shared by the OpenMetrics tests)

#: Runs under the classic interpreter: reads JSON lines ``[[kind, text], ...]``
#: (kind ``text`` or ``om``) and answers each with a JSON line of results.
CLASSIC_DRIVER = r'''
import json, signal, sys
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

class Hang(Exception):
    pass

def on_alarm(signum, frame):
    raise Hang()

signal.signal(signal.SIGALRM, on_alarm)

def run(kind, text):
    parse = text_parse if kind == 'text' else om_parse
    families = []
    signal.alarm(5)
    try:
        for family in parse(text):
            families.append([family.name, family.documentation, family.type, family.unit,
                             [repr(sample) for sample in family.samples]])
    except Hang:
        return {'families': families, 'error': ['Hang', '']}
    except Exception as error:
        return {'families': families, 'error': [type(error).__name__, str(error)]}
    finally:
        signal.alarm(0)
    return {'families': families, 'error': None}

import prometheus_client
print(json.dumps({'module_file': prometheus_client.__file__}), flush=True)
for line in sys.stdin:
    cases = json.loads(line)
    print(json.dumps([run(kind, text) for kind, text in cases]), flush=True)
'''


def find_classic_python() -> Optional[str]:
    env = os.environ.get('PROMETHEUS_CLASSIC_PYTHON')
    if env:
        return env
    for candidate in (os.path.join(REPO, '.venv-classic', 'bin', 'python'), '/tmp/classic/bin/python'):
        if os.path.exists(candidate):
            return candidate
    return None


class ClassicParsers:
    """The classic client's parsers, in one long-lived subprocess."""

    def __init__(self, python: str) -> None:
        self.process = subprocess.Popen(
            [python, '-I', '-c', CLASSIC_DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding='utf-8', errors='surrogatepass',
            cwd=tempfile.gettempdir())
        assert self.process.stdout is not None
        header = self.process.stdout.readline()
        if not header:
            raise RuntimeError(self.process.stderr.read() if self.process.stderr else '')
        self.module_file = json.loads(header)['module_file']

    def run(self, kind: str, texts: Iterable[str]) -> List[Dict[str, Any]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps([[kind, text] for text in texts]) + '\n')
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise RuntimeError('classic driver exited: ' + (self.process.stderr.read() or '')[-2000:])
        return json.loads(reply)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


def open_classic():
    """Generator for a module-scoped fixture: the classic parsers, or a skip."""
    python = find_classic_python()
    if not python or not os.path.exists(python):
        message = ('no classic prometheus_client interpreter ($PROMETHEUS_CLASSIC_PYTHON, '
                   '.venv-classic/bin/python, /tmp/classic/bin/python)')
        if os.environ.get('CI'):
            pytest.fail('differential parser tests need the classic client under CI: ' + message,
                        pytrace=False)
        pytest.skip(message)
    classic = ClassicParsers(python)
    if os.path.realpath(classic.module_file).startswith(os.path.join(REPO, 'prometheus_client')):
        classic.close()
        pytest.fail('the classic interpreter imports this repository', pytrace=False)
    try:
        yield classic
    finally:
        classic.close()


def assert_same_as_classic(classic: ClassicParsers, kind: str, texts: List[str], parse) -> None:
    """Parse every text with both clients and compare the results.

    Where the classic client fails with something other than a ValueError (a
    KeyError, AttributeError or TypeError on malformed input, or a hang), ours
    must raise a ValueError after the same families. ``Clashing name``
    messages name one of several clashing names, chosen by set order in the
    classic client, so only their prefix is compared.
    """
    theirs = classic.run(kind, texts)
    mismatches = []
    for text, expected in zip(texts, theirs):
        actual = describe(text, parse)
        if actual['error'] is not None:
            assert actual['error'][0] in ('ValueError', 'UnicodeEncodeError'), (text, actual)
        if actual == expected:
            continue
        if expected['error'] and actual['error'] and actual['families'] == expected['families']:
            if expected['error'][0] not in ('ValueError', 'UnicodeEncodeError'):
                continue  # documented deviation: ours raises ValueError instead
            if expected['error'][1].startswith('Clashing name: ') and \
                    actual['error'][1].startswith('Clashing name: '):
                continue
        mismatches.append((text, expected, actual))
    assert not mismatches, '%d of %d differ, first: %r' % (len(mismatches), len(texts), mismatches[0])


@pytest.fixture(scope='module')
def classic():
    yield from open_classic()


# --------------------------------------------------------------------------
# Documented behaviour


@pytest.mark.parametrize('text, expected', [
    ('a 1\n', ["Sample(name='a', labels={}, value=1, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a{b="c"} 1 1500\n',
     ["Sample(name='a', labels={'b': 'c'}, value=1, timestamp=1.5, exemplar=None, native_histogram=None)"]),
    ('a 1 2 3\n', ["Sample(name='a', labels={}, value=1, timestamp=0.003, exemplar=None, native_histogram=None)"]),
    ('a 1.0\n', ["Sample(name='a', labels={}, value=1.0, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a 1e3\n', ["Sample(name='a', labels={}, value=1000.0, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a 0042\n', ["Sample(name='a', labels={}, value=42, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a -Inf\n', ["Sample(name='a', labels={}, value=-inf, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a\t{b="c"}\t1\t2\n',
     ["Sample(name='a', labels={'b': 'c'}, value=1, timestamp=0.002, exemplar=None, native_histogram=None)"]),
    ('a { b = "c" , d = "e" } 1\n',
     ["Sample(name='a', labels={'b': 'c', 'd': 'e'}, value=1, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a{b="c",} 1\n',
     ["Sample(name='a', labels={'b': 'c'}, value=1, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a{} 1\na{,} 2\n',
     ["Sample(name='a', labels={}, value=1, timestamp=None, exemplar=None, native_histogram=None)",
      "Sample(name='a', labels={}, value=2, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('{"a.b",c="d"} 1\n',
     ["Sample(name='a.b', labels={'c': 'd'}, value=1, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a{"b.c"="d"} 1\n',
     ["Sample(name='a', labels={'b.c': 'd'}, value=1, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a{b="c\\\\d\\ne\\"f\\q"} 1\n',
     ['Sample(name=\'a\', labels={\'b\': \'c\\\\d\\ne"f\\\\q\'}, value=1, timestamp=None, exemplar=None, '
      'native_histogram=None)']),
    ('a{b="}"} 1\n',
     ["Sample(name='a', labels={'b': '}'}, value=1, timestamp=None, exemplar=None, native_histogram=None)"]),
    ('a 1 # {x="y"} 2\n',  # a trailing exemplar is misread as a timestamp
     ["Sample(name='a', labels={}, value=1, timestamp=0.002, exemplar=None, native_histogram=None)"]),
    ('  # TYPE a gauge  \n\n  a 1  \n\n', [
        "Sample(name='a', labels={}, value=1, timestamp=None, exemplar=None, native_histogram=None)"]),
])
def test_samples(text: str, expected: List[str]) -> None:
    assert sample_reprs(text) == expected


@pytest.mark.parametrize('text, families', [
    # Unexpected names become one-sample unknown families.
    ('a NaN\na +Inf\na -Inf\n', [('a', '', 'unknown', 1)] * 3),
    ('# TYPE a gauge\na 1\na 2\n', [('a', '', 'gauge', 2)]),
    ('# TYPE a info\na_info{x="y"} 1\n', [('a', '', 'info', 0), ('a_info', '', 'unknown', 1)]),
    ('# TYPE a histogram\na_bucket{le="1"} 1\na_count 1\na_sum 2\na_created 3\n',
     [('a', '', 'histogram', 3), ('a_created', '', 'unknown', 1)]),
    ('# TYPE a summary\na{quantile="0.5"} 1\na_count 1\na_sum 2\n', [('a', '', 'summary', 3)]),
    ('# TYPE a untyped\na 1\n', [('a', '', 'unknown', 1)]),
    # HELP and TYPE for a new name flush the current family.
    ('# HELP a h\n# HELP b i\n', [('a', 'h', 'unknown', 0), ('b', 'i', 'unknown', 0)]),
    ('# HELP a h\n# TYPE a counter\n# HELP a x\n', [('a', 'x', 'counter', 0)]),
    ('# HELP "a b" c d\n', [('a b', 'c d', 'unknown', 0)]),
    ('# HELP a\n', [('a', '', 'unknown', 0)]),
    # Comments, and HELP/TYPE-less comment lines, are ignored.
    ('#\n# \n#HELP a b\n# FOO a.b c\n# EOF\n', []),
])
def test_family_grouping(text: str, families: list) -> None:
    parsed = [(f.name, f.documentation, f.type, len(f.samples)) for f in text_string_to_metric_families(text)]
    assert parsed == families


def test_counter_total_rules() -> None:
    [family] = text_string_to_metric_families('# TYPE a counter\na 1\n')
    assert (family.name, family.samples[0].name) == ('a', 'a_total')
    [family] = text_string_to_metric_families('# TYPE a_total counter\na_total 1\n')
    assert (family.name, family.samples[0].name) == ('a', 'a_total')
    # The renaming follows the final TYPE of the family.
    [family] = text_string_to_metric_families('# TYPE a counter\na 1\n# TYPE a gauge\na 2\n')
    assert [s.name for s in family.samples] == ['a', 'a']


def test_help_unescaping() -> None:
    [family] = text_string_to_metric_families('# HELP a x\\\\y\\nz\\"q\\t\n')
    assert family.documentation == 'x\\y\nz\\"q\\t'


@pytest.mark.parametrize('text, message', [
    ('a 1_0\n', "Invalid value: '1_0'"),
    ('a 1 2_0\n', "Invalid value: '2_0'"),
    ('a 0x10\n', "could not convert string to float: '0x10'"),
    ('a\n', 'invalid metric name:a'),
    ('a.b 1\n', 'invalid metric name:a.b 1'),
    ('a{__name__="x"} 1\n', 'metric name specified more than once'),
    ('{a="b"} 1\n', ''),
    ('{""} 1\n', 'metric name cannot be empty'),
    ('a{b="c",,} 1\n', 'Invalid labels: b="c",,'),
    ('a{b="c" d="e"} 1\n', 'Invalid labels: b="c" d="e"'),
    ('a{b=c} 1\n', 'Invalid labels: b=c'),
    ('a{__a="b"} 1\n', 'Invalid labels: __a="b"'),
    ('a{b="c",b="d"} 1\n', 'Invalid labels: b="c",b="d"'),
    ('a{b="c} 1\n', 'could not convert string to float: \'{b="c}\''),
    ('a{b="c"}\n', "could not convert string to float: ''"),
    ('# HELP a.b x\n', ''),
    ('# TYPE a\n', ''),
    ('# HELP "a\n', 'missing close quote'),
    ('# TYPE a counter extra\na 1\n', 'Invalid metric type: counter extra'),
    ('# TYPE _total counter\n', 'metric name cannot be empty'),
    ('a 1 ' + '9' * 400 + '\n', 'integer division result too large for a float'),
])
def test_errors(text: str, message: str) -> None:
    assert error_of(text) == message


def test_families_before_an_error_are_yielded() -> None:
    families = text_string_to_metric_families('a 1\n# TYPE b foo\nb 1\nc 1\n')
    assert next(families).name == 'a'
    with pytest.raises(ValueError, match='Invalid metric type: foo'):
        next(families)


def test_fd_input() -> None:
    families = list(text_fd_to_metric_families(io.StringIO('# TYPE a gauge\na 1\n')))
    assert [(f.name, f.type) for f in families] == [('a', 'gauge')]
    # Any iterable of lines works, with or without newlines.
    assert [f.name for f in text_fd_to_metric_families(['a 1', 'b 2\n'])] == ['a', 'b']


# --------------------------------------------------------------------------
# Lexer helpers (re-exported under the reference names)


def test_escape_constants() -> None:
    assert ESCAPE_SEQUENCES == {'\\\\': '\\', '\\n': '\n', '\\"': '"'}
    assert ESCAPING_RE.pattern == r'\\[\\n"]'
    assert HELP_ESCAPING_RE.pattern == r'\\[\\n]'
    assert replace_escape_sequence(ESCAPING_RE.search('x\\ny')) == '\n'


@pytest.mark.parametrize('labels, openmetrics, expected', [
    ('', False, {}),
    (' ', False, {}),
    (',', False, {}),
    ('a="b",', False, {'a': 'b'}),
    (',a="b"', False, {'a': 'b'}),
    (' a = "b" , c = "d" ', False, {'a': 'b', 'c': 'd'}),
    ('"a.b"="c"', False, {'a.b': 'c'}),
    ('"x",a="b"', False, {'__name__': 'x', 'a': 'b'}),
    ('__name__="x"', False, {'__name__': 'x'}),
    ('a:b="c"', False, {'a:b': 'c'}),
    ('a="\\q\\n\\\\\\""', False, {'a': '\\q\n\\"'}),
    ('a=", }"', True, {'a': ', }'}),
    ('a="b" ,c="d"', True, {'a': 'b', 'c': 'd'}),
])
def test_parse_labels(labels: str, openmetrics: bool, expected: Dict[str, str]) -> None:
    assert parse_labels(labels, openmetrics) == expected


@pytest.mark.parametrize('labels, openmetrics, message', [
    (',', True, 'leading comma: ,'),
    (' ,a="b"', True, 'leading comma:  ,a="b"'),
    ('a="b",', True, 'Invalid labels: a="b",'),
    ('a="b",,c="d"', False, 'Invalid labels: a="b",,c="d"'),
    ('a="b",a="c"', False, 'Invalid labels: a="b",a="c"'),
    ('a.b="c"', False, 'Invalid labels: a.b="c"'),
    ('"__a"="b"', False, 'Invalid labels: "__a"="b"'),
    ('a="b\\"', False, 'Invalid labels: a="b\\"'),
    ('x', False, 'Invalid labels: x'),
    ("a='b'", False, "Invalid labels: a='b'"),
    # The classic client loops forever on these; ours rejects them.
    ('}', False, 'Invalid labels: }'),
    ('a="b"}', False, 'Invalid labels: a="b"}'),
])
def test_parse_labels_errors(labels: str, openmetrics: bool, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_labels(labels, openmetrics)
    assert str(info.value) == message


def test_quote_aware_searches() -> None:
    assert _next_unquoted_char('a"b"c', 'c') == 4
    assert _next_unquoted_char('a"b\\"c"c', 'c') == 7
    assert _next_unquoted_char('a bc', None) == 1
    assert _next_unquoted_char('a\u3000bc', None) == -1
    assert _next_unquoted_char('a"bc', 'c', 2) == 3
    assert _last_unquoted_char('a"b"c"c', 'c') == 6
    assert _last_unquoted_char('ac"', 'c') == -1
    assert _last_unquoted_char('a', 'a') == -1  # index 0 is never examined


def test_split_quoted() -> None:
    assert _split_quoted(' a b  c ', None) == ['a', 'b', 'c', '']
    assert _split_quoted('a "b c" d', None) == ['a', '"b c"', 'd']
    assert _split_quoted('# HELP  a  b  c ', None, 3) == ['#', 'HELP', 'a', 'b  c ']
    assert _split_quoted('a,b,,c', ',') == ['a', 'b', 'c']
    assert _split_quoted('', None) == ['']


def test_unquote_and_terms() -> None:
    assert _unquote_unescape('"a\\"b"') == ('a"b', True)
    assert _unquote_unescape(' "a" ') == ('a', True)
    assert _unquote_unescape('a\\nb') == ('a\nb', False)
    with pytest.raises(ValueError, match='missing close quote'):
        _unquote_unescape('"ab')
    assert _next_term('a="b",c="d"}', False) == ('a', '"b"', ',c="d"}')
    assert _next_term('"a.b",x', False) == ('__name__', '"a.b"', ',x')
    with pytest.raises(ValueError, match='multiple commas'):
        _next_term(',,x', False)


def test_values_and_timestamps() -> None:
    assert _parse_value('1') == 1 and isinstance(_parse_value('1'), int)
    assert _parse_value('-0') == 0
    assert _parse_value(['1', '2']) == 12
    assert isinstance(_parse_value('1.0'), float)
    with pytest.raises(ValueError, match=r"Invalid value: ' 1 '"):
        _parse_value(' 1 ')
    assert _parse_value_and_timestamp(' 1 2 ') == (1, 0.002)
    assert _parse_value_and_timestamp('1\t2\t3') == (1, 0.003)
    with pytest.raises(ValueError, match=r"could not convert string to float: '1\\t2'"):
        _parse_value_and_timestamp('1\t2 3')
    assert _parse_sample('a b{c="d"} 1').name == 'a b'


# --------------------------------------------------------------------------
# Round trip


def test_round_trip_through_the_text_encoder() -> None:
    registry = CollectorRegistry()
    Counter('requests', 'Requests "served"\\ok', ['path'], registry=registry).labels('/a\n"b"').inc(3)
    Gauge('temp.celsius', 'Temperature', registry=registry).set(-1.5)
    Histogram('size_bytes', 'Sizes', registry=registry, buckets=(1, 10)).observe(5)
    Summary('latency_seconds', 'Latency', registry=registry).observe(0.25)
    text = generate_latest(registry, escaping='allow-utf-8').decode()
    families = list(text_string_to_metric_families(text))
    by_name = {f.name: f for f in families}
    assert by_name['requests'].type == 'counter'
    assert by_name['requests'].documentation == 'Requests "served"\\ok'
    assert by_name['requests'].samples[0].labels == {'path': '/a\n"b"'}
    assert by_name['requests'].samples[0].value == 3.0
    assert by_name['temp.celsius'].samples[0].value == -1.5
    assert [s.labels.get('le') for s in by_name['size_bytes'].samples] == ['1.0', '10.0', '+Inf', None, None]
    assert by_name['latency_seconds'].type == 'summary'


# --------------------------------------------------------------------------
# Differential tests against the classic client

TEXT_CORPUS = [
    '', '\n', 'a 1', 'a 1\n', 'a 1\r\n', 'a 1\rb 2\n', ' a 1', 'a  1', 'a\t1', 'a\t 1', 'a \n', 'a}', 'a} 1',
    'a{', 'a{}', 'a{ } 1', 'a{b="c"}1', 'a {b="c"} 1', 'a b{c="d"} 1', '"a" 1', '{"a b"} 1', '{"a b"}',
    '{__name__="b"} 1', '{__name__="b",__name__="c"} 1', 'x{"a"} 1', '{"a"}{"b"} 1', 'a{b="c"}{d="e"} 1',
    'a{b="c"} 1 # {d="e"} 2', 'a # {d="e"} 2', 'a  # {b="c"} 1', 'a #{b="c"} 1', 'a" # "{b="c"} 1',
    'a{b=" # "} 1', 'a{b="c"} 1 # {d="e"}', 'a{b="\\"}"} 1', 'a"{b="c"} 1', 'a{b="c"}} 1', 'a{{b="c"} 1',
    'a\u3000{b="c"} 1', '\u3000{"a"} 1', 'a\x0c1', 'a\r1', 'a 1\x0c 2', 'a{b="c"}\x0c1\x0c2', 'a{b="c"}\r1',
    'a 1 abc', 'a 1 -2', 'a 1 1e3', 'a 1 NaN', 'a NaN', 'a nan', 'a Infinity', 'a +1', 'a 1.5e', 'a ١',
    'a 1 "a b"', 'a "1 2" 3', 'a 1\t2 3', 'a 1 ' + '9' * 30, 'a ' + '9' * 5000,
    '#\n', '# \n', '#HELP a b\n', '# HELP\n', '# HELP a\n', '# HELP a  b  c \n', '# FOO a b c\n', '# FOO a\n',
    '# HELP a.b\n', '# HELP "a.b" x\n', '# TYPE "a.b" gauge\n', '# TYPE a  gauge\n', '#  HELP a b\n',
    '# \tHELP\ta\tb\n', '# HELP a b\n# HELP a c\n', '# TYPE \u3000u untyped\n', '# HELP u\u3000 x\n',
    '# HELP a b\n# HELP\na 1\n', '# TYPE a gauge\n# TYPE\na 1\n', '# HELP "a\n', '# HELP a\\"b x\n',
    '# HELP a b\\', '# TYPE a counter\n# HELP a x\na_total 1\na 2\na_created 3\n', '# TYPE a_total counter\na_total 1\na 2\n',
    '# TYPE a counter\n# TYPE a_total counter\na_total 1\n', '# TYPE a gauge\nb 1\na 2\n',
    '# HELP a b\nb 1\n# HELP "" q\n{""} 2\n', '# HELP "" x\na 1\n', '# TYPE "" counter\n_total 1\n',
    '# TYPE a gaugehistogram\na_bucket 1\na_gcount 2\n', '# TYPE a stateset\na 1\n', '# TYPE a foo\nb 1\n',
    'a 1\n# TYPE a foo\n', '# TYPE a counter\nx 1\n# HELP a y\n', '# TYPE a histogram\na_bucket{le="1"} 1\na_created 1\n',
    '# TYPE a gauge\r\na 1\r\n', '# EOF\n', 'a{b="c",,} 1', 'a{b=c} 1', 'a{b} 1', 'a{b="c"d="e"} 1',
    'a{b="c" d="e"} 1', 'a{a.b="c"} 1', 'a{"1a"="b"} 1', 'a{""="b"} 1', 'a{="b"} 1', 'a{__a="b"} 1',
    'a{"__a"="b"} 1', 'a{b="c",b="d"} 1', 'a{b=\'c\'} 1', 'a{b="c\\"} 1', 'a{b="c\\\\"} 1', 'a{b=""c"} 1',
    'a{b="\\q\\n\\\\\\""} 1', 'a{ä="b"} 1', 'a{b="\U0001f600"} 1', 'a{"\U0001f600"="b"} 1', 'a{b= ,c="d"} 1',
    'a{b=} 1', '{"a",__name__="b"} 1',
]


def test_corpus_matches_classic(classic: ClassicParsers) -> None:
    texts = TEXT_CORPUS + [text + '\n' for text in TEXT_CORPUS if not text.endswith('\n')]
    assert_same_as_classic(classic, 'text', texts, text_string_to_metric_families)


# A strategy for text-format expositions: mostly well-formed lines with
# random names, label sets (escapes, quoted names), values and timestamps,
# mixed with metadata lines and some raw noise.
NAMES = st.sampled_from(['a', 'a_total', 'a_count', 'a_sum', 'a_bucket', 'a_created', 'b', 'a.b', 'a b', 'x:y', '_'])
LABEL_NAMES = st.sampled_from(['l', 'le', 'quantile', '__name__', '__x', 'a.b', 'a', '1x', 'é'])
LABEL_VALUES = st.text(alphabet=st.sampled_from('ab"\\n{},= #\u3000'), max_size=6)
NUMBERS = st.sampled_from(['1', '0', '-1', '1.5', '1e3', 'NaN', '+Inf', '-Inf', '1_0', '0x1', '', '007', '1.0',
                           '١', '1e400', '99999999999999999999'])


def _quoted(text: str) -> str:
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') + '"'


@st.composite
def sample_lines(draw) -> str:
    name = draw(NAMES)
    quote_name = draw(st.booleans()) or not all(c.isalnum() or c in '_:' for c in name)
    pairs = []
    for label in draw(st.lists(LABEL_NAMES, max_size=3)):
        label_text = _quoted(label) if draw(st.booleans()) else label
        value = draw(LABEL_VALUES)
        pairs.append(label_text + '=' + (_quoted(value) if draw(st.integers(0, 9)) else value))
    if quote_name:
        series = '{' + ','.join([_quoted(name)] + pairs) + '}'
    else:
        series = name + ('{' + ','.join(pairs) + '}' if pairs or draw(st.booleans()) else '')
    parts = [series, draw(NUMBERS)]
    if draw(st.booleans()):
        parts.append(draw(NUMBERS))
    separator = draw(st.sampled_from([' ', ' ', ' ', '  ', '\t']))
    return separator.join(parts)


@st.composite
def metadata_lines(draw) -> str:
    keyword = draw(st.sampled_from(['HELP', 'TYPE', 'UNIT', 'FOO']))
    name = draw(NAMES)
    if not all(c.isalnum() or c in '_:' for c in name) or draw(st.integers(0, 5)) == 0:
        name = _quoted(name)
    if keyword == 'TYPE':
        rest = draw(st.sampled_from(['counter', 'gauge', 'summary', 'histogram', 'gaugehistogram', 'info',
                                     'stateset', 'unknown', 'untyped', 'foo', '']))
    else:
        rest = draw(st.sampled_from(['', 'help', 'a\\\\b\\n\\"c', 'seconds']))
    return '# %s %s %s' % (keyword, name, rest)


def exposition(lines) -> st.SearchStrategy[str]:
    return st.lists(lines, max_size=8).map(lambda ls: '\n'.join(ls) + '\n')


TEXT_LINES = st.one_of(sample_lines(), sample_lines(), metadata_lines(), st.text(max_size=12))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts=st.lists(exposition(TEXT_LINES), min_size=20, max_size=20))
def test_generated_expositions_match_classic(classic: ClassicParsers, texts: List[str]) -> None:
    assert_same_as_classic(classic, 'text', texts, text_string_to_metric_families)
