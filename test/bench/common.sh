# shellcheck shell=bash
# test/bench/common.sh: what the benchmark scripts that run against libpq's
# environment share (ledger_growth.sh, routing.sh); sourced.  Sets ROOT (the
# checkout), PGBIN (default: PostgreSQL 15's binaries) and a UTF-8 locale.

# shellcheck disable=SC2034  # used by the scripts that source this
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export LC_ALL=C.UTF-8 PGCLIENTENCODING=UTF8

# say TEXT...: a progress line, with the time.
say() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
# psql_do ARG...: psql, quiet, stopping at the first error.
psql_do() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# sql STATEMENT: its result, unaligned, without headers.
sql() { psql_do -At -c "$1" </dev/null; }

# pgbench_tps FILE T: transactions per second of FILE's script run by
# pgbench, 4 clients on 2 threads, prepared statements, T transactions each,
# without waiting for the WAL flush at commit (as a receiver that acknowledges
# at once would); pgbench's output is left in FILE.out.  Exits when pgbench
# fails or any of its transactions failed.
pgbench_tps() {
    PGOPTIONS='-c synchronous_commit=off' "$PGBIN/pgbench" -n -c 4 -j 2 -M prepared -t "$2" \
        -f "$1" >"$1.out" 2>&1 </dev/null || { cat -- "$1.out" >&2; exit 1; }
    if grep -q 'number of failed transactions: [1-9]' "$1.out"; then
        cat -- "$1.out" >&2
        exit 1
    fi
    awk '/^tps = / {printf "%.0f", $3 * 1}' "$1.out"
}

# median N...: the middle one (the lower middle of an even count).
median() {
    printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
