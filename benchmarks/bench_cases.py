"""Benchmark cases, shared verbatim by both implementations.

A case is plain source code: ``setup`` runs once in a fresh worker process,
then ``stmt`` is timed in a loop. The same source runs under our package and
under the classic client, so it must use the public ``prometheus_client`` API
only (no private attributes, nothing specific to either implementation).

Fields of :class:`Case`:

name
    Short identifier used by ``--only`` and in the JSON output.
title
    One-line description shown in the table.
setup, stmt
    Source code. Names defined by ``setup`` and used by ``stmt`` are bound as
    fast locals of the timing loop.
target
    Required ratio classic/ours (``None``: informational only).
kind
    ``"micro"`` (ns-scale hot paths, calibrated to fill a batch) or
    ``"macro"`` (ms-scale operations such as a scrape; one call per batch
    unless it is fast enough to need more).
unroll
    How many copies of ``stmt`` one loop iteration runs, to make the loop's
    own overhead negligible for ns-scale statements.
gc
    Keep the cyclic garbage collector enabled while timing (realistic for
    allocation-heavy cases like a scrape); off for micro cases, as timeit does.
fingerprint
    Optional expression evaluated once after setup; its string value is
    compared between ours and classic (a cheap check that both did the same
    work, e.g. a hash of the exposition bytes).
env
    Extra environment variables for the worker processes. ``{tmpdir}`` in a
    value is replaced by a fresh empty directory per worker (for
    ``PROMETHEUS_MULTIPROC_DIR``).
teardown
    Optional source run before the worker exits (stop servers, ...).
default
    Whether the case runs without ``--only``/``--all``.

To add a case, append a ``Case(...)`` to ``CASES``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class Case:
    name: str
    title: str
    setup: str
    stmt: str
    target: Optional[float] = None
    kind: str = "micro"
    unroll: int = 10
    gc: bool = False
    fingerprint: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)
    teardown: Optional[str] = None
    default: bool = True

    def to_wire(self) -> dict:
        return {
            "name": self.name,
            "setup": self.setup,
            "stmt": self.stmt,
            "unroll": self.unroll,
            "gc": self.gc,
            "fingerprint": self.fingerprint,
            "teardown": self.teardown,
        }


N_SERIES = 100_000

_REG = """\
from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, Histogram, Info, Enum
r = CollectorRegistry()
"""

# 100,000 labelled counter children in one family. _created is disabled so
# the exposition is 100,000 sample lines and deterministic.
_COUNTER_100K = _REG + """\
from prometheus_client import disable_created_metrics
disable_created_metrics()
c = Counter('bench_requests', 'Requests handled.', ['path', 'code'], registry=r)
for i in range({n}):
    c.labels('/api/v1/item/%d' % (i // 10), str(200 + i % 10)).inc(i * 0.5)
""".format(n=N_SERIES)

# A mix of every metric type adding up to ~100,000 series (sample lines):
# counters 30,000 + gauges 30,000 + summaries 5,000 x 2 + histograms
# 1,500 x 17 (15 default buckets, _count, _sum) + infos 2,000 + enums 600 x 4
# = 99,900.
_MIXED_100K = _REG + """\
from prometheus_client import disable_created_metrics
disable_created_metrics()
c = Counter('bench_requests', 'Requests handled.', ['path', 'code'], registry=r)
for i in range(30000):
    c.labels('/api/v1/item/%d' % (i // 10), str(200 + i % 10)).inc(i)
g = Gauge('bench_queue_depth', 'Queue depth.', ['queue'], registry=r)
for i in range(30000):
    g.labels('queue-%d' % i).set(i * 1.25 - 7)
s = Summary('bench_payload_bytes', 'Payload size.', ['client'], registry=r)
for i in range(5000):
    child = s.labels('client-%d' % i)
    child.observe(i)
    child.observe(3.5)
h = Histogram('bench_latency_seconds', 'Latency.', ['handler'], registry=r)
for i in range(1500):
    child = h.labels('handler_%d' % i)
    for j in range(7):
        child.observe((i * 7 + j) % 97 / 9.0)
inf = Info('bench_build', 'Build information.', ['component'], registry=r)
for i in range(2000):
    inf.labels('component%d' % i).info({'version': '1.%d.0' % i, 'commit': 'abc%05d' % i})
e = Enum('bench_state', 'Worker state.', ['worker'], states=['idle', 'busy', 'draining', 'stopped'], registry=r)
for i in range(600):
    e.labels('w%d' % i).state(['idle', 'busy', 'draining', 'stopped'][i % 4])
"""

_SHA = "__import__('hashlib').sha256({expr}).hexdigest()"

CASES: List[Case] = [
    Case(
        name="counter_inc",
        title="Counter.inc()",
        setup=_REG + "c = Counter('bench_requests', 'h', registry=r)\n",
        stmt="c.inc()",
        target=3.0,
    ),
    Case(
        name="gauge_set",
        title="Gauge.set(v)",
        setup=_REG + "g = Gauge('bench_temperature', 'h', registry=r)\nv = 21.5\n",
        stmt="g.set(v)",
        target=3.0,
    ),
    Case(
        name="histogram_observe",
        title="Histogram.observe(v), default buckets",
        setup=_REG + "h = Histogram('bench_latency_seconds', 'h', registry=r)\nv = 0.3\n",
        stmt="h.observe(v)",
        target=3.0,
    ),
    Case(
        name="labels_inc",
        title="counter.labels('a','b').inc(), existing child",
        setup=_REG + (
            "c = Counter('bench_requests', 'h', ['method', 'code'], registry=r)\n"
            "c.labels('a', 'b')\n"
        ),
        stmt="c.labels('a', 'b').inc()",
        target=4.0,
    ),
    Case(
        name="generate_latest_100k_counter",
        title="generate_latest, 100k counter series",
        setup=_COUNTER_100K + "from prometheus_client import generate_latest\n",
        stmt="generate_latest(r)",
        target=3.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint=_SHA.format(expr="generate_latest(r)"),
    ),
    Case(
        name="generate_latest_100k_mixed",
        title="generate_latest, 100k series, all types",
        setup=_MIXED_100K + "from prometheus_client import generate_latest\n",
        stmt="generate_latest(r)",
        target=3.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint=_SHA.format(expr="generate_latest(r)"),
    ),
    Case(
        name="summary_observe",
        title="Summary.observe(v)",
        setup=_REG + "s = Summary('bench_payload_bytes', 'h', registry=r)\nv = 512.0\n",
        stmt="s.observe(v)",
    ),
    Case(
        name="gauge_inc",
        title="Gauge.inc()",
        setup=_REG + "g = Gauge('bench_in_flight', 'h', registry=r)\n",
        stmt="g.inc()",
    ),
    Case(
        name="counter_inc_exemplar",
        title="Counter.inc(1, exemplar)",
        setup=_REG + (
            "c = Counter('bench_requests', 'h', registry=r)\n"
            "ex = {'trace_id': '4bf92f3577b34da6a3ce929d0e0e4736'}\n"
        ),
        stmt="c.inc(1, ex)",
    ),
    Case(
        name="openmetrics_100k_counter",
        title="openmetrics generate_latest, 100k counter series",
        setup=_COUNTER_100K + (
            "from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest\n"
        ),
        stmt="om_generate_latest(r)",
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint=_SHA.format(expr="om_generate_latest(r)"),
    ),
    Case(
        name="labels_kwargs_inc",
        title="counter.labels(method=, code=).inc(), existing child",
        setup=_REG + (
            "c = Counter('bench_requests', 'h', ['method', 'code'], registry=r)\n"
            "c.labels('a', 'b')\n"
        ),
        stmt="c.labels(method='a', code='b').inc()",
    ),
    Case(
        name="labels_new_child",
        title="counter.labels(new value): first-seen child",
        setup=_REG + (
            "import itertools\n"
            "c = Counter('bench_requests', 'h', ['path'], registry=r)\n"
            "ids = map(str, itertools.count())\n"
        ),
        stmt="c.labels(next(ids))",
        unroll=1,
        gc=True,
    ),
    Case(
        name="generate_latest_100k_counter_created",
        title="generate_latest, 100k counters with _created",
        setup=(
            "import time\n"
            "time.time = lambda: 1700000000.25\n"
            + _REG
            + "from prometheus_client import generate_latest\n"
            "c = Counter('bench_requests', 'Requests handled.', ['path', 'code'], registry=r)\n"
            "for i in range(%d):\n"
            "    c.labels('/api/v1/item/%%d' %% (i // 20), str(200 + i %% 20)).inc(i)\n" % (N_SERIES // 2)
        ),
        stmt="generate_latest(r)",
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint=_SHA.format(expr="generate_latest(r)"),
    ),
    # --- opt-in cases (run with --all or --only NAME) -----------------------
    Case(
        name="parse_text_10k",
        title="parser.text_string_to_metric_families, 10k lines",
        setup=_REG + (
            "from prometheus_client import generate_latest\n"
            "from prometheus_client.parser import text_string_to_metric_families\n"
            "c = Counter('bench_requests', 'Requests handled.', ['path', 'code'], registry=r)\n"
            "for i in range(5000):\n"
            "    c.labels('/item/%d' % i, '200').inc(i)\n"
            "import time\n"
            "text = generate_latest(r).decode()\n"
        ),
        stmt="for _f in text_string_to_metric_families(text): pass",
        kind="macro",
        unroll=1,
        gc=True,
        default=False,
    ),
    Case(
        name="wsgi_scrape_10k",
        title="make_wsgi_app() request, 10k series (no socket)",
        setup=_REG + (
            "from prometheus_client import make_wsgi_app, disable_created_metrics\n"
            "import io\n"
            "disable_created_metrics()\n"
            "c = Counter('bench_requests', 'Requests handled.', ['path'], registry=r)\n"
            "for i in range(10000):\n"
            "    c.labels('/item/%d' % i).inc(i)\n"
            "app = make_wsgi_app(r)\n"
            "def start_response(status, headers, exc_info=None):\n"
            "    pass\n"
            "def environ():\n"
            "    return {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/metrics', 'QUERY_STRING': '',\n"
            "            'HTTP_ACCEPT': 'text/plain', 'wsgi.input': io.BytesIO(),\n"
            "            'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'wsgi.url_scheme': 'http'}\n"
        ),
        stmt="b''.join(app(environ(), start_response))",
        kind="macro",
        unroll=1,
        gc=True,
        default=False,
    ),
    Case(
        name="multiprocess_counter_inc",
        title="Counter.inc() in multiprocess mode",
        setup=_REG + (
            "from prometheus_client import generate_latest, multiprocess\n"
            "c = Counter('bench_requests', 'h', registry=r)\n"
            "c.inc(5)\n"
            "def mp_exposition():\n"
            "    reader = CollectorRegistry()\n"
            "    multiprocess.MultiProcessCollector(reader)\n"
            "    return generate_latest(reader).decode()\n"
        ),
        stmt="c.inc()",
        # Proves the value went through the multiprocess files.
        fingerprint="mp_exposition()",
        env={"PROMETHEUS_MULTIPROC_DIR": "{tmpdir}"},
        default=False,
    ),
]


def by_name() -> Dict[str, Case]:
    return {case.name: case for case in CASES}
