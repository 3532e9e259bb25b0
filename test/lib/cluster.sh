# shellcheck shell=bash
# A private, throwaway PostgreSQL cluster (of the server PGBIN names):
# initdb into a fresh directory,
# its unix socket in that directory, no TCP listener, deleted afterwards.
#
#   cc_cluster_start WORKDIR   sets CC_PGROOT, CC_PGDATA, CC_PGLOG and exports
#                              PGHOST, PGPORT, PGUSER for every client after it
#   cc_cluster_stop            stops the server (quietly; safe to call twice)
#   cc_wait_ready              waits until the server accepts connections
#   cc_psql ARGS...            psql without ~/.psqlrc, stopping at the first error
#   cc_createdb NAME [EXT...]  a new database with those extensions

# As root, the server runs as the postgres OS user (initdb refuses root); as
# anyone else, as that user.  The command runs from the cluster directory,
# because the server's user may not be allowed into the caller's directory.
cc_as_server_user() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$CC_PGROOT" && runuser -u postgres -- "$@")
    else
        (cd "$CC_PGROOT" && "$@")
    fi
}

# A port nobody listens on.  The server opens no TCP socket and its unix
# socket sits in a private directory, so the port only names that socket;
# picking a free one still keeps clear of anything else on the machine.
cc_free_port() {
    local port tries
    for ((tries = 0; tries < 200; tries++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    cc_die "no free port found"
}

cc_cluster_start() {
    local work=$1
    CC_PGROOT=$work/pg
    CC_PGDATA=$CC_PGROOT/data
    CC_PGLOG=$CC_PGROOT/server.log
    mkdir -p "$CC_PGROOT"
    if [[ $EUID -eq 0 ]]; then
        # mktemp made WORKDIR 0700 for root: let the postgres user through to
        # its own subdirectory, and nothing more.
        chmod 0711 "$work"
        chown postgres:postgres "$CC_PGROOT"
    fi
    chmod 0700 "$CC_PGROOT"

    PGPORT=$(cc_free_port)
    PGHOST=$CC_PGROOT
    PGUSER=postgres
    export PGHOST PGPORT PGUSER

    cc_say "starting a private $("$PGBIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /') cluster in $CC_PGROOT (port $PGPORT, socket only)"
    if ! cc_as_server_user "$PGBIN/initdb" -D "$CC_PGDATA" -U postgres --auth=trust \
            --encoding=UTF8 --no-locale --no-sync >"$CC_PGROOT/initdb.log" 2>&1 </dev/null; then
        cat -- "$CC_PGROOT/initdb.log" >&2
        cc_die "initdb failed"
    fi
    cat >>"$CC_PGDATA/postgresql.conf" <<CONF

# cometchat_webhooks test cluster
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$CC_PGROOT'
fsync = off
synchronous_commit = off
full_page_writes = off
max_prepared_transactions = 10
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%u@%d '
CONF
    # test/run's clusters publish (test/scripts/cdc.sh); the benchmark's do not.
    if [[ -n ${CC_WAL_LEVEL:-} ]]; then
        echo "wal_level = $CC_WAL_LEVEL" >>"$CC_PGDATA/postgresql.conf"
    fi
    # The ingest counters (cometchat.ingest_stats) need the library loaded at
    # server start; CC_PRELOAD=none leaves it out.  test/run's 15 cluster also
    # preloads pg_cron (Debian's postgresql-15-cron), for test/scripts/cron.sh;
    # not under valgrind (its worker is not ours to check).  Its jobs run in
    # background workers: the cluster listens on no TCP port.
    local preload=${CC_PRELOAD:-cometchat_webhooks}
    [[ $preload == none ]] && preload=
    if [[ -n ${CC_PG_CRON:-} && -f $("$PGBIN/pg_config" --pkglibdir 2>/dev/null)/pg_cron.so ]] && ((!${CC_VALGRIND:-0})); then
        preload=${preload:+$preload,}pg_cron
        echo "cron.use_background_workers = on" >>"$CC_PGDATA/postgresql.conf"
    fi
    if [[ -n $preload ]]; then
        echo "shared_preload_libraries = '$preload'" >>"$CC_PGDATA/postgresql.conf"
    fi
    local server=()
    if ((${CC_VALGRIND:-0})); then
        cc_valgrind_wrapper
        server=(-p "$CC_PGROOT/postgres-under-valgrind")
    fi
    if ! cc_as_server_user "$PGBIN/pg_ctl" -D "$CC_PGDATA" -l "$CC_PGLOG" -w -t 300 "${server[@]}" start \
            >"$CC_PGROOT/pg_ctl.log" 2>&1 </dev/null; then
        cat -- "$CC_PGROOT/pg_ctl.log" "$CC_PGLOG" >&2 || true
        cc_die "the PostgreSQL server did not start"
    fi
}

# The server under valgrind memcheck: every process (postmaster and each
# backend it forks) writes its own report into $CC_PGROOT/valgrind/.
# test/valgrind.supp silences what PostgreSQL itself is known to do (padding
# bytes of structs written to files and sockets).
cc_valgrind_wrapper() {
    mkdir -p "$CC_PGROOT/valgrind"
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$CC_PGROOT/valgrind"
    cp -- "$CC_ROOT/test/valgrind.supp" "$CC_PGROOT/valgrind.supp"
    cat >"$CC_PGROOT/postgres-under-valgrind" <<SH
#!/bin/sh
# valgrind's own temporary files go where the server's user may write.
TMPDIR=$CC_PGROOT/valgrind
export TMPDIR
exec valgrind --tool=memcheck --quiet --trace-children=no --num-callers=40 \\
    --suppressions=$CC_PGROOT/valgrind.supp --gen-suppressions=all \\
    --log-file=$CC_PGROOT/valgrind/%p.log "$PGBIN/postgres" "\$@"
SH
    chmod 0755 "$CC_PGROOT/postgres-under-valgrind"
}

cc_cluster_stop() {
    [[ -n ${CC_PGDATA:-} && -f $CC_PGDATA/postmaster.pid ]] || return 0
    cc_as_server_user "$PGBIN/pg_ctl" -D "$CC_PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 </dev/null ||
        cc_as_server_user "$PGBIN/pg_ctl" -D "$CC_PGDATA" -m immediate -w -t 60 stop >/dev/null 2>&1 </dev/null ||
        true
}

cc_psql() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# After a crash the server restarts and refuses connections while it
# recovers; waiting keeps one crash from failing every test after it.
cc_wait_ready() {
    local i
    for ((i = 0; i < 120; i++)); do
        "$PGBIN/pg_isready" -q </dev/null && return 0
        sleep 0.5
    done
    return 1
}

cc_createdb() {
    local db=$1 ext
    shift
    cc_wait_ready || return 1
    cc_psql -d postgres -c "CREATE DATABASE \"$db\" TEMPLATE template0" </dev/null >/dev/null || return 1
    for ext in "$@"; do
        cc_psql -d "$db" -c "CREATE EXTENSION \"$ext\"" </dev/null >/dev/null || return 1
    done
}
