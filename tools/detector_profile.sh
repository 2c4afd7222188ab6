#!/usr/bin/env bash
# Measures BlazePose's keypoint profiles (where the lite and the full landmark networks put each COCO
# keypoint relative to our body model's; body::KeypointProfile) and writes them to assets/models/:
# the open avatar is rendered headless by the virtual studio in eight motions from random rigs of
# four cameras (never the studio's own dance, seed or ring), the detections are recorded with the
# truth (`virtual_studio --detections`), and `cmanet profile` measures the offsets.
#
#   tools/detector_profile.sh [WORK_DIR]        # default runs/detector_profile; about 25 minutes
#   NETS=lite EXTRAS_ONLY=1 tools/detector_profile.sh   # one network; only the extra keypoints'
#                                                       # offsets, added to the shipped profile
#
# The recordings keep all 33 BlazePose landmarks, so the profile has offsets for the 16 extras too
# (heels, foot tips, hand points; in their joint's frame).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/detector_profile}
cargo build --release --quiet --example virtual_studio --bin cmanet
BIN=${CARGO_TARGET_DIR:-target}/release
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
NETS=${NETS:-lite full}
extras=(); [ -n "${EXTRAS_ONLY:-}" ] && extras=(--extras-only)
for net in $NETS; do mkdir -p "$WORK/$net"; done
i=0
for motion in walk squat reach kick pick_up wave lunge turn; do
  i=$((i + 1))
  for net in $NETS; do
    out="$WORK/$net/$motion.safetensors"
    [ -f "$out" ] && continue
    flag=(--landmarks "$net")
    "$BIN/examples/virtual_studio" --headless --frames 360 --motion "$motion" --seed $((100 + i)) \
      --rig-seed $((200 + i)) --detections "$out" "${flag[@]}" > "$WORK/$net/$motion.log" 2>&1
  done
done
for net in $NETS; do
  name="BlazePose $net"
  "$BIN/cmanet" profile --input "$WORK/$net" --detector "$name" --output "assets/models/blazepose_${net}_profile.safetensors" "${extras[@]}"
done
