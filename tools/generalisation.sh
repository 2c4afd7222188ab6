#!/usr/bin/env bash
# Reproduces the generalisation tables of the model card (plugin-docs/src/model-card.md): every
# method on the stick generator's sets (`cmanet synth --generator stick`, src/data/stick/: a body,
# keypoint placement, motions, rigs and detector that are not our body model's), side by side with
# the calibrated baselines, and the ratios the issue "accuracy that transfers" asks for.
#
#   tools/generalisation.sh [WORK_DIR] [WEIGHTS]   # defaults: runs/generalisation, the shipped weights
#   SETS=dev tools/generalisation.sh ...           # the development sets instead (seeds 7100, 7101)
#
# The default SETS=test are the FROZEN test sets (seeds 7000 and 7001, 24 sequences of 90 frames,
# data::stick::TEST_SEED / NOISY_TEST_SEED): no training and no tuning reads them. Tune on SETS=dev.
# Prints Markdown tables and writes them to WORK_DIR/tables.md. Fit dominates the time (about five
# minutes per set on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/generalisation}
WEIGHTS=${2:-assets/models/cmanet.safetensors}
SETS=${SETS:-test}
if [ -z "${CMANET:-}" ]; then   # CMANET=path/to/cmanet uses that binary instead of building one
  cargo build --release --quiet --no-default-features --features cli --bin cmanet
  CMANET=${CARGO_TARGET_DIR:-target}/release/cmanet
fi
case "$SETS" in
  test) SEED=7000; NOISY_SEED=7001 ;;
  dev) SEED=7100; NOISY_SEED=7101 ;;
  *) echo "SETS must be test or dev" >&2; exit 2 ;;
esac
mkdir -p "$WORK"

synth() { # name, then synth arguments
  local name=$1; shift
  [ -d "$WORK/$name" ] || "$CMANET" synth --generator stick --sequences 24 --output "$WORK/$name" "$@" >/dev/null
}
synth "stick_$SETS" --seed "$SEED"
synth "stick_${SETS}_noise_x2" --seed "$NOISY_SEED" --noise-scale 2

estimate() { # set, name, then estimate arguments
  local set=$1 name=$2; shift 2
  local out="$WORK/est/$set/$name"
  [ -d "$out" ] || "$CMANET" estimate --input "$WORK/$set" --output "$out" "$@" >/dev/null
}

: > "$WORK/tables.md"
for set in "stick_$SETS" "stick_${SETS}_noise_x2"; do
  estimate "$set" dlt --method dlt --calibrated
  estimate "$set" triangulate --method triangulate --calibrated
  estimate "$set" fit --method fit
  estimate "$set" cmanet --method cmanet --weights "$WEIGHTS" --jobs 1
  estimate "$set" cmanet-network --method cmanet --weights "$WEIGHTS" --pipeline without-body-refinement --jobs 1
  methods=()
  for m in dlt triangulate fit cmanet cmanet-network; do methods+=(--method "$m=$WORK/est/$set/$m"); done
  "$CMANET" eval --truth "$WORK/$set" "${methods[@]}" --json > "$WORK/$set.json"
  {
    echo "### $set"
    echo
    "$CMANET" eval --truth "$WORK/$set" "${methods[@]}" | sed -n '3,$p'
    echo
    python3 - "$WORK/$set.json" <<'EOF'
import json, sys
methods = {m["name"]: m["overall"] for m in json.load(open(sys.argv[1]))["methods"]}
limbs = {name: o["pa_mpjpe_mm"][1] for name, o in methods.items()}
print("| ratio (PA-MPJPE limbs) | value |")
print("|---|---|")
for a, b in [("cmanet", "dlt"), ("cmanet", "triangulate"), ("fit", "dlt"), ("triangulate", "dlt"),
             ("cmanet-network", "cmanet")]:
    print(f"| {a} / {b} | {limbs[a] / limbs[b]:.2f} |")
EOF
    echo
  } | tee -a "$WORK/tables.md"
done
