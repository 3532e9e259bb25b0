#!/usr/bin/env bash
# receiver_e2e.sh: webhooks received for real, end to end: HTTP into the
# reference receiver (examples/receiver), through pgbouncer in transaction
# mode, into a PostgreSQL cluster that is shut down (immediate) in the middle
# of a load and started again.
#
# Starts its own throwaway cluster, pgbouncer and receiver (test/receiver/
# stack.sh; loopback and unix sockets only), because it kills its server; the
# database test/run hands it (PGDATABASE) is not used.  Two databases: "recv",
# which the receiver writes through pgbouncer, and "oracle", where psql
# ingests the same bodies (cometchat.ingest_raw() one by one) and the checks
# run.  Every request goes out over HTTP (test/receiver/send.js); the
# requests (test/receiver/requests.js) are a seeded shuffle.
#
# 1. The demo stream and a generated stream (test/gen/stream.sql) with exact
#    and reformatted duplicates, bodies that are not JSON, invalid payloads,
#    NUL and non-UTF-8 bytes, wrong and missing credentials, a GET, bodies
#    over the size limit (with Content-Length and chunked) and one exactly at
#    it, 16 senders at once.  Checks: each request got the answer its kind
#    calls for (200, 401, 405, 413); every 200 is in the ledger or the
#    quarantine exactly once (an "accepted" answer names its own ledger row, a
#    "duplicate" the row of its original, a "rejected" its own quarantine row,
#    and there are no other rows); nothing of a refused request is stored; the
#    ledger, the quarantine and the lifecycle tables equal the oracle's
#    (EXCEPT ALL both ways); verify() is empty.
# 2. A second generated stream, 50 senders at once; when a quarter has been
#    answered, a session locks the ledger against inserts until the
#    receiver's statements are seen waiting on every server connection, then
#    the cluster is shut down (immediate: SIGQUIT to the postmaster) and
#    started again a second later.  Checks: every answer is 200 or 503;
#    requests in flight at the shutdown were answered 503, at least one for
#    each statement seen running; no 200 without its row after the restart;
#    re-sending every 503 (a few rounds) ends with 200 for all; then the ledger
#    and the lifecycle tables equal the oracle's, and the quarantine too but
#    for second copies of bodies whose 503 followed their commit (each such
#    copy must belong to a body answered 503).
# Throughout: every statement the receiver's role ran is the one ingest
# statement (no SET, no BEGIN, no named prepared statement: nothing a
# transaction-mode pooler would carry to another client), the role's
# settings reach it through pgbouncer, its grants allow nothing else (no
# reading, updating or deleting, no ingest(), verify(), rebuild()), the
# receiver's process outlived the restart, and the server log shows no crash.
#
# Prints PASS/FAIL lines and a last line "receiver e2e: N passed, M failed";
# exits non-zero when anything failed.  About 20 seconds on 2 cores.
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=test/receiver/stack.sh
source "$ROOT/test/receiver/stack.sh"

WORK=$(mktemp -d /tmp/cc-receiver-e2e.XXXXXX)
PASSED=0
FAILED=0
START=$SECONDS
pass() { printf 'PASS: %s\n' "$*"; PASSED=$((PASSED + 1)); }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=$((FAILED + 1)); }
BACKGROUND=()
cleanup() {
    local rc=$? pid
    trap - EXIT
    for pid in "${BACKGROUND[@]}"; do
        rs_kill "$pid"
    done
    if ((FAILED > 0 || rc != 0)); then
        echo "---- last lines of the receiver's log ----"
        tail -n 20 "$WORK/receiver.log" 2>/dev/null
        echo "---- last lines of pgbouncer's log ----"
        tail -n 20 "$WORK/pgbouncer/pgbouncer.log" 2>/dev/null
    fi
    rs_stop
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC2016  # $1 is the statement's parameter
INGEST_SQL='SELECT status, event_id, rejected_id FROM cometchat.ingest_raw($1)'

# check NAME SQL: SQL (run in the oracle database) returns one row: what is
# wrong (NULL when nothing is) and what was counted.
check() {
    local name=$1 out bad info
    if ! out=$(rs_psql oracle -At -F $'\x1f' -c "$2" 2>&1); then
        fail "$name: the check's query failed: $out"
        return
    fi
    IFS=$'\x1f' read -r bad info <<<"$out"
    if [[ -z $bad ]]; then pass "$name ($info)"; else fail "$name: $bad ($info)"; fi
}

# load FILE TABLE: one JSON document per line into TABLE (r jsonb).
load() {
    rs_psql oracle -c "\\copy $2 (r) FROM '$1' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
}

# What the receiver's database holds now, into the oracle database.
snapshot_recv() {
    rs_psql recv -At -c "SELECT to_jsonb(e) FROM cometchat.events e" >"$WORK/recv_events.ndjson" &&
        rs_psql recv -At -c "SELECT to_jsonb(r) FROM cometchat.rejected r" >"$WORK/recv_rejected.ndjson" &&
        rs_psql recv -At -c "SELECT jsonb_build_array(table_name, row_data) FROM cometchat._lifecycle_rows()" \
            >"$WORK/recv_lifecycle.ndjson" &&
        rs_psql oracle -c "TRUNCATE audit.recv_events, audit.recv_rejected, audit.recv_lifecycle" &&
        load "$WORK/recv_events.ndjson" audit.recv_events &&
        load "$WORK/recv_rejected.ndjson" audit.recv_rejected &&
        load "$WORK/recv_lifecycle.ndjson" audit.recv_lifecycle
}

# The oracle ingests, with psql, the bodies of PHASE's requests that were
# answered 200, one ingest_raw() call each.
oracle_ingest() {
    rs_psql oracle >/dev/null <<SQL
DO \$\$
DECLARE
    b text;
BEGIN
    FOR b IN SELECT q.body FROM audit.req q
             WHERE q.phase = '$1' AND EXISTS (SELECT FROM audit.res s WHERE s.id = q.id AND s.status = 200)
             ORDER BY q.n LOOP
        PERFORM cometchat.ingest_raw(b);
    END LOOP;
END
\$\$;
SQL
}

# The ledger, the quarantine and the lifecycle tables against the oracle's.
# QUARANTINE_EXTRA: the SQL condition an extra quarantine row of recv must
# meet (false: none allowed).
compare_with_oracle() {
    local label=$1 quarantine_extra=$2
    check "$label: the ledger equals psql ingestion of the same bodies" "
        WITH o AS (SELECT to_jsonb(e) - 'id' - 'received_at' AS c FROM cometchat.events e),
             r AS (SELECT content AS c FROM audit.ev),
             missing AS (SELECT c FROM o EXCEPT ALL SELECT c FROM r),
             extra AS (SELECT c FROM r EXCEPT ALL SELECT c FROM o)
        SELECT nullif(concat_ws('; ',
                 CASE WHEN (SELECT count(*) FROM missing) > 0 THEN (SELECT count(*) FROM missing) || ' rows missing, e.g. ' || left((SELECT c::text FROM missing LIMIT 1), 300) END,
                 CASE WHEN (SELECT count(*) FROM extra) > 0 THEN (SELECT count(*) FROM extra) || ' rows too many, e.g. ' || left((SELECT c::text FROM extra LIMIT 1), 300) END), ''),
               (SELECT count(*) FROM o) || ' rows each'"
    check "$label: the lifecycle tables equal psql ingestion's" "
        WITH o AS (SELECT table_name AS t, row_data AS d FROM cometchat._lifecycle_rows()),
             r AS (SELECT r->>0 AS t, r->1 AS d FROM audit.recv_lifecycle),
             missing AS (SELECT t, d FROM o EXCEPT ALL SELECT t, d FROM r),
             extra AS (SELECT t, d FROM r EXCEPT ALL SELECT t, d FROM o)
        SELECT nullif(concat_ws('; ',
                 CASE WHEN (SELECT count(*) FROM missing) > 0 THEN (SELECT count(*) FROM missing) || ' rows missing, e.g. ' || left((SELECT t || ' ' || d FROM missing LIMIT 1), 300) END,
                 CASE WHEN (SELECT count(*) FROM extra) > 0 THEN (SELECT count(*) FROM extra) || ' rows too many, e.g. ' || left((SELECT t || ' ' || d FROM extra LIMIT 1), 300) END), ''),
               (SELECT count(*) FROM o) || ' rows in ' || (SELECT count(DISTINCT t) FROM o) || ' tables'"
    check "$label: the quarantine equals psql ingestion's" "
        WITH o AS (SELECT to_jsonb(j) - 'id' - 'received_at' AS c FROM cometchat.rejected j),
             r AS (SELECT content AS c FROM audit.rj),
             missing AS (SELECT c FROM o EXCEPT ALL SELECT c FROM r),
             extra AS (SELECT c FROM r EXCEPT ALL SELECT c FROM o),
             unexplained AS (SELECT c FROM extra WHERE NOT ($quarantine_extra))
        SELECT nullif(concat_ws('; ',
                 CASE WHEN (SELECT count(*) FROM missing) > 0 THEN (SELECT count(*) FROM missing) || ' rows missing, e.g. ' || left((SELECT c::text FROM missing LIMIT 1), 300) END,
                 CASE WHEN (SELECT count(*) FROM unexplained) > 0 THEN (SELECT count(*) FROM unexplained) || ' rows too many, e.g. ' || left((SELECT c::text FROM unexplained LIMIT 1), 300) END), ''),
               (SELECT count(*) FROM o) || ' rows, ' || (SELECT count(*) FROM extra) || ' second copies of bodies answered 503'"
    local diff
    diff=$(rs_psql recv -At -c "SELECT count(*) FROM cometchat.verify()" 2>&1)
    [[ $diff == 0 ]] && pass "$label: verify() finds nothing in the receiver's database" ||
        fail "$label: verify() in the receiver's database: $diff"
}

# Every 200 of PHASE names its row: an accepted answer its own ledger row
# (no two the same), a duplicate the row of an event with the same key, a
# rejected one its own quarantine row holding that body.
check_answers_have_rows() {
    local label=$1 phase=$2
    check "$label: every 200 answer names its row" "
        WITH ok AS (SELECT * FROM audit.ok WHERE phase = '$phase'),
             acc AS (SELECT * FROM ok WHERE status = 'accepted'),
             dup AS (SELECT * FROM ok WHERE status = 'duplicate'),
             rej AS (SELECT * FROM ok WHERE status = 'rejected'),
             bad_acc AS (SELECT acc.id FROM acc LEFT JOIN audit.ev e ON e.id = acc.event_id
                         WHERE e.payload IS DISTINCT FROM audit.try_jsonb(acc.body)),
             bad_dup AS (SELECT dup.id FROM dup LEFT JOIN audit.ev e ON e.id = dup.event_id
                         WHERE cometchat.idempotency_key(e.payload) IS DISTINCT FROM cometchat.idempotency_key(audit.try_jsonb(dup.body))),
             bad_rej AS (SELECT rej.id FROM rej LEFT JOIN audit.rj j ON j.id = rej.rejected_id
                         WHERE j.id IS NULL OR NOT (j.raw_body = rej.body OR (j.raw_body IS NULL AND j.payload = audit.try_jsonb(rej.body))))
        SELECT nullif(concat_ws('; ',
                 CASE WHEN EXISTS (SELECT FROM ok WHERE status IS NULL OR status NOT IN ('accepted', 'duplicate', 'rejected'))
                      THEN 'answers that are not accepted, duplicate or rejected ' || (SELECT audit.few(array_agg(id)) FROM ok WHERE status IS NULL OR status NOT IN ('accepted', 'duplicate', 'rejected')) END,
                 CASE WHEN (SELECT count(*) FROM acc) <> (SELECT count(DISTINCT event_id) FROM acc) THEN 'two accepted answers name one ledger row' END,
                 CASE WHEN (SELECT count(*) FROM rej) <> (SELECT count(DISTINCT rejected_id) FROM rej) THEN 'two rejected answers name one quarantine row' END,
                 CASE WHEN EXISTS (SELECT FROM bad_acc) THEN 'accepted but not in the ledger as sent ' || (SELECT audit.few(array_agg(id)) FROM bad_acc) END,
                 CASE WHEN EXISTS (SELECT FROM bad_dup) THEN 'duplicate of no ledger row with its key ' || (SELECT audit.few(array_agg(id)) FROM bad_dup) END,
                 CASE WHEN EXISTS (SELECT FROM bad_rej) THEN 'rejected but not quarantined as sent ' || (SELECT audit.few(array_agg(id)) FROM bad_rej) END), ''),
               (SELECT count(*) FROM acc) || ' accepted, ' || (SELECT count(*) FROM dup) || ' duplicate, ' || (SELECT count(*) FROM rej) || ' quarantined'"
}

# Every statement the receiver's role ran in recv (log_statement = all for it
# there; pgbouncer's own server_check_query aside) is the one ingest statement.
check_statements() {
    local label=$1 stmts others
    stmts=$(grep -F " $RS_ROLE@recv LOG:  " "$CC_PGLOG" | grep -E 'LOG:  (statement|execute [^:]*): ' |
        grep -vF 'LOG:  statement: select 1')
    others=$(grep -vF "LOG:  execute <unnamed>: $INGEST_SQL" <<<"$stmts" | grep -c . || true)
    if [[ -n $stmts && $others == 0 ]]; then
        pass "$label: every statement the receiver ran was the ingest statement ($(grep -c . <<<"$stmts") statements)"
    else
        fail "$label: the receiver ran $others other statements, e.g. $(grep -vF "execute <unnamed>: $INGEST_SQL" <<<"$stmts" | head -n 3)"
    fi
}

########################################################################
# The stack: cluster, databases, pgbouncer, receiver.
########################################################################
rs_start "$WORK" recv oracle
# The test's instrument, not the receiver's setup: log what the role runs.
rs_psql postgres -c "ALTER ROLE $RS_ROLE IN DATABASE recv SET log_statement = 'all'" \
    -c "ALTER ROLE $RS_ROLE IN DATABASE recv SET log_parameter_max_length = 0" >/dev/null ||
    cc_die "could not set log_statement for the receiver's role"
rs_receiver_start recv
echo "stack: cluster $CC_PGROOT, pgbouncer 127.0.0.1:$RS_PGB_PORT, receiver $RS_URL ($(node --version), pgbouncer $(pgbouncer --version | head -n 1 | awk '{print $NF}'))"

rs_psql oracle >/dev/null <<'SQL' || cc_die "could not create the audit schema"
CREATE SCHEMA audit;
CREATE TABLE audit.req_in (n bigserial, r jsonb);
CREATE TABLE audit.res_in (r jsonb);
CREATE TABLE audit.recv_events (r jsonb);
CREATE TABLE audit.recv_rejected (r jsonb);
CREATE TABLE audit.recv_lifecycle (r jsonb);
CREATE FUNCTION audit.try_jsonb(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN t::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE VIEW audit.req AS
    SELECT n, r->>'id' AS id, left(r->>'id', 1) AS phase, r->>'kind' AS kind, (r->>'expect')::int AS expect,
           r->>'text' AS body
    FROM audit.req_in;
CREATE VIEW audit.res AS
    SELECT r->>'id' AS id, left(r->>'id', 1) AS phase, (r->>'attempt')::int AS attempt,
           (r->>'status')::int AS status, r->>'answer' AS answer, r->>'error' AS error,
           (r->>'t0')::bigint AS t0, (r->>'t1')::bigint AS t1
    FROM audit.res_in;
-- "N: id id id id id ...", for a failure message.
CREATE FUNCTION audit.few(ids text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT cardinality(ids) || ': ' || array_to_string(ids[1:5], ' ') || CASE WHEN cardinality(ids) > 5 THEN ' ...' ELSE '' END
$$;
-- The 200 answers, as the receiver's JSON (status NULL when an answer is not that).
CREATE VIEW audit.ok AS
    SELECT s.id, s.phase, s.attempt, a->>'status' AS status, (a->>'event_id')::bigint AS event_id,
           (a->>'rejected_id')::bigint AS rejected_id, q.body
    FROM audit.res s JOIN audit.req q USING (id), LATERAL (SELECT audit.try_jsonb(s.answer) AS a) x
    WHERE s.status = 200;
CREATE VIEW audit.ev AS
    SELECT (r->>'id')::bigint AS id, r->'payload' AS payload, r - 'id' - 'received_at' AS content FROM audit.recv_events;
CREATE VIEW audit.rj AS
    SELECT (r->>'id')::bigint AS id, r->'payload' AS payload, r->>'raw_body' AS raw_body,
           r - 'id' - 'received_at' AS content FROM audit.recv_rejected;
SQL
rs_psql oracle -q -f "$ROOT/test/gen/stream.sql" >/dev/null || cc_die "could not load test/gen/stream.sql"
rs_psql oracle -At -c "SELECT payload::text FROM cc_gen.stream(1801, 150, 25) ORDER BY seq" >"$WORK/gen_a.ndjson" &&
    rs_psql oracle -At -c "SELECT payload::text FROM cc_gen.stream(1802, 300, 40) ORDER BY seq" >"$WORK/gen_b.ndjson" ||
    cc_die "could not generate the streams"

########################################################################
# 1. Everything a receiver meets, 16 senders at once.
########################################################################
node "$ROOT/test/receiver/requests.js" a 18 "$RS_MAX_BODY" "$RS_HOOK_USER" "$RS_HOOK_PASSWORD" --refusals \
    "$ROOT/demo/stream.ndjson" "$WORK/gen_a.ndjson" >"$WORK/req_a.ndjson" || cc_die "requests.js failed"
node "$ROOT/test/receiver/send.js" "$RS_URL" "$WORK/req_a.ndjson" "$WORK/res_a.ndjson" 16 || fail "send.js failed"
load "$WORK/req_a.ndjson" audit.req_in && load "$WORK/res_a.ndjson" audit.res_in && snapshot_recv ||
    cc_die "could not load the results"

check "stream: each request got the answer its kind calls for" "
    WITH a AS (SELECT q.id, q.kind, q.expect, s.status FROM audit.req q LEFT JOIN audit.res s USING (id) WHERE q.phase = 'a'),
         wrong AS (SELECT * FROM a WHERE status IS DISTINCT FROM expect)
    SELECT CASE WHEN EXISTS (SELECT FROM wrong) THEN (SELECT string_agg(kind || ' ' || id || ': ' || coalesce(status::text, 'no result') || ', expected ' || expect, '; ') FROM (SELECT * FROM wrong LIMIT 10) w) END,
           (SELECT string_agg(kind || ' ' || n || 'x' || expect, ', ' ORDER BY kind) FROM (SELECT kind, expect, count(*) AS n FROM a GROUP BY 1, 2) k)"
check "stream: one result per request" "
    SELECT CASE WHEN (SELECT count(*) FROM audit.res WHERE phase = 'a') <> (SELECT count(*) FROM audit.req WHERE phase = 'a')
                THEN (SELECT count(*) FROM audit.res WHERE phase = 'a') || ' results for ' || (SELECT count(*) FROM audit.req WHERE phase = 'a') || ' requests' END,
           (SELECT count(*) FROM audit.req WHERE phase = 'a') || ' requests'"
check_answers_have_rows stream a
check "stream: the ledger and the quarantine hold those rows and no others" "
    SELECT nullif(concat_ws('; ',
             CASE WHEN (SELECT count(*) FROM audit.ev) <> (SELECT count(*) FROM audit.ok WHERE phase = 'a' AND status = 'accepted')
                  THEN (SELECT count(*) FROM audit.ev) || ' ledger rows, ' || (SELECT count(*) FROM audit.ok WHERE phase = 'a' AND status = 'accepted') || ' accepted answers' END,
             CASE WHEN (SELECT count(*) FROM audit.rj) <> (SELECT count(*) FROM audit.ok WHERE phase = 'a' AND status = 'rejected')
                  THEN (SELECT count(*) FROM audit.rj) || ' quarantine rows, ' || (SELECT count(*) FROM audit.ok WHERE phase = 'a' AND status = 'rejected') || ' rejected answers' END), ''),
           (SELECT count(*) FROM audit.ev) || ' ledger rows, ' || (SELECT count(*) FROM audit.rj) || ' quarantined'"
check "stream: nothing of a refused request (401, 405, 413) is stored" "
    SELECT CASE WHEN n > 0 THEN n || ' rows hold a refused body' END, 'webhook e2e_refused: ' || n || ' rows'
    FROM (SELECT (SELECT count(*) FROM audit.recv_events WHERE r::text LIKE '%e2e_refused%')
               + (SELECT count(*) FROM audit.recv_rejected WHERE r::text LIKE '%e2e_refused%') AS n) x"
oracle_ingest a || fail "the oracle's ingestion failed"
compare_with_oracle stream false
check_statements stream

########################################################################
# 2. An immediate shutdown in the middle of a load of 50 senders.
########################################################################
node "$ROOT/test/receiver/requests.js" b 19 "$RS_MAX_BODY" "$RS_HOOK_USER" "$RS_HOOK_PASSWORD" \
    "$WORK/gen_b.ndjson" >"$WORK/req_b.ndjson" || cc_die "requests.js failed"
total=$(wc -l <"$WORK/req_b.ndjson")
: >"$WORK/res_b.ndjson"
node "$ROOT/test/receiver/send.js" "$RS_URL" "$WORK/req_b.ndjson" "$WORK/res_b.ndjson" 50 >"$WORK/send_b.log" 2>&1 &
sender=$!
BACKGROUND+=("$sender")
for ((i = 0; i < 600; i++)); do
    (($(wc -l <"$WORK/res_b.ndjson") >= total / 4)) && break
    kill -0 "$sender" 2>/dev/null || break
    sleep 0.05
done
# A lock that every insert into the ledger waits for, so that statements of
# the receiver are surely running, not just queued, when the server dies.
rs_psql recv -c "BEGIN" -c "LOCK TABLE cometchat.events IN SHARE MODE" -c "SELECT pg_sleep(60)" \
    >/dev/null 2>&1 &
locker=$!
BACKGROUND+=("$locker")
for ((i = 0; i < 100; i++)); do
    blocked=$(rs_psql recv -At -c "SELECT count(*) FROM pg_stat_activity
        WHERE usename = '$RS_ROLE' AND wait_event_type = 'Lock' AND state = 'active'")
    ((blocked >= 4)) && break
    sleep 0.02
done
answered=$(wc -l <"$WORK/res_b.ndjson")
kill_at=$(date +%s%3N)
rs_stop_immediate || cc_die "the immediate shutdown failed"
down_at=$(date +%s%3N)
wait "$locker"
sleep 1
rs_start_again || cc_die "the cluster did not start again: $(cat "$WORK/restart.log")"
up_at=$(date +%s%3N)
echo "fault: immediate shutdown after $answered of $total answers, with $blocked ingest statements running" \
    "(down in $((down_at - kill_at)) ms), server up again $((up_at - down_at)) ms later"
for ((i = 0; i < 1200; i++)); do
    kill -0 "$sender" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$sender" 2>/dev/null; then
    rs_kill "$sender"
    fail "the load did not finish within 120 s of the restart"
fi
wait "$sender" || fail "send.js failed"
cat "$WORK/send_b.log"
# send.js --again exits 0 once every request it sent (none, when none is
# left) was answered 200.
for ((round = 1; round <= 5; round++)); do
    node "$ROOT/test/receiver/send.js" "$RS_URL" "$WORK/req_b.ndjson" "$WORK/res_b.ndjson" 10 --again && break
    sleep 1
done
load "$WORK/req_b.ndjson" audit.req_in && load "$WORK/res_b.ndjson" audit.res_in && snapshot_recv ||
    cc_die "could not load the results"

check "fault: every answer was 200 or 503" "
    SELECT CASE WHEN EXISTS (SELECT FROM audit.res WHERE phase = 'b' AND status NOT IN (200, 503))
                THEN (SELECT string_agg(id || ' attempt ' || attempt || ': ' || status || coalesce(' ' || error, ''), '; ') FROM (SELECT * FROM audit.res WHERE phase = 'b' AND status NOT IN (200, 503) LIMIT 10) x) END,
           (SELECT string_agg(status || ': ' || n, ', ' ORDER BY status) FROM (SELECT status, count(*) AS n FROM audit.res WHERE phase = 'b' GROUP BY 1) x)"
# Sent before the shutdown, answered after it: in flight when it came.  Each
# of the statements seen running then belongs to one of these, and its
# transaction never committed: at least that many must be 503.  The others
# were waiting for a connection, and may have been answered 200 after the
# restart (pgbouncer holds a query while the server is away, within the
# receiver's 1.8 s).
check "fault: requests in flight at the shutdown were answered 503" "
    WITH f AS (SELECT * FROM audit.res WHERE phase = 'b' AND attempt = 1 AND t0 < $kill_at AND t1 > $kill_at)
    SELECT CASE WHEN ${blocked:-0} < 1 THEN 'no ingest statement was seen running at the shutdown'
                WHEN (SELECT count(*) FROM f WHERE status = 503) < ${blocked:-0}
                THEN 'fewer 503 answers than statements running at the shutdown ($blocked)' END,
           (SELECT count(*) FROM f) || ' in flight: ' || (SELECT count(*) FROM f WHERE status = 503) || ' answered 503 (${blocked:-0} statements were running), '
           || (SELECT count(*) FROM f WHERE status = 200) || ' answered 200 (committed before, or queued and run after the restart)'"
check "fault: the load went on after the restart" "
    SELECT CASE WHEN n = 0 THEN 'no request sent after the restart was answered 200' END, n || ' first attempts answered 200 after it'
    FROM (SELECT count(*) AS n FROM audit.res WHERE phase = 'b' AND attempt = 1 AND status = 200 AND t0 > $up_at) x"
check_answers_have_rows fault b
check "fault: re-sending every 503 ended with 200 for every request" "
    WITH latest AS (SELECT DISTINCT ON (id) id, status, attempt FROM audit.res WHERE phase = 'b' ORDER BY id, attempt DESC)
    SELECT CASE WHEN (SELECT count(*) FROM latest WHERE status = 200) <> (SELECT count(*) FROM audit.req WHERE phase = 'b')
                THEN (SELECT count(*) FROM audit.req WHERE phase = 'b') - (SELECT count(*) FROM latest WHERE status = 200) || ' requests never answered 200' END,
           (SELECT count(*) FROM audit.req WHERE phase = 'b') || ' requests, ' || (SELECT count(*) FROM audit.res WHERE phase = 'b' AND attempt > 1) || ' sent again in ' || (SELECT coalesce(max(attempt), 1) - 1 FROM audit.res WHERE phase = 'b') || ' rounds'"
check "fault: every ledger row was answered 200 (accepted or duplicate)" "
    WITH named AS (SELECT event_id FROM audit.ok WHERE status IN ('accepted', 'duplicate'))
    SELECT CASE WHEN n > 0 THEN n || ' ledger rows no 200 answer names' END, (SELECT count(*) FROM audit.ev) || ' ledger rows'
    FROM (SELECT count(*) AS n FROM audit.ev WHERE id NOT IN (SELECT event_id FROM named)) x"
oracle_ingest b || fail "the oracle's ingestion failed"
compare_with_oracle fault "
    EXISTS (SELECT FROM audit.req q JOIN audit.res s USING (id)
            WHERE q.phase = 'b' AND s.status = 503
              AND (extra.c->>'raw_body' = q.body OR (extra.c->>'raw_body' IS NULL AND extra.c->'payload' = audit.try_jsonb(q.body))))"
check_statements fault

# As the receiver's role, through pgbouncer.
as_receiver() {
    PGPASSWORD=$RS_ROLE_PASSWORD "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$RS_PGB_PORT" -U "$RS_ROLE" -d recv "$@" 2>&1
}
settings=$(as_receiver -c "SHOW statement_timeout" -c "SHOW synchronous_commit" -c "SHOW cometchat.on_invalid" | paste -sd ' ')
[[ $settings == "1500ms on quarantine" ]] &&
    pass "the role's settings reach the receiver's connections through pgbouncer ($settings)" ||
    fail "through pgbouncer the role's connections have: $settings (expected 1500ms on quarantine)"
allowed=()
for stmt in "SELECT FROM cometchat.events LIMIT 1" "SELECT FROM cometchat.rejected LIMIT 1" \
    "SELECT FROM cometchat.calls LIMIT 1" "SELECT FROM cometchat.sessions LIMIT 1" \
    "SELECT FROM cometchat.participants LIMIT 1" "SELECT FROM cometchat.recordings LIMIT 1" \
    "SELECT FROM cometchat.call_outcomes LIMIT 1" "SELECT FROM cometchat.call_lifecycle LIMIT 1" \
    "SELECT cometchat.ingest('{}')" "SELECT cometchat.verify()" "SELECT cometchat.rebuild()" \
    "DELETE FROM cometchat.rejected" "UPDATE cometchat.events SET payload = payload"; do
    [[ $(as_receiver -c "$stmt") == *"permission denied"* ]] || allowed+=("$stmt")
done
((${#allowed[@]} == 0)) && pass "the receiver's role may do nothing else (13 statements refused)" ||
    fail "the receiver's role may: ${allowed[*]}"
kill -0 "$RS_RECEIVER_PID" 2>/dev/null && pass "the receiver outlived the restart (one process throughout)" ||
    fail "the receiver's process has ended: $(tail -n 5 "$WORK/receiver.log")"
crashes=$(grep -E 'terminated by signal|PANIC' "$CC_PGLOG" || true)
[[ -z $crashes ]] && pass "the server log shows no crash" || fail "the server log shows a crash: $(head -n 3 <<<"$crashes")"

echo "receiver e2e: $PASSED passed, $FAILED failed ($((SECONDS - START)) s)"
((FAILED == 0))
