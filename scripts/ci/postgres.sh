#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the scale-out test and for trying a Postgres-backed Prefect
# server by hand. Debian's packages only; nothing is downloaded from anywhere else.
#
#   scripts/ci/postgres.sh install       # apt-get install postgresql if its binaries are missing (needs root)
#   scripts/ci/postgres.sh start DIR     # init a cluster in DIR (if new), start it on 127.0.0.1:<free port>,
#                                        # create user+database `prefect`, print the SQLAlchemy URL on stdout
#   scripts/ci/postgres.sh url DIR       # print the URL of the running cluster in DIR again
#   scripts/ci/postgres.sh stop DIR      # stop the cluster in DIR (fast shutdown); DIR is left for inspection
#
# The URL is `postgresql+asyncpg://prefect:<random password>@127.0.0.1:<port>/prefect`, ready for
# PREFECT_SERVER_DATABASE_CONNECTION_URL. It is also written to DIR/url (mode 600).
#
# PostgreSQL refuses to run as root: when started as root the cluster runs as the `postgres` system user
# (created by the Debian package) and DIR is handed to that user, so DIR's parent must be traversable by it
# (anything under /tmp from mktemp -d is). Extra server settings: POSTGRES_OPTS="-c fsync=off ...".
# Exit codes: 0 ok, 2 usage, 3 PostgreSQL is not installed and cannot be installed here (not root / no apt).
set -euo pipefail

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

pg_bindir() {
    local dir
    # Debian keeps the server binaries off PATH, one directory per major version; take the newest.
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
        return 0
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install_postgres() {
    if pg_bindir >/dev/null; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        log "PostgreSQL binaries not found and cannot install them (needs root and apt-get)"
        exit 3
    fi
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # --no-install-recommends: the server and its client only; no cluster is auto-created that we would use.
    apt-get install -y -qq --no-install-recommends postgresql >&2
    pg_bindir >/dev/null || { log "postgresql installed but initdb/pg_ctl not found"; exit 3; }
}

# Run a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

random_hex() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

start_cluster() {
    local dir=$1 bindir data port password url attempt
    install_postgres
    bindir=$(pg_bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    data="$dir/data"
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || { log "no 'postgres' system user to run the server as"; exit 3; }
        chown postgres: "$dir"
        chmod 700 "$dir"
        runuser -u postgres -- test -w "$dir" || {
            log "$dir is not reachable by the postgres user (is a parent directory private to root?)"
            exit 2
        }
    fi
    if [[ -f "$data/postmaster.pid" ]] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "a cluster is already running in $data"
        cat "$dir/url"
        return 0
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        # Admin access only through the Unix socket in DIR (peer/trust for the owner); TCP needs a password.
        as_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; log "initdb failed"; exit 1; }
        random_hex >"$dir/password"
        chmod 600 "$dir/password"
        [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/password"
    fi
    password=$(cat "$dir/password")
    for attempt in 1 2 3; do
        port=$(free_port)
        # shellcheck disable=SC2086  # POSTGRES_OPTS is a list of server options on purpose
        if as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start -o \
            "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c max_connections=200 ${POSTGRES_OPTS:-}" \
            >/dev/null; then
            break
        fi
        log "start on port $port failed (attempt $attempt); see $dir/server.log"
        [[ $attempt -eq 3 ]] && { tail -n 20 "$dir/server.log" >&2 || true; exit 1; }
    done
    echo "$port" >"$dir/port"
    # Idempotent: a restarted cluster keeps its role and database.
    as_owner "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
SELECT 'CREATE ROLE prefect LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'prefect') \gexec
ALTER ROLE prefect PASSWORD '$password';
SELECT 'CREATE DATABASE prefect OWNER prefect' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'prefect') \gexec
SQL
    url="postgresql+asyncpg://prefect:${password}@127.0.0.1:${port}/prefect"
    (umask 077 && echo "$url" >"$dir/url")
    log "PostgreSQL running in $data on 127.0.0.1:$port (log: $dir/server.log)"
    echo "$url"
}

stop_cluster() {
    local dir=$1 bindir
    bindir=$(pg_bindir) || { log "PostgreSQL is not installed; nothing to stop"; return 0; }
    if [[ ! -f "$dir/data/postmaster.pid" ]]; then
        log "no running cluster in $dir"
        return 0
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    log "stopped the cluster in $dir/data"
}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

case "${1:-}" in
    install) install_postgres; log "PostgreSQL binaries in $(pg_bindir)" ;;
    start) [[ $# -eq 2 ]] || usage; start_cluster "$2" ;;
    url) [[ $# -eq 2 ]] || usage; cat "$2/url" ;;
    stop) [[ $# -eq 2 ]] || usage; stop_cluster "$2" ;;
    bindir) pg_bindir ;;
    *) usage ;;
esac
