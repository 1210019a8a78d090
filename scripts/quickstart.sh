#!/usr/bin/env bash
# One command, fresh machine to finished video, on the embedded defaults (no server needed):
# installs into .venv, starts `videogen dev` (SQLite + local files + filesystem broker + API +
# worker), creates an API key, generates a clip with the tiny model, saves and probes it.
#   scripts/quickstart.sh               # writes ./demo.mp4, then stops the stack
#   KEEP_RUNNING=1 scripts/quickstart.sh  # leaves the stack running (Ctrl-C to stop)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh worker
# shellcheck disable=SC1091
. .venv/bin/activate

export VIDEOGEN_DATA_DIR="${VIDEOGEN_DATA_DIR:-$PWD/var}"
port="${PORT:-8000}"
mkdir -p "$VIDEOGEN_DATA_DIR"
videogen dev --port "$port" >"$VIDEOGEN_DATA_DIR/dev.log" 2>&1 &
dev_pid=$!
stop() { kill "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true; }
[ "${KEEP_RUNNING:-0}" = 1 ] || trap stop EXIT

echo "starting videogen on http://127.0.0.1:$port (log: $VIDEOGEN_DATA_DIR/dev.log)"
for _ in $(seq 1 120); do
  python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/readyz', timeout=2)" 2>/dev/null && break
  kill -0 "$dev_pid" 2>/dev/null || { tail -50 "$VIDEOGEN_DATA_DIR/dev.log"; exit 1; }
  sleep 1
done

export VIDEOGEN_API_KEY="$(videogen keys create --org quickstart --name quickstart -q)"
export VIDEOGEN_BASE_URL="http://127.0.0.1:$port/v1"
echo "API key (shown once): $VIDEOGEN_API_KEY"
videogen generate "a paper boat drifting down a rainy street, cinematic" \
  --seconds 2 --size 256x256 --seed 42 -o demo.mp4
videogen probe demo.mp4
echo "note: hunyuanvideo-tiny has random weights, so demo.mp4 is noise by design (see README)."
if [ "${KEEP_RUNNING:-0}" = 1 ]; then
  echo "stack still running (pid $dev_pid); try the curl and SDK examples in the README."
  wait "$dev_pid"
fi
