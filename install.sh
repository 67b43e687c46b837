#!/usr/bin/env bash
# Installs overworld on a fresh machine: the Debian packages that bring free game soundtracks, SoundFonts
# and FluidSynth (when apt-get is there and we are root), the pinned CPU build of PyTorch when no torch is
# installed (a bare `torch` requirement would pull several GB of CUDA packages), then the project itself.
# The game packages bring the tracker modules `overworld fetch tracker` reads.
#   ./install.sh          the package
#   ./install.sh --test   the package and what the tests need
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  need=()
  for pkg in freedoom openttd-openmsx fluidsynth fluid-soundfont-gm timgm6mb-soundfont \
      pingus-data tecnoballz-data bomberclone-data tomatoes-data gltron fb-music-high solarwolf gweled; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q "torch==2.13.0" || "$PYTHON" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
"$PYTHON" -m pip install -q -e ".${extras}"
