#!/usr/bin/env bash
# cron.sh: the ledger's upkeep on a schedule with pg_cron, as the README shows
# it.  In the cluster test/run starts for 15, pg_cron (Debian's
# postgresql-15-cron) is preloaded (test/lib/cluster.sh); elsewhere this
# prints SKIP and passes.
#
# With an event of March 2025 waiting in the default partition, schedules
# in $PGDATABASE, from pg_cron's database, a job that runs
# cometchat.create_partitions() and one that runs retire_partitions(), every
# minute; waits for both to run (up to 75 seconds), then checks that they
# succeeded, that the event is in the partition of its month, and that the
# retention job retired what it was told to (nothing younger than ten
# years).  Unschedules the jobs.  Runs with PGHOST, PGPORT, PGUSER (a
# superuser) and PGDATABASE set; prints PASS/FAIL lines.
set -uo pipefail

: "${PGDATABASE:?PGDATABASE must name a database with cometchat_webhooks}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
unset PGOPTIONS
FAILED=0
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=$((FAILED + 1)); }
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

if [[ $(psql_ -At -c "SHOW shared_preload_libraries") != *pg_cron* ]]; then
    # Debian packages pg_cron for 15, and test/lib/setup.sh installs it there.
    if [[ $(psql_ -At -c "SHOW server_version_num") == 15* ]]; then
        fail "pg_cron is not preloaded in the 15 cluster (test/lib/setup.sh installs postgresql-15-cron)"
        exit 1
    fi
    echo "SKIP: pg_cron is not preloaded in this cluster (test/run preloads it where it is installed: 15)"
    exit 0
fi
CRON_DB=$(psql_ -At -c "SHOW cron.database_name")
psql_ -d "$CRON_DB" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" || { fail "CREATE EXTENSION pg_cron in $CRON_DB"; exit 1; }

psql_ -c "INSERT INTO cometchat.events (payload) VALUES ('{\"trigger\": \"meeting_started\",
    \"data\": {\"created_at\": 1741599000, \"sessionId\": \"standup\"}, \"type\": \"meet\",
    \"appId\": \"8c51e0a9d2b47f\", \"region\": \"eu\", \"webhook\": \"meetings_eu\"}')" || { fail "ingesting an event"; exit 1; }

TAG=cc_cron_$$
jobs=$(psql_ -d "$CRON_DB" -At -c "
    SELECT cron.schedule_in_database('$TAG-partitions', '* * * * *',
             \$\$SELECT count(*) FROM cometchat.create_partitions('3 months')\$\$, '$PGDATABASE');
    SELECT cron.schedule_in_database('$TAG-retention', '* * * * *',
             \$\$SELECT count(*) FROM cometchat.retire_partitions('10 years')\$\$, '$PGDATABASE');" | paste -sd,)
if [[ $jobs =~ ^[0-9]+,[0-9]+$ ]]; then
    pass "scheduled the upkeep and the retention (jobs $jobs)"
else
    fail "cron.schedule_in_database: '$jobs'"
    exit 1
fi
done_sql="SELECT count(DISTINCT jobid) FROM cron.job_run_details
          WHERE jobid IN ($jobs) AND status IN ('succeeded', 'failed')"
for ((i = 0; i < 75; i++)); do
    [[ $(psql_ -d "$CRON_DB" -At -c "$done_sql") == 2 ]] && break
    sleep 1
done
runs=$(psql_ -d "$CRON_DB" -At -F ' ' -c "
    SELECT j.jobname, d.status, d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid)
    WHERE d.jobid IN ($jobs) ORDER BY d.start_time, j.jobname")
psql_ -d "$CRON_DB" -At -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE '$TAG-%'" >/dev/null
echo "$runs" | sed 's/^/    /'
if [[ $(grep -c ' succeeded ' <<<"$runs") -ge 2 && $(grep -c ' failed ' <<<"$runs") -eq 0 ]]; then
    pass "both jobs ran and succeeded"
else
    fail "the jobs did not both succeed within 75 seconds"
fi
placed=$(psql_ -At -c "SELECT tableoid::regclass FROM cometchat.events WHERE session_id = 'standup'")
if [[ $placed == cometchat.events_p20250301 ]]; then
    pass "the waiting event was moved to the partition of its month"
else
    fail "the event is in '$placed', not cometchat.events_p20250301"
fi
retired=$(psql_ -At -c "SELECT count(*) FROM cometchat.retired_partitions")
if [[ $retired == 0 ]]; then
    pass "the retention job retired nothing younger than ten years"
else
    fail "the retention job retired $retired partitions"
fi

echo
if ((FAILED)); then
    echo "cron: $FAILED checks FAILED"
    exit 1
fi
echo "cron: all checks passed"
