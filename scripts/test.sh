#!/usr/bin/env bash
# One command, fresh machine to test results: installs into .venv, makes sure the services the
# tests use are up (PostgreSQL, Redis; started if stopped and this machine has them), lints, runs pytest.
#   scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# shellcheck disable=SC1091
. .venv/bin/activate

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
# `docker compose config` checks docker-compose.yml; install the standalone parser if no plugin.
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose) >/dev/null 2>&1 || true
  fi
fi
# The console's browser tests drive Debian's Chromium through Playwright (tests/console); set
# VIDEOGEN_CHROMIUM to use another Chromium binary.
if [ -z "${VIDEOGEN_CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium for the console's browser tests (apt-get)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core) >/dev/null 2>&1 \
      || echo "test.sh: could not install chromium; the console's browser tests will fail" >&2
  else
    echo "test.sh: chromium is missing (apt-get install chromium, or set VIDEOGEN_CHROMIUM)" >&2
  fi
fi

ruff check .
ruff format --check .
mypy
python -m pytest "$@"
