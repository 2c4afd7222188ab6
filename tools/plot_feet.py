#!/usr/bin/env python3
"""The real clip's feet, from the `footage` example's reports: each foot's horizontal position over
the clip as the calibrated triangulation of its heel and foot tip sees it, and as the avatar shows
it without and with the grounding (planted feet held by leg IK), over the first seconds of a live
run (the 100-frame clip loops; the reference's planted estimates shaded), and how far the planted
feet slide between estimates. The clip plays at its own 60 fps: contacts are judged by speed.

    cargo build --release --example footage
    python3 tools/plot_feet.py            # writes plugin-docs/src/images/footage_feet.png
"""
import json
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXAMPLE = os.path.join(TARGET, "release", "examples", "footage")
OUT = os.path.join(ROOT, "plugin-docs", "src", "images", "footage_feet.png")
CLIP_FRAMES = 100
WINDOW = 400  # clip frames shown, 60 fps


def run(extra):
    """A live `footage` run: its estimates, each with the clip frame counted on over the loops."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        args = [EXAMPLE, "--headless", "--frames", "400", "--report", report] + extra
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(report) as f:
            track = json.load(f)["feet_track"]
    loops, last = 0, -1
    for sample in track:
        if sample["clip_frame"] < last:
            loops += 1
        last = sample["clip_frame"]
        sample["played"] = loops * CLIP_FRAMES + sample["clip_frame"]
    return track


def slides(track, key):
    """Horizontal slide of each foot the reference says stayed planted, mm per 1/30 s."""
    out = []
    for a, b in zip(track, track[1:]):
        if b["played"] < a["played"] or b["played"] - a["played"] > CLIP_FRAMES:
            continue
        dt = b["time"] - a["time"]
        for side in (0, 1):
            if a["planted"][side] and b["planted"][side] and dt > 0:
                (x0, z0), (x1, z1) = a[key][side], b[key][side]
                out.append(((x1 - x0) ** 2 + (z1 - z0) ** 2) ** 0.5 * 1000 / (dt * 30))
    return sorted(out)


def main():
    if not os.path.exists(EXAMPLE):
        sys.exit(f"{EXAMPLE}: build it first (cargo build --release --example footage)")
    held, loose = run([]), run(["--no-ground"])
    fig, axes = plt.subplots(3, 1, figsize=(8, 8), gridspec_kw={"height_ratios": [1, 1, 1.1]})
    shown = lambda track: [s for s in track if s["played"] < WINDOW]  # noqa: E731
    for side, ax in enumerate(axes[:2]):
        h, l = shown(held), shown(loose)
        spans = [max(s["triangulated"][side][k] for s in h) - min(s["triangulated"][side][k] for s in h) for k in (0, 1)]
        k = 0 if spans[0] >= spans[1] else 1
        for a, b in zip(h, h[1:]):
            if a["planted"][side] and b["planted"][side]:
                ax.axvspan(a["played"], b["played"], color="#d9ead3", lw=0)
        ax.plot([s["played"] for s in h], [s["triangulated"][side][k] for s in h], "o", ms=3, color="0.35",
                label="calibrated triangulation (heel, foot tip)")
        ax.plot([s["played"] for s in l], [s["shown"][side][k] for s in l], ".-", color="#4a86e8", lw=1,
                label="avatar, as estimated")
        ax.plot([s["played"] for s in h], [s["shown"][side][k] for s in h], ".-", color="#e69138", lw=2,
                label="avatar, grounded (leg IK)")
        for loop in range(CLIP_FRAMES, WINDOW, CLIP_FRAMES):
            ax.axvline(loop, color="0.6", ls=":", lw=1)
        ax.set_ylabel(f"{['left', 'right'][side]} foot {'xz'[k]} (m)")
        ax.set_xlim(0, WINDOW)
    axes[0].legend(fontsize=7, loc="upper left")
    axes[1].set_xlabel("clip frames played (60 fps; the clip loops at the dotted lines); shaded: planted")
    ax = axes[2]
    for track, key, label, colour in [
        (held, "triangulated", "calibrated triangulation", "0.35"),
        (loose, "shown", "avatar, as estimated", "#4a86e8"),
        (held, "shown", "avatar, grounded (leg IK)", "#e69138"),
    ]:
        v = slides(track, key)
        mean = sum(v) / max(len(v), 1)
        ax.step(v, [(i + 1) / len(v) for i in range(len(v))], where="post", color=colour,
                label=f"{label}: mean {mean:.1f} mm")
    ax.set_xlim(0, 30)
    ax.set_xlabel("slide of a planted foot between estimates, mm per 1/30 s (whole run)")
    ax.set_ylabel("fraction of slides")
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Pose2Sim sample: the feet's horizontal position")
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
