#!/usr/bin/env bash
# The bundled model's recipe, one command: fetch and prepare the free game music (Freedoom, OpenMSX and the
# tracker modules of Debian's game packages) with the bar tokenizer, train a Music Transformer on it
# (continuation), fine-tune it with half its windows teaching infilling (--infill-rate 0.5), then bundle it
# (scripts/bundle_default.py writes the model card and generation_config.json).
#   scripts/train_bundled.sh          CPU (what shipped): ~70 + ~30 minutes on 2 cores, stopped by the clock
#   scripts/train_bundled.sh --gpu    one GPU: the configs' full step counts, bigger batches, minutes
# Runs go to runs/bars-plain and runs/bars; data to data/.
set -euo pipefail
cd "$(dirname "$0")/.."
gpu=0
[ "${1:-}" = "--gpu" ] && gpu=1
mkdir -p data runs
[ -d data/freedoom ] || overworld fetch freedoom --out data/freedoom
[ -d data/openmsx ] || overworld fetch openmsx --out data/openmsx
[ -d data/tracker ] || overworld fetch tracker --out data/tracker
[ -f data/prepared-game-bars/manifest.json ] || \
  overworld prepare data/freedoom data/openmsx data/tracker --out data/prepared-game-bars
if [ "$gpu" = 1 ]; then
  overworld train --data data/prepared-game-bars --out runs/bars-plain --overwrite \
    --config configs/bars-music-transformer.json --batch-size 16 --device cuda --quiet
  overworld train --data data/prepared-game-bars --out runs/bars --overwrite --config configs/bars-infill-finetune.json \
    --init-from runs/bars-plain --batch-size 16 --device cuda --quiet
else
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars-plain --overwrite \
    --config configs/bars-music-transformer.json --max-minutes 70 --quiet
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-plain --max-minutes 30 --quiet
fi
python3 scripts/bundle_default.py runs/bars
