#!/usr/bin/env bash
# Refresh the console's pictures in docs/console/ (README.md shows them): run the browser tests,
# which write screenshots of every page to test-artifacts/console/, then copy those README uses.
#   scripts/console_screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pytest tests/console -q
mkdir -p docs/console
for name in $(grep -o 'docs/console/[a-z0-9-]*\.png' README.md | sort -u | xargs -n1 basename); do
  cp "test-artifacts/console/$name" "docs/console/$name"
done
echo "docs/console/ refreshed from test-artifacts/console/"
