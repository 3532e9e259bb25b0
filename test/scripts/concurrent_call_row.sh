#!/usr/bin/env bash
# concurrent_call_row.sh: one calls row written by many transactions at once,
# under two different lifecycle locks.
#
# A ringing call's row is updated by the events of its session id (each new
# participant counts on it) and by the outcome events of its conversation
# (each outcome earlier than the call's current one sets it), and those hold
# different locks (src/lifecycle_locks.c).  pgbench runs 4 clients, one event
# per transaction: ~600 joins of distinct names and 290 outcome events, each
# earlier than all before it, so that nearly every transaction updates the
# same row while another waits on it, and an update often finds the row
# updated again by a third transaction meanwhile.
#
# Checks: no transaction failed; the row counts all 600 names and has the
# earliest outcome; the ledger has every event; verify() is empty.  Fails
# with "tuple concurrently updated" (or "not visible") when an update does
# not merge into the row's latest version.
#
# Runs with PGHOST, PGPORT, PGUSER (a superuser) and PGDATABASE (a fresh
# database with the extension) set.  Takes a second or two.
set -uo pipefail

: "${PGDATABASE:?PGDATABASE must name a database with cometchat_webhooks}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
unset PGOPTIONS
WORK=$(mktemp -d /tmp/cc-call-row.XXXXXX)
trap 'rm -rf -- "$WORK"' EXIT
FAILED=0
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=1; }
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

OUTCOMES=290
T0=1700000000
SESSION=v1.us.app1.stress

"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL || { echo "setup failed"; exit 1; }
CREATE SCHEMA stress;
CREATE SEQUENCE stress.seq;
CREATE FUNCTION stress.join(n bigint) RETURNS jsonb LANGUAGE sql AS \$\$
  SELECT jsonb_build_object('trigger', 'call_participant_joined', 'type', 'call',
    'appId', 'app1', 'region', 'us', 'webhook', 'wh1',
    'data', jsonb_build_object('sessionId', '$SESSION',
      'occupant', jsonb_build_object('name', 'p' || n, 'joined_at', $T0 + 10 + n % 200,
                                     'audio_call', 'false'))) \$\$;
-- Outcome n is sent at T0 + 300 - n: each one earlier than every one before.
CREATE FUNCTION stress.outcome(n bigint) RETURNS jsonb LANGUAGE sql AS \$\$
  SELECT jsonb_build_object('trigger', 'call_cancelled', 'appId', 'app1', 'region', 'us', 'webhook', 'wh1',
    'data', jsonb_build_object('call', jsonb_build_object(
      'id', (500000 + n)::text, 'conversationId', 'a_user_b', 'sender', 'a', 'receiverType', 'user',
      'receiver', 'b', 'category', 'call', 'type', 'audio',
      'data', jsonb_build_object('action', 'cancelled'),
      'sentAt', $T0 + 300 - n, 'updatedAt', $T0 + 300 - n))) \$\$;
INSERT INTO cometchat.events (payload) VALUES (jsonb_build_object(
  'trigger', 'call_initiated', 'appId', 'app1', 'region', 'us', 'webhook', 'wh1',
  'data', jsonb_build_object('call', jsonb_build_object(
    'id', '900001', 'conversationId', 'a_user_b', 'sender', 'a', 'receiverType', 'user',
    'receiver', 'b', 'category', 'call', 'type', 'audio',
    'data', jsonb_build_object('action', 'initiated', 'entities', jsonb_build_object(
      'by', jsonb_build_object('entity', jsonb_build_object('uid', 'a', 'name', 'a'), 'entityType', 'user'),
      'on', jsonb_build_object('entity', jsonb_build_object('sessionid', '$SESSION',
            'status', 'initiated', 'type', 'audio', 'initiatedAt', $T0), 'entityType', 'call'))),
    'sentAt', $T0, 'updatedAt', $T0))));
INSERT INTO cometchat.events (payload) VALUES (jsonb_build_object(
  'trigger', 'call_started', 'type', 'call', 'appId', 'app1', 'region', 'us', 'webhook', 'wh1',
  'data', jsonb_build_object('created_at', $T0 + 5, 'sessionId', '$SESSION')));
SQL

# Transaction k ingests outcome k/3 when k is a multiple of 3 (up to
# OUTCOMES of them), else the join of participant "p<k>".
cat >"$WORK/script.sql" <<SQL
INSERT INTO cometchat.events (payload)
SELECT CASE WHEN k % 3 = 0 AND k / 3 <= $OUTCOMES THEN stress.outcome(k / 3) ELSE stress.join(k) END
FROM (SELECT nextval('stress.seq') AS k) x;
SQL
TOTAL=$((OUTCOMES * 3 + 20))
PER=$(((TOTAL + 3) / 4))
if "$PGBIN/pgbench" -n -c 4 -j 2 -t "$PER" -f "$WORK/script.sql" >"$WORK/pgbench.log" 2>&1 &&
    grep -q "actually processed: $((4 * PER))/$((4 * PER))" "$WORK/pgbench.log"; then
    pass "all $((4 * PER)) transactions committed"
else
    fail "pgbench: not every transaction committed:"
    grep -E 'error|processed' "$WORK/pgbench.log" | sort | uniq -c | head -n 5
fi

names=$(q "SELECT count(DISTINCT name) FROM cometchat.participants")
outcomes=$(q "SELECT count(*) FROM cometchat.call_outcomes")
[[ $names == $((4 * PER - OUTCOMES)) && $outcomes == "$OUTCOMES" ]] &&
    pass "every join and outcome applied ($names names, $outcomes outcomes)" ||
    fail "$names names (expected $((4 * PER - OUTCOMES))), $outcomes outcomes (expected $OUTCOMES)"
count=$(q "SELECT participant_count FROM cometchat.calls WHERE session_id = '$SESSION'")
[[ -n $names && $count == "$names" ]] && pass "the call counts every name ($count of $names)" ||
    fail "calls.participant_count is '$count', distinct names '$names'"
earliest=$(q "SELECT min(sent_at) FROM cometchat.call_outcomes")
outcome_at=$(q "SELECT outcome_at FROM cometchat.calls WHERE session_id = '$SESSION'")
[[ -n $earliest && $outcome_at == "$earliest" ]] && pass "the call has the earliest outcome ($outcome_at)" ||
    fail "calls.outcome_at is '$outcome_at', the earliest outcome '$earliest'"
linked=$(q "SELECT count(*) FILTER (WHERE linked_call_id = '900001') || '/' || count(*) FROM cometchat.call_outcomes")
[[ ${linked%/*} == "${linked#*/}" && ${linked#*/} -gt 100 ]] && pass "every outcome is linked to the call ($linked)" ||
    fail "outcomes linked: $linked"
ledger=$(q "SELECT count(*) FROM cometchat.events")
expected=$(q "SELECT 2 + $names + count(*) FROM cometchat.call_outcomes")
[[ $ledger == "$expected" ]] && pass "the ledger has every event ($ledger)" || fail "ledger rows $ledger, expected $expected"
rejected=$(q "SELECT count(*) FROM cometchat.rejected")
[[ $rejected == 0 ]] && pass "nothing rejected" || fail "$rejected payloads rejected: $(q "SELECT problems FROM cometchat.rejected LIMIT 1")"
diff=$(q "SELECT count(*) FROM cometchat.verify()")
[[ $diff == 0 ]] && pass "verify() finds nothing" || fail "verify() finds $diff differences"

exit $FAILED
