#!/usr/bin/env bash
# Installs overworld on a fresh machine: the Debian packages that bring free game soundtracks, SoundFonts
# and FluidSynth (when apt-get is there and we are root), the pinned PyTorch when no torch is installed,
# then the project itself. The game packages bring the tracker modules `overworld fetch tracker` reads.
#   ./install.sh          the package
#   ./install.sh --test   the package and what the tests need
# PyTorch: with no NVIDIA GPU (no nvidia-smi, no /proc/driver/nvidia) the CPU build from PyTorch's CPU
# index, never the several GB of CUDA wheels PyPI's Linux build pulls; with one, PyPI's CUDA build.
#   OVERWORLD_TORCH=cpu|cuda       choose instead of detecting (default: auto)
#   TORCH_INDEX=URL                the CPU index (default: https://download.pytorch.org/whl/cpu)
#   OVERWORLD_PIP_DRY_RUN=FILE     only show what the PyTorch step would install on a machine without
#                                  torch: pip's --dry-run --report FILE, nothing else is done
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="torch==2.13.0"
CPU_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
DRY_REPORT="${OVERWORLD_PIP_DRY_RUN:-}"
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

has_nvidia_gpu() {
  case "${OVERWORLD_TORCH:-auto}" in
    cuda) return 0 ;;
    cpu) return 1 ;;
    auto) command -v nvidia-smi >/dev/null 2>&1 || [ -e /proc/driver/nvidia/version ] ;;
    *) echo "install.sh: error: OVERWORLD_TORCH is auto, cpu or cuda, not '${OVERWORLD_TORCH}'" >&2; exit 2 ;;
  esac
}

# pip install torch with these options (a dry run into $DRY_REPORT when one is asked)
pip_torch() {
  if [ -n "$DRY_REPORT" ]; then
    "$PYTHON" -m pip install -q --dry-run --ignore-installed --report "$DRY_REPORT" "$TORCH_SPEC" "$@"
  else
    "$PYTHON" -m pip install -q "$TORCH_SPEC" "$@"
  fi
}

# the nvidia-* packages pip's own configuration would install with torch (nothing when it cannot resolve)
cuda_from_pip_config() {
  local report
  report="$(mktemp)"
  if "$PYTHON" -m pip install -q --dry-run --ignore-installed --report "$report" "$TORCH_SPEC" >/dev/null 2>&1; then
    "$PYTHON" -c 'import json, sys
names = [i["metadata"]["name"] for i in json.load(open(sys.argv[1])).get("install", [])]
print(" ".join(n for n in names if n.lower().startswith("nvidia-")))' "$report"
  fi
  rm -f "$report"
}

install_torch() {
  if has_nvidia_gpu; then
    pip_torch  # an NVIDIA GPU: PyPI's build, with CUDA
    return
  fi
  pip_torch --timeout 20 --retries 1 --index-url "$CPU_INDEX" && return
  # the CPU index did not answer: pip's own configuration (a local copy of torch), unless it means CUDA
  local cuda
  cuda="$(cuda_from_pip_config)"
  if [ -n "$cuda" ]; then
    echo "install.sh: error: no $TORCH_SPEC from the CPU index $CPU_INDEX, and pip's own index would bring" \
      "CUDA packages ($cuda) to a machine with no NVIDIA GPU; set TORCH_INDEX to a CPU index that answers," \
      "or install torch first (README, Install)" >&2
    exit 1
  fi
  echo "install.sh: no $TORCH_SPEC from $CPU_INDEX; using pip's own configuration (no CUDA packages)" >&2
  pip_torch
}

if [ -n "$DRY_REPORT" ]; then
  install_torch
  exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  need=()
  for pkg in freedoom openttd-openmsx fluidsynth fluid-soundfont-gm timgm6mb-soundfont \
      pingus-data tecnoballz-data bomberclone-data tomatoes-data gltron fb-music-high solarwolf gweled \
      njam-data circuslinux-data penguin-command ri-li-data; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ -n "$extras" ]; then  # tests/studio drives Debian's headless Chromium with its own chromedriver;
    # tests/export loads a music pack in Godot 3 (headless) and renders the XM module with openmpt123
    for pkg in chromium chromium-driver godot3-server openmpt123; do
      dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
  fi
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  install_torch
fi
"$PYTHON" -m pip install -q -e ".${extras}"
