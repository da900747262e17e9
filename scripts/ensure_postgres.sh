#!/usr/bin/env bash
# Succeeds when PostgreSQL answers on 127.0.0.1:5432 as user postgres (trust auth) with a database
# `test`. Where no server runs and we are root on Debian, installs and starts one first; otherwise
# fails quietly, and the PostgreSQL variants of the persistence tests skip.
# Needs `python` with psycopg on PATH (run_tests.sh sources bootstrap.sh first).
set -u
pg() {  # pg DBNAME SQL -> runs SQL, exit status tells success
  python - "$1" "$2" <<'PY' >/dev/null 2>&1
import sys, psycopg
with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=sys.argv[1],
                     connect_timeout=3, autocommit=True) as conn:
    conn.execute(sys.argv[2])
PY
}
ready() {
  pg test "select 1" && return 0
  pg postgres "create database test" && pg test "select 1"
}
port_open() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ready && exit 0
port_open && exit 1  # a server we cannot use as postgres/trust: leave it alone
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || exit 1
if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "[parlance] installing PostgreSQL for the persistence tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null 2>&1 || \
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null 2>&1; } || exit 1
fi
ver=$(ls /etc/postgresql | sort -V | tail -n1)
conf=/etc/postgresql/$ver/main
grep -q "parlance-trust" "$conf/pg_hba.conf" || \
  sed -i '1i host all all 127.0.0.1/32 trust # parlance-trust\nlocal all all trust # parlance-trust' "$conf/pg_hba.conf"
pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || \
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >/dev/null 2>&1
for _ in $(seq 1 30); do port_open && break; sleep 1; done
ready
