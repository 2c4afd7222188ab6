#!/usr/bin/env bash
# The recipe of the shipped CMANet weights (plugin-docs/src/model-card.md), end to end:
#   1. 240 synthetic sequences of 60 frames (2-8 views) written WITHOUT ground truth;
#   2. `cmanet train` with its defaults: pseudo-labels by `fit` (about 15 minutes on 2 cores,
#      cached in RUN_DIR/pseudo_labels), then stage 1 (IRV) and stage 2 (IEV), about an hour;
#   3. the loss plot, and the weights copied to assets/models/.
#
#   tools/train_cmanet.sh [RUN_DIR]        # default runs/shipped; rerun with --resume to continue
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/shipped}
shift || true
cargo build --release --quiet --no-default-features --bin cmanet
CMANET=${CARGO_TARGET_DIR:-target}/release/cmanet
[ -d "$RUN/data" ] || "$CMANET" synth --seed 100 --sequences 240 --frames 60 --no-ground-truth --output "$RUN/data"
"$CMANET" train --data "$RUN/data" --output "$RUN" "$@"
python3 tools/plot_curves.py --input "$RUN/curves.csv" --output plugin-docs/src/images/training_curves.png
cp "$RUN/cmanet.safetensors" assets/models/cmanet.safetensors
