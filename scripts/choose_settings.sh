#!/usr/bin/env bash
# How the bundled model's recommended settings were chosen: 20 pieces of 32 bars for each candidate, compared
# with the VALIDATION pieces (never the test pieces): mean Yang-Lerch OA, drum share, bar self-similarity.
#   scripts/choose_settings.sh [MODEL] (default: runs/bars); NUM=4 BARS=8 for a quick look, ONLY="raw ..." for
#   some of the candidates (the others' results stay)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-runs/bars}"
out=docs/results/choose
rm -rf "$out/validation-pieces" && mkdir -p "$out/validation-pieces"
python3 - "$out/validation-pieces" <<'PY'
import json, shutil, sys
from pathlib import Path
target = Path(sys.argv[1])
for f in json.loads(Path("data/prepared-game-bars/manifest.json").read_text())["files"]:
    if f["split"] == "validation":
        shutil.copyfile(f["path"], target / Path(f["path"]).name)
PY
declare -A candidates=(
  [raw]="--raw --top-p 0.95"
  [steady-budget]="--raw --top-p 0.95 --steady --max-instruments 4-9"
  [steady-budget-t09]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.9"
  [steady-budget-t08]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.8"
  [steady-budget-t075]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.75"
  [steady-budget-t07]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.7"
  [steady-budget-t065]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.65"
  [steady-budget-t06]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.6"
  [steady-budget-t05]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.5"
  [t08-s05]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.8 --structure-temperature 0.5"
  [t08-s03]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.8 --structure-temperature 0.3"
  [t09-s03]="--raw --top-p 0.95 --steady --max-instruments 4-9 --temperature 0.9 --structure-temperature 0.3"
)
for name in ${ONLY:-${!candidates[@]}}; do
  rm -rf "${out:?}/$name"
  # shellcheck disable=SC2086
  overworld generate --model "$model" ${candidates[$name]} --out "$out/$name" --num "${NUM:-20}" --bars "${BARS:-32}" --seed 1 >/dev/null 2>&1
  overworld evaluate --generated "$out/$name" --reference "$out/validation-pieces" --json "$out/$name.json" >/dev/null 2>&1
  python3 - "$name" "$out/$name.json" "${candidates[$name]}" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))["metrics"]
m = r["metrics"]
print(f"{sys.argv[1]:<12} {sys.argv[3]:<62} mean OA {r['mean_overlapping_area']:.3f}  "
      f"drums {m['drum_share']['generated_mean']:.2f} (val {m['drum_share']['reference_mean']:.2f})  "
      f"self-sim {m['bar_self_similarity']['generated_mean']:.2f} (val {m['bar_self_similarity']['reference_mean']:.2f})")
PY
done
