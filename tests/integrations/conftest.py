"""Integration tests against the real ecosystem (see requirements.txt here).

Each test module names the modules its servers import in ``REQUIRES``; when
one is missing the module's tests are skipped (so a venv without the
integration libraries still passes), unless the environment variable
``PROMETHEUS_CLIENT_REQUIRE_INTEGRATIONS=1`` is set, which makes a missing
library a failure (for CI, where they are installed).

Install them with::

    pip install -e '.[test]' -r tests/integrations/requirements.txt
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import pytest

from tests._processes import free_port

from ._harness import Server

INSTALL_HINT = "pip install -r tests/integrations/requirements.txt"


def _missing(modules: Sequence[str]) -> List[str]:
    missing = []
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


@pytest.fixture(autouse=True)
def _integration_requirements(request):
    if not sys.platform.startswith("linux"):
        pytest.skip("integration servers need Linux (/proc, process groups)")
    missing = _missing(getattr(request.module, "REQUIRES", ()))
    if missing:
        message = "not installed: %s (%s)" % (", ".join(missing), INSTALL_HINT)
        if os.environ.get("PROMETHEUS_CLIENT_REQUIRE_INTEGRATIONS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def mpdir(tmp_path) -> Path:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    return directory


@pytest.fixture
def launch(tmp_path):
    """Factory starting servers; every one is stopped (its process group killed) at teardown.

    ``launch(name, make_argv, workers=..., multiproc_dir=..., aux=("metrics",), ...)``:
    ``make_argv(port, aux_ports)`` builds the command line; ``aux`` names extra
    free ports to allocate (``server.aux[name]``); ``env`` may be a mapping or
    a callable of ``(port, aux_ports)``. Waits until ``ready_path`` answers 200
    (and ``ready_extra`` ``(aux name, path)`` pairs) with ``workers`` workers.
    """
    started: List[Server] = []

    def start(name: str, make_argv: Callable[[int, Dict[str, int]], List[str]], *, workers: int = 0,
              multiproc_dir: Optional[Path] = None, aux: Sequence[str] = (),
              env=None, ready_path: str = "/pid", ready_extra: Sequence[Tuple[str, str]] = ()) -> Server:
        last_error: Optional[AssertionError] = None
        for attempt in range(3):  # a free port may be taken before the server binds it
            port = free_port()
            aux_ports = {a: free_port() for a in aux}
            extra_env: Mapping[str, str] = env(port, aux_ports) if callable(env) else (env or {})
            log_path = tmp_path / ("%s-%d.log" % (name, len(started)))
            server = Server(name, make_argv(port, aux_ports), extra_env, log_path, port, multiproc_dir, aux_ports)
            started.append(server)
            try:
                server.wait_ready(workers, ready_path, extra=[(aux_ports[a], p) for a, p in ready_extra])
                return server
            except AssertionError as error:
                last_error = error
                server.stop()
                if "in use" not in server.log():
                    raise
        raise AssertionError("could not start %s: %s" % (name, last_error))

    yield start
    for server in reversed(started):
        server.stop()
