"""``check``: every rule on small fixtures (golden output), formats, sources and exit statuses.

Everything runs in-process through ``main(argv)``; HTTP sources are
``start_http_server`` or a tiny scripted server on 127.0.0.1 port 0.
"""
from __future__ import annotations

import gzip
import http.server
import io
import socket
import threading
from typing import Iterator, List, Optional, Sequence, Tuple

import pytest

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.cli import main
from prometheus_client.metrics_core import Metric


def run_check(capsys, *argv: str) -> Tuple[int, List[str], str]:
    status = main(["check", *argv])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def check_text(tmp_path, capsys, text: str, *options: str, name: str = "metrics.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    status, lines, err = run_check(capsys, str(path), *options)
    assert "Traceback" not in err
    return status, lines, str(path)


# -- one fixture per rule: (text, expected problem lines, exit status) ---------------------

RULES = {
    "duplicate series": (
        '# HELP http_requests_total Requests.\n'
        '# TYPE http_requests_total counter\n'
        'http_requests_total{path="/"} 3\n'
        'http_requests_total{path="/a"} 1\n'
        'http_requests_total{path="/"} 4\n',
        ['error: http_requests_total: duplicate series http_requests_total{path="/"} (lines 3 and 5)'],
        1,
    ),
    "duplicate le written differently": (
        '# TYPE h histogram\n'
        'h_bucket{le="1"} 1\n'
        'h_bucket{le="1.0"} 1\n'
        'h_bucket{le="+Inf"} 1\n'
        'h_sum 1\n'
        'h_count 1\n',
        ['error: h: duplicate series h_bucket{le="1.0"} (lines 2 and 3)'],
        1,
    ),
    "missing +Inf bucket": (
        '# TYPE latency_seconds histogram\n'
        'latency_seconds_bucket{le="0.1"} 1\n'
        'latency_seconds_bucket{le="1"} 2\n'
        'latency_seconds_sum 0.5\n'
        'latency_seconds_count 2\n',
        ['error: latency_seconds: no +Inf bucket (line 3)'],
        1,
    ),
    "missing +Inf bucket in a labelled child": (
        '# TYPE latency_seconds histogram\n'
        'latency_seconds_bucket{path="/",le="0.1"} 1\n'
        'latency_seconds_bucket{path="/",le="+Inf"} 1\n'
        'latency_seconds_sum{path="/"} 0.1\n'
        'latency_seconds_count{path="/"} 1\n'
        'latency_seconds_bucket{path="/x",le="0.1"} 1\n'
        'latency_seconds_sum{path="/x"} 0.1\n'
        'latency_seconds_count{path="/x"} 1\n',
        ['error: latency_seconds: no +Inf bucket in latency_seconds{path="/x"} (line 6)'],
        1,
    ),
    "non-cumulative buckets": (
        '# TYPE latency_seconds histogram\n'
        'latency_seconds_bucket{le="0.1"} 5\n'
        'latency_seconds_bucket{le="1"} 3\n'
        'latency_seconds_bucket{le="+Inf"} 5\n'
        'latency_seconds_sum 0.5\n'
        'latency_seconds_count 5\n',
        ['error: latency_seconds: buckets are not cumulative: le="1" has 3, less than le="0.1" with 5 (line 3)'],
        1,
    ),
    "_count differs from +Inf": (
        '# TYPE latency_seconds histogram\n'
        'latency_seconds_bucket{le="0.1"} 2\n'
        'latency_seconds_bucket{le="+Inf"} 5\n'
        'latency_seconds_sum 0.5\n'
        'latency_seconds_count 6\n',
        ['error: latency_seconds: latency_seconds_count is 6 but the +Inf bucket is 5 (line 5)'],
        1,
    ),
    "_count without _sum": (
        '# TYPE latency_seconds histogram\n'
        'latency_seconds_bucket{le="+Inf"} 5\n'
        'latency_seconds_count 5\n',
        ['error: latency_seconds: latency_seconds_count without latency_seconds_sum (they come together)'],
        1,
    ),
    "negative counter": (
        '# TYPE jobs_total counter\n'
        'jobs_total{queue="a"} -3\n',
        ['error: jobs_total: counter jobs_total{queue="a"} is negative (-3) (line 2)'],
        1,
    ),
    "NaN counter": (
        '# TYPE jobs_total counter\n'
        'jobs_total NaN\n',
        ['error: jobs_total: counter jobs_total is NaN (line 2)'],
        1,
    ),
    "negative bucket count": (
        '# TYPE h histogram\n'
        'h_bucket{le="+Inf"} -1\n'
        'h_sum 0\n'
        'h_count -1\n',
        ['error: h: h_bucket{le="+Inf"} is -1; a count cannot be negative or NaN (line 2)',
         'error: h: h_count is -1; a count cannot be negative or NaN (line 4)'],
        1,
    ),
    "non-legacy metric name": (
        '# TYPE "my.metric" gauge\n'
        '{"my.metric"} 1\n',
        ["warning: my.metric: metric name 'my.metric' is not a legacy Prometheus name: Prometheus 2 and "
         "many other consumers reject it, and scrapers without UTF-8 support see it escaped"],
        0,
    ),
    "colon in a metric name": (
        'job:requests:rate5m 3\n',
        ["warning: job:requests:rate5m: metric name 'job:requests:rate5m' contains ':', which is reserved "
         "for recording rules"],
        0,
    ),
    "reserved label name": (
        '# TYPE g gauge\n'
        'g{__secret="x"} 1\n',
        ['error: -: the Prometheus text 0.0.4 parser rejects the exposition: Invalid labels: __secret="x"',
         "error: g: label name '__secret' is reserved (names starting with '__' are for Prometheus "
         "internals) (line 2)"],
        1,
    ),
    "label twice in one series": (
        '# TYPE g gauge\n'
        'g{a="1",a="2"} 1\n',
        ['error: -: the Prometheus text 0.0.4 parser rejects the exposition: Invalid labels: a="1",a="2"',
         "error: g: label 'a' appears twice in g (line 2)"],
        1,
    ),
    "non-legacy label name": (
        '# TYPE g gauge\n'
        'g{"cache.tier"="l1"} 1\n',
        ["warning: g: label name 'cache.tier' is not a legacy Prometheus name: Prometheus 2 and many other "
         "consumers reject it (line 2)"],
        0,
    ),
    "interleaved families": (
        '# TYPE a gauge\n'
        'a{x="1"} 1\n'
        '# TYPE b gauge\n'
        'b 1\n'
        'a{x="2"} 2\n',
        ['error: a: the lines of this family are not together: line 5 comes after lines of b; '
         'families must not be interleaved'],
        1,
    ),
    "second TYPE line": (
        '# TYPE a gauge\n'
        '# TYPE a gauge\n'
        'a 1\n',
        ['error: a: second TYPE line (line 2; the first is line 1)'],
        1,
    ),
    "quantile out of range": (
        '# TYPE rpc_seconds summary\n'
        'rpc_seconds{quantile="0.5"} 0.1\n'
        'rpc_seconds{quantile="1.5"} 0.2\n'
        'rpc_seconds_sum 3\n'
        'rpc_seconds_count 10\n',
        ["error: rpc_seconds: quantile '1.5' is not a number in [0, 1] (line 3)"],
        1,
    ),
    "CR LF line ends": (
        '# TYPE a gauge\r\na 1\r\n',
        ['error: -: line 1 ends with a carriage return (CR LF); only LF ends a line'],
        1,
    ),
    "no final line feed": (
        '# TYPE a gauge\na 1',
        ['error: -: the last line does not end with a line feed'],
        1,
    ),
    "unreadable lines": (
        'a 1\nthis is not a sample\nb{x="1" 2\nc 3\n',
        ['error: -: the Prometheus text 0.0.4 parser rejects the exposition: could not convert string to '
         'float: \'is\'',
         "error: -: cannot read line 2: value 'is' is not a number (and 1 more unreadable line)"],
        1,
    ),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_rule(tmp_path, capsys, case):
    text, expected, status = RULES[case]
    got_status, lines, path = check_text(tmp_path, capsys, text)
    assert lines[:-1] == expected
    assert lines[-1].startswith("checked %s (Prometheus text 0.0.4): " % path)
    assert got_status == status


def test_clean_exposition_summary_and_status(tmp_path, capsys):
    text = ('# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{queue="a"} 3\n'
            'jobs_total{queue="b"} 0\n# TYPE temperature gauge\ntemperature -4.5\n')
    status, lines, path = check_text(tmp_path, capsys, text)
    assert lines == ["checked %s (Prometheus text 0.0.4): 2 families, 3 samples; 0 errors, 0 warnings" % path]
    assert status == 0


def test_warnings_fail_only_with_strict(tmp_path, capsys):
    text = 'job:requests:rate5m 3\n'
    assert check_text(tmp_path, capsys, text)[0] == 0
    status, lines, _ = check_text(tmp_path, capsys, text, "--strict")
    assert status == 1
    assert lines[-1].endswith("; 0 errors, 1 warning")


def test_empty_exposition_is_a_warning(tmp_path, capsys):
    status, lines, _ = check_text(tmp_path, capsys, "")
    assert lines[0] == "warning: -: the exposition has no samples"
    assert status == 0


def test_well_formed_histogram_summary_info_and_stateset_openmetrics(tmp_path, capsys):
    text = ('# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\n'
            'lat_seconds_bucket{le="0.1"} 1\nlat_seconds_bucket{le="+Inf"} 2 # {trace_id="a"} 0.5\n'
            'lat_seconds_count 2\nlat_seconds_sum 0.6\nlat_seconds_created 1700000000.5\n'
            '# TYPE jobs counter\njobs_total 3\njobs_created 1700000000.0\n'
            '# TYPE build info\nbuild_info{version="1"} 1\n'
            '# TYPE mode stateset\nmode{mode="a"} 1\nmode{mode="b"} 0\n'
            '# TYPE rpc summary\nrpc{quantile="0.5"} 1\nrpc_count 1\nrpc_sum 1\n# EOF\n')
    status, lines, path = check_text(tmp_path, capsys, text, name="metrics.om")
    assert lines == ["checked %s (OpenMetrics 1.0): 5 families, 13 samples; 0 errors, 0 warnings" % path]
    assert status == 0


def test_openmetrics_rules_and_parser_verdict(tmp_path, capsys):
    text = ('# TYPE h histogram\n'
            'h_bucket{le="1"} 5\n'
            'h_bucket{le="2"} 3\n'
            'h_count 7\n'
            'h_sum 1\n'
            '# TYPE c counter\n'
            'c_total 1\n'
            'c_total 2\n'
            '# EOF\n')
    status, lines, path = check_text(tmp_path, capsys, text, name="bad.om")
    assert lines == [
        "error: -: the OpenMetrics 1.0 parser rejects the exposition: Bucket values out of order: h",
        "error: h: no +Inf bucket (line 3)",
        'error: h: buckets are not cumulative: le="2" has 3, less than le="1" with 5 (line 3)',
        "error: c: duplicate series c_total (lines 7 and 8)",
        "checked %s (OpenMetrics 1.0): 2 families, 6 samples; 4 errors, 0 warnings" % path,
    ]
    assert status == 1


def test_openmetrics_negative_counter(tmp_path, capsys):
    status, lines, _ = check_text(tmp_path, capsys, "# TYPE c counter\nc_total -1\n# EOF\n")
    assert lines[:2] == [
        "error: -: the OpenMetrics 1.0 parser rejects the exposition: Counter-like samples cannot be negative: "
        "c_total -1",
        "error: c: counter c_total is negative (-1) (line 2)",
    ]
    assert status == 1


# -- formats --------------------------------------------------------------------------

def test_format_can_be_forced(tmp_path, capsys):
    # An OpenMetrics body read as text: the '# EOF' comment is fine there.
    text = "# TYPE a gauge\na 1\n# EOF\n"
    status, lines, _ = check_text(tmp_path, capsys, text, "--format", "text")
    assert "(Prometheus text 0.0.4)" in lines[-1] and status == 0
    # A text body forced to OpenMetrics: no '# EOF'.
    status, lines, _ = check_text(tmp_path, capsys, "# TYPE a gauge\na 1\n", "--format", "openmetrics")
    assert lines[0] == "error: -: the OpenMetrics 1.0 parser rejects the exposition: Missing # EOF at end"
    assert status == 1


def test_binary_garbage_is_reported_not_raised(tmp_path, capsys):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 4)
    status, lines, err = run_check(capsys, str(path))
    assert "Traceback" not in err
    if _protobuf_decoder() is None:
        assert status == 2 and "cannot decode protobuf" in err
    else:
        assert status == 1
        assert lines[0].startswith("error: -: not valid Prometheus protobuf: ")


def test_html_page_is_reported(tmp_path, capsys):
    status, lines, _ = check_text(tmp_path, capsys, "<html><body>Hello</body></html>\n")
    assert status == 1
    assert "error: -: cannot read line 1: no value" in lines


def _protobuf_decoder():
    try:
        from prometheus_client.encoders import protobuf
    except ImportError:
        return None
    return getattr(protobuf, "decode_metric_families", None)


def _protobuf_encoder():
    try:
        from prometheus_client.encoders import protobuf
    except ImportError:
        return None
    return getattr(protobuf, "encode_metric_families", None)


needs_protobuf = pytest.mark.skipif(_protobuf_decoder() is None or _protobuf_encoder() is None,
                                    reason="prometheus_client.encoders.protobuf cannot encode and decode yet")


@needs_protobuf
def test_protobuf_file_is_sniffed_and_checked(tmp_path, capsys):
    counter = Metric("jobs", "Jobs.", "counter")
    counter.add_sample("jobs_total", {"queue": "a"}, -2.0)
    histogram = Metric("lat", "Latency.", "histogram")
    for le, count in (("1.0", 5.0), ("2.0", 3.0), ("+Inf", 5.0)):
        histogram.add_sample("lat_bucket", {"le": le}, count)
    histogram.add_sample("lat_count", {}, 5.0)
    histogram.add_sample("lat_sum", {}, 4.0)
    path = tmp_path / "metrics.pb"
    path.write_bytes(_protobuf_encoder()([counter, histogram]))
    status, lines, err = run_check(capsys, str(path))
    assert "error: jobs: counter jobs_total{queue=\"a\"} is negative (-2)" in lines
    assert 'error: lat: buckets are not cumulative: le="2.0" has 3, less than le="1.0" with 5' in lines
    assert lines[-1].startswith("checked %s (Prometheus protobuf): 2 families" % path)
    assert status == 1


# -- sources and exit statuses -----------------------------------------------------------

def test_stdin(monkeypatch, capsys):
    stdin = io.TextIOWrapper(io.BytesIO(b"# TYPE jobs_total counter\njobs_total -1\n"))
    monkeypatch.setattr("sys.stdin", stdin)
    status, lines, _ = run_check(capsys, "-")
    assert lines == ["error: jobs_total: counter jobs_total is negative (-1) (line 2)",
                     "checked stdin (Prometheus text 0.0.4): 1 family, 1 sample; 1 error, 0 warnings"]
    assert status == 1


def test_stdin_cannot_be_read_twice(capsys):
    status, lines, err = run_check(capsys, "--twice", "-")
    assert status == 2 and lines == []
    assert "stdin can be read only once" in err


def test_missing_file(tmp_path, capsys):
    status, lines, err = run_check(capsys, str(tmp_path / "nope.txt"))
    assert status == 2 and lines == []
    assert err.strip() == "python -m prometheus_client check: error: cannot read %s: No such file or directory" % (
        tmp_path / "nope.txt")


def test_unreachable_url(capsys):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, lines, err = run_check(capsys, "http://127.0.0.1:%d/metrics" % port, "--timeout", "5")
    assert status == 2 and lines == []
    assert "cannot fetch http://127.0.0.1:%d/metrics: " % port in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--format", "yaml", "x"], [], ["--interval", "-1", "x"], ["--timeout", "no", "x"]])
def test_usage_errors(capsys, argv):
    assert run_check(capsys, *argv)[0] == 2


# -- live servers -------------------------------------------------------------------------

@pytest.fixture
def served_registry():
    registry = CollectorRegistry()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield registry, "http://127.0.0.1:%d/metrics" % server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_live_start_http_server_in_every_format(served_registry, capsys):
    registry, url = served_registry
    requests = Counter("requests", "Requests.", ["path"], registry=registry)
    requests.labels("/").inc(3)
    Gauge("in_progress", "In progress.", registry=registry).set(2)
    Histogram("latency_seconds", "Latency.", ["path"], registry=registry).labels("/").observe(0.2)
    expected = {"auto": "OpenMetrics 1.0", "openmetrics": "OpenMetrics 1.0", "text": "Prometheus text 0.0.4"}
    if _protobuf_decoder() is not None:
        expected["protobuf"] = "Prometheus protobuf"
    for fmt, name in expected.items():
        status, lines, _ = run_check(capsys, url, "--format", fmt)
        assert len(lines) == 1, lines
        assert lines[0].startswith("checked %s (%s): " % (url, name))
        assert lines[0].endswith("; 0 errors, 0 warnings")
        assert status == 0


class _Collector:
    """A custom collector returning the families of ``make(call_number)``."""

    def __init__(self, make) -> None:
        self.make = make
        self.calls = 0

    def collect(self) -> Iterator[Metric]:
        self.calls += 1
        return iter(self.make(self.calls))


def test_live_broken_collector(served_registry, capsys):
    registry, url = served_registry

    def families(_):
        histogram = Metric("queue_wait_seconds", "Wait.", "histogram")
        for le, count in (("1.0", 4), ("5.0", 2), ("+Inf", 4)):
            histogram.add_sample("queue_wait_seconds_bucket", {"le": le}, count)
        histogram.add_sample("queue_wait_seconds_count", {}, 4)
        histogram.add_sample("queue_wait_seconds_sum", {}, 3.0)
        return [histogram]

    registry.register(_Collector(families))
    status, lines, _ = run_check(capsys, url, "--format", "text")
    assert lines == [
        'error: queue_wait_seconds: buckets are not cumulative: le="5.0" has 2, less than le="1.0" with 4 (line 4)',
        "checked %s (Prometheus text 0.0.4): 1 family, 5 samples; 1 error, 0 warnings" % url,
    ]
    assert status == 1


def _counter_family(value: float, created: float) -> Metric:
    family = Metric("jobs", "Jobs.", "counter")
    family.add_sample("jobs_total", {"queue": "a"}, value)
    family.add_sample("jobs_created", {"queue": "a"}, created)
    return family


def test_twice_reports_a_counter_going_backwards(served_registry, capsys):
    registry, url = served_registry
    values = {1: 10.0, 2: 3.0}

    def families(call):
        return [_counter_family(values.get(call, 3.0), 1700000000.0)]

    registry.register(_Collector(families))
    status, lines, _ = run_check(capsys, url, "--interval", "0.05")
    assert lines == [
        'error: jobs: jobs_total{queue="a"} went backwards between the two reads (10 -> 3)',
        "checked %s (OpenMetrics 1.0, read twice): 1 family, 2 samples; 1 error, 0 warnings" % url,
    ]
    assert status == 1


def test_twice_tells_a_reset_from_a_bug(served_registry, capsys):
    registry, url = served_registry

    def families(call):
        return [_counter_family(10.0, 1700000000.0)] if call == 1 else [_counter_family(1.0, 1700000100.0)]

    registry.register(_Collector(families))
    status, lines, _ = run_check(capsys, url, "--interval", "0.05", "--format", "text")
    assert lines[0] == ('warning: jobs_total: jobs_total{queue="a"} was reset between the two reads (10 -> 1; its '
                        '_created changed, so the process restarted or reset it)')
    assert status == 0


def test_twice_reports_vanished_series_and_histogram_counts(served_registry, capsys):
    registry, url = served_registry

    def families(call):
        histogram = Metric("lat", "Latency.", "histogram")
        histogram.add_sample("lat_bucket", {"le": "+Inf"}, 5 if call == 1 else 4)
        histogram.add_sample("lat_count", {}, 5 if call == 1 else 4)
        histogram.add_sample("lat_sum", {}, 2.0)
        result = [histogram]
        if call == 1:
            result.append(_counter_family(1.0, 1.0))
        return result

    registry.register(_Collector(families))
    status, lines, _ = run_check(capsys, url, "--twice", "--format", "text")
    assert lines[:-1] == [
        'error: lat: lat_bucket{le="+Inf"} went backwards between the two reads (5 -> 4)',
        "error: lat: lat_count went backwards between the two reads (5 -> 4)",
        'warning: jobs_total: jobs_total{queue="a"} disappeared between the two reads',
    ]
    assert status == 1


class _ScriptedHandler(http.server.BaseHTTPRequestHandler):
    responses: List[Tuple[int, Sequence[Tuple[str, str]], bytes]] = []
    seen: List[Optional[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Accept"))
        status, headers, body = self.responses[min(len(self.seen), len(self.responses)) - 1]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted():
    def serve(*responses):
        handler = type("Handler", (_ScriptedHandler,), {"responses": list(responses), "seen": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return "http://127.0.0.1:%d/metrics" % server.server_address[1], handler

    servers: list = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_http_error_status(scripted, capsys):
    url, _ = scripted((404, [("Content-Type", "text/plain")], b"no such page\n"))
    status, lines, err = run_check(capsys, url)
    assert status == 2 and lines == []
    assert err.strip().endswith("error: %s answered HTTP 404 Not Found" % url)


def test_unknown_content_type_and_gzip(scripted, capsys):
    body = gzip.compress(b"# TYPE a gauge\na 1\n")
    url, handler = scripted((200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], body))
    status, lines, _ = run_check(capsys, url)
    assert lines[0] == ("error: -: Content-Type 'text/html' is not an exposition format (Prometheus 3 fails such "
                        "a scrape); the body looks like Prometheus text 0.0.4")
    assert status == 1
    assert handler.seen[0].startswith("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,")


def test_content_type_decides_the_format(scripted, capsys):
    url, handler = scripted((200, [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                             b"# TYPE a gauge\na 1\n# EOF\n"))
    status, lines, _ = run_check(capsys, url, "--format", "text")
    assert "(Prometheus text 0.0.4)" in lines[-1] and status == 0
    assert handler.seen == ["text/plain;version=0.0.4"]


def test_twice_reports_a_second_read_that_breaks(served_registry, capsys):
    registry, url = served_registry

    def families(call):
        histogram = Metric("lat", "Latency.", "histogram")
        histogram.add_sample("lat_bucket", {"le": "1.0"}, 1)
        if call == 1:
            histogram.add_sample("lat_bucket", {"le": "+Inf"}, 1)
        histogram.add_sample("lat_count", {}, 1)
        histogram.add_sample("lat_sum", {}, 1.0)
        return [histogram]

    registry.register(_Collector(families))
    status, lines, _ = run_check(capsys, url, "--interval", "0.05", "--format", "text")
    assert lines[:-1] == [
        "error: lat: in the second read: no +Inf bucket (line 3)",
        'warning: lat: lat_bucket{le="+Inf"} disappeared between the two reads',
    ]
    assert status == 1


def test_twice_when_the_second_read_fails(scripted, capsys):
    url, _ = scripted((200, [("Content-Type", "text/plain; version=0.0.4")], b"# TYPE a gauge\na 1\n"),
                      (503, [("Content-Type", "text/plain")], b"busy\n"))
    status, lines, _ = run_check(capsys, url, "--interval", "0.05")
    assert lines[0] == "error: -: the second read failed: %s answered HTTP 503 Service Unavailable" % url
    assert status == 1
