#!/usr/bin/env python3
"""How far a recording's detected keypoints lie from its truth, per COCO-17 keypoint: each view's
detections against the truth's 3D keypoints projected through that view's true camera, in percent
of the person's height in the view (the truth's projected extent), over every frame and view with
confidence above 0.3; prints each keypoint's mean offset (x, y) and its spread about that mean.
For the studio's `--detections` recordings (BlazePose's keypoints against our body model's, so the
offset holds the keypoint profile's part and the spread the detector's noise and what the profile
does not explain). Plugin-docs, model card ("per-keypoint weights").

    python3 tools/keypoint_spread.py RECORDING [RECORDING ...]
"""

import sys

import numpy as np
from safetensors.numpy import load_file

NAMES = ["nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
         "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle"]
# The COCO-17 keypoints inside BlazePose's 33.
BLAZEPOSE_TO_COCO = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def main(paths):
    offsets = [[] for _ in NAMES]
    for path in paths:
        data = load_file(path)
        truth, detected = data["joints3d"], data["keypoints2d"]
        if truth.shape[1] == 33:
            truth = truth[:, BLAZEPOSE_TO_COCO]
        if detected.shape[2] == 33:
            detected = detected[:, :, BLAZEPOSE_TO_COCO]
        k, r, t = data["intrinsics"], data["extrinsics_R"], data["extrinsics_t"]
        for v in range(k.shape[0]):
            cam = truth @ r[v].T + t[v]
            uv = cam @ k[v].T
            uv = uv[..., :2] / uv[..., 2:]
            height = uv[:, :, 1].max(1) - uv[:, :, 1].min(1)
            error = (detected[:, v, :, :2] - uv) / height[:, None, None] * 100
            seen = detected[:, v, :, 2] > 0.3
            for j in range(len(NAMES)):
                offsets[j].append(error[seen[:, j], j])
    print("keypoint     offset x / y (%)   spread (%)")
    for name, parts in zip(NAMES, offsets):
        e = np.concatenate(parts)
        mean = e.mean(0)
        spread = np.sqrt(((e - mean) ** 2).sum(1).mean())
        print(f"{name:12s} {mean[0]:6.2f} / {mean[1]:6.2f}     {spread:5.2f}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
