"""Program interpreter for the differential test, run under both libraries.

A *program* is a JSON-able description of operations on metrics (see
``run_program``). The very same file is imported in-process by the test (our
package) and run as ``python -I _driver.py --serve`` under the classic
client's interpreter, so it must only use the public API and the standard
library, and stay Python 3.9 compatible.

Serve protocol: the first line written is a JSON header
``{"module_file": ..., "python": ...}``; after that every input line is a JSON
list of programs and every output line is the JSON list of their results.

Program format::

    {"created": bool,            # False: disable_created_metrics() for it
     "legacy": bool,             # True: enable_legacy_validation() for it
     "target_info": dict|null,   # CollectorRegistry(target_info=...)
     "restrict": [suffix...]|null,  # also expose registry.restricted_registry(names)
     "restrict_target_info": bool,  # ... with 'target_info' among the names
     "ops": [op, ...]}

Ops (``m`` is a metric slot number, ``lab`` a labels spec: ``null`` for the
metric itself, ``{"args": [...]}`` or ``{"kwargs": {...}}`` for
``.labels(...)``)::

    ["create", m, "Counter"|"Gauge"|..., {constructor kwargs}]
    ["call", m, lab, method, [args]]      # method None: only .labels(...)
                                          # set_function [v]: set_function(lambda: v)
                                          # count_exceptions [raise?]: a with block
                                          # track_inprogress []: a with block
    ["chain", m, lab, lab]                # .labels(...).labels(...)
    ["remove", m, [values]]
    ["remove_by_labels", m, arg]
    ["clear", m]
    ["unregister", m]

Result::

    {"ops": [null | [exc type, message], ...],
     "expo": {"text/underscores": str | [exc...], "om/...": ...},
     "collect": [...] }

Exposition bytes are carried as latin-1 decoded strings (lossless).
"""
import ast
import json
import sys
import time

import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    disable_created_metrics,
    enable_created_metrics,
    generate_latest,
)
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest
from prometheus_client import validation

FIXED_TIME = 123.456
ESCAPINGS = ("underscores", "allow-utf-8", "dots", "values")

_TYPES = {
    "Counter": Counter,
    "Gauge": Gauge,
    "Summary": Summary,
    "Histogram": Histogram,
    "Info": Info,
    "Enum": Enum,
}

_DUP_PREFIX = "Duplicated timeseries in CollectorRegistry: "
_MISSING = ["<missing>", "metric was not created"]


def _normalize_message(msg):
    # Set elements print in hash order, which varies between processes.
    if msg.startswith(_DUP_PREFIX):
        try:
            names = ast.literal_eval(msg[len(_DUP_PREFIX):])
            return _DUP_PREFIX + repr(sorted(names))
        except Exception:
            pass
    return msg


class _Missing(Exception):
    """An op refers to a metric slot whose creation failed."""


class _Boom(Exception):
    """Raised inside count_exceptions() blocks."""


def describe_exception(exc):
    """[type name, message(, repr of further args)] of an exception.

    Encoders append the offending Metric to ``args``; those extra args are
    kept as a third element so their presence and repr are compared too.
    """
    args = getattr(exc, "args", ())
    if len(args) <= 1:
        return [type(exc).__name__, _normalize_message(str(exc))]
    return [type(exc).__name__, _normalize_message(str(args[0])), repr(args[1:])]


def _target(metrics, slot, lab):
    metric = metrics[slot]
    if lab is None:
        return metric
    return metric.labels(*lab.get("args", []), **lab.get("kwargs", {}))


def _apply(op, registry, metrics):
    kind = op[0]
    if kind == "create":
        _, slot, typ, kwargs = op
        metrics[slot] = None
        kwargs = dict(kwargs)
        name = kwargs.pop("name")
        documentation = kwargs.pop("documentation")
        metrics[slot] = _TYPES[typ](name, documentation, registry=registry, **kwargs)
        return
    slot = op[1]
    if metrics.get(slot) is None:
        raise _Missing()
    if kind == "call":
        _, _, lab, method, args = op
        target = _target(metrics, slot, lab)
        if method is None:
            pass
        elif method == "set_function":
            value = args[0]
            target.set_function(lambda: value)
        elif method == "count_exceptions":
            try:
                with target.count_exceptions():
                    if args and args[0]:
                        raise _Boom()
            except _Boom:
                pass
        elif method == "track_inprogress":
            with target.track_inprogress():
                pass
        else:
            getattr(target, method)(*args)
    elif kind == "chain":
        _target(metrics, slot, op[2]).labels(*op[3].get("args", []), **op[3].get("kwargs", {}))
    elif kind == "remove":
        metrics[slot].remove(*op[2])
    elif kind == "remove_by_labels":
        metrics[slot].remove_by_labels(op[2])
    elif kind == "clear":
        metrics[slot].clear()
    elif kind == "unregister":
        registry.unregister(metrics[slot])
    else:
        raise AssertionError("unknown op %r" % (kind,))


def _exposition(fn, registry, escaping):
    try:
        return fn(registry, escaping=escaping).decode("latin-1")
    except Exception as exc:  # compared like any failing operation
        return describe_exception(exc)


_RESTRICT_SUFFIXES = ("", "_total", "_created", "_bucket", "_count", "_sum", "_info")


def restricted_names(prog):
    """Sample names to ask a restricted registry for, derived from the program
    alone (so both sides ask for the same names)."""
    suffixes = prog.get("restrict")
    if suffixes is None:
        return None
    names = set()
    for op in prog["ops"]:
        if op[0] != "create":
            continue
        kw = op[3]
        base = "_".join(x for x in (kw.get("namespace"), kw.get("subsystem"), kw.get("name")) if x)
        if base.endswith("_total"):
            base = base[:-6]
        unit = kw.get("unit")
        bases = {base}
        if unit and not base.endswith("_" + unit):
            bases.add(base + "_" + unit)
        for b in bases:
            for suffix in suffixes:
                names.add(b + suffix)
    if prog.get("restrict_target_info"):
        names.add("target_info")
    return sorted(names)


def _sorted_blocks(text):
    """Family blocks in a canonical order: a restricted registry collects its
    collectors in set order, which differs between processes."""
    eof = text.endswith("# EOF\n")
    if eof:
        text = text[: -len("# EOF\n")]
    blocks, current = [], []
    for line in text.splitlines(True):
        if line.startswith("# HELP ") and current:
            blocks.append("".join(current))
            current = []
        current.append(line)
    if current:
        blocks.append("".join(current))
    return "".join(sorted(blocks)) + ("# EOF\n" if eof else "")


def _restricted_exposition(fn, registry, names):
    try:
        return _sorted_blocks(fn(registry.restricted_registry(names)).decode("latin-1"))
    except Exception as exc:
        return describe_exception(exc)


def _collect(registry):
    out = []
    try:
        for family in registry.collect():
            samples = []
            for s in family.samples:
                samples.append([
                    s.name,
                    sorted((str(k), repr(v)) for k, v in s.labels.items()),
                    repr(s.value),
                    repr(s.timestamp),
                    repr(s.exemplar),
                ])
            out.append([family.name, family.documentation, family.type, family.unit, samples])
    except Exception as exc:
        return describe_exception(exc)
    return out


def run_program(prog):
    """Run one program against the imported prometheus_client."""
    saved_time = time.time
    time.time = lambda: FIXED_TIME
    legacy = bool(prog.get("legacy"))
    created = prog.get("created", True)
    try:
        # Set both process-wide toggles explicitly: in-process, other tests
        # may have left them changed.
        if created:
            enable_created_metrics()
        else:
            disable_created_metrics()
        if legacy:
            validation.enable_legacy_validation()
        else:
            validation.disable_legacy_validation()
        outcomes = []
        registry = None
        try:
            if prog.get("target_info") is not None:
                registry = CollectorRegistry(target_info=prog["target_info"])
            else:
                registry = CollectorRegistry()
            setup = None
        except Exception as exc:
            setup = describe_exception(exc)
        metrics = {}
        if registry is not None:
            for op in prog["ops"]:
                try:
                    _apply(op, registry, metrics)
                    outcomes.append(None)
                except _Missing:
                    outcomes.append(_MISSING)
                except Exception as exc:
                    outcomes.append(describe_exception(exc))
        expo = {}
        if registry is not None:
            for escaping in ESCAPINGS:
                expo["text/" + escaping] = _exposition(generate_latest, registry, escaping)
                expo["om/" + escaping] = _exposition(om_generate_latest, registry, escaping)
            names = restricted_names(prog)
            if names is not None:
                expo["text/restricted"] = _restricted_exposition(generate_latest, registry, names)
                expo["om/restricted"] = _restricted_exposition(om_generate_latest, registry, names)
        return {
            "setup": setup,
            "ops": outcomes,
            "expo": expo,
            "collect": _collect(registry) if registry is not None else None,
        }
    finally:
        # Back to the library defaults.
        validation.disable_legacy_validation()
        enable_created_metrics()
        time.time = saved_time


def run_programs(progs):
    results = []
    for prog in progs:
        try:
            results.append(run_program(prog))
        except Exception as exc:  # a driver bug; report it rather than die
            results.append({"driver_error": describe_exception(exc)})
    return results


def serve():
    out = sys.stdout
    try:
        from importlib.metadata import version
        dist_version = version("prometheus_client")
    except Exception:
        dist_version = None
    out.write(json.dumps({
        "module_file": getattr(prometheus_client, "__file__", None),
        "version": dist_version,
        "python": sys.version.split()[0],
    }) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        progs = json.loads(line)
        out.write(json.dumps(run_programs(progs)) + "\n")
        out.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        json.dump(run_programs(json.load(sys.stdin)), sys.stdout)
