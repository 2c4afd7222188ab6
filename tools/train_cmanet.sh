#!/usr/bin/env bash
# The recipe of the shipped CMANet weights (plugin-docs/src/model-card.md), end to end:
#   1. 600 synthetic sequences of 60 frames (2-8 views, subjects with their own bones beyond the
#      betas: --bone-variation 1) written WITHOUT ground truth;
#   2. pseudo-labels by the full pipeline of the previous model (`--labels cmanet`; its weights are
#      taken from git, commit 5e34f0a), about 2 minutes, cached in RUN_DIR/pseudo_labels;
#   3. `cmanet train` stage 1 (IRV, 24000 steps) and stage 2 (IEV with bone corrections, 16000
#      steps), about 45 minutes (candle's products use both cores: run nothing else alongside);
#   4. the loss plot, and the weights copied to assets/models/.
#
#   tools/train_cmanet.sh [RUN_DIR]        # default runs/shipped; rerun with --resume to continue
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/shipped}
shift || true
cargo build --release --quiet --no-default-features --features cli --bin cmanet
CMANET=${CARGO_TARGET_DIR:-target}/release/cmanet
[ -d "$RUN/data" ] || "$CMANET" synth --seed 300 --sequences 600 --frames 60 --no-ground-truth --bone-variation 1 \
  --output "$RUN/data"
[ -f "$RUN/labeller.safetensors" ] || git show 5e34f0a:assets/models/cmanet.safetensors > "$RUN/labeller.safetensors"
"$CMANET" train --data "$RUN/data" --output "$RUN" --labels cmanet --label-weights "$RUN/labeller.safetensors" "$@"
python3 tools/plot_curves.py --input "$RUN/curves.csv" --output plugin-docs/src/images/training_curves.png
cp "$RUN/cmanet.safetensors" assets/models/cmanet.safetensors
