"""``serve DIR``: the sidecar exporter, against a directory written by real processes.

Two child interpreters (``PROMETHEUS_MULTIPROC_DIR`` set in their
environment only) write metrics; one exits, one stays alive. The exporter
runs as ``python -m prometheus_client serve`` on port 0 and is scraped over
HTTP and HTTPS (with client certificates, from ``tests/_pki.py``).
"""
from __future__ import annotations

import gzip
import os
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _procs import child_environment, read_until, start_cli, stop

from prometheus_client.cli import main
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared PKI helper
from _pki import make_pki, openssl_available  # noqa: E402

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (fork, flock, /proc)")

WRITER = textwrap.dedent("""\
    import sys
    from prometheus_client import Counter, Gauge, Histogram
    Counter("sidecar_jobs", "Jobs done.", ["kind"]).labels("a").inc(float(sys.argv[1]))
    Histogram("sidecar_job_seconds", "Job time.", buckets=(0.1, 1.0)).observe(0.5)
    Gauge("sidecar_busy", "Busy workers.", multiprocess_mode="livesum").set(1)
    if sys.argv[2] == "stay":
        print("ready", flush=True)
        sys.stdin.read()
""")


@pytest.fixture
def multiprocess_dir(tmp_path):
    """A directory written by a process that exited (1 job) and one still running (2 jobs)."""
    directory = tmp_path / "mp"
    directory.mkdir()
    environment = child_environment(PROMETHEUS_MULTIPROC_DIR=str(directory))
    subprocess.run([sys.executable, "-c", WRITER, "1", "exit"], env=environment, check=True, timeout=60)
    alive = subprocess.Popen([sys.executable, "-c", WRITER, "2", "stay"], env=environment,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        read_until(alive.stdout, lambda line: line.strip() == "ready", 30)
        yield directory
    finally:
        alive.stdin.close()
        try:
            alive.wait(10)
        except subprocess.TimeoutExpired:
            stop(alive)


def start_serve(directory, *options, env=None):
    """Start the exporter; return (process, base URL without /metrics)."""
    process = start_cli("serve", str(directory), "--host", "127.0.0.1", "--port", "0", *options, env=env)
    try:
        line = read_until(process.stdout, lambda line: "listening on" in line, 30)[-1]
    except AssertionError:
        stop(process)
        raise AssertionError("serve did not start: %s" % process.stderr.read()) from None
    port = int(line.rsplit("listening on 127.0.0.1:", 1)[1].split(";")[0])
    scheme = "https" if "--certfile" in options else "http"
    return process, "%s://127.0.0.1:%d" % (scheme, port)


def get(url, accept=None, encoding=None, context=None):
    headers = {}
    if accept:
        headers["Accept"] = accept
    if encoding:
        headers["Accept-Encoding"] = encoding
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10, context=context) as r:
        return r.headers, r.read()


def sample_values(families, name):
    return [s.value for f in families for s in f.samples if s.name == name]


@pytest.mark.slow
@linux_only
def test_serve_exports_the_aggregated_directory(multiprocess_dir, capsys):
    # The exporter's own environment names the directory too: it must not join the group.
    environment = child_environment(PROMETHEUS_MULTIPROC_DIR=str(multiprocess_dir))
    process, base = start_serve(multiprocess_dir, env=environment)
    started = time.monotonic()
    try:
        headers, body = get(base + "/metrics")
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        families = list(parse_text(body.decode()))
        assert sample_values(families, "sidecar_jobs_total") == [3.0]
        assert sample_values(families, "sidecar_job_seconds_count") == [2.0]
        assert sample_values(families, "sidecar_busy") == [1.0]  # livesum: only the running writer

        headers, body = get(base + "/metrics", accept="application/openmetrics-text; version=1.0.0",
                            encoding="gzip")
        assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
        assert headers["Content-Encoding"] == "gzip"
        families = list(parse_openmetrics(gzip.decompress(body).decode()))
        assert sample_values(families, "sidecar_jobs_total") == [3.0]

        assert main(["check", "--twice", base + "/metrics"]) == 0
        assert capsys.readouterr().out.splitlines()[-1].endswith("; 0 errors, 0 warnings")

        time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))  # past the group refresh period
        own_files = [name for name in os.listdir(multiprocess_dir) if name.startswith("%d-" % process.pid)]
        assert own_files == []

        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        stop(process)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not openssl_available():
        pytest.skip("openssl is not installed")
    return make_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.mark.slow
@linux_only
def test_serve_over_tls_with_client_certificates(multiprocess_dir, pki, capsys):
    process, base = start_serve(
        multiprocess_dir, "--certfile", pki["server.crt"], "--keyfile", pki["server.key"],
        "--client-cafile", pki["ca.crt"], "--client-auth-required")
    url = base + "/metrics"
    try:
        context = ssl.create_default_context(cafile=pki["ca.crt"])
        context.load_cert_chain(pki["client.crt"], pki["client.key"])
        _, body = get(url, context=context)
        assert sample_values(list(parse_text(body.decode())), "sidecar_jobs_total") == [3.0]

        anonymous = ssl.create_default_context(cafile=pki["ca.crt"])
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            get(url, context=anonymous)

        assert main(["check", url, "--cafile", pki["ca.crt"], "--certfile", pki["client.crt"],
                     "--keyfile", pki["client.key"]]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[-1].startswith("checked %s (OpenMetrics 1.0): " % url)

        assert main(["check", url, "--cafile", pki["ca.crt"]]) == 2  # no client certificate
        assert "cannot fetch %s" % url in capsys.readouterr().err
    finally:
        stop(process)


# -- usage errors (in-process, fast) --------------------------------------------------------

def serve_in_process(capsys, *argv):
    status = main(["serve", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err.strip()


def test_missing_directory(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert serve_in_process(capsys, str(missing)) == (
        2, "python -m prometheus_client serve: error: directory %s does not exist" % missing)


def test_not_a_directory(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("")
    assert serve_in_process(capsys, str(path)) == (
        2, "python -m prometheus_client serve: error: %s is not a directory" % path)


@pytest.mark.parametrize("options, message", [
    (["--certfile", "x.crt"], "--certfile and --keyfile go together"),
    (["--client-auth-required"], "the --client-* options need TLS: give --certfile and --keyfile"),
    (["--certfile", "x.crt", "--keyfile", "x.key", "--client-auth-required"],
     "--client-auth-required needs --client-cafile or --client-capath"),
])
def test_inconsistent_tls_options(tmp_path, capsys, options, message):
    status, err = serve_in_process(capsys, str(tmp_path), *options)
    assert status == 2 and err.endswith("error: " + message)


def test_unreadable_tls_files(tmp_path, capsys):
    status, err = serve_in_process(capsys, str(tmp_path), "--host", "127.0.0.1", "--port", "0",
                                   "--certfile", str(tmp_path / "missing.crt"), "--keyfile", str(tmp_path / "k"))
    assert status == 2 and "error: cannot use the TLS files: " in err


def test_port_in_use(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, err = serve_in_process(capsys, str(tmp_path), "--host", "127.0.0.1", "--port", str(port))
    assert status == 1
    assert err.endswith("error: port %d on 127.0.0.1 is already in use; choose another with --port" % port)


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_bad_port(tmp_path, capsys, port):
    assert main(["serve", str(tmp_path), "--port", port]) == 2
    assert "--port" in capsys.readouterr().err
