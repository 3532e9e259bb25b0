#!/usr/bin/env bash
# upgrade_lock.sh: how long ALTER EXTENSION cometchat_webhooks UPDATE from
# 1.4 to 1.5 (the ledger becomes a partitioned table) takes, and so holds
# its locks, for a ledger of N events (default 1,000,000), and how long the
# first cometchat.create_partitions() after it takes (it moves the history
# out of the default partition).
#
#   PGHOST=... PGPORT=... PGUSER=postgres test/bench/upgrade_lock.sh [N]
#
# Run it alone on the machine (flock /tmp/cometchat-suite.lock ...).
set -euo pipefail
N=${1:-1000000}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DB=cc_upgrade_lock_$$
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
trap 'psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT

psql_ -d postgres -c "CREATE DATABASE $DB"
psql_ -d "$DB" <<SQL
CREATE EXTENSION cometchat_webhooks VERSION '1.4';
-- N meetings' starts over twelve months of 2025, one INSERT.
INSERT INTO cometchat.events (payload)
SELECT jsonb_build_object('trigger', 'meeting_started', 'type', 'meet', 'appId', 'upgapp',
       'region', 'us', 'webhook', 'w1',
       'data', jsonb_build_object('sessionId', 'm' || n, 'created_at', 1735689600 + (n * 31) % 31536000))
FROM generate_series(1, $N) n;
VACUUM ANALYZE cometchat.events;
CHECKPOINT;
SELECT count(*) AS events, pg_size_pretty(pg_total_relation_size('cometchat.events')) AS size FROM cometchat.events;
\timing on
ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5';
\timing off
SELECT extversion FROM pg_extension WHERE extname = 'cometchat_webhooks';
SELECT count(*) AS events_after_update FROM cometchat.events;
\timing on
SELECT count(*) AS partitions, sum(moved) AS moved FROM cometchat.create_partitions('0 days');
\timing off
SELECT count(*) AS events_after_upkeep, count(*) FILTER (WHERE tableoid = 'cometchat.events_default'::regclass) AS left_in_default
FROM cometchat.events;
SQL
