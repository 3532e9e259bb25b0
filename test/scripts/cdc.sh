#!/usr/bin/env bash
# cdc.sh: change data capture.  A FOR ALL TABLES publication (what Debezium,
# Supabase Realtime and most CDC set-ups create) on the test database, and a
# second throwaway cluster subscribing to it.
#
# A publication that publishes updates refuses an UPDATE of a table without
# a replica identity, so every table of the extension must have one (calls
# has no primary key: its identity is the unique index on call_key).  The
# generated stream is ingested in three parts: single-row INSERTs and one
# bulk INSERT before the subscription exists (copied by its initial sync),
# then more events after it started, which update rows the subscriber
# already has.  Checks: no ingest failed; once the subscriber has caught up,
# every table of the extension is the same on both sides, row for row.
#
# Runs with PGHOST, PGPORT, PGUSER (a superuser), PGDATABASE (a fresh
# database with the extension) and PGBIN set; the test cluster runs with
# wal_level = logical (test/lib/cluster.sh).
set -uo pipefail

: "${PGDATABASE:?PGDATABASE must name a database with cometchat_webhooks}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
CC_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
WORK=$(mktemp -d /tmp/cc-cdc.XXXXXX)
SUB_PORT=$((40000 + RANDOM % 10000))
FAILED=0
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=1; }
pub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
sub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$SUB_PORT" -U postgres -d subscriber "$@"; }
as_server_user() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$WORK" && runuser -u postgres -- "$@")
    else
        (cd "$WORK" && "$@")
    fi
}
cleanup() {
    sub -d subscriber -c 'DROP SUBSCRIPTION IF EXISTS cc_sub' >/dev/null 2>&1
    [[ -f $WORK/data/postmaster.pid ]] &&
        as_server_user "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1
    pub -c 'DROP PUBLICATION IF EXISTS cc_all' >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
[[ $EUID -eq 0 ]] && chown postgres:postgres "$WORK"
chmod 0700 "$WORK"

[[ $(pub -c 'SHOW wal_level') == logical ]] || { fail "the test cluster needs wal_level = logical"; exit 1; }

# Every table of the extension has a replica identity a publication accepts
# (but the unlogged lifecycle_claims, which no publication publishes).
missing=$(pub -c "
    SELECT string_agg(c.relname, ', ' ORDER BY c.relname)
    FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'cometchat_webhooks'
    WHERE c.relkind = 'r' AND c.relpersistence = 'p'
      AND NOT (c.relreplident = 'f'
               OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
               OR (c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))")
if [[ -z $missing ]]; then
    pass "every table of the extension has a replica identity"
else
    fail "tables without a usable replica identity: $missing"
fi

pub -c 'CREATE PUBLICATION cc_all FOR ALL TABLES' || { fail "CREATE PUBLICATION"; exit 1; }
pub -f "$CC_ROOT/test/gen/stream.sql" >/dev/null || { fail "loading the generator"; exit 1; }
pub -c "CREATE TABLE public.cdc_stream AS SELECT seq, payload FROM cc_gen.stream(31, 120, 30) ORDER BY seq" ||
    { fail "generating the stream"; exit 1; }
total=$(pub -c 'SELECT count(*) FROM public.cdc_stream')
third=$((total / 3))

errors=0
# Part 1: single-row INSERTs, one statement and one transaction each.
pub -c "SELECT format('INSERT INTO cometchat.events (payload) VALUES (%L);', payload)
        FROM public.cdc_stream WHERE seq <= $third ORDER BY seq" >"$WORK/part1.sql"
pub -f "$WORK/part1.sql" >"$WORK/part1.log" 2>&1 || errors=$((errors + 1))
# Part 2: one bulk INSERT.
pub -c "INSERT INTO cometchat.events (payload)
        SELECT payload FROM public.cdc_stream WHERE seq > $third AND seq <= 2 * $third ORDER BY seq" \
    >"$WORK/part2.log" 2>&1 || errors=$((errors + 1))

# The subscriber: a cluster of its own, the extension's tables (and its
# trigger, which logical replication's apply does not fire: the lifecycle
# rows arrive as rows).
as_server_user "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync \
    >"$WORK/initdb.log" 2>&1 </dev/null || { cat -- "$WORK/initdb.log"; fail "initdb"; exit 1; }
cat >>"$WORK/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $SUB_PORT
unix_socket_directories = '$WORK'
fsync = off
timezone = 'UTC'
CONF
as_server_user "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null </dev/null ||
    { cat -- "$WORK/server.log"; fail "starting the subscriber"; exit 1; }
"$PGBIN/psql" -X -q -h "$WORK" -p "$SUB_PORT" -U postgres -d postgres -c 'CREATE DATABASE subscriber' >/dev/null
sub -c 'CREATE EXTENSION cometchat_webhooks' || { fail "CREATE EXTENSION on the subscriber"; exit 1; }
sub -c "CREATE TABLE public.cdc_stream (seq bigint, payload jsonb)"
sub -c "CREATE SUBSCRIPTION cc_sub CONNECTION 'host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER'
        PUBLICATION cc_all" >/dev/null 2>"$WORK/subscribe.log" ||
    { cat -- "$WORK/subscribe.log"; fail "CREATE SUBSCRIPTION"; exit 1; }

# Waits until every table is synchronized (the initial copy is done).
synced() {
    local i
    for ((i = 0; i < 600; i++)); do
        [[ $(sub -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == 0 ]] && return 0
        sleep 0.1
    done
    return 1
}
synced || { fail "the subscriber did not copy the tables"; tail -n 30 -- "$WORK/server.log"; exit 1; }
pass "the subscriber copied the tables"

# Part 3: after the subscription started, single-row inserts that update
# rows the subscriber already has.
pub -c "SELECT format('INSERT INTO cometchat.events (payload) VALUES (%L);', payload)
        FROM public.cdc_stream WHERE seq > 2 * $third ORDER BY seq" >"$WORK/part3.sql"
pub -f "$WORK/part3.sql" >"$WORK/part3.log" 2>&1 || errors=$((errors + 1))
if ((errors == 0)); then
    pass "$total deliveries ingested with the publication in place, no error"
else
    fail "$errors ingest parts failed:"
    grep -h ERROR "$WORK"/part*.log | sort | uniq -c | head -n 5
fi
updated=$(pub -c "SELECT count(*) FROM cometchat.calls WHERE status <> 'initiated'")
digest() {
    local t sql=""
    for t in events rejected sessions calls call_outcomes participants recordings; do
        sql+="SELECT '$t', count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM cometchat.$t r;"
    done
    "$@" -F ' ' -c "$sql"
}
# Caught up once the two sides are equal; a minute at the most.
digest pub >"$WORK/pub.digest"
for ((i = 0; i < 600; i++)); do
    digest sub >"$WORK/sub.digest"
    cmp -s "$WORK/pub.digest" "$WORK/sub.digest" && break
    sleep 0.1
done
if diff -u "$WORK/pub.digest" "$WORK/sub.digest"; then
    pass "subscriber equals publisher, row for row, in every table ($(awk '$1 == "calls" {print $2}' "$WORK/pub.digest") calls, $updated of them updated)"
else
    fail "the subscriber differs from the publisher"
fi
[[ $(pub -c 'SELECT count(*) FROM cometchat.verify()') == 0 ]] && pass "verify() is empty on the publisher" ||
    fail "verify() on the publisher"
grep -E 'ERROR|FATAL' "$WORK/server.log" | grep -v 'terminating logical replication worker due to administrator command' | head -n 5
exit "$FAILED"
