#!/usr/bin/env bash
# Create .venv and install videogen with the given extras (default: worker).
#   scripts/setup.sh            # API + worker (CPU torch unless one is installed already)
#   scripts/setup.sh test       # + test tools
# On a GPU host, install the CUDA build of torch into .venv first (or set VIDEOGEN_TORCH).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-worker}"
python="${PYTHON:-python3}"

[ -x .venv/bin/python ] || "$python" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  # Pin the CPU build: an unpinned `torch` would pull several GB of CUDA wheels.
  python -m pip install --quiet "${VIDEOGEN_TORCH:-torch==2.13.0}"
fi
python -m pip install --quiet -e ".[${extras}]"
echo "installed videogen[${extras}] into .venv"
