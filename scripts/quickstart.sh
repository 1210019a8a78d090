#!/usr/bin/env bash
# One command, fresh machine to finished video, on the embedded defaults (no server needed):
# installs videogen[worker,client] into .venv (the worker, and the openai SDK and standardwebhooks
# that the README's examples use), starts `videogen dev` (SQLite + local files + filesystem broker +
# API + worker + webhook worker), creates an API key, generates a clip with the tiny model, saves and
# probes it, and prints what to paste to run the README's examples.
#   scripts/quickstart.sh                 # writes ./demo.mp4, then stops the stack
#   KEEP_RUNNING=1 scripts/quickstart.sh  # leaves the stack running for the examples (Ctrl-C stops it)
# VIDEOGEN_* settings in the environment reach the stack (e.g. the two a local webhook receiver needs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh worker,client
# shellcheck disable=SC1091
. .venv/bin/activate

export VIDEOGEN_DATA_DIR="${VIDEOGEN_DATA_DIR:-$PWD/var}"
port="${PORT:-8000}"
mkdir -p "$VIDEOGEN_DATA_DIR"
videogen dev --port "$port" >"$VIDEOGEN_DATA_DIR/dev.log" 2>&1 &
dev_pid=$!
stop() { kill "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM  # Ctrl-C: exit, which stops the stack (EXIT)

echo "starting videogen on http://127.0.0.1:$port (log: $VIDEOGEN_DATA_DIR/dev.log)"
for _ in $(seq 1 120); do
  python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/readyz', timeout=2)" 2>/dev/null && break
  kill -0 "$dev_pid" 2>/dev/null || { tail -50 "$VIDEOGEN_DATA_DIR/dev.log"; exit 1; }
  sleep 1
done

export VIDEOGEN_API_KEY="$(videogen keys create --org quickstart --name quickstart -q)"
export VIDEOGEN_BASE_URL="http://127.0.0.1:$port/v1"
videogen generate "a paper boat drifting down a rainy street, cinematic" \
  --seconds 2 --size 256x256 --seed 42 -o demo.mp4
videogen probe demo.mp4
echo "note: hunyuanvideo-tiny has random weights, so demo.mp4 is noise by design (see README)."

cat <<EOF

Your API key (shown once; it stays valid across restarts, until revoked): $VIDEOGEN_API_KEY
Base URL: $VIDEOGEN_BASE_URL    Interactive docs: http://127.0.0.1:$port/docs
Web console: http://127.0.0.1:$port/console (sign in with the key above; with KEEP_RUNNING=1)

To run the README's examples, paste this into a terminal:

  cd $PWD && . .venv/bin/activate
  export VIDEOGEN_BASE_URL=$VIDEOGEN_BASE_URL VIDEOGEN_API_KEY=$VIDEOGEN_API_KEY
  export OPENAI_BASE_URL=\$VIDEOGEN_BASE_URL OPENAI_API_KEY=\$VIDEOGEN_API_KEY

then, for instance:

  python examples/sdk_quickstart.py   # the openai SDK example: creates, waits, saves fox.mp4 and fox.jpg
  videogen generate "a red fox runs through snow" --seconds 2 -o fox.mp4

EOF
if [ "${KEEP_RUNNING:-0}" = 1 ]; then
  echo "videogen keeps running (pid $dev_pid); Ctrl-C stops it."
  wait "$dev_pid" || true
else
  echo "The stack stops now: run KEEP_RUNNING=1 scripts/quickstart.sh to keep it up for the examples."
fi
