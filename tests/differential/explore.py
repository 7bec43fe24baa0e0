"""Survey many random programs and summarise every kind of difference.

The pytest test stops at the first (shrunk) mismatch; this script runs a
large batch without stopping and groups the mismatches by kind, printing the
shortest program of each group. Run it from the repository root::

    .venv/bin/python tests/differential/explore.py [-n 2000] [--seed 1] [--show 1]

It uses the same strategies, driver and classic interpreter lookup as
test_against_classic.py.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

import test_against_classic as T  # noqa: E402


def _generate(n: int, rnd_seed: int):
    progs = []

    @seed(rnd_seed)
    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(T.programs())
    def collect(prog):
        progs.append(prog)

    collect()
    return progs


def _mask(msg: str) -> str:
    # Group messages that differ only in names/values.
    msg = re.sub(r"'[^']*'", "'…'", msg)
    msg = re.sub(r"\(.*\)", "(…)", msg)
    return msg[:90]


def _signatures(prog, got, want):
    sigs = []
    if got.get("driver_error") or want.get("driver_error"):
        sigs.append(("driver_error", str(got.get("driver_error"))[:120]))
        return sigs
    for i, (g, w) in enumerate(zip(got["ops"], want["ops"])):
        if g != w:
            op = prog["ops"][i]
            what = op[0] if op[0] != "call" else "call.%s" % op[3]
            if op[0] == "create":
                what = "create.%s" % op[2]
            sigs.append(("op " + what,
                         "classic=%s ours=%s" % (w and [w[0], _mask(w[1])], g and [g[0], _mask(g[1])])))
    for key in sorted(set(got["expo"]) | set(want["expo"])):
        g, w = got["expo"].get(key), want["expo"].get(key)
        if g != w:
            if isinstance(g, str) and isinstance(w, str):
                sigs.append(("expo", key))
            else:
                sigs.append(("expo-error", "%s classic=%s ours=%s" % (
                    key, w if not isinstance(w, str) else "bytes", g if not isinstance(g, str) else "bytes")))
    if got.get("collect") != want.get("collect") and not sigs:
        sigs.append(("collect", _collect_sig(got.get("collect"), want.get("collect"))))
    return sigs


_FIELDS = ("name", "labels", "value", "timestamp", "exemplar")


def _collect_sig(got, want):
    if not isinstance(got, list) or not isinstance(want, list) or len(got) != len(want):
        return "families differ"
    for g, w in zip(got, want):
        if g[:4] != w[:4]:
            return "family header classic=%r ours=%r" % (w[:4], g[:4])
        if len(g[4]) != len(w[4]):
            return "sample count differs in %s" % w[2]
        for gs, ws in zip(g[4], w[4]):
            for field, a, b in zip(_FIELDS, gs, ws):
                if a != b:
                    return "%s sample %s: classic=%s ours=%s" % (w[2], field, _mask(str(b)), _mask(str(a)))
    return "collect() differs"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    ap.add_argument("--show", type=int, default=1, help="programs to print per group")
    args = ap.parse_args()

    python = T.find_classic_python()
    if not python:
        print("no classic interpreter found")
        return 2
    progs = _generate(args.n, args.seed)
    classic = T.ClassicDriver(python)
    try:
        wants = []
        for i in range(0, len(progs), 200):
            wants.extend(classic.run(progs[i:i + 200]))
    finally:
        classic.close()
    ours = T._load_driver()
    groups = collections.defaultdict(list)
    n_bad = 0
    for prog, want in zip(progs, wants):
        want = T.normalize(want)
        got = T.normalize(ours.run_program(prog))
        T._tolerate(got, want)
        if got == want:
            continue
        n_bad += 1
        for sig in set(_signatures(prog, got, want)):
            groups[sig].append((prog, got, want))
    print("seed %d: %d programs, %d differ, %d kinds of difference" % (args.seed, len(progs), n_bad, len(groups)))
    for sig, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print("\n" + "=" * 100)
        print("%d× %s: %s" % (len(items), sig[0], sig[1]))
        items.sort(key=lambda it: (len(it[0]["ops"]), len(json.dumps(it[0]))))
        for prog, got, want in items[: args.show]:
            print(T.describe_mismatch(prog, got, want))
    return 0


if __name__ == "__main__":
    sys.exit(main())
