"""The seed README's examples run unchanged on this library.

The examples are read at test time from the project's seed documents
(``../shared/seeds`` beside the checkout), each group in a fresh interpreter
so that every group starts with a fresh default registry. Examples that need
a network peer or a server live with the transport tests.
"""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest

SEEDS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "seeds")


def _seed_python_blocks():
    for path in sorted(glob.glob(os.path.join(SEEDS, "*.txt"))):
        with open(path, encoding="utf-8") as f:
            raw = f.read()
        if "Three Step Demo" not in raw:
            continue
        lines = []
        for line in raw.split("\n"):
            line = line.rstrip()
            if re.fullmatch(r"\s*\|?\s*", line):
                continue  # table-rendering debris of the seed document
            lines.append(re.sub(r"\s*\|$", "", line))
        return re.findall(r"```python\n(.*?)```", "\n".join(lines), re.S)
    return None


BLOCKS = _seed_python_blocks()


def _block(marker):
    """The first seed block that contains ``marker``."""
    for block in BLOCKS or ():
        if marker in block:
            return block
    raise LookupError(marker)


# Groups of blocks that belong together (later blocks use earlier names),
# and a check on the exposition each group must produce.
GROUPS = {
    "counter": (["c = Counter('my_failures'", "@c.count_exceptions()"], "my_failures_total 2.6"),
    "gauge": (["g = Gauge('my_inprogress_requests'", "g.set_to_current_time()", "d.set_function"],
              "data_objects 0.0"),
    "summary": (["s.observe(4.7)", "@s.time()"], "request_latency_seconds_count 2.0"),
    "histogram": (["h.observe(4.7)", "@h.time()"], 'request_latency_seconds_bucket{le="5.0"} 2.0'),
    "info": (["i.info("], 'my_build_version_info{buildhost="foo@bar",version="1.2.3"} 1.0'),
    "enum": (["e.state('running')"], 'my_task_state{my_task_state="running"} 1.0'),
    "labels-positional": (["c.labels('get', '/').inc()"],
                          'my_requests_total{endpoint="/submit",method="post"} 1.0'),
    "labels-keyword": (["c.labels(method='get', endpoint='/').inc()"],
                       'my_requests_total{endpoint="/",method="get"} 1.0'),
    "custom-collector": (["class CustomCollector"], 'my_counter_total{foo="baz"} 3.8'),
}


@pytest.fixture(scope="module")
def blocks():
    if BLOCKS is None:
        if os.environ.get("CI"):
            pytest.fail("the seed documents are missing beside the checkout: %s" % SEEDS)
        pytest.skip("the seed documents are not beside this checkout")
    return BLOCKS


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_seed_example_runs_unchanged(blocks, group):
    markers, expected_line = GROUPS[group]
    program = "\n".join(_block(marker) for marker in markers)
    program += "\nfrom prometheus_client import generate_latest, REGISTRY\n"
    program += "import sys; sys.stdout.write(generate_latest(REGISTRY).decode())\n"
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert expected_line in result.stdout.splitlines(), result.stdout


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# HTTP examples: the same code with the port swapped for a free one; the
# process is kept alive after the example returns (servers run in daemon
# threads) and the test scrapes it.
HTTP_EXAMPLES = {
    "start_http_server": "start_http_server(8000)\n",
    "wsgi": "httpd.serve_forever()",
    "start_wsgi_server": "start_wsgi_server(8000)",
}


@pytest.mark.parametrize("name", sorted(HTTP_EXAMPLES))
def test_seed_http_examples_serve_metrics(blocks, name):
    import time
    import urllib.request

    port = _free_port()
    program = _block(HTTP_EXAMPLES[name]).replace("8000", str(port))
    program += "\nimport time\ntime.sleep(60)\n"
    process = subprocess.Popen([sys.executable, "-c", program], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as response:
                    body = response.read().decode()
                    content_type = response.headers["Content-Type"]
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stderr.read().decode() if process.poll() is not None else "timeout")
                time.sleep(0.1)
    finally:
        process.kill()
        process.wait()
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE process_cpu_seconds_total counter" in body.splitlines()
