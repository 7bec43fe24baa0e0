"""Session-wide real peers: Prometheus, Pushgateway, node_exporter, carbon-cache.

Each peer runs on 127.0.0.1 on a free port, in its own temporary directory,
is identity-checked before use (see ``_harness.Peer.wait_ready``) and is
stopped with SIGTERM at the end of the session. Install the peers with
``bash scripts/install-peers.sh``. A missing peer skips its tests, or fails
them when the environment variable CI is set.

Prometheus picks up a new static target only about 6 s after it starts, so
it is started once, with every scrape target's port allocated up front, and
(with its targets) before the other peer tests run; the tests that read from
it are moved to the end of the run.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, Iterator, List, Optional

import pytest

from ._harness import (
    Peer,
    basic_auth_header,
    bcrypt_hash,
    client_tls_context,
    free_port,
    get_json,
    http,
    make_test_pki,
    missing,
    replace_once,
    require_binary,
    require_module,
    unique_token,
)

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(HERE, "apps")

# Scrape jobs of the session's Prometheus; their ports are allocated up front.
EVERY_TYPE_JOBS = ("http_server", "https_server", "wsgi", "asgi")
# Jobs that scrape the same apps again asking only for these sample names (?name[]=...).
FILTERED_JOBS = ("http_server", "wsgi", "asgi")
FILTER_NAMES = ("peer_requests_total", "peer_state", "peer_size_bytes_sum")
SEED_JOBS = ("seed_twisted", "seed_flask")
PUSHGATEWAY_USER, PUSHGATEWAY_PASSWORD = "foobar", "secret123"  # the seed README's credentials


def _uses_prometheus(item: pytest.Item) -> bool:
    return str(item.path).startswith(HERE) and "prometheus" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: List[pytest.Item]) -> None:
    """Run the tests that read from Prometheus last: its first scrape takes ~6 s."""
    items[:] = ([item for item in items if not _uses_prometheus(item)]
                + [item for item in items if _uses_prometheus(item)])


EARLY_FIXTURES = ("prometheus", "every_type_apps", "seed_twisted_app", "seed_flask_app")


@pytest.fixture(scope="session", autouse=True)
def _start_prometheus_early(request: pytest.FixtureRequest) -> None:
    """Start Prometheus and its targets now if any selected test needs them.

    A failure or skip here is cached by pytest and surfaces in the tests that
    use the fixture, not in unrelated ones.
    """
    wanted = set()
    for item in request.session.items:
        wanted.update(name for name in EARLY_FIXTURES if name in getattr(item, "fixturenames", ()))
    for name in EARLY_FIXTURES:
        if name in wanted:
            try:
                request.getfixturevalue(name)
            except (Exception, pytest.skip.Exception, pytest.fail.Exception):
                pass


# -- Prometheus ----------------------------------------------------------------


class Prometheus:
    def __init__(self, peer: Peer, targets: Dict[str, int]) -> None:
        self.peer = peer
        self.url = "http://127.0.0.1:%d" % peer.port
        self.targets = targets

    def api(self, path: str, **params: str) -> Any:
        import urllib.parse

        url = "%s/api/v1/%s?%s" % (self.url, path, urllib.parse.urlencode(params))
        reply = get_json(url, timeout=10)
        assert reply["status"] == "success", reply
        return reply["data"]

    def query(self, expr: str) -> List[Dict[str, Any]]:
        """Instant vector: ``[{'metric': {...}, 'value': float}]``."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return [{"metric": r["metric"], "value": float(r["value"][1])} for r in data["result"]]

    def wait_for(self, expr: str, timeout: float = 30) -> List[Dict[str, Any]]:
        """Poll until ``expr`` returns at least one series."""
        return self.peer.wait_until(lambda: self.query(expr), timeout, "a result for %s" % expr,
                                    self.target_health)

    def target_health(self) -> str:
        try:
            active = self.api("targets")["activeTargets"]
        except (OSError, AssertionError, ValueError) as e:
            return repr(e)
        return "targets: " + ", ".join("%s=%s%s" % (t["labels"].get("job"), t["health"],
                                      " (%s)" % t["lastError"] if t.get("lastError") else "")
                         for t in active)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory, pki: Dict[str, str]) -> Iterator[Prometheus]:
    binary = require_binary("prometheus")
    directory = str(tmp_path_factory.mktemp("prometheus"))
    data_dir = os.path.join(directory, "data")
    targets = {job: free_port() for job in EVERY_TYPE_JOBS + SEED_JOBS}
    jobs = [{"job_name": job, "static_configs": [{"targets": ["127.0.0.1:%d" % port]}]}
            for job, port in sorted(targets.items())]
    jobs += [{"job_name": job + "_filtered", "params": {"name[]": list(FILTER_NAMES)},
              "static_configs": [{"targets": ["127.0.0.1:%d" % targets[job]]}]}
             for job in FILTERED_JOBS]
    for job in jobs:
        if job["job_name"] == "https_server":
            job["scheme"] = "https"
            job["tls_config"] = {"ca_file": pki["ca.crt"], "cert_file": pki["client.crt"],
                                 "key_file": pki["client.key"]}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": jobs,
    }
    config_path = os.path.join(directory, "prometheus.yml")
    with open(config_path, "w") as f:
        json.dump(config, f, indent=1)  # JSON is YAML
    port = free_port()
    peer = Peer("prometheus", [
        binary, "--config.file=" + config_path, "--storage.tsdb.path=" + data_dir,
        "--web.listen-address=127.0.0.1:%d" % port, "--enable-feature=exemplar-storage",
    ], directory, port)
    try:
        server = Prometheus(peer, targets)
        peer.wait_ready(lambda: http(server.url + "/-/ready")[0] == 200)
        flags = server.api("status/flags")
        assert flags["storage.tsdb.path"] == data_dir, flags
        yield server
    finally:
        peer.stop()


def _start_app(name: str, argv: List[str], directory: str, port: int, token: str,
               context: Any = None) -> Dict[str, Any]:
    """Start a scrape target; wait until it serves ``token`` and owns its port."""
    started = time.time()
    peer = Peer(name, argv, directory, port, env={"PEER_APP_TOKEN": token})
    url = "%s://127.0.0.1:%d/metrics" % ("https" if context else "http", port)
    try:
        peer.wait_ready(lambda: token.encode() in http(url, context=context)[2], timeout=30)
    except BaseException:
        peer.stop()
        raise
    return {"peer": peer, "port": port, "token": token, "started": started, "ready": time.time()}


@pytest.fixture(scope="session")
def every_type_apps(prometheus: Prometheus, pki: Dict[str, str],
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Dict[str, Any]]]:
    """The apps/every_type.py metrics behind start_http_server (HTTP, and HTTPS with client
    certificates), gunicorn (WSGI) and uvicorn (ASGI)."""
    for module in ("gunicorn", "uvicorn"):
        require_module(module)
    directory = str(tmp_path_factory.mktemp("apps"))
    commands = {
        "http_server": [sys.executable, os.path.join(APPS, "every_type.py"), "{port}"],
        "https_server": [sys.executable, os.path.join(APPS, "every_type.py"), "{port}",
                         pki["server.crt"], pki["server.key"], pki["ca.crt"]],
        "wsgi": [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
                 "--bind", "127.0.0.1:{port}", "--chdir", APPS, "--log-level", "warning",
                 "every_type:wsgi_app"],
        "asgi": [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}",
                 "--app-dir", APPS, "--lifespan", "off", "--no-access-log", "--log-level", "warning",
                 "every_type:asgi_app"],
    }
    apps: Dict[str, Dict[str, Any]] = {}
    try:
        for job in EVERY_TYPE_JOBS:
            port = prometheus.targets[job]
            argv = [arg.replace("{port}", str(port)) for arg in commands[job]]
            context = client_tls_context(pki) if job == "https_server" else None
            apps[job] = _start_app(job, argv, directory, port, unique_token(job), context)
        yield apps
    finally:
        for app in apps.values():
            app["peer"].stop()


def seed_blocks() -> List[str]:
    """The seed README's Python blocks, parsed as tests/test_seed_examples.py does."""
    try:
        from test_seed_examples import BLOCKS
    except ImportError:
        from tests.test_seed_examples import BLOCKS
    if BLOCKS is None:
        missing("the seed documents are not beside this checkout (../shared/seeds)")
    return BLOCKS


def seed_block(marker: str) -> str:
    """The first seed README block containing ``marker``."""
    for block in seed_blocks():
        if marker in block:
            return block
    raise AssertionError("no seed README example contains %r" % marker)


@pytest.fixture(scope="session")
def seed_twisted_app(prometheus: Prometheus,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """The seed README's Twisted example, with its port swapped for the one Prometheus scrapes."""
    require_module("twisted")
    port = prometheus.targets["seed_twisted"]
    program = replace_once(seed_block("MetricsResource()"), "reactor.listenTCP(8000, factory)",
                           "reactor.listenTCP(%d, factory, interface='127.0.0.1')" % port)
    directory = str(tmp_path_factory.mktemp("seed_twisted"))
    token = unique_token("twisted")
    # The token is only for the identity check; the example itself runs verbatim.
    prelude = ("from prometheus_client import Info\n"
               "Info('peer_identity', 'Which test process this is.').info({'token': %r})\n" % token)
    app = _start_app("seed_twisted", [sys.executable, "-c", prelude + program], directory, port, token)
    app["program"] = program
    try:
        yield app
    finally:
        app["peer"].stop()


@pytest.fixture(scope="session")
def seed_flask_app(prometheus: Prometheus,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """The seed README's Flask example (saved as myapp.py) under gunicorn."""
    for module in ("flask", "werkzeug", "gunicorn"):
        require_module(module)
    port = prometheus.targets["seed_flask"]
    directory = str(tmp_path_factory.mktemp("seed_flask"))
    token = unique_token("flask")
    program = seed_block("DispatcherMiddleware")
    with open(os.path.join(directory, "myapp.py"), "w") as f:
        f.write("from prometheus_client import Info\n"
                "Info('peer_identity', 'Which test process this is.').info({'token': %r})\n" % token)
        f.write(program)
    app = _start_app("seed_flask", [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", "127.0.0.1:%d" % port,
        "--chdir", directory, "--log-level", "warning", "myapp:app_dispatch",
    ], directory, port, token)
    app["program"] = program
    try:
        yield app
    finally:
        app["peer"].stop()


# -- Pushgateway -----------------------------------------------------------------


class Pushgateway:
    def __init__(self, peer: Peer, scheme: str, web_config: str, context: Any = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        self.peer = peer
        self.address = "127.0.0.1:%d" % peer.port
        self.url = "%s://%s" % (scheme, self.address)
        self.web_config = web_config
        self.context = context
        self.headers = headers or {}

    def request(self, path: str, method: str = "GET") -> Any:
        return http(self.url + path, method=method, headers=self.headers, context=self.context)

    def groups(self) -> List[Dict[str, Any]]:
        status, _, body = self.request("/api/v1/metrics")
        assert status == 200, (status, body)
        reply = json.loads(body)
        assert reply["status"] == "success", reply
        return reply["data"]

    def group(self, **labels: str) -> Optional[Dict[str, Any]]:
        """The group whose grouping key is exactly ``labels``, or None."""
        for group in self.groups():
            if group["labels"] == labels:
                return group
        return None

    def wait_for_group(self, timeout: float = 10, **labels: str) -> Dict[str, Any]:
        return self.peer.wait_until(lambda: self.group(**labels), timeout, "group %s" % labels)

    def wipe(self) -> None:
        status, _, body = self.request("/api/v1/admin/wipe", method="PUT")
        assert status in (200, 202), (status, body)
        self.peer.wait_until(lambda: self.groups() == [], 10, "an empty gateway after wipe")


def _start_pushgateway(name: str, tmp_path_factory: pytest.TempPathFactory,
                       web_config: Dict[str, Any], scheme: str = "http", context: Any = None,
                       headers: Optional[Dict[str, str]] = None) -> Pushgateway:
    binary = require_binary("prometheus-pushgateway")
    directory = str(tmp_path_factory.mktemp(name))
    config_path = os.path.join(directory, "web.yml")
    with open(config_path, "w") as f:
        json.dump(web_config, f)
    port = free_port()
    peer = Peer(name, [
        binary, "--web.listen-address=127.0.0.1:%d" % port, "--persistence.file=",
        "--web.enable-admin-api", "--web.config.file=" + config_path,
    ], directory, port)
    gateway = Pushgateway(peer, scheme, config_path, context, headers)
    try:
        peer.wait_ready(lambda: gateway.request("/-/ready")[0] == 200)
        status, _, body = gateway.request("/api/v1/status")
        flags = json.loads(body)["data"]["flags"]
        assert flags["web.config.file"] == config_path, flags
    except BaseException:
        peer.stop()
        raise
    return gateway


@pytest.fixture(scope="session")
def pushgateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    gateway = _start_pushgateway("pushgateway", tmp_path_factory, {})
    yield gateway
    gateway.peer.stop()


@pytest.fixture
def pushgateway(pushgateway_server: Pushgateway) -> Pushgateway:
    """The plain session Pushgateway, emptied for this test."""
    pushgateway_server.wipe()
    return pushgateway_server


@pytest.fixture(scope="session")
def pushgateway_basic_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    """A Pushgateway that requires basic auth for user foobar, password secret123."""
    require_binary("prometheus-pushgateway")
    config = {"basic_auth_users": {PUSHGATEWAY_USER: bcrypt_hash(PUSHGATEWAY_PASSWORD)}}
    gateway = _start_pushgateway("pushgateway-basic-auth", tmp_path_factory, config,
                                 headers=basic_auth_header(PUSHGATEWAY_USER, PUSHGATEWAY_PASSWORD))
    yield gateway
    gateway.peer.stop()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    return make_test_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session")
def pushgateway_tls(tmp_path_factory: pytest.TempPathFactory,
                    pki: Dict[str, str]) -> Iterator[Pushgateway]:
    """A Pushgateway on HTTPS that requires a client certificate signed by the test CA."""
    require_binary("prometheus-pushgateway")
    config = {"tls_server_config": {
        "cert_file": pki["server.crt"], "key_file": pki["server.key"],
        "client_auth_type": "RequireAndVerifyClientCert", "client_ca_file": pki["ca.crt"],
    }}
    gateway = _start_pushgateway("pushgateway-tls", tmp_path_factory, config, scheme="https",
                                 context=client_tls_context(pki))
    yield gateway
    gateway.peer.stop()


# -- node_exporter ---------------------------------------------------------------


class NodeExporter:
    def __init__(self, peer: Peer, textfile_dir: str) -> None:
        self.peer = peer
        self.url = "http://127.0.0.1:%d/metrics" % peer.port
        self.textfile_dir = textfile_dir

    def scrape(self) -> str:
        status, headers, body = http(self.url)
        assert status == 200, (status, body[:300])
        return body.decode("utf-8")


@pytest.fixture(scope="session")
def node_exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeExporter]:
    """node_exporter with only the textfile collector, reading its own directory."""
    binary = require_binary("prometheus-node-exporter")
    directory = str(tmp_path_factory.mktemp("node_exporter"))
    textfile_dir = os.path.join(directory, "textfiles")
    os.mkdir(textfile_dir)
    token = unique_token("node")
    with open(os.path.join(textfile_dir, "identity.prom"), "w") as f:
        f.write('# HELP peer_identity Which test process this is.\n# TYPE peer_identity gauge\n'
                'peer_identity{token="%s"} 1\n' % token)
    port = free_port()
    peer = Peer("node_exporter", [
        binary, "--web.listen-address=127.0.0.1:%d" % port, "--collector.disable-defaults",
        "--collector.textfile", "--collector.textfile.directory=" + textfile_dir,
        "--web.disable-exporter-metrics",
    ], directory, port)
    exporter = NodeExporter(peer, textfile_dir)
    try:
        peer.wait_ready(lambda: token in exporter.scrape())
        yield exporter
    finally:
        peer.stop()


# -- carbon-cache ------------------------------------------------------------------

CARBON_PYTHON = "/usr/bin/python3"  # Debian's interpreter: carbon and whisper live there


class Carbon:
    def __init__(self, peer: Peer, port: int, whisper_dir: str) -> None:
        self.peer = peer
        self.port = port
        self.address = ("127.0.0.1", port)
        self.whisper_dir = whisper_dir

    def fetch(self, paths: List[str], since: float) -> Dict[str, Any]:
        """``{path: [[timestamp, value], ...]}`` of the non-empty points of whisper files."""
        script = (
            "import json, sys, whisper\n"
            "since = int(float(sys.argv[1]))\n"
            "out = {}\n"
            "for path in sys.argv[2:]:\n"
            "    try:\n"
            "        (start, end, step), values = whisper.fetch(path, since - 1)\n"
            "    except Exception:  # not there yet, or carbon is still writing its header\n"
            "        continue\n"
            "    out[path] = [[start + i * step, v] for i, v in enumerate(values) if v is not None]\n"
            "print(json.dumps(out))\n"
        )
        import subprocess

        result = subprocess.run([CARBON_PYTHON, "-c", script, str(since)] + [
            os.path.join(self.whisper_dir, p) for p in paths
        ], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
        return {os.path.relpath(k, self.whisper_dir): v for k, v in found.items()}

    def wait_for_points(self, paths: List[str], since: float, timeout: float = 20) -> Dict[str, Any]:
        """Poll until every whisper file in ``paths`` has at least one point."""
        def complete() -> Optional[Dict[str, Any]]:
            points = self.fetch(paths, since)
            return points if all(points.get(p) for p in paths) else None

        return self.peer.wait_until(complete, timeout, "points in %s" % paths)

    def updated_names(self) -> List[str]:
        """Metric names carbon logged as written (``[updates] wrote N datapoints for NAME``)."""
        import re

        with open(self.peer.log_path, encoding="utf-8", errors="replace") as f:
            return re.findall(r"wrote \d+ datapoints for (\S+)", f.read())

    def wait_for_updates(self, names: List[str], timeout: float = 20) -> None:
        """Poll until carbon has logged a write of every name (it logs after writing the file)."""
        def logged() -> bool:
            return set(names) <= set(self.updated_names())

        self.peer.wait_until(logged, timeout, "update log lines for %s" % names,
                             lambda: "logged: %s" % sorted(set(self.updated_names())))


@pytest.fixture(scope="session")
def carbon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Carbon]:
    """carbon-cache writing whisper files with a 1 s resolution into its own directory."""
    carbon_cache = require_binary("carbon-cache")
    if not os.path.exists(CARBON_PYTHON):
        missing("%s (Debian's python3, which carbon-cache needs)" % CARBON_PYTHON)
    directory = str(tmp_path_factory.mktemp("carbon"))
    dirs = {name: os.path.join(directory, name) for name in ("conf", "storage", "log", "run", "lists")}
    for path in dirs.values():
        os.mkdir(path)
    whisper_dir = os.path.join(dirs["storage"], "whisper")
    line_port, pickle_port, query_port = free_port(), free_port(), free_port()
    with open(os.path.join(dirs["conf"], "carbon.conf"), "w") as f:
        f.write("\n".join([
            "[cache]",
            "STORAGE_DIR = %s/" % dirs["storage"],
            "LOCAL_DATA_DIR = %s/" % whisper_dir,
            "WHITELISTS_DIR = %s/" % dirs["lists"],
            "CONF_DIR = %s/" % dirs["conf"],
            "LOG_DIR = %s/" % dirs["log"],
            "PID_DIR = %s/" % dirs["run"],
            "USER =",
            "DATABASE = whisper",
            "MAX_CACHE_SIZE = inf",
            "MAX_UPDATES_PER_SECOND = inf",
            "MAX_CREATES_PER_MINUTE = inf",
            "LINE_RECEIVER_INTERFACE = 127.0.0.1",
            "LINE_RECEIVER_PORT = %d" % line_port,
            "ENABLE_UDP_LISTENER = False",
            "PICKLE_RECEIVER_INTERFACE = 127.0.0.1",
            "PICKLE_RECEIVER_PORT = %d" % pickle_port,
            "CACHE_QUERY_INTERFACE = 127.0.0.1",
            "CACHE_QUERY_PORT = %d" % query_port,
            "LOG_UPDATES = True",
            "LOG_CREATES = True",
            "WHISPER_AUTOFLUSH = True",
            "CARBON_METRIC_INTERVAL = 0",
            "ENABLE_TAGS = False",
            "",
        ]))
    with open(os.path.join(dirs["conf"], "storage-schemas.conf"), "w") as f:
        f.write("[everything]\npattern = .*\nretentions = 1s:1h\n")
    peer = Peer("carbon-cache", [
        CARBON_PYTHON, carbon_cache, "--config=%s/carbon.conf" % dirs["conf"],
        "--pidfile=%s/carbon-cache.pid" % dirs["run"], "--logdir=%s" % dirs["log"],
        "--nodaemon", "start",
    ], directory, line_port)

    def receiving() -> bool:
        with open(peer.log_path, encoding="utf-8", errors="replace") as f:
            return "starting on %d" % line_port in f.read()

    try:
        peer.wait_ready(receiving, timeout=30)
        yield Carbon(peer, line_port, whisper_dir)
    finally:
        peer.stop()

