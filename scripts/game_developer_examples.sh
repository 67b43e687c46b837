#!/usr/bin/env bash
# The docs' examples for game developers (docs/compose-for-games.md) and the studio, made with the
# bundled model:
#   docs/game-developers/nes-loop-8-bars.{ogg,json}   an 8-bar NES loop (A minor, 140 bpm, seed 11)
#   docs/game-developers/aaba-self-similarity.png     the bar self-similarity of an AABA piece (seed 5)
#   docs/studio.png                                   the studio in headless Chromium
# Usage: scripts/game_developer_examples.sh [--model DIR] (default: the bundled model)
set -euo pipefail
cd "$(dirname "$0")/.."
model=default
[ "${1:-}" = "--model" ] && model="$2"
out=docs/game-developers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
overworld compose --model "$model" --bars 8 --bpm 140 --key "A minor" --loop --console nes --seed 11 \
  --sample-rate 22050 --out "$tmp/nes"
cp "$tmp/nes/11/mix.ogg" "$out/nes-loop-8-bars.ogg"
cp "$tmp/nes/11/piece.json" "$out/nes-loop-8-bars.json"
overworld compose --model "$model" --form AABA --section-bars 4 --variation 0.25 --seed 5 --out "$tmp/aaba"
overworld plot "$tmp/aaba/5/piece.mid" --self-similarity --out "$out/aaba-self-similarity.png"
python3 scripts/studio_screenshot.py --model "$model"
