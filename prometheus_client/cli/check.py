"""``check``: find what is wrong with an exposition, beyond what promtool sees.

Reads an exposition from a URL (``http://``, ``https://``), a file or stdin
(``-``), detects its format, runs the library's parser for that format (a
rejection is reported) and then the rules of :mod:`._rules` on every line.
With ``--twice`` or ``--interval`` it reads the source a second time and
reports counters, histogram and summary counts and sums that went backwards
or vanished in between.

Output (stdout): one line per problem, ``<severity>: <metric>: <message>``,
then one summary line. Fetch and usage errors go to stderr.
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import List, Optional, Tuple

from . import CommandError
from ._arguments import checked
from ._exposition import (
    ERROR,
    FORMAT_NAMES,
    OPENMETRICS,
    PROTOBUF,
    TEXT,
    WARNING,
    Exposition,
    Problem,
    from_families,
    read_text,
)
from ._rules import check_exposition, compare_reads

DEFAULT_INTERVAL = 1.0
DEFAULT_TIMEOUT = 10.0

# What Prometheus 3.4+ sends by default, so the target answers as it would to it.
_PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
_ACCEPT = {
    "auto": _PROMETHEUS_ACCEPT,
    TEXT: "text/plain;version=0.0.4",
    OPENMETRICS: "application/openmetrics-text;version=1.0.0",
    PROTOBUF: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
}
_MEDIA_TYPES = {
    "text/plain": TEXT,
    "application/openmetrics-text": OPENMETRICS,
    "application/vnd.google.protobuf": PROTOBUF,
}

DESCRIPTION = """\
Fetch or read a metrics exposition, parse it and report the problems that
promtool misses: duplicate series, histograms without a +Inf bucket, with
buckets that are not cumulative or a _count that differs from the +Inf
bucket, negative or NaN counters, reserved or non-legacy names, families
split in two. With --twice (or --interval) the source is read twice and
counters, histogram and summary counts and sums that went backwards or
vanished between the reads are reported too, and the first error that only
the second read has.

The format is taken from the Content-Type of a URL (which is fetched with
the Accept header of Prometheus 3) and sniffed for files and stdin: a
'# EOF' line means OpenMetrics, binary data means protobuf, anything else
is the text format 0.0.4. --format forces one (and, for a URL, asks for it).
"""

EPILOG = """\
output: one line per problem, '<severity>: <metric>: <message>' (severity
'error' or 'warning'; metric '-' when no family is concerned), then a
summary line.
exit status: 0 no errors (warnings allowed unless --strict), 1 problems
found, 2 usage error or the source could not be read.

examples:
  %(prog)s http://localhost:8000/metrics
  %(prog)s --interval 15 https://app:9097/metrics --cafile ca.crt
  curl -s localhost:8000/metrics | %(prog)s -
"""


def add_parser(commands: "argparse._SubParsersAction") -> None:
    parser = commands.add_parser(
        "check", help="report problems in an exposition (URL, file or stdin)",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", metavar="URL|FILE|-",
                        help="an http:// or https:// URL, a file, or - for stdin")
    parser.add_argument("--format", choices=("auto", TEXT, OPENMETRICS, PROTOBUF), default="auto",
                        help="the exposition format (default: auto, see above)")
    parser.add_argument("--twice", action="store_true",
                        help="read twice, %g s apart, and compare the reads" % DEFAULT_INTERVAL)
    parser.add_argument("--interval", type=_positive_seconds, metavar="SECONDS",
                        help="read twice, SECONDS apart (implies --twice)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 on warnings too")
    http = parser.add_argument_group("URL options")
    http.add_argument("--timeout", type=_positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                      help="HTTP timeout (default %g)" % DEFAULT_TIMEOUT)
    http.add_argument("--cafile", metavar="FILE", help="CA certificates to verify an https:// server with")
    http.add_argument("--certfile", metavar="FILE", help="client certificate, for servers that require one")
    http.add_argument("--keyfile", metavar="FILE", help="private key of --certfile")
    http.add_argument("--insecure", action="store_true", help="do not verify the server's certificate")
    parser.set_defaults(run=run)


_positive_seconds = checked(float, "a number of seconds", lambda seconds: 0 < seconds < float("inf"),
                            "%r is not a positive number of seconds")


# -- reading -----------------------------------------------------------------------

def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _ssl_context(options: argparse.Namespace) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.cafile)
    if options.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.certfile:
        context.load_cert_chain(options.certfile, options.keyfile)
    return context


def fetch(url: str, options: argparse.Namespace) -> Tuple[bytes, Optional[str]]:
    """GET ``url``: (body, Content-Type). CommandError (status 2) on any failure."""
    request = urllib.request.Request(url, headers={
        "Accept": _ACCEPT[options.format],
        "Accept-Encoding": "gzip",
        "User-Agent": "prometheus_client-check",
    })
    try:
        context = _ssl_context(options) if url.lower().startswith("https://") else None
    except (OSError, ValueError) as error:
        raise CommandError("cannot load the TLS files: %s" % error) from None
    try:
        with urllib.request.urlopen(request, timeout=options.timeout, context=context) as response:
            body = response.read()
            content_type = response.headers.get("Content-Type")
            encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
    except urllib.error.HTTPError as error:
        reason = str(error.reason or "").strip() or http.client.responses.get(error.code, "")
        raise CommandError(("%s answered HTTP %d %s" % (url, error.code, reason)).rstrip()) from None
    except urllib.error.URLError as error:
        raise CommandError("cannot fetch %s: %s" % (url, getattr(error.reason, "strerror", None) or error.reason)) \
            from None
    except (OSError, ValueError) as error:  # timeouts, resets, bad URLs (http.client.InvalidURL)
        raise CommandError("cannot fetch %s: %s" % (url, error or type(error).__name__)) from None
    if encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as error:
            raise CommandError("%s sent a corrupt gzip body: %s" % (url, error)) from None
    elif encoding not in ("", "identity"):
        raise CommandError("%s sent an unsupported Content-Encoding %r" % (url, encoding))
    return body, content_type


def read_source(source: str, options: argparse.Namespace) -> Tuple[bytes, Optional[str]]:
    """The bytes of the source, and the Content-Type when it is a URL."""
    if _is_url(source):
        return fetch(source, options)
    if source == "-":
        return sys.stdin.buffer.read(), None
    try:
        with open(source, "rb") as f:
            return f.read(), None
    except OSError as error:
        raise CommandError("cannot read %s: %s" % (source, error.strerror or error)) from None


# -- format ------------------------------------------------------------------------

def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ord(char) < 32 and char not in "\t\n\r" for char in text[:4096])


def sniff(data: bytes) -> str:
    """The format of raw bytes: binary is protobuf, a '# EOF' line OpenMetrics, else text."""
    if _looks_binary(data):
        return PROTOBUF
    if any(line.strip() == b"# EOF" for line in data.splitlines()):
        return OPENMETRICS
    return TEXT


def detect_format(data: bytes, content_type: Optional[str], forced: str,
                  problems: List[Problem]) -> str:
    if forced != "auto":
        return forced
    if content_type is None:
        return sniff(data)
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in _MEDIA_TYPES:
        return _MEDIA_TYPES[media_type]
    fmt = sniff(data)
    problems.append(Problem(ERROR, "-", "Content-Type %r is not an exposition format (Prometheus 3 fails "
                                        "such a scrape); the body looks like %s" % (content_type, FORMAT_NAMES[fmt])))
    return fmt


# -- parsing -------------------------------------------------------------------------

def _library_parser(fmt: str):
    if fmt == OPENMETRICS:
        from ..openmetrics.parser import text_string_to_metric_families
    else:
        from ..parser import text_string_to_metric_families
    return text_string_to_metric_families


def protobuf_decoder():
    """The protobuf decoder, or None when this installation has none."""
    try:
        from ..encoders import protobuf
    except ImportError:
        return None
    return getattr(protobuf, "decode_metric_families", None)


def parse(data: bytes, fmt: str) -> Exposition:
    """Parse ``data`` in ``fmt``: the model plus the problems found while reading it."""
    if fmt == PROTOBUF:
        decode = protobuf_decoder()
        if decode is None:
            raise CommandError("this installation cannot decode protobuf "
                               "(prometheus_client.encoders.protobuf.decode_metric_families is missing)")
        try:
            families = list(decode(data))
        except Exception as error:  # ValueError for malformed input; anything else is reported the same way
            return Exposition(fmt, [], [Problem(ERROR, "-", "not valid %s: %s" % (FORMAT_NAMES[fmt], error))])
        return from_families(families)
    problems: List[Problem] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(Problem(ERROR, "-", "not valid UTF-8 (byte %d)" % error.start))
        text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        problems.append(Problem(ERROR, "-", "the body starts with a byte order mark"))
        text = text[1:]
    try:
        for _ in _library_parser(fmt)(text):
            pass
    except Exception as error:  # ValueError; a parser bug must not become a traceback either
        reason = str(error) or type(error).__name__
        problems.append(Problem(ERROR, "-", "the %s parser rejects the exposition: %s"
                                % (FORMAT_NAMES[fmt], reason.strip())))
    exposition = read_text(text, fmt)
    exposition.problems[:0] = problems
    return exposition


# -- the command ---------------------------------------------------------------------

def check_source(source: str, options: argparse.Namespace) -> Tuple[Exposition, List[Problem]]:
    """Read, parse and check ``source`` (twice when asked): the first read and all problems."""
    interval = options.interval or (DEFAULT_INTERVAL if options.twice else None)
    if interval and source == "-":
        raise CommandError("--twice/--interval need a URL or a file: stdin can be read only once")
    problems: List[Problem] = []
    data, content_type = read_source(source, options)
    fmt = detect_format(data, content_type, options.format, problems)
    first = parse(data, fmt)
    problems.extend(check_exposition(first))
    if interval:
        time.sleep(interval)
        try:
            data, content_type = read_source(source, options)
        except CommandError as error:  # the first read worked: a failing second one is a finding
            problems.append(Problem(ERROR, "-", "the second read failed: %s" % error))
            return first, problems
        second_problems: List[Problem] = []
        second = parse(data, detect_format(data, content_type, options.format, second_problems))
        known = {problem.message for problem in problems}
        new = [p for p in second_problems + check_exposition(second)
               if p.severity == ERROR and p.message not in known]
        if new:
            problems.append(Problem(ERROR, new[0].metric, "in the second read: %s" % new[0].message))
        problems.extend(compare_reads(first, second))
    return first, problems


def _count(count: int, singular: str, plural: str) -> str:
    return "%d %s" % (count, singular if count == 1 else plural)


def summary_line(source: str, exposition: Exposition, problems: List[Problem], twice: bool) -> str:
    """``checked SOURCE (FORMAT[, read twice]): N families, N samples; N errors, N warnings``."""
    errors = sum(problem.severity == ERROR for problem in problems)
    warnings = sum(problem.severity == WARNING for problem in problems)
    return "checked %s (%s%s): %s, %s; %s, %s" % (
        source, FORMAT_NAMES[exposition.format], ", read twice" if twice else "",
        _count(len(exposition.families), "family", "families"),
        _count(exposition.sample_count(), "sample", "samples"),
        _count(errors, "error", "errors"), _count(warnings, "warning", "warnings"))


def run(options: argparse.Namespace) -> int:
    exposition, problems = check_source(options.source, options)
    for problem in problems:
        print(problem)
    print(summary_line("stdin" if options.source == "-" else options.source, exposition, problems,
                       bool(options.interval or options.twice)))
    sys.stdout.flush()
    errors = any(problem.severity == ERROR for problem in problems)
    warnings = any(problem.severity == WARNING for problem in problems)
    return 1 if errors or (options.strict and warnings) else 0
