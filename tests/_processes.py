"""Process helpers shared by the tests that start real servers.

Linux /proc is used to find a server's workers; every server is started on
127.0.0.1, in a session of its own, and killed if the test run dies.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Tuple, Union

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float, what: Union[str, Callable[[], str]],
             interval: float = 0.02) -> Any:
    """Poll ``condition`` until truthy (returned), or fail after ``timeout`` s.

    ``what`` (a text, or a function giving one at failure time) completes
    the AssertionError "timed out after Ns waiting for ...".
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            message = what() if callable(what) else what
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


def children_of(pid: int) -> List[int]:
    """The child pids of ``pid`` (via /proc/<pid>/task/*/children, else a /proc scan)."""
    found: List[int] = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return []
    try:
        for task in tasks:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                found.extend(int(p) for p in f.read().split())
        return sorted(set(found))
    except OSError:
        return _processes_where(_PPID, pid)


def group_members(pgid: int) -> List[int]:
    """The pids of the processes in process group ``pgid`` (zombies included)."""
    return _processes_where(_PGRP, pgid)


# Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ...
_PPID, _PGRP = 1, 2


def _processes_where(field: int, value: int) -> List[int]:
    """The pids whose /proc/<pid>/stat ``field`` (counted after the command name) is ``value``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[field]) == value:
            found.append(int(entry))
    return sorted(found)


def cmdline(pid: int) -> bytes:
    """The NUL-separated command line of ``pid`` (empty once it is gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def worker_pids(master: int) -> List[int]:
    """The workers of a pre-fork server: its master's children, multiprocessing's resource tracker excepted."""
    return [pid for pid in children_of(master) if b"resource_tracker" not in cmdline(pid)]


def start_server_process(argv: List[str], env: Dict[str, str], log_path: Path) -> Tuple["subprocess.Popen[bytes]", IO[bytes]]:
    """Start ``argv`` in a session of its own, output appended to ``log_path``; return it and the open log.

    It runs in the log's directory and is SIGKILLed if the test process dies.
    """
    log = open(log_path, "ab")
    process = subprocess.Popen(
        argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        cwd=str(log_path.parent), start_new_session=True, preexec_fn=die_with_parent,
    )
    return process, log


def gunicorn_common_options() -> List[str]:
    """Options for every gunicorn started by the tests: no control socket in $HOME (gunicorn >= 24)."""
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return []
    if any("--no-control-socket" in (setting.cli or ()) for setting in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """``preexec_fn``: SIGKILL the server's master if the test process dies (PR_SET_PDEATHSIG).

    Its workers notice the orphaning themselves (gunicorn) or are killed by
    the fixtures' finalizers; this only covers a test run that is itself killed.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:
        pass
