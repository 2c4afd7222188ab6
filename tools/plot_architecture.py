#!/usr/bin/env python3
"""Draws the architecture chapter's diagram (plugin-docs/src/images/architecture.png): the layers,
lowest first, and the data flow from images to a driven avatar or a written estimate.

    python3 tools/plot_architecture.py [OUTPUT.png]
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUT = sys.argv[1] if len(sys.argv) > 1 else "plugin-docs/src/images/architecture.png"

fig, ax = plt.subplots(figsize=(13, 7.2), dpi=110)
ax.set_xlim(0, 13)
ax.set_ylim(-0.3, 7.2)
ax.axis("off")


def box(x, y, w, h, text, colour, size=9, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03,rounding_size=0.08",
                                linewidth=1, edgecolor="#444", facecolor=colour))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight, wrap=True)
    return (x, y, w, h)


def arrow(a, b, label=None, colour="#333"):
    (ax0, ay0, aw, ah), (bx0, by0, bw, bh) = a, b
    if abs((ay0 + ah / 2) - (by0 + bh / 2)) < 0.05:  # same row: side to side
        if bx0 > ax0:
            start, end = (ax0 + aw, ay0 + ah / 2), (bx0, by0 + bh / 2)
        else:
            start, end = (ax0, ay0 + ah / 2), (bx0 + bw, by0 + bh / 2)
    elif by0 + bh < ay0:  # b below a
        start, end = (ax0 + aw / 2, ay0), (bx0 + bw / 2, by0 + bh)
    else:
        start, end = (ax0 + aw / 2, ay0 + ah), (bx0 + bw / 2, by0)
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, linewidth=1.2, color=colour))
    if label:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12, label, ha="center", fontsize=7.5,
                color="#333")


ax.text(0.1, 6.95, "Data flow", fontsize=12, weight="bold")
SOURCE, DETECT, NET, PLACE, OUT_C = "#e8f1fb", "#fdf0d5", "#e3f4e1", "#f3e5f5", "#fbe3e3"
images = box(0.1, 5.6, 1.9, 0.9, "images\nBevy cameras, folders,\n`cmanet detect`", SOURCE)
detect = box(2.5, 5.6, 1.9, 0.9, "detect\nBlazePose (own port)\n+ tracking", DETECT)
kp = box(4.9, 5.6, 1.9, 0.9, "2D keypoints\nCOCO-17 (`keypoints`)\n`cmanet-mv2d`", DETECT)
labels = box(7.3, 5.6, 2.2, 0.9, "left/right policy\n`data::labels`\n(plugin, CLI, CMANet, eval)", DETECT)
arrow(images, detect)
arrow(detect, kp)
arrow(kp, labels)

irv = box(0.1, 3.7, 1.6, 0.9, "IRV\nper view", NET)
screen = box(2.0, 3.7, 1.6, 0.9, "screening\nmost reliable view", NET)
iev = box(3.9, 3.7, 1.6, 0.9, "IEV\nfuses the views", NET)
cams = box(5.8, 3.7, 1.8, 0.9, "camera refinement\nPnP per view", NET)
body = box(7.9, 3.7, 2.0, 0.9, "body refinement\n`body::levers`, FK,\nbones, profile", NET)
rig = box(10.2, 3.7, 2.6, 0.9, "left/right check · rig memory\n`Learned` (subject + rig)", NET)
ax.text(5.9, 4.78, "net: `Cmanet::estimate_with` (canonical frame: the body's root frame)", fontsize=9, color="#1b5e20")
arrow(labels, irv)
arrow(irv, screen)
arrow(screen, iev)
arrow(iev, cams)
arrow(cams, body)
arrow(body, rig)

estimate = box(10.2, 2.0, 2.6, 0.9, "Estimate\nbody, shape, bones,\nevery view's camera", PLACE)
place = box(6.9, 2.0, 2.9, 0.9, "placement\nknown cameras -> world\n(plugin; `estimate --place`)", PLACE)
arrow(rig, estimate)
arrow(estimate, place)

plugin = box(0.1, 0.3, 3.2, 1.1, "plugin (Bevy)\n`PoseEstimated` -> smoothing ->\nretarget -> avatar bones; takes; VMC", OUT_C)
cli = box(3.6, 0.3, 3.0, 1.1, "`cmanet::estimate`\nCMANet / fit / triangulate / dlt\n-> `cmanet-mv3d` (CLI shell)", OUT_C)
ev = box(6.9, 0.3, 2.9, 1.1, "eval · export · stream\nmetrics, baselines;\nBVH, glTF; VMC out / in", OUT_C)
arrow(place, plugin)
arrow(place, cli)
arrow(cli, ev)

ax.text(10.2, 1.35, "Layers, lowest first", fontsize=10, weight="bold")
layers = ["keypoints", "geometry", "body", "data", "placement", "detect", "net", "fit", "eval", "train",
          "estimate", "export", "stream", "plugin (bevy)", "cli"]
for i, name in enumerate(layers):
    col, row = i % 3, i // 3
    ax.text(10.2 + col * 0.95, 1.05 - row * 0.22, name, fontsize=7.5,
            color="#b71c1c" if name.startswith("plugin") else "#222")
ax.text(10.2, -0.2, "nothing below the plugin imports Bevy", fontsize=7.5, style="italic")

fig.savefig(OUT, bbox_inches="tight")
print(OUT)
