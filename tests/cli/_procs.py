"""Process helpers for the CLI tests: bounded reads of a child's output, pid checks (free_port from tests._processes)."""
from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from tests._processes import free_port  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parents[2]


def child_environment(**extra: Optional[str]) -> Dict[str, str]:
    """This environment, without multiprocess variables, with ``extra`` (None removes)."""
    environment = {k: v for k, v in os.environ.items() if k.lower() != "prometheus_multiproc_dir"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    for key, value in extra.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return environment


def start_cli(*argv: str, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "prometheus_client", *argv], env=env or child_environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO))


def read_until(stream, predicate, timeout: float) -> List[str]:
    """Lines of ``stream`` up to and including the first one ``predicate`` accepts."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    lines: List[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise AssertionError("timed out waiting for output; got %r" % lines)
            line = stream.readline()
            if not line:
                raise AssertionError("output ended; got %r" % lines)
            lines.append(line.rstrip("\n"))
            if predicate(line):
                return lines
    finally:
        selector.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (the commands clean up on it), then SIGKILL if it takes more than 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
