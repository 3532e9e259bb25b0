# shellcheck shell=bash
# test/receiver/stack.sh: the reference receiver behind the usual production
# plumbing, throwaway and on loopback only, for the end-to-end test
# (test/scripts/receiver_e2e.sh) and the load benchmark (test/bench/receiver.sh):
#
#   a private PostgreSQL cluster   test/lib/cluster.sh: unix socket in WORKDIR, no TCP
#   pgbouncer, transaction mode    127.0.0.1:RS_PGB_PORT, SCRAM, as the postgres OS user
#   examples/receiver/server.js    127.0.0.1:RS_HTTP_PORT, its npm packages from npm ci
#
# The caller sets ROOT (the repository) and sources this file first.  Then:
#   rs_start WORKDIR DB...  packages, the cluster, the receiver's role, DB... each
#                           with the extension and the receiver's grants, pgbouncer
#   rs_receiver_start DB    the receiver on DB (through pgbouncer); log in WORKDIR
#   rs_receiver_stop
#   rs_stop                 everything rs_start and rs_receiver_start started
#   rs_psql DB ARGS...      psql as the superuser, straight to the cluster's socket
#   rs_stop_immediate       the cluster's immediate shutdown
#   rs_start_again          and its start after it
#
# The receiver's role gets exactly what examples/receiver/README.md tells a
# team to give it, and nothing more.

: "${ROOT:?ROOT must name the repository before sourcing test/receiver/stack.sh}"

# test/lib/common.sh clears PG* and points PGBIN at PostgreSQL 15; a caller
# that names another server (test/run on 17 or 18) keeps its own.
rs_caller_pgbin=${PGBIN:-}
rs_caller_pg_config=${PG_CONFIG:-}
CC_ROOT=$ROOT
# shellcheck source=test/lib/common.sh
source "$ROOT/test/lib/common.sh"
# shellcheck source=test/lib/setup.sh
source "$ROOT/test/lib/setup.sh"
# shellcheck source=test/lib/cluster.sh
source "$ROOT/test/lib/cluster.sh"
if [[ -n $rs_caller_pgbin ]]; then
    PGBIN=$rs_caller_pgbin
    PG_CONFIG=${rs_caller_pg_config:-$PGBIN/pg_config}
elif [[ -n $rs_caller_pg_config ]]; then
    PG_CONFIG=$rs_caller_pg_config
    PGBIN=$("$PG_CONFIG" --bindir)
fi
PATH="$PGBIN:$PATH"
export PGBIN PG_CONFIG PATH

RS_ROLE=cometchat_receiver
RS_ROLE_PASSWORD=e2e$RANDOM$RANDOM
RS_HOOK_USER=cometchat
RS_HOOK_PASSWORD=hook$RANDOM$RANDOM
RS_MAX_BODY=65536
RS_WORK=
RS_PGB_PID=
RS_RECEIVER_PID=

rs_psql() {
    local db=$1
    shift
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# A port for a listener on 127.0.0.1, below the kernel's range of ephemeral
# ports: the many client connections of a load take theirs from that range,
# and one of them can hold a port that nothing listens on.  Whoever binds
# the port can still lose it to another process: the callers try again.
rs_free_port() {
    local low port tries
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
    ((low > 12000)) || low=32768
    for ((tries = 0; tries < 200; tries++)); do
        port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
    done
    cc_die "no free port found"
}

# rs_wait_port PORT SECONDS: until something listens on 127.0.0.1:PORT.
rs_wait_port() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

rs_start() {
    local db
    RS_WORK=$1
    shift
    cc_ensure_packages pgbouncer
    command -v node >/dev/null && command -v npm >/dev/null || cc_ensure_packages nodejs npm
    cc_cluster_start "$RS_WORK"
    cc_wait_ready || cc_die "the private cluster does not accept connections"
    # The role's settings are what the receiver relies on instead of SET (see
    # examples/receiver/README.md).  The cluster runs with synchronous_commit
    # off (test/lib/cluster.sh): only the role's "on" makes an answer 200 mean
    # that the row outlives an immediate shutdown.
    rs_psql postgres >/dev/null <<SQL || cc_die "could not create the receiver's role"
CREATE ROLE $RS_ROLE LOGIN PASSWORD '$RS_ROLE_PASSWORD';
ALTER ROLE $RS_ROLE SET statement_timeout = '1500ms';
ALTER ROLE $RS_ROLE SET synchronous_commit = on;
ALTER ROLE $RS_ROLE SET cometchat.on_invalid = 'quarantine';
SQL
    for db in "$@"; do
        rs_psql postgres -c "CREATE DATABASE \"$db\" TEMPLATE template0" >/dev/null &&
            rs_psql "$db" >/dev/null <<SQL || cc_die "could not set up database $db"
CREATE EXTENSION cometchat_webhooks;
GRANT USAGE ON SCHEMA cometchat TO $RS_ROLE;
GRANT INSERT (payload) ON cometchat.events TO $RS_ROLE;
GRANT EXECUTE ON FUNCTION cometchat.ingest_raw(text) TO $RS_ROLE;
SQL
    done
    rs_pgbouncer_start
}

rs_pgbouncer_start() {
    local try
    for ((try = 1; try <= 5; try++)); do
        rs_pgbouncer_try && return 0
        cc_warn "pgbouncer did not start on port $RS_PGB_PORT: $(grep -E 'FATAL|WARNING' "$RS_WORK/pgbouncer/pgbouncer.log" 2>/dev/null | tail -n 2)"
    done
    cat "$RS_WORK/pgbouncer.out" "$RS_WORK/pgbouncer/pgbouncer.log" 2>/dev/null
    cc_die "pgbouncer did not start"
}

rs_pgbouncer_try() {
    local dir=$RS_WORK/pgbouncer i
    mkdir -p "$dir"
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$dir"
    RS_PGB_PORT=$(rs_free_port)
    printf '"%s" "%s"\n' "$RS_ROLE" "$RS_ROLE_PASSWORD" >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$CC_PGROOT port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $RS_PGB_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 8
server_login_retry = 1
query_wait_timeout = 5
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$dir"/*
    chmod 0600 "$dir/userlist.txt"
    rm -f -- "$dir/pgbouncer.pid"
    # -d: pgbouncer forks and writes its pid file; it refuses to run as root.
    cc_as_server_user pgbouncer -d "$dir/pgbouncer.ini" >"$RS_WORK/pgbouncer.out" 2>&1 </dev/null || return 1
    for ((i = 0; i < 50; i++)); do
        [[ -s $dir/pgbouncer.pid ]] && break
        sleep 0.1
    done
    RS_PGB_PID=$(cat "$dir/pgbouncer.pid" 2>/dev/null)
    [[ -n $RS_PGB_PID ]] && rs_wait_port "$RS_PGB_PORT" 5 && kill -0 "$RS_PGB_PID" 2>/dev/null
}

# The receiver's npm packages from its committed lockfile, in a copy of it
# under WORKDIR, so that the repository is left as it was.
rs_receiver_install() {
    local dir=$RS_WORK/receiver
    mkdir -p "$dir"
    cp -- "$ROOT"/examples/receiver/{server.js,package.json,package-lock.json} "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$RS_WORK/npm-receiver.log" 2>&1 </dev/null ||
        { cat "$RS_WORK/npm-receiver.log"; cc_die "npm ci for the receiver failed"; }
}

rs_receiver_start() {
    local try
    [[ -d $RS_WORK/receiver/node_modules ]] || rs_receiver_install
    for ((try = 1; try <= 5; try++)); do
        rs_receiver_try "$1" && return 0
        cc_warn "the receiver did not start on port $RS_HTTP_PORT: $(tail -n 3 "$RS_WORK/receiver.log")"
    done
    cc_die "the receiver did not start"
}

rs_receiver_try() {
    local db=$1 i
    RS_HTTP_PORT=$(rs_free_port)
    # shellcheck disable=SC2034  # for the scripts that source this file
    RS_URL=http://127.0.0.1:$RS_HTTP_PORT/
    env -i PATH="$PATH" HOME="$RS_WORK" NODE_ENV=production \
        PGHOST=127.0.0.1 PGPORT="$RS_PGB_PORT" PGDATABASE="$db" PGUSER="$RS_ROLE" PGPASSWORD="$RS_ROLE_PASSWORD" \
        HOST=127.0.0.1 PORT="$RS_HTTP_PORT" POOL_SIZE="${RS_POOL_SIZE:-20}" MAX_BODY_BYTES="$RS_MAX_BODY" \
        WEBHOOK_USER="$RS_HOOK_USER" WEBHOOK_PASSWORD="$RS_HOOK_PASSWORD" \
        node "$RS_WORK/receiver/server.js" >>"$RS_WORK/receiver.log" 2>&1 </dev/null &
    RS_RECEIVER_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -qs "listening on 127.0.0.1:$RS_HTTP_PORT" "$RS_WORK/receiver.log" && return 0
        kill -0 "$RS_RECEIVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    rs_receiver_stop
    return 1
}

# rs_alive PID: the process runs (a zombie, exited but not yet reaped by
# init, as daemons are here, does not).
rs_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [[ -n $state && $state != Z ]]
}

# rs_kill PID: TERM, up to 5 s, then KILL; only a process these scripts started.
rs_kill() {
    local pid=$1 i
    [[ -n $pid ]] && rs_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        rs_alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

rs_receiver_stop() {
    rs_kill "$RS_RECEIVER_PID"
    RS_RECEIVER_PID=
}

# What pg_ctl -m immediate stop does (SIGQUIT to the postmaster), sent
# straight away so that the caller knows to the millisecond when it happened;
# returns once the postmaster has exited (a zombie waiting for init to reap
# it counts as exited).
rs_stop_immediate() {
    local pid i
    pid=$(head -n 1 "$CC_PGDATA/postmaster.pid" 2>/dev/null)
    [[ $pid =~ ^[0-9]+$ ]] && kill -QUIT "$pid" || return 1
    for ((i = 0; i < 600; i++)); do
        rs_alive "$pid" || return 0
        sleep 0.02
    done
    return 1
}

# Returns once the server accepts connections again (after crash recovery).
rs_start_again() {
    cc_as_server_user "$PGBIN/pg_ctl" -D "$CC_PGDATA" -l "$CC_PGLOG" -w -t 120 start >>"$RS_WORK/restart.log" 2>&1 </dev/null
}

rs_stop() {
    rs_receiver_stop
    rs_kill "$RS_PGB_PID"
    RS_PGB_PID=
    cc_cluster_stop
}
