#!/usr/bin/env bash
# Create .venv and install videogen with the given extras (default: worker).
#   scripts/setup.sh                # API + worker (CPU torch unless one is installed already)
#   scripts/setup.sh worker,client  # + the openai SDK and standardwebhooks (what the quickstart installs)
#   scripts/setup.sh test           # + test tools (includes worker and client)
# On a GPU host, install the CUDA build of torch into .venv first (or set VIDEOGEN_TORCH).
# pip says nothing when it succeeds; when it fails, its whole output is shown.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-worker}"
python="${PYTHON:-python3}"

# Run a command with its output kept aside: shown (on stderr) only if the command fails.
quietly() {
  local log status=0
  log="$(mktemp)"
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    cat "$log" >&2
    echo "setup.sh: failed (exit $status): $*" >&2
  fi
  rm -f "$log"
  return "$status"
}

pip=(python -m pip --disable-pip-version-check)
[ -x .venv/bin/python ] || quietly "$python" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
echo "installing videogen[${extras}] into .venv (minutes the first time)..."
quietly "${pip[@]}" install --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  # Pin the CPU build: an unpinned `torch` would pull several GB of CUDA wheels.
  quietly "${pip[@]}" install "${VIDEOGEN_TORCH:-torch==2.13.0}"
fi
quietly "${pip[@]}" install -e ".[${extras}]"
echo "installed videogen[${extras}] into .venv"
