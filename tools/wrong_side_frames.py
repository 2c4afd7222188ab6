#!/usr/bin/env python3
"""Frames of an uncalibrated estimate in which some pair of cameras is more than 45 degrees from
the truth's relative rotation (typically a view put on the wrong side of the person), counted in
the first 30 frames of each sequence and later.

    python3 tools/wrong_side_frames.py TRUTH_DIR ESTIMATE_DIR
"""

import glob
import itertools
import os
import sys

import numpy as np
from safetensors.numpy import load_file

LIMIT_DEG = 45.0
EARLY_FRAMES = 30


def angle(a, b):
    return np.degrees(np.arccos(np.clip((np.trace(a @ b.T) - 1) / 2, -1, 1)))


def main():
    truth_dir, estimate_dir = sys.argv[1], sys.argv[2]
    early = late = 0
    for path in sorted(glob.glob(os.path.join(truth_dir, "*.safetensors"))):
        truth = load_file(path)["extrinsics_R"]
        estimate = load_file(os.path.join(estimate_dir, os.path.basename(path)))["extrinsics_R"]
        for f, cameras in enumerate(estimate):
            true = truth if truth.ndim == 3 else truth[f]
            pairs = itertools.combinations(range(cameras.shape[0]), 2)
            if any(angle(cameras[j] @ cameras[i].T, true[j] @ true[i].T) > LIMIT_DEG for i, j in pairs):
                if f < EARLY_FRAMES:
                    early += 1
                else:
                    late += 1
    print(f"frames with a camera pair more than {LIMIT_DEG:.0f} deg off: first {EARLY_FRAMES} {early}, later {late}")


if __name__ == "__main__":
    main()
