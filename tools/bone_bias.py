#!/usr/bin/env python3
"""How an estimate's bone lengths differ from the truth's, per sequence, after scale alignment:
the signed mean over the sequences (a bias every subject shares), the per-frame spread within a
sequence, and how the estimated lengths follow the true ones across subjects. With a second
estimate (`--learned`), also how the first's bone corrections compare with the second's by the
end of each sequence (the regression slope of the first on the second: 1 = the same size).

    python3 tools/bone_bias.py TRUTH_DIR ESTIMATE_DIR [--learned ESTIMATE_DIR]

TRUTH_DIR holds `cmanet-mv2d` files with ground truth (e.g. `cmanet synth --generator stick
--seed 7100`), ESTIMATE_DIR the `cmanet-mv3d` files of the same names (`cmanet estimate`; for the
network alone, `--pipeline without-body-refinement`).
"""

import argparse
import glob
import os

import numpy as np
from safetensors.numpy import load_file

# COCO-17 pairs: upper arm, forearm, thigh, shin, shoulders, hips, torso (left side).
BONES = [(5, 7), (7, 9), (11, 13), (13, 15), (5, 6), (11, 12), (5, 11)]
NAMES = ["upper arm", "forearm", "thigh", "shin", "shoulders", "hips", "torso"]


def similarity_scale(a, b):
    """The scale of the similarity that best maps keypoints `a` onto `b`."""
    a, b = a - a.mean(0), b - b.mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    return (s * np.array([1, 1, d])).sum() / (a**2).sum()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("truth")
    parser.add_argument("estimate")
    parser.add_argument("--learned")
    args = parser.parse_args()
    bias, spread, true_means, estimated_means, corrections, learned = [], [], [], [], [], []
    for path in sorted(glob.glob(os.path.join(args.truth, "*.safetensors"))):
        name = os.path.basename(path)
        truth = load_file(path)["joints3d"].astype(float)[:, :17]
        estimate = load_file(os.path.join(args.estimate, name))
        est = estimate["joints3d"].astype(float)
        lengths = np.array(
            [[np.linalg.norm(e[i] - e[j]) * similarity_scale(e, t) for i, j in BONES] for e, t in zip(est, truth)]
        )
        true_lengths = np.array([[np.linalg.norm(t[i] - t[j]) for i, j in BONES] for t in truth])
        bias.append(lengths.mean(0) - true_lengths.mean(0))
        spread.append(lengths.std(0))
        true_means.append(true_lengths.mean(0))
        estimated_means.append(lengths.mean(0))
        if args.learned:
            corrections.append(estimate["bone_corrections"].mean(0))
            learned.append(load_file(os.path.join(args.learned, name))["bone_corrections"][-1])
    mm = lambda rows: np.array(rows) * 1000  # noqa: E731
    bias, spread, true_means, estimated_means = mm(bias), mm(spread), mm(true_means), mm(estimated_means)
    line = lambda values: "  ".join(f"{n} {v:.0f}" for n, v in zip(NAMES, values))  # noqa: E731
    print("signed mean, estimate - truth (mm):", line(bias.mean(0)))
    print("per-frame spread within a sequence (mm):", line(spread.mean(0)))
    corr = [np.corrcoef(true_means[:, q], estimated_means[:, q])[0, 1] for q in range(len(NAMES))]
    print("correlation with the truth across sequences:", "  ".join(f"{n} {c:.2f}" for n, c in zip(NAMES, corr)))
    if args.learned:
        a, b = np.array(corrections), np.array(learned)
        print("bone corrections, slope on the learned ones: %.2f" % ((a * b).sum() / (b * b).sum()))


if __name__ == "__main__":
    main()
