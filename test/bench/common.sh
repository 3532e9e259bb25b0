# shellcheck shell=bash
# test/bench/common.sh: what the benchmark scripts share; sourced, with
# PGBIN set to the binaries of the server they measure.

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
