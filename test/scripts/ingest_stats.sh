#!/usr/bin/env bash
# ingest_stats.sh: the ingest counters (cometchat.ingest_stats).
#
# On the test cluster (the library preloaded): four clients deliver the same
# generated stream at once, each in its own order, one INSERT per delivery
# (so most deliveries of an event are duplicates, some racing each other),
# plus invalid bodies, a rolled-back transaction and a rolled-back
# savepoint each.  Then, per app and kind, the counters must equal exactly:
# accepted = the ledger's rows, duplicate = deliveries - accepted, rejected =
# the quarantine's rows; nothing of the rolled-back work is counted.
#
# On a throwaway cluster of its own: the counters count, a backend killed
# with SIGKILL (a crash: the server restarts its shared memory) starts them
# from zero with ingestion unharmed, and without the library in
# shared_preload_libraries reading them raises a clear error while
# ingestion still works.
#
# Runs with PGHOST, PGPORT, PGUSER (a superuser), PGDATABASE (a fresh
# database with the extension) and PGBIN set.
set -uo pipefail

: "${PGDATABASE:?PGDATABASE must name a database with cometchat_webhooks}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
CC_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
WORK=$(mktemp -d /tmp/cc-stats.XXXXXX)
OWN_PORT=$((40000 + RANDOM % 10000))
FAILED=0
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=1; }
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
own() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$OWN_PORT" -U postgres -d postgres "$@"; }
as_server_user() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$WORK" && runuser -u postgres -- "$@")
    else
        (cd "$WORK" && "$@")
    fi
}
cleanup() {
    [[ -f $WORK/data/postmaster.pid ]] &&
        as_server_user "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
[[ $EUID -eq 0 ]] && chown postgres:postgres "$WORK"
chmod 0700 "$WORK"

# ---------------------------------------------------------------------------
# 1. Four clients at once on the test cluster
# ---------------------------------------------------------------------------
q -f "$CC_ROOT/test/gen/stream.sql" >/dev/null || { fail "loading the generator"; exit 1; }
q -c "CREATE TABLE public.sent AS SELECT seq, payload FROM cc_gen.stream(5, 80, 20)" ||
    { fail "generating the stream"; exit 1; }
q -c "SELECT cometchat.reset_ingest_stats()" >/dev/null || { fail "reset_ingest_stats()"; exit 1; }
[[ $(q -c "SELECT count(*) FROM cometchat.ingest_stats") == 0 ]] &&
    pass "after a reset the database has no counters" || fail "counters left after a reset"

for c in 1 2 3 4; do
    {
        # This client's order of the stream: one statement, one transaction each.
        q -c "SELECT format('INSERT INTO cometchat.events (payload) VALUES (%L);', payload)
              FROM public.sent ORDER BY md5(seq::text || '$c')"
        # Invalid bodies: not JSON, a payload with problems (its app and kind known).
        echo "SELECT status FROM cometchat.ingest_raw('not json $c');"
        echo "INSERT INTO cometchat.events (payload) VALUES ('{\"trigger\":\"call_started\",\"appId\":\"bad-app\",\"data\":{}}');"
        # Work rolled back: never counted.
        echo "BEGIN;"
        echo "INSERT INTO cometchat.events (payload) VALUES ('{\"trigger\":\"meeting_started\",\"appId\":\"rolled-back\",\"region\":\"us\",\"webhook\":\"w\",\"data\":{\"sessionId\":\"rb-$c\",\"created_at\":1700000000}}');"
        echo "SELECT status FROM cometchat.ingest_raw('rolled back $c');"
        echo "ROLLBACK;"
        echo "BEGIN;"
        echo "SAVEPOINT s;"
        echo "INSERT INTO cometchat.events (payload) VALUES ('{\"trigger\":\"meeting_started\",\"appId\":\"rolled-back\",\"region\":\"us\",\"webhook\":\"w\",\"data\":{\"sessionId\":\"sp-$c\",\"created_at\":1700000000}}');"
        echo "ROLLBACK TO SAVEPOINT s;"
        echo "COMMIT;"
    } >"$WORK/client$c.sql"
done
pids=()
for c in 1 2 3 4; do
    q -f "$WORK/client$c.sql" >"$WORK/client$c.log" 2>&1 &
    pids+=($!)
done
errors=0
for p in "${pids[@]}"; do wait "$p" || errors=$((errors + 1)); done
((errors == 0)) && pass "four clients delivered the stream at once, no error" ||
    { fail "$errors clients failed"; cat -- "$WORK"/client*.log | grep -v '^\(accepted\|duplicate\|rejected\)$' | head -20; }

# Per app and kind: what was sent (4 times each), what the ledger has, what the counters say.
diff=$(q -c "
    WITH sent AS (
        SELECT c.app_id, c.kind::text AS kind, 4 * count(*) AS deliveries
        FROM public.sent s, cometchat.classify(s.payload) c GROUP BY 1, 2),
    stored AS (
        SELECT app_id, kind::text AS kind, count(*) AS accepted FROM cometchat.events GROUP BY 1, 2),
    expected AS (
        SELECT s.app_id, s.kind, st.accepted, s.deliveries - st.accepted AS duplicate, 0::bigint AS rejected
        FROM sent s JOIN stored st USING (app_id, kind)
        UNION ALL
        SELECT 'bad-app', 'call_started', 0, 0, 4
        UNION ALL
        SELECT NULL, NULL, 0, 0, 4)
    SELECT count(*) FROM (
        (SELECT app_id, kind, accepted, duplicate, rejected FROM expected
         EXCEPT ALL SELECT app_id, kind, accepted, duplicate, rejected FROM cometchat.ingest_stats)
        UNION ALL
        (SELECT app_id, kind, accepted, duplicate, rejected FROM cometchat.ingest_stats
         EXCEPT ALL SELECT app_id, kind, accepted, duplicate, rejected FROM expected)) d")
if [[ $diff == 0 ]]; then
    pass "the counters add up exactly, per app and kind (accepted = ledger, duplicate = deliveries - accepted, rejected = quarantine)"
else
    fail "the counters differ from the ledger and the deliveries in $diff rows:"
    q -c "SELECT app_id, kind, accepted, duplicate, rejected FROM cometchat.ingest_stats ORDER BY 1, 2"
fi
[[ $(q -c "SELECT count(*) FROM cometchat.rejected") == 8 ]] &&
    pass "the quarantine has the 8 invalid deliveries, and the counters count 8 rejected" ||
    fail "the quarantine has $(q -c 'SELECT count(*) FROM cometchat.rejected') rows, not 8"
[[ $(q -c "SELECT count(*) FROM cometchat.ingest_stats WHERE app_id = 'rolled-back'") == 0 ]] &&
    pass "nothing of a rolled-back transaction or savepoint is counted" ||
    fail "rolled-back deliveries were counted"
[[ $(q -c "SELECT count(*) FROM cometchat.ingest_stats WHERE since > now() OR since < now() - interval '1 hour'") == 0 ]] &&
    pass "each row says since when it counts" || fail "since is wrong"
# A duplicate writes nothing: the ledger took one insert per stored row (and
# the 8 rolled back), no update, no delete.
sleep 1
# (The ledger is partitioned: its partitions have the counts.)
ins=$(q -c "SELECT sum(n_tup_ins) - 8 - (SELECT count(*) FROM cometchat.events) || ' ' || sum(n_tup_upd) || ' ' || sum(n_tup_del)
            FROM pg_stat_user_tables
            WHERE relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'cometchat.events'::regclass)")
[[ $ins == "0 0 0" ]] && pass "the ledger took one insert per accepted delivery: counting a duplicate writes nothing" ||
    fail "the ledger's inserts beyond its rows, updates, deletes: $ins"

# ---------------------------------------------------------------------------
# 2. A cluster of its own: crash, then no preload
# ---------------------------------------------------------------------------
as_server_user "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync \
    >"$WORK/initdb.log" 2>&1 </dev/null || { cat -- "$WORK/initdb.log"; fail "initdb"; exit 1; }
cat >>"$WORK/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $OWN_PORT
unix_socket_directories = '$WORK'
fsync = off
timezone = 'UTC'
shared_preload_libraries = 'cometchat_webhooks'
restart_after_crash = on
CONF
start_own() {
    as_server_user "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w "$@" >/dev/null </dev/null ||
        { cat -- "$WORK/server.log"; fail "pg_ctl $*"; exit 1; }
}
start_own start
own -c 'CREATE EXTENSION cometchat_webhooks' || { fail "CREATE EXTENSION"; exit 1; }
own -f "$CC_ROOT/test/gen/stream.sql" >/dev/null
own -c "INSERT INTO cometchat.events (payload) SELECT payload FROM cc_gen.stream(9, 10, 3)"
own -c "INSERT INTO cometchat.events (payload) SELECT payload FROM cc_gen.stream(9, 10, 3)"
counted=$(own -c "SELECT sum(accepted) || ' ' || sum(duplicate) FROM cometchat.ingest_stats")
stored=$(own -c "SELECT count(*) FROM cometchat.events")
dups=$(own -c "SELECT 2 * count(*) - $stored FROM cc_gen.stream(9, 10, 3)")
[[ $counted == "$stored $dups" ]] && pass "own cluster: counted $counted (accepted, duplicate)" ||
    fail "own cluster: counted '$counted', expected '$stored $dups'"

# A crash: a backend killed, the server reinitializes shared memory.
own -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
sleeper=$!
victim=
for ((i = 0; i < 50; i++)); do
    sleep 0.1
    victim=$(own -c "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")
    [[ -n $victim ]] && break
done
if [[ -n $victim ]]; then
    kill -9 "$victim"
    for ((i = 0; i < 100; i++)); do own -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
    grep -q 'terminated by signal 9' "$WORK/server.log" && pass "a backend was killed (SIGKILL): crash and restart" ||
        fail "no crash restart in the server log"
    [[ $(own -c "SELECT count(*) FROM cometchat.ingest_stats") == 0 ]] &&
        pass "after the crash the counters start from zero (they are not durable)" ||
        fail "counters survived a crash restart"
    own -c "INSERT INTO cometchat.events (payload) SELECT payload FROM cc_gen.stream(9, 10, 3)"
    [[ $(own -c "SELECT sum(duplicate) FROM cometchat.ingest_stats") == $(own -c "SELECT count(*) FROM cc_gen.stream(9, 10, 3)") &&
       $(own -c "SELECT count(*) FROM cometchat.events") == "$stored" ]] &&
        pass "after the crash ingestion works and counts again (all duplicates, ledger unchanged)" ||
        fail "after the crash: counters or ledger wrong"
else
    fail "could not find a backend to kill"
fi
wait "$sleeper" 2>/dev/null

# Without the library preloaded: a clear error, and ingestion unharmed.
sed -i "s/^shared_preload_libraries = 'cometchat_webhooks'/shared_preload_libraries = ''/" "$WORK/data/postgresql.conf"
start_own restart
out=$(own -c "SELECT * FROM cometchat.ingest_stats" 2>&1)
if grep -q 'cometchat.ingest_stats needs cometchat_webhooks in shared_preload_libraries' <<<"$out" &&
   grep -q 'HINT:  Add cometchat_webhooks to shared_preload_libraries' <<<"$out"; then
    pass "not preloaded: reading the counters raises a clear error with a hint"
else
    fail "not preloaded: unexpected answer: $out"
fi
out=$(own -c "SELECT cometchat.reset_ingest_stats()" 2>&1)
grep -q 'needs cometchat_webhooks in shared_preload_libraries' <<<"$out" &&
    pass "not preloaded: reset_ingest_stats() raises the same error" || fail "not preloaded: reset said: $out"
before=$(own -c "SELECT count(*) FROM cometchat.events")
own -c "SELECT (cometchat.ingest(payload)).status FROM cc_gen.stream(10, 3, 1)" >/dev/null &&
    (($(own -c "SELECT count(*) FROM cometchat.events") > before)) &&
    pass "not preloaded: ingestion works" || fail "not preloaded: ingestion failed"

exit "$FAILED"
