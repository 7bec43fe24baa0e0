"""The command line: ``python -m prometheus_client <command>``.

Tool layer: sits on top of the whole library and is imported by nothing in
it, so ``import prometheus_client`` never pays for it. Standard library only.

Commands, one module each:

* ``demo`` (:mod:`.demo`): a multi-worker web app in multiprocess mode, with
  traffic, serving the aggregated metrics.
* ``serve DIR`` (:mod:`.serve`): a standalone exporter (sidecar) for a
  multiprocess directory.
* ``check SOURCE`` (:mod:`.check`): fetch or read an exposition and report
  what promtool does not (duplicate series, broken histograms, negative or
  decreasing counters, bad names).

Exit statuses, for every command: 0 success; 1 the command ran and found a
failure (``check`` found problems, a server could not bind its port); 2 a
usage or input error (bad arguments, missing directory or file, unreachable
URL). A user mistake never ends in a traceback.

:func:`main` takes ``argv`` and returns the status, so tests and other
programs can call it in-process.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import List, Optional, Sequence

__all__ = ["CommandError", "main"]

# Set by the environment of a multiprocess application; see _leave_multiprocess_group.
_MULTIPROC_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


class CommandError(Exception):
    """A failure to report as one clear line on stderr, with an exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _program_name() -> str:
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if program in ("", "-c", "__main__.py", "-m") or program.endswith(".py"):
        return "python -m prometheus_client"
    return program


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("prometheus-client")
    except Exception:  # not installed as a distribution (a source checkout)
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    from . import check, demo, serve

    parser = argparse.ArgumentParser(
        prog=_program_name(),
        description="Tools that come with the Prometheus Python client library.",
        epilog="Run '%(prog)s COMMAND --help' for the options of a command.\n"
               "exit status: 0 ok, 1 failure found (check: problems), 2 usage or input error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="prometheus_client " + _version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in (demo, serve, check):
        module.add_parser(commands)
    return parser


def _multiprocess_environment() -> bool:
    return any(os.environ.get(name) for name in _MULTIPROC_VARIABLES)


def _leave_multiprocess_group(argv: Sequence[str]) -> Optional[int]:
    """Run the command again without PROMETHEUS_MULTIPROC_DIR; None if not needed.

    With the variable set, ``import prometheus_client`` (done before any of
    our code runs) makes this process a member of the application's process
    group: its own process metrics would be written into the directory and
    added to the application's. A tool must not do that, so it re-executes
    itself (same pid on POSIX) with the variable removed.
    """
    if not _multiprocess_environment():
        return None
    environment = {k: v for k, v in os.environ.items() if k not in _MULTIPROC_VARIABLES}
    command = [sys.executable, "-m", "prometheus_client", *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(sys.executable, command, environment)
    return subprocess.call(command, env=environment)  # pragma: no cover (Windows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; return its exit status (see the module docstring).

    Called without ``argv`` (as a program), the arguments come from
    ``sys.argv`` and the process first leaves any multiprocess group its
    environment put it in (see :func:`_leave_multiprocess_group`).
    """
    as_program = argv is None
    arguments: List[str] = list(sys.argv[1:] if argv is None else argv)
    if as_program:
        status = _leave_multiprocess_group(arguments)
        if status is not None:
            return status
    parser = build_parser()
    try:
        options = parser.parse_args(arguments)
    except SystemExit as exit_:  # --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    if not options.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(options.run(options))
    except CommandError as error:
        print("%s %s: error: %s" % (parser.prog, options.command, error), file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        return 130
