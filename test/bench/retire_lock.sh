#!/usr/bin/env bash
# retire_lock.sh: what retiring a partition of the ledger costs webhooks that
# keep arriving meanwhile.
#
# In a new database of the cluster PGHOST/PGPORT/PGUSER name (the extension
# installed there): loads N events (default 1,000,000) into a partition of a
# past month by one INSERT, then runs 4 pgbench clients, each inserting one
# new event per transaction into the current month for D seconds (default
# 30), and a third of the way in retires the past month (detach and drop,
# cometchat.retire_partitions()); two thirds of the way in,
# cometchat.create_partitions() creates one more month ahead (it holds
# inserts off, SHARE ROW EXCLUSIVE, while it creates and attaches it, which
# checks the default partition's rows against the new range).  With M (default
# 0), M events of a month six months ahead wait in the default partition
# (upkeep that fell behind), and that create_partitions() also creates their
# month and moves them there, holding inserts off meanwhile.  Prints how long
# each call took (the server's time, and psql's from start to exit), and the
# clients' latency (median, p99, max) before the retire and while each ran.
#
#   PGHOST=... PGPORT=... PGUSER=postgres test/bench/retire_lock.sh [N] [D] [M]
#   test/bench/run --retire-lock [N] [D] [M]     (on a private cluster)
#
# Run it alone on the machine (flock /tmp/cometchat-suite.lock ...).
set -euo pipefail
N=${1:-1000000}
D=${2:-30}
M=${3:-0}
for n in "$N" "$D" "$M"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "retire_lock.sh: $n is not a number" >&2; exit 2; }
done
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DB=cc_retire_lock_$$
WORK=$(mktemp -d /tmp/cc-retire-lock.XXXXXX)
chmod 0755 "$WORK"
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
trap 'psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

psql_ -d postgres -c "CREATE DATABASE $DB"
psql_ -d "$DB" <<SQL
CREATE EXTENSION cometchat_webhooks;
-- The partition of January 2025, then N events in it (one INSERT).
INSERT INTO cometchat.events (payload) VALUES (jsonb_build_object('trigger', 'meeting_started',
    'type', 'meet', 'appId', 'lockapp', 'region', 'us', 'webhook', 'w1',
    'data', jsonb_build_object('sessionId', 'old0', 'created_at', 1735689600)));
SELECT count(*) FROM cometchat.create_partitions('1 month');
\timing on
INSERT INTO cometchat.events (payload)
SELECT jsonb_build_object('trigger', 'meeting_started', 'type', 'meet', 'appId', 'lockapp',
       'region', 'us', 'webhook', 'w1',
       'data', jsonb_build_object('sessionId', 'old' || n, 'created_at', 1735689600 + n % 2600000))
FROM generate_series(1, $N) n;
-- M events of six months ahead: no partition has their range yet.
INSERT INTO cometchat.events (payload)
SELECT jsonb_build_object('trigger', 'meeting_started', 'type', 'meet', 'appId', 'lockapp',
       'region', 'us', 'webhook', 'w1',
       'data', jsonb_build_object('sessionId', 'ahead' || n,
           'created_at', extract(epoch FROM date_trunc('month', now(), 'UTC') + interval '6 months')::bigint
                         + n % 2000000))
FROM generate_series(1, $M) n;
\timing off
VACUUM ANALYZE cometchat.events;
SELECT partition_name, pg_size_pretty(pg_total_relation_size(('cometchat.' || partition_name)::regclass)),
       (SELECT count(*) FROM cometchat.events e WHERE e.tableoid = ('cometchat.' || partition_name)::regclass)
FROM cometchat.ledger_partitions() WHERE range_from < '2025-02-01' OR is_default;
CHECKPOINT;
SQL

cat >"$WORK/live.sql" <<'SQL'
\set n random(1, 2000000000)
INSERT INTO cometchat.events (payload) VALUES (jsonb_build_object('trigger', 'meeting_started', 'type', 'meet', 'appId', 'live', 'region', 'us', 'webhook', 'w1', 'data', jsonb_build_object('sessionId', 'live' || :n, 'created_at', extract(epoch FROM now())::bigint)));
SQL
(cd "$WORK" && "$PGBIN/pgbench" -n -c 4 -j 2 -T "$D" -l --log-prefix="$WORK/live" -f "$WORK/live.sql" "$DB" >"$WORK/pgbench.out" 2>&1) &
bench=$!
sleep $((D / 3))
t0=$(date +%s.%N)
psql_ -d "$DB" -c '\timing on' -c "SELECT partition_name, dropped FROM cometchat.retire_partitions(now() - '2025-02-01'::timestamptz)"
t1=$(date +%s.%N)
sleep $((D / 3))
psql_ -d "$DB" -At -c "SELECT 'default partition: ' || count(*) || ' events' FROM cometchat.events_default"
t2=$(date +%s.%N)
psql_ -d "$DB" -c '\timing on' -c "SELECT partition_name, moved FROM cometchat.create_partitions('2 months')"
t3=$(date +%s.%N)
wait "$bench"
tail -4 "$WORK/pgbench.out"
# The log: client, transaction, latency (us), script, epoch seconds, us (end of each transaction).
cat "$WORK"/live.* | awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" '
    { end = $5 + $6 / 1e6; start = end - $3 / 1e6;
      if (end < t0 - 0.5) print "1before~the~retire", $3;
      if (start <= t1 && end >= t0) print "2during~the~retire", $3;
      if (start <= t3 && end >= t2) print "3during~create_partitions()", $3 }' |
    sort -k1,1 -k2,2n | awk -v d1="$(echo "$t1 - $t0" | bc)" -v d2="$(echo "$t3 - $t2" | bc)" '
    { v[$1, ++n[$1]] = $2 }
    END {
        printf "retire_partitions(): %.0f ms, create_partitions(): %.0f ms (psql from start to exit)\n",
               d1 * 1000, d2 * 1000;
        for (k in n) {
            c = n[k];
            label = substr(k, 2); gsub("~", " ", label);
            printf "%s: %d transactions, latency median %.1f ms, p99 %.1f ms, max %.1f ms\n",
                label, c, v[k, int(c * 0.5) + 1] / 1000, v[k, int(c * 0.99) + 1] / 1000, v[k, c] / 1000
        }
    }' | sort
