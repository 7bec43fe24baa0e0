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
follows
    Name of a case this one builds on: it runs in the same two worker
    processes, right after that case's rounds, and its ``setup`` continues in
    the same namespace (e.g. add dead processes to a directory whose live
    writers the earlier case started). Selecting a case also runs (and
    reports) the cases it follows. Its ``env`` is the first case's.
relative_to, relative_max
    Compare our own time on this case with our time on the case it names
    (normally the one it follows): the row ``ours this / ours that`` must be
    at most ``relative_max`` (e.g. 1.1: "no more than 10% slower with
    history"). The two are measured one after the other in the same worker,
    not interleaved.
measures
    :class:`Measure` quantities evaluated in both workers after the case's
    rounds (disk use, a one-off time recorded during setup...), reported in a
    table of their own with ratio classic/ours.
rounds
    Override the number of timed rounds of the full profile (heavy cases);
    ``--quick`` keeps its own, smaller count.

The setup also sees ``QUICK`` (true under ``--quick``: scale heavy cases down)
and ``bench_fork(fn, *args)``, which forks a child that runs ``fn`` and exits,
detached from the worker's protocol pipes (see ``_worker.py``).

To add a case, append a ``Case(...)`` to ``CASES``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class Measure:
    """A quantity measured once per implementation (not timed in rounds).

    ``expr`` is evaluated in the case namespace after the case's rounds and
    must give a number in ``unit`` ("bytes" or "s"). The ratio is
    classic/ours; ``target`` is its minimum (for bytes, 1.0 means "ours uses
    no more than classic").
    """

    name: str
    title: str
    expr: str
    unit: str = "s"
    target: Optional[float] = None


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
    follows: Optional[str] = None
    relative_to: Optional[str] = None
    relative_max: Optional[float] = None
    measures: List[Measure] = field(default_factory=list)
    rounds: Optional[int] = None

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

# --- multiprocess mode ---------------------------------------------------------
_MP_ENV = {"PROMETHEUS_MULTIPROC_DIR": "{tmpdir}"}

_MP_REG = _REG + """\
from prometheus_client import generate_latest, multiprocess
def mp_exposition():
    reader = CollectorRegistry()
    multiprocess.MultiProcessCollector(reader)
    return generate_latest(reader).decode()
"""

# Writer processes are forked from the worker (prometheus_client already
# imported with PROMETHEUS_MULTIPROC_DIR set, as under a pre-fork server).
# Every writer creates the same labelled counter children; a live writer then
# blocks on a pipe until the teardown closes it. The parent scrapes the
# directory the classic way: a fresh registry + MultiProcessCollector.
_MP_LIVE_WRITERS = """\
import hashlib, os, time
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
MP_DIR = os.environ['PROMETHEUS_MULTIPROC_DIR']
N_LIVE, N_SERIES = (8, 2000) if QUICK else (32, 10000)
N_DEAD, DEAD_SERIES = (100, 200) if QUICK else (1000, 1000)

def sha(data):
    return hashlib.sha256(data).hexdigest()

def sorted_sha(data):
    # The classic client emits series in the directory's listing order,
    # which the file system chooses; compare the lines, not their order.
    return sha(b"\\n".join(sorted(data.split(b"\\n"))))

def write_series(first, count):
    r = CollectorRegistry()
    c = Counter('bench_mp_requests', 'Requests handled.', ['path', 'code'], registry=r)
    for i in range(first, first + count):
        j = i % N_SERIES
        c.labels('/api/v1/item/%d' % (j // 10), str(200 + j % 10)).inc(1 + j % 7)
    return c

def live_writer(ready_w, go_r, go_w):
    os.close(go_w)
    keep = write_series(0, N_SERIES)
    os.write(ready_w, b'.')
    os.read(go_r, 1)  # EOF when the worker closes go_w (teardown) or dies

def scrape():
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)

def disk_bytes():
    total = 0
    for root, dirs, files in os.walk(MP_DIR):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total

def reap(pid):
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError('writer process %d failed (status %d), see stderr' % (pid, status))

go_r, go_w = os.pipe()
ready_r, ready_w = os.pipe()
live_pids = []
for _k in range(N_LIVE):
    live_pids.append(bench_fork(live_writer, ready_w, go_r, go_w))
os.close(ready_w)
os.close(go_r)
_ready = 0
while _ready < N_LIVE:
    _chunk = os.read(ready_r, 64)
    if not _chunk:
        raise RuntimeError('a live writer process died during setup, see stderr')
    _ready += len(_chunk)
os.close(ready_r)
_t0 = time.perf_counter()
first = scrape()
first_scrape_s = time.perf_counter() - _t0
"""

_MP_LIVE_TEARDOWN = """\
os.close(go_w)
for _pid in live_pids:
    os.waitpid(_pid, 0)
"""

# Continues _MP_LIVE_WRITERS (same worker, same directory, live writers still
# running): 1,000 short-lived processes (two at a time) each write 1,000 of
# the same series (a sliding window, so together they cover all of them) and
# exit. Then one warm-up scrape, timed apart: ours folds the dead processes'
# files into its archive there; the timed rounds are steady-state scrapes.
_MP_DEAD_HISTORY = """\
def dead_writer(k):
    write_series(k * DEAD_SERIES, DEAD_SERIES)

_t0 = time.perf_counter()
_running = []
for _k in range(N_DEAD):
    if len(_running) >= 2:
        reap(_running.pop(0))
    _running.append(bench_fork(dead_writer, _k))
for _pid in _running:
    reap(_pid)
history_s = time.perf_counter() - _t0
_t0 = time.perf_counter()
first_with_history = scrape()
first_history_scrape_s = time.perf_counter() - _t0
"""

# --- HTTP --------------------------------------------------------------------
_COUNTER_10K = _REG + """\
from prometheus_client import disable_created_metrics
disable_created_metrics()
c = Counter('bench_requests', 'Requests handled.', ['path', 'code'], registry=r)
for i in range(10000):
    c.labels('/api/v1/item/%d' % (i // 10), str(200 + i % 10)).inc(i * 0.5)
"""

# --- parsers -----------------------------------------------------------------
# The _MIXED_100K mix scaled by K: K = 1.8 gives ~10.5 MB of text exposition
# (~180k lines) and about the same in OpenMetrics.
_PARSE_SETUP = _REG + """\
import hashlib
from prometheus_client import disable_created_metrics
disable_created_metrics()
K = 0.35 if QUICK else 1.8

def sha(data):
    return hashlib.sha256(data).hexdigest()

def parsed_fingerprint(families):
    digest = hashlib.sha256()
    samples = 0
    for f in families:
        digest.update(repr((f.name, f.type, f.documentation, f.unit)).encode())
        for s in f.samples:
            samples += 1
            digest.update(repr((s.name, sorted(s.labels.items()), s.value, s.timestamp, s.exemplar)).encode())
    return '%d samples %s' % (samples, digest.hexdigest())

c = Counter('bench_requests', 'Requests handled.', ['path', 'code'], registry=r)
for i in range(int(30000 * K)):
    c.labels('/api/v1/item/%d' % (i // 10), str(200 + i % 10)).inc(i)
g = Gauge('bench_queue_depth', 'Queue depth.', ['queue'], registry=r)
for i in range(int(30000 * K)):
    g.labels('queue-%d' % i).set(i * 1.25 - 7)
s = Summary('bench_payload_bytes', 'Payload size.', ['client'], registry=r)
for i in range(int(5000 * K)):
    child = s.labels('client-%d' % i)
    child.observe(i)
    child.observe(3.5)
h = Histogram('bench_latency_seconds', 'Latency.', ['handler'], registry=r)
for i in range(int(1500 * K)):
    child = h.labels('handler_%d' % i)
    for j in range(7):
        child.observe((i * 7 + j) % 97 / 9.0)
inf = Info('bench_build', 'Build information.', ['component'], registry=r)
for i in range(int(2000 * K)):
    inf.labels('component%d' % i).info({'version': '1.%d.0' % i, 'commit': 'abc%05d' % i})
e = Enum('bench_state', 'Worker state.', ['worker'], states=['idle', 'busy', 'draining', 'stopped'], registry=r)
for i in range(int(600 * K)):
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
        name="native_histogram_observe",
        title="native Histogram.observe(v) (factor 1.1) vs classic's classic observe",
        # The classic client has no native histograms: its classic observe with
        # the default buckets is the baseline the issue sets.
        setup=_REG + (
            "try:\n"
            "    h = Histogram('bench_latency_seconds', 'h', registry=r, native_histogram_bucket_factor=1.1)\n"
            "except TypeError:\n"
            "    h = Histogram('bench_latency_seconds', 'h', registry=r)\n"
            "import itertools\n"
            "values = itertools.cycle([0.0003 * 1.37 ** i for i in range(40)])\n"
            "nxt = values.__next__\n"
        ),
        stmt="h.observe(nxt())",
        target=1.0,
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
    # --- multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before the import) ---
    Case(
        name="multiprocess_counter_inc",
        title="Counter.inc() in multiprocess mode",
        setup=_MP_REG + "c = Counter('bench_requests', 'h', registry=r)\nc.inc(5)\n",
        stmt="c.inc()",
        target=8.0,
        # Proves the value went through the multiprocess files.
        fingerprint="mp_exposition()",
        env=_MP_ENV,
    ),
    Case(
        name="multiprocess_histogram_observe",
        title="Histogram.observe(v) in multiprocess mode",
        setup=_MP_REG + (
            "h = Histogram('bench_latency_seconds', 'h', registry=r)\n"
            "v = 0.3\n"
            "h.observe(2.5)\n"
        ),
        stmt="h.observe(v)",
        target=8.0,
        fingerprint="mp_exposition()",
        env=_MP_ENV,
    ),
    Case(
        name="mp_scrape_32x10k",
        title="MultiProcessCollector scrape, 32 live processes x 10k series (8 x 2k with --quick)",
        setup=_MP_LIVE_WRITERS,
        stmt="scrape()",
        target=10.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint="sha(first)",
        env=_MP_ENV,
        teardown=_MP_LIVE_TEARDOWN,
        measures=[
            Measure("mp_disk_32x10k", "disk use of the directory, 32 live x 10k series (st_blocks)",
                    "disk_bytes()", unit="bytes", target=1.0),
            Measure("mp_first_scrape_32x10k", "first scrape of the directory (cold reader)",
                    "first_scrape_s", unit="s"),
        ],
    ),
    Case(
        name="mp_scrape_32x10k_dead1000",
        title="same scrape + 1,000 dead processes' files (1k series each), after 1 warm-up scrape",
        setup=_MP_DEAD_HISTORY,
        stmt="scrape()",
        target=30.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint="sorted_sha(first_with_history)",
        env=_MP_ENV,
        follows="mp_scrape_32x10k",
        relative_to="mp_scrape_32x10k",
        relative_max=1.1,
        measures=[
            Measure("mp_dead1000_create", "running the 1,000 short-lived writer processes",
                    "history_s", unit="s"),
            Measure("mp_dead1000_first_scrape", "first scrape after the deaths (ours: compacts)",
                    "first_history_scrape_s", unit="s"),
            Measure("mp_dead1000_disk", "disk use with the 1,000 dead processes' history",
                    "disk_bytes()", unit="bytes"),
        ],
        default=False,
    ),
    Case(
        name="protobuf_10k_vs_classic_text",
        title="protobuf exposition of 10k series vs classic's text exposition of them",
        # The classic client has no protobuf encoder: its text generate_latest
        # of the same registry is the baseline the issue sets.
        setup=_COUNTER_10K + (
            "try:\n"
            "    from prometheus_client.encoders.protobuf import generate_latest as expose\n"
            "except ImportError:\n"
            "    from prometheus_client import generate_latest as expose\n"
        ),
        stmt="expose(r)",
        target=1.0,
        kind="macro",
        unroll=1,
        gc=True,
    ),
    # --- HTTP ------------------------------------------------------------------
    Case(
        name="http_scrape_10k",
        title="start_http_server GET /metrics over 127.0.0.1, 10k series",
        setup=_COUNTER_10K + (
            "import http.client\n"
            "from prometheus_client import start_http_server\n"
            "server, server_thread = start_http_server(0, addr='127.0.0.1', registry=r)\n"
            "port = server.server_address[1]\n"
            "def http_get():\n"
            "    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)\n"
            "    try:\n"
            "        conn.request('GET', '/metrics')\n"
            "        resp = conn.getresponse()\n"
            "        body = resp.read()\n"
            "        if resp.status != 200:\n"
            "            raise RuntimeError('HTTP %d' % resp.status)\n"
            "        return resp.getheader('Content-Type'), body\n"
            "    finally:\n"
            "        conn.close()\n"
        ),
        stmt="http_get()",
        target=3.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint=_SHA.format(expr="repr(http_get()).encode()"),
        teardown="server.shutdown()\nserver.server_close()\n",
    ),
    Case(
        name="asgi_scrape_10k",
        title="make_asgi_app() GET /metrics, driven in-process with asyncio, 10k series",
        setup=_COUNTER_10K + (
            "import asyncio\n"
            "from prometheus_client import make_asgi_app\n"
            "app = make_asgi_app(registry=r)\n"
            "scope = {'type': 'http', 'asgi': {'version': '3.0', 'spec_version': '2.3'}, 'http_version': '1.1',\n"
            "         'method': 'GET', 'scheme': 'http', 'path': '/metrics', 'raw_path': b'/metrics',\n"
            "         'query_string': b'', 'root_path': '', 'headers': [(b'host', b'127.0.0.1:8000')],\n"
            "         'client': ('127.0.0.1', 50000), 'server': ('127.0.0.1', 8000)}\n"
            "async def asgi_call():\n"
            "    sent = []\n"
            "    async def receive():\n"
            "        return {'type': 'http.request', 'body': b'', 'more_body': False}\n"
            "    async def send(message):\n"
            "        sent.append(message)\n"
            "    await app(dict(scope), receive, send)\n"
            "    return sent\n"
            "loop = asyncio.new_event_loop()\n"
            "def asgi_get():\n"
            "    sent = loop.run_until_complete(asgi_call())\n"
            "    start = sent[0]\n"
            "    if start['status'] != 200:\n"
            "        raise RuntimeError('HTTP %d' % start['status'])\n"
            "    return sorted(start['headers']), b''.join(m.get('body', b'') for m in sent[1:])\n"
        ),
        stmt="asgi_get()",
        target=3.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint=_SHA.format(expr="repr(asgi_get()).encode()"),
        teardown="loop.close()\n",
    ),
    # --- parsers -----------------------------------------------------------------
    Case(
        name="parse_text_10mb",
        title="parser.text_string_to_metric_families, ~10 MB exposition (~2 MB with --quick)",
        setup=_PARSE_SETUP + (
            "from prometheus_client import generate_latest\n"
            "from prometheus_client.parser import text_string_to_metric_families as parse\n"
            "text = generate_latest(r).decode()\n"
            "del r, c, g, s, h, inf, e\n"
            "def parse_all():\n"
            "    for _family in parse(text):\n"
            "        pass\n"
        ),
        stmt="parse_all()",
        target=3.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint="'%d bytes ' % len(text) + sha(text.encode()) + ' ' + parsed_fingerprint(parse(text))",
    ),
    Case(
        name="parse_openmetrics_10mb",
        title="openmetrics.parser.text_string_to_metric_families, ~10 MB exposition",
        setup=_PARSE_SETUP + (
            "from prometheus_client.openmetrics.exposition import generate_latest\n"
            "from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n"
            "text = generate_latest(r).decode()\n"
            "del r, c, g, s, h, inf, e\n"
            "def parse_all():\n"
            "    for _family in parse(text):\n"
            "        pass\n"
        ),
        stmt="parse_all()",
        target=3.0,
        kind="macro",
        unroll=1,
        gc=True,
        fingerprint="'%d bytes ' % len(text) + sha(text.encode()) + ' ' + parsed_fingerprint(parse(text))",
        default=False,  # ~1.5 min at full size
    ),
    # --- opt-in cases (run with --all or --only NAME) -----------------------
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
]


def by_name() -> Dict[str, Case]:
    return {case.name: case for case in CASES}


def _validate() -> None:
    seen: Dict[str, Case] = {}
    followed = set()
    for case in CASES:
        assert case.name not in seen, "duplicate case %s" % case.name
        if case.follows is not None:
            assert case.follows in seen, "%s follows %s, which must come earlier" % (case.name, case.follows)
            assert case.follows not in followed, "two cases follow %s (chains are linear)" % case.follows
            assert not case.env or case.env == seen[case.follows].env, "%s: env is the first case's" % case.name
            followed.add(case.follows)
        if case.relative_to is not None:
            ancestor = case.follows
            while ancestor is not None and ancestor != case.relative_to:
                ancestor = seen[ancestor].follows
            assert ancestor == case.relative_to, "%s: relative_to must be a case it follows" % case.name
        seen[case.name] = case


_validate()
