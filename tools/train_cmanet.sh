#!/usr/bin/env bash
# The recipe of the shipped CMANet weights (plugin-docs/src/model-card.md), end to end. The shipped
# model is the previous one (commit 3dd7849, whose own recipe is this script at that commit) with
# its IRV kept and its IEV trained again, now that the IEV's gradients reach all of it (before,
# candle-nn's fused layer norm and softmax kept everything below its output heads at their
# initialisation), in four stage-2 fine-tunes, each starting from the one before:
#   1. 600 synthetic sequences of 60 frames (2-8 views, subjects with their own bones beyond the
#      betas: --bone-variation 2) written WITHOUT ground truth; pseudo-labels by the full pipeline
#      of the previous model, one pass per sequence; 8000 steps with the triangulation evidence;
#   2. the same labels; 12000 steps with the reprojection feedback too and three IEV steps;
#   3. labels in two passes (the second knowing the subject's bones from its first frame); 8000 steps;
#   4. half of those sequences and 300 more with wider bones (--bone-variation 4), two-pass
#      labels; 8000 steps.
# About 50 minutes of training on 2 cores, labels about 2 minutes a pass (candle's products use
# both cores: run nothing else alongside). Then the loss plot, and the weights copied to
# assets/models/.
#
#   tools/train_cmanet.sh [RUN_DIR]        # default runs/shipped
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/shipped}
cargo build --release --quiet --no-default-features --features cli --bin cmanet
CMANET=${CARGO_TARGET_DIR:-target}/release/cmanet
mkdir -p "$RUN"
[ -d "$RUN/data" ] || "$CMANET" synth --seed 300 --sequences 600 --frames 60 --no-ground-truth --bone-variation 2 \
  --output "$RUN/data"
[ -d "$RUN/data_wide" ] || "$CMANET" synth --seed 301 --sequences 300 --frames 60 --no-ground-truth --bone-variation 4 \
  --output "$RUN/data_wide"
if [ ! -d "$RUN/data_mixed" ]; then
  mkdir -p "$RUN/data_mixed"
  for i in $(seq -w 0 299); do cp "$RUN/data/seq_0$i.safetensors" "$RUN/data_mixed/b2_$i.safetensors"; done
  for i in $(seq -w 0 299); do cp "$RUN/data_wide/seq_0$i.safetensors" "$RUN/data_mixed/b4_$i.safetensors"; done
fi
[ -f "$RUN/previous.safetensors" ] || git show 3dd7849:assets/models/cmanet.safetensors > "$RUN/previous.safetensors"
LABELS=(--labels cmanet --label-weights "$RUN/previous.safetensors" --stage1-steps 0)
IEV=(--config triangulation=true --config feedback=true --config iev_iterations=3)
step() { # name, then train arguments
  local name=$1; shift
  [ -f "$RUN/$name/cmanet.safetensors" ] || "$CMANET" train --output "$RUN/$name" "${LABELS[@]}" "$@"
}
step 1 --data "$RUN/data" --cache "$RUN/labels_one_pass" --label-passes 1 --init "$RUN/previous.safetensors" \
  --stage2-steps 8000 --config triangulation=true
step 2 --data "$RUN/data" --cache "$RUN/labels_one_pass" --label-passes 1 --init "$RUN/1/cmanet.safetensors" \
  --stage2-steps 12000 "${IEV[@]}"
step 3 --data "$RUN/data" --cache "$RUN/labels_two_passes" --init "$RUN/2/cmanet.safetensors" \
  --stage2-steps 8000 "${IEV[@]}"
step 4 --data "$RUN/data_mixed" --cache "$RUN/labels_mixed" --init "$RUN/3/cmanet.safetensors" \
  --stage2-steps 8000 "${IEV[@]}"
python3 tools/plot_curves.py --input "$RUN/4/curves.csv" --output plugin-docs/src/images/training_curves.png
cp "$RUN/4/cmanet.safetensors" assets/models/cmanet.safetensors
