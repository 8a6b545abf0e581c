#!/usr/bin/env bash
# Throw-away PostgreSQL server for the test suite (CI and `make test-postgres`).
#   .ci/postgres.sh start   install PostgreSQL if missing, initdb into a temp dir, start it on 127.0.0.1
#                           (a free port, else 55432) as a non-root user, create the role and database,
#                           and print the DATABASE_URL on stdout. Running it again while the server is up
#                           prints the same URL.
#   .ci/postgres.sh stop    stop the server and delete its data directory.
# The data directory holds test data only, so durability is switched off (fsync, synchronous_commit).
set -euo pipefail

PGDIR="${ZWGK_PGDIR:-${TMPDIR:-/tmp}/zwgk-ci-postgres}"
DATA="$PGDIR/data"
DB_USER=zwgk
DB_PASSWORD=zwgk
DB_NAME=zwgk

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install_postgres() {
    log "PostgreSQL not found; installing it with apt-get"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { log "not root and no sudo: install PostgreSQL first"; exit 1; }
        sudo="sudo"
    fi
    $sudo apt-get update -qq >&2
    # The Debian package would also start its own cluster on 5432; we do not use it.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
}

# Commands run as the user who owns the data directory: postgres refuses to run as root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    local py
    py="$(command -v python3.11 || command -v python3 || true)"
    if [ -n "$py" ]; then
        "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
            && return 0
    fi
    echo 55432
}

url() {
    echo "postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$(cat "$PGDIR/port")/$DB_NAME"
}

running() {
    [ -f "$PGDIR/port" ] && [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

psql_admin() {
    as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$(cat "$PGDIR/port")" -d postgres "$@"
}

start() {
    BIN="$(find_bindir)" || { install_postgres; BIN="$(find_bindir)"; }
    if running; then
        url
        return 0
    fi
    mkdir -p "$PGDIR"
    if [ "$(id -u)" -eq 0 ]; then
        id -u "$RUN_AS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_AS"
        chown "$RUN_AS" "$PGDIR"
        chmod 700 "$PGDIR"
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        rm -rf "$DATA"
        as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
            || { cat "$PGDIR/initdb.log" >&2; exit 1; }
    fi
    local port opts="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDIR -c max_connections=100"
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    for port in "$(free_port)" 55432; do
        echo "$port" >"$PGDIR/port"
        if as_owner "$BIN/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 start \
            -o "$opts -p $port" \
            >/dev/null; then
            break
        fi
        log "could not start on port $port"
        tail -n 20 "$PGDIR/server.log" >&2 || true
        rm -f "$PGDIR/port"
    done
    [ -f "$PGDIR/port" ] || exit 1
    psql_admin <<SQL
SELECT 'CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD ''$DB_PASSWORD'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER')\gexec
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME')\gexec
SQL
    log "$("$BIN/postgres" --version) running on 127.0.0.1:$(cat "$PGDIR/port"), data in $DATA"
    url
}

stop() {
    if BIN="$(find_bindir)" && [ -f "$DATA/postmaster.pid" ]; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PGDIR"
}

RUN_AS="${ZWGK_PG_USER:-postgres}"
case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) BIN="$(find_bindir)" && running && url ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
