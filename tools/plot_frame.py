#!/usr/bin/env python3
"""Draw one frame of a multi-view sequence: every view's 2D keypoints (coloured by confidence, with
the true projection when the file has ground truth) and the 3D result of one or more estimates next
to the true skeleton (each aligned to the truth by a similarity transform, as PA-MPJPE does).

    python3 tools/plot_frame.py --input val/seq_0003.safetensors --frame 20 \
        --estimate fit=est/fit/seq_0003.safetensors --estimate triangulate=est/tri/seq_0003.safetensors \
        --output plugin-docs/src/images/synth_frame.png

Needs numpy, matplotlib and safetensors (pip).
"""

import argparse
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

# COCO-17 bones.
BONES = [(0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12),
         (11, 12), (11, 13), (13, 15), (12, 14), (14, 16)]
LEFT = {1, 3, 5, 7, 9, 11, 13, 15}


def similarity(src, dst):
    """Umeyama: the similarity mapping src onto dst (both [N, 3])."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    e = np.eye(3)
    if np.linalg.det(u @ vt) < 0:
        e[2, 2] = -1
    r = u @ e @ vt
    scale = np.trace(np.diag(sig) @ e) / (s ** 2).sum(1).mean()
    return lambda p: scale * (p - mu_s) @ r.T + mu_d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--frame", type=int, default=0)
    ap.add_argument("--estimate", action="append", default=[], help="NAME=mv3d file")
    ap.add_argument("--output", required=True)
    args = ap.parse_args()

    seq = load_file(args.input)
    kp = seq["keypoints2d"][args.frame]  # [V, 17, 3]
    sizes = seq["image_size"]
    views = kp.shape[0]
    truth = seq.get("joints3d")
    truth = truth[args.frame] if truth is not None else None
    K = seq["intrinsics"]
    R, t = seq.get("extrinsics_R"), seq.get("extrinsics_t")

    cols = min(4, views)
    rows = math.ceil(views / cols)
    fig = plt.figure(figsize=(3.2 * cols + 4.5, 3.4 * rows))
    for v in range(views):
        ax = fig.add_subplot(rows, cols + 2, v // cols * (cols + 2) + v % cols + 1)
        w, h = sizes[v]
        # Zoom on the person (the frame itself is mostly empty); the title keeps the image size.
        seen_px = kp[v][kp[v][:, 2] > 0, :2]
        if len(seen_px):
            lo, hi = seen_px.min(0), seen_px.max(0)
            half = 0.6 * (hi - lo).max() + 10
            mid = 0.5 * (lo + hi)
            ax.set_xlim(mid[0] - half, mid[0] + half)
            ax.set_ylim(mid[1] + half, mid[1] - half)
        else:
            ax.set_xlim(0, w)
            ax.set_ylim(h, 0)
        ax.set_aspect("equal")
        ax.set_facecolor("#f4f4f4")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"view {v} ({int(w)}x{int(h)}, cropped)", fontsize=8)
        if truth is not None and R is not None:
            cam = truth @ R[v].T + t[v]
            px = cam @ K[v].T
            px = px[:, :2] / px[:, 2:3]
            for a, b in BONES:
                ax.plot(px[[a, b], 0], px[[a, b], 1], color="#999999", lw=1, zorder=1)
        p = kp[v]
        for a, b in BONES:
            if p[a, 2] > 0 and p[b, 2] > 0:
                ax.plot(p[[a, b], 0], p[[a, b], 1], color="tab:blue" if a in LEFT else "tab:red", lw=1.2, zorder=2)
        seen = p[:, 2] > 0
        sc = ax.scatter(p[seen, 0], p[seen, 1], c=p[seen, 2], cmap="viridis", vmin=0, vmax=1, s=14, zorder=3)
    fig.colorbar(sc, ax=fig.axes, fraction=0.02, pad=0.01, label="confidence")

    ax3 = fig.add_subplot(1, cols + 2, (cols + 1, cols + 2), projection="3d")
    colours = ["tab:orange", "tab:green", "tab:purple"]
    if truth is not None:
        for a, b in BONES:
            ax3.plot(truth[[a, b], 0], truth[[a, b], 2], truth[[a, b], 1], color="black", lw=2)
        ax3.plot([], [], color="black", label="truth")
    for i, spec in enumerate(args.estimate):
        name, path = spec.split("=", 1)
        est = load_file(path)["joints3d"][args.frame].astype(np.float64)
        if truth is not None:
            est = similarity(est, truth.astype(np.float64))(est)
        for a, b in BONES:
            ax3.plot(est[[a, b], 0], est[[a, b], 2], est[[a, b], 1], color=colours[i % 3], lw=1.5)
        ax3.plot([], [], color=colours[i % 3], label=name)
    ax3.set_xlabel("x")
    ax3.set_ylabel("z")
    ax3.set_zlabel("y (up)")
    if truth is not None:
        c = truth.mean(0)
        for setter, k in ((ax3.set_xlim, 0), (ax3.set_ylim, 2), (ax3.set_zlim, 1)):
            setter(c[k] - 1.0, c[k] + 1.0)
    ax3.set_box_aspect((1, 1, 1))
    ax3.legend(fontsize=8, loc="upper left")
    ax3.set_title("3D (estimates aligned to the truth)", fontsize=9)
    fig.savefig(args.output, dpi=110, bbox_inches="tight")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
