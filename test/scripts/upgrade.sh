#!/usr/bin/env bash
# upgrade.sh: an installation updated from an earlier version is the same as a
# fresh one of the default version.  Runs once from each earlier version (1.0,
# 1.1, 1.2, 1.3, 1.4; CC_UPGRADE_FROM=1.1 picks one), ALTER EXTENSION ... UPDATE following
# the chain of upgrade scripts to the default version.
#
#   - database "upgraded": CREATE EXTENSION cometchat_webhooks VERSION FROM,
#     ingest a stream, ALTER EXTENSION cometchat_webhooks UPDATE;
#   - database "fresh": CREATE EXTENSION cometchat_webhooks (the default
#     version), the same stream.
# Then compares the two catalogs: the extension's member objects
# (pg_describe_object over pg_depend deptype 'e'), its configuration tables,
# every function's definition (pg_get_functiondef), settings, security and
# ACL, types and enum labels, table columns (position, type, default,
# nullability, identity, generated), constraints, indexes (pg_indexes),
# triggers, policies (pg_policies), views and reloptions, sequences,
# row-level security flags, ACLs and initial privileges (pg_init_privs),
# comments, and the dependencies between the extension's objects.  Then the
# same behaviour: the data after the update, then a further stream ingested
# into both (statuses, ledger without ids and received_at, quarantine,
# lifecycle rows), verify() empty in both; and the functions 1.4 added give
# the same results in both: grant_reader() and grant_receiver() (the statements
# they run, the privileges they leave), a reader's call_lifecycle (answered,
# missed), event_log and timeline() of every call, find_event() and
# find_event_by_key() of every stored payload, a receiver's ingest_bodies() of
# a file (its counts, then the data), revoke_reader() and revoke_receiver().
# Also: DROP EXTENSION leaves nothing behind (no schema, and nothing in
# pg_class, pg_proc, pg_type, pg_operator, pg_constraint, pg_trigger,
# pg_policy, pg_depend, pg_init_privs or pg_description refers to what it
# had), in both databases; and CREATE EXTENSION into a database that already
# has a schema "cometchat" fails with a clear message and hint, and changes
# nothing.
# Runs with PGHOST, PGPORT, PGUSER (a superuser) and PGDATABASE set; prints
# PASS/FAIL lines and the differences; exits non-zero on any difference.
set -uo pipefail

if [[ -z ${CC_UPGRADE_FROM:-} ]]; then
    rc=0
    for from in 1.0 1.1 1.2 1.3 1.4; do
        echo "== upgrade from $from"
        CC_UPGRADE_FROM=$from "${BASH_SOURCE[0]}" || rc=1
    done
    exit "$rc"
fi
FROM=$CC_UPGRADE_FROM

: "${PGDATABASE:?PGDATABASE must be set}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGTZ=UTC
unset PGOPTIONS

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
STREAM=$ROOT/demo/stream.ndjson
WORK=$(mktemp -d /tmp/cc-upgrade.XXXXXX)
TAG=$$
UP=${PGDATABASE}_upgraded_$TAG
FRESH=${PGDATABASE}_fresh_$TAG
PRE=${PGDATABASE}_preexisting_$TAG
READER=regress_ccupg_${TAG}_reader
RECEIVER=regress_ccupg_${TAG}_receiver
CREATED_DBS=()
CREATED_ROLES=()
FAILED=0

pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=$((FAILED + 1)); }
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql_value() { local db=$1; shift; psql_ -d "$db" -At -F $'\t' -c "$*"; }

cleanup() {
    local db
    local db role
    for db in "${CREATED_DBS[@]}"; do
        psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
    done
    for role in "${CREATED_ROLES[@]}"; do
        psql_ -d postgres -c "DROP ROLE IF EXISTS \"$role\"" >/dev/null 2>&1 || true
    done
    rm -rf -- "$WORK"
}
trap cleanup EXIT

new_db() {
    local db=$1
    psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1
    CREATED_DBS+=("$db")
    psql_ -d postgres -c "CREATE DATABASE \"$db\" TEMPLATE template0" >/dev/null
}

# compare LABEL FILE_A FILE_B [may-be-empty]: sorted line sets, the
# difference printed.  Both empty fails unless may-be-empty is given.
compare() {
    local label=$1 a=$2 b=$3 may_be_empty=${4:-}
    if [[ ! -s $a && ! -s $b ]]; then
        if [[ -n $may_be_empty ]]; then
            pass "$label: identical (both empty)"
        else
            fail "$label: nothing to compare (both empty)"
        fi
        return
    fi
    if diff <(LC_ALL=C sort "$a") <(LC_ALL=C sort "$b") >"$WORK/diff" 2>&1; then
        pass "$label: identical ($(wc -l <"$a") lines)"
    else
        fail "$label: upgraded (<) and fresh (>) differ:"
        sed -n '1,60p' "$WORK/diff" | sed 's/^/    /'
        local n
        n=$(wc -l <"$WORK/diff")
        ((n > 60)) && echo "    ... ($((n - 60)) more lines)"
    fi
}

if [[ ! -r $STREAM ]]; then
    fail "the stream $STREAM is missing"
    exit 1
fi
# The first stream: the first 20 bodies of the demo stream; the further one:
# the rest, then the whole stream again (duplicates), then more bodies.
head -n 20 "$STREAM" >"$WORK/stream1.ndjson"
{
    tail -n +21 "$STREAM"
    cat "$STREAM"
    echo '{"trigger": "call_ended", "data": {"sessionId": "x"}, "type": "call", "appId": "8c51e0a9d2b47f", "region": "eu", "webhook": "meetings_eu"}'
    echo 'not json at all'
    echo '{"trigger": "meeting_started", "data": {"created_at": 1893456000, "sessionId": "after-update"}, "type": "meet", "appId": "8c51e0a9d2b47f", "region": "eu", "webhook": "meetings_eu"}'
} >"$WORK/stream2.ndjson"

# ingest DB FILE OUT: every body through ingest_raw(), in order; OUT gets
# one line per body: its number, status and problems.
ingest() {
    local db=$1 file=$2 out=$3
    psql_ -d "$db" -At -F $'\t' >"$out" 2>"$out.err" <<SQL
CREATE TEMP TABLE body (n bigserial PRIMARY KEY, body text);
\\copy body (body) FROM '$file' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
CREATE TEMP TABLE result (n bigint, status text, problems text[]);
DO \$\$
DECLARE
    r record;
    s record;
BEGIN
    FOR r IN SELECT n, body FROM body ORDER BY n LOOP
        SELECT * INTO s FROM cometchat.ingest_raw(r.body);
        INSERT INTO result VALUES (r.n, s.status, s.problems);
    END LOOP;
END
\$\$;
SELECT n, status, problems FROM result ORDER BY n;
SQL
}

# data DB PREFIX: the ledger without ids and received_at, the quarantine
# likewise, the lifecycle rows, verify().
data() {
    local db=$1 prefix=$2
    psql_ -d "$db" -At -F $'\t' -c "SELECT (to_jsonb(e) - 'id' - 'received_at')::text FROM cometchat.events e" >"$prefix.ledger" &&
        psql_ -d "$db" -At -F $'\t' -c "SELECT (to_jsonb(r) - 'id' - 'received_at')::text FROM cometchat.rejected r" >"$prefix.quarantine" &&
        psql_ -d "$db" -At -F $'\t' -c "SELECT table_name, row_data::text FROM cometchat._lifecycle_rows()" >"$prefix.lifecycle" &&
        psql_ -d "$db" -At -F $'\t' -c "SELECT * FROM cometchat.verify()" >"$prefix.verify"
}

########################################################################
# 1. The two installations.
########################################################################
if ! { new_db "$UP" && new_db "$FRESH"; }; then fail "could not create the databases"; exit 1; fi
if psql_ -d "$UP" -c "CREATE EXTENSION cometchat_webhooks VERSION '$FROM'" >"$WORK/create_old.log" 2>&1; then
    pass "CREATE EXTENSION cometchat_webhooks VERSION '$FROM'"
else
    fail "CREATE EXTENSION cometchat_webhooks VERSION '$FROM':"
    sed 's/^/    /' "$WORK/create_old.log"
    exit 1
fi
psql_ -d "$FRESH" -c "CREATE EXTENSION cometchat_webhooks" >/dev/null || { fail "CREATE EXTENSION cometchat_webhooks"; exit 1; }
default_version=$(sql_value "$FRESH" "SELECT extversion FROM pg_extension WHERE extname = 'cometchat_webhooks'")

# The first stream into FROM, with the library that is installed now: a
# database stays at FROM until someone runs ALTER EXTENSION ... UPDATE.
stream1_late=0
if ingest "$UP" "$WORK/stream1.ndjson" "$WORK/up.status1"; then
    pass "$FROM: the first stream ingested ($(wc -l <"$WORK/up.status1") bodies)"
else
    fail "$FROM: ingesting into a $FROM installation with the installed library fails:"
    sed 's/^/    /' "$WORK/up.status1.err" | head -n 10
    stream1_late=1
fi
ingest "$FRESH" "$WORK/stream1.ndjson" "$WORK/fresh.status1" || { fail "$default_version: ingesting the first stream"; cat "$WORK/fresh.status1.err"; }

# Two events the old ledger's range cannot hold after the update to 1.5:
# one without a time (an unknown trigger) and one dated 2099.  The update
# moves them to the default partition; the data compared below is the same.
ODD_EVENTS="INSERT INTO cometchat.events (payload) VALUES
    ('{\"trigger\": \"call_transcribed\", \"appId\": \"odd\", \"webhook\": \"w\", \"data\": {}}'),
    ('{\"trigger\": \"meeting_started\", \"type\": \"meet\", \"appId\": \"odd\", \"region\": \"eu\", \"webhook\": \"w\", \"data\": {\"sessionId\": \"2099\", \"created_at\": 4070908800}}')"
for db in "$UP" "$FRESH"; do
    psql_ -d "$db" -c "$ODD_EVENTS" >/dev/null || fail "$db: storing an event without a time and one of 2099"
done

if psql_ -d "$UP" -c "ALTER EXTENSION cometchat_webhooks UPDATE" >"$WORK/update.log" 2>&1; then
    pass "ALTER EXTENSION cometchat_webhooks UPDATE"
else
    fail "ALTER EXTENSION cometchat_webhooks UPDATE:"
    sed 's/^/    /' "$WORK/update.log"
    exit 1
fi
up_version=$(sql_value "$UP" "SELECT extversion FROM pg_extension WHERE extname = 'cometchat_webhooks'")
if [[ $up_version == "$default_version" ]]; then
    pass "updated to $up_version, the version a fresh CREATE EXTENSION installs"
else
    fail "updated to '$up_version', a fresh installation has '$default_version'"
fi
if ((stream1_late)); then
    echo "    (the first stream goes into the upgraded database after the update instead)"
    ingest "$UP" "$WORK/stream1.ndjson" "$WORK/up.status1" || { fail "ingesting the first stream after the update"; cat "$WORK/up.status1.err"; }
fi

########################################################################
# 2. The catalogs.
########################################################################
# One line per fact: section, object, value; newlines inside as \n.
CATALOG_SQL=$(cat <<'SQL'
WITH ext AS (SELECT oid, extowner FROM pg_extension WHERE extname = 'cometchat_webhooks'),
     nsp AS (SELECT 'cometchat'::regnamespace::oid AS oid),
     rels AS (SELECT c.oid FROM pg_class c, nsp WHERE c.relnamespace = nsp.oid),
     facts(section, object, value) AS (
  -- The extension itself.
  SELECT 'extension', e.extname, format('version=%s relocatable=%s schema=%s owner_is_superuser=%s',
         e.extversion, e.extrelocatable, e.extnamespace::regnamespace, r.rolsuper)
  FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner WHERE e.extname = 'cometchat_webhooks'
  UNION ALL
  SELECT 'config table', c.cfg::regclass::text, coalesce(c.cond, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(cfg, cond)
  WHERE e.extname = 'cometchat_webhooks'
  UNION ALL
  -- Member objects.
  SELECT 'member', pg_describe_object(d.classid, d.objid, d.objsubid), ''
  FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
  UNION ALL
  -- Functions.
  SELECT 'function', p.oid::regprocedure::text, pg_get_functiondef(p.oid)
  FROM pg_proc p, nsp WHERE p.pronamespace = nsp.oid AND p.prokind IN ('f', 'p', 'w')
  UNION ALL
  SELECT 'aggregate', p.oid::regprocedure::text, '' FROM pg_proc p, nsp WHERE p.pronamespace = nsp.oid AND p.prokind = 'a'
  UNION ALL
  SELECT 'function attributes', p.oid::regprocedure::text,
         format('secdef=%s config=%s acl=%s volatile=%s parallel=%s strict=%s leakproof=%s cost=%s rows=%s lang=%s owner_is_extension_owner=%s',
                p.prosecdef, p.proconfig, p.proacl, p.provolatile, p.proparallel, p.proisstrict, p.proleakproof,
                p.procost, p.prorows, l.lanname, p.proowner = ext.extowner)
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang, nsp, ext WHERE p.pronamespace = nsp.oid
  UNION ALL
  -- Types.
  SELECT 'type', t.oid::regtype::text,
         format('type=%s enum=%s acl=%s', t.typtype,
                (SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), t.typacl)
  FROM pg_type t, nsp WHERE t.typnamespace = nsp.oid AND t.typtype <> 'b'
  UNION ALL
  SELECT 'composite type attribute', t.oid::regtype::text || '.' || a.attname,
         format('position=%s type=%s', row_number() OVER (PARTITION BY t.oid ORDER BY a.attnum), format_type(a.atttypid, a.atttypmod))
  FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped, nsp
  WHERE t.typnamespace = nsp.oid
  UNION ALL
  -- Relations.
  SELECT 'relation', c.oid::regclass::text,
         format('kind=%s persistence=%s options=%s rowsecurity=%s forcerowsecurity=%s replident=%s acl=%s owner_is_extension_owner=%s',
                c.relkind, c.relpersistence, c.reloptions, c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
                c.relacl, c.relowner = ext.extowner)
  FROM pg_class c, nsp, ext WHERE c.relnamespace = nsp.oid
  UNION ALL
  SELECT 'column', a.attrelid::regclass::text || '.' || a.attname,
         format('position=%s type=%s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s',
                row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), format_type(a.atttypid, a.atttypmod),
                a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                a.attcollation::regcollation, a.attacl)
  FROM pg_attribute a JOIN rels ON rels.oid = a.attrelid
       JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'v', 'p')
       LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint', co.conrelid::regclass::text || '.' || co.conname, pg_get_constraintdef(co.oid)
  FROM pg_constraint co JOIN rels ON rels.oid = co.conrelid
  UNION ALL
  SELECT 'index', i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'cometchat'
  UNION ALL
  SELECT 'trigger', t.tgrelid::regclass::text || '.' || t.tgname, pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  FROM pg_trigger t JOIN rels ON rels.oid = t.tgrelid WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'policy', p.tablename || '.' || p.policyname,
         format('permissive=%s roles=%s cmd=%s qual=%s with_check=%s', p.permissive, p.roles, p.cmd, p.qual, p.with_check)
  FROM pg_policies p WHERE p.schemaname = 'cometchat'
  UNION ALL
  SELECT 'view', v.schemaname || '.' || v.viewname, v.definition FROM pg_views v WHERE v.schemaname = 'cometchat'
  UNION ALL
  SELECT 'sequence', s.schemaname || '.' || s.sequencename,
         format('type=%s start=%s min=%s max=%s increment=%s cycle=%s cache=%s', s.data_type, s.start_value,
                s.min_value, s.max_value, s.increment_by, s.cycle, s.cache_size)
  FROM pg_sequences s WHERE s.schemaname = 'cometchat'
  UNION ALL
  SELECT 'schema', n.nspname, format('acl=%s owner_is_extension_owner=%s', n.nspacl, n.nspowner = ext.extowner)
  FROM pg_namespace n, nsp, ext WHERE n.oid = nsp.oid
  UNION ALL
  SELECT 'initial privileges', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype::text || ' ' || ip.initprivs::text
  FROM pg_init_privs ip
  WHERE (ip.classoid = 'pg_class'::regclass AND ip.objoid IN (SELECT oid FROM rels))
     OR (ip.classoid = 'pg_proc'::regclass AND ip.objoid IN (SELECT p.oid FROM pg_proc p, nsp WHERE p.pronamespace = nsp.oid))
     OR (ip.classoid = 'pg_type'::regclass AND ip.objoid IN (SELECT t.oid FROM pg_type t, nsp WHERE t.typnamespace = nsp.oid))
     OR (ip.classoid = 'pg_namespace'::regclass AND ip.objoid IN (SELECT oid FROM nsp))
  UNION ALL
  SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
  FROM pg_description d
  WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rels))
     OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT p.oid FROM pg_proc p, nsp WHERE p.pronamespace = nsp.oid))
     OR (d.classoid = 'pg_type'::regclass AND d.objoid IN (SELECT t.oid FROM pg_type t, nsp WHERE t.typnamespace = nsp.oid))
     OR (d.classoid = 'pg_namespace'::regclass AND d.objoid IN (SELECT oid FROM nsp))
     OR (d.classoid = 'pg_extension'::regclass AND d.objoid IN (SELECT oid FROM ext))
     OR (d.classoid = 'pg_constraint'::regclass AND d.objoid IN (SELECT co.oid FROM pg_constraint co JOIN rels ON rels.oid = co.conrelid))
     OR (d.classoid = 'pg_policy'::regclass AND d.objoid IN (SELECT po.oid FROM pg_policy po JOIN rels ON rels.oid = po.polrelid))
     OR (d.classoid = 'pg_trigger'::regclass AND d.objoid IN (SELECT tg.oid FROM pg_trigger tg JOIN rels ON rels.oid = tg.tgrelid))
  UNION ALL
  -- How the extension's objects depend on each other (and on the rest).
  SELECT 'dependency', pg_describe_object(d.classid, d.objid, d.objsubid),
         d.deptype::text || ' on ' || pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
  FROM pg_depend d
  WHERE d.deptype <> 'e'
    AND ((d.classid = 'pg_class'::regclass AND d.objid IN (SELECT oid FROM rels))
      OR (d.classid = 'pg_proc'::regclass AND d.objid IN (SELECT p.oid FROM pg_proc p, nsp WHERE p.pronamespace = nsp.oid))
      OR (d.classid = 'pg_type'::regclass AND d.objid IN (SELECT t.oid FROM pg_type t, nsp WHERE t.typnamespace = nsp.oid))
      OR (d.classid = 'pg_constraint'::regclass AND d.objid IN (SELECT co.oid FROM pg_constraint co JOIN rels ON rels.oid = co.conrelid))
      OR (d.classid = 'pg_policy'::regclass AND d.objid IN (SELECT po.oid FROM pg_policy po JOIN rels ON rels.oid = po.polrelid))
      OR (d.classid = 'pg_trigger'::regclass AND d.objid IN (SELECT tg.oid FROM pg_trigger tg JOIN rels ON rels.oid = tg.tgrelid))
      OR (d.classid = 'pg_attrdef'::regclass AND d.objid IN (SELECT ad.oid FROM pg_attrdef ad JOIN rels ON rels.oid = ad.adrelid))
      OR (d.classid = 'pg_rewrite'::regclass AND d.objid IN (SELECT rw.oid FROM pg_rewrite rw JOIN rels ON rels.oid = rw.ev_class)))
)
SELECT section || E'\t' || object || E'\t' || replace(coalesce(value, '(null)'), E'\n', '\n') FROM facts;
SQL
)
catalog() {
    psql_ -d "$1" -At -c "$CATALOG_SQL" >"$2" 2>"$2.err" || { fail "reading the catalog of $1:"; sed 's/^/    /' "$2.err"; }
}
catalog "$UP" "$WORK/up.catalog"
catalog "$FRESH" "$WORK/fresh.catalog"
# From 1.4 on, the update makes the old ledger a partition of the new one,
# events_until_YYYYMMDD: a table of the user's (no member of the extension,
# as every partition create_partitions() makes), which a fresh installation
# does not have.  It is left out of the comparison and checked here: a range
# partition from MINVALUE to the start of the month after the update, with
# the keys, indexes and trigger of the default partition (names aside), and
# no member of the extension.
legacy=$(sql_value "$UP" "SELECT coalesce(string_agg(partition_name, ','), '') FROM cometchat.ledger_partitions() WHERE NOT is_default")
if [[ $(sql_value "$UP" "SELECT extversion >= '1.5' FROM pg_extension WHERE extname = 'cometchat_webhooks'") == t ]]; then
    upper=$(sql_value "$UP" "SELECT to_char(date_trunc('month', now(), 'UTC') AT TIME ZONE 'UTC' + interval '1 month', 'YYYYMMDD')")
    if [[ $legacy == "events_until_$upper" ]]; then
        pass "the old ledger is the partition $legacy"
    else
        fail "the partitions after the update are [$legacy], not [events_until_$upper]"
    fi
    shape=$(sql_value "$UP" "
        WITH parts AS (SELECT format('cometchat.%I', p.partition_name)::regclass AS rel, p.is_default, p.range_from, p.range_to
                       FROM cometchat.ledger_partitions() p),
             facts AS (
            SELECT r.is_default, 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), 'events_\w+', 'P', 'g') AS fact
            FROM parts r JOIN pg_index i ON i.indrelid = r.rel
            UNION ALL
            SELECT r.is_default, 'constraint ' || regexp_replace(c.conname, 'events_\w+?_(pkey|idempotency_key_key)', 'P_\1')
                   || ' ' || pg_get_constraintdef(c.oid)
            FROM parts r JOIN pg_constraint c ON c.conrelid = r.rel AND c.contype IN ('p', 'u', 'c')
            UNION ALL
            SELECT r.is_default, 'trigger ' || t.tgname || ' ' || t.tgfoid::regproc
            FROM parts r JOIN pg_trigger t ON t.tgrelid = r.rel
            UNION ALL
            SELECT r.is_default, 'member ' || EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                                      AND d.objid = r.rel AND d.deptype = 'e')
            FROM parts r)
        SELECT (SELECT string_agg(fact, '; ' ORDER BY fact) FROM facts WHERE NOT is_default)
               = (SELECT string_agg(replace(fact, 'member true', 'member false'), '; ' ORDER BY fact) FROM facts WHERE is_default)
               AND (SELECT count(*) FROM facts WHERE NOT is_default AND fact IN ('member false')) = 1
               AND (SELECT range_from = '-infinity' FROM parts WHERE NOT is_default)")
    if [[ $shape == t ]]; then
        pass "$legacy has the default partition's keys, indexes and trigger, from MINVALUE, outside the extension"
    else
        fail "$legacy differs from the default partition in keys, indexes, trigger, range or membership"
    fi
    in_default=$(sql_value "$UP" "SELECT string_agg(coalesce(payload->'data'->>'sessionId', trigger), ',' ORDER BY id) FROM cometchat.events_default")
    if [[ ,$in_default, == *,call_transcribed,* && ,$in_default, == *,2099,* ]]; then
        pass "the update moved the events without a time or after the range to the default partition"
    else
        fail "the default partition holds [$in_default] after the update, which lacks call_transcribed or 2099"
    fi
    # Rows an earlier version stored with an occurred_at that is not the
    # time this version reads from the payload (written here with the
    # trigger off): the update moves rows by the partition key itself then.
    if [[ $FROM == 1.4 ]]; then
        ODD=cc_upgrade_odd_$$
        psql_ -d postgres -c "DROP DATABASE IF EXISTS $ODD" -c "CREATE DATABASE $ODD" >/dev/null
        odd=$(psql_ -d "$ODD" -At 2>&1 <<'SQL'
CREATE EXTENSION cometchat_webhooks VERSION '1.4';
INSERT INTO cometchat.events (payload) VALUES
  ('{"trigger": "meeting_started", "type": "meet", "appId": "odd", "region": "eu", "webhook": "w", "data": {"sessionId": "march", "created_at": 1741000000}}'),
  ('{"trigger": "meeting_started", "type": "meet", "appId": "odd", "region": "eu", "webhook": "w", "data": {"sessionId": "later", "created_at": 1741000000}}');
ALTER TABLE cometchat.events DISABLE TRIGGER events_ingest;
UPDATE cometchat.events SET occurred_at = NULL WHERE session_id = 'march';
UPDATE cometchat.events SET payload = jsonb_set(payload, '{data,created_at}', '4070908800') WHERE session_id = 'later';
ALTER TABLE cometchat.events ENABLE TRIGGER events_ingest;
ALTER EXTENSION cometchat_webhooks UPDATE;
SELECT string_agg(session_id || ':' || tableoid::regclass::text, ',' ORDER BY session_id) FROM cometchat.events;
SQL
)
        psql_ -d postgres -c "DROP DATABASE IF EXISTS $ODD" >/dev/null
        if [[ $odd == "later:cometchat.events_default,march:cometchat.$legacy" ]]; then
            pass "rows whose stored time is not the payload's are placed by the payload's"
        else
            fail "rows whose stored time is not the payload's: [$odd]"
        fi
    fi
    if [[ -n $legacy ]]; then
        for f in up.catalog; do
            grep -v -F "$legacy" "$WORK/$f" >"$WORK/$f.tmp" && mv "$WORK/$f.tmp" "$WORK/$f"
        done
    fi
fi
for section in extension 'config table' member function aggregate 'function attributes' type 'composite type attribute' \
               relation column constraint index trigger policy view sequence schema 'initial privileges' comment dependency; do
    awk -F '\t' -v s="$section" '$1 == s' "$WORK/up.catalog" >"$WORK/up.section"
    awk -F '\t' -v s="$section" '$1 == s' "$WORK/fresh.catalog" >"$WORK/fresh.section"
    if [[ ! -s $WORK/up.section && ! -s $WORK/fresh.section ]]; then
        case $section in
            aggregate) continue ;;    # the extension has none
        esac
    fi
    compare "catalog: $section" "$WORK/up.section" "$WORK/fresh.section"
done
# The configuration tables, in pg_extension.extconfig order (informative:
# pg_dump does not depend on it).
up_cfg=$(sql_value "$UP" "SELECT array_to_string(extconfig::regclass[], ', ') FROM pg_extension WHERE extname = 'cometchat_webhooks'")
fresh_cfg=$(sql_value "$FRESH" "SELECT array_to_string(extconfig::regclass[], ', ') FROM pg_extension WHERE extname = 'cometchat_webhooks'")
if [[ $up_cfg != "$fresh_cfg" ]]; then
    echo "note: extconfig order differs (same set): upgraded [$up_cfg], fresh [$fresh_cfg]"
fi

########################################################################
# 3. The same behaviour.
########################################################################
compare "statuses of the first stream" "$WORK/up.status1" "$WORK/fresh.status1"
if ! { data "$UP" "$WORK/up1" && data "$FRESH" "$WORK/fresh1"; }; then fail "reading the data after the first stream"; fi
for part in ledger quarantine lifecycle; do
    compare "after the update: $part" "$WORK/up1.$part" "$WORK/fresh1.$part" may-be-empty
done
for db in up1 fresh1; do
    if [[ -s $WORK/$db.verify ]]; then fail "$db: verify() is not empty:"; sed 's/^/    /' "$WORK/$db.verify" | head; else pass "${db%1}: verify() empty after the first stream"; fi
done

ingest "$UP" "$WORK/stream2.ndjson" "$WORK/up.status2" || { fail "upgraded: ingesting the further stream"; sed 's/^/    /' "$WORK/up.status2.err"; }
ingest "$FRESH" "$WORK/stream2.ndjson" "$WORK/fresh.status2" || { fail "fresh: ingesting the further stream"; sed 's/^/    /' "$WORK/fresh.status2.err"; }
compare "statuses of the further stream" "$WORK/up.status2" "$WORK/fresh.status2"
if ! { data "$UP" "$WORK/up2" && data "$FRESH" "$WORK/fresh2"; }; then fail "reading the data after the further stream"; fi
for part in ledger quarantine lifecycle; do
    compare "after the further stream: $part" "$WORK/up2.$part" "$WORK/fresh2.$part"
done
for db in up2 fresh2; do
    if [[ -s $WORK/$db.verify ]]; then fail "$db: verify() is not empty:"; sed 's/^/    /' "$WORK/$db.verify" | head; else pass "${db%2}: verify() empty after the further stream"; fi
done
n=$(sql_value "$FRESH" "SELECT count(DISTINCT table_name) || ' tables, ' || count(*) || ' rows' FROM cometchat._lifecycle_rows()")
echo "    (lifecycle compared: $n)"

########################################################################
# 3b. The functions 1.4 added, in both.
########################################################################
if psql_ -d postgres -c "CREATE ROLE $READER" -c "CREATE ROLE $RECEIVER" >/dev/null; then
    CREATED_ROLES+=("$READER" "$RECEIVER")
else
    fail "could not create the roles $READER and $RECEIVER"
fi
{
    tail -n 12 "$STREAM"
    echo ''
    echo '{"trigger": "meeting_started", "data": {"created_at": 1893456300, "sessionId": "bodies"}, "type": "meet", "appId": "8c51e0a9d2b47f", "region": "eu", "webhook": "meetings_eu"}'
    echo '{"trigger": "meeting_started", "data": {"sessionId": "bodies"}, "type": "meet", "appId": "8c51e0a9d2b47f", "region": "eu", "webhook": "meetings_eu"}'
    echo '{"not": json}'
    echo 'not json either'
} >"$WORK/bodies.ndjson"
# new_functions DB OUT: what the 1.4 functions return, one line each.
new_functions() {
    local db=$1 out=$2
    psql_ -d "$db" -At -F $'\t' >"$out" 2>"$out.err" <<SQL
SET TIME ZONE 'UTC';
SELECT 'grant_reader', cometchat.grant_reader('$READER');
SELECT 'grant_receiver', cometchat.grant_receiver('$RECEIVER');
SELECT 'privileges', c.relname, has_table_privilege('$READER', c.oid, 'SELECT'),
       has_any_column_privilege('$RECEIVER', c.oid, 'INSERT'), has_table_privilege('$RECEIVER', c.oid, 'SELECT')
FROM pg_class c WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition;
SELECT 'execute', p.oid::regprocedure, has_function_privilege('$READER', p.oid, 'EXECUTE'),
       has_function_privilege('$RECEIVER', p.oid, 'EXECUTE')
FROM pg_proc p WHERE p.pronamespace = 'cometchat'::regnamespace;
SELECT 'found', e.kind, e.id = (SELECT f.event_id FROM cometchat.find_event(e.payload) f),
       e.id = (SELECT f.event_id FROM cometchat.find_event_by_key(cometchat.idempotency_key(e.payload)) f)
FROM cometchat.events e;
SET ROLE $RECEIVER;
CREATE TEMP TABLE bodies (body text);
\\copy bodies FROM '$WORK/bodies.ndjson' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
SELECT 'ingest_bodies', * FROM cometchat.ingest_bodies('bodies');
SELECT 'ingest_bodies again', * FROM cometchat.ingest_bodies('bodies');
RESET ROLE;
SET ROLE $READER;
SELECT 'call_lifecycle', app_id, session_id, call_id, status, answered, missed FROM cometchat.call_lifecycle;
SELECT 'event_log', app_id, kind, session_id, call_id, occurred_at, detail FROM cometchat.event_log;
SELECT 'timeline', c.app_id, c.session_id, t.* FROM cometchat.calls c, cometchat.timeline(c.app_id, c.session_id) t
WHERE c.session_id IS NOT NULL;
RESET ROLE;
SELECT 'revoke_reader', cometchat.revoke_reader('$READER');
SELECT 'revoke_receiver', cometchat.revoke_receiver('$RECEIVER');
SELECT 'privileges left', count(*) FROM pg_class c WHERE c.relnamespace = 'cometchat'::regnamespace
   AND (has_table_privilege('$READER', c.oid, 'SELECT') OR has_any_column_privilege('$RECEIVER', c.oid, 'INSERT'));
SQL
}
if new_functions "$UP" "$WORK/up.new" && new_functions "$FRESH" "$WORK/fresh.new"; then
    for part in grant_reader grant_receiver privileges execute found 'ingest_bodies' 'ingest_bodies again' \
                call_lifecycle event_log timeline revoke_reader revoke_receiver 'privileges left'; do
        awk -F '\t' -v s="$part" '$1 == s' "$WORK/up.new" >"$WORK/up.section"
        awk -F '\t' -v s="$part" '$1 == s' "$WORK/fresh.new" >"$WORK/fresh.section"
        compare "1.4 functions: $part" "$WORK/up.section" "$WORK/fresh.section"
    done
    if grep -qP '^found\t[^\t]*\t(f|)\t|^found\t.*\t(f|)$' "$WORK/fresh.new"; then
        fail "find_event() or find_event_by_key() misses a stored event:"
        grep -P '^found\t[^\t]*\t(f|)\t|^found\t.*\t(f|)$' "$WORK/fresh.new" | sed 's/^/    /' | head
    else
        pass "find_event() and find_event_by_key() find every stored event ($(grep -c '^found' "$WORK/fresh.new"))"
    fi
    # 17 lines: 12 of the demo stream (10 events stored before, 2 quarantined
    # again), a blank one, a new event, an invalid payload, two bodies that are
    # not JSON (one that looks like an object).
    if grep -qxP 'ingest_bodies\t17\t1\t10\t5\t1' "$WORK/fresh.new" &&
        grep -qxP 'ingest_bodies again\t17\t0\t11\t5\t1' "$WORK/fresh.new"; then
        pass "ingest_bodies() accounts for every line: $(grep -P '^ingest_bodies' "$WORK/fresh.new" | tr '\t\n' ' ;')"
    else
        fail "ingest_bodies() counts: $(grep -P '^ingest_bodies' "$WORK/fresh.new" | tr '\t\n' ' ;')"
    fi
else
    fail "running the 1.4 functions:"
    cat "$WORK/up.new.err" "$WORK/fresh.new.err" | sed 's/^/    /' | head -n 20
fi
if ! { data "$UP" "$WORK/up3" && data "$FRESH" "$WORK/fresh3"; }; then fail "reading the data after ingest_bodies()"; fi
for part in ledger quarantine lifecycle; do
    compare "after ingest_bodies(): $part" "$WORK/up3.$part" "$WORK/fresh3.$part"
done
for db in up3 fresh3; do
    if [[ -s $WORK/$db.verify ]]; then fail "$db: verify() is not empty:"; sed 's/^/    /' "$WORK/$db.verify" | head; else pass "${db%3}: verify() empty after ingest_bodies()"; fi
done

########################################################################
# 4. DROP EXTENSION leaves nothing behind.
########################################################################
LEFTOVERS_SQL=$(cat <<'SQL'
SELECT 'namespace ' || nspname FROM pg_namespace WHERE oid = :nsp OR nspname = 'cometchat'
UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE oid = :ext OR extname = 'cometchat_webhooks'
UNION ALL SELECT 'pg_class ' || relname FROM pg_class WHERE relnamespace = :nsp OR oid = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_proc ' || proname FROM pg_proc WHERE pronamespace = :nsp OR oid = ANY (:'procs'::oid[])
UNION ALL SELECT 'pg_type ' || typname FROM pg_type WHERE typnamespace = :nsp OR oid = ANY (:'types'::oid[])
UNION ALL SELECT 'pg_operator ' || oprname FROM pg_operator WHERE oprnamespace = :nsp
UNION ALL SELECT 'pg_constraint ' || conname FROM pg_constraint WHERE connamespace = :nsp OR conrelid = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_trigger ' || tgname FROM pg_trigger WHERE tgrelid = ANY (:'rels'::oid[]) OR tgfoid = ANY (:'procs'::oid[])
UNION ALL SELECT 'pg_policy ' || polname FROM pg_policy WHERE polrelid = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_attribute ' || attname FROM pg_attribute WHERE attrelid = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_attrdef ' || adnum::text FROM pg_attrdef WHERE adrelid = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_index ' || indexrelid::text FROM pg_index WHERE indrelid = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_rewrite ' || rulename FROM pg_rewrite WHERE ev_class = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_sequence ' || seqrelid::text FROM pg_sequence WHERE seqrelid = ANY (:'rels'::oid[])
UNION ALL SELECT 'pg_enum ' || enumlabel FROM pg_enum WHERE enumtypid = ANY (:'types'::oid[])
UNION ALL SELECT 'pg_depend ' || classid::regclass || ' ' || objid || ' -> ' || refclassid::regclass || ' ' || refobjid
          FROM pg_depend
          WHERE refobjid IN (:ext, :nsp) OR objid IN (:ext, :nsp)
             OR refobjid = ANY (:'rels'::oid[] || :'procs'::oid[] || :'types'::oid[])
             OR objid = ANY (:'rels'::oid[] || :'procs'::oid[] || :'types'::oid[])
UNION ALL SELECT 'pg_init_privs ' || classoid::regclass || ' ' || objoid FROM pg_init_privs
          WHERE objoid IN (:ext, :nsp) OR objoid = ANY (:'rels'::oid[] || :'procs'::oid[] || :'types'::oid[])
UNION ALL SELECT 'pg_description ' || classoid::regclass || ' ' || objoid FROM pg_description
          WHERE objoid IN (:ext, :nsp) OR objoid = ANY (:'rels'::oid[] || :'procs'::oid[] || :'types'::oid[]);
SQL
)
drop_extension() {
    local label=$1 db=$2 ids nsp ext rels procs types left
    ids=$(sql_value "$db" "SELECT 'cometchat'::regnamespace::oid,
        (SELECT oid FROM pg_extension WHERE extname = 'cometchat_webhooks'),
        (SELECT array_agg(oid) FROM pg_class WHERE relnamespace = 'cometchat'::regnamespace),
        (SELECT array_agg(oid) FROM pg_proc WHERE pronamespace = 'cometchat'::regnamespace),
        (SELECT array_agg(oid) FROM pg_type WHERE typnamespace = 'cometchat'::regnamespace)") || { fail "$label: reading the extension's objects"; return; }
    IFS=$'\t' read -r nsp ext rels procs types <<<"$ids"
    # The probe finds the extension's objects while they exist.
    left=$(psql_ -d "$db" -At -v nsp="$nsp" -v ext="$ext" -v rels="$rels" -v procs="$procs" -v types="$types" \
        <<<"$LEFTOVERS_SQL" 2>&1 | wc -l)
    if ((left < 100)); then
        fail "$label: the leftover probe finds only $left rows before the drop"
    fi
    if ! psql_ -d "$db" -c "DROP EXTENSION cometchat_webhooks" >"$WORK/drop.log" 2>&1; then
        fail "$label: DROP EXTENSION cometchat_webhooks:"
        sed 's/^/    /' "$WORK/drop.log"
        return
    fi
    left=$(psql_ -d "$db" -At -v nsp="$nsp" -v ext="$ext" -v rels="$rels" -v procs="$procs" -v types="$types" \
        <<<"$LEFTOVERS_SQL" 2>&1) || { fail "$label: looking for leftovers: $left"; return; }
    if [[ -z $left ]]; then
        pass "$label: DROP EXTENSION left nothing behind (schema, relations, functions, types, dependencies, privileges, comments)"
    else
        fail "$label: DROP EXTENSION left behind:"
        printf '%s\n' "$left" | sed 's/^/    /' | head -n 40
    fi
    if psql_ -d "$db" -c "CREATE EXTENSION cometchat_webhooks" >"$WORK/recreate.log" 2>&1; then
        pass "$label: CREATE EXTENSION again after the drop"
    else
        fail "$label: CREATE EXTENSION again after the drop:"
        sed 's/^/    /' "$WORK/recreate.log"
    fi
}
drop_extension "upgraded" "$UP"
drop_extension "fresh" "$FRESH"

########################################################################
# 5. CREATE EXTENSION where a schema "cometchat" already exists.
########################################################################
new_db "$PRE" || { fail "could not create $PRE"; exit 1; }
psql_ -d "$PRE" -c "CREATE SCHEMA cometchat" -c "CREATE TABLE cometchat.events (mine text)" \
    -c "INSERT INTO cometchat.events VALUES ('precious')" >/dev/null || fail "preparing $PRE"
expected_error='ERROR:  42P06: schema "cometchat" already exists'
expected_detail='DETAIL:  cometchat_webhooks creates and owns the schema "cometchat" and every object in it.'
expected_hint='HINT:  Drop or rename the existing schema "cometchat", then run CREATE EXTENSION cometchat_webhooks again.'
for version in "" "VERSION '$FROM'"; do
    label="CREATE EXTENSION cometchat_webhooks $version with a schema cometchat in place"
    out=$("$PGBIN/psql" -X -q -d "$PRE" -v VERBOSITY=verbose -c "CREATE EXTENSION cometchat_webhooks $version" 2>&1)
    rc=$?
    if ((rc == 0)); then
        fail "$label: succeeded"
    elif grep -qxF -- "$expected_error" <<<"$out" && grep -qxF -- "$expected_detail" <<<"$out" &&
        grep -qxF -- "$expected_hint" <<<"$out"; then
        pass "$label: fails with the message, detail and hint"
    else
        fail "$label: unexpected error output:"
        printf '%s\n' "$out" | sed 's/^/    /'
    fi
done
state=$(sql_value "$PRE" "SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'cometchat_webhooks'),
    (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'cometchat'::regnamespace),
    (SELECT string_agg(mine, ',') FROM cometchat.events)")
if [[ $state == $'0\tevents\tprecious' ]]; then
    pass "the existing schema is untouched and no extension was recorded"
else
    fail "after the refused CREATE EXTENSION: extension rows, relations, data = ${state//$'\t'/ | }"
fi

echo
if ((FAILED > 0)); then
    echo "upgrade from $FROM: $FAILED checks FAILED"
    exit 1
fi
echo "upgrade from $FROM: all checks passed"
