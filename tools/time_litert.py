#!/usr/bin/env python3
"""Time LiteRT (``ai-edge-litert``) on the BlazePose networks, one thread, for comparison with
``cargo bench --bench detect`` (same models, same inputs: sample 0 of
``tests/fixtures/blazepose_*.safetensors``).

Two LiteRT configurations: the default (XNNPACK delegate, what MediaPipe ships and what "LiteRT's
speed" means) and the builtin reference kernels the fixtures were computed with. Prints one JSON
line per model and configuration: mean, median and minimum milliseconds of ``invoke()`` over the timed runs
(after warm-up). Needs the package cache that ``convert_blazepose.py`` fills (tools/.cache).

    pip install numpy ai-edge-litert==2.3.0 safetensors
    python3 tools/time_litert.py [--runs 200]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_blazepose as cb  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--xnnpack-only", action="store_true", help="skip the slow reference kernels")
    args = ap.parse_args()
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from safetensors.numpy import load_file

    pkg = cb.fetch_package()
    for name, fname, rng, kind in cb.MODELS:
        raw = open(os.path.join(pkg, fname), "rb").read()
        data = raw[rng[0]:rng[1]] if rng else raw
        fx = load_file(os.path.join(cb.ROOT, "tests", "fixtures", "blazepose_%s.safetensors" % name))
        x = cb.to_model_input(fx["input0"], kind)
        for config in ("xnnpack",) if args.xnnpack_only else ("xnnpack", "reference"):
            kw = dict(model_content=bytes(data), num_threads=1)
            if config == "reference":
                kw["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            it = Interpreter(**kw)
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            runs = args.runs if config == "xnnpack" else max(10, args.runs // 10)
            for _ in range(args.warmup):
                it.invoke()
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                it.invoke()
                times.append((time.perf_counter() - t) * 1e3)
            print(json.dumps({"model": name, "runtime": "litert " + config, "threads": 1, "runs": runs,
                              "mean_ms": round(statistics.mean(times), 3),
                              "median_ms": round(statistics.median(times), 3),
                              "min_ms": round(min(times), 3),
                              "litert": cb.litert_version()}), flush=True)


if __name__ == "__main__":
    main()
