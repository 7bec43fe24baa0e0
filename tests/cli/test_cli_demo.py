"""``demo``: a real run as a subprocess, scraped while it runs; clean exits; a busy port."""
from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
import urllib.request

import pytest
from _procs import free_port, pid_alive, read_until, start_cli, stop

from prometheus_client.cli import main
from prometheus_client.parser import text_string_to_metric_families

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (fork, flock, /proc)")


def start_demo(*options):
    """Start the demo; return (process, metrics URL, multiprocess directory, worker pids)."""
    process = start_cli("demo", "--port", str(free_port()), *options)
    try:
        banner = read_until(process.stdout, lambda line: "client threads are sending requests" in line, 60)
    except AssertionError:
        stop(process)
        raise AssertionError("the demo did not start: %s" % process.stderr.read()) from None
    text = "\n".join(banner)
    pids = [int(pid) for pid in re.search(r"\(pids ([\d, ]+)\)", text).group(1).split(", ")]
    directory = re.search(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", text).group(1)
    url = re.search(r"metrics: (http://\S+/metrics)", text).group(1)
    return process, url, directory, pids


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        families = list(text_string_to_metric_families(response.read().decode()))
        pid = int(response.headers["X-Worker-Pid"])
    values = {}
    for family in families:
        for sample in family.samples:
            values.setdefault(sample.name, 0.0)
            values[sample.name] += sample.value
    return values, pid


def assert_cleaned_up(directory, pids):
    assert not os.path.exists(directory)
    deadline = time.monotonic() + 5
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if pid_alive(pid)] == []


@pytest.mark.slow
@linux_only
def test_demo_runs_aggregates_and_cleans_up():
    process, url, directory, pids = start_demo("--duration", "5", "--workers", "3")
    try:
        assert len(pids) == 3 and os.path.isdir(directory)
        totals, answering = [], set()
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            values, pid = scrape(url)
            answering.add(pid)
            assert values["demo_workers"] == 3  # livesum over the three live workers, whoever answers
            totals.append(values.get("demo_http_requests_total", 0.0))  # absent until the first request
            time.sleep(0.1)
        assert answering <= set(pids)
        assert len(answering) >= 2, "every scrape was answered by the same worker"
        assert totals == sorted(totals) and totals[-1] > totals[0]  # growing, never backwards
        assert values["demo_http_request_duration_seconds_count"] > 0
        assert values["demo_app_info"] == 1

        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert "Stopped: " in out
        assert_cleaned_up(directory, pids)
    finally:
        stop(process)


@pytest.mark.slow
@linux_only
def test_demo_stops_cleanly_on_ctrl_c():
    process, url, directory, pids = start_demo("--workers", "2")
    try:
        scrape(url)
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
        assert_cleaned_up(directory, pids)
    finally:
        stop(process)


def test_demo_port_in_use(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status = main(["demo", "--port", str(port), "--duration", "1"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip() == ("python -m prometheus_client demo: error: port %d on 127.0.0.1 is already in use; "
                           "choose another one with --port" % port)


@pytest.mark.parametrize("options", [["--workers", "0"], ["--duration", "-1"], ["--port", "0"], ["--port", "x"]])
def test_demo_usage_errors(capsys, options):
    assert main(["demo", *options]) == 2
    assert "Traceback" not in capsys.readouterr().err
