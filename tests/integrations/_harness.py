"""Shared machinery of the integration tests: real servers, real HTTP, parsed scrapes.

Every server is started with ``sys.executable`` (so in the test's own
virtualenv) in a session of its own (its pid is its process-group id), on
127.0.0.1 with a free port, with its combined stdout/stderr in a log file
that every failure message quotes. ``PROMETHEUS_MULTIPROC_DIR`` is set for
the server only, never in the test process.

A scenario drives real requests (``Req``) in batches, then scrapes until the
exact expected values appear (some libraries count a request only after its
response is sent), and checks every scrape for duplicate series and for
counters that went backwards since the previous scrape; meanwhile a
background ``ScrapeWatcher`` scrapes during the traffic. Multiprocess
scenarios can SIGKILL a worker between batches (``kill_a_worker_after``) and
end by checking that no file of a dead process is left in the directory.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from prometheus_client.parser import text_string_to_metric_families
from tests._processes import HOST, gunicorn_common_options, start_server_process, wait_for, worker_pids

APPS = Path(__file__).resolve().parent / "apps"
START_TIMEOUT = 60.0  # two shared cores; three workers importing Django/FastAPI at once
STOP_TIMEOUT = 10.0
SETTLE_TIMEOUT = 10.0
LOG_TAIL = 4000


# -- small utilities ------------------------------------------------------------


def gunicorn_argv(app: str, port: int, workers: int, *extra: str, worker_class: str = "sync") -> List[str]:
    return [
        sys.executable, "-m", "gunicorn", "-k", worker_class, "-w", str(workers),
        "-b", "%s:%d" % (HOST, port), "--chdir", str(APPS),
        "--timeout", "30", "--graceful-timeout", "3", "--log-level", "warning",
        *gunicorn_common_options(), *extra, app,
    ]


def uvicorn_argv(app: str, port: int, workers: Optional[int] = None) -> List[str]:
    argv = [sys.executable, "-m", "uvicorn", "--host", HOST, "--port", str(port), "--app-dir", str(APPS),
            "--log-level", "warning", "--no-access-log"]
    if workers:
        argv += ["--workers", str(workers)]
    return argv + [app]


# -- HTTP -----------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def request(port: int, method: str, path: str, body: Optional[bytes] = None,
            headers: Optional[Mapping[str, str]] = None, timeout: float = 15.0) -> Response:
    """One request on a fresh connection (``Connection: close``, so workers take turns)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        all_headers = {"Connection": "close"}
        all_headers.update(headers or {})
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass(frozen=True)
class Req:
    """One request of the traffic plan, with what the server must answer."""

    method: str
    path: str
    status: int = 200
    route: str = ""  # the route template the instrumentation reports for it
    body: Optional[bytes] = None
    headers: Tuple[Tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.route:
            object.__setattr__(self, "route", self.path)


# -- scrapes --------------------------------------------------------------------

SeriesKey = Tuple[str, FrozenSet[Tuple[str, str]]]


def key(name: str, **labels: str) -> SeriesKey:
    return name, frozenset(labels.items())


def show(series: SeriesKey) -> str:
    name, labels = series
    return "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in sorted(labels)))


_TYPE_LINE = re.compile(r"^# TYPE (\S+) ", re.M)
_HELP_LINE = re.compile(r"^# HELP (\S+) ", re.M)


class Scrape:
    """One parsed Prometheus text exposition."""

    def __init__(self, text: str, source: str = "") -> None:
        self.text = text
        self.source = source
        try:
            self.families = list(text_string_to_metric_families(text))
        except Exception as error:
            raise AssertionError("unparsable exposition from %s: %r\n%s" % (source, error, text[:3000]))
        self.samples: List[Tuple[str, Dict[str, str], float]] = []
        self.sample_types: Dict[str, str] = {}
        for family in self.families:
            for sample in family.samples:
                self.samples.append((sample.name, dict(sample.labels), sample.value))
                self.sample_types[sample.name] = family.type
        self.family_types = {family.name: family.type for family in self.families}

    def values(self) -> Dict[SeriesKey, float]:
        return {(n, frozenset(l.items())): v for n, l, v in self.samples}

    def value(self, name: str, **labels: str) -> Optional[float]:
        found = [v for n, l, v in self.samples if n == name and l == labels]
        assert len(found) <= 1, "%s appears %d times in %s" % (show(key(name, **labels)), len(found), self.source)
        return found[0] if found else None

    def matching(self, name: str, **labels: str) -> List[Tuple[Dict[str, str], float]]:
        """Samples called ``name`` whose labels include ``labels``."""
        return [(l, v) for n, l, v in self.samples if n == name and all(l.get(k) == v2 for k, v2 in labels.items())]

    def total(self, name: str, **labels: str) -> float:
        return sum(v for _, v in self.matching(name, **labels))

    def names(self) -> Set[str]:
        return {n for n, _, _ in self.samples}

    def problems(self) -> List[str]:
        """Duplicate series and families exposed more than once."""
        found = []
        counts = Tally((n, frozenset(l.items())) for n, l, _ in self.samples)
        found += ["duplicate series %s (x%d)" % (show(k), c) for k, c in counts.items() if c > 1]
        for what, pattern in (("TYPE", _TYPE_LINE), ("HELP", _HELP_LINE)):
            lines = Tally(pattern.findall(self.text))
            found += ["family %s has %d %s lines" % (n, c, what) for n, c in lines.items() if c > 1]
        return found

    def monotonic(self) -> Dict[SeriesKey, float]:
        """The samples that must never decrease: counters, histogram and summary buckets/counts/sums."""
        result = {}
        for name, labels, value in self.samples:
            if name.endswith("_created") or name.endswith("_gsum") or name.endswith("_gcount"):
                continue
            if self.sample_types.get(name) in ("counter", "histogram", "summary") and "quantile" not in labels:
                result[(name, frozenset(labels.items()))] = value
        return result


@dataclass(frozen=True)
class AbsentOr:
    """An expected value that may also be missing: a live-gauge series whose
    only writer was a worker that died is no longer exported."""

    value: float

    def __eq__(self, other) -> bool:
        return other is None or other == self.value or (isinstance(other, AbsentOr) and other.value == self.value)

    def __hash__(self) -> int:
        return hash(self.value)


def compare(scrape: Scrape, expected: Mapping[SeriesKey, float]) -> List[str]:
    """The mismatches between ``expected`` exact series values and ``scrape``."""
    got = scrape.values()
    mismatches = []
    for series, want in sorted(expected.items(), key=lambda kv: show(kv[0])):
        have = got.get(series)
        if isinstance(want, AbsentOr):
            if have is not None and have != want.value:
                mismatches.append("%s = %r, want %r (or absent)" % (show(series), have, want.value))
            continue
        if have is None:
            similar = sorted(show(k) + " " + repr(v) for k, v in got.items() if k[0] == series[0])
            if len(similar) > 6:
                similar = similar[:6] + ["... %d more" % (len(similar) - 6)]
            mismatches.append("missing %s (want %r); series of that name: %s" % (show(series), want, similar or "none"))
        elif have != want:
            mismatches.append("%s = %r, want %r" % (show(series), have, want))
    return mismatches


def decreases(previous: Optional[Scrape], current: Scrape) -> List[str]:
    if previous is None:
        return []
    now = current.monotonic()
    problems = []
    for series, before in previous.monotonic().items():
        after = now.get(series)
        if after is None:
            problems.append("%s vanished (was %r)" % (show(series), before))
        elif after < before:
            problems.append("%s decreased %r -> %r" % (show(series), before, after))
    return problems


# -- servers --------------------------------------------------------------------


class Server:
    """A server started in its own session; teardown kills its whole process group."""

    def __init__(self, name: str, argv: List[str], env: Mapping[str, str], log_path: Path, port: int,
                 multiproc_dir: Optional[Path], aux: Mapping[str, int]) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.aux = dict(aux)
        self.multiproc_dir = multiproc_dir
        self.log_path = log_path
        full_env = dict(os.environ)
        for variable in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
            full_env.pop(variable, None)
        if multiproc_dir is not None:
            full_env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env["PYTHONDONTWRITEBYTECODE"] = "1"
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(APPS), full_env.get("PYTHONPATH", "")) if p)
        full_env.update(env)
        self.process, self._log = start_server_process(argv, full_env, log_path)
        self.pid = self.process.pid

    # diagnostics

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def fail(self, message: str) -> AssertionError:
        return AssertionError("%s\n\n--- %s (%s) output, last %d chars ---\n%s" % (
            message, self.name, " ".join(self.argv[1:]), LOG_TAIL, self.log()[-LOG_TAIL:]))

    # processes

    def workers(self) -> List[int]:
        """Worker pids: the master's children (multiprocessing's resource tracker excepted)."""
        return worker_pids(self.pid)

    def wait_ready(self, workers: int, path: str, port: Optional[int] = None,
                   extra: Sequence[Tuple[int, str]] = ()) -> None:
        checks = [(port or self.port, path)] + list(extra)

        def ready() -> bool:
            if self.process.poll() is not None:
                raise self.fail("%s exited with status %s before serving" % (self.name, self.process.returncode))
            if workers and len(self.workers()) < workers:
                return False
            for check_port, check_path in checks:
                try:
                    if request(check_port, "GET", check_path, timeout=3).status != 200:
                        return False
                except OSError:
                    return False
            return True

        try:
            wait_for(ready, START_TIMEOUT, "%s to serve %s with %d workers" % (self.name, checks, workers))
        except AssertionError as error:
            if "exited with status" in str(error):
                raise
            raise self.fail(str(error)) from None

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left; reap the master."""
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # workers that outlived their master
        except ProcessLookupError:
            pass
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        self._log.close()

    # HTTP

    def request(self, method: str, path: str, port: Optional[int] = None, **kwargs) -> Response:
        try:
            return request(port or self.port, method, path, **kwargs)
        except OSError as error:
            raise self.fail("%s %s on port %s failed: %r" % (method, path, port or self.port, error)) from None

    def scrape(self, path: str = "/metrics", port: Optional[int] = None,
               accept: Optional[str] = None) -> Scrape:
        headers = {"Accept": accept} if accept else None
        response = self.request("GET", path, port=port, headers=headers)
        if response.status != 200:
            raise self.fail("scrape of %s:%s answered %d: %r" % (port or self.port, path, response.status, response.body[:500]))
        return Scrape(response.body.decode("utf-8"), "%s:%s" % (port or self.port, path))


# -- scenarios ------------------------------------------------------------------


@dataclass
class Traffic:
    """What the client sent and which workers answered."""

    sent: Tally = field(default_factory=Tally)
    pids: Set[int] = field(default_factory=set)
    by_pid: Dict[int, Tally] = field(default_factory=dict)  # the requests each worker answered

    def count(self, **attributes) -> int:
        """How many requests were sent whose Req fields equal ``attributes``."""
        return sum(c for r, c in self.sent.items() if all(getattr(r, k) == v for k, v in attributes.items()))

    def kinds(self) -> List[Req]:
        return sorted(self.sent, key=lambda r: (r.method, r.route, r.status, r.path))


def drive(server: Server, requests: Iterable[Req], traffic: Traffic, threads: int = 4) -> None:
    """Send ``requests`` concurrently; each must get its expected status."""

    def one(req: Req) -> Tuple[Req, Response]:
        return req, server.request(req.method, req.path, body=req.body, headers=dict(req.headers))

    with ThreadPoolExecutor(threads) as pool:
        for req, response in pool.map(one, list(requests)):
            if response.status != req.status:
                raise server.fail("%s %s answered %d, want %d: %r" % (
                    req.method, req.path, response.status, req.status, response.body[:300]))
            traffic.sent[req] += 1
            pid = response.headers.get("X-Worker-Pid")
            if pid:
                traffic.pids.add(int(pid))
                traffic.by_pid.setdefault(int(pid), Tally())[req] += 1


Expectation = Callable[[Traffic], Dict[SeriesKey, float]]


def settle(server: Server, scrape: Callable[[], Scrape], expected: Dict[SeriesKey, float],
           previous: Optional[Scrape] = None, timeout: float = SETTLE_TIMEOUT) -> Scrape:
    """Scrape until the exact expected values show; every scrape is checked for
    duplicates and against the previous one for decreasing counters."""
    last: List[Scrape] = []
    before = [previous]

    def attempt() -> bool:
        current = scrape()
        problems = current.problems() + decreases(before[0], current)
        if problems:
            raise server.fail("bad scrape of %s:\n  %s\n\n%s" % (current.source, "\n  ".join(problems), current.text[:6000]))
        before[0] = current
        last[:] = [current]
        return not compare(current, expected)

    try:
        wait_for(attempt, timeout, "exact values", interval=0.05)
    except AssertionError as error:
        if not last:
            raise
        raise server.fail("%s; mismatches:\n  %s\n\nlast scrape (%s):\n%s" % (
            error, "\n  ".join(compare(last[0], expected)), last[0].source, last[0].text[:6000])) from None
    return last[0]


class ScrapeWatcher:
    """Scrapes in a background thread while traffic runs (bounded: at most
    ``limit`` scrapes): every scrape must be duplicate free and no counter may
    go down from one scrape to the next. ``stop()`` returns the last scrape."""

    def __init__(self, server: Server, scrape: Callable[[], Scrape], previous: Optional[Scrape], limit: int = 100) -> None:
        self.server = server
        self.scrape = scrape
        self.previous = previous
        self.limit = limit
        self.count = 0
        self.errors: List[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scrape-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and self.count < self.limit:
            try:
                current = self.scrape()
            except AssertionError as error:
                self.errors.append(str(error))
                return
            problems = current.problems() + decreases(self.previous, current)
            if problems:
                self.errors.append("scrape #%d of %s during traffic:\n  %s\n\n%s" % (
                    self.count, current.source, "\n  ".join(problems), current.text[:6000]))
                return
            self.previous = current
            self.count += 1
            self._stop.wait(0.005)

    def stop(self) -> Optional[Scrape]:
        self._stop.set()
        self._thread.join(60)
        if self.errors:
            raise AssertionError(self.errors[0])
        return self.previous


def kill_worker(server: Server, traffic: Traffic, workers: int, sig: int = signal.SIGKILL) -> int:
    """Kill (SIGKILL by default) the worker that answered most requests, and
    wait until the server has replaced it. Returns the victim's pid."""
    alive = server.workers()
    served = [pid for pid in alive if pid in traffic.by_pid]
    victim = max(served, key=lambda pid: sum(traffic.by_pid[pid].values())) if served else alive[0]
    os.kill(victim, sig)
    try:
        wait_for(lambda: victim not in server.workers() and len(server.workers()) >= workers, START_TIMEOUT,
                 "worker %d to be replaced (workers now %s)" % (victim, server.workers()))
    except AssertionError as error:
        raise server.fail(str(error)) from None
    return victim


def kill_a_worker_after(server: Server, workers: int, batch: int = 0) -> Callable[[int, Traffic], None]:
    """An ``after_batch`` hook: SIGKILL a busy worker after batch ``batch``
    and wait for its replacement (the totals must not change, nor go down)."""

    def hook(index: int, traffic: Traffic) -> None:
        if index == batch:
            kill_worker(server, traffic, workers)

    return hook


def run_scenario(server: Server, scrape: Callable[[], Scrape], batches: Sequence[Sequence[Req]],
                 expected: Expectation, *, min_workers: int = 1, spread: Sequence[Req] = (),
                 final_scrapes: int = 3, after_batch: Optional[Callable[[int, Traffic], None]] = None,
                 watch: bool = True) -> Tuple[Traffic, Scrape]:
    """Drive ``batches``, with a ``ScrapeWatcher`` scraping meanwhile, then
    scrape until exact; ``after_batch(i, traffic)`` runs after batch ``i``
    has settled (e.g. to kill a worker). Make sure at least ``min_workers``
    distinct workers answered (sending rounds of ``spread``), then scrape
    ``final_scrapes`` more times: each must be exact, duplicate free and
    monotonic. Returns the traffic and the last scrape."""
    traffic = Traffic()
    previous: Optional[Scrape] = None
    for index, batch in enumerate(batches):
        watcher = ScrapeWatcher(server, scrape, previous) if watch else None
        try:
            drive(server, batch, traffic)
        finally:
            if watcher is not None:
                try:
                    previous = watcher.stop()
                except AssertionError as error:
                    raise server.fail(str(error)) from None
        previous = settle(server, scrape, expected(traffic), previous)
        if after_batch is not None:
            after_batch(index, traffic)
            previous = settle(server, scrape, expected(traffic), previous)
    rounds = 0
    while len(traffic.pids) < min_workers:
        if rounds >= 25 or not spread:
            raise server.fail("only workers %s answered after %d requests; want %d distinct workers" % (
                sorted(traffic.pids), sum(traffic.sent.values()), min_workers))
        drive(server, spread, traffic, threads=max(4, len(spread)))
        rounds += 1
    if rounds:
        previous = settle(server, scrape, expected(traffic), previous)
    want = expected(traffic)
    for _ in range(final_scrapes):
        current = scrape()
        problems = current.problems() + decreases(previous, current) + compare(current, want)
        if problems:
            raise server.fail("scrape of %s after the traffic:\n  %s\n\n%s" % (
                current.source, "\n  ".join(problems), current.text[:6000]))
        previous = current
    assert previous is not None
    if server.multiproc_dir is not None:
        check_multiproc_dir(server)
    return traffic, previous


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X")


def check_multiproc_dir(server: Server) -> None:
    """docs/multiprocess.md: the directory stays bounded, one ``<pid>-<random>.db``
    file per live process (plus the archive): after scrapes, no file of a dead
    worker is left."""
    names = sorted(os.listdir(server.multiproc_dir))
    dead = [n for n in names if n.endswith(".db") and n.split("-", 1)[0].isdigit() and not _alive(int(n.split("-", 1)[0]))]
    if dead:
        raise server.fail("files of dead processes left in the multiprocess directory: %s (all: %s)" % (dead, names))
