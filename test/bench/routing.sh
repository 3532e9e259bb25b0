#!/usr/bin/env bash
# test/bench/routing.sh: what routing through the partitioned ledger costs a
# single-row insert, against the database libpq's environment names (PGHOST,
# PGPORT, PGUSER, PGDATABASE), which must have the extension, be empty, and
# be reached as a superuser.  test/bench/run --routing gives it a private
# cluster.  See test/bench/README.md.
#
#   test/bench/routing.sh [--events N] [--runs K] [--seed S] [--quick]
#
# A ledger that routed rows itself (a view, or a table of its own, in front
# of the partitions) could at best insert each row straight into its
# partition, as if routing cost nothing.  This measures that bound: the same
# payloads inserted one per transaction (pgbench, 4 clients) through
# cometchat.events and straight into their month's partition, in K pairs
# (default 5) of N events each (default 100,000), the first of a pair
# alternately one route and the other, so that the machine's drift cancels
# out of the pair's ratio.  Both take their ids from the ledger's sequence;
# each run's payloads are a copy of one generated chunk (test/gen/stream.sql)
# under app ids of its own, of the events of the chunk's first month only
# (so that one partition takes them all).  Prints each pair, then the median
# rates and the median of the pairs' ratios (straight / through the ledger).
set -euo pipefail

# shellcheck source=test/bench/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

EVENTS=100000
RUNS=5
SEED=20240304
while (($# > 0)); do
    case $1 in
        --events) EVENTS=${2:?--events takes a number}; shift ;;
        --runs) RUNS=${2:?--runs takes a number}; shift ;;
        --seed) SEED=${2:?--seed takes a number}; shift ;;
        --quick) EVENTS=4000; RUNS=2 ;;
        *) echo "routing.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for n in "$EVENTS" "$RUNS" "$SEED"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "routing.sh: $n is not a number" >&2; exit 2; }
done
((RUNS >= 1 && EVENTS >= 400)) || { echo "routing.sh: --runs takes 1 or more, --events 400 or more" >&2; exit 2; }

[[ $(sql "SELECT count(*) FROM cometchat.events") == 0 ]] || { echo "routing.sh: the ledger is not empty" >&2; exit 2; }
[[ $(sql "SELECT to_regproc('cometchat.create_partitions') IS NOT NULL") == t ]] ||
    { echo "routing.sh: the ledger is not partitioned (1.5 on)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/cometchat-routing-bench.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT

# One chunk of about N deliveries (8.8 a call, a tenth of them meetings'),
# its first month's events, and that month's partition.
say "generating one chunk of the stream (test/gen/stream.sql, seed $SEED)"
psql_do -f "$ROOT/test/gen/stream.sql" </dev/null >/dev/null
psql_do >/dev/null <<SQL
CREATE SCHEMA routing;
CREATE TABLE routing.chunk AS
    SELECT seq, payload FROM cc_gen.stream($SEED, $((EVENTS * 10 / 88)), $((EVENTS / 88)), n_apps => 10);
CREATE TABLE routing.month AS
    SELECT date_trunc('month', min(cometchat.event_time(payload)), 'UTC') AS m FROM routing.chunk;
DELETE FROM routing.chunk
WHERE cometchat.event_time(payload) IS NULL
   OR date_trunc('month', cometchat.event_time(payload), 'UTC') <> (SELECT m FROM routing.month);
-- Every run's copy, under app ids of its own: the run and l (the ledger) or
-- p (the partition).
CREATE TABLE routing.stream (copy text, seq bigint, payload jsonb NOT NULL, PRIMARY KEY (copy, seq));
INSERT INTO routing.stream
SELECT r || t, row_number() OVER (PARTITION BY r, t ORDER BY c.seq),
       jsonb_set(c.payload, '{appId}', to_jsonb((c.payload->>'appId') || '-' || r || t))
FROM routing.chunk c, generate_series(1, $RUNS) r, unnest(ARRAY['l', 'p']) t;
CREATE SEQUENCE routing.cursor;
SELECT count(*) FROM cometchat.create_partitions(since => (SELECT m FROM routing.month));
VACUUM ANALYZE routing.stream;
SQL
PART=$(sql "SELECT format('cometchat.%I', partition_name) FROM cometchat.ledger_partitions()
            WHERE range_from = (SELECT m FROM routing.month)")
[[ -n $PART ]] || { echo "routing.sh: create_partitions() made no partition of the chunk's month" >&2; exit 1; }
N=$(sql "SELECT count(*) FROM routing.chunk")
say "   $N deliveries a run, all of one month: partition $PART"

# rate COPY TARGET: events per second of single-row inserts of COPY's
# payloads into TARGET: cometchat.events, or the partition, with the
# ledger's next id (the partition has no default for it).
rate() {
    local next="SELECT payload FROM routing.stream WHERE copy = '$1' AND seq = (SELECT nextval('routing.cursor'))"
    if [[ $2 == cometchat.events ]]; then
        echo "INSERT INTO cometchat.events (payload) $next;"
    else
        echo "INSERT INTO $2 (id, payload) SELECT nextval('cometchat.events_id_seq'), s.payload FROM ($next) s;"
    fi >"$TMP/insert.sql"
    sql "SELECT setval('routing.cursor', 1, false)" >/dev/null
    sql "CHECKPOINT" >/dev/null
    pgbench_tps "$TMP/insert.sql" "$((N / 4))"
}

via=() straight=() ratio=()
for ((r = 1; r <= RUNS; r++)); do
    if ((r % 2)); then
        via+=("$(rate "${r}l" cometchat.events)")
        straight+=("$(rate "${r}p" "$PART")")
    else
        straight+=("$(rate "${r}p" "$PART")")
        via+=("$(rate "${r}l" cometchat.events)")
    fi
    ratio+=("$(awk -v a="${straight[-1]}" -v b="${via[-1]}" 'BEGIN {printf "%.3f", a / b}')")
    say "   run $r: through the ledger ${via[-1]} ev/s, straight into the partition ${straight[-1]} ev/s: ${ratio[-1]}"
done

# Each route stored the same events, all in the partition, through the
# trigger (which fills app_id): as many of each run's copy either way.
read -r via_n straight_n <<<"$(sql "SELECT count(*) FILTER (WHERE app_id LIKE '%l'), count(*) FILTER (WHERE app_id LIKE '%p')
                                    FROM $PART WHERE app_id ~ '-[0-9]+[lp]\$'" | tr '|' ' ')"
if [[ $via_n != "$straight_n" || $via_n == 0 ]]; then
    echo "routing.sh: $via_n events stored through the ledger, $straight_n straight into $PART" >&2
    exit 1
fi
say "   each route stored $via_n events in $PART"
echo
echo "Medians of $RUNS pairs of $((N / 4 * 4)) single-row inserts (pgbench, 4 clients); ratio: the median of the pairs' ratios."
echo
echo "| through cometchat.events, ev/s | straight into the partition, ev/s | ratio |"
echo "| ---: | ---: | ---: |"
printf "| %'d | %'d | %.2f |\n" "$(median "${via[@]}")" "$(median "${straight[@]}")" "$(median "${ratio[@]}")"
