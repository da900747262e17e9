#!/usr/bin/env bash
# Succeeds when a PostgreSQL server answers on 127.0.0.1:5432 with database `test` (trust auth).
# Where none runs and we are root on Debian, installs and starts one; otherwise fails quietly
# (the PostgreSQL tests then skip).
set -u
probe() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
probe && { psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1 || psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null 2>&1; exit 0; }
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || exit 1
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "[parlance] installing PostgreSQL for the persistence tests..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 || \
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1; } || exit 1
fi
ver=$(ls /etc/postgresql | sort -V | tail -n1)
conf=/etc/postgresql/$ver/main
grep -q "parlance-trust" "$conf/pg_hba.conf" || \
  sed -i '1i host all all 127.0.0.1/32 trust # parlance-trust\nlocal all all trust # parlance-trust' "$conf/pg_hba.conf"
pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >/dev/null 2>&1
for _ in $(seq 1 30); do probe && break; sleep 1; done
probe || exit 1
psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1 || psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null 2>&1
exit 0
