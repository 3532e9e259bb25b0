#!/usr/bin/env bash
# test/bench/ledger_growth.sh: what ingesting into the current month costs as
# the ledger grows, against the database libpq's environment names (PGHOST,
# PGPORT, PGUSER, PGDATABASE), which must have the extension, be empty, and
# be reached as a superuser.  test/bench/run --growth gives it a private
# cluster.  See test/bench/README.md.
#
#   test/bench/ledger_growth.sh [--sizes N[,N...]] [--rows R] [--bulk B] [--runs K] [--cold] [--seed S] [--quick]
#
# Generates one chunk of realistic traffic with test/gen/stream.sql, as
# test/bench/verify.sh does (100,000 ringing calls and 10,000 meetings across
# 10 apps: 881,258 deliveries).  At each size of --sizes (default
# 0,5000000,20000000), after filling the ledger up to it with history, it
# measures ingest of the newest events (the first size's from the start of
# this month, each next size's a copy's step later, after every event
# already there, as time goes on):
#   - single-row ingest: pgbench, 4 clients, one payload per transaction,
#     R payloads (default 600,000: about 30 s) of the chunk moved to then,
#     under app ids of their own, in K runs (default 3) of R/K;
#   - bulk ingest: K runs, each one INSERT ... SELECT of the chunk's first B
#     deliveries (default 200,000), moved to then under app ids of the run's
#     own.
# Each run is paired with the same run into an empty ledger: a second
# database of the same cluster (the first's name and _empty), whose
# extension is made afresh at each size, takes the very same payloads the
# same way right before or after it (alternately), so that the machine's
# drift, which moves a rate by up to 40% over minutes here, cancels out of
# the pair's ratio.  Each figure is the median of its K runs, each ratio the
# median of the K pairs' ratios.  History is loaded through the real ingest
# path: copies of
# the chunk, each under app ids of its own and moved to a month of its own
# before this one (copy k about k months back), one INSERT ... SELECT each,
# after cometchat.create_partitions() has made the copy's months (when the
# function exists: on an unpartitioned ledger it runs as well).  Before each
# measurement: VACUUM ANALYZE of what changed since the last one (each copy
# of the history is vacuumed right after it is loaded, as autovacuum would),
# a CHECKPOINT and, unless --cold, a warm-up: pg_prewarm reads the lifecycle
# tables and their indexes and the indexes of the partition the events go to
# into the shared buffers, as they are on a server that has been ingesting
# for a while (the history import just before leaves its own pages there
# instead).
#
# A copy is moved by rewriting its text (growth.moved): the 10-digit epoch
# numbers and the start time in each session id move by the same whole
# number of millions of seconds (11.6 days), so every event keeps its order
# and its gaps, and its message ids get a prefix that grows with the copy's
# recency, so that later ids sort after earlier ones, as CometChat's do.
#
# Prints one line per measurement, then a table: at each size the median
# rates of the ledger and of the empty ledger beside it, and the median
# ratio of the pairs (the issue's "ratio to the empty-ledger rate measured
# in the same run").
set -euo pipefail

# shellcheck source=test/bench/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

SIZES=0,5000000,20000000
ROWS=600000
BULK=200000
RUNS=3
WARM=1
SEED=20240304
N_CALLS=100000
N_MEETINGS=10000
while (($# > 0)); do
    case $1 in
        --sizes) SIZES=${2:?--sizes takes N[,N...]}; shift ;;
        --rows) ROWS=${2:?--rows takes a number}; shift ;;
        --bulk) BULK=${2:?--bulk takes a number}; shift ;;
        --runs) RUNS=${2:?--runs takes a number}; shift ;;
        --cold) WARM=0 ;;
        --seed) SEED=${2:?--seed takes a number}; shift ;;
        --quick) SIZES=0,60000; ROWS=8000; BULK=4000; N_CALLS=4000; N_MEETINGS=400 ;;
        *) echo "ledger_growth.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "ledger_growth.sh: --sizes takes N[,N...]" >&2; exit 2; }
for n in "$ROWS" "$BULK" "$RUNS" "$SEED"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "ledger_growth.sh: $n is not a number" >&2; exit 2; }
done
((RUNS >= 1 && ROWS / RUNS >= 4)) || { echo "ledger_growth.sh: --runs takes 1 to --rows / 4" >&2; exit 2; }

[[ $(sql "SELECT count(*) FROM cometchat.events") == 0 ]] || { echo "ledger_growth.sh: the ledger is not empty" >&2; exit 2; }
# The empty ledger each run is paired with: a database of its own.
REF="$(sql "SELECT current_database()")_empty"
[[ $(sql "SELECT count(*) FROM pg_database WHERE datname = '$REF'") == 0 ]] ||
    { echo "ledger_growth.sh: database $REF exists" >&2; exit 2; }

TMP=$(mktemp -d /tmp/cometchat-growth-bench.XXXXXX)
chmod 0755 "$TMP"
trap 'rm -rf -- "$TMP"; sql "DROP DATABASE IF EXISTS \"$REF\"" >/dev/null || true' EXIT
RESULTS=$TMP/results
: >"$RESULTS"
PARTITIONED=$(sql "SELECT to_regproc('cometchat.create_partitions') IS NOT NULL")
if ((WARM)); then
    [[ $PARTITIONED == t ]] || { echo "ledger_growth.sh: the warm-up needs a partitioned ledger (1.5); --cold measures an older one" >&2; exit 2; }
    psql_do -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" </dev/null >/dev/null ||
        { echo "ledger_growth.sh: the warm-up needs pg_prewarm (contrib); --cold measures without it" >&2; exit 2; }
fi

# The measured streams and their cursor, in both databases.
STREAMS="CREATE SCHEMA growth;
CREATE TABLE growth.live (seq bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE growth.bulk (run int, seq bigint, payload jsonb NOT NULL, PRIMARY KEY (run, seq));
CREATE SEQUENCE growth.cursor;"

say "generating one chunk of the stream (test/gen/stream.sql, seed $SEED)"
psql_do -f "$ROOT/test/gen/stream.sql" </dev/null >/dev/null
psql_do <<SQL
$STREAMS
CREATE TABLE growth.chunk AS
    SELECT seq, payload FROM cc_gen.stream($SEED, $N_CALLS, $N_MEETINGS, n_apps => 10);
-- When an event happened (cometchat.event_time() is 1.5's; classify() is
-- older, so the unpartitioned ledger can be measured too).
CREATE FUNCTION growth.t(payload jsonb) RETURNS timestamptz LANGUAGE sql STABLE
    AS 'SELECT (cometchat.classify(payload)).occurred_at';
-- The 4-digit prefixes of the chunk's epoch times, and its first and last.
CREATE TABLE growth.prefixes AS
    SELECT DISTINCT left(m[1], 4)::int AS p
    FROM growth.chunk, regexp_matches(payload::text, '\\m(1[0-9]{9})\\M', 'g') m;
-- One delivery of each hour of the chunk: the months a moved copy covers
-- are the months of its moved samples.
CREATE TABLE growth.samples AS
    SELECT DISTINCT ON (date_trunc('hour', growth.t(payload))) seq, payload
    FROM growth.chunk WHERE growth.t(payload) IS NOT NULL
    ORDER BY date_trunc('hour', growth.t(payload)), seq;
CREATE TABLE growth.span AS
    SELECT extract(epoch FROM min(growth.t(payload)))::bigint AS t_min,
           extract(epoch FROM max(growth.t(payload)))::bigint AS t_max,
           extract(epoch FROM date_trunc('month', now(), 'UTC'))::bigint AS this_month
    FROM growth.chunk;
-- The expression that rewrites a payload: its app id suffixed, its message
-- id (data.call.id) prefixed with idp, its times moved by d million
-- seconds: the epoch numbers and the start time a session id carries after
-- its app id ('v1.<region>.<app>.<t_init><hash>'), each prefix rewritten in
-- the order that never rewrites a prefix an earlier replacement made.  So a
-- later copy's session ids and message ids sort after an earlier copy's, as
-- CometChat's do: an index on them grows at its right edge, not beside the
-- same ids of every older copy.
CREATE FUNCTION growth.moved(d int, suffix text, idp text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    e text := format('jsonb_set(CASE WHEN payload #> ''{data,call,id}'' IS NULL THEN payload'
                     ' ELSE jsonb_set(payload, ''{data,call,id}'', to_jsonb(%L || (payload #>> ''{data,call,id}''))) END,'
                     ' ''{appId}'', to_jsonb((payload->>''appId'') || %L))::text', idp, suffix);
    q int;
BEGIN
    FOR q IN SELECT p FROM growth.prefixes ORDER BY CASE WHEN d > 0 THEN -p ELSE p END
    LOOP
        e := format('regexp_replace(regexp_replace(%s, %L, %L, ''g''), %L, %L, ''g'')', e,
                    '\\m' || q || '([0-9]{6})\\M', (q + d) || '\\1',
                    '(v1\\.[^."]*\\.[^."]*\\.)' || q || '([0-9]{6})', '\\1' || (q + d) || '\\2');
    END LOOP;
    RETURN '(' || e || ')::jsonb';
END
\$\$;
SQL
sql "CREATE DATABASE \"$REF\" TEMPLATE template0" >/dev/null
PGDATABASE=$REF psql_do -c "$STREAMS" </dev/null >/dev/null
((WARM == 0)) || PGDATABASE=$REF sql "CREATE EXTENSION pg_prewarm" >/dev/null
CHUNK_N=$(sql "SELECT count(*) FROM growth.chunk")
((ROWS <= CHUNK_N)) || { echo "ledger_growth.sh: --rows is more than the chunk's $CHUNK_N deliveries" >&2; exit 2; }
say "   $CHUNK_N deliveries, from $(sql "SELECT to_timestamp(t_min) || ' to ' || to_timestamp(t_max) FROM growth.span")"
# The move to this month (its first event at or after the month's start),
# and the step between copies of the history (at least the chunk's span),
# also the step from one size's measured events to the next size's.
D_NOW=$(sql "SELECT ceil((this_month - t_min) / 1e6)::int FROM growth.span")
STEP=$(sql "SELECT greatest(3, ceil((t_max - t_min) / 1e6)::int + 1) FROM growth.span")
D_HIST=$(sql "SELECT floor((this_month - t_max) / 1e6)::int FROM growth.span")

# add_partitions EXPRESSION: one event of each month the rewritten chunk
# covers (from its hourly samples), then create_partitions(), which makes
# those months (a user's upkeep would have made them before their events
# arrived); the copy's INSERT then skips those few as duplicates.
add_partitions() {
    [[ $PARTITIONED == t ]] || return 0
    sql "INSERT INTO cometchat.events (payload)
         SELECT DISTINCT ON (m) p FROM (SELECT $1 AS p FROM growth.samples) c,
              LATERAL (SELECT date_trunc('month', cometchat.event_time(c.p), 'UTC') AS m) t
         WHERE m IS NOT NULL ORDER BY m" >/dev/null
    sql "SELECT count(*) FROM cometchat.create_partitions()" >/dev/null
}

# live_partitions: in the database PGDATABASE names, the months of the
# measured streams made the same way (from the first event of each month of
# growth.live, which the bulk streams' times are a part of).
live_partitions() {
    [[ $PARTITIONED == t ]] || return 0
    sql "INSERT INTO cometchat.events (payload)
         SELECT DISTINCT ON (m) payload
         FROM (SELECT seq, payload, date_trunc('month', cometchat.event_time(payload), 'UTC') AS m
               FROM growth.live) l
         WHERE m IS NOT NULL ORDER BY m, seq" >/dev/null
    sql "SELECT count(*) FROM cometchat.create_partitions()" >/dev/null
}

# reset_ref: the empty ledger made afresh, with this size's streams.
reset_ref() {
    local t
    PGDATABASE=$REF sql "SET client_min_messages = warning;
        DROP EXTENSION IF EXISTS cometchat_webhooks CASCADE; CREATE EXTENSION cometchat_webhooks;
        TRUNCATE growth.live, growth.bulk" >/dev/null
    for t in growth.live growth.bulk; do
        psql_do -c "\\copy $t TO pstdout" </dev/null | PGDATABASE=$REF psql_do -c "\\copy $t FROM pstdin"
    done
    PGDATABASE=$REF live_partitions
    PGDATABASE=$REF sql "VACUUM ANALYZE" >/dev/null
}

# vacuum_changed: VACUUM ANALYZE the tables written since their last vacuum,
# as autovacuum would have done soon after (the benchmark cluster runs
# without it): each copy of the history right after it is loaded, while it
# is the newest, and not the whole ledger again before each measurement.
vacuum_changed() {
    local t
    t=$(sql "SELECT string_agg(format('%I.%I', schemaname, relname), ', ')
             FROM pg_stat_user_tables
             WHERE schemaname IN ('cometchat', 'growth') AND (n_ins_since_vacuum > 0 OR n_dead_tup > 0)")
    [[ -z $t ]] || sql "VACUUM ANALYZE $t" >/dev/null
}

# warm_up TIME: the lifecycle tables (every table of the extension but the
# ledger's partitions) and the live streams, with their indexes, and the
# indexes of the partition of TIME (its heap is only appended to), read
# into the shared buffers, in the database PGDATABASE names.
warm_up() {
    ((WARM)) || return 0
    say "   warm-up: $(sql "
        SELECT pg_size_pretty(8192 * sum(pg_prewarm(c.oid)))
        FROM pg_class c
        WHERE c.relkind IN ('r', 'i')
          AND (c.relnamespace = 'growth'::regnamespace AND c.relname IN ('live', 'live_pkey', 'bulk', 'bulk_pkey')
               OR c.relnamespace = 'cometchat'::regnamespace
                  AND coalesce((SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.oid), c.oid) IN
                      (SELECT t.oid FROM pg_class t
                       WHERE t.relnamespace = 'cometchat'::regnamespace AND t.relkind = 'r' AND NOT t.relispartition)
               OR c.relkind = 'i' AND c.relnamespace = 'cometchat'::regnamespace
                  AND (SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.oid) IN
                      (SELECT to_regclass(format('cometchat.%I', p.partition_name))
                       FROM cometchat.ledger_partitions() p
                       WHERE p.range_from <= '$1' AND '$1' < p.range_to))")"
}

# pgbench_rate RUN: events per second of single-row inserts into the
# ledger of the database PGDATABASE names of run RUN's share of the live
# stream.
pgbench_rate() {
    local per_client=$((ROWS / RUNS / 4))
    sql "SELECT setval('growth.cursor', $((($1 - 1) * per_client * 4 + 1)), false)" >/dev/null
    echo "INSERT INTO cometchat.events (payload) SELECT payload FROM growth.live WHERE seq = (SELECT nextval('growth.cursor'));" >"$TMP/insert.sql"
    pgbench_tps "$TMP/insert.sql" "$per_client"
}

# bulk_rate RUN: events per second of one INSERT ... SELECT of run RUN's
# bulk stream into the ledger of the database PGDATABASE names.
bulk_rate() {
    local t0 t1
    t0=$EPOCHREALTIME
    sql "INSERT INTO cometchat.events (payload) SELECT payload FROM growth.bulk WHERE run = $1 ORDER BY seq" >/dev/null
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" -v n="$BULK_N" 'BEGIN {printf "%.0f", n / (b - a)}'
}

# io_mark: remember the server's I/O and WAL counters; io_report N LABEL:
# print what N inserts cost since io_mark, per thousand events: WAL bytes,
# full-page images and checkpoints, and the tables and indexes whose blocks
# most often had to be read in (were not in the shared buffers), with how
# often each was touched.  (Where a slower figure at size comes from.)
IO_RELS="SELECT relid AS oid, relname AS name, heap_blks_read AS rd, heap_blks_hit AS hit
         FROM pg_statio_all_tables WHERE schemaname IN ('cometchat', 'growth')
         UNION ALL
         SELECT indexrelid, indexrelname, idx_blks_read, idx_blks_hit
         FROM pg_statio_all_indexes WHERE schemaname IN ('cometchat', 'growth')"
if (($(sql "SHOW server_version_num") >= 170000)); then
    CKPTS="(SELECT num_timed + num_requested FROM pg_stat_checkpointer)"
else
    CKPTS="(SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)"
fi
io_mark() {
    sql "SET client_min_messages = warning;
         DROP TABLE IF EXISTS growth.io0, growth.wal0;
         CREATE TABLE growth.io0 AS $IO_RELS;
         CREATE TABLE growth.wal0 AS SELECT wal_bytes, wal_fpi, $CKPTS AS ckpt FROM pg_stat_wal" >/dev/null
}
io_report() {
    say "   $2, per 1,000 events: $(sql "
        SELECT format('WAL %s kB, %s full-page images; %s checkpoints',
                      round((w.wal_bytes - o.wal_bytes) / 1024.0 / $1 * 1000),
                      round((w.wal_fpi - o.wal_fpi) * 1000.0 / $1), $CKPTS - o.ckpt)
        FROM pg_stat_wal w, growth.wal0 o")"
    sql "SELECT format('      %-44s blocks read %7s, touched %7s', r.name,
                       round((r.rd - o.rd) * 1000.0 / $1), round((r.rd + r.hit - o.rd - o.hit) * 1000.0 / $1))
         FROM ($IO_RELS) r JOIN growth.io0 o USING (oid)
         WHERE r.rd + r.hit > o.rd + o.hit
         ORDER BY r.rd - o.rd DESC, r.hit - o.hit DESC LIMIT 10"
}

# runs LABEL RATE N: --runs runs of RATE (pgbench_rate or bulk_rate), each
# into the ledger and into the empty ledger (first in odd runs, after it in
# even ones), the first run's I/O reported for its N events.  Sets MEDIANS
# to "ledger's median|empty ledger's median|median of the runs' ratios".
runs() {
    local label=$1 rate=$2 n=$3 r ext=() ref=() ratio=()
    for ((r = 1; r <= RUNS; r++)); do
        ((r % 2 == 0)) || ref+=("$(PGDATABASE=$REF "$rate" "$r")")
        ((r > 1)) || io_mark
        ext+=("$("$rate" "$r")")
        ((r > 1)) || io_report "$n" "$label"
        ((r % 2)) || ref+=("$(PGDATABASE=$REF "$rate" "$r")")
        ratio+=("$(awk -v a="${ext[-1]}" -v b="${ref[-1]}" 'BEGIN {printf "%.3f", a / b}')")
        say "   $label, run $r: ${ext[-1]} ev/s, empty ledger ${ref[-1]} ev/s: ${ratio[-1]}"
    done
    MEDIANS="$(median "${ext[@]}")|$(median "${ref[@]}")|$(median "${ratio[@]}")"
}

measure() {
    local i=$1 r t
    local d=$((D_NOW + (i - 1) * STEP)) events
    events=$(sql "SELECT count(*) FROM cometchat.events")
    say "at $events events: preparing this month's streams"
    sql "TRUNCATE growth.live, growth.bulk" >/dev/null
    sql "INSERT INTO growth.live SELECT row_number() OVER (ORDER BY seq), $(sql "SELECT growth.moved($d, '-live$i', '$((500 + 2 * i))')")
         FROM (SELECT seq, payload FROM growth.chunk ORDER BY seq LIMIT $ROWS) c" >/dev/null
    for ((r = 1; r <= RUNS; r++)); do
        sql "INSERT INTO growth.bulk SELECT $r, seq, $(sql "SELECT growth.moved($d, '-bulk$i-$r', '$((501 + 2 * i))')")
             FROM growth.chunk ORDER BY seq LIMIT $BULK" >/dev/null
    done
    BULK_N=$(sql "SELECT count(*) FROM growth.bulk WHERE run = 1")
    live_partitions
    reset_ref
    vacuum_changed
    sql "CHECKPOINT" >/dev/null
    t=$(sql "SELECT min(growth.t(payload)) FROM growth.live")
    warm_up "$t"
    PGDATABASE=$REF warm_up "$t" >/dev/null
    say "   $events events in $(sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'cometchat.events'::regclass") partitions, $(sql "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p')"), lifecycle tables $(sql "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relname IN ('calls', 'call_outcomes', 'sessions', 'participants', 'recordings')")"
    runs single-row pgbench_rate "$((ROWS / RUNS / 4 * 4))"
    local live=$MEDIANS
    sql "CHECKPOINT" >/dev/null
    runs "bulk ($BULK_N payloads)" bulk_rate "$BULK_N"
    echo "$events|$live|$MEDIANS" >>"$RESULTS"
}

copies=0
i=0
IFS=, read -r -a sizes <<<"$SIZES"
for size in "${sizes[@]}"; do
    while (($(sql "SELECT count(*) FROM cometchat.events") < size)); do
        # Copy k: app ids suffixed -hk, about k months before this one.
        copies=$((copies + 1))
        expr=$(sql "SELECT growth.moved($((D_HIST - STEP * (copies - 1))), '-h$copies', '$((500 - copies))')")
        add_partitions "$expr"
        sql "INSERT INTO cometchat.events (payload) SELECT $expr FROM growth.chunk ORDER BY seq" >/dev/null
        vacuum_changed
        say "   history copy $copies ingested: $(sql "SELECT count(*) FROM cometchat.events") events"
    done
    i=$((i + 1))
    measure "$i"
done

# The events landed in the partitions of their months: the default partition
# holds only events without a time (verify() is not run: minutes at size).
if [[ $PARTITIONED == t ]]; then
    say "events with a time in the default partition: $(sql "SELECT count(*) FROM cometchat.events_default WHERE occurred_at IS NOT NULL"), quarantined: $(sql "SELECT count(*) FROM cometchat.rejected")"
fi
echo
echo "Medians of $RUNS runs, each beside the same run into an empty ledger; ratio: the median of the runs' ratios."
echo
echo "| events in the ledger | single-row, ev/s | empty ledger, ev/s | ratio | bulk INSERT ... SELECT, ev/s | empty ledger, ev/s | ratio |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
awk -F'|' '{ printf "| %\047d | %\047d | %\047d | %.2f | %\047d | %\047d | %.2f |\n", $1, $2, $3, $4, $5, $6, $7 }' "$RESULTS"
