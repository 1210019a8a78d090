#!/usr/bin/env bash
# The GPU benchmark (scripts/bench_gpu.py) on a lent GPU machine, in one unattended call.
#
# Such a machine has CUDA PyTorch, Triton and the Hugging Face stack as its image's `python3`, but
# not diffusers, and it cannot reach the internet. So this runs in two places:
#
#   scripts/gpu_check.sh fetch     here, where PyPI answers: downloads the wheels the machine lacks
#                                  (diffusers as pinned below, importlib_metadata; both pure Python)
#                                  into .whl/, which .git/info/exclude keeps out of git
#   scripts/gpu_check.sh           there, with .whl carried: installs them into /tmp/site and runs
#                                  the benchmark's default GPU plan, writing bench_gpu.json and
#                                  bench_gpu.log under $OUT (or var/bench_gpu/ when OUT is unset)
#
# The benchmark rewrites its JSON after every measurement and skips the parts that would start
# after BUDGET_S seconds; TIMEOUT_S kills it outright. Together they fit one 10-minute call.
# Extra arguments go to bench_gpu.py (e.g. `--only transformer --sizes 720p`).
set -uo pipefail
cd "$(dirname "$0")/.."

DIFFUSERS_VERSION="${DIFFUSERS_VERSION:-0.42.1}"
WHEELS=.whl

if [ "${1:-}" = "fetch" ]; then
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info && echo '/.whl/' >>.git/info/exclude; }
  mkdir -p "$WHEELS"
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 -d "$WHEELS" \
    "diffusers==${DIFFUSERS_VERSION}" importlib_metadata || exit 1
  ls -l "$WHEELS"
  exit 0
fi

OUT="${OUT:-var/bench_gpu}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c "import diffusers" 2>/dev/null; then
  ls "$WHEELS"/*.whl >/dev/null 2>&1 || { echo "diffusers is missing and $WHEELS/ holds no wheels: run 'scripts/gpu_check.sh fetch' first and carry .whl" >&2; exit 2; }
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl || exit 3
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt"
"$PYTHON" -c "import torch, diffusers; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(), '| diffusers', diffusers.__version__)"

export PYTHONUNBUFFERED=1
timeout "${TIMEOUT_S:-560}" "$PYTHON" scripts/bench_gpu.py --budget-s "${BUDGET_S:-420}" --json "$OUT/bench_gpu.json" "$@" 2>&1 \
  | grep --line-buffered -v "Attention backends are an experimental feature" | tee "$OUT/bench_gpu.log"
status=${PIPESTATUS[0]}
echo "bench_gpu exit status $status (124: killed at TIMEOUT_S; the JSON holds what was measured by then)"
exit "$status"
