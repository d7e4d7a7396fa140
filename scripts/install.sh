#!/usr/bin/env bash
# Install ktpel into .venv at the repository root (idempotent). Usage: scripts/install.sh [extras]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install -q -e ".[$extras]"
else
  .venv/bin/python -m pip install -q -e .
fi
# native parts of dependencies that ship as source (fingerprint matcher), when the project has them
if [ -f scripts/build-native.sh ]; then
  bash scripts/build-native.sh .venv/bin/python
fi
echo "ktpel installed in .venv"
