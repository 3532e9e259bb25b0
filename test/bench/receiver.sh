#!/usr/bin/env bash
# test/bench/receiver.sh: webhooks per second through the reference receiver
# and pgbouncer, against psql single-row inserts of the same payloads, on the
# same server in the same run.
#
#   test/bench/receiver.sh [--seconds S] [--connections C] [--calls N (default 800 S)]
#
# Builds and installs the extension from a copy of the tree (like
# test/bench/run; run both under the suite's lock on a shared machine), then
# starts a private cluster, pgbouncer in transaction mode (8 server
# connections) and examples/receiver (a pool of 20) on 127.0.0.1, as
# test/scripts/receiver_e2e.sh does (test/receiver/stack.sh).  Generates a
# realistic stream (test/gen/stream.sql: 10 apps, ringing calls and meetings,
# 10% duplicate deliveries) and then:
#   1. autocannon (test/bench/receiver/, npm ci from its lockfile), C senders
#      (default 50) for S seconds (default 30), each request the next body of
#      the stream: requests/s and latency percentiles;
#   2. the bodies it sent, through psql as single-row INSERTs into
#      cometchat.events, one session, then 8 sessions at once (each a share
#      of the lines), each into a fresh database, with synchronous_commit =
#      on like the receiver's role.
# Correctness: every answer 2xx, no error, the three ledgers hold the same
# events (the HTTP one may lack the last requests autocannon cut off, at most
# C), verify() empty in each.  Also prints the CPU seconds each process used
# during the HTTP load: the load generator shares the 2 cores.
#
# Exit status 0 when the checks held, whatever the rates; non-zero otherwise.
set -uo pipefail

SECS=30
CONNS=50
CALLS=
while (($#)); do
    case $1 in
        --seconds) SECS=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --calls) CALLS=$2; shift 2 ;;
        -h | --help) sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

# About 10 payloads a call: enough for 8,000 requests/s, each body sent once.
CALLS=${CALLS:-$((SECS * 800))}

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=test/receiver/stack.sh
source "$ROOT/test/receiver/stack.sh"

WORK=$(mktemp -d /tmp/cc-receiver-bench.XXXXXX)
FAILED=0
T0=$SECONDS
cleanup() {
    local rc=$?
    trap - EXIT
    rs_kill "${LOADER:-}"
    rs_stop
    rm -rf -- "$WORK"
    echo "test/bench/receiver.sh: $((SECONDS - T0)) s, exit status $rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { printf 'WRONG: %s\n' "$*"; FAILED=1; }
now_ms() { date +%s%3N; }

cc_ensure_packages "${CC_DEMO_PACKAGES[@]}"
cc_say "building and installing cometchat_webhooks (from a copy of the tree)"
mkdir -p "$WORK/build"
tar -C "$ROOT" --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - Makefile ./*.control src |
    tar -C "$WORK/build" -xf -
if ! { make -C "$WORK/build" PG_CONFIG="$PG_CONFIG" -j"$(nproc)" &&
       make -C "$WORK/build" PG_CONFIG="$PG_CONFIG" install; } >"$WORK/build.log" 2>&1 </dev/null; then
    tail -n 100 -- "$WORK/build.log"
    cc_die "the build failed"
fi

rs_start "$WORK" http psql1 psql8
rs_receiver_start http
cc_say "installing autocannon (npm ci)"
mkdir -p "$WORK/load"
cp -- "$ROOT"/test/bench/receiver/{load.js,package.json,package-lock.json} "$WORK/load/"
(cd "$WORK/load" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm-load.log" 2>&1 </dev/null ||
    { cat "$WORK/npm-load.log"; cc_die "npm ci for autocannon failed"; }

cc_say "generating the stream (cc_gen.stream, $CALLS calls)"
rs_psql postgres -q -f "$ROOT/test/gen/stream.sql" >/dev/null || cc_die "could not load test/gen/stream.sql"
rs_psql postgres -At -c "SELECT payload::text FROM cc_gen.stream(20240304, $CALLS, $((CALLS / 6)), 0.1, 5, 10) ORDER BY seq" \
    >"$WORK/bodies.ndjson" || cc_die "could not generate the stream"
echo "$(wc -l <"$WORK/bodies.ndjson") bodies, $(($(wc -c <"$WORK/bodies.ndjson") / $(wc -l <"$WORK/bodies.ndjson"))) bytes on average"

# CPU time (user + system, in clock ticks) of the receiver, pgbouncer, the
# load generator and the server's processes.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
server_ticks() {
    local postmaster pid sum=0
    postmaster=$(head -n 1 "$CC_PGDATA/postmaster.pid")
    for pid in $postmaster $(pgrep -P "$postmaster"); do
        sum=$((sum + $(ticks "$pid")))
    done
    echo "$sum"
}

cc_say "HTTP: autocannon, $CONNS senders, $SECS s (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
auth="Basic $(printf '%s:%s' "$RS_HOOK_USER" "$RS_HOOK_PASSWORD" | base64 -w0)"
cpu0=("$(ticks "$RS_RECEIVER_PID")" "$(ticks "$RS_PGB_PID")" "$(server_ticks)")
node "$WORK/load/load.js" "$RS_URL" "$auth" "$WORK/bodies.ndjson" "$CONNS" "$SECS" >"$WORK/load.json" 2>"$WORK/load.err" &
LOADER=$!
sleep "$((SECS - 1))"
load_ticks=$(ticks "$LOADER")
wait "$LOADER" || { cat "$WORK/load.err"; cc_die "autocannon failed"; }
LOADER=
cpu1=("$(ticks "$RS_RECEIVER_PID")" "$(ticks "$RS_PGB_PID")" "$(server_ticks)")
sleep 1 # the last requests autocannon cut off finish in the receiver
read -r sent answered ok2xx non2xx errors timeouts secs rps p50 p90 p99 max < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log([r.sent, r.answered, r.ok2xx, r.non2xx, r.errors, r.timeouts, r.seconds, r.rps.toFixed(0), r.p50, r.p90, r.p99, r.max].join(" "));
' "$WORK/load.json")
((non2xx == 0 && errors == 0 && timeouts == 0)) ||
    fail "HTTP: $non2xx answers not 2xx, $errors errors, $timeouts timeouts (receiver log: $(tail -n 3 "$WORK/receiver.log"))"

# The bodies autocannon handed out, as INSERT statements (standard strings:
# only the quotes are doubled).
head -n "$sent" "$WORK/bodies.ndjson" >"$WORK/sent.ndjson"
sed "s/'/''/g; s/^/INSERT INTO cometchat.events (payload) VALUES ('/; s/\$/');/" "$WORK/sent.ndjson" >"$WORK/sent.sql"
split -n r/8 -d "$WORK/sent.sql" "$WORK/part."
export PGOPTIONS='-c synchronous_commit=on'

cc_say "psql: $sent single-row INSERTs, one session"
t=$(now_ms)
rs_psql psql1 -f "$WORK/sent.sql" >/dev/null || fail "psql (one session) failed"
psql1_ms=$(($(now_ms) - t))

cc_say "psql: the same INSERTs, 8 sessions at once"
t=$(now_ms)
pids=()
for f in "$WORK"/part.*; do
    rs_psql psql8 -f "$f" >/dev/null &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || fail "psql (8 sessions) failed"
done
psql8_ms=$(($(now_ms) - t))
unset PGOPTIONS

# Correctness: the same events in the three ledgers, nothing to repair.
declare -A rows keys
for db in http psql1 psql8; do
    read -r rows[$db] keys[$db] < <(rs_psql "$db" -At -F ' ' -c "SELECT count(*),
        md5(coalesce(string_agg(encode(idempotency_key, 'hex'), ',' ORDER BY idempotency_key), '')) FROM cometchat.events")
    v=$(rs_psql "$db" -At -c "SELECT count(*) FROM cometchat.verify()")
    [[ $v == 0 ]] || fail "verify() finds $v differences in $db"
done
[[ ${keys[psql1]} == "${keys[psql8]}" ]] || fail "psql: one session and 8 sessions stored different events"
if [[ ${keys[http]} != "${keys[psql1]}" ]]; then
    short=$((rows[psql1] - rows[http]))
    extra=$( (rs_psql psql1 -At -c "SELECT encode(idempotency_key, 'hex') FROM cometchat.events";
              rs_psql http -At -c "SELECT encode(idempotency_key, 'hex') FROM cometchat.events") | sort | uniq -u | wc -l)
    ((short >= 0 && short <= CONNS && extra == short)) ||
        fail "HTTP stored ${rows[http]} events, psql ${rows[psql1]} ($extra keys differ)"
fi

hz=$(getconf CLK_TCK)
cpu() { awk -v t="$1" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }'; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n * 1000 / ms }'; }
r1=$(rate "$sent" "$psql1_ms")
r8=$(rate "$sent" "$psql8_ms")
echo
echo "| path | payloads | seconds | rate | latency p50 / p90 / p99 / max |"
echo "| --- | --- | --- | --- | --- |"
printf '| HTTP: autocannon, %d senders -> receiver (pool 20) -> pgbouncer (transaction, 8) -> PostgreSQL | %d answered | %s | **%s req/s** | %s / %s / %s / %s ms |\n' \
    "$CONNS" "$answered" "$secs" "$rps" "$p50" "$p90" "$p99" "$max"
printf '| psql, single-row INSERT, 1 session | %d | %s | %s ev/s (%.2fx HTTP) | mean %.2f ms |\n' \
    "$sent" "$(awk -v ms="$psql1_ms" 'BEGIN { printf "%.1f", ms / 1000 }')" "$r1" "$(awk -v a="$r1" -v b="$rps" 'BEGIN { print a / b }')" \
    "$(awk -v ms="$psql1_ms" -v n="$sent" 'BEGIN { print ms / n }')"
printf '| psql, single-row INSERT, 8 sessions | %d | %s | %s ev/s (%.2fx HTTP) | |\n' \
    "$sent" "$(awk -v ms="$psql8_ms" 'BEGIN { printf "%.1f", ms / 1000 }')" "$r8" "$(awk -v a="$r8" -v b="$rps" 'BEGIN { print a / b }')"
echo
echo "CPU seconds during the HTTP load ($((2 * SECS)) available on $(nproc) cores): autocannon $(cpu "$load_ticks")+," \
    "receiver $(cpu $((cpu1[0] - cpu0[0]))), pgbouncer $(cpu $((cpu1[1] - cpu0[1]))), PostgreSQL $(cpu $((cpu1[2] - cpu0[2])))"
echo "ledgers: HTTP ${rows[http]} events, psql ${rows[psql1]} and ${rows[psql8]}; $sent bodies sent," \
    "$ok2xx answered 2xx, $non2xx other, $errors errors, $timeouts timeouts"
if ((FAILED)); then
    echo "correctness: FAILED"
    exit 1
fi
echo "correctness: all checks passed"
