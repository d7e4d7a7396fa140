#!/usr/bin/env bash
# Install what the tests need and run the whole suite on SQLite and on a throw-away PostgreSQL cluster.
# Extra arguments go to pytest (e.g. scripts/test.sh -k nik).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

bash scripts/install.sh test

need_apt=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing ${need_apt[*]} from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing ${need_apt[*]}: install them with apt-get (needs root)" >&2
    exit 1
  fi
fi

# a throw-away PostgreSQL cluster on a spare port under a temp dir
pgbin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
pgdir="$(mktemp -d /tmp/ktpel-pg.XXXXXX)"
port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = "0" ]; then chown postgres "$pgdir"; fi
as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
stop_pg() { as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
trap stop_pg EXIT

export KTPEL_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
export PYTHONDONTWRITEBYTECODE=1
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ $status -eq 5 ]; then echo "no test ran: failing" >&2; exit 1; fi
exit $status
