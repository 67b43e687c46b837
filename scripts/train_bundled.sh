#!/usr/bin/env bash
# The bundled model's recipe, one command: fetch and prepare the free game music (Freedoom, OpenMSX and the
# tracker modules of Debian's game packages) with the bar tokenizer, train a Music Transformer on it
# (continuation, 1,024-token windows), fine-tune it with half, then three quarters, of its windows teaching
# infilling (--infill-rate), then 2,000 steps with half (gaps whose parts come back after them as AHEAD
# tokens), then at 2,048-token windows (the model's RoPE attention keeps no weight per position, so
# --init-from carries it over): 1,600 steps with half, whose best checkpoint (by validation loss) the last
# stage starts from, then 1,500 steps with 70% infilling that teach AHEAD k with one VEL per note (a part
# that comes back with other velocities); then, from its best checkpoint, 600 steps on the 61 tracker modules
# of `fetch tracker` (14 more than the 47 of the stages before) with 60% infilling windows, whose best
# checkpoint ships, with the arrangement plans of the 47-module set's 130 training pieces (chosen on the
# validation pieces: docs/results.md); then bundle it (scripts/bundle_default.py writes the model card and
# generation_config.json).
#   scripts/train_bundled.sh          CPU (what shipped: 500 + 450 + 350 + 2,000 + 1,600 + 1,500 + 600 steps;
#                                     52 + 26 + 14 + 100 + 45 + 45 + 55 minutes on 2 cores shared with other
#                                     work, so the step a clock stops at varies)
#   scripts/train_bundled.sh --gpu    one GPU: the configs' full step counts, bigger batches, minutes (never run:
#                                     no GPU was lent)
# What shipped trained its first three stages before the bar tokenizer had AHEAD tokens (467 ids, not 483):
# its fourth stage started from that 467-id model grown to 483 ids (each AHEAD row starting as REPEAT's) by
# a since-removed one-off script (git history: scripts/grow_vocab.py). Here all stages use the current
# tokenizer and nothing needs growing. The first four stages trained with attention dropout 0.1 (since made
# its own setting, off by default: benchmarks/bench_attention.py), the last two without.
# Runs go to runs/bars-plain, runs/bars-infill1, runs/bars-infill2, runs/bars-ahead, runs/bars-long,
# runs/bars-k and runs/bars; data to data/: prepared-game-bars (the 47 modules the first six stages and the
# held-out figures use; splits are by content hash, so each piece sits in the same split of both folders) and
# prepared-game61 (all 61).
set -euo pipefail
cd "$(dirname "$0")/.."
gpu=0
[ "${1:-}" = "--gpu" ] && gpu=1
mkdir -p data runs
[ -d data/freedoom ] || overworld fetch freedoom --out data/freedoom
[ -d data/openmsx ] || overworld fetch openmsx --out data/openmsx
[ -d data/tracker ] || overworld fetch tracker --out data/tracker
modules47=(data/tracker/{bomberclone-data,fb-music-high,gltron,gweled,pingus-data,solarwolf,tecnoballz-data,tomatoes-data})
[ -f data/prepared-game-bars/manifest.json ] || \
  overworld prepare data/freedoom data/openmsx "${modules47[@]}" --out data/prepared-game-bars
[ -f data/prepared-game61/manifest.json ] || \
  overworld prepare data/freedoom data/openmsx data/tracker --out data/prepared-game61
if [ "$gpu" = 1 ]; then
  overworld train --data data/prepared-game-bars --out runs/bars-plain --overwrite \
    --config configs/bars-music-transformer.json --batch-size 16 --device cuda --quiet
  overworld train --data data/prepared-game-bars --out runs/bars-infill1 --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-plain --batch-size 16 --device cuda --quiet
  overworld train --data data/prepared-game-bars --out runs/bars-infill2 --overwrite --config configs/bars-infill-finetune.json \
    --init-from runs/bars-infill1 --steps 500 --lr 0.0004 --infill-rate 0.75 --seed 2 --batch-size 16 --device cuda --quiet
  overworld train --data data/prepared-game-bars --out runs/bars-ahead --overwrite --config configs/bars-infill-finetune.json \
    --init-from runs/bars-infill2 --steps 2000 --lr 0.0004 --infill-rate 0.5 --seed 3 --batch-size 16 --device cuda --quiet
  overworld train --data data/prepared-game-bars --out runs/bars-long --overwrite --config configs/bars-infill-finetune.json \
    --init-from runs/bars-ahead --sequence-length 2048 --steps 1600 --lr 0.0003 --infill-rate 0.5 --seed 4 \
    --batch-size 16 --device cuda --quiet
  overworld train --data data/prepared-game-bars --out runs/bars-k --overwrite --config configs/bars-infill-finetune.json \
    --init-from runs/bars-long --sequence-length 2048 --steps 1500 --lr 0.0003 --infill-rate 0.7 --seed 5 \
    --batch-size 16 --device cuda --quiet
  overworld train --data data/prepared-game61 --out runs/bars --overwrite --config configs/bars-infill-finetune.json \
    --init-from runs/bars-k --sequence-length 2048 --steps 600 --lr 0.0002 --warmup 30 --infill-rate 0.6 --seed 8 \
    --eval-every 50 --batch-size 16 --device cuda --quiet
else
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars-plain --overwrite \
    --config configs/bars-music-transformer.json --max-minutes 52 --quiet   # shipped: stopped at step 500
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars-infill1 --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-plain --max-minutes 33 --quiet
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars-infill2 --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-infill1 --steps 500 --lr 0.0004 \
    --infill-rate 0.75 --seed 2 --max-minutes 14 --quiet   # shipped: stopped at step 350
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars-ahead --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-infill2 --steps 2000 --lr 0.0004 \
    --infill-rate 0.5 --seed 3 --max-minutes 100 --quiet
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars-long --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-ahead --sequence-length 2048 --steps 1600 \
    --lr 0.0003 --infill-rate 0.5 --seed 4 --max-minutes 105 --quiet   # shipped: its best checkpoint, step 200
  OMP_NUM_THREADS=2 overworld train --data data/prepared-game-bars --out runs/bars-k --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-long --sequence-length 2048 --steps 1500 \
    --lr 0.0003 --infill-rate 0.7 --seed 5 --max-minutes 45 --quiet   # shipped: its best checkpoint, step 250
  OMP_NUM_THREADS=1 overworld train --data data/prepared-game61 --out runs/bars --overwrite \
    --config configs/bars-infill-finetune.json --init-from runs/bars-k --sequence-length 2048 --steps 600 \
    --lr 0.0002 --warmup 30 --infill-rate 0.6 --seed 8 --eval-every 50 --max-minutes 125 --quiet   # shipped: step 200
fi
# the plans generation draws from: the 47-module set's training pieces (a 61-module pool lowered the validation
# pieces' bar self-similarity below their interquartile range: docs/results.md)
python3 -c 'import sys; from overworld.generation.plans import write_plans; write_plans(*sys.argv[1:])' \
  data/prepared-game-bars runs/bars/model/plans.json
python3 scripts/bundle_default.py runs/bars
