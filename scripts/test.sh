#!/usr/bin/env bash
# The whole test suite, from a fresh machine (called by `make test` and CI).
#
# 1. The default interpreter (Python 3.11): the full suite with the compiled
#    slot primitive, then the fast unit tests again with the pure-Python one.
# 2. The oldest and newest other interpreters found (3.9 and 3.13 here): the
#    fast unit tests, compiled and pure.
# The classic client is installed as a black-box oracle in its own virtualenv
# (.venv-classic), never in ours: both own the import name prometheus_client.
set -euo pipefail
cd "$(dirname "$0")/.."

DEFAULT_PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
PYTEST_ARGS=${PYTEST_ARGS:-}

log() { printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

make_venv() {  # make_venv DIR PYTHON EXTRAS
    local dir=$1 python=$2 extras=$3
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel >/dev/null
    "$dir/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]"
}

# Interpreters other than the default: the oldest and the newest >= 3.9.
other_pythons() {
    local root candidates
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    candidates=$(ls -d "$root"/versions/3.*/bin/python3 2>/dev/null | sort -V || true)
    local ok=()
    for py in $candidates; do
        if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
            ok+=("$py")
        fi
    done
    [ ${#ok[@]} -eq 0 ] && return 0
    local default_version oldest newest
    default_version=$("$DEFAULT_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    oldest=${ok[0]}
    newest=${ok[${#ok[@]}-1]}
    for py in "$oldest" "$newest"; do
        local v
        v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        [ "$v" != "$default_version" ] && echo "$py"
    done | sort -u
}

log "setting up .venv ($("$DEFAULT_PYTHON" --version))"
make_venv .venv "$DEFAULT_PYTHON" test
# The integrations of tests/integrations, installed after our package so
# that it satisfies their prometheus-client requirement (the classic client
# is never pulled in; checked below).
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/integrations/requirements.txt
.venv/bin/python - <<'PY'
import importlib.metadata, os, prometheus_client
version = importlib.metadata.version("prometheus-client")
assert version.endswith("+cleanroom"), "the classic client was installed: %s" % version
assert os.path.dirname(prometheus_client.__file__) == os.path.abspath("prometheus_client"), prometheus_client.__file__
PY
bash scripts/install-peers.sh  # the real peers of tests/peers (Debian packages)

log "setting up .venv-classic (the classic client 0.26.0, black-box oracle)"
if [ ! -x .venv-classic/bin/python ]; then
    "$DEFAULT_PYTHON" -m venv .venv-classic
fi
.venv-classic/bin/python -m pip install -q --disable-pip-version-check 'prometheus-client==0.26.0'
export PROMETHEUS_CLASSIC_PYTHON="$PWD/.venv-classic/bin/python"

log "full suite, compiled slots"
PROMETHEUS_CLIENT_REQUIRE_INTEGRATIONS=1 PROMETHEUS_CLIENT_EXPECT_COMPILED=1 .venv/bin/python -m pytest -q $PYTEST_ARGS

log "unit tests, pure-Python slots"
PROMETHEUS_CLIENT_PURE_PYTHON=1 .venv/bin/python -m pytest -q -m "not slow" $PYTEST_ARGS

for py in $(other_pythons); do
    version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    log "unit tests on Python $version (compiled, then pure-Python slots)"
    make_venv ".venv-py$version" "$py" test
    PROMETHEUS_CLIENT_EXPECT_COMPILED=1 ".venv-py$version/bin/python" -m pytest -q -m "not slow" $PYTEST_ARGS
    PROMETHEUS_CLIENT_PURE_PYTHON=1 ".venv-py$version/bin/python" -m pytest -q -m "not slow" $PYTEST_ARGS
done

log "done"
