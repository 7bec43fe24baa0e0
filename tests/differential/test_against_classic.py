"""Differential test: random metric programs, ours vs. the classic client.

Hypothesis generates programs of operations (create Counter/Gauge/Summary/
Histogram/Info/Enum with random names, namespaces, units and label names;
``labels()`` positional and keyword; inc/dec/set/observe/info/state with
awkward values; remove/remove_by_labels/clear/unregister; operations that
must raise). Each program runs through our package in this process and
through the classic prometheus_client 0.26.0 in a subprocess of its own
interpreter (one long-lived subprocess, programs sent as JSON lines), with
``time.time`` patched to a constant on both sides. The test compares, per
program:

* the exception type and message of every failing operation;
* the bytes of ``generate_latest`` (text 0.0.4) and of the OpenMetrics
  ``generate_latest`` for the escapings underscores, allow-utf-8, dots and
  values (or the exception each raised), and for some programs of a
  ``restricted_registry`` (family blocks sorted, their order being
  unspecified);
* what ``registry.collect()`` returns (names, types, units, sample names,
  labels, ``repr`` of values, timestamps and exemplars).

The classic interpreter comes from ``$PROMETHEUS_CLASSIC_PYTHON``, else
``.venv-classic/bin/python`` in the repository, else
``/tmp/classic/bin/python``. Without one the test is skipped, except under
CI (``$CI`` set), where it fails.

To reproduce a failure by hand, the assertion message prints the program as
a Python script that runs unchanged under either library. Our side runs
in-process, so a bug that depends on earlier programs (a cache, say) can
shrink to a program that passes on its own; ``explore.py`` surveys thousands
of programs and groups every kind of difference. ``DIFFERENTIAL_EXAMPLES``
sets the number of generated programs (default 400, about 20 s).
"""
from __future__ import annotations

import difflib
import importlib.util
import json
import math
import os
import re
import selectors
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DRIVER_PATH = os.path.join(HERE, "_driver.py")
REPLY_TIMEOUT_S = 60.0

_SCRUB_ENV = (
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
    "PROMETHEUS_DISABLE_CREATED_SERIES",
    "PROMETHEUS_LEGACY_NAME_VALIDATION",
)


# --------------------------------------------------------------------------
# The two sides


def _load_driver():
    spec = importlib.util.spec_from_file_location("_prometheus_differential_driver", DRIVER_PATH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


_DRIVER = None


def _driver_module():
    global _DRIVER
    if _DRIVER is None:
        _DRIVER = _load_driver()
    return _DRIVER


def find_classic_python() -> Optional[str]:
    env = os.environ.get("PROMETHEUS_CLASSIC_PYTHON")
    if env:
        return env
    for candidate in (os.path.join(REPO, ".venv-classic", "bin", "python"), "/tmp/classic/bin/python"):
        if os.path.exists(candidate):
            return candidate
    return None


class ClassicDriver:
    """The driver running under the classic client, in a subprocess."""

    def __init__(self, python: str):
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
        # -I keeps this repository (cwd, script dir, PYTHONPATH) off sys.path
        # so the subprocess imports the classic package, not ours.
        self.proc = subprocess.Popen(
            [os.path.abspath(python), "-I", DRIVER_PATH, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tempfile.gettempdir(),
            env=env,
            text=True,
            encoding="utf-8",
        )
        self.selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.header = json.loads(self._readline())

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        if not self.selector.select(timeout=REPLY_TIMEOUT_S):
            self.close()
            raise RuntimeError("classic driver did not answer within %.0f s" % REPLY_TIMEOUT_S)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError("classic driver exited: " + err[-3000:])
        return line

    def run(self, programs: List[dict]) -> List[dict]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(programs) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.selector.close()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


@pytest.fixture(scope="module")
def classic():
    python = find_classic_python()
    if not python or not os.path.exists(python):
        msg = (
            "no classic prometheus_client interpreter found (looked at $PROMETHEUS_CLASSIC_PYTHON, "
            ".venv-classic/bin/python, /tmp/classic/bin/python); create one with "
            "`python -m venv .venv-classic && .venv-classic/bin/pip install prometheus-client==0.26.0`"
        )
        if os.environ.get("CI"):
            pytest.fail("differential test needs the classic client under CI: " + msg, pytrace=False)
        pytest.skip(msg)
    try:
        driver = ClassicDriver(python)
    except RuntimeError as exc:
        pytest.fail("the classic interpreter %s cannot run the differential driver (is "
                    "prometheus-client==0.26.0 installed in it?): %s" % (python, exc), pytrace=False)
    try:
        module_file = driver.header.get("module_file") or ""
        ours_pkg = os.path.realpath(os.path.join(REPO, "prometheus_client"))
        if os.path.realpath(module_file).startswith(ours_pkg + os.sep):
            pytest.fail("the classic interpreter %s imports prometheus_client from this repository (%s)"
                        % (python, module_file), pytrace=False)
        if driver.header.get("version") != "0.26.0":
            pytest.fail("the classic interpreter %s has prometheus_client %s, expected 0.26.0"
                        % (python, driver.header.get("version")), pytrace=False)
        yield driver
    finally:
        driver.close()


@pytest.fixture(scope="module")
def ours():
    return _driver_module()


# --------------------------------------------------------------------------
# Strategies

_SPECIAL_CHARS = ['"', "\\", "\n", "\t", ".", " ", "=", ",", "{", "}", "#", ":", "_", "-", "/",
                  "é", "花", "😱", "\r", "\x00", "\u2028", "0", "9"]

_chars = st.one_of(
    st.sampled_from(_SPECIAL_CHARS),
    st.characters(min_codepoint=32, max_codepoint=0x1FFFF, blacklist_categories=("Cs",)),
)


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=_chars, max_size=max_size)


_identifier = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)

_metric_names = st.one_of(
    st.sampled_from([
        "requests", "latency_seconds", "x", "x", "x_total", "x_created", "x_info", "x_bucket",
        "x_count", "x_sum", "x_gsum", "_total", "total", "a:b", "my.app", "my.app:req_total",
        "target", "target_info", "état", "花火", "a b", "0abc", 'has"quote', "back\\slash",
        "new\nline", "x_total_total", "x_seconds", "",
    ]),
    _identifier,
    _text(8),
)

_label_names = st.one_of(
    st.sampled_from([
        "a", "a", "b", "method", "code", "le", "quantile", "l.dot", "__x", "_x", "0a", "é",
        "a b", 'x"y', "a:b", "x\\y", "n\nl", "", "self", "x",
    ]),
    _identifier,
    _text(4),
)

_label_values = st.one_of(
    _text(6),
    st.sampled_from(["GET", "200", "a", "b", "", "\\", '"', "\n", "x.y"]),
    st.sampled_from([None, 1, 1.5, True, 0, -0.0]),
)

_special_numbers = st.sampled_from([
    0, 1, 2, 0.5, 0.1, -1, -0.0, 2 ** 53, 2 ** 63, 10 ** 20, 1e-300, 5e-324, 1234567.0,
    999999.0, 1e16, 1e308, 1.5e10, math.inf, -math.inf, math.nan,
])

_amounts = st.one_of(
    st.integers(-3, 10),
    _special_numbers,
    st.floats(),
    st.floats(-1e7, 1e7),
    st.booleans(),
    st.sampled_from(["3", "x", "1e3", " 2 ", "nan", None]),
)

_exemplars = st.one_of(
    st.dictionaries(
        st.one_of(st.sampled_from(["trace_id", "span", "__x", "a.b", "é", ""]), _identifier),
        st.one_of(_text(8), st.just("x" * 130)),
        max_size=2,
    ),
)

_buckets = st.one_of(
    st.lists(st.floats(-10, 1e7, allow_nan=False), min_size=1, max_size=4, unique=True).map(sorted),
    st.lists(st.integers(-5, 100), min_size=1, max_size=4, unique=True).map(sorted),
    st.lists(st.floats(allow_nan=False), min_size=1, max_size=4),
    st.sampled_from([
        [], [math.inf], ["+Inf"], [1, "2.5", "+Inf"], ["x"], [0.005, 0.1, 1, math.inf],
        [2, 1], [1e6, 1e16], [-1, 0, 1], [0.1, 0.1],
    ]),
)

_states = st.one_of(
    st.sampled_from([["a", "b", "c"], ["idle", "busy"], ["x"], ["x", "x"]]),
    st.lists(_text(4), min_size=1, max_size=3),
    st.just([]),
)

_TYPES = ["Counter", "Gauge", "Summary", "Histogram", "Info", "Enum"]


@st.composite
def _metric_spec(draw) -> Dict[str, Any]:
    typ = draw(st.sampled_from(_TYPES))
    kwargs: Dict[str, Any] = {
        "name": draw(_metric_names),
        "documentation": draw(st.one_of(st.just("help"), _text(12))),
    }
    labelnames: Any = draw(st.one_of(st.just([]), st.lists(_label_names, min_size=1, max_size=3)))
    if draw(st.integers(0, 29)) == 29:
        labelnames = draw(st.sampled_from(["ab", "", "l"]))  # a str is an iterable of names
    if labelnames or draw(st.booleans()):
        kwargs["labelnames"] = labelnames
    if draw(st.integers(0, 49)) == 49:
        kwargs["documentation"] = draw(st.sampled_from([None, 1, ""]))
    for key in ("namespace", "subsystem"):
        value = draw(st.one_of(st.just(""), st.just(""), st.sampled_from(["ns", "my.ns", "ns_"]), _identifier))
        if value:
            kwargs[key] = value
    unit = draw(st.one_of(st.just(""), st.just(""), st.just(""),
                          st.sampled_from(["seconds", "bytes", "total", "info", "x.y", "é"])))
    if unit and (typ not in ("Info", "Enum") or draw(st.integers(0, 4)) == 0):
        kwargs["unit"] = unit  # mostly kept off Info/Enum, which reject any unit
    if typ == "Histogram" and draw(st.booleans()):
        kwargs["buckets"] = draw(_buckets)
    if typ == "Enum" and draw(st.integers(0, 9)) > 0:
        kwargs["states"] = draw(_states)
    if typ == "Gauge" and draw(st.integers(0, 4)) == 0:
        kwargs["multiprocess_mode"] = draw(st.sampled_from(
            ["all", "livesum", "max", "mostrecent", "livemostrecent", "avg"]))
    return {"type": typ, "kwargs": kwargs}


def _labels_spec(draw, labelnames: List[str], pool: List[Any]) -> Optional[Dict[str, Any]]:
    how = draw(st.sampled_from(["args"] * 6 + ["kwargs"] * 3 + ["parent", "wrong_count", "wrong_names", "both"]))
    values = [draw(st.sampled_from(pool)) for _ in labelnames]
    if how == "args":
        return {"args": values}
    if how == "kwargs":
        return {"kwargs": {str(k): v for k, v in zip(labelnames, values)}}
    if how == "parent":
        return None
    if how == "wrong_count":
        return {"args": values + ["extra"] if draw(st.booleans()) else values[:-1]}
    if how == "wrong_names":
        return {"kwargs": {"zzz": "v"}}
    return {"args": values[:1], "kwargs": {"b": "v"}}


def _method_call(draw, typ: str, states: Any) -> List[Any]:
    if typ == "Counter":
        choice = draw(st.sampled_from(["inc0", "inc0", "inc", "inc", "inc", "inc_ex", "inc_ex", "reset", "wrong",
                                       "count_exceptions"]))
        if choice == "count_exceptions":
            return ["count_exceptions", [draw(st.booleans())]]
        if choice == "inc0":
            return ["inc", []]
        if choice == "inc":
            return ["inc", [draw(_amounts)]]
        if choice == "inc_ex":
            return ["inc", [draw(_amounts), draw(_exemplars)]]
        if choice == "reset":
            return ["reset", []]
        return ["observe", [1]]
    if typ == "Gauge":
        choice = draw(st.sampled_from(["inc", "dec", "set", "set", "now", "inc0", "set_function",
                                       "track_inprogress"]))
        if choice == "track_inprogress":
            return ["track_inprogress", []]
        if choice == "now":
            return ["set_to_current_time", []]
        if choice == "inc0":
            return ["inc", []]
        return [choice, [draw(_amounts)]]
    if typ == "Summary":
        return ["observe", [draw(_amounts)]]
    if typ == "Histogram":
        if draw(st.booleans()):
            return ["observe", [draw(_amounts), draw(_exemplars)]]
        return ["observe", [draw(_amounts)]]
    if typ == "Info":
        value = draw(st.dictionaries(
            st.one_of(st.sampled_from(["version", "commit", "a", "le", "__x", "a.b", ""]), _identifier),
            st.one_of(_text(6), st.sampled_from([None, 1])),
            max_size=3,
        ))
        return ["info", [value]]
    # Enum
    if isinstance(states, list) and states and draw(st.integers(0, 4)) > 0:
        return ["state", [draw(st.sampled_from(states))]]
    return ["state", [draw(st.one_of(_text(3), st.just("zz")))]]


@st.composite
def programs(draw) -> Dict[str, Any]:
    specs: Dict[int, Dict[str, Any]] = {}
    pool = draw(st.lists(_label_values, min_size=1, max_size=3))
    ops: List[Any] = []
    n_ops = draw(st.integers(1, 14))
    for i in range(n_ops):
        kind = "create" if i == 0 else draw(st.sampled_from(
            ["create"] * 2 + ["call"] * 7 + ["remove", "remove_by_labels", "clear", "chain", "unregister"]))
        if kind == "create":
            slot = draw(st.integers(0, min(len(specs), 4)))
            spec = draw(_metric_spec())
            specs[slot] = spec
            ops.append(["create", slot, spec["type"], spec["kwargs"]])
            continue
        slot = draw(st.sampled_from(sorted(specs)))
        spec = specs[slot]
        labelnames = [str(x) for x in spec["kwargs"].get("labelnames", [])]
        if kind == "call":
            lab = _labels_spec(draw, labelnames, pool) if labelnames else (
                None if draw(st.integers(0, 9)) else {"args": ["x"]})
            if draw(st.integers(0, 9)) == 0:
                ops.append(["call", slot, lab, None, []])
            else:
                method, args = _method_call(draw, spec["type"], spec["kwargs"].get("states"))
                ops.append(["call", slot, lab, method, args])
        elif kind == "remove":
            values = [draw(st.sampled_from(pool)) for _ in labelnames]
            if draw(st.integers(0, 4)) == 0:
                values = values + ["extra"]
            ops.append(["remove", slot, values])
        elif kind == "remove_by_labels":
            arg: Any = {k: draw(st.sampled_from(pool)) for k in labelnames if draw(st.booleans())}
            odd = draw(st.integers(0, 5))
            if odd == 0:
                arg = ["not", "a", "dict"]
            elif odd == 1:
                arg = {"zzz": "v"}
            ops.append(["remove_by_labels", slot, arg])
        elif kind == "clear":
            ops.append(["clear", slot])
        elif kind == "chain":
            first = {"args": [draw(st.sampled_from(pool)) for _ in labelnames]}
            ops.append(["chain", slot, first, {"args": ["y"]}])
        else:
            ops.append(["unregister", slot])
    return {
        "created": draw(st.sampled_from([True, True, True, False])),
        "legacy": draw(st.integers(0, 9)) == 9,
        "target_info": draw(st.one_of(
            st.none(), st.none(), st.none(), st.none(), st.none(),
            st.dictionaries(st.sampled_from(["env", "region", "a.b"]), _text(4), max_size=2))),
        "ops": ops,
        "restrict": draw(st.one_of(
            st.none(), st.none(), st.none(),
            st.lists(st.sampled_from(["", "_total", "_created", "_bucket", "_count", "_sum", "_info"]),
                     min_size=1, max_size=3, unique=True))),
        "restrict_target_info": draw(st.booleans()),
    }


# --------------------------------------------------------------------------
# Comparison and reporting

_INT_RE = re.compile(r"-?[0-9]+")

# Exception messages we decide not to match, as (type name, regex for the
# classic message, regex for ours). Empty: every message must match exactly.
# Example: ("TypeError", r"unsupported operand type\(s\) for \+=: .*", r"must be real number, not .*")
TOLERATED_MESSAGE_DIFFERENCES: List[Any] = []


def _same_interpreter(classic: Any) -> bool:
    """Whether the classic oracle runs on our Python version (major.minor)."""
    theirs = str(classic.header.get("python", "")).split(".")[:2]
    return theirs == [str(sys.version_info[0]), str(sys.version_info[1])]


def _tolerate(got: Dict[str, Any], want: Dict[str, Any], same_interpreter: bool = True) -> None:
    """Accept the message differences listed above, and, when the classic
    oracle runs on another Python version than ours (its virtualenv uses the
    default interpreter, the unit tests also run on 3.9 and 3.13), any
    TypeError text: CPython's own wording of them changes between versions
    ("float() argument must be a string or a (real) number", a function
    named with or without its class). The exception type is still compared.
    """
    pairs = list(zip(got.get("ops") or [], want.get("ops") or []))
    pairs += [(got["expo"].get(k), want["expo"].get(k)) for k in (got.get("expo") or {})
              if k in (want.get("expo") or {})]
    for g, w in pairs:
        if isinstance(g, list) and isinstance(w, list) and g[0] == w[0] and g[1] != w[1]:
            if g[0] == "TypeError" and not same_interpreter:
                g[1] = w[1]
                continue
            for typ, classic_re, ours_re in TOLERATED_MESSAGE_DIFFERENCES:
                if g[0] == typ and re.fullmatch(classic_re, w[1]) and re.fullmatch(ours_re, g[1]):
                    g[1] = w[1]


_SAMPLE_INT_VALUE_RE = re.compile(r"(Sample\(name=[^)]*?, value=)(-?[0-9]+)(?=, timestamp=)")


def _float_sample_values(item: Any) -> Any:
    """Sample reprs inside exception texts with int values shown as floats (see normalize)."""
    if isinstance(item, str):
        return _SAMPLE_INT_VALUE_RE.sub(lambda m: m.group(1) + repr(float(int(m.group(2)))), item)
    if isinstance(item, list):
        return [_float_sample_values(v) for v in item]
    return item


def normalize(result: Dict[str, Any]) -> Dict[str, Any]:
    """The representation both sides are compared in.

    A JSON round trip (tuples become lists, as from the subprocess), and
    ``collect()`` sample values compared as floats: the classic client keeps
    an int after ``Counter.reset()`` (``0``, then ``1``, ``2`` ... on
    ``inc()``) where a float-slot store reports ``0.0``; the exposition is the
    same, so that is tolerated here (exposition bytes are compared exactly),
    also where an exception text shows the samples of a family.
    """
    result = json.loads(json.dumps(result))
    for key in ("ops", "expo"):  # the same in exception texts that show samples
        section = result.get(key)
        if isinstance(section, list):
            result[key] = [_float_sample_values(item) for item in section]
        elif isinstance(section, dict):
            result[key] = {k: _float_sample_values(v) for k, v in section.items()}
    families = result.get("collect")
    if isinstance(families, list) and all(isinstance(f, list) and len(f) == 5 for f in families):
        for family in families:
            for sample in family[4]:
                if _INT_RE.fullmatch(sample[2]):
                    sample[2] = repr(float(int(sample[2])))
    return result



def _py(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join("%r: %s" % (k, _py(v)) for k, v in value.items()) + "}"
    return repr(value)


def _labels_py(lab: Optional[Dict[str, Any]]) -> str:
    if lab is None:
        return ""
    parts = [_py(v) for v in lab.get("args", [])]
    kwargs = lab.get("kwargs", {})
    if kwargs and all(k.isidentifier() for k in kwargs):
        parts += ["%s=%s" % (k, _py(v)) for k, v in kwargs.items()]
    elif kwargs:
        parts.append("**" + _py(kwargs))
    return ".labels(%s)" % ", ".join(parts)


def op_to_python(op: List[Any]) -> str:
    kind, slot = op[0], op[1]
    m = "m%d" % slot
    if kind == "create":
        kwargs = dict(op[3])
        name, doc = kwargs.pop("name"), kwargs.pop("documentation")
        extra = "".join("%s=%s, " % (k, _py(v)) for k, v in kwargs.items())
        return "%s = %s(%r, %r, %sregistry=r)" % (m, op[2], name, doc, extra)
    if kind == "call":
        _, _, lab, method, args = op
        target = m + _labels_py(lab)
        if method == "set_function":
            return "%s.set_function(lambda: %s)" % (target, _py(args[0]))
        if method == "count_exceptions":
            return "with %s.count_exceptions(): %s" % (target, "raise RuntimeError()" if args[0] else "pass")
        if method == "track_inprogress":
            return "with %s.track_inprogress(): pass" % target
        call = "" if method is None else ".%s(%s)" % (method, ", ".join(_py(a) for a in args))
        return target + call
    if kind == "chain":
        return m + _labels_py(op[2]) + _labels_py(op[3])
    if kind == "remove":
        return "%s.remove(%s)" % (m, ", ".join(_py(v) for v in op[2]))
    if kind == "remove_by_labels":
        return "%s.remove_by_labels(%s)" % (m, _py(op[2]))
    if kind == "clear":
        return "%s.clear()" % m
    return "r.unregister(%s)" % m


def program_to_python(prog: Dict[str, Any]) -> str:
    lines = [
        "import time; time.time = lambda: 123.456",
        "from prometheus_client import *",
        "from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest",
    ]
    if not prog.get("created", True):
        lines.append("disable_created_metrics()")
    if prog.get("legacy"):
        lines.append("from prometheus_client.validation import enable_legacy_validation; enable_legacy_validation()")
    ti = prog.get("target_info")
    lines.append("r = CollectorRegistry(%s)" % ("" if ti is None else "target_info=" + _py(ti)))
    for i, op in enumerate(prog["ops"]):
        lines.append("%-60s  # op %d" % (op_to_python(op), i))
    names = _driver_module().restricted_names(prog)
    if names is not None:
        lines.append("# text/restricted, om/restricted (family blocks sorted): "
                     "generate_latest(r.restricted_registry(%r))" % (names,))
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value.encode("latin-1"))
    return repr(value)


def describe_mismatch(prog: Dict[str, Any], got: Dict[str, Any], want: Dict[str, Any]) -> str:
    out = ["ours differs from classic prometheus_client 0.26.0", "", "program:", program_to_python(prog), ""]
    if got.get("driver_error") or want.get("driver_error"):
        out.append("driver error: ours=%r classic=%r" % (got.get("driver_error"), want.get("driver_error")))
    if got.get("setup") != want.get("setup"):
        out.append("CollectorRegistry(): ours %r, classic %r" % (got.get("setup"), want.get("setup")))
    for i, (g, w) in enumerate(zip(got.get("ops") or [], want.get("ops") or [])):
        if g != w:
            out.append("op %d `%s`:" % (i, op_to_python(prog["ops"][i])))
            out.append("    classic: %s" % ("ok" if w is None else w))
            out.append("    ours:    %s" % ("ok" if g is None else g))
    for key in sorted(set(got.get("expo") or {}) | set(want.get("expo") or {})):
        g, w = (got.get("expo") or {}).get(key), (want.get("expo") or {}).get(key)
        if g == w:
            continue
        out.append("%s:" % key)
        if isinstance(g, str) and isinstance(w, str):
            wl = [repr(x) for x in w.encode("latin-1").splitlines(True)]
            gl = [repr(x) for x in g.encode("latin-1").splitlines(True)]
            out.extend("    " + line.rstrip("\n")
                       for line in difflib.unified_diff(wl, gl, "classic", "ours", lineterm="", n=1))
        else:
            out.append("    classic: %s" % _show(w))
            out.append("    ours:    %s" % _show(g))
    if got.get("collect") != want.get("collect"):
        out.append("registry.collect():")
        out.append("    classic: %r" % (want.get("collect"),))
        out.append("    ours:    %r" % (got.get("collect"),))
    return "\n".join(out)


# --------------------------------------------------------------------------
# Tests

# Hand-picked programs that every run checks (documented behaviours).
_EXAMPLES = [
    {"created": True, "legacy": False, "target_info": None, "ops": [
        ["create", 0, "Counter", {"name": "requests", "documentation": "Total requests",
                                  "labelnames": ["method", "code"]}],
        ["call", 0, {"args": ["get", "200"]}, "inc", []],
        ["call", 0, {"kwargs": {"method": "post", "code": "500"}}, "inc", [2.5]],
        ["create", 1, "Gauge", {"name": "temp_celsius", "documentation": "Temperature"}],
        ["call", 1, None, "set", [21.5]],
        ["create", 2, "Summary", {"name": "latency_seconds", "documentation": "Latency"}],
        ["call", 2, None, "observe", [0.25]],
        ["create", 3, "Histogram", {"name": "size_bytes", "documentation": "Sizes",
                                    "buckets": [1, 10, 100.5, 1e6]}],
        ["call", 3, None, "observe", [5]],
        ["call", 3, None, "observe", [1e7, {"trace_id": "t"}]],
        ["create", 4, "Info", {"name": "build", "documentation": "Build info"}],
        ["call", 4, None, "info", [{"version": "1.0", "commit": "abc"}]],
        ["create", 5, "Enum", {"name": "state", "documentation": "State", "states": ["a", "b", "c"]}],
        ["call", 5, None, "state", ["b"]],
    ]},
    {"created": True, "legacy": False, "target_info": {"env": "prod"}, "ops": [
        ["create", 0, "Counter", {"name": "my.app:req", "documentation": 'dotted "q"\n\\',
                                  "labelnames": ["http.method", "ok"]}],
        ["call", 0, {"args": ["G\"E\nT\\", "x"]}, "inc", [1, {"trace_id": "a\"b"}]],
        ["create", 1, "Gauge", {"name": "a:b", "documentation": "colon gauge"}],
        ["call", 1, None, "set", [3]],
        ["create", 2, "Counter", {"name": "my.app:req_total", "documentation": "dup"}],
        ["call", 0, None, "inc", []],
        ["call", 0, {"args": ["x"]}, "inc", []],
        ["remove", 0, ["x"]],
        ["remove_by_labels", 0, {"z": 1}],
    ]},
    # Regressions found by this test: -0.0 and 0.0 bounds render differently;
    # a labelled parent reports missing label values before looking at the
    # amount.
    {"created": True, "legacy": False, "target_info": None, "ops": [
        ["create", 0, "Histogram", {"name": "nz", "documentation": "h", "buckets": [-0.0]}],
        ["create", 1, "Histogram", {"name": "pz", "documentation": "h", "buckets": [0.0]}],
        ["create", 2, "Histogram", {"name": "pz2", "documentation": "h", "buckets": [0.0, 1]}],
        ["create", 3, "Histogram", {"name": "nz2", "documentation": "h", "buckets": [-0.0, 1]}],
    ]},
    {"created": True, "legacy": False, "target_info": None, "ops": [
        ["create", 0, "Counter", {"name": "c", "documentation": "h", "labelnames": ["l"]}],
        ["call", 0, None, "inc", ["3"]],
        ["call", 0, None, "inc", [None]],
        ["create", 1, "Gauge", {"name": "g", "documentation": "h", "labelnames": ["l"]}],
        ["call", 1, None, "dec", ["x"]],
        ["call", 1, None, "inc", ["x"]],
        ["call", 1, None, "set", ["x"]],
        ["create", 2, "Summary", {"name": "s", "documentation": "h"}],
        ["call", 2, None, "observe", ["x"]],
        ["create", 3, "Gauge", {"name": "g2", "documentation": "h"}],
        ["call", 3, None, "inc", [None]],
    ]},
]


@settings(
    max_examples=int(os.environ.get("DIFFERENTIAL_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(prog=programs())
@example(prog=_EXAMPLES[0])
@example(prog=_EXAMPLES[1])
@example(prog=_EXAMPLES[2])
@example(prog=_EXAMPLES[3])
def test_programs_match_classic(classic, ours, prog):
    want = normalize(classic.run([prog])[0])
    got = normalize(ours.run_program(prog))
    assert "driver_error" not in want, want
    _tolerate(got, want, _same_interpreter(classic))
    if got != want:
        pytest.fail(describe_mismatch(prog, got, want), pytrace=False)


def test_batch_of_programs_matches_classic(classic, ours):
    """Many fixed programs in one subprocess call (the batch path)."""
    batch = _EXAMPLES * 3
    wants = classic.run(batch)
    assert len(wants) == len(batch)
    for prog, want in zip(batch, wants):
        got = normalize(ours.run_program(prog))
        want = normalize(want)
        _tolerate(got, want, _same_interpreter(classic))
        if got != want:
            pytest.fail(describe_mismatch(prog, got, want), pytrace=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
