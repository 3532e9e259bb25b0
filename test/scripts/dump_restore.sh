#!/usr/bin/env bash
# dump_restore.sh: a database with cometchat_webhooks survives pg_dump and
# pg_restore (custom format) and pg_dump | psql (plain format).
#
# Ingests a realistic stream into $PGDATABASE (demo/stream.ndjson twice, so
# every event arrives again as a duplicate, plus reformatted duplicates,
# invalid payloads, a null payload and bodies that are not JSON), fills
# cometchat.app_access and switches per-app security on; snapshots, as text,
# the ledger, the quarantine, every lifecycle row (cometchat._lifecycle_rows()),
# app_access, the sequences, which tables have row-level security on, and
# the ledger's partitions (made by cometchat.create_partitions(), so not
# members of the extension) with the rows each holds.
# Then, for each dump format, restores into a new database and checks:
#   - every ledger, quarantine, lifecycle and app_access row is there exactly
#     once (EXCEPT ALL both ways against the snapshot, counts equal): the
#     lifecycle tables were rebuilt once, by the restored ledger, not doubled;
#   - verify() is empty, and rebuild() gives the same rows again;
#   - the sequences continue: a new event and a new quarantined body get
#     higher ids than any restored one, a restored event arriving again is a
#     duplicate with its old id, no duplicate key error;
#   - per-app row-level security is still on where it was;
#   - the ledger has the same partitions, each with the same rows, and new
#     events are routed to them;
#   - the privileges cometchat.grant_reader() and grant_receiver() gave two
#     roles (a reader of one app, a receiver and payload reader of both) are
#     there, and nothing more: pg_dump keeps them as grants on the
#     extension's objects; the roles still work: the reader's event_log,
#     call_lifecycle and timeline() show its app only, and find_event()
#     finds a restored event under its old id;
#   - every comment on the extension's objects is the same.
# Runs with PGHOST, PGPORT, PGUSER (a superuser) and PGDATABASE (a fresh
# database with the extension) set.  Prints PASS/FAIL lines; exits non-zero
# when anything failed.
set -uo pipefail

: "${PGDATABASE:?PGDATABASE must name a database with cometchat_webhooks}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGTZ=UTC
unset PGOPTIONS

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
STREAM=$ROOT/demo/stream.ndjson
SRC=$PGDATABASE
WORK=$(mktemp -d /tmp/cc-dump-restore.XXXXXX)
TAG=$$
ROLE_A=regress_ccdump_${TAG}_a
ROLE_B=regress_ccdump_${TAG}_b
CREATED_DBS=()
FAILED=0

pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=$((FAILED + 1)); }
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# One value (or tab-separated row) from a query.
sql_value() { local db=$1; shift; psql_ -d "$db" -At -F $'\t' -c "$*"; }

cleanup() {
    local db
    psql_ -d "$SRC" -c "TRUNCATE cometchat.app_access" -c "SELECT cometchat.enable_app_security(false)" >/dev/null 2>&1 || true
    psql_ -d "$SRC" -c "DROP OWNED BY $ROLE_A, $ROLE_B" >/dev/null 2>&1 || true
    for db in "${CREATED_DBS[@]}"; do
        psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
    done
    psql_ -d postgres -c "DROP ROLE IF EXISTS $ROLE_A" -c "DROP ROLE IF EXISTS $ROLE_B" >/dev/null 2>&1 || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT

if [[ ! -r $STREAM ]]; then
    fail "the stream $STREAM is missing"
    exit 1
fi

########################################################################
# 1. A realistic stream into the source database.
########################################################################
psql_ -d postgres -c "CREATE ROLE $ROLE_A" -c "CREATE ROLE $ROLE_B" >/dev/null || { fail "could not create roles"; exit 1; }

if ! psql_ -d "$SRC" >"$WORK/ingest.log" 2>&1 <<SQL
CREATE TEMP TABLE body (n bigserial PRIMARY KEY, body text);
\\copy body (body) FROM '$STREAM' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
-- The stream, then the stream again (every event a duplicate, every
-- invalid or non-JSON body quarantined again).
DO \$\$
DECLARE
    r record;
BEGIN
    FOR pass IN 1 .. 2 LOOP
        FOR r IN SELECT body FROM body ORDER BY n LOOP
            PERFORM cometchat.ingest_raw(r.body);
        END LOOP;
    END LOOP;
END
\$\$;
-- Reformatted duplicates, through INSERT and ingest().
INSERT INTO cometchat.events (payload) SELECT body::jsonb FROM body WHERE n IN (1, 2, 3) AND body LIKE '{%';
SELECT cometchat.ingest(jsonb_pretty(body::jsonb)::jsonb) FROM body WHERE n IN (4, 5) AND body LIKE '{%';
-- More of every kind: an invalid payload, a null one, bodies that are not JSON.
INSERT INTO cometchat.events (payload) VALUES
  ('{"trigger": "call_ended", "data": {"sessionId": "x"}, "type": "call", "appId": "8c51e0a9d2b47f", "region": "eu", "webhook": "meetings_eu"}'),
  (NULL);
SELECT cometchat.ingest_raw('{"trigger": ');
SELECT cometchat.ingest_raw(E'tab\\there, backslash \\\\ and quote "');
-- Per-app access, switched on.
INSERT INTO cometchat.app_access (role_name, app_id)
SELECT '$ROLE_A', app_id FROM cometchat.events GROUP BY app_id ORDER BY app_id LIMIT 1;
INSERT INTO cometchat.app_access (role_name, app_id)
SELECT '$ROLE_B', app_id FROM cometchat.events GROUP BY app_id;
SELECT cometchat.enable_app_security();
-- Roles in one call: a reader of one app, a receiver that also reads payloads.
SELECT cometchat.grant_reader('$ROLE_A');
SELECT cometchat.grant_receiver('$ROLE_B');
SELECT cometchat.grant_reader('$ROLE_B', payloads => true);
-- The ledger in monthly partitions (the events' months and the months from
-- now on); unknown triggers stay in the default partition.
SELECT count(*) FROM cometchat.create_partitions();
SQL
then
    fail "ingesting the stream into $SRC"
    cat "$WORK/ingest.log"
    exit 1
fi

counts=$(sql_value "$SRC" "SELECT (SELECT count(*) FROM cometchat.events),
    (SELECT count(*) FROM cometchat.rejected),
    (SELECT count(*) FROM cometchat.rejected WHERE raw_body IS NOT NULL),
    (SELECT count(DISTINCT table_name) FROM cometchat._lifecycle_rows()),
    (SELECT count(*) FROM cometchat._lifecycle_rows()),
    (SELECT count(DISTINCT app_id) FROM cometchat.events),
    (SELECT count(*) FROM cometchat.app_access),
    (SELECT count(*) FROM cometchat.verify())")
read -r n_events n_rejected n_raw n_tables n_lifecycle n_apps n_access n_diff <<<"$counts"
echo "source $SRC: $n_events ledger rows, $n_rejected quarantined ($n_raw not JSON), $n_lifecycle lifecycle rows in $n_tables tables, $n_apps apps, $n_access app_access rows"
if ((n_events > 20 && n_rejected >= 6 && n_raw >= 3 && n_tables == 5 && n_apps == 2 && n_access == 3 && n_diff == 0)); then
    pass "source database holds a stream with every kind of row, verify() empty"
else
    fail "source database is not as intended (counts: $counts)"
fi

########################################################################
# 2. The snapshot, as text.
########################################################################
psql_ -d "$SRC" >/dev/null <<SQL || { fail "snapshot of $SRC"; exit 1; }
\\copy (SELECT to_jsonb(e) FROM cometchat.events e ORDER BY id) TO '$WORK/events.txt'
\\copy (SELECT to_jsonb(r) FROM cometchat.rejected r ORDER BY id) TO '$WORK/rejected.txt'
\\copy (SELECT table_name, row_data FROM cometchat._lifecycle_rows()) TO '$WORK/lifecycle.txt'
\\copy (SELECT role_name::text, app_id FROM cometchat.app_access) TO '$WORK/app_access.txt'
SQL
seq_state="SELECT (SELECT 'events_id_seq ' || last_value || '/' || is_called FROM cometchat.events_id_seq) || ', ' ||
                  (SELECT 'rejected_id_seq ' || last_value || '/' || is_called FROM cometchat.rejected_id_seq)"
rls_state="SELECT coalesce(string_agg(relname, ',' ORDER BY relname), '(none)') FROM pg_class
           WHERE relnamespace = 'cometchat'::regnamespace AND relkind IN ('r', 'p') AND relrowsecurity"
partitions_state="SELECT string_agg(p.partition_name || '=' || (SELECT count(*) FROM cometchat.events e
                                                               WHERE e.tableoid = ('cometchat.' || p.partition_name)::regclass),
                                  ',' ORDER BY p.partition_name)
                   FROM cometchat.ledger_partitions() p"
src_seq=$(sql_value "$SRC" "$seq_state")
src_rls=$(sql_value "$SRC" "$rls_state")
src_partitions=$(sql_value "$SRC" "$partitions_state")
echo "source partitions: $src_partitions"
if [[ $src_partitions == *events_p2025* && $src_partitions == *events_default=* ]]; then
    pass "source database: the ledger is partitioned by month"
else
    fail "source database: partitions '$src_partitions'"
fi
# Every privilege the two roles hold on the extension's objects (tables,
# columns, functions, the schema), and every comment on them.
privileges_sql="SELECT string_agg(x, ' ' ORDER BY x) FROM (
    SELECT r.rolname || ':' || c.relname || ':' || a.privilege_type AS x
    FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.relnamespace = 'cometchat'::regnamespace AND r.rolname IN ('$ROLE_A', '$ROLE_B')
    UNION ALL
    SELECT r.rolname || ':' || c.relname || '.' || t.attname || ':' || a.privilege_type
    FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid, aclexplode(t.attacl) a JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.relnamespace = 'cometchat'::regnamespace AND r.rolname IN ('$ROLE_A', '$ROLE_B')
    UNION ALL
    SELECT r.rolname || ':' || p.oid::regprocedure || ':' || a.privilege_type
    FROM pg_proc p, aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
    WHERE p.pronamespace = 'cometchat'::regnamespace AND r.rolname IN ('$ROLE_A', '$ROLE_B')
    UNION ALL
    SELECT r.rolname || ':schema:' || a.privilege_type
    FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee
    WHERE n.nspname = 'cometchat' AND r.rolname IN ('$ROLE_A', '$ROLE_B')) p"
comments_sql="SELECT md5(string_agg(c, E'\\n' ORDER BY c)) || ' ' || count(*) FROM (
    SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) || '=' || d.description AS c
    FROM pg_description d
    WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'cometchat'::regnamespace))
       OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'cometchat'::regnamespace))
       OR (d.classoid = 'pg_type'::regclass AND d.objoid IN (SELECT oid FROM pg_type WHERE typnamespace = 'cometchat'::regnamespace))) d"
# What the reader of one app sees (per-app security is on).
reader_sql="SET ROLE $ROLE_A;
SELECT (SELECT count(*) || ' events of ' || count(DISTINCT app_id) || ' app(s)' FROM cometchat.event_log),
       (SELECT count(*) || ' calls' FROM cometchat.call_lifecycle),
       (SELECT count(*) || ' answered' FROM cometchat.call_lifecycle WHERE answered),
       (SELECT count(*) || ' timeline events' FROM cometchat.calls c, cometchat.timeline(c.app_id, c.session_id) t);"
src_privileges=$(sql_value "$SRC" "$privileges_sql")
src_comments=$(sql_value "$SRC" "$comments_sql")
src_reader=$(psql_ -d "$SRC" -At -F ' ' -c "$reader_sql" 2>&1)
echo "source privileges: $src_privileges"
echo "source reader ($ROLE_A): $src_reader"
if [[ $src_privileges == *"$ROLE_A:event_log:SELECT"* && $src_privileges == *"$ROLE_B:events.payload:INSERT"* &&
      $src_privileges == *"$ROLE_B:events:SELECT"* && $src_privileges != *"$ROLE_A:events:SELECT"* &&
      $src_reader == *" events of 1 app(s) "* ]]; then
    pass "source database: the roles hold what grant_reader() and grant_receiver() gave, the reader sees one app"
else
    fail "source database: privileges '$src_privileges', reader '$src_reader'"
fi
max_event=$(sql_value "$SRC" "SELECT max(id) FROM cometchat.events")
max_rejected=$(sql_value "$SRC" "SELECT max(id) FROM cometchat.rejected")
old_event=$(sql_value "$SRC" "SELECT id || E'\t' || payload::text FROM cometchat.events WHERE kind <> 'unknown' ORDER BY id DESC LIMIT 1")
old_event_id=${old_event%%$'\t'*}
old_event_payload=${old_event#*$'\t'}

########################################################################
# 3. Restore and compare.
########################################################################
check_restored() {
    local label=$1 db=$2 report line what expected actual missing unexpected
    report=$(psql_ -d "$db" -At -F $'\t' 2>&1 <<SQL
CREATE TEMP TABLE snap_events (r jsonb);
CREATE TEMP TABLE snap_rejected (r jsonb);
CREATE TEMP TABLE snap_lifecycle (t text, r jsonb);
CREATE TEMP TABLE snap_access (role_name text, app_id text);
\\copy snap_events FROM '$WORK/events.txt'
\\copy snap_rejected FROM '$WORK/rejected.txt'
\\copy snap_lifecycle FROM '$WORK/lifecycle.txt'
\\copy snap_access FROM '$WORK/app_access.txt'
CREATE TEMP VIEW now_events AS SELECT to_jsonb(e) AS r FROM cometchat.events e;
CREATE TEMP VIEW now_rejected AS SELECT to_jsonb(q) AS r FROM cometchat.rejected q;
CREATE TEMP VIEW now_lifecycle AS SELECT table_name AS t, row_data AS r FROM cometchat._lifecycle_rows();
CREATE TEMP VIEW now_access AS SELECT role_name::text AS role_name, app_id FROM cometchat.app_access;
SELECT 'ledger', (SELECT count(*) FROM snap_events), (SELECT count(*) FROM now_events),
       (SELECT count(*) FROM (SELECT r FROM snap_events EXCEPT ALL SELECT r FROM now_events) x),
       (SELECT count(*) FROM (SELECT r FROM now_events EXCEPT ALL SELECT r FROM snap_events) x);
SELECT 'quarantine', (SELECT count(*) FROM snap_rejected), (SELECT count(*) FROM now_rejected),
       (SELECT count(*) FROM (SELECT r FROM snap_rejected EXCEPT ALL SELECT r FROM now_rejected) x),
       (SELECT count(*) FROM (SELECT r FROM now_rejected EXCEPT ALL SELECT r FROM snap_rejected) x);
SELECT 'lifecycle:' || t.t, (SELECT count(*) FROM snap_lifecycle s WHERE s.t = t.t),
       (SELECT count(*) FROM now_lifecycle n WHERE n.t = t.t),
       (SELECT count(*) FROM (SELECT r FROM snap_lifecycle s WHERE s.t = t.t
                              EXCEPT ALL SELECT r FROM now_lifecycle n WHERE n.t = t.t) x),
       (SELECT count(*) FROM (SELECT r FROM now_lifecycle n WHERE n.t = t.t
                              EXCEPT ALL SELECT r FROM snap_lifecycle s WHERE s.t = t.t) x)
FROM (VALUES ('sessions'), ('calls'), ('call_outcomes'), ('participants'), ('recordings')) t(t);
SELECT 'app_access', (SELECT count(*) FROM snap_access), (SELECT count(*) FROM now_access),
       (SELECT count(*) FROM (SELECT * FROM snap_access EXCEPT ALL SELECT * FROM now_access) x),
       (SELECT count(*) FROM (SELECT * FROM now_access EXCEPT ALL SELECT * FROM snap_access) x);
-- Rows that differ, for the report.
SELECT 'diff', 'ledger missing', r::text FROM (SELECT r FROM snap_events EXCEPT ALL SELECT r FROM now_events) x LIMIT 5;
SELECT 'diff', 'ledger unexpected', r::text FROM (SELECT r FROM now_events EXCEPT ALL SELECT r FROM snap_events) x LIMIT 5;
SELECT 'diff', 'quarantine missing', r::text FROM (SELECT r FROM snap_rejected EXCEPT ALL SELECT r FROM now_rejected) x LIMIT 5;
SELECT 'diff', 'quarantine unexpected', r::text FROM (SELECT r FROM now_rejected EXCEPT ALL SELECT r FROM snap_rejected) x LIMIT 5;
SELECT 'diff', 'lifecycle missing ' || t, r::text FROM (SELECT t, r FROM snap_lifecycle EXCEPT ALL SELECT t, r FROM now_lifecycle) x LIMIT 10;
SELECT 'diff', 'lifecycle unexpected ' || t, r::text FROM (SELECT t, r FROM now_lifecycle EXCEPT ALL SELECT t, r FROM snap_lifecycle) x LIMIT 10;
SELECT 'diff', 'app_access missing', role_name || ' ' || app_id FROM (SELECT * FROM snap_access EXCEPT ALL SELECT * FROM now_access) x;
SELECT 'diff', 'app_access unexpected', role_name || ' ' || app_id FROM (SELECT * FROM now_access EXCEPT ALL SELECT * FROM snap_access) x;
SQL
    ) || { fail "$label: comparing with the snapshot failed: $report"; return; }
    while IFS=$'\t' read -r what expected actual missing unexpected; do
        [[ -n $what ]] || continue
        if [[ $what == diff ]]; then
            printf '    %s: %s\n' "$expected" "$actual"
            continue
        fi
        if [[ $expected == "$actual" && $missing == 0 && $unexpected == 0 ]]; then
            pass "$label: $what: all $expected rows there exactly once"
        else
            fail "$label: $what: $expected rows in the snapshot, $actual restored, $missing missing, $unexpected unexpected"
        fi
    done <<<"$report"

    line=$(sql_value "$db" "SELECT count(*) FROM cometchat.verify()")
    if [[ $line == 0 ]]; then pass "$label: verify() is empty"; else fail "$label: verify() reports $line differences"; fi

    line=$(sql_value "$db" "$seq_state")
    if [[ $line == "$src_seq" ]]; then
        pass "$label: sequences restored ($line)"
    else
        fail "$label: sequences are '$line', were '$src_seq'"
    fi

    line=$(sql_value "$db" "$privileges_sql")
    if [[ $line == "$src_privileges" ]]; then
        pass "$label: the roles' privileges restored (grant_reader(), grant_receiver())"
    else
        fail "$label: privileges are '$line', were '$src_privileges'"
    fi

    line=$(sql_value "$db" "$comments_sql")
    if [[ $line == "$src_comments" ]]; then
        pass "$label: comments restored ($line)"
    else
        fail "$label: comments are '$line', were '$src_comments'"
    fi

    line=$(psql_ -d "$db" -At -F ' ' -c "$reader_sql" 2>&1)
    if [[ $line == "$src_reader" ]]; then
        pass "$label: the reader sees what it saw ($line)"
    else
        fail "$label: the reader sees '$line', saw '$src_reader'"
    fi

    line=$(psql_ -d "$db" -At -v "old=$old_event_payload" 2>&1 <<'SQL'
SELECT event_id FROM cometchat.find_event(:'old');
SQL
    )
    if [[ $line == "$old_event_id" ]]; then
        pass "$label: find_event() finds restored event $old_event_id"
    else
        fail "$label: find_event() of restored event $old_event_id: '$line'"
    fi

    line=$(sql_value "$db" "$partitions_state")
    if [[ $line == "$src_partitions" ]]; then
        pass "$label: the ledger's partitions, each with its rows"
    else
        fail "$label: partitions are '$line', were '$src_partitions'"
    fi
    line=$(sql_value "$db" "$rls_state")
    if [[ $line == "$src_rls" ]]; then
        pass "$label: per-app row-level security still on for: $line"
    else
        fail "$label: per-app row-level security was on for '$src_rls', after restore for '$line'"
    fi

    # The restored ledger rebuilds to the same rows.
    line=$(psql_ -d "$db" -At -c "BEGIN" \
        -c "CREATE TEMP TABLE before AS SELECT table_name AS t, row_data AS r FROM cometchat._lifecycle_rows()" \
        -c "SELECT cometchat.rebuild() IS NOT NULL" \
        -c "SELECT count(*) FROM (SELECT t, r FROM before EXCEPT ALL SELECT table_name, row_data FROM cometchat._lifecycle_rows()) a" \
        -c "SELECT count(*) FROM (SELECT table_name, row_data FROM cometchat._lifecycle_rows() EXCEPT ALL SELECT t, r FROM before) b" \
        -c "ROLLBACK" 2>&1 | tr '\n' ' ')
    if [[ $line == "t 0 0 " ]]; then
        pass "$label: rebuild() of the restored ledger gives the same lifecycle rows"
    else
        fail "$label: rebuild() of the restored ledger differs: $line"
    fi

    # Ids go on; a restored event is still known.
    line=$(psql_ -d "$db" -At -F ' ' -v "old=$old_event_payload" 2>&1 <<'SQL'
SELECT status, event_id FROM cometchat.ingest(:'old');
INSERT INTO cometchat.events (payload) VALUES (:'old');
SELECT status, event_id FROM cometchat.ingest('{"trigger": "meeting_started", "data": {"created_at": 1893456000, "sessionId": "after-restore"}, "type": "meet", "appId": "restored-app", "region": "us", "webhook": "wh"}');
INSERT INTO cometchat.events (payload) VALUES ('{"trigger": "meeting_started", "data": {"created_at": 1893456060, "sessionId": "after-restore-2"}, "type": "meet", "appId": "restored-app", "region": "us", "webhook": "wh"}');
SELECT max(id) FROM cometchat.events;
SELECT status, rejected_id FROM cometchat.ingest_raw('not json after restore');
SELECT count(*) FROM cometchat.verify();
SQL
    )
    local -a got
    mapfile -t got <<<"$line"
    if [[ ${got[0]:-} == "duplicate $old_event_id" ]]; then
        pass "$label: a restored event arriving again is a duplicate of id $old_event_id"
    else
        fail "$label: a restored event arriving again: '${got[0]:-}' (expected 'duplicate $old_event_id'): $line"
    fi
    local new_id=${got[1]:-} max_now=${got[2]:-} rej_id=${got[3]:-}
    new_id=${new_id#accepted }
    rej_id=${rej_id#rejected }
    if [[ ${got[1]:-} == accepted\ * && $new_id =~ ^[0-9]+$ && $max_now =~ ^[0-9]+$ ]] &&
        ((new_id > max_event && max_now == new_id + 1)); then
        pass "$label: new events get ids $new_id and $max_now, after the restored $max_event"
    else
        fail "$label: new events after restore: '${got[1]:-}', max id '${max_now}' (restored max $max_event): $line"
    fi
    if [[ ${got[3]:-} == rejected\ * && $rej_id =~ ^[0-9]+$ ]] && ((rej_id > max_rejected)); then
        pass "$label: a new quarantined body gets id $rej_id, after the restored $max_rejected"
    else
        fail "$label: quarantine after restore: '${got[3]:-}' (restored max $max_rejected): $line"
    fi
    if [[ ${got[4]:-} == 0 ]]; then
        pass "$label: verify() still empty after new events"
    else
        fail "$label: verify() after new events: '${got[4]:-}'"
    fi
}

new_db() {
    local db=$1
    psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1
    CREATED_DBS+=("$db")
    psql_ -d postgres -c "CREATE DATABASE \"$db\" TEMPLATE template0" >/dev/null
}

# Custom format, pg_restore.
FC=${SRC}_fc_$TAG
if "$PGBIN/pg_dump" -Fc -f "$WORK/db.dump" "$SRC" 2>"$WORK/pg_dump_fc.log" && new_db "$FC" &&
    "$PGBIN/pg_restore" --exit-on-error -d "$FC" "$WORK/db.dump" 2>"$WORK/pg_restore.log"; then
    pass "custom format: pg_dump -Fc and pg_restore without errors"
    check_restored "custom format" "$FC"
else
    fail "custom format: dump or restore failed"
    cat "$WORK/pg_dump_fc.log" "$WORK/pg_restore.log" 2>/dev/null
fi

# Plain format, psql.
PLAIN=${SRC}_plain_$TAG
if "$PGBIN/pg_dump" -Fp -f "$WORK/db.sql" "$SRC" 2>"$WORK/pg_dump_plain.log" && new_db "$PLAIN" &&
    psql_ -d "$PLAIN" -f "$WORK/db.sql" >"$WORK/psql_restore.log" 2>&1; then
    pass "plain format: pg_dump -Fp restored with psql without errors"
    check_restored "plain format" "$PLAIN"
else
    fail "plain format: dump or restore failed"
    cat "$WORK/pg_dump_plain.log" "$WORK/psql_restore.log" 2>/dev/null
fi

echo
if ((FAILED > 0)); then
    echo "dump_restore: $FAILED checks FAILED"
    exit 1
fi
echo "dump_restore: all checks passed"
