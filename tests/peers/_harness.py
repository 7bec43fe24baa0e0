"""Process and HTTP helpers for the real-peer tests (no pytest fixtures here).

Every peer runs on 127.0.0.1 on a port picked from the kernel, in its own
temporary directory, in its own process group. Waits are polls with a
deadline; nothing sleeps blindly. Before a peer is used, its identity is
checked: the process we started is alive and is the one holding the
listening socket (a sibling session on this machine may own a port we
picked, and a naive readiness poll would then talk to the wrong server).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import pytest
from _pki import make_pki  # tests/ is on sys.path under pytest

from tests._processes import free_port  # noqa: F401  (re-exported)

CI = bool(os.environ.get("CI"))
POLL_INTERVAL = 0.05
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PeerExited(RuntimeError):
    """A process we started died while we waited for it (never retried)."""


def child_environment(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of a child process: this checkout's library first, no multiprocess dir."""
    environment = dict(os.environ)
    for key in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        environment.pop(key, None)
    path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = REPO + (os.pathsep + path if path else "")
    environment.update(extra or {})
    return environment


def missing(what: str) -> None:
    """A missing peer fails the run on CI and skips it elsewhere."""
    message = "%s (run: bash scripts/install-peers.sh, or pip install -e '.[test]')" % what
    if CI:
        pytest.fail("CI is set and a peer is missing: " + message, pytrace=False)
    pytest.skip(message)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing("the program %r is not on PATH" % name)
    return path  # type: ignore[return-value]


def require_module(name: str) -> None:
    import importlib.util

    if importlib.util.find_spec(name) is None:
        missing("the Python package %r is not installed in %s" % (name, sys.prefix))


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               on_timeout: Callable[[], str] = lambda: "") -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while True:
        try:
            result = predicate()
        except (OSError, ValueError, KeyError, AssertionError) as e:
            result, last_error = None, e
        if result:
            return result
        if time.monotonic() > deadline:
            detail = on_timeout()
            raise AssertionError("timed out after %.0f s waiting for %s (last error: %r)%s"
                                 % (timeout, what, last_error, "\n" + detail if detail else ""))
        time.sleep(POLL_INTERVAL)


# -- processes ---------------------------------------------------------------


def _listening_inodes(port: int) -> Set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except FileNotFoundError:
            continue
    return inodes


def _process_tree(pid: int) -> List[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return pids


def owns_listener(pid: int, port: int) -> bool:
    """Whether ``pid`` (or one of its descendants) holds the socket listening on ``port``."""
    wanted = {"socket:[%s]" % inode for inode in _listening_inodes(port)}
    if not wanted:
        return False
    for p in _process_tree(pid):
        try:
            fds = os.listdir("/proc/%d/fd" % p)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (p, fd)) in wanted:
                    return True
            except OSError:
                continue
    return False


class Peer:
    """A process we started, with its output in ``<directory>/<name>.log``."""

    def __init__(self, name: str, argv: Sequence[str], directory: str, port: Optional[int] = None,
                 env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None) -> None:
        self.name = name
        self.port = port
        self.directory = directory
        self.log_path = os.path.join(directory, name + ".log")
        environment = child_environment(env)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            list(argv), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd or directory, env=environment, start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self, tail: int = 40) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return ""
        return "--- last lines of %s ---\n%s" % (self.log_path, "\n".join(lines[-tail:]))

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str,
                   detail: Optional[Callable[[], str]] = None) -> Any:
        """Poll ``predicate`` while this process lives; on timeout report ``detail()`` and the log."""
        def check() -> Any:
            if not self.alive():
                raise PeerExited("%s exited with status %s while waiting for %s\n%s"
                                 % (self.name, self.process.returncode, what, self.log()))
            return predicate()

        def on_timeout() -> str:
            return (detail() + "\n" if detail else "") + self.log()

        return wait_until(check, timeout, "%s: %s" % (self.name, what), on_timeout)

    def wait_ready(self, probe: Callable[[], Any], timeout: float = 20) -> None:
        """Wait for ``probe`` to succeed, then check this process owns the port."""
        self.wait_until(probe, timeout, "readiness")
        if self.port is not None:
            self.wait_until(lambda: owns_listener(self.pid, self.port), 5,
                            "ownership of the listening socket on port %d" % self.port)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM our process group; SIGKILL whatever of it is left after ``timeout`` s."""
        tree = _process_tree(self.pid) if self.alive() else []
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)  # the leader is not reaped: the group is ours
                self.process.wait(5)
        self.process.wait()
        for pid in tree[1:]:  # stragglers (e.g. workers) we saw, if still in our group
            try:
                if os.getpgid(pid) == self.pid:
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()


# -- HTTP --------------------------------------------------------------------


def http(url: str, method: str = "GET", data: Optional[bytes] = None,
         headers: Optional[Dict[str, str]] = None, timeout: float = 5,
         context: Optional[ssl.SSLContext] = None) -> Tuple[int, Dict[str, str], bytes]:
    """One request; HTTP errors are returned as their status, not raised."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def basic_auth_header(user: str, password: str) -> Dict[str, str]:
    import base64

    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def get_json(url: str, **kwargs: Any) -> Any:
    status, _, body = http(url, **kwargs)
    assert status == 200, "%s -> %s %r" % (url, status, body[:300])
    return json.loads(body)


# -- the text exposition format as node_exporter re-serves it -----------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_text_samples(text: str) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    """``{(name, sorted label pairs): value}`` of a text-0.0.4 body (independent of the library)."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, "unparsable sample line: %r" % line
        name, labels, value = match.groups()
        pairs = tuple(sorted(
            (k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
            for k, v in _LABEL.findall(labels or "")
        ))
        samples[(name, pairs)] = float(value)
    return samples


def text_types(text: str) -> Dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M)}


def series(name: str, **labels: str) -> Tuple[str, Tuple[Tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


# -- PKI with the openssl CLI --------------------------------------------------


def make_test_pki(directory: str) -> Dict[str, str]:
    """A CA, a server certificate for IP 127.0.0.1 and a client certificate."""
    require_binary("openssl")
    return make_pki(directory)


def client_tls_context(pki: Dict[str, str], with_client_cert: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki["ca.crt"])
    if with_client_cert:
        context.load_cert_chain(pki["client.crt"], pki["client.key"])
    return context


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash from Debian's python3-bcrypt (ships with graphite-carbon) or htpasswd."""
    if os.path.exists("/usr/bin/python3"):
        result = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())",
             password], capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return result.stdout.strip()
    htpasswd = shutil.which("htpasswd")
    if htpasswd:
        result = subprocess.run([htpasswd, "-nbBC", "4", "user", password],
                                capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return result.stdout.strip().split(":", 1)[1]
    missing("no bcrypt hasher: neither /usr/bin/python3 with bcrypt (python3-bcrypt) nor htpasswd")
    raise AssertionError("unreachable")


def python_program(source: str, timeout: float = 60, env: Optional[Dict[str, str]] = None) -> str:
    """Run ``source`` in a fresh interpreter (a fresh default registry); return its stdout."""
    environment = child_environment(env)
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                            timeout=timeout, env=environment)
    assert result.returncode == 0, "program failed:\n%s\n--- stderr ---\n%s" % (source, result.stderr)
    return result.stdout


def replace_once(text: str, old: str, new: str) -> str:
    assert old in text, "the seed example no longer contains %r:\n%s" % (old, text)
    return text.replace(old, new)


def unique_token(prefix: str = "t") -> str:
    return "%s%d_%d" % (prefix, os.getpid(), time.monotonic_ns() % 10**9)
