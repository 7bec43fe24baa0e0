"""Every code sample in the docs runs.

Finds the fenced code blocks of ``docs/*.md`` and ``README.md`` and runs
them, one test per block, named ``<file>:<line of the opening fence>`` so a
failure points at the sample:

* ```` ```python ```` blocks run in a fresh interpreter (``sys.executable``),
  in an empty temporary directory, with ``PYTHONPATH`` pointing at this
  checkout and without the environment variables that change the library's
  behaviour (``PROMETHEUS_MULTIPROC_DIR`` ...). They must finish on their
  own, within ``TIMEOUT`` seconds, with exit status 0.
* ```` ```sh ```` blocks whose first command is ``python -m prometheus_client``
  run under ``bash -e`` the same way, with ``python`` on ``PATH`` meaning
  ``sys.executable``. Set-up lines may come before it: ``cat > FILE <<'EOF'``
  here-documents (input files), ``export`` and ``mkdir``. A command line
  ending in ``# exit status N`` must exit with N; every other command must
  succeed. No output may contain a Python traceback. Other ``sh`` blocks
  (installation, deployment) and ``console``/``text`` blocks are shown, not
  run.

Conventions a sample can use (on its first line):

* ``# requires: aiohttp, django``: skipped unless those modules import.
* ``# requires-command: openssl``: skipped unless that program is on PATH.
* ``# requires-peer: pushgateway``: needs a running peer, whose address the
  sample reads from the environment variable named in ``PEERS``
  (``PUSHGATEWAY_ADDRESS``). When that is not set, a Pushgateway is started
  here if its binary is installed (``scripts/install-peers.sh``); otherwise
  the sample is skipped. Graphite samples use ``GRAPHITE_ADDRESS``, else
  the real carbon-cache of the peer tests (skipped when not installed).

The samples take about half a minute in all, hence ``slow``.

Expected output: a ``python`` block followed (after blank lines) by the line
``<!-- output -->`` and a fenced block must print exactly that block. The
values of ``*_created`` samples (creation times) and exemplar timestamps
are not compared.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

from tests.peers.conftest import carbon  # noqa: F401  (the real carbon-cache, started on demand)

REPO = Path(__file__).resolve().parent.parent
DOC_FILES = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
TIMEOUT = 90

# Peer name -> the environment variable a sample reads its address from.
PEERS = {
    "pushgateway": "PUSHGATEWAY_ADDRESS",
    "graphite": "GRAPHITE_ADDRESS",
}
PUSHGATEWAY_BINARIES = ("prometheus-pushgateway", "pushgateway")

# Environment variables that change the library's behaviour; samples start
# without them (a sample that wants one sets it itself).
SCRUBBED_ENV = (
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
    "PROMETHEUS_DISABLE_CREATED_SERIES",
    "PROMETHEUS_LEGACY_NAME_VALIDATION",
    "PYTHONSTARTUP",
)

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)[^`]*$")
_OUTPUT_MARKER = "<!-- output -->"
_REQUIRES = re.compile(r"#\s*requires:\s*(?P<names>.+)$")
_REQUIRES_COMMAND = re.compile(r"#\s*requires-command:\s*(?P<names>.+)$")
_REQUIRES_PEER = re.compile(r"#\s*requires-peer:\s*(?P<names>.+)$")
_EXIT_STATUS = re.compile(r"#\s*exit status (?P<code>\d+)\s*$")
_CLI = "python -m prometheus_client"
_CREATED_VALUE = re.compile(r"^(?P<sample>\S*_created(?:\{.*\})?) \S+", re.M)
_EXEMPLAR_TIME = re.compile(r"(?P<exemplar> # \{.*\} \S+) \S+$", re.M)
_TRACEBACK = "Traceback (most recent call last)"


@dataclasses.dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    output: Optional[str] = None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def _fenced_blocks(path: Path, text: Optional[str] = None) -> List[Block]:
    """Every fenced block of a Markdown file, with its expected output if marked."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    blocks: List[Block] = []
    pending_output: Optional[Block] = None  # a python block waiting for its output block
    marker_seen = False
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            stripped = lines[i].strip()
            if pending_output is not None and stripped:
                if stripped == _OUTPUT_MARKER and not marker_seen:
                    marker_seen = True
                else:
                    pending_output = None
            i += 1
            continue
        indent, fence, info = match.group("indent"), match.group("fence"), match.group("info")
        start = i
        body = []
        i += 1
        while i < len(lines) and not (
            lines[i].strip().startswith(fence) and set(lines[i].strip()) == {fence[0]}
        ):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1  # the closing fence
        code = "\n".join(body) + "\n"
        if pending_output is not None and marker_seen:
            pending_output.output = code
            pending_output = None
            marker_seen = False
            continue
        block = Block(path, start + 1, info.lower(), code)
        blocks.append(block)
        pending_output = block if block.lang == "python" else None
        marker_seen = False
    return blocks


def _first_command(code: str) -> str:
    """The first shell command, skipping comments and leading set-up lines.

    Set-up lines are ``cat > FILE <<'EOF'`` here-documents, ``export`` and
    ``mkdir``.
    """
    lines = iter(code.split("\n"))
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.split()[0] in ("export", "mkdir"):
            continue
        heredoc = re.match(r"cat\s+>\s*\S+\s+<<-?\s*'?(\w+)'?\s*$", stripped)
        if heredoc:
            for body_line in lines:
                if body_line.strip() == heredoc.group(1):
                    break
            continue
        return stripped
    return ""


def _runnable(block: Block) -> bool:
    if block.lang == "python":
        return True
    if block.lang == "sh":
        return _first_command(block.code).startswith(_CLI + " ")
    return False


def _all_blocks() -> Iterator[Block]:
    for path in DOC_FILES:
        if path.exists():
            yield from (block for block in _fenced_blocks(path) if _runnable(block))


BLOCKS = list(_all_blocks())


class Peers:
    """Addresses of the peers samples need: from the environment, else started here.

    A Pushgateway is started on 127.0.0.1 (once per session, on a free port)
    when its binary is installed; it is identified by its own persistence
    file before use, so a server of another session on the same port is
    never mistaken for it. For Graphite, the real carbon-cache of the peer
    tests is started (``tests/peers/conftest.py``) when it is installed.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory,
                 start_graphite: Optional[Callable[[], Optional[str]]] = None) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._start_graphite = start_graphite or (lambda: None)
        self._addresses: Dict[str, Optional[str]] = {}
        self._processes: List[subprocess.Popen] = []

    def address(self, name: str) -> Optional[str]:
        configured = os.environ.get(PEERS[name])
        if configured:
            return configured
        if name not in self._addresses:
            self._addresses[name] = self._start_pushgateway() if name == "pushgateway" else self._start_graphite()
        return self._addresses[name]

    def _start_pushgateway(self) -> Optional[str]:
        binary = next(filter(None, map(shutil.which, PUSHGATEWAY_BINARIES)), None)
        if binary is None:
            return None
        directory = self._tmp_path_factory.mktemp("pushgateway")
        state = str(directory / "state")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with open(directory / "pushgateway.log", "wb") as log:
            process = subprocess.Popen(
                [binary, f"--web.listen-address=127.0.0.1:{port}", f"--persistence.file={state}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self._processes.append(process)
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/status"
                with urllib.request.urlopen(url, timeout=2) as response:
                    flags = json.load(response)["data"]["flags"]
                if flags.get("persistence.file") == state:
                    return f"127.0.0.1:{port}"
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        return None

    def close(self) -> None:
        for process in self._processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def peers(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Peers]:
    def start_graphite() -> Optional[str]:
        if shutil.which("carbon-cache") is None:
            return None
        return "127.0.0.1:%d" % request.getfixturevalue("carbon").port

    started = Peers(tmp_path_factory, start_graphite)
    yield started
    started.close()


def _requirements(block: Block, peers: Peers) -> Dict[str, str]:
    """Skip unless what the sample's first line asks for is here; return peer variables."""
    first_line = block.code.lstrip("\n").split("\n", 1)[0]
    requires = _REQUIRES.search(first_line)
    if requires:
        for name in (n.strip() for n in requires.group("names").split(",")):
            if importlib.util.find_spec(name) is None:
                pytest.skip(f"{block.id} needs the {name} package")
    commands = _REQUIRES_COMMAND.search(first_line)
    if commands:
        for name in (n.strip() for n in commands.group("names").split(",")):
            if shutil.which(name) is None:
                pytest.skip(f"{block.id} needs the {name} command")
    env: Dict[str, str] = {}
    wanted_peers = _REQUIRES_PEER.search(first_line)
    if wanted_peers:
        for name in (n.strip() for n in wanted_peers.group("names").split(",")):
            variable = PEERS.get(name)
            assert variable is not None, f"{block.id}: unknown peer {name!r} (known: {sorted(PEERS)})"
            address = peers.address(name)
            if not address:
                hint = " or install prometheus-pushgateway" if name == "pushgateway" else " or install graphite-carbon"
                pytest.skip(f"{block.id} needs a {name}: set {variable}{hint}")
            env[variable] = address
    return env


def _environment(tmp_path: Path, extra: Dict[str, str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # `python` in shell samples is the interpreter running the tests.
    shim = tmp_path / ".bin"
    shim.mkdir()
    python = shim / "python"
    python.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
    python.chmod(0o755)
    env["PATH"] = os.pathsep.join([str(shim), env.get("PATH", "")])
    return env


def _shell_script(code: str) -> str:
    """Turn ``cmd  # exit status N`` lines into checked commands."""
    out = []
    for line in code.split("\n"):
        expected = _EXIT_STATUS.search(line)
        if expected and line.lstrip().startswith(_CLI):
            command = line[: expected.start()].rstrip()
            code_ = expected.group("code")
            out.append(
                f"set +e; {command}; status=$?; set -e; "
                f"if [ $status -ne {code_} ]; then "
                f"echo \"sample: expected exit status {code_}, got $status\" >&2; exit 1; fi"
            )
        else:
            out.append(line)
    return "\n".join(out)


def _normalise(text: str) -> str:
    text = _CREATED_VALUE.sub(r"\g<sample> <created>", text)
    text = _EXEMPLAR_TIME.sub(r"\g<exemplar> <time>", text)
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def _run(block: Block, tmp_path: Path, extra_env: Dict[str, str]) -> subprocess.CompletedProcess:
    env = _environment(tmp_path, extra_env)
    workdir = tmp_path / "work"
    workdir.mkdir()
    if block.lang == "python":
        script = workdir / "sample.py"
        script.write_text(block.code, encoding="utf-8")
        command = [sys.executable, str(script)]
    else:
        script = workdir / "sample.sh"
        script.write_text(_shell_script(block.code), encoding="utf-8")
        command = ["bash", "-e", str(script)]
    try:
        return subprocess.run(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{block.id} did not finish within {TIMEOUT} s\n--- stdout\n{exc.stdout}\n--- stderr\n{exc.stderr}"
        )


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_doc_sample_runs(block: Block, tmp_path: Path, peers: Peers) -> None:
    result = _run(block, tmp_path, _requirements(block, peers))
    report = (
        f"{block.id} ({block.lang}) exited with {result.returncode}\n"
        f"--- sample\n{textwrap.indent(block.code, '    ')}"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    assert result.returncode == 0, report
    if block.lang == "sh":
        assert _TRACEBACK not in result.stdout + result.stderr, report
    if block.output is not None:
        assert _normalise(result.stdout) == _normalise(block.output), report


def test_docs_have_samples() -> None:
    """The collection itself works: every page of the map has runnable samples."""
    pages = {block.path.name for block in BLOCKS}
    for name in ("getting-started.md", "metric-types.md", "labels.md", "exporting.md",
                 "multiprocess.md", "native-histograms.md", "custom-collectors.md", "parsing.md",
                 "cli.md", "migrating.md"):
        assert name in pages, f"docs/{name} has no runnable sample"


def test_fence_parser() -> None:
    """Fences, output markers, here-documents and exit-status lines are read as documented."""
    text = textwrap.dedent("""\
        Intro.

        ```python
        print('hi')
        ```

        <!-- output -->
        ```text
        hi
        ```

        ```sh
        cat > in.prom <<'EOF'
        a 1
        EOF
        python -m prometheus_client check in.prom  # exit status 1
        ```

        ```sh
        pip install prometheus-client
        ```

        ```sh
        export PROMETHEUS_MULTIPROC_DIR=/tmp/x
        mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        gunicorn -w 4 myapp:app
        ```
        """)
    path = REPO / "docs" / "_fence_parser_probe.md"
    blocks = _fenced_blocks(path, text)
    assert [(b.lang, b.line) for b in blocks] == [("python", 3), ("sh", 12), ("sh", 19), ("sh", 23)]
    assert blocks[0].output == "hi\n"
    assert [_runnable(b) for b in blocks] == [True, True, False, False]
    script = _shell_script(blocks[1].code)
    assert "status=$?" in script and "-ne 1" in script
    assert _normalise("x_created{a=\"b\"} 1.7e+09\n") == "x_created{a=\"b\"} <created>"

