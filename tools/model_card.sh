#!/usr/bin/env bash
# Reproduces every accuracy table of the model card (plugin-docs/src/model-card.md):
#   - the validation set `synth --seed 1 --sequences 24 --frames 60` (2-8 views), with both
#     baselines (triangulate with the TRUE cameras, fit without cameras), CMANet and its ablations;
#   - three generalisation sets made with other generator settings: twice the detector noise
#     (seed 2), two views only (seed 3), eight views (seed 4); 12 sequences each.
#
#   tools/model_card.sh [WORK_DIR] [WEIGHTS]      # defaults: runs/model_card, the shipped weights
#
# Prints Markdown tables and writes them to WORK_DIR/tables.md. Fit dominates the time
# (about 2 minutes per 1000 frames on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/model_card}
WEIGHTS=${2:-assets/models/cmanet.safetensors}
if [ -z "${CMANET:-}" ]; then   # CMANET=path/to/cmanet uses that binary instead of building one
  cargo build --release --quiet --no-default-features --features cli --bin cmanet
  CMANET=${CARGO_TARGET_DIR:-target}/release/cmanet
fi
mkdir -p "$WORK"

synth() { # name, then synth arguments
  local name=$1; shift
  [ -d "$WORK/$name" ] || "$CMANET" synth --frames 60 --output "$WORK/$name" "$@" >/dev/null
}
synth val --seed 1 --sequences 24
synth noise_x2 --seed 2 --sequences 12 --noise-scale 2
synth two_views --seed 3 --sequences 12 --min-views 2 --max-views 2
synth eight_views --seed 4 --sequences 12 --min-views 8 --max-views 8

estimate() { # set, name, then estimate arguments
  local set=$1 name=$2; shift 2
  local out="$WORK/est/$set/$name"
  [ -d "$out" ] || "$CMANET" estimate --input "$WORK/$set" --output "$out" "$@" >/dev/null
}

: > "$WORK/tables.md"
for set in val noise_x2 two_views eight_views; do
  estimate "$set" triangulate --method triangulate --calibrated
  estimate "$set" fit --method fit
  estimate "$set" cmanet --method cmanet --weights "$WEIGHTS" --jobs 1
  methods=(--method "triangulate=$WORK/est/$set/triangulate" --method "fit=$WORK/est/$set/fit"
           --method "cmanet=$WORK/est/$set/cmanet")
  if [ "$set" = val ]; then
    for p in irv-single-view without-screening without-iev without-camera-refinement without-body-refinement without-left-right-check without-bone-corrections without-rig without-feet-and-hands without-feet-in-cameras without-jump-gate \
             without-temporal-prior; do
      estimate "$set" "cmanet-$p" --method cmanet --weights "$WEIGHTS" --pipeline "$p" --jobs 1
      methods+=(--method "cmanet ($p)=$WORK/est/$set/cmanet-$p")
    done
  fi
  { echo "### $set"; echo; "$CMANET" eval --truth "$WORK/$set" "${methods[@]}" | sed -n '3,$p'; echo; } | tee -a "$WORK/tables.md"
done
