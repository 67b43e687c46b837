#!/usr/bin/env bash
# Does pre-training on the music21 corpus help the bar model? Two runs of the same network
# (configs/bars-music-transformer.json, from scratch) with the same number of optimizer steps, so the same
# compute: "game" trains 2N steps on the game music; "music21" trains N steps on `fetch music21 --limit 879`
# (all 430 of Bach's chorales, then the first 449 of O'Neill's 1850 tunes: the cut that helped the
# performance model most, docs/results/experiments.md), then N steps on the game music from those weights.
# Both are scored on the game music's validation and test pieces (`overworld evaluate`), which it prints.
#   scripts/pretrain_music21.sh [N]          CPU, one thread (default N 200)
#   scripts/pretrain_music21.sh --gpu [N]    one GPU, batch 16
# Runs go to runs/pre-game, runs/pre-m21 and runs/pre-m21-game; data to data/music21 and
# data/prepared-m21-bars (the game set comes from scripts/train_bundled.sh's first lines).
set -euo pipefail
cd "$(dirname "$0")/.."
device=(--threads 1)
if [ "${1:-}" = "--gpu" ]; then device=(--device cuda --batch-size 16); shift; fi
n="${1:-200}"
[ -f data/prepared-game-bars/manifest.json ] || { echo "run the first lines of scripts/train_bundled.sh first" >&2; exit 2; }
[ -d data/music21 ] || overworld fetch music21 --out data/music21 --limit 879
[ -f data/prepared-m21-bars/manifest.json ] || overworld prepare data/music21 --out data/prepared-m21-bars
common=(--config configs/bars-music-transformer.json --overwrite --quiet --eval-every 50 "${device[@]}")
overworld train --data data/prepared-game-bars --out runs/pre-game --steps $((2 * n)) "${common[@]}"
overworld train --data data/prepared-m21-bars --out runs/pre-m21 --steps "$n" "${common[@]}"
overworld train --data data/prepared-game-bars --out runs/pre-m21-game --steps "$n" --init-from runs/pre-m21 \
  --warmup 20 "${common[@]}"
for run in pre-game pre-m21-game; do
  for split in validation test; do
    echo "== $run $split"
    overworld evaluate --model "runs/$run" --data data/prepared-game-bars --split "$split"
  done
done
