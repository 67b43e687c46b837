#!/usr/bin/env bash
# Reproduces the README's results section in one run, with overworld's own commands:
#   1. fetch + prepare the free game soundtracks (Freedoom + OpenMSX) and a Bach-heavy cut of the music21 corpus,
#   2. train the Music Transformer and the LSTM baseline side by side, each on one core for the same
#      wall-clock budget; then the bundled model: the same Music Transformer pre-trained on the music21
#      cut (1,100 steps) and fine-tuned on the soundtracks (2,200 steps; all skipped when runs/ already holds them: pass
#      --retrain to redo),
#   3. test-split bits per note of the three and of a bigram baseline,
#   4. 20 pieces from the bundled model with its recommended sampling settings (those
#      scripts/bundle_default.py writes into its generation_config.json) and 20 with the model alone
#      (--raw): statistics against the test pieces, copy detection,
#   5. the training-curves image and a few chiptune samples.
# Outputs go to docs/results/. Usage: scripts/results.sh [--retrain] [--minutes 42] [--model DIR]
# (--model: the model steps 3-5 evaluate and sample; default: runs/music-transformer-music21, which
# scripts/bundle_default.py bundles; `default` is the bundled model itself)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=42
retrain=0
model=runs/music-transformer-music21
while [ $# -gt 0 ]; do
  case "$1" in
    --retrain) retrain=1 ;;
    --minutes) minutes="$2"; shift ;;
    --model) model="$2"; shift ;;
  esac
  shift
done
out=docs/results
mkdir -p "$out" data runs

overworld fetch freedoom --out data/freedoom
overworld fetch openmsx --out data/openmsx
overworld prepare data/freedoom data/openmsx --out data/prepared
# all of Bach's chorales, then O'Neill's 1850 tunes up to 879 files: the Bach-heavier mix fits the held-out
# soundtracks far better than the whole collection (docs/results/experiments.md)
overworld fetch music21 --out data/music21 --limit 879
overworld prepare data/music21 --out data/prepared-music21

if [ "$retrain" = 1 ] || [ ! -f runs/music-transformer/model/config.json ] || [ ! -f runs/lstm/model/config.json ]; then
  rm -rf runs/music-transformer runs/lstm
  OMP_NUM_THREADS=1 overworld train --data data/prepared --out runs/music-transformer \
    --config configs/default-music-transformer.json --max-minutes "$minutes" --quiet &
  OMP_NUM_THREADS=1 overworld train --data data/prepared --out runs/lstm \
    --config configs/baseline-lstm.json --max-minutes "$minutes" --quiet &
  wait
fi
if [ "$retrain" = 1 ] || [ ! -f runs/music-transformer-music21/model/config.json ]; then
  rm -rf runs/music21 runs/music-transformer-music21
  OMP_NUM_THREADS=2 overworld train --data data/prepared-music21 --out runs/music21 \
    --config configs/default-music-transformer.json --max-minutes "$minutes" --quiet
  OMP_NUM_THREADS=2 overworld train --data data/prepared --out runs/music-transformer-music21 \
    --config configs/default-music-transformer.json --init-from runs/music21 --steps 2200 --max-minutes "$minutes" --quiet
fi

overworld evaluate --model "$model" --data data/prepared --split test --json "$out/music-transformer.json"
overworld evaluate --model runs/music-transformer --data data/prepared --split test --json "$out/music-transformer-scratch.json"
overworld evaluate --model runs/lstm --data data/prepared --split test --json "$out/lstm.json"
overworld evaluate --model bigram --data data/prepared --split test --json "$out/bigram.json"

rm -rf "$out/generated" "$out/generated-raw" "$out/generated-controlled" "$out/test-pieces"
# the recommended settings: a sixteenth-note grid at 120 bpm, 4-9 instruments a piece, polyphony 6, notes <= 2 s
overworld generate --model "$model" --out "$out/generated" --num 20 --seconds 30 --seed 1 --top-p 0.95 \
  --grid 4 --bpm 120 --max-instruments 4-9 --max-polyphony 6 --max-note-seconds 2
# the model alone: free timing, no instrument budget, the grammar's loose limits
overworld generate --model "$model" --raw --out "$out/generated-raw" --num 20 --seconds 30 --seed 1 --top-p 0.95
python3 - "$out/test-pieces" <<'PY'
import json, shutil, sys
from pathlib import Path
target = Path(sys.argv[1]); target.mkdir(parents=True, exist_ok=True)
for f in json.loads(Path("data/prepared/manifest.json").read_text())["files"]:
    if f["split"] == "test":
        shutil.copyfile(f["path"], target / Path(f["path"]).name)
PY
overworld evaluate --generated "$out/generated" --reference "$out/test-pieces" --json "$out/statistics.json"
overworld evaluate --generated "$out/generated" --train data/prepared --json "$out/copying.json"
overworld evaluate --generated "$out/generated-raw" --reference "$out/test-pieces" --json "$out/statistics-raw.json"
overworld evaluate --generated "$out/generated-raw" --train data/prepared --json "$out/copying-raw.json"

overworld plot runs/music-transformer-music21 runs/music-transformer runs/lstm --out "$out/curves.png" --height 4
overworld plot "$out/generated/overworld-1-0.mid" --out "$out/pianoroll-sample.png" --height 4
mkdir -p "$out/samples"
for n in 0 1 2; do
  overworld render "$out/generated/overworld-1-$n.mid" --synth chiptune --sample-rate 22050 \
    --out "$out/samples/overworld-1-$n.ogg"
done
