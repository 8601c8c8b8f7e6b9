#!/usr/bin/env bash
# A private PostgreSQL server for the tests: no systemd, no Docker, no system cluster.
#
# Usage:
#   .ci/postgres.sh start   [--port PORT]
#   .ci/postgres.sh status
#   .ci/postgres.sh stop
#   .ci/postgres.sh destroy         # stop and delete the cluster (next start runs initdb again)
#
#   eval "$(.ci/postgres.sh start)"  # sets PG_URL=postgresql+psycopg://directory@127.0.0.1:55432/directory_test
#
#   .venv/bin/python .ci/check_pg.py "$PG_URL"   # smoke check of a new server (psycopg 3,
#                     UTF-8, the unaccent extension); use a database of its own, not a shared one
#
# `start` installs Debian's PostgreSQL server if /usr/lib/postgresql/*/bin/postgres is missing
# (needs root; apt-get, non-interactive), creates a cluster with initdb in $PG_STATE_DIR on the
# first run (as the `postgres` OS user when run as root: initdb refuses root), starts it with
# pg_ctl listening on 127.0.0.1:$PG_PORT only (unix socket in $PG_STATE_DIR/run), trust auth,
# creates the role $PG_USER and the database $PG_DB (owned by it), waits for pg_isready, and
# prints exactly one line on stdout:
#   PG_URL=postgresql+psycopg://USER@127.0.0.1:PORT/DB      (SQLAlchemy URL, psycopg 3 driver)
# also written to $PG_STATE_DIR/url (plain URL), $PG_STATE_DIR/env (the PG_URL= line) and
# $PG_STATE_DIR/dsn (libpq form, postgresql://USER@127.0.0.1:PORT/DB, for psycopg.connect()).
# Everything else goes to stderr. `start` is idempotent (a running server just prints its URL);
# `stop` is `pg_ctl stop -m fast` and keeps the data, so the next start is a warm one.
# `status` exits 0 when running and ready, 3 when not running, 1 when running but not ready.
#
# Environment (command-line options win):
#   PG_PORT           TCP port on 127.0.0.1       (default 55432)
#   PG_STATE_DIR      cluster, log, url files     (default /tmp/directory-pg)
#   PG_USER           role created for the tests  (default directory; LOGIN CREATEDB, owns PG_DB;
#                     the superuser `postgres` can log in too, over TCP with trust auth)
#   PG_DB             database                    (default directory_test)
#   PG_START_TIMEOUT  seconds for pg_ctl -w       (default 60)
#   PG_FAST           1 (default): fsync/synchronous_commit/full_page_writes off; a crash of
#                     the machine can lose the test data, nothing else. 0: PostgreSQL's defaults.
set -Eeuo pipefail

SELF="postgres.sh"
die() { echo "$SELF: ERROR: $*" >&2; exit 1; }
log() { echo "$SELF: $*" >&2; }
on_err() {
    local rc=$? line=$1 cmd=$2
    echo "$SELF: ERROR: command failed (exit $rc) at line $line: $cmd" >&2
    exit "$rc"
}
trap 'on_err "$LINENO" "$BASH_COMMAND"' ERR

CMD=${1:-}
[[ $# -gt 0 ]] && shift
PORT=${PG_PORT:-55432}
STATE_DIR=${PG_STATE_DIR:-/tmp/directory-pg}
DB_USER=${PG_USER:-directory}
DB_NAME=${PG_DB:-directory_test}
START_TIMEOUT=${PG_START_TIMEOUT:-60}
FAST=${PG_FAST:-1}

while [[ $# -gt 0 ]]; do
    case $1 in
        --port|-p) PORT=${2:?--port needs a value}; shift 2 ;;
        --port=*) PORT=${1#*=}; shift ;;
        -h|--help) CMD=help; shift ;;
        *) die "unknown option: $1 (see: $0 --help)" ;;
    esac
done

if ! [[ $PORT =~ ^[0-9]+$ ]] || (( PORT < 1024 || PORT > 65535 )); then
    die "PG_PORT/--port must be a port number 1024-65535, got '$PORT'"
fi
[[ $DB_USER =~ ^[a-z_][a-z0-9_]*$ ]] || die "PG_USER must be a plain lower-case identifier, got '$DB_USER'"
[[ $DB_NAME =~ ^[a-z_][a-z0-9_]*$ ]] || die "PG_DB must be a plain lower-case identifier, got '$DB_NAME'"
[[ $START_TIMEOUT =~ ^[0-9]+$ ]] || die "PG_START_TIMEOUT must be a number of seconds, got '$START_TIMEOUT'"
case $STATE_DIR in /*) ;; *) STATE_DIR=$PWD/$STATE_DIR ;; esac
[[ $STATE_DIR =~ ^[A-Za-z0-9/._-]+$ ]] || die "PG_STATE_DIR must be a plain path (letters, digits, / . _ -), got '$STATE_DIR'"

DATA_DIR=$STATE_DIR/data
RUN_DIR=$STATE_DIR/run          # unix socket and lock file (not /var/run/postgresql)
LOG_FILE=$STATE_DIR/postgres.log
URL_FILE=$STATE_DIR/url
ENV_FILE=$STATE_DIR/env
DSN_FILE=$STATE_DIR/dsn

usage() { sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

# Run a PostgreSQL tool as the cluster's owner: `postgres` when we are root, else ourselves.
# The tools run from / so that a cwd the postgres user cannot enter (e.g. /root) does not matter.
if [[ $(id -u) -eq 0 ]]; then
    OWNER=postgres
    as_owner() { (cd / && runuser -u postgres -- env LC_ALL=C.UTF-8 LANG=C.UTF-8 "$@"); }
else
    OWNER=$(id -un)
    as_owner() { (cd / && env LC_ALL=C.UTF-8 LANG=C.UTF-8 "$@"); }
fi

find_bindir() {  # newest installed server version
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/postgres && -x $d/initdb && -x $d/pg_ctl ]] || continue
        if [[ -z $best ]] || (( $(basename "$(dirname "$d")") > $(basename "$(dirname "$best")") )); then
            best=$d
        fi
    done
    [[ -n $best ]] && echo "$best"
}

install_server() {
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/postgres) are missing and installing them needs root"
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL server binaries are missing and apt-get is not available"
    log "PostgreSQL server not found: installing Debian's postgresql package (apt-get, first run only)"
    local t0=$SECONDS
    # We run our own cluster, so don't let the package create (and try to start) the system
    # cluster 15/main on port 5432: postgresql-common reads this drop-in when it is installed.
    mkdir -p /etc/postgresql-common/createcluster.d
    if [[ ! -e /etc/postgresql-common/createcluster.d/00-directory-ci.conf ]]; then
        printf '%s\n' "# written by the directory project's .ci/postgres.sh: it runs its own cluster" \
            "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/00-directory-ci.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    local apt_log=/tmp/directory-pg-apt.log
    if ! { apt-get update -q && apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql; } \
            </dev/null >"$apt_log" 2>&1; then
        tail -n 40 "$apt_log" >&2 || true
        die "apt-get install postgresql failed (log: $apt_log)"
    fi
    find_bindir >/dev/null || { tail -n 40 "$apt_log" >&2; die "postgresql installed but no /usr/lib/postgresql/*/bin/postgres found"; }
    log "installed PostgreSQL in $((SECONDS - t0)) s"
}

is_running() {  # pg_ctl status on our data dir
    [[ -f $DATA_DIR/PG_VERSION ]] || return 1
    as_owner "$BINDIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

running_port() {  # the port the running server was started with (from postmaster.pid, line 4)
    sed -n '4p' "$DATA_DIR/postmaster.pid" 2>/dev/null
}

psql_admin() {  # psql as superuser over the unix socket in RUN_DIR
    as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$1" -U postgres -d postgres "${@:2}"
}

print_url() {
    local port=$1
    local url="postgresql+psycopg://$DB_USER@127.0.0.1:$port/$DB_NAME"
    printf '%s\n' "$url" > "$URL_FILE"
    printf 'PG_URL=%s\n' "$url" > "$ENV_FILE"
    printf 'postgresql://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$port" "$DB_NAME" > "$DSN_FILE"
    printf 'PG_URL=%s\n' "$url"
}

ensure_role_and_db() {
    local port=$1
    psql_admin "$port" <<SQL >&2
SELECT 'CREATE ROLE $DB_USER LOGIN CREATEDB'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') \gexec
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
}

init_cluster() {
    log "creating a new cluster in $DATA_DIR (initdb)"
    rm -rf "$DATA_DIR"
    mkdir -p "$DATA_DIR"
    chown "$OWNER" "$DATA_DIR"
    chmod 700 "$DATA_DIR"
    local initdb_log=$STATE_DIR/initdb.log
    if ! as_owner "$BINDIR/initdb" -D "$DATA_DIR" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$initdb_log" 2>&1; then
        tail -n 30 "$initdb_log" >&2 || true
        die "initdb failed (log: $initdb_log)"
    fi
    # Settings that must hold for every start; the port comes from the pg_ctl command line.
    cat >> "$DATA_DIR/postgresql.conf" <<EOF

# ---- written by .ci/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN_DIR'
max_connections = 100
log_min_messages = warning
log_connections = off
EOF
    if [[ $FAST == 1 ]]; then
        cat >> "$DATA_DIR/postgresql.conf" <<'EOF'
# throwaway test data: trade durability for speed
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
    chown "$OWNER" "$DATA_DIR/postgresql.conf"
}

cmd_start() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    flock -w 300 9 || die "another start/stop holds $STATE_DIR/lock for more than 300 s"

    BINDIR=$(find_bindir) || { install_server; BINDIR=$(find_bindir); }
    local version; version=$(basename "$(dirname "$BINDIR")")

    if is_running; then
        local rport; rport=$(running_port)
        [[ -n $rport && $rport != "$PORT" ]] && log "WARNING: the running server listens on port $rport, not $PORT; run '$0 stop' first to change it"
        PORT=${rport:-$PORT}
        as_owner "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 30 || die "server running (data $DATA_DIR) but not ready on port $PORT; log: $LOG_FILE"
        ensure_role_and_db "$PORT"
        log "already running on 127.0.0.1:$PORT"
        print_url "$PORT"
        return 0
    fi

    mkdir -p "$RUN_DIR"
    chown "$OWNER" "$STATE_DIR" "$RUN_DIR"
    as_owner test -w "$STATE_DIR" -a -x "$STATE_DIR" \
        || die "$STATE_DIR is not usable by the OS user '$OWNER' (a parent directory is closed to it?); set PG_STATE_DIR to a path under /tmp"
    if [[ -d $DATA_DIR && $(stat -c %U "$DATA_DIR") != "$OWNER" ]]; then
        log "giving $DATA_DIR to '$OWNER' (it belonged to $(stat -c %U "$DATA_DIR"))"
        chown -R "$OWNER" "$DATA_DIR"
    fi
    if [[ ! -f $DATA_DIR/PG_VERSION ]]; then
        init_cluster
    elif [[ $(<"$DATA_DIR/PG_VERSION") != "$version" ]]; then
        log "cluster in $DATA_DIR is version $(<"$DATA_DIR/PG_VERSION"), server is $version: recreating it"
        init_cluster
    fi
    # a stale postmaster.pid (killed server, rebooted machine) is handled by postgres itself
    touch "$LOG_FILE"; chown "$OWNER" "$LOG_FILE"
    [[ -s $LOG_FILE ]] && { mv -f "$LOG_FILE" "$LOG_FILE.prev"; touch "$LOG_FILE"; chown "$OWNER" "$LOG_FILE"; }

    log "starting PostgreSQL $version on 127.0.0.1:$PORT (data $DATA_DIR)"
    local t0=$SECONDS
    # fd 9 (the lock) is closed for the server so the lock is not held by the postmaster
    if ! as_owner "$BINDIR/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$START_TIMEOUT" \
            -o "-p $PORT" start </dev/null >"$STATE_DIR/pg_ctl.out" 2>&1 9>&-; then
        echo "$SELF: ERROR: pg_ctl could not start the server on port $PORT" >&2
        cat "$STATE_DIR/pg_ctl.out" >&2 || true
        echo "---- last 30 lines of $LOG_FILE ----" >&2
        tail -n 30 "$LOG_FILE" >&2 || true
        echo "---- end of log ----" >&2
        as_owner "$BINDIR/pg_ctl" -D "$DATA_DIR" stop -m immediate >/dev/null 2>&1 9>&- || true
        exit 1
    fi
    local i
    for ((i = 0; i < START_TIMEOUT * 2; i++)); do
        as_owner "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 1 && break
        sleep 0.5
    done
    as_owner "$BINDIR/pg_isready" -h 127.0.0.1 -p "$PORT" -t 1 >&2 || die "server started but pg_isready fails on 127.0.0.1:$PORT; log: $LOG_FILE"
    ensure_role_and_db "$PORT"
    log "PostgreSQL is ready on 127.0.0.1:$PORT after $((SECONDS - t0)) s (log $LOG_FILE)"
    print_url "$PORT"
}

cmd_stop() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    flock -w 300 9 || die "another start/stop holds $STATE_DIR/lock for more than 300 s"
    rm -f "$URL_FILE" "$ENV_FILE" "$DSN_FILE"
    if ! BINDIR=$(find_bindir) || ! is_running; then
        log "not running"
        return 0
    fi
    log "stopping PostgreSQL (data $DATA_DIR)"
    as_owner "$BINDIR/pg_ctl" -D "$DATA_DIR" stop -m fast -w -t 60 >&2 9>&- \
        || { log "fast shutdown failed; trying immediate"; as_owner "$BINDIR/pg_ctl" -D "$DATA_DIR" stop -m immediate -w -t 30 >&2 9>&-; }
}

cmd_status() {
    if ! BINDIR=$(find_bindir) || ! is_running; then
        log "not running"
        exit 3
    fi
    local port; port=$(running_port)
    if as_owner "$BINDIR/pg_isready" -h 127.0.0.1 -p "$port" -t 5 >&2; then
        printf 'PG_URL=postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$port" "$DB_NAME"
        exit 0
    fi
    log "server process running but not ready on port $port; log: $LOG_FILE"
    exit 1
}

cmd_destroy() {
    cmd_stop
    if [[ -d $STATE_DIR ]]; then
        rm -rf "$STATE_DIR"
        log "removed $STATE_DIR"
    fi
}

case $CMD in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    destroy) cmd_destroy ;;
    help|-h|--help) usage ;;
    "") usage; exit 2 ;;
    *) die "unknown command '$CMD' (start, stop, status, destroy)" ;;
esac
