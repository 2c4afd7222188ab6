#!/usr/bin/env python3
"""Plot the loss curves that `cmanet train` writes (`<output>/curves.csv`): one panel per term,
both stages on one step axis (stage 2 shaded), raw values faint and a running mean on top.

    python3 tools/plot_curves.py --input runs/shipped/curves.csv \
        --output plugin-docs/src/images/training_curves.png

Needs numpy and matplotlib (pip).
"""

import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Column -> (panel title, scale to apply, unit).
TERMS = {
    "total": ("weighted total", 1.0, ""),
    "reprojection": ("reprojection (robust, / scale²)", 1.0, ""),
    "keypoints": ("keypoints vs pseudo-labels", 1000.0, "mm"),
    "smpl": ("joint rotations + shape vs pseudo-labels", 1.0, "‖ΔR‖²"),
    "camera": ("camera rotation vs pseudo-labels", 1.0, "‖ΔR‖²"),
    "translation": ("camera translation code (Huber)", 1.0, ""),
    "views": ("view agreement (stage 1)", 1.0, "‖ΔR‖²"),
    "confidence": ("IRV confidence vs its accuracy (stage 1)", 1.0, ""),
    "bones": ("bone corrections vs pseudo-labels (stage 2)", 1.0, "m²"),
}


def running_mean(x, window):
    if len(x) < window:
        return x
    kernel = np.ones(window) / window
    head = np.cumsum(x[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(x, kernel, mode="valid")])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="curves.csv")
    parser.add_argument("--output", required=True, help="PNG to write")
    parser.add_argument("--window", type=int, default=100, help="running-mean window (steps)")
    args = parser.parse_args()

    with open(args.input, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{args.input}: no rows")
    stage = np.array([int(r["stage"]) for r in rows])
    step = np.arange(len(rows))  # global step: stage 1 then stage 2
    stage2_start = int(np.argmax(stage == 2)) if (stage == 2).any() else None
    terms = [t for t in TERMS if t in rows[0]]
    cols = 3
    rows_n = (len(terms) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.0 * rows_n), squeeze=False)
    for ax, term in zip(axes.flat, terms):
        title, scale, unit = TERMS[term]
        y = np.array([float(r[term]) for r in rows]) * scale
        ax.plot(step, y, color="tab:blue", alpha=0.2, linewidth=0.6)
        ax.plot(step, running_mean(y, args.window), color="tab:blue", linewidth=1.5)
        if stage2_start is not None:
            ax.axvspan(stage2_start, len(rows), color="tab:orange", alpha=0.08, label="stage 2")
        if (y > 0).all():
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        if unit:
            ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(terms):]:
        ax.axis("off")
    fig.suptitle("cmanet train: loss curves (stage 2 shaded)", fontsize=11)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
