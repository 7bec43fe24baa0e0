"""Fuzz test of both parsers: arbitrary input raises ValueError or parses, never hangs.

100,000 inputs, made by mutating valid Prometheus-text and OpenMetrics
expositions (byte flips, truncations, deletions, swapped and duplicated lines,
inserted quotes, braces, backslashes, ``#``, newlines, keywords, numbers and
random Unicode), are each fed to the text parser and to the OpenMetrics
parser. Any exception other than ValueError fails the test, and so does an
input that takes longer than a generous watchdog limit (a hang; the limit is
not a speed requirement). The generator is seeded, so a failure reproduces.
"""
from __future__ import annotations

import random
import signal
from typing import Callable, Iterator, List

import pytest

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

INPUTS = 100_000
HANG_LIMIT_S = 5.0

SEEDS = [
    '# HELP a_total Some help\n# TYPE a_total counter\na_total{x="1"} 1\na_total{x="2"} 2.5 1500\n',
    '# HELP g help with \\\\ and \\n\n# TYPE g gauge\ng 1.5\ng{a="b",c="d\\"e"} -2\n',
    '# TYPE h histogram\nh_bucket{le="1.0"} 0\nh_bucket{le="+Inf"} 3\nh_count 3\nh_sum 4.5\nh_created 1.2\n',
    '{"a.b",c="d"} 1\n# TYPE "x.y" gauge\n{"x.y"} 2\na NaN\nb 1e3 1000\nc{} 1\nd{,} 2\n',
    '# TYPE a counter\n# HELP a help\na_total{x="1"} 1 # {t="1"} 1 1.5\na_created{x="1"} 1.5\n# EOF\n',
    '# TYPE g_seconds gauge\n# UNIT g_seconds seconds\ng_seconds 1.5 1700000000.123\n# EOF\n',
    '# TYPE gh gaugehistogram\ngh_bucket{le="-1.0"} 0\ngh_bucket{le="+Inf"} 3\ngh_gcount 3\ngh_gsum -4.5\n# EOF\n',
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 2\ns_sum 3\n# TYPE i info\ni_info{v="1"} 1\n# EOF\n',
    '# TYPE ss stateset\nss{ss="a"} 1\nss{ss="b"} 0\na{x="1"} 1 1\na{x="1"} 2 2\n# EOF\n',
    '# TYPE nh histogram\nnh {count:24,sum:100.5,schema:0,zero_threshold:0.001,zero_count:4,'
    'positive_spans:[0:2,1:2],positive_deltas:[2,1,-3,3]} # {t="a"} 0.67\n'
    'nh{a="b"} {count:1,sum:2,schema:-1,zero_threshold:0,zero_count:0,negative_spans:[0:1],'
    'negative_deltas:[1]}\nnh_bucket{le="+Inf"} 1\nnh_count 1\nnh_sum 2\n# EOF\n',
]

PIECES = [
    ' ', '\t', '{', '}', '"', '\\', ',', '=', '#', '# ', ' # ', '\n', '\r', ':', '[', ']', '_', '.', '-', '+',
    'a', '1', 'e', 'NaN', '+Inf', 'Inf', 'HELP', 'TYPE', 'UNIT', '# EOF', '_total', '_bucket', '_count',
    '_sum', '_created', '_gsum', 'le', 'quantile', '__name__', 'counter', 'gauge', 'histogram', 'summary',
    'info', 'stateset', 'untyped', 'gaugehistogram', '\\n', '\\"', '\\\\', '"x"', '=""', '1.5', '1e400',
    '9' * 40, '\x00', '\x0b', '\u3000', '\u0661', '\ud800', '{count:1,sum:2,schema:0,zero_threshold:0,zero_count:0}',
    'count:', 'positive_spans:[0:1]',
]


def _random_unicode(rng: random.Random) -> str:
    return ''.join(chr(rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0x80, 0x800),
                                   rng.randrange(0x800, 0x10000), rng.randrange(0x10000, 0x110000)]))
                   for _ in range(rng.randint(1, 3)))


def mutate(text: str, rng: random.Random) -> str:
    """Apply one to four random mutations to ``text``."""
    for _ in range(rng.randint(1, 4)):
        position = rng.randint(0, len(text))
        operation = rng.random()
        if operation < 0.40:
            text = text[:position] + rng.choice(PIECES) + text[position:]
        elif operation < 0.48:
            text = text[:position] + _random_unicode(rng) + text[position:]
        elif operation < 0.63:
            text = text[:position] + text[position + rng.randint(1, 5):]
        elif operation < 0.70:
            text = text[:position]
        elif operation < 0.80 and text:
            index = rng.randrange(len(text))
            flipped = chr(ord(text[index]) ^ (1 << rng.randrange(8)))
            text = text[:index] + flipped + text[index + 1:]
        else:
            lines = text.split('\n')
            first, second = rng.randrange(len(lines)), rng.randrange(len(lines))
            if operation < 0.90:
                lines[first], lines[second] = lines[second], lines[first]
            else:
                lines.insert(first, lines[second])
            text = '\n'.join(lines)
    return text


def generated_inputs(count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        seed_text = rng.choice(SEEDS)
        if rng.random() < 0.3:
            # A single line, so that the mutation hits it with more weight.
            seed_text = rng.choice(seed_text.split('\n')[:-1]) + '\n# EOF\n'
        yield mutate(seed_text, rng)


class Hang(Exception):
    """Raised by the watchdog when one input takes far too long."""


def _parse_all(parse: Callable[[str], Iterator[object]], text: str) -> None:
    try:
        for _ in parse(text):
            pass
    except ValueError:
        pass


@pytest.mark.slow
def test_parsers_only_raise_value_error_and_never_hang() -> None:
    watchdog = hasattr(signal, 'setitimer')
    if watchdog:
        def on_alarm(signum, frame):
            raise Hang()
        previous = signal.signal(signal.SIGALRM, on_alarm)
    failures: List[str] = []
    try:
        for text in generated_inputs(INPUTS, seed=20260):
            for parse in (parse_text, parse_openmetrics):
                if watchdog:
                    signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT_S)
                try:
                    _parse_all(parse, text)
                except Hang:
                    failures.append('hang in %s: %r' % (parse.__module__, text))
                except Exception as error:  # noqa: BLE001 (any other type is the failure)
                    failures.append('%s in %s: %r' % (type(error).__name__, parse.__module__, text))
                finally:
                    if watchdog:
                        signal.setitimer(signal.ITIMER_REAL, 0)
            if len(failures) >= 5:
                break
    finally:
        if watchdog:
            signal.signal(signal.SIGALRM, previous)
    assert not failures, failures


def test_generator_is_deterministic_and_varied() -> None:
    first = list(generated_inputs(200, seed=1))
    assert first == list(generated_inputs(200, seed=1))
    assert len(set(first)) > 150
