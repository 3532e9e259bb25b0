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
    "1 single-row cometchat.ingest() (info)"
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
# The targets' ratios are the medians of each run's ratio: with one run, the
# bulk COPY row shows exactly the ratio of that run.
copy_run=$(sed -nE 's/^  2 bulk COPY \/ plain COPY +([0-9.]+)$/\1/p' "$OUT")
[[ -n $copy_run ]] || fail "no ratio of the run for the bulk COPY"
grep -qE "^\| 2 bulk COPY FROM file .*\| ${copy_run//./\\.}x baseline +\|" "$OUT" ||
    fail "the bulk COPY row does not show the run's ratio $copy_run"
# ... and a median of ratios is not the ratio of the medians: runs with
# ratios 1, 0.25 and 1.5 (rates a 100 100 300, b 100 400 200) give 1, where
# the ratio of the medians would give 0.5.
got=$(psql -X -At -v ON_ERROR_STOP=1 \
    -c "BEGIN" \
    -c "INSERT INTO bench.results (scenario, variant, run, events, seconds) VALUES
          (99, 'a', 1, 100, 1), (99, 'b', 1, 100, 1), (99, 'a', 2, 100, 1), (99, 'b', 2, 400, 1),
          (99, 'a', 3, 300, 1), (99, 'b', 3, 200, 1)" \
    -c "SELECT bench.median_ratio(99, 'a', 'b')" -c "ROLLBACK" | sed -n 3p) ||
    fail "bench.median_ratio could not be run"
[[ $got == 1 ]] || fail "bench.median_ratio gave '$got', not 1"
echo "bench smoke: ok"
