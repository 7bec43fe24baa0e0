"""``demo``: a small multi-worker web application in multiprocess mode.

What runs (standard library only, like a pre-fork server such as gunicorn):

* this process binds the listening socket, makes a temporary multiprocess
  directory and starts ``--workers`` worker processes with
  ``PROMETHEUS_MULTIPROC_DIR`` pointing at it;
* every worker accepts connections on the shared socket and serves the
  instrumented application (``/``, ``/hello``, ``/work``, ``/flaky``) and
  ``/metrics``: whichever worker answers, ``/metrics`` is the aggregated view
  of all of them (the default registry in multiprocess mode);
* this process sends traffic to the application and prints a progress line,
  until ``--duration`` seconds have passed or Ctrl-C / SIGTERM; then it stops
  the workers and removes the directory.

A worker also exits when this process disappears (its stdin, a pipe from
here, reaches end of file), so no worker outlives the demo.
"""
from __future__ import annotations

import argparse
import errno
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from . import CommandError
from ._arguments import checked

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WORKERS = 3
CLIENTS = 4
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0

# path -> (share of the generated traffic); anything else is a 404.
TRAFFIC = (("/hello", 50), ("/work", 30), ("/flaky", 15), ("/missing", 5))

DESCRIPTION = """\
Run a small web application with several worker processes in multiprocess
mode, send it traffic, and serve the aggregated metrics: a Counter of
requests by path and status, a Histogram of latency, Gauges of requests in
progress and of live workers (summed over the live workers), and an Info.
Any worker answers /metrics with the view of all of them. Everything stops,
and the temporary multiprocess directory is removed, after --duration
seconds or on Ctrl-C.
"""


def add_parser(commands: "argparse._SubParsersAction") -> None:
    parser = commands.add_parser(
        "demo", help="run a multi-worker demo app and serve its aggregated metrics",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit status: 0 stopped normally, 1 the port is in use or a worker failed, 2 usage error.")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help="port of the application and of /metrics (default %d)" % DEFAULT_PORT)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to listen on (default %s; 0.0.0.0 to reach it from outside, "
                             "e.g. in a container)" % DEFAULT_HOST)
    parser.add_argument("--workers", type=_workers, default=DEFAULT_WORKERS,
                        help="number of worker processes (default %d)" % DEFAULT_WORKERS)
    parser.add_argument("--duration", type=_duration, default=0.0, metavar="SECONDS",
                        help="stop after SECONDS (default 0: run until Ctrl-C)")
    parser.set_defaults(run=run)


_port = checked(int, "a port number", lambda port: 0 < port <= 65535, "%d is not a port number (1-65535)")
_workers = checked(int, "a number of workers", lambda workers: 1 <= workers <= 64, "choose between 1 and 64 workers")
_duration = checked(float, "a number of seconds", lambda seconds: 0 <= seconds < float("inf"),
                    "the duration must be 0 (no limit) or a positive number of seconds")


# -- the parent: socket, workers, traffic, progress ------------------------------------

def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=128)
    except socket.gaierror as error:
        raise CommandError("cannot listen on %s: %s" % (host, error.strerror or error)) from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandError("port %d on %s is already in use; choose another one with --port"
                               % (port, host), status=1) from None
        raise CommandError("cannot listen on %s port %d: %s" % (host, port, error.strerror or error),
                           status=1) from None


def _package_parent() -> str:
    import prometheus_client

    return os.path.dirname(os.path.dirname(os.path.abspath(prometheus_client.__file__)))


# The worker's whole command line; the library must be imported with the
# variable already set, hence a fresh interpreter rather than a fork.
_WORKER_BOOT = (
    "import sys\n"
    "if {path!r} not in sys.path: sys.path.append({path!r})\n"
    "from prometheus_client.cli.demo import worker_main\n"
    "sys.exit(worker_main(sys.argv[1:]))\n"
)


def _start_workers(listener: socket.socket, count: int, directory: str) -> List[subprocess.Popen]:
    environment = {k: v for k, v in os.environ.items() if k.lower() != "prometheus_multiproc_dir"}
    environment["PROMETHEUS_MULTIPROC_DIR"] = directory
    boot = _WORKER_BOOT.format(path=_package_parent())
    workers = []
    for index in range(count):
        workers.append(subprocess.Popen(
            [sys.executable, "-c", boot, str(listener.fileno()), str(index + 1)],
            env=environment, pass_fds=(listener.fileno(),), stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, start_new_session=True,  # Ctrl-C is ours to handle
        ))
    return workers


def _stop_workers(workers: List[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            try:
                worker.stdin.close()  # type: ignore[union-attr]
                worker.send_signal(signal.SIGTERM)
            except OSError:
                pass
    deadline = time.monotonic() + STOP_TIMEOUT
    for worker in workers:
        try:
            worker.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _get(host: str, port: int, path: str, timeout: float = 5.0) -> Tuple[int, Dict[str, str], bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _wait_until_ready(host: str, port: int, workers: List[subprocess.Popen], stop: threading.Event) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not stop.is_set():
        failed = [w for w in workers if w.poll() is not None]
        if failed:
            raise CommandError("worker %d exited with status %s while starting"
                               % (failed[0].pid, failed[0].returncode), status=1)
        _, live, _ = _aggregated_totals(host, port)
        if live == len(workers):  # every worker has started and registered its metrics
            return
        if time.monotonic() > deadline:
            raise CommandError("the workers did not answer within %d s" % START_TIMEOUT, status=1)
        stop.wait(0.1)


class _Traffic:
    """Client threads sending requests to the application until stopped."""

    def __init__(self, host: str, port: int, stop: threading.Event) -> None:
        self.host, self.port, self.stop = host, port, stop
        self.sent = 0
        self.failed = 0
        self._lock = threading.Lock()
        paths = [path for path, _ in TRAFFIC]
        weights = [weight for _, weight in TRAFFIC]
        self._choose = lambda: random.choices(paths, weights)[0]
        self.threads = [threading.Thread(target=self._client, daemon=True, name="demo-client-%d" % i)
                        for i in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _client(self) -> None:
        while not self.stop.is_set():
            ok = True
            try:
                _get(self.host, self.port, self._choose(), timeout=5.0)
            except OSError:
                ok = False
            with self._lock:
                self.sent += 1
                self.failed += not ok
            self.stop.wait(random.uniform(0.01, 0.08))

    def join(self) -> None:
        for thread in self.threads:
            thread.join(6.0)


def _aggregated_totals(host: str, port: int) -> Tuple[Optional[float], Optional[float], Optional[str]]:
    """(requests counted, live workers, answering pid) from one scrape; Nones when it fails."""
    from ..parser import text_string_to_metric_families

    try:
        status, headers, body = _get(host, port, "/metrics", timeout=2.0)
        if status != 200:
            return None, None, None
        requests = workers = None
        for family in text_string_to_metric_families(body.decode("utf-8")):
            if family.name == "demo_http_requests":
                requests = sum(s.value for s in family.samples if s.name == "demo_http_requests_total")
            elif family.name == "demo_workers":
                workers = sum(s.value for s in family.samples)
        return requests, workers, headers.get("x-worker-pid")
    except (OSError, ValueError):
        return None, None, None


def _progress_text(elapsed: float, traffic: _Traffic, counted: Optional[float], live: Optional[float],
                   pid: Optional[str]) -> str:
    return "[%3.0fs] sent %d requests (%d failed); /metrics via worker %s: demo_http_requests_total %s, " \
           "demo_workers %s" % (elapsed, traffic.sent, traffic.failed, pid or "?",
                                 "?" if counted is None else "%d" % counted, "?" if live is None else "%d" % live)


class _Progress:
    """One line, rewritten in place on a terminal, printed every few seconds otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.last_print = 0.0
        self.width = 0

    def show(self, text: str, final: bool = False) -> None:
        now = time.monotonic()
        if self.tty:
            text = text[:max(20, shutil.get_terminal_size().columns - 1)]  # one line, or \r cannot rewrite it
            sys.stdout.write("\r" + text.ljust(self.width) + ("\n" if final else ""))
            self.width = len(text)
        elif final or now - self.last_print >= 5.0:
            sys.stdout.write(text + "\n")
            self.last_print = now
        sys.stdout.flush()


def _install_stop_handlers(stop: threading.Event) -> Dict[int, Any]:
    previous: Dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, lambda *_: stop.set())
    return previous


def _print_banner(workers: List[subprocess.Popen], directory: str, base: str, duration: float) -> None:
    print("prometheus_client demo: %d worker processes (pids %s) in multiprocess mode"
          % (len(workers), ", ".join(str(w.pid) for w in workers)))
    print("  PROMETHEUS_MULTIPROC_DIR=%s (removed on exit)" % directory)
    print("  app:     %s/  (endpoints /hello /work /flaky)" % base)
    print("  metrics: %s/metrics  (any worker answers with the aggregated view)" % base)
    print("  try:     curl -s %s/metrics | grep demo_" % base)
    print("           python -m prometheus_client check --twice %s/metrics" % base)
    print("%s; %d client threads are sending requests."
          % ("Stops after %g s" % duration if duration else "Stop with Ctrl-C", CLIENTS), flush=True)


def _monitor(host: str, port: int, workers: List[subprocess.Popen], traffic: _Traffic, duration: float,
             stop: threading.Event) -> int:
    """Show progress until the duration is over (0), stop is set (0) or a worker dies (1)."""
    started = time.monotonic()
    progress = _Progress()
    while not stop.is_set():
        elapsed = time.monotonic() - started
        if duration and elapsed >= duration:
            break
        dead = [w for w in workers if w.poll() is not None]
        if dead:
            print("\nworker %d exited unexpectedly (status %s); stopping"
                  % (dead[0].pid, dead[0].returncode), file=sys.stderr)
            return 1
        progress.show(_progress_text(elapsed, traffic, *_aggregated_totals(host, port)))
        stop.wait(1.0 if not duration else min(1.0, max(0.0, duration - elapsed)))
    final = _aggregated_totals(host, port)
    progress.show(_progress_text(time.monotonic() - started, traffic, *final), final=True)
    return 0


def run(options: argparse.Namespace) -> int:
    if os.name != "posix":
        raise CommandError("the demo needs a POSIX system (Linux, macOS): its workers share a listening socket")
    stop = threading.Event()
    previous_handlers = _install_stop_handlers(stop)
    listener = None
    directory = None
    workers: List[subprocess.Popen] = []
    traffic = None
    status = 0
    try:
        listener = _listen(options.host, options.port)
        port = listener.getsockname()[1]
        directory = tempfile.mkdtemp(prefix="prometheus-client-demo-")
        workers = _start_workers(listener, options.workers, directory)
        host = _connect_host(options.host)
        _wait_until_ready(host, port, workers, stop)
        if stop.is_set():  # interrupted while starting
            return 0
        _print_banner(workers, directory, "http://%s:%d" % (host if ":" not in host else "[%s]" % host, port),
                      options.duration)
        traffic = _Traffic(host, port, stop)
        traffic.start()
        status = _monitor(host, port, workers, traffic, options.duration, stop)
    finally:
        stop.set()
        if traffic is not None:
            traffic.join()
        _stop_workers(workers)
        if listener is not None:
            listener.close()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        for number, handler in previous_handlers.items():
            signal.signal(number, handler)
    if traffic is not None:
        print("Stopped: %d requests sent; workers stopped, %s removed." % (traffic.sent, directory), flush=True)
    return status


# -- a worker ---------------------------------------------------------------------------

def _make_metrics() -> Dict[str, Any]:
    """The application's metrics; created in the workers only."""
    import platform

    from .. import Counter, Gauge, Histogram, Info
    from . import _version

    workers = Gauge("demo_workers", "Worker processes alive.", multiprocess_mode="livesum")
    workers.set(1)
    info = Info("demo_app", "About the demo application.")
    info.info({"version": _version(), "python": platform.python_version()})
    return {
        "requests": Counter("demo_http_requests", "HTTP requests handled, by route and status code.",
                            ["path", "status"]),
        "latency": Histogram("demo_http_request_duration_seconds", "Time taken to handle a request.",
                             ["path"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)),
        "in_progress": Gauge("demo_http_requests_in_progress", "Requests being handled right now.",
                             multiprocess_mode="livesum"),
        "workers": workers,
        "info": info,
    }


def _index() -> str:
    return ("prometheus_client demo application, worker %d.\n\n"
            "  /hello   a quick answer\n  /work    takes a while (random latency)\n"
            "  /flaky   fails one time in four (HTTP 500)\n  /metrics the metrics of every worker\n"
            % os.getpid())


def _make_handler(metrics: Dict[str, Any]) -> type:
    from urllib.parse import urlsplit

    from ..exposition import MetricsHandler

    requests, latency, in_progress = metrics["requests"], metrics["latency"], metrics["in_progress"]

    def hello() -> Tuple[int, str]:
        return 200, "hello from worker %d\n" % os.getpid()

    def work() -> Tuple[int, str]:
        time.sleep(min(0.5, random.expovariate(1 / 0.05)))
        return 200, "done\n"

    def flaky() -> Tuple[int, str]:
        if random.random() < 0.25:
            return 500, "something went wrong (on purpose)\n"
        return 200, "fine this time\n"

    routes = {"/": lambda: (200, _index()), "/hello": hello, "/work": work, "/flaky": flaky}

    class Handler(MetricsHandler):
        """The application, and /metrics through the library's own handler."""

        def end_headers(self) -> None:
            self.send_header("X-Worker-Pid", str(os.getpid()))
            super().end_headers()

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/metrics":
                super().do_GET()  # the default registry: aggregated in multiprocess mode
                return
            route = routes.get(path)
            label = path if route is not None else "other"  # bounded label values
            with in_progress.track_inprogress(), latency.labels(label).time():
                code, body = route() if route is not None else (404, "not found\n")
            requests.labels(label, str(code)).inc()
            payload = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def worker_main(argv: List[str]) -> int:
    """A worker: ``worker_main([listening fd, index])``; runs until SIGTERM or stdin EOF."""
    from http.server import ThreadingHTTPServer

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_parent() -> None:
        try:
            sys.stdin.buffer.read()
        except (OSError, ValueError):
            pass
        stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    listener = socket.socket(fileno=int(argv[0]))
    listener.setblocking(False)  # the workers race for each connection; losers go back to waiting
    handler = _make_handler(_make_metrics())

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def __init__(self) -> None:
            super().__init__(listener.getsockname()[:2], handler, bind_and_activate=False)
            self.socket.close()
            self.socket = listener
            self.server_name, self.server_port = "localhost", listener.getsockname()[1]

        def get_request(self) -> Tuple[socket.socket, Any]:
            connection, address = self.socket.accept()
            connection.setblocking(True)
            return connection, address

        def handle_error(self, request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    while not stop.wait(1.0):
        pass
    server.shutdown()
    server.server_close()
    return 0
