"""``serve DIR``: a standalone exporter for a multiprocess directory (sidecar).

Serves the aggregated view of every process writing into DIR (what
``MultiProcessCollector(registry, path=DIR)`` collects, plus the process
group's ``process_*`` figures when the workers report them) on
``/metrics``, in every format the library negotiates, over HTTP or HTTPS
with optional client-certificate authentication. It runs until SIGINT or
SIGTERM, then exits with status 0.

Defaults, and why:

* ``--host 0.0.0.0``: an exporter exists to be scraped, and the Prometheus
  server is normally on another host (or, in Kubernetes, reaches the pod by
  its IP); binding every interface is what ``start_http_server`` and the
  official exporters do. Use ``--host 127.0.0.1`` for a local-only
  exporter, and TLS with ``--client-auth-required`` to restrict who scrapes.
* ``--port 9097``: not 9100 (node_exporter, often on the same host), 9090
  (Prometheus), 9091 (Pushgateway), 9093/9094 (Alertmanager), 9464
  (OpenTelemetry's Prometheus exporter, which uses this library) nor 8000
  (gunicorn's and uvicorn's default, the application next door). Set the
  port explicitly in deployments.

The exporter reads DIR and folds the files of dead processes into its
archive, so it needs write access to DIR like any process of the group.
"""
from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import ssl
import sys
import threading
from typing import Any

from . import CommandError
from ._arguments import checked

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 9097

DESCRIPTION = """\
Serve the metrics of a multiprocess directory (the PROMETHEUS_MULTIPROC_DIR
of an application) on /metrics: a standalone exporter to run next to the
application, for example as a Kubernetes sidecar sharing the directory.
Every format the library negotiates is served (text, OpenMetrics, gzip).
Runs until interrupted (SIGINT or SIGTERM).
"""

EPILOG = """\
The default port, 9097, avoids the usual ports of the neighbours: 9100
(node_exporter), 9090/9091/9093 (Prometheus, Pushgateway, Alertmanager),
9464 (OpenTelemetry) and 8000 (gunicorn/uvicorn). The exporter needs write
access to DIR (it folds the files of dead processes into an archive there).
A PROMETHEUS_MULTIPROC_DIR in the exporter's own environment is ignored:
the exporter never counts itself as a process of the group it exports.

exit status: 0 stopped by a signal, 1 the port cannot be bound,
2 usage error (DIR missing, unreadable TLS files).

example:
  %(prog)s /run/myapp/metrics --port 9097 --certfile tls.crt --keyfile tls.key
"""


def add_parser(commands: "argparse._SubParsersAction") -> None:
    parser = commands.add_parser(
        "serve", help="export a multiprocess directory over HTTP(S) (sidecar)",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", metavar="DIR", help="the multiprocess directory to export")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to listen on (default %s: every interface; '::' for IPv6)" % DEFAULT_HOST)
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help="port to listen on (default %d; 0 picks a free one)" % DEFAULT_PORT)
    tls = parser.add_argument_group("TLS (HTTPS when --certfile and --keyfile are given)")
    tls.add_argument("--certfile", metavar="FILE", help="server certificate (PEM)")
    tls.add_argument("--keyfile", metavar="FILE", help="private key of the server certificate (PEM)")
    tls.add_argument("--client-cafile", metavar="FILE", help="CA certificates to verify client certificates with")
    tls.add_argument("--client-capath", metavar="DIR", help="directory of CA certificates (c_rehash layout)")
    tls.add_argument("--client-auth-required", action="store_true",
                     help="refuse clients without a certificate signed by those CAs")
    parser.set_defaults(run=run)


_port = checked(int, "a port number", lambda port: 0 <= port <= 65535, "%d is not a port number (0-65535)")


def _validate(options: argparse.Namespace) -> None:
    if not os.path.exists(options.directory):
        raise CommandError("directory %s does not exist" % options.directory)
    if not os.path.isdir(options.directory):
        raise CommandError("%s is not a directory" % options.directory)
    if bool(options.certfile) != bool(options.keyfile):
        raise CommandError("--certfile and --keyfile go together")
    client_options = options.client_cafile or options.client_capath or options.client_auth_required
    if client_options and not options.certfile:
        raise CommandError("the --client-* options need TLS: give --certfile and --keyfile")
    if options.client_auth_required and not (options.client_cafile or options.client_capath):
        raise CommandError("--client-auth-required needs --client-cafile or --client-capath")


def start(options: argparse.Namespace) -> Any:
    """Start the exporter in a daemon thread; return the server (CommandError on failure)."""
    from ..exposition import start_http_server
    from ..multiprocess import MultiProcessCollector
    from ..registry import CollectorRegistry

    _validate(options)
    registry = CollectorRegistry()
    try:
        # The group report adds the workers' process_* figures when they write them.
        MultiProcessCollector(registry, path=options.directory, _include_group_report=True)
    except ValueError as error:
        raise CommandError(str(error)) from None
    try:
        server, _ = start_http_server(
            options.port, addr=options.host, registry=registry,
            certfile=options.certfile, keyfile=options.keyfile,
            client_cafile=options.client_cafile, client_capath=options.client_capath,
            client_auth_required=options.client_auth_required,
        )
    except ssl.SSLError as error:
        raise CommandError("cannot use the TLS files: %s" % error) from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandError("port %d on %s is already in use; choose another with --port"
                               % (options.port, options.host), status=1) from None
        if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
            raise CommandError("cannot listen on %s: %s" % (options.host, error.strerror or error)) from None
        if options.certfile and error.filename is None and error.errno in (None, errno.ENOENT, errno.EACCES):
            raise CommandError("cannot use the TLS files: %s" % error) from None
        raise CommandError("cannot listen on %s port %d: %s" % (options.host, options.port,
                                                                error.strerror or error), status=1) from None
    return server


def url_of(server: Any, tls: bool) -> str:
    host, port = server.server_address[:2]
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = "[%s]" % shown
    return "%s://%s:%d/metrics" % ("https" if tls else "http", shown, port)


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM (a KeyboardInterrupt also ends the wait)."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run(options: argparse.Namespace) -> int:
    server = start(options)
    print("Serving the metrics of %s on %s (listening on %s; Ctrl-C or SIGTERM to stop)" % (
        os.path.abspath(options.directory), url_of(server, bool(options.certfile)),
        "%s:%d" % tuple(server.server_address[:2])), flush=True)
    try:
        wait_for_signal()
    finally:
        server.shutdown()
        server.server_close()
    print("Stopped.", file=sys.stderr, flush=True)
    return 0
