#!/usr/bin/env bash
# test/scripts/bench_smoke.sh: the benchmark (test/bench) at tiny size, so its
# SQL and its scenarios cannot rot unnoticed.
#
# Runs test/bench/scenarios.sh --smoke (every scenario once, a few hundred
# events each, pgbench included) against the database libpq's environment
# names (test/run gives each script a fresh database with the extension), and
# checks that it printed the whole table.  Takes seconds.  Exit status 0 when
# every correctness check of the benchmark held and the table is complete;
# never fails on timing: a target missed (MISS) is fine here.
set -uo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
OUT=$(mktemp /tmp/cometchat-bench-smoke.XXXXXX)
trap 'rm -f -- "$OUT"' EXIT

fail() { printf 'BENCH SMOKE FAILURE: %s\n' "$*"; exit 1; }

for f in "$ROOT/test/bench/run" "$ROOT/test/bench/scenarios.sh"; do
    bash -n "$f" || fail "$f does not parse"
done

rc=0
"$ROOT/test/bench/scenarios.sh" --smoke >"$OUT" 2>&1 || rc=$?
cat -- "$OUT"
((rc == 0)) || fail "test/bench/scenarios.sh --smoke exited with status $rc"

# Every row of the table, each with a result a run can give.
rows=(
    "1 single-row INSERT INTO cometchat.events"
    "1 single-row cometchat.ingest()"
    "2 bulk INSERT ... SELECT"
    "2 bulk COPY FROM file"
    "3 two-person calls"
    "3 one meeting, "
    "4 duplicate storm: new events"
    "4 duplicate storm: duplicates skipped"
    "4 dead tuples in cometchat.events"
    "5 backend memory after "
)
for r in "${rows[@]}"; do
    grep -qF -- "| $r" "$OUT" || fail "the table has no row '$r'"
done
grep -E '^\| [0-9] ' "$OUT" | grep -qE '\| (WRONG|n/a) +\|' && fail "a row of the table is WRONG or n/a"
grep -q '^correctness: all [0-9]* checks passed' "$OUT" || fail "no line saying every correctness check passed"
echo "bench smoke: ok"
