#!/usr/bin/env bash
# test/bench/verify.sh: time and peak backend memory of cometchat.verify(),
# cometchat.rebuild(), rebuild_in_steps(), verify(since) and
# verify_in_steps() on a ledger of
# millions of events, against the database libpq's environment names
# (PGHOST, PGPORT, PGUSER, PGDATABASE), which must have the extension, be empty, and be reached as a superuser on
# this machine (the backend's memory is read from /proc).  test/bench/run
# --verify gives it a private cluster.  See test/bench/README.md.
#
#   test/bench/verify.sh [--events N[,N...]] [--seed S] [--only F[,F...]]
#
# Generates one chunk of realistic traffic with test/gen/stream.sql
# (cc_gen.stream: 100,000 ringing calls and 10,000 meetings across 10 apps,
# 881,258 deliveries, 801,230 distinct events), then ingests copies of it,
# each under app ids of its own (one INSERT ... SELECT per copy), until the
# ledger holds at least the next N events (default 10,000,000 then
# 20,000,000).  At each size: VACUUM ANALYZE, CHECKPOINT, then verify(),
# rebuild(), rebuild_in_steps() (steps of 1,000,000 events) and
# verify(since) over the stream's last day, and verify_in_steps() (steps
# of 1,000,000 events), each in a fresh backend (--only: just those named,
# e.g. --only verify_in_steps,rebuild),
# measured for
#   - time: the statement's wall-clock time;
#   - peak memory: the backend's RssAnon (/proc/PID/status: private
#     anonymous memory, which excludes shared buffers), sampled every 0.1 s;
#   - temp: bytes written to temporary files (pg_stat_database.temp_bytes);
#   - ingest held off: how long it held (or waited for) SHARE on the
#     ledger, which inserts wait for (pg_locks, sampled with the memory).
# verify(), verify(since) and verify_in_steps() must find no difference.  Prints one line per
# measurement, then a table.  Exit status 0 when every verify() was empty,
# 1 otherwise.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export LC_ALL=C.UTF-8 PGCLIENTENCODING=UTF8

SIZES=10000000,20000000
SEED=20240304
ONLY=verify,rebuild,rebuild_in_steps,verify_since,verify_in_steps
while (($# > 0)); do
    case $1 in
        --events) SIZES=${2:?--events takes N[,N...]}; shift ;;
        --seed) SEED=${2:?--seed takes a number}; shift ;;
        --only) ONLY=${2:?--only takes F[,F...]}; shift ;;
        *) echo "verify.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "verify.sh: --events takes N[,N...]" >&2; exit 2; }
[[ $SEED =~ ^[0-9]+$ ]] || { echo "verify.sh: --seed takes a number" >&2; exit 2; }

say() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
sql() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$1" </dev/null; }

# measure LABEL STATEMENT: runs it in a backend of its own (found by its
# application_name) and appends "label|events|seconds|peak kB|temp
# bytes|seconds holding SHARE on the ledger|rows" to $RESULTS.
measure() {
    local label=$1 statement=$2 app pid='' peak=0 rss t0 t1 temp0 temp1 out events held
    [[ ,$ONLY, == *,$label,* ]] || return 0
    app=cc_verify_bench_$label
    events=$(sql "SELECT count(*) FROM cometchat.events")
    temp0=$(sql "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
    t0=$EPOCHREALTIME
    held=$t0
    PGAPPNAME=$app "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$statement" \
        >"$TMP/out" 2>&1 </dev/null &
    local client=$!
    while kill -0 "$client" 2>/dev/null; do
        [[ -n $pid ]] || pid=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'")
        if [[ -n $pid ]]; then
            rss=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
            [[ -n $rss ]] && ((rss > peak)) && peak=$rss
            # Ingest is held off while it holds (or waits for) SHARE on the ledger.
            [[ $(sql "SELECT count(*) FROM pg_locks WHERE pid = $pid AND mode = 'ShareLock'
                      AND relation = 'cometchat.events'::regclass") == 1 ]] && held=$EPOCHREALTIME
        fi
        sleep 0.1
    done
    wait "$client" || { cat "$TMP/out" >&2; exit 1; }
    t1=$EPOCHREALTIME
    # The activity statistics reach the view once the backend has gone.
    sleep 1
    temp1=$(sql "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
    out=$(tr '\n' ' ' <"$TMP/out")
    echo "$label|$events|$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')|$peak|$((temp1 - temp0))|$(awk -v a="$t0" -v b="$held" 'BEGIN {printf "%.1f", b - a}')|$out" >>"$RESULTS"
    say "   $label at $events events: $(tail -n 1 "$RESULTS" | cut -d'|' -f3) s, peak RssAnon $((peak / 1024)) MB, temp $(((temp1 - temp0) / 1048576)) MB, SHARE on the ledger for $(tail -n 1 "$RESULTS" | cut -d'|' -f6) s, returned: $out"
}

TMP=$(mktemp -d /tmp/cometchat-verify-bench.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT
RESULTS=$TMP/results
: >"$RESULTS"

[[ $(sql "SELECT count(*) FROM cometchat.events") == 0 ]] || { echo "verify.sh: the ledger is not empty" >&2; exit 2; }
say "generating one chunk of the stream (test/gen/stream.sql, seed $SEED)"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -f "$ROOT/test/gen/stream.sql" </dev/null >/dev/null
sql "CREATE TABLE public.verify_chunk AS
     SELECT seq, payload FROM cc_gen.stream($SEED, 100000, 10000, n_apps => 10)"
say "   $(sql "SELECT count(*) FROM public.verify_chunk") deliveries"

copies=0
IFS=, read -r -a sizes <<<"$SIZES"
for size in "${sizes[@]}"; do
    while (($(sql "SELECT count(*) FROM cometchat.events") < size)); do
        # Copy k: every app id suffixed with k, so every event is new.
        sql "INSERT INTO cometchat.events (payload)
             SELECT jsonb_set(payload, '{appId}', to_jsonb((payload->>'appId') || '-$copies'))
             FROM public.verify_chunk ORDER BY seq"
        copies=$((copies + 1))
        say "   copy $copies ingested: $(sql "SELECT count(*) FROM cometchat.events") events"
    done
    say "at $size: VACUUM ANALYZE, CHECKPOINT"
    sql "VACUUM ANALYZE"
    sql "CHECKPOINT"
    say "   ledger $(sql "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('cometchat.events')"), lifecycle rows $(sql "SELECT count(*) FROM cometchat._lifecycle_rows()")"
    measure verify "SELECT count(*) FROM cometchat.verify()"
    measure rebuild "SELECT cometchat.rebuild()"
    measure rebuild_in_steps "CALL cometchat.rebuild_in_steps()"
    # The last day of the stream: a fourteenth of every copy's events.
    since=$(sql "SELECT max(occurred_at) - interval '1 day' FROM cometchat.events")
    measure verify_since "SELECT count(*) FROM cometchat.verify(since => '$since')"
    measure verify_in_steps "CALL cometchat.verify_in_steps()"
done

echo
echo "| function | events | time | peak backend memory (RssAnon) | temporary files | ingest held off |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
awk -F'|' '{name = $1 "()"; sub(/_since\(\)$/, "(since)", name)
            printf "| `%s` | %\047d | %s s | %d MB | %d MB | %s s |\n", name, $2, $3, $4 / 1024, $5 / 1048576, $6}' "$RESULTS"
# Every verify() and verify(since) returned count 0, every
# verify_in_steps() 0 differences (its first column).
if awk -F'|' '$1 ~ /^verify/ && $7 + 0 != 0 {bad = 1} END {exit !bad}' "$RESULTS"; then
    echo "verify() found differences" >&2
    exit 1
fi
