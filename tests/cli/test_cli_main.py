"""The command line as a whole: help, version, no command, ``python -m prometheus_client``."""
from __future__ import annotations

import subprocess
import sys

import pytest
from _procs import REPO, child_environment

from prometheus_client.cli import main


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m prometheus_client [-h] [--version] COMMAND ...")
    for command in ("demo", "serve", "check"):
        assert "\n    %s " % command in out


@pytest.mark.parametrize("command, expected", [
    ("demo", ["--port PORT", "--workers WORKERS", "--duration SECONDS", "Ctrl-C"]),
    ("serve", ["DIR", "--host HOST", "--port PORT", "--certfile FILE", "--keyfile FILE", "--client-cafile FILE",
               "--client-auth-required", "9097", "0.0.0.0"]),
    ("check", ["URL|FILE|-", "--format {auto,text,openmetrics,protobuf}", "--twice", "--interval SECONDS",
               "<severity>: <metric>: <message>", "exit status: 0"]),
])
def test_command_help(capsys, command, expected):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m prometheus_client %s " % command)
    for text in expected:
        assert text in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("prometheus_client ")


@pytest.mark.slow
def test_python_dash_m(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("# TYPE jobs_total counter\njobs_total -1\n")
    result = subprocess.run([sys.executable, "-m", "prometheus_client", "check", str(path)],
                            env=child_environment(), cwd=str(REPO), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "error: jobs_total: counter jobs_total is negative (-1) (line 2)"
    assert result.stderr == ""
