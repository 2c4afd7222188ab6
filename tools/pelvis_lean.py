#!/usr/bin/env python3
"""Signed error of an estimate's pelvis (the avatar's root) against the truth: per frame the
rotation `R_truth^T R_PA R_estimate` (truth and estimated `global_orient`, `R_PA` the rotation that
aligns the estimate's 17 keypoints with the truth's, as `cmanet eval`'s pelvis figure uses) as
axis-angle about the true pelvis's own axes; prints the mean of each component (x: forward lean,
y: heading, z: sideways) and the median angle, in degrees. `cmanet eval` prints the same median,
unsigned; this shows whether the error leans one way (plugin-docs, model card, "The pelvis").

Also the sagittal split of truth and estimate: the "lean", half the sum of the hips' mean and the
spine's three joints' rotations about their left-right axes (x), the part of a bend at the waist
that the pelvis's forward tilt can trade with the hips and the spine while the keypoints barely
move; printed as the mean and spread of each and their correlation over frames.

    python3 tools/pelvis_lean.py TRUTH ESTIMATE     # files, or folders of files with the same names
"""

import os
import sys

import numpy as np
from safetensors.numpy import load_file

# The COCO-17 keypoints inside BlazePose's 33 (a truth recorded with BlazePose's layout).
BLAZEPOSE_TO_COCO = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def rotation(v):
    """Axis-angle (radians) to a rotation matrix (Rodrigues)."""
    theta = np.linalg.norm(v)
    if theta < 1e-12:
        return np.eye(3)
    k = v / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * kx + (1 - np.cos(theta)) * kx @ kx


def axis_angle(r):
    """A rotation matrix to axis-angle (radians); angles below 180 degrees."""
    theta = np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1))
    if theta < 1e-9:
        return np.zeros(3)
    w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return w / (2 * np.sin(theta)) * theta


def aligning_rotation(x, y):
    """The rotation `R` with `R x ~ y` (rigid Procrustes of centred point sets)."""
    x0, y0 = x - x.mean(0), y - y.mean(0)
    u, _, vt = np.linalg.svd(x0.T @ y0)
    d = np.sign(np.linalg.det(u @ vt))
    return (u @ np.diag([1, 1, d]) @ vt).T


# body_pose rows (joints 1..23) of the hips and the spine's three joints.
HIPS, SPINE = (0, 1), (2, 5, 8)


def lean(body_pose):
    """Half the sum of the hips' mean and the spine's rotations about x, radians."""
    x = [axis_angle(rotation(body_pose[j].astype(float)))[0] for j in HIPS + SPINE]
    return (0.5 * (x[0] + x[1]) + x[2] + x[3] + x[4]) / 2


def main(truth_path, estimate_path):
    if os.path.isdir(truth_path):
        pairs = [(os.path.join(truth_path, n), os.path.join(estimate_path, n)) for n in sorted(os.listdir(truth_path))]
    else:
        pairs = [(truth_path, estimate_path)]
    errors, leans = [], []
    for truth_file, estimate_file in pairs:
        truth, estimate = load_file(truth_file), load_file(estimate_file)
        if "global_orient" not in truth:
            sys.exit(f"{truth_file}: no SMPL parameters in the truth (global_orient)")
        keypoints = truth["joints3d"]
        if keypoints.shape[1] == 33:
            keypoints = keypoints[:, BLAZEPOSE_TO_COCO]
        for i in range(min(len(keypoints), len(estimate["joints3d"]))):
            r_pa = aligning_rotation(estimate["joints3d"][i].astype(float), keypoints[i].astype(float))
            r_truth = rotation(truth["global_orient"][i].astype(float))
            r_estimate = rotation(estimate["global_orient"][i].astype(float))
            errors.append(axis_angle(r_truth.T @ r_pa @ r_estimate))
            if "body_pose" in truth and "body_pose" in estimate:
                leans.append((lean(truth["body_pose"][i].reshape(23, 3)), lean(estimate["body_pose"][i].reshape(23, 3))))
    errors = np.degrees(np.array(errors))
    mean = errors.mean(0)
    print(
        f"{len(errors)} frames: mean x {mean[0]:.1f} / y {mean[1]:.1f} / z {mean[2]:.1f} deg, "
        f"median angle {np.median(np.linalg.norm(errors, axis=1)):.1f} deg"
    )
    if len(leans) > 1:
        t, e = np.degrees(np.array(leans)).T
        print(
            f"lean (hips' mean + spine about x, halved): truth {t.mean():.1f} +- {t.std():.1f} deg, "
            f"estimate {e.mean():.1f} +- {e.std():.1f} deg, correlation {np.corrcoef(t, e)[0, 1]:.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
