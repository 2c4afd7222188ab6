#!/usr/bin/env python3
"""How often the jump gate (`net::jumps::gate_jumps`, plugin-docs model card, "Detections that jump
in one view alone") scales a keypoint that is really wrong: the rule replayed on recorded frames
with their truth, each frame against the previous frame's estimate, and every keypoint it marks
compared with the truth projected through the true camera. Prints how many it marks and the
share more than 0.05 of the person's size from the truth.

    python3 tools/jump_precision.py TRUTH ESTIMATE [TRUTH ESTIMATE ...]

TRUTH is a `cmanet-mv2d` file or folder with ground truth (`cmanet synth`, `virtual_studio
--detections`), ESTIMATE the `cmanet estimate` output for it (same file names in folders). The
settings are the defaults of `JumpSettings`; keep them in step.
"""

import os
import sys

import numpy as np
from safetensors.numpy import load_file

RATIO, FLOOR, MAX_PER_VIEW, SEEN = 3.0, 0.15, 2, 0.5
# COCO-17's left/right partners (keypoints::COCO_FLIP).
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
# BlazePose's 33 landmarks -> the 17 COCO keypoints (files with 17 keypoints are COCO already).
COCO_OF_BLAZEPOSE = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def pairs(truth, estimate):
    if os.path.isdir(truth):
        for name in sorted(os.listdir(truth)):
            if name.endswith(".safetensors"):
                yield os.path.join(truth, name), os.path.join(estimate, name)
    else:
        yield truth, estimate


def marked(truth_path, estimate_path):
    t, e = load_file(truth_path), load_file(estimate_path)
    k2d = t["keypoints2d"]
    sel = list(range(17)) if k2d.shape[2] == 17 else COCO_OF_BLAZEPOSE
    k2d, joints = k2d[:, :, sel], t["joints3d"].astype(float)[:, sel]
    intr, rot, tr = t["intrinsics"].astype(float), t["extrinsics_R"].astype(float), t["extrinsics_t"].astype(float)
    cam = e["joints3d_cam"].astype(float)
    frames, views = k2d.shape[:2]
    out = []
    for f in range(1, frames):
        seen = k2d[f, :, :, 2] >= SEEN
        dist = np.full((views, 17), np.nan)
        err = np.zeros((views, 17))
        size = np.full(views, np.nan)
        for v in range(views):
            focal = intr[v][0, 0]
            p = cam[f - 1, v] @ intr[v].T
            before = p[:, :2] / p[:, 2:]
            dist[v] = np.linalg.norm(before - k2d[f, v, :, :2], axis=1) / focal
            # A left/right pair whose detections each lie nearer the other's previous place is a
            # label swap, not a jump.
            crossed = np.linalg.norm(before[COCO_FLIP] - k2d[f, v, :, :2], axis=1) / focal
            nearer = (crossed < dist[v]) & (np.arange(17) != np.array(COCO_FLIP))
            dist[v][nearer & nearer[COCO_FLIP]] = np.nan
            q = (joints[f] @ rot[v].T + tr[v]) @ intr[v].T
            err[v] = np.linalg.norm(q[:, :2] / q[:, 2:] - k2d[f, v, :, :2], axis=1) / focal
            pts = k2d[f, v, seen[v], :2] / focal
            if len(pts) >= 3:
                size[v] = np.linalg.norm(pts.max(0) - pts.min(0))
        for v in range(views):
            if np.isnan(size[v]):
                continue
            usable = seen & ~np.isnan(dist)
            if not usable[v].any():
                continue
            own = np.median(dist[v][usable[v]])
            jumps = []
            for k in np.nonzero(usable[v])[0]:
                others = [dist[u, k] for u in range(views) if u != v and usable[u, k]]
                if len(others) >= 2 and dist[v, k] > max(RATIO * max(np.median(others), own), FLOOR * size[v]):
                    jumps.append(k)
            if len(jumps) <= MAX_PER_VIEW:
                out += [err[v, k] / size[v] for k in jumps]
    return out, int(np.sum(k2d[1:, :, :, 2] >= SEEN))


def main():
    args = sys.argv[1:]
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    errors, total = [], 0
    for truth, estimate in zip(args[::2], args[1::2]):
        for t, e in pairs(truth, estimate):
            m, n = marked(t, e)
            errors += m
            total += n
    errors = np.array(errors)
    share = float((errors > 0.05).mean()) if len(errors) else float("nan")
    print(f"{len(errors)} of {total} confident keypoints marked; {share:.1%} of them more than 0.05 of the "
          f"person's size from the truth (median {np.median(errors) if len(errors) else float('nan'):.3f})")


if __name__ == "__main__":
    main()
