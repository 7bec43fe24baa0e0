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


def _case_rounds(case: Case, profile: Dict[str, float], quick: bool) -> int:
    micro = case.kind == "micro"
    rounds = int(profile["micro_rounds"] if micro else profile["macro_rounds"])
    if case.rounds is not None and not quick:
        rounds = case.rounds
    return rounds


def run_case(case: Case, workers: Dict[str, "Worker"], profile: Dict[str, float], quick: bool,
             keep_namespace: bool, log) -> Dict[str, Any]:
    """Set up and time one case in already running workers (one per implementation)."""
    micro = case.kind == "micro"
    rounds = _case_rounds(case, profile, quick)
    batch_s = profile["micro_batch_s"] if micro else profile["macro_batch_s"]
    result: Dict[str, Any] = {
        "name": case.name,
        "title": case.title,
        "kind": case.kind,
        "target": case.target,
        "rounds": rounds,
    }
    if case.follows:
        result["follows"] = case.follows
    info: Dict[str, Dict[str, Any]] = {}
    for label, w in workers.items():
        setup = w.request(cmd="setup", case=case.to_wire(), quick=quick, **{"continue": keep_namespace})
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
    if case.measures:
        exprs = {m.name: m.expr for m in case.measures}
        values = {label: w.request(cmd="measure", exprs=exprs)["values"] for label, w in workers.items()}
        measures = []
        for m in case.measures:
            row: Dict[str, Any] = {"name": m.name, "title": m.title, "unit": m.unit, "target": m.target}
            for label in labels:
                row[label] = values[label][m.name]
            if "classic" in row and row["ours"] > 0:
                row["ratio"] = row["classic"] / row["ours"]
                if m.target is not None:
                    row["met"] = row["ratio"] >= m.target
            measures.append(row)
        result["measures"] = measures
    return result


def _add_relative(result: Dict[str, Any], case: Case, done: Dict[str, Dict[str, Any]]) -> None:
    """ours on this case / ours on ``case.relative_to`` (medians), when both ran."""
    other = done.get(case.relative_to or "")
    if other is None or "ours" not in other or "ours" not in result:
        return
    ratio = result["ours"]["median"] / other["ours"]["median"]
    rel: Dict[str, Any] = {
        "name": "%s / %s" % (case.name, case.relative_to),
        "ours": result["ours"]["median"],
        "baseline": other["ours"]["median"],
        "ratio": ratio,
        "max": case.relative_max,
    }
    if case.relative_max is not None:
        rel["met"] = ratio <= case.relative_max
    result["relative"] = rel


def run_chain(chain: List[Case], ours_py: str, classic_py: Optional[str], profile: Dict[str, float],
              quick: bool, ours_pure: bool, log) -> List[Dict[str, Any]]:
    """Run cases that share two workers: chain[1:] each follow the one before."""
    impls = [("ours", ours_py, ours_pure)]
    if classic_py:
        impls.append(("classic", classic_py, False))
    results: List[Dict[str, Any]] = []
    done: Dict[str, Dict[str, Any]] = {}
    workers: Dict[str, Worker] = {}
    failure: Optional[str] = None
    try:
        for label, python, pure in impls:
            workers[label] = Worker(label, python, chain[0].env, pure=pure)
        for index, case in enumerate(chain):
            log("%-40s " % case.name)
            if failure is not None:
                res = _not_run(case, "not run: %s" % failure)
            else:
                try:
                    res = run_case(case, workers, profile, quick, index > 0, log)
                except WorkerError as exc:
                    res = _not_run(case, str(exc))
                    failure = "%s failed" % case.name
            if case.relative_to:
                _add_relative(res, case, done)
            _log_result(res, log)
            done[case.name] = res
            results.append(res)
    except WorkerError as exc:  # a worker did not start
        for case in chain[len(results):]:
            results.append(_not_run(case, str(exc)))
    finally:
        for w in workers.values():
            w.close()
    return results


def _not_run(case: Case, error: str) -> Dict[str, Any]:
    return {"name": case.name, "title": case.title, "kind": case.kind, "target": case.target, "error": error}


def _log_result(res: Dict[str, Any], log) -> None:
    if "error" in res:
        log(" error\n")
    elif "ratio" in res:
        log(" %.2fx\n" % res["ratio"])
    else:
        log(" %s\n" % _fmt_time(res["ours"]["median"]))


def plan(cases: List[Case]) -> List[List[Case]]:
    """Group the selected cases into chains of cases sharing workers.

    A case with ``follows`` brings the cases it follows along (they are timed
    and reported too) and runs after them in the same workers.
    """
    names = by_name()
    order = {case.name: i for i, case in enumerate(CASES)}
    groups: Dict[str, List[Case]] = {}
    for case in cases:
        lineage = [case]
        while lineage[-1].follows:
            lineage.append(names[lineage[-1].follows])
        root = lineage[-1].name
        members = groups.setdefault(root, [])
        for member in lineage:
            if member not in members:
                members.append(member)
    chains = []
    for members in groups.values():
        members.sort(key=lambda c: order[c.name])
        chains.append(members)
    chains.sort(key=lambda ch: min(order[c.name] for c in ch))
    return chains


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


def _fmt_bytes(n: float) -> str:
    if n >= 1e9:
        return "%.2f GB" % (n / 1e9)
    if n >= 1e6:
        return "%.1f MB" % (n / 1e6)
    if n >= 1e3:
        return "%.1f kB" % (n / 1e3)
    return "%d B" % n


def _fmt_seconds(s: float) -> str:
    return "%.1f ms" % (s * 1e3) if s < 1 else "%.2f s" % s


def _fmt_measure(value: Optional[float], unit: str) -> str:
    if value is None:
        return "-"
    return _fmt_bytes(value) if unit == "bytes" else _fmt_seconds(value)


def _columns(headers: List[str], rows: List[List[str]]) -> List[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def fmt(cells: List[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    line = fmt(headers)
    return [line, "-" * len(line)] + [fmt(row) for row in rows]


def _yes_no(row: Dict[str, Any]) -> str:
    if "met" not in row:
        return "-"
    return "yes" if row["met"] else "NO"


def missed_targets(results: List[Dict[str, Any]]) -> List[str]:
    """Names of every target missed: speed ratios, measures, ours-vs-ours rows."""
    missed = []
    for r in results:
        if r.get("target") is not None and not r.get("met"):
            missed.append(r["name"])
        for m in r.get("measures", ()):
            if m.get("target") is not None and not m.get("met"):
                missed.append(m["name"])
        rel = r.get("relative")
        if rel is not None and rel.get("max") is not None and not rel.get("met"):
            missed.append(rel["name"])
    return missed


def _count_targets(results: List[Dict[str, Any]]) -> int:
    total = 0
    for r in results:
        total += r.get("target") is not None
        total += sum(1 for m in r.get("measures", ()) if m.get("target") is not None)
        total += bool(r.get("relative") and r["relative"].get("max") is not None)
    return total


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
        same = r.get("same_output")
        same_s = "-" if same is None else ("yes" if same else "DIFF")
        rows.append([
            r["name"],
            _fmt_time(ours.get("median")),
            _fmt_time(classic.get("median")),
            ratio,
            rmin,
            target,
            _yes_no(r),
            same_s,
        ])
    out = _columns(headers, rows)

    measures = [m for r in results for m in r.get("measures", ())]
    if measures:
        out.append("")
        out.append("measured once per implementation (after the case's rounds; ratio = classic/ours, higher is better):")
        mrows = []
        for m in measures:
            target = "%.1fx" % m["target"] if m.get("target") is not None else "-"
            ratio = "%.2fx" % m["ratio"] if "ratio" in m else "-"
            mrows.append([m["name"], _fmt_measure(m.get("ours"), m["unit"]),
                          _fmt_measure(m.get("classic"), m["unit"]), ratio, target, _yes_no(m)])
        out.extend(_columns(["measure", "ours", "classic", "ratio", "target", "met"], mrows))

    relatives = [r["relative"] for r in results if r.get("relative")]
    if relatives:
        out.append("")
        out.append("ours vs ours (median time per scrape, same worker, measured one after the other; "
                   "lower is better):")
        rrows = []
        for rel in relatives:
            limit = "<= %.2fx" % rel["max"] if rel.get("max") is not None else "-"
            rrows.append([rel["name"], _fmt_time(rel["ours"]), _fmt_time(rel["baseline"]),
                          "%.2fx" % rel["ratio"], limit, _yes_no(rel)])
        out.extend(_columns(["comparison", "this", "baseline", "ratio", "target", "met"], rrows))

    missed = missed_targets(results)
    total = _count_targets(results)
    out.append("")
    out.append("targets met: %d/%d   (ratio = median over rounds of classic/ours; (min) = classic best / ours best;"
               " times are medians per operation)" % (total - len(missed), total))
    if any(r.get("follows") for r in results):
        out.append("cases marked as following another ran in that case's workers after its rounds; "
                   "their setup includes one untimed warm-up scrape (see the measures).")
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
            if case.follows:
                flag += "  (runs after %s)" % case.follows
            print("%-40s %-8s %s%s" % (case.name, target, case.title, flag))
            for m in case.measures:
                mt = "%.1fx" % m.target if m.target is not None else "-"
                print("  measure %-32s %-8s %s (%s)" % (m.name, mt, m.title, m.unit))
            if case.relative_to:
                rt = "<=%.2fx" % case.relative_max if case.relative_max is not None else "-"
                print("  ours vs ours: %-27s %-8s ours on %s / ours on %s" % (
                    case.name + " / " + case.relative_to, rt, case.name, case.relative_to))
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
    for chain in plan(cases):
        results.extend(run_chain(chain, args.ours_python, classic_py, profile, args.quick, args.ours_pure, log))

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
        missed = missed_targets(results)
        if missed:
            sys.stderr.write("targets missed: %s\n" % ", ".join(missed))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
