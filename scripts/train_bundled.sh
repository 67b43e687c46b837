#!/usr/bin/env bash
# The bundled model's recipe, one command: fetch and prepare every free source with the bar tokenizer,
# pre-train on music21 + the game music, fine-tune on the game music (Freedoom, OpenMSX, the tracker
# modules), then bundle it (scripts/bundle_default.py writes the model card and generation_config.json).
#   scripts/train_bundled.sh                 CPU (what shipped): 28 + 80 minutes on 2 cores
#   scripts/train_bundled.sh --gpu           one GPU: the same two stages by steps, under 8 minutes in all
# Runs go to runs/bars-pre and runs/bars; data to data/.
set -euo pipefail
cd "$(dirname "$0")/.."
gpu=0
[ "${1:-}" = "--gpu" ] && gpu=1
mkdir -p data runs
overworld fetch freedoom --out data/freedoom
overworld fetch openmsx --out data/openmsx
overworld fetch tracker --out data/tracker
overworld fetch music21 --out data/music21 --limit 879
overworld prepare data/freedoom data/openmsx data/music21 --out data/prepared-all-bars
overworld prepare data/freedoom data/openmsx data/tracker --out data/prepared-game-bars
rm -rf runs/bars-pre runs/bars
if [ "$gpu" = 1 ]; then
  # a GPU does the CPU run's steps many times over: same configs, more steps, bigger batches
  overworld train --data data/prepared-all-bars --out runs/bars-pre --config configs/bars-music-transformer.json \
    --steps 600 --batch-size 16 --device cuda --max-minutes 2.5 --quiet
  overworld train --data data/prepared-game-bars --out runs/bars --config configs/bars-finetune.json \
    --init-from runs/bars-pre --steps 1500 --batch-size 16 --device cuda --max-minutes 5 --quiet
else
  OMP_NUM_THREADS=2 overworld train --data data/prepared-all-bars --out runs/bars-pre \
    --config configs/bars-music-transformer.json --max-minutes 28 --quiet
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars \
    --config configs/bars-finetune.json --init-from runs/bars-pre --max-minutes 80 --quiet
fi
python3 scripts/bundle_default.py runs/bars
