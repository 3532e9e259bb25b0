#!/usr/bin/env bash
# test/bench/backfill.sh: a live receiver beside a backfill of history.
#
#   test/bench/backfill.sh [--pg TARGET] [--events N] [--seconds S] [--seed S]
#
# Like test/bench/run: builds and installs the extension from a copy of the
# tree, starts a private throwaway cluster (the test cluster's settings,
# max_connections and max_locks_per_transaction left at their defaults, plus
# shared_buffers = 512MB and autovacuum off) and removes it at the end.
# Run it under the suite's lock:
#
#   flock /tmp/cometchat-suite.lock test/bench/backfill.sh
#
# Two realistic streams from test/gen (cc_gen.stream, 10 apps each, other
# seeds: no id in common): the history, about N payloads (default
# 1,000,000), and the live traffic.  The live receiver is one pgbench client
# storing one payload per transaction (INSERT of the next payload of the live
# stream).  For each way of loading history, one INSERT ... SELECT in one
# transaction, then one COPY:
#   1. empty tables; the live receiver alone for S seconds (default 60);
#   2. the backfill starts; 3 s later the live receiver runs S seconds beside
#      it: its transactions that ended before the backfill committed are the
#      figures (rate over that window, p99, max); the advisory locks in
#      pg_locks are sampled every second;
#   3. when the backfill has committed: the lifecycle tables are compared with
#      a rebuild() of the whole ledger in a rolled-back transaction (EXCEPT ALL
#      both ways: 0 differences expected), and the claims table must be empty.
# Prints, per way, the live rate alone and beside the backfill, their ratio
# (target >= 0.5), the p99 latency of a live transaction beside the backfill
# (target < 250 ms), the backfill's duration, the most advisory locks held at
# once and the claims made.  Exit status non-zero when a check failed.
set -euo pipefail

CC_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$CC_ROOT"
# shellcheck source=test/lib/common.sh
source test/lib/common.sh
# shellcheck source=test/lib/setup.sh
source test/lib/setup.sh
# shellcheck source=test/lib/cluster.sh
source test/lib/cluster.sh
# shellcheck source=test/lib/postgres.sh
source test/lib/postgres.sh

TARGET=15
EVENTS=1000000
SECONDS_LIVE=60
SEED=20240304
while (($# > 0)); do
    case $1 in
        --pg) TARGET=${2:?--pg takes a target}; shift ;;
        --events) EVENTS=${2:?--events takes a number}; shift ;;
        --seconds) SECONDS_LIVE=${2:?--seconds takes a number}; shift ;;
        --seed) SEED=${2:?--seed takes a number}; shift ;;
        -h | --help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) cc_die "unknown option '$1'" ;;
    esac
    shift
done

T0=$SECONDS
CC_WORK=$(mktemp -d /tmp/cometchat-backfill.XXXXXX)
BF_PID=
SAMPLER_PID=

# shellcheck disable=SC2317  # called by the EXIT trap
finish() {
    local rc=$?
    trap - EXIT
    [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null
    [[ -n $BF_PID ]] && kill "$BF_PID" 2>/dev/null
    if ((rc != 0)) && [[ -f ${CC_PGLOG:-} ]]; then
        echo "---- server log (last 40 lines) ----"
        tail -n 40 -- "$CC_PGLOG" || true
    fi
    cc_cluster_stop
    rm -rf -- "$CC_WORK"
    echo "test/bench/backfill.sh: $((SECONDS - T0)) s, exit status $rc"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cc_ensure_packages "${CC_DEMO_PACKAGES[@]}" postgresql-contrib
cc_use_postgres "$TARGET"
cc_say "backfill benchmark on $CC_PG_VERSION"
[[ -x $PGBIN/pgbench ]] || cc_die "$PGBIN/pgbench not found"

cc_say "building and installing cometchat_webhooks (from a copy of the tree)"
mkdir -p "$CC_WORK/build"
tar -C "$CC_ROOT" --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - \
    Makefile ./*.control src | tar -C "$CC_WORK/build" -xf -
if ! { make -C "$CC_WORK/build" PG_CONFIG="$PG_CONFIG" -j"$(nproc)" &&
       make -C "$CC_WORK/build" PG_CONFIG="$PG_CONFIG" install; } >"$CC_WORK/build.log" 2>&1 </dev/null; then
    tail -n 100 -- "$CC_WORK/build.log"
    cc_die "the build failed"
fi

cc_cluster_start "$CC_WORK"
{
    echo "shared_buffers = 512MB"
    echo "autovacuum = off"
} >>"$CC_PGDATA/postgresql.conf"
cc_as_server_user "$PGBIN/pg_ctl" -D "$CC_PGDATA" -l "$CC_PGLOG" -w -t 300 restart \
    >"$CC_PGROOT/pg_ctl.log" 2>&1 </dev/null || { cat -- "$CC_PGROOT/pg_ctl.log" "$CC_PGLOG" >&2; cc_die "the server did not restart"; }
cc_createdb cc_bench cometchat_webhooks || cc_die "could not create the benchmark database"
export PGDATABASE=cc_bench
sql() { cc_psql -At -c "$1" </dev/null; }

mkdir -p "$CC_WORK/copy" "$CC_WORK/live"
[[ $EUID -eq 0 ]] && chown postgres:postgres "$CC_WORK/copy"
COPY_FILE=$CC_WORK/copy/history.copy

# cc_gen.stream makes about 9.6 deliveries per ringing call with its meetings
# (15% as many as calls), in 10 apps; the live stream is large enough for
# 2 x S seconds of one client.
N_CALLS=$(((EVENTS * 10 + 50) / 96))
N_MEETINGS=$((N_CALLS * 15 / 100))
L_CALLS=$((SECONDS_LIVE * 2 * 8000 / 10))
L_MEETINGS=$((L_CALLS * 15 / 100))
cc_say "generating the history (~$EVENTS payloads) and the live stream"
cc_psql -f test/gen/stream.sql </dev/null >/dev/null
cc_psql >/dev/null <<SQL
CREATE SCHEMA bf;
CREATE TABLE bf.history AS
    SELECT seq, payload FROM cc_gen.stream($SEED, $N_CALLS, $N_MEETINGS, n_apps => 10);
CREATE TABLE bf.live AS
    SELECT row_number() OVER (ORDER BY seq) AS n, payload
    FROM cc_gen.stream($SEED + 7, $L_CALLS, $L_MEETINGS, n_apps => 10);
ALTER TABLE bf.live ADD PRIMARY KEY (n);
CREATE SEQUENCE bf.live_seq;
-- What the live receiver's backend is doing, 100 times a second for secs
-- seconds: CPU (no wait event), or the wait event it waits on.
CREATE FUNCTION bf.live_waits(secs float8) RETURNS TABLE (state text, samples bigint)
LANGUAGE plpgsql AS \$f\$
DECLARE
    stop timestamptz := clock_timestamp() + make_interval(secs => secs);
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS waits (state text);
    TRUNCATE waits;
    WHILE clock_timestamp() < stop LOOP
        PERFORM pg_stat_clear_snapshot();
        INSERT INTO waits
        SELECT CASE WHEN a.state <> 'active' THEN 'idle (client)'
                    WHEN a.wait_event IS NULL THEN 'CPU'
                    ELSE a.wait_event_type || ':' || a.wait_event END
        FROM pg_stat_activity a WHERE a.application_name = 'pgbench';
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN QUERY SELECT w.state, count(*) FROM waits w GROUP BY 1 ORDER BY 2 DESC;
END
\$f\$;
COPY (SELECT payload FROM bf.history ORDER BY seq) TO '$COPY_FILE';
VACUUM ANALYZE bf.history, bf.live;
SQL
HISTORY=$(sql "SELECT count(*) FROM bf.history")
APPS_SHARED=$(sql "SELECT count(*) FROM (SELECT DISTINCT payload->>'appId' FROM bf.history
                   INTERSECT SELECT DISTINCT payload->>'appId' FROM bf.live) x")
cc_say "history: $HISTORY payloads; live stream: $(sql "SELECT count(*) FROM bf.live") payloads; apps in both: $APPS_SHARED"
cc_say "max_connections = $(sql "SHOW max_connections"), max_locks_per_transaction = $(sql "SHOW max_locks_per_transaction"), max_prepared_transactions = $(sql "SHOW max_prepared_transactions")"

cat >"$CC_WORK/live/live.sql" <<'SQL'
INSERT INTO cometchat.events (payload)
SELECT payload FROM bf.live WHERE n = (SELECT nextval('bf.live_seq'));
SQL

reset_tables() {
    cc_psql >/dev/null <<'SQL'
TRUNCATE cometchat.events, cometchat.rejected, cometchat.sessions, cometchat.calls,
         cometchat.call_outcomes, cometchat.participants, cometchat.recordings;
SELECT setval('bf.live_seq', 1, false);
VACUUM;
CHECKPOINT;
SQL
    if sql "SELECT to_regclass('cometchat.lifecycle_claims') IS NOT NULL" | grep -q t; then
        sql "TRUNCATE cometchat.lifecycle_claims" >/dev/null
    fi
}

# live NAME: one pgbench client for SECONDS_LIVE seconds, logging every
# transaction (pgbench -l).
live() {
    local name=$1
    rm -f "$CC_WORK/live/$name".*
    "$PGBIN/pgbench" -n -c 1 -T "$SECONDS_LIVE" -f "$CC_WORK/live/live.sql" \
        -l --log-prefix="$CC_WORK/live/$name" cc_bench >"$CC_WORK/live/$name.out" 2>&1 </dev/null ||
        { cat -- "$CC_WORK/live/$name.out" >&2; cc_die "pgbench failed"; }
}

# stats NAME FROM TO: of the transactions of live NAME that ended between the
# epoch times FROM and TO, "rate/s p99_ms max_ms count seconds".  (pgbench's
# log: client, transaction, latency in us, script, epoch s and us of its end.)
stats() {
    cat "$CC_WORK/live/$1".[0-9]* |
        awk -v from="$2" -v to="$3" '{ t = $5 + $6 / 1e6; if (t >= from && t <= to) print $3 }' |
        sort -n |
        awk -v secs="$(awk -v a="$2" -v b="$3" 'BEGIN { print b - a }')" '{ v[NR] = $1 } END {
            if (NR == 0) { printf "0 - - 0 %.1f\n", secs; exit }
            i = int((NR * 99 + 99) / 100); if (i > NR) i = NR;
            printf "%.0f %.1f %.1f %d %.1f\n", NR / secs, v[i] / 1000, v[NR] / 1000, NR, secs }'
}

# Differences between the lifecycle tables and a rebuild of the ledger.
differences() {
    cc_psql -At <<'SQL' | tail -n 1
BEGIN;
CREATE TEMP TABLE o_sessions AS SELECT * FROM cometchat.sessions;
CREATE TEMP TABLE o_calls AS SELECT * FROM cometchat.calls;
CREATE TEMP TABLE o_outcomes AS SELECT * FROM cometchat.call_outcomes;
CREATE TEMP TABLE o_participants AS SELECT * FROM cometchat.participants;
CREATE TEMP TABLE o_recordings AS SELECT * FROM cometchat.recordings;
SELECT cometchat.rebuild() IS NULL;
SELECT (SELECT count(*) FROM ((TABLE o_sessions EXCEPT ALL TABLE cometchat.sessions)
                              UNION ALL (TABLE cometchat.sessions EXCEPT ALL TABLE o_sessions)) d)
     + (SELECT count(*) FROM ((TABLE o_calls EXCEPT ALL TABLE cometchat.calls)
                              UNION ALL (TABLE cometchat.calls EXCEPT ALL TABLE o_calls)) d)
     + (SELECT count(*) FROM ((TABLE o_outcomes EXCEPT ALL TABLE cometchat.call_outcomes)
                              UNION ALL (TABLE cometchat.call_outcomes EXCEPT ALL TABLE o_outcomes)) d)
     + (SELECT count(*) FROM ((TABLE o_participants EXCEPT ALL TABLE cometchat.participants)
                              UNION ALL (TABLE cometchat.participants EXCEPT ALL TABLE o_participants)) d)
     + (SELECT count(*) FROM ((TABLE o_recordings EXCEPT ALL TABLE cometchat.recordings)
                              UNION ALL (TABLE cometchat.recordings EXCEPT ALL TABLE o_recordings)) d);
ROLLBACK;
SQL
}

FAILED=0
RESULTS=()
for way in insert copy; do
    cc_say "[$way] live receiver alone, $SECONDS_LIVE s"
    reset_tables
    t0=$(date +%s.%N)
    live "alone-$way"
    read -r alone_tps alone_p99 alone_max _ _ < <(stats "alone-$way" "$t0" "$(date +%s.%N)")
    cc_say "[$way]   $alone_tps tx/s, p99 $alone_p99 ms, max $alone_max ms"

    if [[ $way == insert ]]; then
        stmt="BEGIN; INSERT INTO cometchat.events (payload) SELECT payload FROM bf.history ORDER BY seq; COMMIT;"
    else
        stmt="COPY cometchat.events (payload) FROM '$COPY_FILE'"
    fi
    claims0=$(sql "SELECT coalesce((SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = to_regclass('cometchat.lifecycle_claims')), 0)")
    cc_say "[$way] backfill of $HISTORY payloads in one transaction, and the live receiver beside it"
    bf_start=$(date +%s.%N)
    ( cc_psql -c "$stmt" </dev/null >"$CC_WORK/bf-$way.out" 2>&1; echo $? >"$CC_WORK/bf-$way.rc"
      date +%s.%N >"$CC_WORK/bf-$way.end" ) &
    BF_PID=$!
    ( while kill -0 "$BF_PID" 2>/dev/null; do
          sql "SELECT count(*) FILTER (WHERE locktype = 'advisory'), count(*) FROM pg_locks" || true
          sleep 1
      done >"$CC_WORK/locks-$way.txt" ) &
    SAMPLER_PID=$!
    sleep 3
    live_start=$(date +%s.%N)
    sql "SELECT string_agg(state || ' ' || samples, ', ') FROM bf.live_waits($SECONDS_LIVE - 1)" >"$CC_WORK/waits-$way.txt" &
    WAITS_PID=$!
    live "beside-$way"
    live_end=$(date +%s.%N)
    wait "$WAITS_PID" || true
    wait "$BF_PID" || true
    BF_PID=
    wait "$SAMPLER_PID" || true
    SAMPLER_PID=
    bf_rc=$(cat "$CC_WORK/bf-$way.rc")
    bf_secs=$(awk -v a="$bf_start" -v b="$(cat "$CC_WORK/bf-$way.end")" 'BEGIN { printf "%.1f", b - a }')
    # Only what the live receiver did while the backfill ran counts.
    window_end=$(awk -v e="$(cat "$CC_WORK/bf-$way.end")" -v l="$live_end" 'BEGIN { printf "%.6f", e < l ? e : l }')
    read -r bf_tps bf_p99 bf_max bf_count window < <(stats "beside-$way" "$live_start" "$window_end")
    # (a live transaction that waited for the backfill ends after it)
    read -r _ _ run_max _ _ < <(stats "beside-$way" "$live_start" "$live_end")
    if [[ $bf_rc != 0 ]]; then
        cat -- "$CC_WORK/bf-$way.out"
        cc_warn "the $way backfill failed"
        FAILED=$((FAILED + 1))
    fi
    max_adv=$(awk 'BEGIN { m = 0 } { split($0, f, "|"); if (f[1] > m) m = f[1] } END { print m }' "$CC_WORK/locks-$way.txt")
    max_all=$(awk 'BEGIN { m = 0 } { split($0, f, "|"); if (f[2] > m) m = f[2] } END { print m }' "$CC_WORK/locks-$way.txt")
    claims=$(( $(sql "SELECT coalesce((SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = to_regclass('cometchat.lifecycle_claims')), 0)") - claims0 ))
    used=$(sql "SELECT last_value FROM bf.live_seq")
    (( used < $(sql "SELECT count(*) FROM bf.live") )) || cc_warn "the live stream ran out: make it larger"
    ratio=$(awk -v a="$alone_tps" -v b="$bf_tps" 'BEGIN { printf "%.2f", b / a }')
    cc_say "[$way]   $bf_tps tx/s (ratio $ratio), p99 $bf_p99 ms, max $bf_max ms ($bf_count live transactions in the $window s both ran; the longest of the whole live run $run_max ms); backfill $bf_secs s; advisory locks at most $max_adv (all locks $max_all); claims $claims"

    cc_say "[$way]   the live backend beside the backfill, 100 samples a second: $(cat "$CC_WORK/waits-$way.txt")"
    cc_say "[$way] checking the lifecycle against a rebuild()"
    diffs=$(differences)
    left=$(sql "SELECT count(*) FROM cometchat.lifecycle_claims" 2>/dev/null || echo n/a)
    events=$(sql "SELECT count(*) FROM cometchat.events")
    cc_say "[$way]   $events events; differences from a rebuild: $diffs; claims left: $left"
    [[ $diffs == 0 && ($left == 0 || $left == n/a) ]] || FAILED=$((FAILED + 1))
    verdict=PASS
    awk -v r="$ratio" -v p="$bf_p99" 'BEGIN { exit !(r >= 0.5 && p != "-" && p < 250) }' || verdict=MISS
    RESULTS+=("$(printf '| %-6s | %8s | %8s | %5s | %8s | %8s | %7s | %6s | %6s | %s |' \
        "$way" "$alone_tps" "$bf_tps" "$ratio" "$alone_p99" "$bf_p99" "$bf_secs" "$max_adv" "$diffs" "$verdict")")
done

echo
echo "$CC_PG_VERSION; history $HISTORY payloads; live: 1 client, one payload a transaction, $SECONDS_LIVE s"
echo "| way    | alone/s  | beside/s | ratio | p99 alone ms | p99 beside ms | backfill s | max advisory locks | differences | |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${RESULTS[@]}"
((FAILED == 0))
