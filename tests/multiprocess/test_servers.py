"""The multiprocess engine under real pre-fork servers: gunicorn and uvicorn.

Each test starts a real server (``sys.executable -m gunicorn`` / ``-m uvicorn``)
on 127.0.0.1 with a free port, in its own session (process group) and with
its own multiprocess directory; ``PROMETHEUS_MULTIPROC_DIR`` is set for the
server only, never in this process. The apps live in ``apps/`` and are
imported by the servers through ``--chdir`` / ``--app-dir``.

Every wait is a bounded poll; every server is killed (its whole process
group) by the fixture's finalizer, whatever happens.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter as Tally
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from tests._processes import HOST, free_port, group_members, start_server_process, wait_for, worker_pids
from tests._processes import gunicorn_common_options as _gunicorn_common_options

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (/proc, fork, flock)"),
]

APPS = Path(__file__).resolve().parent / "apps"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def _module_available(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


needs_gunicorn = pytest.mark.skipif(not _module_available("gunicorn"), reason="gunicorn is not installed")
needs_uvicorn = pytest.mark.skipif(not _module_available("uvicorn"), reason="uvicorn is not installed")


# -- exposition text ------------------------------------------------------------

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

SeriesKey = Tuple[str, Tuple[Tuple[str, str], ...]]


class Scrape:
    """One parsed /metrics response (Prometheus text format)."""

    def __init__(self, text: str, served_by: Optional[int] = None) -> None:
        self.text = text
        self.served_by = served_by  # the answering worker, when the app says (X-Worker-Pid)
        self.types: Dict[str, str] = {}
        self.type_lines: Tally = Tally()
        self.help_lines: Tally = Tally()
        self.samples: List[Tuple[str, Dict[str, str], float]] = []
        for line in text.splitlines():
            if not line:
                continue
            if line.startswith("# TYPE "):
                _, _, family, typ = line.split(" ", 3)
                self.types[family] = typ
                self.type_lines[family] += 1
                continue
            if line.startswith("# HELP "):
                self.help_lines[line.split(" ", 3)[2]] += 1
                continue
            if line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            if "{" in series:
                name, _, labels = series.partition("{")
                labels = dict(_LABEL.findall(labels[:-1]))
            else:
                name, labels = series, {}
            self.samples.append((name, labels, float(value)))

    @staticmethod
    def key(name: str, labels: Dict[str, str]) -> SeriesKey:
        return name, tuple(sorted(labels.items()))

    def series(self, prefix: str = "") -> Dict[SeriesKey, float]:
        return {self.key(n, l): v for n, l, v in self.samples if n.startswith(prefix)}

    def value(self, name: str, **labels: str) -> Optional[float]:
        found = [v for n, l, v in self.samples if n == name and l == labels]
        assert len(found) <= 1, "series %s%s appears %d times" % (name, labels, len(found))
        return found[0] if found else None

    def matching(self, name: str) -> List[Tuple[Dict[str, str], float]]:
        return [(l, v) for n, l, v in self.samples if n == name]

    def assert_no_duplicates(self) -> None:
        keys = Tally(self.key(n, l) for n, l, _ in self.samples)
        duplicated = {k: c for k, c in keys.items() if c > 1}
        assert not duplicated, "duplicate series: %r\n%s" % (duplicated, self.text)
        assert all(c == 1 for c in self.type_lines.values()), "a family is exposed twice: %r" % self.type_lines
        assert all(c == 1 for c in self.help_lines.values()), "a family is exposed twice: %r" % self.help_lines

    def monotonic_series(self, exclude: Tuple[str, ...] = ()) -> Dict[SeriesKey, float]:
        """Samples that must never decrease: counters, histogram buckets/count/sum
        (except the families whose names start with one of ``exclude``)."""
        result = {}
        for name, labels, value in self.samples:
            if exclude and name.startswith(exclude):
                continue
            family = _family_of(name, self.types)
            if self.types.get(family) in ("counter", "histogram") and not name.endswith("_created"):
                result[self.key(name, labels)] = value
        return result


def _family_of(name: str, types: Dict[str, str]) -> str:
    for suffix in ("_total", "_bucket", "_count", "_sum", "_created", ""):
        if suffix and name.endswith(suffix) and name[: -len(suffix)] in types:
            return name[: -len(suffix)]
    return name


# -- HTTP -----------------------------------------------------------------------


def http_get(port: int, path: str, timeout: float = 10.0) -> Tuple[int, bytes]:
    """One GET on a fresh connection (no keep-alive)."""
    status, body, _ = http_get_with_headers(port, path, timeout)
    return status, body


def http_get_with_headers(port: int, path: str, timeout: float = 10.0) -> Tuple[int, bytes, http.client.HTTPMessage]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read(), response.headers
    finally:
        connection.close()


def pid_of(body: bytes) -> int:
    match = re.match(rb"pid=(\d+)", body)
    assert match, body
    return int(match.group(1))


def process_gone(pid: int) -> bool:
    """True once every thread of ``pid`` has exited (the process is gone or a zombie).

    Its files, hence its file lock, are released only when its last thread
    exits: a multi-threaded process's leader shows as a zombie earlier.
    """
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return True
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, task)) as f:
                stat = f.read()
        except OSError:
            continue  # that thread just went
        if stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X"):
            return False
    return True


def db_files(directory: Path) -> List[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".db"))


# -- servers --------------------------------------------------------------------


class Server:
    """A server started in its own session; ``stop``/``kill`` act on its process group."""

    def __init__(self, kind: str, argv: List[str], directory: Path, log_path: Path, port: int) -> None:
        self.kind = kind
        self.port = port
        self.directory = directory
        self.log_path = log_path
        env = dict(os.environ)
        env.pop("prometheus_multiproc_dir", None)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        env["PYTHONUNBUFFERED"] = "1"
        self.process, self._log = start_server_process(argv, env, log_path)
        self.pid = self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def get(self, path: str, timeout: float = 10.0) -> Tuple[int, bytes]:
        return http_get(self.port, path, timeout)

    def scrape(self, path: str = "/metrics") -> Scrape:
        status, body, headers = http_get_with_headers(self.port, path)
        assert status == 200, (status, body[:500])
        served_by = headers.get("X-Worker-Pid")
        return Scrape(body.decode("utf-8"), int(served_by) if served_by else None)

    def workers(self) -> List[int]:
        """The worker pids: the master's children, multiprocessing's resource tracker excepted."""
        return worker_pids(self.pid)

    def wait_ready(self, workers: int) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError("%s exited with %s:\n%s" % (self.kind, self.process.returncode, self.log()[-3000:]))
            if len(self.workers()) < workers:
                return False
            try:
                return self.get("/metrics", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(ready, START_TIMEOUT, "%s to serve with %d workers\n%s" % (self.kind, workers, self.log()[-2000:]))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Signal the master only and wait for it; then make sure the group is gone."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("%s did not stop within %.0fs after signal %d" % (self.kind, timeout, sig))
        wait_for(lambda: self._group_gone(), timeout, "the workers of %s to exit" % self.kind)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers at once) and reap the master."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass

    def _group_gone(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return True
        # Members may linger as zombies reaped by init; they hold no locks.
        return all(process_gone(int(p)) for p in group_members(self.pid))

    def close(self) -> None:
        if not self._group_gone() or self.process.poll() is None:
            self.kill()
        self._log.close()

    def assert_no_tracebacks(self) -> None:
        log = self.log()
        assert "Traceback" not in log, log[-5000:]


@pytest.fixture
def mpdir(tmp_path) -> Path:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    return directory


@pytest.fixture
def servers(tmp_path):
    """Factory: ``servers.gunicorn(...)`` / ``servers.uvicorn(...)``; all killed at teardown."""
    started: List[Server] = []

    class Factory:
        @staticmethod
        def _start(kind: str, make_argv, directory: Path, workers: int) -> Server:
            last_error: Optional[BaseException] = None
            for attempt in range(3):  # the free port may be taken before the server binds it
                port = free_port()
                log_path = tmp_path / ("%s-%d-%d.log" % (kind, len(started), attempt))
                server = Server(kind, make_argv(port), directory, log_path, port)
                started.append(server)
                try:
                    server.wait_ready(workers)
                    return server
                except AssertionError as error:
                    last_error = error
                    server.close()
                    if "in use" not in server.log():
                        raise
            raise AssertionError("could not start %s: %s" % (kind, last_error))

        @classmethod
        def gunicorn(cls, directory: Path, workers: int, *extra: str, worker_class: str = "sync") -> Server:
            def argv(port: int) -> List[str]:
                return [
                    sys.executable, "-m", "gunicorn", "-k", worker_class, "-w", str(workers),
                    "-b", "%s:%d" % (HOST, port), "--chdir", str(APPS),
                    "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning",
                    *_gunicorn_common_options(), *extra, "mpserver_wsgi:app",
                ]

            return cls._start("gunicorn", argv, directory, workers)

        @classmethod
        def uvicorn(cls, directory: Path, workers: int, *extra: str) -> Server:
            def argv(port: int) -> List[str]:
                return [
                    sys.executable, "-m", "uvicorn", "--workers", str(workers), "--host", HOST,
                    "--port", str(port), "--app-dir", str(APPS), "--no-access-log", "--log-level", "warning",
                    "--timeout-graceful-shutdown", "5", *extra, "mpserver_asgi:app",
                ]

            return cls._start("uvicorn", argv, directory, workers)

    yield Factory
    for server in started:
        server.close()


# -- traffic --------------------------------------------------------------------


class Traffic:
    """Threads issuing GETs until stopped (or a fixed number); counts acknowledged responses."""

    def __init__(self, port: int, paths: List[str], threads: int = 6, total: Optional[int] = None) -> None:
        self.port = port
        self.paths = paths
        self.total = total
        self.acknowledged: Tally = Tally()
        self.failures: List[str] = []
        self.pids: Tally = Tally()
        self._lock = threading.Lock()
        self._issued = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _next(self) -> Optional[str]:
        with self._lock:
            if self._stop.is_set() or (self.total is not None and self._issued >= self.total):
                return None
            path = self.paths[self._issued % len(self.paths)]
            self._issued += 1
            return path

    def _run(self) -> None:
        while True:
            path = self._next()
            if path is None:
                return
            try:
                status, body = http_get(self.port, path, timeout=15)
            except (OSError, http.client.HTTPException) as error:
                with self._lock:
                    self.failures.append("%s: %r" % (path, error))
                time.sleep(0.01)
                continue
            with self._lock:
                if status == 200:
                    self.acknowledged[path] += 1
                    self.pids[pid_of(body)] += 1
                else:
                    self.failures.append("%s: HTTP %d" % (path, status))

    def start(self) -> "Traffic":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "traffic threads did not finish"

    def run(self) -> "Traffic":
        self.start()
        self.join()
        return self

    @property
    def acknowledged_total(self) -> int:
        return sum(self.acknowledged.values())


class Scraper:
    """Scrapes /metrics in a loop; checks every scrape for duplicates and
    every counter/histogram series (the app's, and the process and GC
    collectors' group reports) for monotonicity against the largest value
    seen before (families starting with one of ``exclude`` aside)."""

    def __init__(self, server: Server, interval: float = 0.02, exclude: Tuple[str, ...] = ()) -> None:
        self.server = server
        self.interval = interval
        self.exclude = exclude
        self.scrapes = 0
        self.errors = 0
        self.violations: List[str] = []
        self._seen: Dict[SeriesKey, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, body = self.server.get("/metrics", timeout=15)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                self._stop.wait(0.01)
                continue
            if status != 200:
                self.errors += 1
                self._stop.wait(0.01)
                continue
            self.check(Scrape(body.decode("utf-8")))
            self._stop.wait(self.interval)

    def check(self, scrape: Scrape) -> None:
        self.scrapes += 1
        try:
            scrape.assert_no_duplicates()
        except AssertionError as error:
            self.violations.append(str(error)[:2000])
        for key, value in scrape.monotonic_series(self.exclude).items():
            previous = self._seen.get(key)
            if previous is not None and value < previous:  # even by an ulp: Prometheus sees a reset
                self.violations.append("%s went from %r down to %r (scrape %d)" % (key, previous, value, self.scrapes))
            else:
                self._seen[key] = value

    def start(self) -> "Scraper":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive()


PATHS = ["/a", "/b", "/c"]


def traffic_reaching_workers(server: Server, workers: int, threads: int, per_round: int,
                             max_rounds: int) -> Tuple[Tally, int]:
    """Send rounds of ``per_round`` requests over PATHS until ``workers`` distinct
    workers have answered; return the acknowledged requests per path and the
    number of rounds. A round is a multiple of len(PATHS), so each path gets
    the same number of requests per round.
    """
    assert per_round % len(PATHS) == 0, per_round
    acknowledged, pids = Tally(), Tally()
    for rounds in range(1, max_rounds + 1):
        traffic = Traffic(server.port, PATHS, threads=threads, total=per_round).run()
        assert not traffic.failures, traffic.failures[:5]
        assert traffic.acknowledged_total == per_round
        acknowledged.update(traffic.acknowledged)
        pids.update(traffic.pids)
        if len(pids) >= workers:
            return acknowledged, rounds
    raise AssertionError("the traffic should have reached %d workers: %r" % (workers, pids))


def scrape_from_several_workers(server: Server, concurrency: int, rounds: int = 30) -> List[Scrape]:
    """Scrape ``concurrency`` at a time until at least two workers have answered (or ``rounds`` rounds)."""
    scrapes: List[Scrape] = []
    errors: List[BaseException] = []

    def one() -> None:
        try:
            scrape = server.scrape()
        except BaseException as error:  # reported below
            errors.append(error)
            return
        scrapes.append(scrape)

    for _ in range(rounds):
        threads = [threading.Thread(target=one) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        if len({scrape.served_by for scrape in scrapes}) >= 2:
            break
    return scrapes


def assert_consistent_scrapes(server: Server, count: int = 6) -> Scrape:
    """Scrape ``count`` times: every scrape duplicate-free and identical in app_ series."""
    first = None
    for _ in range(count):
        scrape = server.scrape()
        scrape.assert_no_duplicates()
        if first is None:
            first = scrape
        else:
            assert scrape.series("app_") == first.series("app_"), (first.text, scrape.text)
    return first


def assert_request_totals(scrape: Scrape, acknowledged: Tally, slack: int = 0) -> None:
    totals = {labels["path"]: value for labels, value in scrape.matching("app_requests_total")}
    assert set(totals) == set(acknowledged), (totals, acknowledged)
    extra = 0
    for path, count in acknowledged.items():
        assert count <= totals[path] <= count + slack, (path, totals[path], count, slack)
        extra += totals[path] - count
    assert extra <= slack, (totals, acknowledged)
    count = scrape.value("app_latency_seconds_count")
    assert sum(acknowledged.values()) <= count <= sum(acknowledged.values()) + slack
    assert scrape.value("app_latency_seconds_bucket", le="+Inf") == count
    assert scrape.value("app_latency_seconds_sum") > 0


# -- 1. gunicorn, 3 workers (sync; gthread too) --------------------------------------------------


@needs_gunicorn
@pytest.mark.parametrize(
    "worker_class, extra", [("sync", []), ("gthread", ["--threads", "4"])], ids=["sync", "gthread-4-threads"]
)
def test_gunicorn_workers_exact_totals_no_duplicates(servers, mpdir, worker_class, extra):
    server = servers.gunicorn(mpdir, 3, *extra, worker_class=worker_class)
    # The worker that booted first, or a gthread worker's pool, can take a whole round.
    acknowledged, rounds = traffic_reaching_workers(server, 2, threads=8, per_round=300, max_rounds=10)

    # Whichever worker answers the scrape shows the same, exact view. (Sequential
    # requests tend to stick to one sync worker: scrape 3 at a time.)
    scrapes = scrape_from_several_workers(server, 3)
    answered_by = Tally(scrape.served_by for scrape in scrapes)
    assert len(answered_by) >= 2, "scrapes should have reached several workers: %r" % answered_by
    for scrape in scrapes:
        scrape.assert_no_duplicates()
        assert scrape.series("app_") == scrapes[0].series("app_")
        assert_request_totals(scrape, acknowledged)
        assert {l["path"]: v for l, v in scrape.matching("app_requests_total")} == {p: 100.0 * rounds for p in PATHS}
        assert scrape.value("app_latency_seconds_count") == 300.0 * rounds
        assert scrape.value("app_in_progress") == 0.0
        assert scrape.types["app_requests_total"] == "counter"
        assert scrape.types["app_in_progress"] == "gauge"
        assert scrape.types["app_latency_seconds"] == "histogram"
    # The classic per-request pattern shows the same app series.
    classic = server.scrape("/metrics-classic")
    classic.assert_no_duplicates()
    assert classic.series("app_") == scrape.series("app_")

    # The livesum gauge counts requests in flight, in whichever worker they are.
    slow = Traffic(server.port, ["/slow?s=2"], threads=2, total=2).start()
    wait_for(lambda: server.scrape().value("app_in_progress") == 2.0, 10, "2 requests in progress")
    slow.join()
    assert not slow.failures
    after = server.scrape()
    assert after.value("app_in_progress") == 0.0
    assert after.value("app_requests_total", path="/slow?s=2") is None  # PATH_INFO has no query
    assert after.value("app_requests_total", path="/slow") == 2.0
    assert after.value("app_latency_seconds_count") == 300.0 * rounds + 2
    assert len(db_files(mpdir)) <= 3
    server.assert_no_tracebacks()


# -- 2. kill -9 a worker under traffic ----------------------------------------------


@needs_gunicorn
@pytest.mark.parametrize("hook", [False, True], ids=["no-hook", "child_exit-hook"])
def test_gunicorn_worker_sigkill_under_traffic(servers, mpdir, hook):
    extra = ["-c", str(APPS / "gunicorn_hook_conf.py")] if hook else []
    server = servers.gunicorn(mpdir, 3, *extra)
    scraper = Scraper(server).start()
    traffic = Traffic(server.port, PATHS, threads=6).start()
    kills = 0

    def phase(what: str) -> None:
        """Let traffic flow and scrapes happen: 100 more acknowledged requests, 4 more scrapes."""
        requests, scrapes = traffic.acknowledged_total + 100, scraper.scrapes + 4
        wait_for(lambda: traffic.acknowledged_total >= requests and scraper.scrapes >= scrapes, 30, what)

    try:
        for _ in range(2):
            phase("traffic and scrapes before a kill")
            workers = server.workers()
            assert len(workers) == 3, workers
            victim = max(workers, key=lambda p: traffic.pids.get(p, 0))  # a busy one
            os.kill(victim, signal.SIGKILL)
            kills += 1
            wait_for(lambda: process_gone(victim), 10, "the killed worker to die")
            wait_for(
                lambda: len(server.workers()) == 3 and victim not in server.workers(), 20, "gunicorn to respawn a worker"
            )
        phase("traffic and scrapes after the respawn")
    finally:
        traffic.stop()
    final = assert_consistent_scrapes(server)
    scraper.stop()
    scraper.check(server.scrape())  # the quiescent view is not below anything seen during the test

    assert scraper.scrapes >= 12, (scraper.scrapes, scraper.errors)
    assert not scraper.violations, scraper.violations[:10]
    # A request in flight in a killed worker may have counted without being acknowledged.
    assert_request_totals(final, traffic.acknowledged, slack=kills)
    assert len(traffic.failures) <= 2 * kills, traffic.failures
    # The killed workers' in-flight requests do not linger in the livesum gauge.
    assert final.value("app_in_progress") == 0.0
    files = db_files(mpdir)
    assert len(files) <= 3 + 1, files
    assert "SIGKILL" in server.log()  # gunicorn noticed: "Worker (pid:N) was sent SIGKILL!"


# -- 3. max_requests churn ------------------------------------------------------------


@needs_gunicorn
@pytest.mark.parametrize("preload", [False, True], ids=["import-in-worker", "preload-in-master"])
def test_gunicorn_max_requests_churn(servers, mpdir, preload):
    extra = ["--max-requests", "5", "--max-requests-jitter", "0"] + (["--preload"] if preload else [])
    server = servers.gunicorn(mpdir, 2, *extra)
    scraper = Scraper(server, interval=0.05).start()
    traffic = Traffic(server.port, PATHS, threads=4, total=200).run()
    scraper.stop()
    assert not traffic.failures, traffic.failures[:5]
    assert traffic.acknowledged_total == 200
    assert len(traffic.pids) >= 20, "workers should have been recycled many times: %r" % traffic.pids
    assert not scraper.violations, scraper.violations[:10]

    scrape = server.scrape()
    scrape.assert_no_duplicates()
    assert_request_totals(scrape, traffic.acknowledged)
    assert scrape.value("app_latency_seconds_count") == 200.0
    assert scrape.value("app_in_progress") == 0.0
    # Right after a scrape: the live workers, the master if it writes (preload),
    # and at most one worker that exited after answering that scrape.
    files = db_files(mpdir)
    assert len(files) <= 2 + (1 if preload else 0) + 1, files
    leftovers = [n for n in os.listdir(mpdir) if not n.endswith(".db")]
    assert set(leftovers) <= {"archive.json", ".lock"} | {n for n in leftovers if n.endswith(".tmp")}, leftovers
    assert len(leftovers) <= 3, leftovers
    if preload:
        assert any(int(n.split("-")[0]) == server.pid for n in files), (server.pid, files)
    server.assert_no_tracebacks()


# -- 4. master restart without wiping the directory --------------------------------------


@needs_gunicorn
def test_gunicorn_restart_without_wiping(servers, mpdir):
    acknowledged: Tally = Tally()

    def generation(requests: int, workers: int, *extra: str) -> Server:
        server = servers.gunicorn(mpdir, workers, *extra)
        traffic = Traffic(server.port, PATHS, threads=4, total=requests).run()
        assert not traffic.failures, traffic.failures[:5]
        acknowledged.update(traffic.acknowledged)
        scrape = assert_consistent_scrapes(server, 4)
        assert_request_totals(scrape, acknowledged)  # old + new, exactly
        assert scrape.value("app_in_progress") == 0.0
        server.assert_no_tracebacks()
        return server

    # 1: graceful stop of the master (SIGTERM).
    first = generation(60, 2)
    assert first.stop(signal.SIGTERM) == 0
    # 2: restarted on the same directory (with the classic child_exit hook this
    # time), then crashed: SIGKILL to master and workers at once, while two
    # requests are in flight (counted in the livesum gauge, not yet in the counter).
    second = generation(45, 3, "-c", str(APPS / "gunicorn_hook_conf.py"))
    in_flight = Traffic(second.port, ["/slow?s=30"], threads=2, total=2).start()
    wait_for(lambda: second.scrape().value("app_in_progress") == 2.0, 10, "2 requests in progress")
    second.kill()
    wait_for(second._group_gone, STOP_TIMEOUT, "the crashed server's processes to go")
    in_flight.join()
    assert not in_flight.acknowledged
    # 3: restarted again: nothing double counted, no stale live gauge, files bounded.
    third = generation(30, 2)
    assert sum(acknowledged.values()) == 135
    scrape = third.scrape()
    assert scrape.value("app_latency_seconds_count") == 135.0
    assert scrape.value("app_requests_total", path="/slow") is None
    assert len(db_files(mpdir)) <= 2 + 1, db_files(mpdir)
    assert third.stop(signal.SIGTERM) == 0
    # 4: a last start just to read: same totals.
    fourth = servers.gunicorn(mpdir, 1)
    last = assert_consistent_scrapes(fourth, 3)
    assert_request_totals(last, acknowledged)
    assert last.value("app_in_progress") == 0.0
    fourth.assert_no_tracebacks()


# -- 5. uvicorn --workers --------------------------------------------------------------


@needs_uvicorn
def test_uvicorn_workers_exact_totals(servers, mpdir):
    server = servers.uvicorn(mpdir, 2)
    acknowledged, _ = traffic_reaching_workers(server, 2, threads=6, per_round=240, max_rounds=5)
    requests = sum(acknowledged.values())
    scrape = assert_consistent_scrapes(server, 6)
    assert_request_totals(scrape, acknowledged)
    assert {l["path"]: v for l, v in scrape.matching("app_requests_total")} == {p: requests / 3 for p in PATHS}
    assert scrape.value("app_latency_seconds_count") == requests
    assert scrape.value("app_in_progress") == 0.0
    assert len(db_files(mpdir)) == 2, db_files(mpdir)
    server.assert_no_tracebacks()


@needs_uvicorn
def test_uvicorn_worker_sigkill_keeps_totals(servers, mpdir):
    server = servers.uvicorn(mpdir, 2)
    before = Traffic(server.port, PATHS, threads=4, total=60).run()
    assert not before.failures
    victim = before.pids.most_common(1)[0][0]
    assert victim in server.workers()
    os.kill(victim, signal.SIGKILL)  # idle: nothing in flight
    wait_for(lambda: process_gone(victim), 10, "the killed worker to die")
    wait_for(lambda: len(server.workers()) == 2 and victim not in server.workers(), 20, "uvicorn to respawn a worker")
    after = Traffic(server.port, PATHS, threads=4, total=60).run()
    assert not after.failures
    acknowledged = before.acknowledged + after.acknowledged
    scrape = assert_consistent_scrapes(server, 4)
    assert_request_totals(scrape, acknowledged)
    assert scrape.value("app_in_progress") == 0.0
    assert not [n for n in db_files(mpdir) if int(n.split("-")[0]) == victim]  # compacted by the scrape


# -- 6. every gauge mode under gunicorn ------------------------------------------------


def gauge_values(scrape: Scrape, mode: str, sign: str):
    """{pid: value} for the all modes, the single value otherwise (None if absent)."""
    found = [(l, v) for l, v in scrape.matching("app_gauge_" + mode) if l.get("sign") == sign]
    if mode in ("all", "liveall"):
        assert all(set(l) == {"sign", "pid"} for l, _ in found), found
        result = {int(l["pid"]): v for l, v in found}
        assert len(result) == len(found)
        return result
    assert len(found) <= 1, found
    assert all(set(l) == {"sign"} for l, _ in found), found
    return found[0][1] if found else None


def expected_gauges(values: Dict[int, float], last: int, live: Dict[int, float]) -> Dict[Tuple[str, str], object]:
    expected: Dict[Tuple[str, str], object] = {}
    for sign, factor in (("pos", 1.0), ("neg", -1.0)):
        every = {pid: factor * v for pid, v in values.items()}
        alive = {pid: factor * v for pid, v in live.items()}
        for prefix, chosen in (("", every), ("live", alive)):
            expected[(prefix + "all", sign)] = chosen
            expected[(prefix + "min", sign)] = min(chosen.values())
            expected[(prefix + "max", sign)] = max(chosen.values())
            expected[(prefix + "sum", sign)] = sum(chosen.values())
        expected[("mostrecent", sign)] = factor * values[last]
        # Values decrease with time: among the live workers the most recent set is the smallest value.
        expected[("livemostrecent", sign)] = factor * min(live.values())
    return expected


@needs_gunicorn
def test_gunicorn_gauge_modes(servers, mpdir):
    server = servers.gunicorn(mpdir, 2)
    values: Dict[int, float] = {}
    last = None
    v = 1000.0
    # Decreasing values: the worker that answered last holds both the smallest
    # value (pos) / largest (neg) and the most recent one.
    deadline = time.monotonic() + 20
    while len(values) < 2 or last is None:
        assert time.monotonic() < deadline, "both workers never answered /set: %r" % values
        status, body = server.get("/set?v=%g" % v)
        assert status == 200
        last = pid_of(body)
        values[last] = v
        v -= 1.0
        time.sleep(0.005)  # distinct mostrecent timestamps; and lets the other worker take the next one
    assert set(values) == set(server.workers()), (values, server.workers())

    def check(expected, scrape):
        scrape.assert_no_duplicates()
        got = {(mode, sign): gauge_values(scrape, mode, sign) for mode, sign in expected}
        assert got == expected, "\n".join(
            "%-22s expected %r got %r" % (k, expected[k], got[k]) for k in sorted(expected) if expected[k] != got[k]
        )

    for _ in range(4):  # whichever worker answers
        check(expected_gauges(values, last, values), server.scrape())

    # kill -9 the worker with the extreme and most recent values: the live
    # modes drop it, the others keep it.
    os.kill(last, signal.SIGKILL)
    wait_for(lambda: process_gone(last), 10, "the killed worker to die")
    live = {pid: value for pid, value in values.items() if pid != last}
    expected = expected_gauges(values, last, live)
    assert expected[("min", "pos")] != expected[("livemin", "pos")]
    assert expected[("max", "neg")] != expected[("livemax", "neg")]
    assert expected[("mostrecent", "pos")] != expected[("livemostrecent", "pos")]
    for _ in range(4):
        check(expected, server.scrape())
    wait_for(lambda: len(server.workers()) == 2 and last not in server.workers(), 20, "gunicorn to respawn a worker")
    for _ in range(4):
        check(expected, server.scrape())
    assert not [n for n in db_files(mpdir) if int(n.split("-")[0]) == last]
    server.assert_no_tracebacks()


# -- 7. process files growing over several chunks while being scraped ---------------


@needs_gunicorn
def test_gunicorn_files_grow_over_chunks_between_scrapes(servers, mpdir):
    # /grow makes records of exactly 128 bytes: with 1 MiB chunks, a worker's
    # second chunk is filled exactly by its 8192 records in it. 40000 series in
    # batches of 4000 put at least 20000 in one worker: more than two chunks.
    # (Regression: a record ending exactly on a chunk boundary made every later
    # allocation raise IndexError, fixed in 0e5a581.)
    server = servers.gunicorn(mpdir, 2)
    batch, created = 4000, 0
    per_worker: Tally = Tally()
    previous: Dict[SeriesKey, float] = {}
    while created < 40000:
        status, body = server.get("/grow?start=%d&n=%d" % (created, batch), timeout=30)
        assert status == 200, "/grow?start=%d failed (series so far per worker: %r):\n%s" % (
            created, dict(per_worker), server.log()[-1500:])
        per_worker[pid_of(body)] += batch
        created += batch
        scrape = server.scrape()  # the readers' cached snapshots must follow the growth
        scrape.assert_no_duplicates()
        many = {labels["i"]: value for labels, value in scrape.matching("app_many_total")}
        assert len(many) == created, (len(many), created)
        assert set(many.values()) == {1.0}
        current = scrape.series("app_many")
        assert all(current.get(key) == value for key, value in previous.items())
        previous = current
    sizes = {name: os.path.getsize(mpdir / name) for name in db_files(mpdir)}
    assert max(sizes.values()) > 2 << 20, ("no file grew past two chunks", sizes, per_worker)
    server.assert_no_tracebacks()


# -- 8. float counters across worker exits; per-process families ------------------------


def _file_order(pid: int) -> str:
    return "%d-" % pid  # process files are <pid>-<unique>.db, merged in name order


def _until_answered_by(server: Server, pid: int, path: str, what: str) -> bytes:
    deadline = time.monotonic() + 20
    while True:
        status, body = server.get(path)
        assert status == 200, (status, body)
        if pid_of(body) == pid:
            return body
        assert time.monotonic() < deadline, "worker %d never answered %s" % (pid, what)
        time.sleep(0.01)  # back-to-back requests tend to stick to the worker that just answered


@needs_gunicorn
def test_float_counter_never_decreases_when_a_worker_exits(servers, mpdir):
    # Regression: folding an exited worker's value into the archive used to
    # reassociate the float sum, (0.1 + 1.1) + 0.1 = 1.3000000000000003 then
    # (0.1 + 0.1) + 1.1 = 1.3: a drop Prometheus reads as a counter reset.
    server = servers.gunicorn(mpdir, 2)
    # A worker adds 0.1 and dies: the archive holds 0.1.
    first = server.workers()[0]
    assert b"added" in _until_answered_by(server, first, "/add?for=%d&v=0.1" % first, "/add")
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: process_gone(first), 10, "the killed worker to die")
    wait_for(lambda: len(server.workers()) == 2 and first not in server.workers(), 20, "a respawn")
    assert server.scrape().value("app_work_seconds_total") == 0.1
    # The live worker whose file is merged first adds 1.1, the other 0.1.
    early, late = sorted(server.workers(), key=_file_order)
    _until_answered_by(server, early, "/add?for=%d&v=1.1" % early, "/add")
    _until_answered_by(server, late, "/add?for=%d&v=0.1" % late, "/add")
    before = server.scrape().value("app_work_seconds_total")
    # The late one exits: its 0.1 moves into the archive.
    os.kill(late, signal.SIGTERM)
    wait_for(lambda: process_gone(late), 20, "the stopped worker to exit")
    after = server.scrape().value("app_work_seconds_total")
    assert after >= before, "app_work_seconds_total went from %r down to %r" % (before, after)


@needs_gunicorn
def test_default_registry_counters_are_monotonic_across_workers(servers, mpdir):
    server = servers.gunicorn(mpdir, 2)
    busy = server.workers()[0]
    _until_answered_by(server, busy, "/gc?n=50", "/gc")  # that worker now has many more collections
    # Sequential scrapes (concurrent ones have no order to check against),
    # spaced a little so that both workers get to answer.
    scraper = Scraper(server)
    answered_by: Tally = Tally()
    for _ in range(200):
        scrape = server.scrape()
        answered_by[scrape.served_by] += 1
        scraper.check(scrape)
        if min(answered_by.values()) >= 5 and len(answered_by) == 2:
            break
        time.sleep(0.01)
    assert len(answered_by) == 2 and min(answered_by.values()) >= 5, answered_by
    assert not scraper.violations, scraper.violations[:5]


# -- 9. a scraper race found while testing the servers (in-process, deterministic) ----


def test_a_slow_scraper_never_double_counts_a_file_compacted_twice_meanwhile(tmp_path, monkeypatch):
    from prometheus_client import Counter, values
    from prometheus_client.storage.aggregate import DirectoryAggregator
    from prometheus_client.storage.shared import SharedMemoryBackend

    directory = str(tmp_path)
    backend = SharedMemoryBackend(directory=directory)
    monkeypatch.setattr(values, "ValueClass", backend)
    counter = Counter("c", "help", registry=None)

    def process_that_exits(amount: float) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                counter.inc(amount)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0

    def total(families) -> List[float]:
        return [s.value for family in families for s in family.samples if s.name == "c_total"]

    try:
        process_that_exits(1)  # D
        slow = DirectoryAggregator(directory)  # A: reads D's file, then is descheduled

        def meanwhile(dead) -> None:  # stands for A's own (skipped) compaction attempt
            DirectoryAggregator(directory).compact()  # B folds D into the archive, unlinks D's file
            process_that_exits(10)  # E
            DirectoryAggregator(directory).compact()  # C folds E, and drops D from "absorbed"

        monkeypatch.setattr(slow, "_compact", meanwhile)
        families = slow._merge()
        families = families[0] if isinstance(families, tuple) else families
        assert total(families) == [11.0]  # got [12.0]; the next scrape says 11.0: a counter going back
    finally:
        backend.close()
