#!/usr/bin/env bash
# Run the whole Parlance test suite. Installs what it needs (.venv, pinned) by itself.
# Extra arguments go to pytest, e.g. `bash scripts/run_tests.sh -k audio`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# PostgreSQL-backed persistence tests run when a server answers (see scripts/ensure_postgres.sh).
if [ -z "${PARLANCE_TEST_POSTGRES_URL:-}" ] && bash "$ROOT/scripts/ensure_postgres.sh"; then
  export PARLANCE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
fi
exec python -m pytest "$@"
