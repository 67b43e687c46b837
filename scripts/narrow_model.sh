#!/usr/bin/env bash
# Width against steps on one CPU thread: the bundled network's shape (configs/bars-music-transformer.json: width
# 192, 4 blocks, 1.87 M parameters) beside one of width 128 (feed-forward 512, 4 blocks, 0.86 M), each trained
# from scratch for the same 1,600 steps on the game music (the first is scripts/pretrain_music21.sh's
# runs/pre-game), then scored on the validation and test pieces. The minutes each took are in its
# metrics.csv (second column).
#   scripts/narrow_model.sh          CPU, one thread
#   scripts/narrow_model.sh --gpu    one GPU, batch 16
# The run goes to runs/pre-narrow.
set -euo pipefail
cd "$(dirname "$0")/.."
device=(--threads 1)
[ "${1:-}" = "--gpu" ] && device=(--device cuda --batch-size 16)
[ -f data/prepared-game-bars/manifest.json ] || { echo "run the first lines of scripts/train_bundled.sh first" >&2; exit 2; }
overworld train --data data/prepared-game-bars --out runs/pre-narrow --steps 1600 --overwrite --quiet --eval-every 50 \
  --config configs/bars-music-transformer.json --embedding-size 128 --feed-forward-dim 512 "${device[@]}"
for split in validation test; do
  echo "== pre-narrow $split"
  overworld evaluate --model runs/pre-narrow --data data/prepared-game-bars --split "$split"
done
