#!/usr/bin/env bash
# The gallery: the first 12 pieces of one fixed seed, unpicked, each with its piano roll and an OGG, so
# anyone can look at and listen to what the model writes with its recommended settings (arrangement plans
# drawn from its training pieces, notes at the temperature of its generation_config.json). Writes
# docs/results/gallery/ (pieces, rolls, OGGs and index.md); scripts/results.sh runs it.
#   scripts/gallery.sh [MODEL] [SEED]     (default: the bundled model, seed 1)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-default}"
seed="${2:-1}"
out=docs/results/gallery
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
overworld generate --model "$model" --num 12 --bars 16 --seed "$seed" --out "$work"
{
  echo "# Gallery"
  echo
  echo "The first 12 pieces of \`overworld generate --model $model --num 12 --bars 16 --seed $seed\`, unpicked"
  echo "(made by \`scripts/gallery.sh\`): each piece's arrangement plan is drawn from a training piece, its"
  echo "notes are the model's. Chiptune renders, 22.05 kHz."
  echo
} > "$work/index.md"
for n in $(seq 0 11); do
  mid="$work/overworld-$seed-$n.mid"
  overworld render "$mid" --synth chiptune --out "$work/overworld-$seed-$n.ogg" --sample-rate 22050 >/dev/null
  overworld plot "$mid" --out "$work/overworld-$seed-$n.png" --width 10 --height 4 --dpi 80 >/dev/null
  {
    echo "## Piece $((n + 1))"
    echo
    echo "![piano roll of piece $((n + 1))](overworld-$seed-$n.png)"
    echo
    echo "[listen (OGG)](overworld-$seed-$n.ogg) · [MIDI](overworld-$seed-$n.mid)"
    echo
  } >> "$work/index.md"
done
rm -rf "$out.partial"
cp -r "$work" "$out.partial"
rm -rf "$out"
mv "$out.partial" "$out"
echo "wrote $out (12 pieces of seed $seed)"
