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
  if command -v nvidia-smi >/dev/null 2>&1 || [ -e /proc/driver/nvidia/version ]; then
    "$PYTHON" -m pip install -q "torch==2.13.0"  # an NVIDIA GPU: PyPI's build, with CUDA
  else
    # no NVIDIA GPU: PyTorch's CPU-only index, never the several GB of CUDA wheels PyPI's Linux build pulls
    # (TORCH_INDEX overrides it; a pip configured with a local copy of torch falls back to that)
    "$PYTHON" -m pip install -q --timeout 20 --retries 1 "torch==2.13.0" \
      --index-url "${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" \
      || "$PYTHON" -m pip install -q "torch==2.13.0"
  fi
fi
"$PYTHON" -m pip install -q -e ".${extras}"
