#!/usr/bin/env bash
# Start the Parlance suite: one web server on localhost with a landing page and the three apps.
# Installs what it needs (.venv, pinned) by itself. SQLite by default; set PARLANCE_DATABASE_URL
# to use PostgreSQL. Extra arguments go to `python -m apps.suite` (e.g. --port 8000).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec python -m apps.suite "$@"
