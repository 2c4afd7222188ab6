#!/usr/bin/env python3
"""Relative camera rotation error of an uncalibrated estimate against a sequence's true cameras:
for every pair of views, the angle between the estimated and the true relative rotation
(`R_j R_i^T`), in degrees, per frame; prints the median and mean over frames and pairs (the
metric of shared/DESIGN.md, for real samples without 3D ground truth).

    python3 tools/camera_error.py DETECTIONS.safetensors ESTIMATE.safetensors
"""

import itertools
import json
import sys

import numpy as np
from safetensors.numpy import load_file


def angle(a, b):
    c = (np.trace(a @ b.T) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


def main():
    d, e = load_file(sys.argv[1]), load_file(sys.argv[2])
    true_r, est_r = d["extrinsics_R"], e["extrinsics_R"]
    views = true_r.shape[0]
    per_pair = {}
    for i, j in itertools.combinations(range(views), 2):
        t = true_r[j] @ true_r[i].T
        per_pair["%d-%d" % (i, j)] = [angle(f[j] @ f[i].T, t) for f in est_r]
    allv = np.concatenate([np.array(v) for v in per_pair.values()])
    print(json.dumps({"frames": int(est_r.shape[0]), "median_deg": round(float(np.median(allv)), 2),
                      "mean_deg": round(float(allv.mean()), 2),
                      "per_pair_median_deg": {k: round(float(np.median(v)), 2) for k, v in per_pair.items()}}))


if __name__ == "__main__":
    main()
