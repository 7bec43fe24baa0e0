"""Benchmark worker: runs one benchmark case inside one interpreter.

``run.py`` starts one worker per case and per implementation (ours, classic)
with ``python -I _worker.py`` and talks to it over stdin/stdout, one JSON
object per line. The worker is self-contained (standard library only, Python
3.9+) because it runs under both interpreters and, with ``-I``, cannot import
anything from this directory.

Commands (request -> reply):

* ``{"cmd": "setup", "case": {...}, "quick": false, "continue": false}`` ->
  ``{"ok": true, "setup_s", "module_file", "python", "fingerprint"}``: runs the
  case's setup source in a fresh namespace (or, with ``"continue": true``, in
  the namespace of the previous case, for cases that build on another one's
  state) and compiles the timing function.
* ``{"cmd": "calibrate", "target_s": 0.2}`` -> ``{"ok": true, "number"}``: the
  loop count whose batch takes at least ``target_s``.
* ``{"cmd": "run", "number": N}`` -> ``{"ok": true, "seconds"}``: one timed batch
  of N loop iterations (each iteration runs the statement ``unroll`` times).
* ``{"cmd": "measure", "exprs": {"name": "expr", ...}}`` -> ``{"ok": true,
  "values": {"name": float, ...}}``: evaluates expressions in the case
  namespace (disk use, a time recorded during setup...).
* ``{"cmd": "teardown"}`` -> ``{"ok": true}`` then exit. Runs the teardown of
  every case set up in this worker, latest first.

Besides what the setup defines, the case namespace holds ``QUICK`` (True under
``run.py --quick``, for cases that scale themselves down) and
:func:`bench_fork`.

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


_PROTO_FD = None  # the protocol pipe (a dup of the original stdout)


def bench_fork(fn, *args):
    """Fork a child process that runs ``fn(*args)`` and exits; return its pid.

    For multiprocess cases. In the child, stdin, stdout and the protocol pipe
    are pointed at /dev/null first, so a child can neither write into the
    protocol nor keep the runner's pipes open after the worker is gone. The
    child exits with status 0, or 1 after printing the traceback to stderr
    if ``fn`` raised. The caller reaps it (``os.waitpid``).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, _PROTO_FD):
                if fd is not None:
                    os.dup2(devnull, fd)
            os.close(devnull)
            fn(*args)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stderr.flush()
            finally:
                os._exit(code)
    return pid


def _indent(src, prefix):
    return "\n".join(prefix + line if line.strip() else line for line in src.splitlines())


class Worker:
    def __init__(self):
        self.ns = None
        self.bench = None
        self.case = None
        self.teardowns = []

    def setup(self, case, quick=False, keep_namespace=False):
        self.case = case
        if keep_namespace and self.ns is not None:
            ns = self.ns
        else:
            ns = {"__name__": "__bench__"}
        ns["QUICK"] = bool(quick)
        ns["bench_fork"] = bench_fork
        self.ns = ns
        if case.get("teardown"):
            # Registered before the setup runs: a setup that fails half-way
            # (e.g. after starting processes) is still torn down.
            self.teardowns.append(case)
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

    def measure(self, exprs):
        return {"values": {name: float(eval(expr, self.ns)) for name, expr in exprs.items()}}

    def teardown(self):
        errors = []
        while self.teardowns:
            case = self.teardowns.pop()
            try:
                exec(compile(case["teardown"], "<teardown %s>" % case["name"], "exec"), self.ns)
            except BaseException:
                errors.append(traceback.format_exc())
        if errors:
            raise RuntimeError("teardown failed:\n" + "\n".join(errors))
        return {}


def _all_names(code):
    names = set(code.co_names) | set(code.co_varnames)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _all_names(const)
    return names


def main():
    global _PROTO_FD
    _PROTO_FD = os.dup(1)
    proto = os.fdopen(_PROTO_FD, "w", buffering=1)
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
                reply = worker.setup(msg["case"], msg.get("quick", False), msg.get("continue", False))
            elif cmd == "calibrate":
                reply = worker.calibrate(float(msg["target_s"]))
            elif cmd == "run":
                reply = worker.run(int(msg["number"]))
            elif cmd == "measure":
                reply = worker.measure(msg["exprs"])
            elif cmd == "teardown":
                try:
                    reply = worker.teardown()
                    reply["ok"] = True
                except BaseException:
                    reply = {"ok": False, "error": traceback.format_exc()}
                proto.write(json.dumps(reply) + "\n")
                return
            else:
                raise ValueError("unknown command %r" % (cmd,))
            reply["ok"] = True
        except BaseException:  # report everything, the runner decides
            reply = {"ok": False, "error": traceback.format_exc()}
        proto.write(json.dumps(reply) + "\n")
    # stdin closed without a teardown (the runner died): still stop what the
    # cases started (servers, writer processes).
    try:
        worker.teardown()
    except BaseException:
        traceback.print_exc()


if __name__ == "__main__":
    main()
