#!/usr/bin/env python3
"""Latency of the BlazePose networks, cmanet's port against LiteRT (XNNPACK, the default), one
thread each, on the same inputs (sample 0 of ``tests/fixtures/blazepose_*.safetensors``).

The two run alternately for several rounds (the machine is shared, so load drifts); each round
times ``--runs`` inferences of every network in each runtime. Reported per network: the minimum
and the median over rounds of each round's minimum and median, and the ratios cmanet / LiteRT.

    RAYON_NUM_THREADS=1 cargo build --release --no-default-features --example blazepose_profile
    python3 tools/compare_speed.py --binary $CARGO_TARGET_DIR/release/examples/blazepose_profile
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def lines(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="the blazepose_profile example")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    ours, theirs = {}, {}
    for r in range(args.rounds):
        for rec in lines([args.binary, str(args.runs)], env):
            ours.setdefault(rec["model"], []).append((rec["min_ms"], rec["median_ms"]))
        for rec in lines([sys.executable, os.path.join(HERE, "time_litert.py"), "--xnnpack-only",
                          "--runs", str(args.runs)], env):
            theirs.setdefault(rec["model"], []).append((rec["min_ms"], rec["median_ms"]))
        print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)
    for model in ours:
        o_min = min(m for m, _ in ours[model])
        t_min = min(m for m, _ in theirs[model])
        o_med = statistics.median(m for _, m in ours[model])
        t_med = statistics.median(m for _, m in theirs[model])
        print(json.dumps({"model": model, "cmanet_min_ms": round(o_min, 2), "litert_min_ms": round(t_min, 2),
                          "ratio_min": round(o_min / t_min, 2), "cmanet_median_ms": round(o_med, 2),
                          "litert_median_ms": round(t_med, 2), "ratio_median": round(o_med / t_med, 2),
                          "rounds": args.rounds, "runs": args.runs}))


if __name__ == "__main__":
    main()
