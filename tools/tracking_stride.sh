#!/usr/bin/env bash
# How the distance between tracked frames changes BlazePose's keypoints on the real sample: each
# view's 100 frames played as a 300-frame loop, taking every STRIDE-th frame (1: every frame, as
# a live app estimating as fast as the footage plays; 6: one in six, as one estimating 10 times a
# second), tracked by `cmanet detect` (BlazePose lite, whose tracking this measures; MODEL=full
# for full, the plugin's default), estimated by `cmanet estimate`; prints the camera error against
# the calibration (tools/camera_error.py) and the calibrated DLT's reprojection error
# (tools/reprojection.py) per stride.
#
#   tools/tracking_stride.sh [OUT_DIR] [STRIDES...]     # default: a scratch folder, strides 1 6
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-$(mktemp -d)}
shift || true
STRIDES=${*:-1 6}
S=assets/samples/pose2sim_demo
cargo build --release --quiet --no-default-features --features cli --bin cmanet
CMANET=${CARGO_TARGET_DIR:-target}/release/cmanet
for s in $STRIDES; do
  views=()
  for cam in cam01 cam02 cam03 cam04; do
    dir="$OUT/stride$s/$cam"
    rm -rf "$dir" && mkdir -p "$dir"
    mapfile -t files < <(ls "$S/$cam" | sort)
    for k in $(seq 0 299); do
      f=${files[$(( (k * s) % ${#files[@]} ))]}
      ln -s "$PWD/$S/$cam/$f" "$dir/$(printf %04d "$k").${f##*.}"
    done
    views+=("$dir")
  done
  "$CMANET" detect --views "${views[@]}" --calibration "$S/calibration.toml" --world-up y --fps "$(( 60 / s ))" \
    --model "${MODEL:-lite}" --output "$OUT/stride$s.safetensors" >/dev/null
  "$CMANET" estimate --input "$OUT/stride$s.safetensors" --output "$OUT/stride$s.cmanet.safetensors" >/dev/null
  "$CMANET" estimate --input "$OUT/stride$s.safetensors" --output "$OUT/stride$s.dlt.safetensors" --method dlt \
    --calibrated >/dev/null
  echo "stride $s cameras: $(python3 tools/camera_error.py "$OUT/stride$s.safetensors" "$OUT/stride$s.cmanet.safetensors")"
  echo "stride $s reprojection: $(python3 tools/reprojection.py "$OUT/stride$s.safetensors" "$OUT/stride$s.dlt.safetensors")"
done
