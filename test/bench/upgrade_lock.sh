#!/usr/bin/env bash
# upgrade_lock.sh: how long ALTER EXTENSION cometchat_webhooks UPDATE from
# 1.4 to 1.5 takes, and so holds the ledger locked, for ledgers of N events
# (default 1,000,000; several sizes, one database each).  The update turns
# the old ledger into the partition events_until_YYYYMMDD of the new
# partitioned one: the rows its range cannot hold (none here) move to the
# default partition, found through the old table's unique key, and attaching
# it scans every row to check its range.  Then times the first cometchat.create_partitions() after it
# (the months ahead: attaching each checks the default partition only).
#
#   PGHOST=... PGPORT=... PGUSER=postgres test/bench/upgrade_lock.sh [N...]
#   test/bench/run --upgrade-lock [N...]     (on a private cluster)
#
# The 1.4 ledger is written through the 1.4 trigger: N meetings' starts
# spread over the twelve months of 2025, one INSERT (about a minute per
# million).  Run it alone on the machine (flock /tmp/cometchat-suite.lock ...).
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
DB=
trap '[[ -z $DB ]] || psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT

(($# > 0)) || set -- 1000000
for N in "$@"; do
    [[ $N =~ ^[0-9]+$ ]] || { echo "upgrade_lock.sh: $N is not a number of events" >&2; exit 2; }
    DB=cc_upgrade_lock_$$_$N
    psql_ -d postgres -c "CREATE DATABASE $DB"
    echo "== a 1.4 ledger of $N events"
    psql_ -d "$DB" <<SQL
CREATE EXTENSION cometchat_webhooks VERSION '1.4';
\timing on
INSERT INTO cometchat.events (payload)
SELECT jsonb_build_object('trigger', 'meeting_started', 'type', 'meet', 'appId', 'upgapp',
       'region', 'us', 'webhook', 'w1',
       'data', jsonb_build_object('sessionId', 'm' || n, 'created_at', 1735689600 + (n * 31) % 31536000))
FROM generate_series(1, $N) n;
\timing off
VACUUM ANALYZE cometchat.events;
CHECKPOINT;
SELECT count(*) AS events, pg_size_pretty(pg_relation_size('cometchat.events')) AS heap,
       pg_size_pretty(pg_total_relation_size('cometchat.events')) AS with_indexes
FROM cometchat.events;
\timing on
ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5';
\timing off
SELECT extversion FROM pg_extension WHERE extname = 'cometchat_webhooks';
SELECT partition_name, is_default,
       (SELECT count(*) FROM cometchat.events e WHERE e.tableoid = ('cometchat.' || partition_name)::regclass) AS events
FROM cometchat.ledger_partitions();
\timing on
SELECT count(*) AS partitions_created, sum(moved) AS moved FROM cometchat.create_partitions();
\timing off
SQL
    psql_ -d postgres -c "DROP DATABASE $DB"
    DB=
done
