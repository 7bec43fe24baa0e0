#!/usr/bin/env python3
"""Side-by-side benchmarks: this package vs. the classic prometheus_client.

Usage::

    python benchmarks/run.py --classic-python .venv-classic/bin/python [--quick]
                             [--only NAME ...] [--all] [--json [PATH]] [--check]

Each case (see ``bench_cases.py``) runs in two fresh worker processes: one
under "ours" (by default the interpreter running this script) and one under
the classic client's interpreter. Timed batches alternate between the two
(ours, classic, classic, ours, ...) so that machine noise hits both alike; the
headline number is the median over rounds of the per-round ratio
classic/ours. See README.md for how to read the output.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "_worker.py")

sys.path.insert(0, HERE)
from bench_cases import CASES, Case, by_name  # noqa: E402

# Environment variables that change library behaviour; workers start without
# them (a case can set its own through Case.env).
_SCRUB_ENV = (
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
    "PROMETHEUS_DISABLE_CREATED_SERIES",
    "PROMETHEUS_LEGACY_NAME_VALIDATION",
)

# (rounds, seconds per micro batch)
_PROFILES = {
    "full": {"micro_rounds": 21, "macro_rounds": 7, "micro_batch_s": 0.05, "macro_batch_s": 0.0},
    "quick": {"micro_rounds": 5, "macro_rounds": 2, "micro_batch_s": 0.03, "macro_batch_s": 0.0},
}


class WorkerError(RuntimeError):
    pass


class Worker:
    """One benchmark worker process (one case, one implementation)."""

    def __init__(self, label: str, python: str, env_extra: Dict[str, str], pure: bool = False):
        self.label = label
        self.tmpdirs: List[str] = []
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
        for key, value in env_extra.items():
            if "{tmpdir}" in value:
                tmp = tempfile.mkdtemp(prefix="prom-bench-")
                self.tmpdirs.append(tmp)
                value = value.replace("{tmpdir}", tmp)
            env[key] = value
        if pure:
            env["PROMETHEUS_CLIENT_PURE_PYTHON"] = "1"
        self.cwd = tempfile.mkdtemp(prefix="prom-bench-cwd-")
        # -I: no script directory, no cwd, no PYTHONPATH, no user site on
        # sys.path, so each interpreter imports its own installed package.
        self.proc = subprocess.Popen(
            # abspath: a relative interpreter path would resolve against cwd.
            [os.path.abspath(python), "-I", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.cwd,
            env=env,
            text=True,
            bufsize=1,
        )

    def request(self, **msg: Any) -> Dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise WorkerError("%s worker died: %s" % (self.label, err.strip()[-2000:]))
        reply = json.loads(line)
        if not reply.get("ok"):
            raise WorkerError("%s worker: %s" % (self.label, reply.get("error", "").strip()))
        return reply

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.request(cmd="teardown")
                except WorkerError:
                    pass
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        for tmp in self.tmpdirs + [self.cwd]:
            shutil.rmtree(tmp, ignore_errors=True)


def _per_op(seconds: float, number: int, unroll: int) -> float:
    return seconds * 1e9 / (number * unroll)


def run_case(case: Case, ours_py: str, classic_py: Optional[str], profile: Dict[str, float],
             ours_pure: bool, log) -> Dict[str, Any]:
    micro = case.kind == "micro"
    rounds = int(profile["micro_rounds"] if micro else profile["macro_rounds"])
    batch_s = profile["micro_batch_s"] if micro else profile["macro_batch_s"]
    impls = [("ours", ours_py, ours_pure)]
    if classic_py:
        impls.append(("classic", classic_py, False))
    result: Dict[str, Any] = {
        "name": case.name,
        "title": case.title,
        "kind": case.kind,
        "target": case.target,
        "rounds": rounds,
    }
    workers: Dict[str, Worker] = {}
    try:
        for label, python, pure in impls:
            workers[label] = Worker(label, python, case.env, pure=pure)
        info: Dict[str, Dict[str, Any]] = {}
        for label, w in workers.items():
            setup = w.request(cmd="setup", case=case.to_wire())
            calib = w.request(cmd="calibrate", target_s=batch_s)
            info[label] = {
                "python": setup["python"],
                "executable": setup["executable"],
                "module_file": setup["module_file"],
                "setup_s": setup["setup_s"],
                "fingerprint": setup["fingerprint"],
                "number": calib["number"],
                "unroll": case.unroll,
                "ns_per_op": [],
            }
        _check_module_paths(info)
        labels = list(workers)
        for rnd in range(rounds):
            # Alternate who goes first so neither side always runs right
            # after the other's (possibly cache- or frequency-warming) batch.
            order = labels if rnd % 2 == 0 else labels[::-1]
            for label in order:
                seconds = workers[label].request(cmd="run", number=info[label]["number"])["seconds"]
                info[label]["ns_per_op"].append(_per_op(seconds, info[label]["number"], case.unroll))
            log(".")
        for label in labels:
            samples = info[label]["ns_per_op"]
            info[label]["min"] = min(samples)
            info[label]["median"] = statistics.median(samples)
            result[label] = info[label]
        if "classic" in info:
            ours_s, classic_s = info["ours"]["ns_per_op"], info["classic"]["ns_per_op"]
            paired = [c / o for c, o in zip(classic_s, ours_s)]
            result["ratio"] = statistics.median(paired)
            result["ratio_min"] = info["classic"]["min"] / info["ours"]["min"]
            result["ratio_median"] = info["classic"]["median"] / info["ours"]["median"]
            result["ratio_rounds"] = paired
            fo, fc = info["ours"]["fingerprint"], info["classic"]["fingerprint"]
            result["same_output"] = None if fo is None and fc is None else fo == fc
            if case.target is not None:
                result["met"] = result["ratio"] >= case.target
    except WorkerError as exc:
        result["error"] = str(exc)
    finally:
        for w in workers.values():
            w.close()
    return result


def _check_module_paths(info: Dict[str, Dict[str, Any]]) -> None:
    ours_pkg = os.path.realpath(os.path.join(REPO, "prometheus_client"))
    classic = info.get("classic", {}).get("module_file")
    if classic and os.path.realpath(classic).startswith(ours_pkg + os.sep):
        raise WorkerError(
            "the classic interpreter imported prometheus_client from this repository (%s); "
            "point --classic-python at a virtualenv with the classic 0.26.0 package" % classic
        )
    ours = info["ours"].get("module_file")
    if ours and not os.path.realpath(ours).startswith(ours_pkg + os.sep):
        sys.stderr.write("warning: 'ours' imported prometheus_client from %s, not from %s\n" % (ours, ours_pkg))


def find_classic(explicit: Optional[str]) -> Optional[str]:
    if explicit:
        return explicit
    env = os.environ.get("PROMETHEUS_CLASSIC_PYTHON")
    if env:
        return env
    for candidate in (os.path.join(REPO, ".venv-classic", "bin", "python"), "/tmp/classic/bin/python"):
        if os.path.exists(candidate):
            return candidate
    return None


def _fmt_time(ns: Optional[float]) -> str:
    if ns is None:
        return "-"
    if ns >= 1e6:
        return "%.1f ms" % (ns / 1e6) if ns < 1e8 else "%.0f ms" % (ns / 1e6)
    if ns >= 1e4:
        return "%.1f us" % (ns / 1e3)
    return "%.0f ns" % ns


def format_table(results: List[Dict[str, Any]]) -> str:
    headers = ["case", "ours", "classic", "ratio", "(min)", "target", "met", "same"]
    rows = []
    for r in results:
        target = "%.1fx" % r["target"] if r.get("target") is not None else "-"
        if "error" in r:
            rows.append([r["name"], "ERROR", "", "", "", target, "NO" if r.get("target") else "-", ""])
            continue
        ours = r.get("ours", {})
        classic = r.get("classic", {})
        ratio = "%.2fx" % r["ratio"] if "ratio" in r else "-"
        rmin = "%.2fx" % r["ratio_min"] if "ratio_min" in r else "-"
        if "met" in r:
            met = "yes" if r["met"] else "NO"
        else:
            met = "-"
        same = r.get("same_output")
        same_s = "-" if same is None else ("yes" if same else "DIFF")
        rows.append([
            r["name"],
            _fmt_time(ours.get("median")),
            _fmt_time(classic.get("median")),
            ratio,
            rmin,
            target,
            met,
            same_s,
        ])
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    out = []
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    out.append(line)
    out.append("-" * len(line))
    for row in rows:
        out.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    with_target = [r for r in results if r.get("target") is not None]
    met = sum(1 for r in with_target if r.get("met"))
    out.append("")
    out.append("targets met: %d/%d   (ratio = median over rounds of classic/ours; (min) = classic best / ours best;"
               " times are medians per operation)" % (met, len(with_target)))
    errors = [r for r in results if "error" in r]
    for r in errors:
        out.append("")
        out.append("%s: %s" % (r["name"], r["error"]))
    return "\n".join(out)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classic-python", metavar="PATH",
                        help="interpreter of a virtualenv with the classic prometheus-client 0.26.0 "
                             "(default: $PROMETHEUS_CLASSIC_PYTHON, .venv-classic/bin/python, /tmp/classic/bin/python)")
    parser.add_argument("--ours-python", metavar="PATH", default=sys.executable,
                        help="interpreter for our package (default: the one running this script)")
    parser.add_argument("--ours-pure", action="store_true",
                        help="run our package with PROMETHEUS_CLIENT_PURE_PYTHON=1 (no compiled extension)")
    parser.add_argument("--no-classic", action="store_true", help="time our package only (no ratios)")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (a smoke run)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these cases")
    parser.add_argument("--all", action="store_true", help="also run the opt-in cases")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="write results as JSON to PATH (or stdout with no PATH, instead of the table)")
    parser.add_argument("--check", action="store_true", help="exit with status 1 if any target is missed")
    args = parser.parse_args(argv)

    if args.list:
        for case in CASES:
            target = "%.1fx" % case.target if case.target is not None else "-"
            flag = "" if case.default else "  (opt-in)"
            print("%-40s %-6s %s%s" % (case.name, target, case.title, flag))
        return 0

    cases_by_name = by_name()
    if args.only:
        unknown = [n for n in args.only if n not in cases_by_name]
        if unknown:
            parser.error("unknown case(s): %s (see --list)" % ", ".join(unknown))
        cases = [cases_by_name[n] for n in args.only]
    else:
        cases = [c for c in CASES if c.default or args.all]

    classic_py = None
    if not args.no_classic:
        classic_py = find_classic(args.classic_python)
        if not classic_py or not os.path.exists(classic_py):
            parser.error("no classic interpreter found (%s); pass --classic-python PATH, set "
                         "PROMETHEUS_CLASSIC_PYTHON, or use --no-classic" % (classic_py or "none given"))

    profile = _PROFILES["quick" if args.quick else "full"]
    to_stdout_json = args.json == "-"

    def log(msg: str) -> None:
        stream = sys.stderr if to_stdout_json else sys.stdout
        stream.write(msg)
        stream.flush()

    results = []
    for case in cases:
        log("%-40s " % case.name)
        res = run_case(case, args.ours_python, classic_py, profile, args.ours_pure, log)
        if "error" in res:
            log(" error\n")
        elif "ratio" in res:
            log(" %.2fx\n" % res["ratio"])
        else:
            log(" %s\n" % _fmt_time(res["ours"]["median"]))
        results.append(res)

    report = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "profile": "quick" if args.quick else "full",
            "ours_python": args.ours_python,
            "ours_pure": args.ours_pure,
            "classic_python": classic_py,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "results": results,
    }
    if args.json:
        text = json.dumps(report, indent=2)
        if to_stdout_json:
            print(text)
        else:
            with open(args.json, "w") as fh:
                fh.write(text + "\n")
    if not to_stdout_json:
        print()
        print(format_table(results))

    if args.check:
        missed = [r for r in results if r.get("target") is not None and not r.get("met")]
        return 1 if missed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
