#!/usr/bin/env python3
"""Replace the extra (BlazePose-only) keypoints of a `cmanet-mv2d` file with the exact projections of
their truth, keeping the detector's COCO-17 keypoints: what the feet and hands would come to if the
detector placed its heels, foot tips and knuckles perfectly (the ceiling of `net::extremities` on
that recording). Confidences of seen extras become 0.9, unseen ones stay as they were.

    virtual_studio --headless --frames 300 --motion walk --detections walk.safetensors
    python3 tools/exact_extras.py walk.safetensors exact/walk.safetensors
    cmanet estimate --input exact --output est --method cmanet
    cmanet eval --truth exact --method cmanet=est

Needs numpy and safetensors; the input must be a blazepose33 file with `joints3d` [F, 33, 3] and
the true cameras.
"""
import argparse
import os

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

BLAZEPOSE_TO_EXTRA = [1, 3, 4, 6, 9, 10, 17, 18, 19, 20, 21, 22, 29, 30, 31, 32]

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("input")
ap.add_argument("output")
args = ap.parse_args()
t = load_file(args.input)
with safe_open(args.input, "np") as f:
    meta = f.metadata()
kp, truth = t["keypoints2d"].copy(), t["joints3d"]
if kp.shape[2] != 33 or truth.shape[1] != 33:
    raise SystemExit(f"{args.input}: needs a blazepose33 file with the extras' truth")
K, R, T = t["intrinsics"], t["extrinsics_R"], t["extrinsics_t"]
for v in range(kp.shape[1]):
    for b in BLAZEPOSE_TO_EXTRA:
        cam = truth[:, b] @ R[v].T + T[v]
        px = cam @ K[v].T
        kp[:, v, b, :2] = px[:, :2] / px[:, 2:3]
        kp[:, v, b, 2] = np.where(kp[:, v, b, 2] > 0.3, 0.9, kp[:, v, b, 2])
t["keypoints2d"] = kp.astype(np.float32)
os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
save_file(t, args.output, metadata=meta)
print(f"wrote {args.output}")
