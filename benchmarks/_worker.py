"""Benchmark worker: runs one benchmark case inside one interpreter.

``run.py`` starts one worker per case and per implementation (ours, classic)
with ``python -I _worker.py`` and talks to it over stdin/stdout, one JSON
object per line. The worker is self-contained (standard library only, Python
3.9+) because it runs under both interpreters and, with ``-I``, cannot import
anything from this directory.

Commands (request -> reply):

* ``{"cmd": "setup", "case": {...}}`` -> ``{"ok": true, "setup_s", "module_file",
  "python", "fingerprint"}``: runs the case's setup source in a fresh
  namespace and compiles the timing function.
* ``{"cmd": "calibrate", "target_s": 0.2}`` -> ``{"ok": true, "number"}``: the
  loop count whose batch takes at least ``target_s``.
* ``{"cmd": "run", "number": N}`` -> ``{"ok": true, "seconds"}``: one timed batch
  of N loop iterations (each iteration runs the statement ``unroll`` times).
* ``{"cmd": "teardown"}`` -> ``{"ok": true}`` then exit.

Any failure replies ``{"ok": false, "error": "<traceback>"}``.
"""
import gc
import itertools
import json
import os
import sys
import time
import traceback

_TEMPLATE = """\
def _bench(_n, _timer=_timer, _repeat=_repeat{binds}):
    _it = _repeat(None, _n)
    _t0 = _timer()
    for _ in _it:
{body}
    return _timer() - _t0
"""


def _indent(src, prefix):
    return "\n".join(prefix + line if line.strip() else line for line in src.splitlines())


class Worker:
    def __init__(self):
        self.ns = None
        self.bench = None
        self.case = None

    def setup(self, case):
        self.case = case
        ns = {"__name__": "__bench__"}
        t0 = time.perf_counter()
        exec(compile(case["setup"], "<setup %s>" % case["name"], "exec"), ns)
        setup_s = time.perf_counter() - t0
        stmt = case["stmt"]
        code = compile(stmt, "<stmt %s>" % case["name"], "exec")
        # Bind the namespace names the statement uses as default arguments so
        # they are fast locals inside the loop (as timeit does with setup).
        names = sorted(_all_names(code) & set(ns))
        binds = "".join(", %s=_ns[%r]" % (n, n) for n in names)
        body = "\n".join([_indent(stmt, "        ")] * int(case.get("unroll", 1)))
        src = _TEMPLATE.format(binds=binds, body=body)
        fns = {"_timer": time.perf_counter, "_repeat": itertools.repeat, "_ns": ns}
        exec(compile(src, "<bench %s>" % case["name"], "exec"), fns)
        self.ns = ns
        self.bench = fns["_bench"]
        fingerprint = None
        if case.get("fingerprint"):
            fingerprint = eval(case["fingerprint"], ns)
            if not isinstance(fingerprint, str):
                fingerprint = repr(fingerprint)
        module = sys.modules.get("prometheus_client")
        return {
            "setup_s": setup_s,
            "module_file": getattr(module, "__file__", None),
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "fingerprint": fingerprint,
        }

    def _timed(self, number):
        use_gc = bool(self.case.get("gc", False))
        was_enabled = gc.isenabled()
        if use_gc:
            gc.enable()
        else:
            gc.disable()
        try:
            return self.bench(number)
        finally:
            if was_enabled:
                gc.enable()
            else:
                gc.disable()

    def calibrate(self, target_s):
        number = 1
        while True:
            seconds = self._timed(number)
            if seconds >= target_s or number >= 1 << 30:
                return {"number": number, "seconds": seconds}
            if seconds <= 0:
                number *= 10
                continue
            # Aim a little above the target, grow at most 10x per step.
            number = max(number + 1, min(number * 10, int(number * target_s * 1.2 / seconds)))

    def run(self, number):
        return {"seconds": self._timed(number)}

    def teardown(self):
        if self.case and self.case.get("teardown") and self.ns is not None:
            exec(compile(self.case["teardown"], "<teardown>", "exec"), self.ns)
        return {}


def _all_names(code):
    names = set(code.co_names) | set(code.co_varnames)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _all_names(const)
    return names


def main():
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    # Anything the case code prints goes to stderr, never into the protocol.
    sys.stdout = sys.stderr
    worker = Worker()
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        cmd = msg.get("cmd")
        try:
            if cmd == "setup":
                reply = worker.setup(msg["case"])
            elif cmd == "calibrate":
                reply = worker.calibrate(float(msg["target_s"]))
            elif cmd == "run":
                reply = worker.run(int(msg["number"]))
            elif cmd == "teardown":
                reply = worker.teardown()
                reply["ok"] = True
                proto.write(json.dumps(reply) + "\n")
                return
            else:
                raise ValueError("unknown command %r" % (cmd,))
            reply["ok"] = True
        except BaseException:  # report everything, the runner decides
            reply = {"ok": False, "error": traceback.format_exc()}
        proto.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
