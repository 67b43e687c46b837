#!/usr/bin/env bash
# Reproduces the results page (docs/results.md) in one run, with overworld's own commands:
#   1. the bundled model's recipe when runs/bars is missing (scripts/train_bundled.sh: fetch, prepare with
#      the bar tokenizer, train on the game music, fine-tune with infilling windows),
#   2. test-split bits per note: the whole test split (5 MIDI pieces + 1 module) and the 5 MIDI pieces the
#      previous bundled model (performance tokens, 12.56 bits/note) was scored on; the model before its
#      infilling fine-tune (runs/bars-plain) beside it; held-out 4-bar gaps past-only vs past and future
#      (test and validation pieces, and how much of it parts that come back after the gap can give),
#   3. 20 pieces of 32 bars with the recommended settings (generation_config.json) and 20 with the model
#      alone (--raw --top-p 0.95): statistics against the test pieces (the Yang-Lerch rows, drum share,
#      bar self-similarity, exact repeats), copy detection against the training set, the copy test,
#   4. bar self-similarity of the corpora, a self-similarity plot, a piano roll and chiptune samples,
#   5. speed: seconds of music per second of compute, seconds to infill 4 bars of a 32-bar piece, and 16-bar
#      loops with stems for 10 seeds (their seams: the jump, against the piece played twice, and likelihood).
# Outputs go to docs/results/. Usage: scripts/results.sh [--model DIR] (default: runs/bars)
set -euo pipefail
cd "$(dirname "$0")/.."
model=runs/bars
[ "${1:-}" = "--model" ] && model="$2"
out=docs/results
mkdir -p "$out" data runs
[ -f "$model/model/config.json" ] || [ -f "$model/config.json" ] || scripts/train_bundled.sh
[ -f data/prepared-game-bars/manifest.json ] || scripts/train_bundled.sh
[ -f data/prepared-bars/manifest.json ] || overworld prepare data/freedoom data/openmsx --out data/prepared-bars  # the previous model's 5 test pieces

overworld evaluate --model "$model" --data data/prepared-game-bars --split test --json "$out/bars.json"
overworld evaluate --model "$model" --data data/prepared-bars --split test --json "$out/bars-5-midi.json"
# the model before any infilling training; one trained before the bar tokenizer had AHEAD tokens (467 ids, what
# shipped) no longer loads, and its committed results (same shards, byte for byte) stay
plain=""
python3 -c "import sys; from overworld.models import load_model; load_model(sys.argv[1])" runs/bars-plain \
  >/dev/null 2>&1 && plain=runs/bars-plain
[ -n "$plain" ] && overworld evaluate --model "$plain" --data data/prepared-game-bars --split test \
  --json "$out/bars-plain.json"
overworld evaluate --model "$model" --data data/prepared-game-bars --split test --infill 4 --json "$out/infill.json"
overworld evaluate --model "$model" --data data/prepared-game-bars --split validation --infill 4 \
  --json "$out/infill-validation.json"
python3 scripts/infill_breakdown.py "$model" test validation | tee "$out/infill-breakdown.txt"
[ -n "$plain" ] && overworld evaluate --model "$plain" --data data/prepared-game-bars --split test \
  --infill 4 --json "$out/infill-plain.json"
overworld evaluate --model bigram --data data/prepared-game-bars --split test --json "$out/bigram.json"
overworld evaluate --model bigram --data data/prepared-bars --split test --json "$out/bigram-5-midi.json"
python3 scripts/loss_by_position.py "$model" data/prepared-game-bars --split test | tee "$out/loss-by-position.txt"

rm -rf "$out/generated" "$out/generated-raw" "$out/test-pieces"
python3 scripts/bundle_default.py "$model" --settings-only   # the recommended settings the bundle will carry
overworld generate --model "$model" --out "$out/generated" --num 20 --bars 32 --seed 1
overworld generate --model "$model" --raw --top-p 0.95 --out "$out/generated-raw" --num 20 --bars 32 --seed 1
python3 - "$out/test-pieces" <<'PY'
import json, shutil, sys
from pathlib import Path
target = Path(sys.argv[1]); target.mkdir(parents=True, exist_ok=True)
for f in json.loads(Path("data/prepared-game-bars/manifest.json").read_text())["files"]:
    if f["split"] == "test":
        shutil.copyfile(f["path"], target / Path(f["path"]).name)
PY
overworld evaluate --generated "$out/generated" --reference "$out/test-pieces" --json "$out/statistics.json"
overworld evaluate --generated "$out/generated-raw" --reference "$out/test-pieces" --json "$out/statistics-raw.json"
overworld evaluate --generated "$out/generated" --train data/prepared-game-bars --json "$out/copying.json"
overworld evaluate --model "$model" --copy-test --data data/prepared-game-bars --split test --json "$out/copy-test.json"
python3 scripts/repeat_probe.py "$model" data/prepared-game-bars --num 8 --bars 16 --setting raw=top_p=0.95 \
  --setting recommended= | tee "$out/repeat-probe.txt"
python3 scripts/structure_of_corpora.py data/freedoom data/openmsx data/tracker "$out/generated" "$out/generated-raw" \
  "$out/previous/generated" \
  | tee "$out/structure.txt"

overworld plot "$model" --out "$out/curves.png" --height 4
overworld plot "$out/generated/overworld-1-0.mid" --out "$out/pianoroll-sample.png" --height 4
overworld plot "$out/generated/overworld-1-0.mid" --self-similarity --out "$out/self-similarity-sample.png"
mkdir -p "$out/samples"
for n in 0 1 2; do
  overworld render "$out/generated/overworld-1-$n.mid" --synth chiptune --sample-rate 22050 \
    --out "$out/samples/overworld-1-$n.ogg"
done

python3 benchmarks/bench_generate.py --model "$model" --real-time-only --bars 16 | tee "$out/bench-generate.txt"
python3 benchmarks/bench_infill.py --model "$model" | tee "$out/bench-infill.txt"
python3 benchmarks/bench_compose.py --model "$model" --seeds 0 1 2 3 4 5 6 7 8 9 --transitions --sample-rate 22050 \
  | tee "$out/bench-compose.txt"
