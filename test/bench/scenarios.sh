#!/usr/bin/env bash
# test/bench/scenarios.sh: the scenarios of the cometchat_webhooks benchmark,
# against the database libpq's environment names (PGHOST, PGPORT, PGUSER,
# PGDATABASE), which must have the extension and a superuser (CHECKPOINT,
# COPY from a server file).  test/bench/run gives it a private cluster;
# test/scripts/bench_smoke.sh runs it with --smoke in the test suite's
# database.  See test/bench/README.md.
#
#   test/bench/scenarios.sh [--quick | --smoke] [--events N] [--runs R]
#       [--participants P] [--dup-events N] [--memory-events N] [--seed S]
#       [--bulk-timeout S] [--profile]
#
# Loads test/gen/stream.sql (schema cc_gen) and test/bench/bench.sql (schema
# bench), preloads the streams, runs every scenario R times (extension and
# baseline runs interleaved), checks every run, and prints the table.  Exit
# status: 0 when every correctness check held, whatever the timings (a
# target missed is printed as MISS); 1 when a check failed (WRONG in the
# table, and the problems listed); 2 on bad usage.
#
# BENCH_COPY_FILE names the server-side file scenario 2 copies the stream
# through (an absolute path the server can write; default: cc_bench_stream.copy
# in the server's data directory); the server removes it afterwards.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export LC_ALL=C.UTF-8 PGCLIENTENCODING=UTF8 PGAPPNAME=cometchat-bench

usage() {
    sed -n '9,12p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
    exit 2
}

# Sizes: the full benchmark, --quick (seconds) and --smoke (the test suite).
EVENTS=300000
RUNS=3
PARTICIPANTS=2000
DUP_EVENTS=60000
MEMORY_EVENTS=1000000
SEED=20240304
PROFILE=0
BULK_TIMEOUT=
MODE=full
set_mode() {
    MODE=$1
    case $MODE in
        quick) EVENTS=5000 RUNS=3 PARTICIPANTS=200 DUP_EVENTS=4000 MEMORY_EVENTS=20000 ;;
        smoke) EVENTS=400 RUNS=1 PARTICIPANTS=25 DUP_EVENTS=300 MEMORY_EVENTS=2000 ;;
    esac
}
whole() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < $3)); then
        echo "scenarios.sh: $1 needs a whole number >= $3, got '$2'" >&2
        exit 2
    fi
}
args=("$@")
# modes first, so --events N after or before --quick both win over the mode
for a in "${args[@]}"; do
    case $a in --quick) set_mode quick ;; --smoke) set_mode smoke ;; esac
done
while (($#)); do
    case $1 in
        --quick | --smoke) ;;
        --events) whole "$1" "${2:-}" 100; EVENTS=$2; shift ;;
        --runs) whole "$1" "${2:-}" 1; RUNS=$2; shift ;;
        --participants) whole "$1" "${2:-}" 2; PARTICIPANTS=$2; shift ;;
        --dup-events) whole "$1" "${2:-}" 100; DUP_EVENTS=$2; shift ;;
        --memory-events) whole "$1" "${2:-}" 100; MEMORY_EVENTS=$2; shift ;;
        --seed) whole "$1" "${2:-}" 0; SEED=$2; shift ;;
        --bulk-timeout) whole "$1" "${2:-}" 1; BULK_TIMEOUT=$2; shift ;;
        --profile) PROFILE=1 ;;
        -h | --help) usage ;;
        *) echo "scenarios.sh: unknown option '$1'" >&2; usage ;;
    esac
    shift
done

# The memory scenario ingests in batches of MEMORY_FIRST events (1% of it, at
# least 100) and looks at the backend's memory after the first batch, at 10%,
# at 50% and at the end.
MEMORY_FIRST=$((MEMORY_EVENTS / 100))
((MEMORY_FIRST >= 100)) || MEMORY_FIRST=100
MEMORY_EVENTS=$(((MEMORY_EVENTS + MEMORY_FIRST - 1) / MEMORY_FIRST * MEMORY_FIRST))
# cc_gen.stream makes about 9.9 deliveries per ringing call with its meetings
# (15% as many as calls) across 10 apps; the storm delivers everything twice.
N_APPS=10
N_CALLS=$(((EVENTS * 10 + 50) / 99)); ((N_CALLS >= 10)) || N_CALLS=10
N_MEETINGS=$((N_CALLS * 15 / 100)); ((N_MEETINGS >= 3)) || N_MEETINGS=3
D_CALLS=$(((DUP_EVENTS * 10 + 99) / 198)); ((D_CALLS >= 10)) || D_CALLS=10
D_MEETINGS=$((D_CALLS * 15 / 100)); ((D_MEETINGS >= 3)) || D_MEETINGS=3
# A bulk statement of the extension that runs longer than this is cancelled
# (TIMEOUT, a MISS; its other runs are skipped): at least 300 s, and 1 ms per
# payload, so a build that has gone quadratic cannot keep the benchmark for hours.
if [[ -z $BULK_TIMEOUT ]]; then
    BULK_TIMEOUT=$((EVENTS / 1000))
    ((BULK_TIMEOUT >= 300)) || BULK_TIMEOUT=300
fi
# verify() recomputes every lifecycle table: after each run, except in the
# memory scenario beyond this size (its checks are exact counts instead).
VERIFY_LIMIT=200000

TMP=$(mktemp -d /tmp/cometchat-bench-client.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT
COPY_FILE=${BENCH_COPY_FILE:-}
T_START=$SECONDS

say() { printf '%s\n' "$*"; }
# stage TEXT: a scenario's heading, with the seconds elapsed so far.
stage() { printf -- '-- [%5ds] %s\n' "$((SECONDS - T_START))" "$*"; }
psql_do() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql() { psql_do -At -c "$1"; }
lit() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }

CHECKS=0
FAILED=0
# check SCENARIO VARIANT RUN SQL_RETURNING_PROBLEMS: records and shows problems.
check() {
    local n
    CHECKS=$((CHECKS + 1))
    n=$(sql "SELECT bench.record($1, $(lit "$2"), $3, $4)")
    if ((n > 0)); then
        FAILED=$((FAILED + 1))
        say "!!! CORRECTNESS FAILURE in scenario $1 ($2, run $3):"
        sql "SELECT '!!!   ' || problem FROM bench.failures WHERE scenario = $1 AND variant = $(lit "$2") AND run = $3"
    fi
}

# Empties the tables, vacuums and checkpoints: every timed run starts the same.
# prepare fresh: no VACUUM, so the emptied tables look never vacuumed
# (reltuples -1) to the planner, as after CREATE EXTENSION or TRUNCATE.
prepare() {
    if [[ ${1:-} == fresh ]]; then
        psql_do -c "SELECT bench.reset()" -c "CHECKPOINT" >/dev/null
    else
        psql_do -c "SELECT bench.reset()" -c "VACUUM" -c "CHECKPOINT" >/dev/null
    fi
}

rate_of() {
    sql "SELECT bench.fmt_rate(events / seconds) FROM bench.results
         WHERE scenario = $1 AND variant = $(lit "$2") AND run = $3 AND seconds > 0"
}

# With --profile (pg_stat_statements loaded): the statements that took the
# most time in the last run of each extension variant, SPI statements of the
# trigger included (pg_stat_statements.track = all).
PROFILE_LOG=$TMP/profile.txt
profile_begin() {
    ((PROFILE)) && sql "SELECT pg_stat_statements_reset()" >/dev/null
    return 0
}
profile_end() {
    ((PROFILE)) && [[ $2 == "$RUNS" ]] || return 0
    {
        printf '\n-- %s (run %s): statements by total time\n' "$1" "$2"
        psql_do -P footer=off -c "
            SELECT calls, round(total_exec_time)::bigint AS total_ms,
                   round(mean_exec_time::numeric, 4) AS mean_ms, rows,
                   left(regexp_replace(query, '\s+', ' ', 'g'), 150) AS query
            FROM pg_stat_statements
            WHERE query !~* '^(select pg_stat_statements_reset|insert into bench\.results)'
            ORDER BY total_exec_time DESC LIMIT 8"
    } >>"$PROFILE_LOG"
}

# timed SCENARIO VARIANT RUN EVENTS TIMEOUT SQL: runs SQL in one session and
# records its duration, measured by the server.  TIMEOUT: seconds, 0 for none;
# when SQL runs longer it is cancelled, the run is recorded as timed out and
# timed returns 1.
timed() {
    local rc=0
    psql_do -v sc="$1" -v variant="$2" -v run="$3" -v events="$4" <<SQL 2>"$TMP/timed.err" || rc=$?
SET synchronous_commit = off;
SET statement_timeout = '${5}s';
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$6;
RESET statement_timeout;
INSERT INTO bench.results VALUES (:sc, :'variant', :run, :events, extract(epoch FROM clock_timestamp()) - :t0);
SQL
    if ((rc != 0)); then
        if grep -q 'statement timeout' "$TMP/timed.err"; then
            sql "INSERT INTO bench.results VALUES ($1, $(lit "$2"), $3, $4, NULL, $5, true)" >/dev/null
            return 1
        fi
        cat -- "$TMP/timed.err" >&2
        exit 1
    fi
}

# pgbench_run SCENARIO VARIANT RUN CLIENTS THREADS EVENTS SQL: one payload per
# transaction, EVENTS payloads shared among CLIENTS connections; records the
# rate pgbench measured (without connection time).
pgbench_run() {
    local sc=$1 variant=$2 run=$3 clients=$4 threads=$5 events=$6 body=$7 per out tps failed
    per=$(((events + clients - 1) / clients))
    printf '%s\n' "$body" >"$TMP/script.sql"
    out=$TMP/pgbench.out
    if ! PGOPTIONS="-c synchronous_commit=off" "$PGBIN/pgbench" -n -M prepared -c "$clients" -j "$threads" \
            -t "$per" -f "$TMP/script.sql" >"$out" 2>&1; then
        sql "SELECT bench.record($sc, $(lit "$variant"), $run, ARRAY['pgbench failed: ' || $(lit "$(tail -n 5 "$out")")])" >/dev/null
        CHECKS=$((CHECKS + 1))
        FAILED=$((FAILED + 1))
        say "!!! CORRECTNESS FAILURE in scenario $sc ($variant, run $run): pgbench failed:"
        sed 's/^/!!!   /' "$out" | tail -n 20
        return 0
    fi
    tps=$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\).*/\1/p' "$out")
    failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$out")
    if [[ -z $tps ]]; then
        say "!!! pgbench printed no rate:"; cat "$out"; exit 1
    fi
    if [[ -n $failed && $failed != 0 ]]; then
        sql "SELECT bench.record($sc, $(lit "$variant"), $run, ARRAY['pgbench: $failed failed transactions'])" >/dev/null
        CHECKS=$((CHECKS + 1))
        FAILED=$((FAILED + 1))
        say "!!! CORRECTNESS FAILURE in scenario $sc ($variant, run $run): $failed failed transactions"
    fi
    sql "INSERT INTO bench.results VALUES ($sc, $(lit "$variant"), $run, $events, $((per * clients)) / $tps::float8)" >/dev/null
}

pick_sql() {
    local variant=$1 table=$2
    case $variant in
        plain*) echo "INSERT INTO bench.plain (payload) SELECT payload FROM bench.$table WHERE seq = (SELECT nextval('bench.cursor'));" ;;
        ingest) echo "SELECT i.status FROM bench.$table s CROSS JOIN LATERAL cometchat.ingest(s.payload) i WHERE s.seq = (SELECT nextval('bench.cursor'));" ;;
        *) echo "INSERT INTO cometchat.events (payload) SELECT payload FROM bench.$table WHERE seq = (SELECT nextval('bench.cursor'));" ;;
    esac
}

##########################################################################
say "== cometchat_webhooks benchmark ($MODE): $(sql "SELECT current_setting('server_version')"), database $(sql "SELECT current_database()"), shared_buffers $(sql "SHOW shared_buffers")"
sql "SELECT 1 FROM pg_extension WHERE extname = 'cometchat_webhooks'" | grep -q 1 ||
    { echo "scenarios.sh: the database has no cometchat_webhooks extension" >&2; exit 1; }
if ((PROFILE)); then
    if sql "SELECT current_setting('shared_preload_libraries')" | grep -q pg_stat_statements; then
        sql "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
    else
        say "(--profile: pg_stat_statements is not in shared_preload_libraries; no profile)"
        PROFILE=0
    fi
fi

stage "loading the generators and preloading the streams (not timed)"
psql_do -f "$ROOT/test/gen/stream.sql" >/dev/null
psql_do -f "$HERE/bench.sql" >/dev/null
sql "SELECT bench.load_stream($SEED, $N_CALLS, $N_MEETINGS, $N_APPS)" >/dev/null
sql "SELECT bench.load_meeting_streams($SEED, $PARTICIPANTS)" >/dev/null
sql "SELECT bench.load_dup_stream($SEED + 1, $D_CALLS, $D_MEETINGS, $N_APPS)" >/dev/null
sql "INSERT INTO bench.results VALUES (0, 'participants', 0, NULL, NULL, $PARTICIPANTS)" >/dev/null
# A partitioned ledger (1.5) gets the partitions of the streams' months, as a
# user's would, so that the events land in them and not in the default
# partition: one event of each month goes in, create_partitions() makes
# those months' partitions (moving it there), and the reset empties them but
# keeps them.  (The pairs scenario 5 generates begin when the stream does.)
if [[ $(sql "SELECT to_regproc('cometchat.create_partitions') IS NOT NULL") == t ]]; then
    sql "INSERT INTO cometchat.events (payload)
         SELECT DISTINCT ON (m) payload
         FROM (SELECT date_trunc('month', cometchat.event_time(payload), 'UTC') AS m, payload
               FROM (SELECT payload FROM bench.stream UNION ALL SELECT payload FROM bench.meeting_stream
                     UNION ALL SELECT payload FROM bench.pairs_stream
                     UNION ALL SELECT payload FROM bench.dup_stream) s) t
         WHERE m IS NOT NULL ORDER BY m" >/dev/null
    say "partitions of the streams' months: $(sql "SELECT string_agg(partition_name || ' (' || moved || ' moved)', ', ')
                                                 FROM cometchat.create_partitions() WHERE moved > 0")"
    sql "SELECT bench.reset()" >/dev/null
fi
psql_do -P footer=off -c "SELECT name AS stream, payloads, distinct_payloads AS distinct,
                                 round(100.0 * (payloads - distinct_payloads) / payloads, 1) AS \"dup %\",
                                 round(avg_bytes) AS \"avg bytes\"
                          FROM bench.streams ORDER BY name"
STREAM_N=$(sql "SELECT payloads FROM bench.streams WHERE name = 'stream'")
MEETING_N=$(sql "SELECT payloads FROM bench.streams WHERE name = 'meeting_stream'")
PAIRS_N=$(sql "SELECT payloads FROM bench.streams WHERE name = 'pairs_stream'")

##########################################################################
stage "scenario 1: single-row ingest, pgbench -c 4 -j 2 -M prepared, $STREAM_N payloads"
for ((run = 1; run <= RUNS; run++)); do
    for variant in plain insert ingest; do
        prepare
        [[ $variant == plain ]] || profile_begin "$run"
        pgbench_run 1 "$variant" "$run" 4 2 "$STREAM_N" "$(pick_sql "$variant" stream)"
        if [[ $variant == plain ]]; then
            check 1 plain "$run" "bench.check_plain('stream')"
        else
            profile_end "scenario 1 $variant" "$run"
            check 1 "$variant" "$run" "bench.check('stream', true)"
        fi
        say "   run $run $variant: $(rate_of 1 "$variant" "$run") ev/s"
    done
done

##########################################################################
stage "scenario 2: bulk backfill, one statement, $STREAM_N payloads"
if [[ -z $COPY_FILE ]]; then
    COPY_FILE=$(sql "SELECT current_setting('data_directory') || '/cc_bench_stream.copy'")
fi
psql_do -c "COPY (SELECT payload FROM bench.stream ORDER BY seq) TO $(lit "$COPY_FILE")" >/dev/null
declare -A timed_out=()
for ((run = 1; run <= RUNS; run++)); do
    for variant in plain-insert insert plain-copy copy insert-fresh; do
        if [[ -n ${timed_out[$variant]:-} ]]; then
            say "   run $run $variant: skipped (timed out in an earlier run)"
            continue
        fi
        if [[ $variant == insert-fresh ]]; then prepare fresh; else prepare; fi
        case $variant in
            plain-insert) stmt="INSERT INTO bench.plain (payload) SELECT payload FROM bench.stream ORDER BY seq" ;;
            insert*) stmt="INSERT INTO cometchat.events (payload) SELECT payload FROM bench.stream ORDER BY seq" ;;
            plain-copy) stmt="COPY bench.plain (payload) FROM $(lit "$COPY_FILE")" ;;
            copy) stmt="COPY cometchat.events (payload) FROM $(lit "$COPY_FILE")" ;;
        esac
        if [[ $variant == plain-* ]]; then
            timed 2 "$variant" "$run" "$STREAM_N" 0 "$stmt"
            check 2 "$variant" "$run" "bench.check_plain('stream')"
        else
            profile_begin "$run"
            if ! timed 2 "$variant" "$run" "$STREAM_N" "$BULK_TIMEOUT" "$stmt"; then
                timed_out[$variant]=1
                say "   run $run $variant: TIMEOUT, cancelled after $BULK_TIMEOUT s (rolled back, not checked; its other runs are skipped)"
                profile_end "scenario 2 $variant (timed out)" "$RUNS"
                continue
            fi
            profile_end "scenario 2 $variant" "$run"
            check 2 "$variant" "$run" "bench.check('stream', true)"
        fi
        say "   run $run $variant: $(rate_of 2 "$variant" "$run") ev/s"
    done
done
psql_do -c "COPY (SELECT 1 WHERE false) TO PROGRAM $(lit "rm -f -- '$COPY_FILE'")" >/dev/null

##########################################################################
stage "scenario 3: one meeting with $PARTICIPANTS participants ($MEETING_N events) vs two-person calls ($PAIRS_N events), one client, one event per transaction"
for ((run = 1; run <= RUNS; run++)); do
    for variant in plain-pairs pairs plain-meeting meeting; do
        prepare
        case $variant in
            *pairs) table=pairs_stream n=$PAIRS_N ;;
            *) table=meeting_stream n=$MEETING_N ;;
        esac
        [[ $variant == plain-* ]] || profile_begin "$run"
        pgbench_run 3 "$variant" "$run" 1 1 "$n" "$(pick_sql "$variant" "$table")"
        if [[ $variant == plain-* ]]; then
            check 3 "$variant" "$run" "bench.check_plain('$table')"
        else
            profile_end "scenario 3 $variant" "$run"
            check 3 "$variant" "$run" "bench.check('$table', true)"
        fi
        say "   run $run $variant: $(rate_of 3 "$variant" "$run") ev/s"
    done
done

##########################################################################
DUP_N=$(sql "SELECT payloads FROM bench.streams WHERE name = 'dup_stream'")
DUP_REPEATS=$(sql "SELECT payloads - distinct_payloads FROM bench.streams WHERE name = 'dup_stream'")
stage "scenario 4: duplicate storm, $DUP_N deliveries ($DUP_REPEATS repeats), plain INSERT, one delivery per transaction"
for ((run = 1; run <= RUNS; run++)); do
    for target in plain events; do
        prepare
        if [[ $target == plain ]]; then
            sql "CALL bench.feed('plain', $run)" >/dev/null
            check 4 plain "$run" "bench.check_plain('dup_stream')"
            say "   run $run plain: new $(rate_of 4 plain-new "$run") ev/s, repeats $(rate_of 4 plain-dup "$run") ev/s"
        else
            profile_begin "$run"
            psql_do -v run="$run" -v dups="$DUP_REPEATS" <<'SQL' >/dev/null
SELECT n_dead_tup AS dead0 FROM pg_stat_user_tables WHERE relid = 'cometchat.events'::regclass \gset
CALL bench.feed('events', :run);
SELECT pg_stat_force_next_flush();
SELECT 1;
INSERT INTO bench.results
SELECT 4, 'dead', :run, :dups, NULL, n_dead_tup - :dead0
FROM pg_stat_user_tables WHERE relid = 'cometchat.events'::regclass;
SQL
            profile_end "scenario 4 duplicate storm" "$run"
            check 4 events "$run" "bench.check('dup_stream', true)"
            say "   run $run events: new $(rate_of 4 new "$run") ev/s, duplicates $(rate_of 4 dup "$run") ev/s, dead tuples $(sql "SELECT value FROM bench.results WHERE scenario = 4 AND variant = 'dead' AND run = $run")"
        fi
    done
done

##########################################################################
stage "scenario 5: memory of one backend ingesting $MEMORY_EVENTS events (bulk, batches of $MEMORY_FIRST, generated on the fly)"
prepare
{
    echo "SET synchronous_commit = off;"
    echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
    for ((b = 0; b < MEMORY_EVENTS / MEMORY_FIRST; b++)); do
        echo "INSERT INTO cometchat.events (payload) SELECT payload FROM bench.pair_calls($SEED, $((b * MEMORY_FIRST)), $MEMORY_FIRST) ORDER BY seq;"
        done_n=$(((b + 1) * MEMORY_FIRST))
        if ((b == 0 || done_n == MEMORY_EVENTS / 10 || done_n == MEMORY_EVENTS / 2 || done_n == MEMORY_EVENTS)); then
            echo "INSERT INTO bench.memory SELECT $done_n, name, ident, level, total_bytes, used_bytes FROM pg_backend_memory_contexts;"
        fi
    done
    echo "INSERT INTO bench.results SELECT 5, 'rate', 1, $MEMORY_EVENTS, s, $MEMORY_EVENTS / s FROM (SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s) x;"
} >"$TMP/memory.sql"
profile_begin "$RUNS"
psql_do -f "$TMP/memory.sql" >/dev/null
profile_end "scenario 5 memory" "$RUNS"
sql "INSERT INTO bench.streams VALUES ('memory', $MEMORY_EVENTS, $MEMORY_EVENTS, NULL, bench.pair_calls_expected($MEMORY_EVENTS))" >/dev/null
check 5 memory 1 "bench.check('memory', $( ((MEMORY_EVENTS <= VERIFY_LIMIT)) && echo true || echo false))"
say "   $(sql "SELECT bench.fmt_rate(value) FROM bench.results WHERE scenario = 5 AND variant = 'rate'") ev/s; backend memory, total/used MB, after $(sql "SELECT string_agg(to_char(at_events, 'FM999,999,999') || ': ' || to_char(b / 1048576.0, 'FM990.00') || '/' || to_char(u / 1048576.0, 'FM990.00'), ', ' ORDER BY at_events) FROM (SELECT at_events, sum(total_bytes) b, sum(used_bytes) u FROM bench.memory GROUP BY 1) x")"
prepare

##########################################################################
say ""
say "== cometchat_webhooks benchmark: median of $RUNS run(s), every figure in events/s and as a ratio to plain INSERTs into a (bigserial, jsonb) table"
say "   (rates: each variant's median; ratios and targets: the median of each run's ratio, both sides measured back to back)"
say "   stream: $STREAM_N payloads, avg $(sql "SELECT round(avg_bytes) FROM bench.streams WHERE name = 'stream'") bytes, $N_APPS apps, seed $SEED; elapsed $((SECONDS - T_START)) s"
psql_do -P footer=off -P border=2 -c "SELECT * FROM bench.summary"
say "runs (events/s):"
sql "SELECT format('  %s %-14s %s', scenario, variant,
                   string_agg(CASE WHEN timed_out THEN 'TIMEOUT' ELSE bench.fmt_rate(events / seconds) END,
                              '  ' ORDER BY run))
     FROM bench.results WHERE seconds > 0 OR timed_out GROUP BY scenario, variant ORDER BY scenario, variant"
say "ratios of each run (the targets' medians are taken from these):"
sql "SELECT format('  %-44s %s', label, coalesce(bench.run_ratios(sc, v, base), '-'))
     FROM (VALUES (1, 1, '1 single-row INSERT / plain', 'insert', 'plain'),
                  (2, 1, '1 single-row ingest() / plain', 'ingest', 'plain'),
                  (3, 2, '2 bulk INSERT ... SELECT / plain INSERT', 'insert', 'plain-insert'),
                  (4, 2, '2 bulk COPY / plain COPY', 'copy', 'plain-copy'),
                  (5, 3, '3 meeting / two-person calls', 'meeting', 'pairs'),
                  (6, 4, '4 duplicates skipped / new events', 'dup', 'new')) t(o, sc, label, v, base)
     ORDER BY o"
say "memory: the largest contexts of the ingesting backend"
psql_do -P footer=off -c "
    WITH m AS (SELECT at_events, name, coalesce(ident, '') AS ident, total_bytes, used_bytes,
                      row_number() OVER (PARTITION BY at_events ORDER BY total_bytes DESC) AS k
               FROM bench.memory
               WHERE at_events IN ((SELECT min(at_events) FROM bench.memory), (SELECT max(at_events) FROM bench.memory)))
    SELECT to_char(at_events, 'FM999,999,999') AS \"after events\", name, left(ident, 40) AS ident,
           to_char(total_bytes / 1024.0, 'FM999,999,990.0') AS total_kb,
           to_char(used_bytes / 1024.0, 'FM999,999,990.0') AS used_kb
    FROM m WHERE k <= 6 ORDER BY at_events, k"
if ((PROFILE)) && [[ -s $PROFILE_LOG ]]; then
    say "profile (pg_stat_statements, last run of each scenario):"
    cat "$PROFILE_LOG"
fi
if ((FAILED > 0)); then
    say "BENCHMARK FAILED: $FAILED of $CHECKS correctness checks failed (rows marked WRONG); its figures mean nothing"
    sql "SELECT format('  scenario %s %s run %s: %s', scenario, variant, run, problem) FROM bench.failures ORDER BY 1"
    exit 1
fi
say "correctness: all $CHECKS checks passed (ledger = distinct payloads, nothing rejected, verify() empty, lifecycle counts as generated)"
say "targets are informational: MISS never fails the benchmark"
