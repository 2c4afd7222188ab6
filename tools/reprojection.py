#!/usr/bin/env python3
"""Reprojection error of a `cmanet-mv3d` estimate against the `cmanet-mv2d` detections it came from,
with the mv2d file's true cameras: per view and overall, median and mean pixels over keypoints whose
detection confidence is above a threshold. Used for the real sample (plugin-docs detection chapter).

    python3 tools/reprojection.py DETECTIONS.safetensors ESTIMATE.safetensors [--min-confidence 0.5]
"""

import argparse
import json

import numpy as np
from safetensors.numpy import load_file

FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
# The COCO-17 keypoints in a `blazepose33` file (src/keypoints.rs, BLAZEPOSE_TO_COCO).
BLAZEPOSE_TO_COCO = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mv2d")
    ap.add_argument("mv3d")
    ap.add_argument("--min-confidence", type=float, default=0.5)
    ap.add_argument("--mirror-best", action="store_true",
                    help="per view and frame, score the better of the recorded and the left/right-mirrored labelling")
    args = ap.parse_args()
    d, e = load_file(args.mv2d), load_file(args.mv3d)
    kp, k, r, t, x = d["keypoints2d"], d["intrinsics"], d["extrinsics_R"], d["extrinsics_t"], e["joints3d"]
    if kp.shape[2] == 33:
        kp = kp[:, :, BLAZEPOSE_TO_COCO]
    frames, views = kp.shape[:2]
    errs = [[] for _ in range(views)]
    for f in range(frames):
        for v in range(views):
            pc = x[f] @ r[v].T + t[v]
            uv = pc @ k[v].T
            uv = uv[:, :2] / uv[:, 2:3]
            cands = [kp[f, v], kp[f, v, FLIP]] if args.mirror_best else [kp[f, v]]
            best = None
            for c in cands:
                m = c[:, 2] > args.min_confidence
                e_ = np.linalg.norm(uv[m] - c[m, :2], axis=1)
                if best is None or e_.mean() < best.mean():
                    best = e_
            errs[v] += list(best)
    out = {"frames": int(frames), "views": []}
    for v in range(views):
        a = np.array(errs[v])
        out["views"].append({"view": v, "keypoints": int(a.size), "median_px": round(float(np.median(a)), 2),
                             "mean_px": round(float(np.mean(a)), 2)})
    a = np.concatenate([np.array(e_) for e_ in errs])
    out["median_px"], out["mean_px"] = round(float(np.median(a)), 2), round(float(np.mean(a)), 2)
    out["image_height_px"] = float(d["image_size"][0, 1])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
