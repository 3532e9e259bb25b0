#!/usr/bin/env bash
# test/upgrade/pg_upgrade.sh WORKDIR: pg_upgrade of a populated cluster to a
# newer major, with cometchat_webhooks in it.  Run by test/run for every
# target newer than 15, which sets:
#
#   CC_OLD_PG_CONFIG   pg_config of the old server (15), extension installed
#   CC_NEW_PG_CONFIG   pg_config of the new server, extension installed
#
# Two databases in the old cluster: "current" at the default version, "old"
# at 1.0 (so that the extension's own upgrade path is taken after
# pg_upgrade).  Both are filled from the deterministic generator
# (test/gen/stream.sql), with duplicates and invalid payloads.  After
# pg_upgrade: every table of the extension is the same, row for row;
# verify() finds no difference; a duplicate of an event stored before the
# upgrade is still recognized; new events are ingested and the lifecycle
# stays equal to a rebuild; ALTER EXTENSION ... UPDATE works in "old".
# Exits 0 when every check held.
set -euo pipefail

CC_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$CC_ROOT"
# shellcheck source=test/lib/common.sh
source test/lib/common.sh

: "${CC_OLD_PG_CONFIG:?}" "${CC_NEW_PG_CONFIG:?}"
W=${1:?usage: test/upgrade/pg_upgrade.sh WORKDIR}
OLD=$("$CC_OLD_PG_CONFIG" --bindir)
NEW=$("$CC_NEW_PG_CONFIG" --bindir)
TABLES=(events rejected sessions calls call_outcomes participants recordings)
failed=0

rm -rf -- "$W"
mkdir -p "$W"
if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$W"
fi
chmod 0700 "$W"

as_server_user() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$W" && runuser -u postgres -- "$@")
    else
        (cd "$W" && "$@")
    fi
}

stop_all() {
    local d
    for d in old new; do
        [[ -f $W/$d/postmaster.pid ]] || continue
        if [[ $d == old ]]; then
            as_server_user "$OLD/pg_ctl" -D "$W/$d" -m immediate -w stop >/dev/null 2>&1 || true
        else
            as_server_user "$NEW/pg_ctl" -D "$W/$d" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
}
trap stop_all EXIT

check() {
    local what=$1 got=$2 want=$3
    if [[ $got == "$want" ]]; then
        echo "ok: $what"
    else
        echo "FAILED: $what: got [$got], want [$want]"
        failed=$((failed + 1))
    fi
}

PORT_OLD=$((30000 + RANDOM % 10000))
PORT_NEW=$((PORT_OLD + 1))

# init_cluster BINDIR DIR PORT
init_cluster() {
    local bin=$1 dir=$2 port=$3 opts=(--encoding=UTF8 --no-locale --no-sync --auth=trust -U postgres)
    # 18 enables data checksums by default; pg_upgrade needs both clusters
    # alike.  (The help is read whole first: grep -q stops reading at the
    # match, and under pipefail initdb's SIGPIPE made the test false.)
    if [[ $("$bin/initdb" --help) == *--no-data-checksums* ]]; then
        opts+=(--no-data-checksums)
    fi
    as_server_user "$bin/initdb" -D "$dir" "${opts[@]}" >"$dir.initdb.log" 2>&1 </dev/null ||
        { cat -- "$dir.initdb.log"; exit 1; }
    cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$W'
fsync = off
timezone = 'UTC'
lc_messages = 'C'
CONF
}

start() {
    as_server_user "$1/pg_ctl" -D "$2" -l "$2.log" -w -t 120 start >/dev/null </dev/null ||
        { cat -- "$2.log"; exit 1; }
}

q() {
    local bin=$1 port=$2 db=$3
    shift 3
    "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "$port" -U postgres -d "$db" "$@"
}

# Each table of the extension, as one digest of its rows in a fixed order.
digests() {
    local bin=$1 port=$2 db=$3 t sql=""
    for t in "${TABLES[@]}"; do
        sql+="SELECT '$t', count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM cometchat.$t r;"
    done
    q "$bin" "$port" "$db" -F ' ' -c "$sql"
}

echo "pg_upgrade: $("$OLD/postgres" --version) -> $("$NEW/postgres" --version)"
init_cluster "$OLD" "$W/old" "$PORT_OLD"
start "$OLD" "$W/old"

populate() {
    local db=$1 version=$2 seed=$3
    q "$OLD" "$PORT_OLD" postgres -c "CREATE DATABASE $db"
    q "$OLD" "$PORT_OLD" "$db" -c "CREATE EXTENSION cometchat_webhooks $version"
    q "$OLD" "$PORT_OLD" "$db" -f test/gen/stream.sql >/dev/null
    q "$OLD" "$PORT_OLD" "$db" <<SQL
INSERT INTO cometchat.events (payload)
SELECT payload FROM cc_gen.stream($seed, 60, 15) ORDER BY seq;
-- Invalid payloads, to the quarantine.
INSERT INTO cometchat.events (payload)
VALUES ('{"trigger": "call_initiated", "appId": "x"}'), ('[1, 2, 3]'), ('{"trigger": 7}');
SQL
}
populate current "" 11
populate old "VERSION '1.0'" 12
for db in current old; do
    check "$db: verify() is empty before the upgrade" \
        "$(q "$OLD" "$PORT_OLD" "$db" -c 'SELECT count(*) FROM cometchat.verify()')" 0
    check "$db: the quarantine holds the invalid payloads" \
        "$(q "$OLD" "$PORT_OLD" "$db" -c 'SELECT count(*) >= 3 FROM cometchat.rejected')" t
    digests "$OLD" "$PORT_OLD" "$db" >"$W/$db.before"
done

init_cluster "$NEW" "$W/new" "$PORT_NEW"
# Debian's 15.20 stamps every column with an attribute option "pg_attver",
# which 17.11 and 18.6 (the newest releases whose source the archive serves
# here) reject: pg_upgrade then fails on the first table of any database,
# with or without this extension.  When the new server rejects it, the stamp
# is taken off the old cluster's own columns first.
start "$NEW" "$W/new"
if ! q "$NEW" "$PORT_NEW" postgres -c 'BEGIN' -c 'CREATE TABLE probe (a int)' \
        -c 'ALTER TABLE probe ALTER COLUMN a SET (pg_attver = 1)' -c 'ROLLBACK' >/dev/null 2>&1 &&
   [[ -n $(q "$OLD" "$PORT_OLD" postgres -c "SELECT 1 FROM pg_attribute WHERE attoptions::text LIKE '%pg\\_attver=%' LIMIT 1") ]]; then
    echo "note: the new server rejects the old one's pg_attver column option: taking it off the old cluster's columns"
    for db in template1 postgres current old; do
        q "$OLD" "$PORT_OLD" "$db" -c 'SET allow_system_table_mods = on' -c "
            UPDATE pg_catalog.pg_attribute
            SET attoptions = (SELECT array_agg(o) FILTER (WHERE o NOT LIKE 'pg\\_attver=%')
                              FROM unnest(attoptions) o)
            WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg\\_attver=%'"
    done
fi
as_server_user "$NEW/pg_ctl" -D "$W/new" -m fast -w stop >/dev/null
as_server_user "$OLD/pg_ctl" -D "$W/old" -m fast -w stop >/dev/null
echo "running pg_upgrade"
if ! as_server_user "$NEW/pg_upgrade" -b "$OLD" -B "$NEW" -d "$W/old" -D "$W/new" \
        -s "$W" -p "$PORT_OLD" -P "$PORT_NEW" -U postgres >"$W/pg_upgrade.log" 2>&1 </dev/null; then
    cat -- "$W/pg_upgrade.log"
    find "$W/new" -path '*pg_upgrade_output.d*' -name '*.log' -exec tail -n 20 {} + 2>/dev/null
    echo "FAILED: pg_upgrade"
    exit 1
fi
echo "ok: pg_upgrade"
start "$NEW" "$W/new"

for db in current old; do
    digests "$NEW" "$PORT_NEW" "$db" >"$W/$db.after"
    if diff -u "$W/$db.before" "$W/$db.after"; then
        echo "ok: $db: every table of the extension came across row for row"
    else
        echo "FAILED: $db: the tables differ after pg_upgrade"
        failed=$((failed + 1))
    fi
    check "$db: verify() is empty after the upgrade" \
        "$(q "$NEW" "$PORT_NEW" "$db" -c 'SELECT count(*) FROM cometchat.verify()')" 0
done

check "old: ALTER EXTENSION UPDATE from 1.0 on the new server" \
    "$(q "$NEW" "$PORT_NEW" old -c 'ALTER EXTENSION cometchat_webhooks UPDATE' \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'cometchat_webhooks'")" \
    "$(sed -n "s/^default_version = '\(.*\)'/\1/p" cometchat_webhooks.control)"

for db in current old; do
    # Every event delivered again: duplicates, stored once; then new traffic.
    check "$db: deliveries stored before the upgrade are recognized as duplicates" \
        "$(q "$NEW" "$PORT_NEW" "$db" <<'SQL'
WITH again AS (
    SELECT (cometchat.ingest(payload)).status FROM cc_gen.stream(CASE current_database() WHEN 'current' THEN 11 ELSE 12 END, 60, 15)
)
SELECT count(*) FILTER (WHERE status <> 'duplicate') FROM again;
SQL
)" 0
    q "$NEW" "$PORT_NEW" "$db" -c "INSERT INTO cometchat.events (payload) SELECT payload FROM cc_gen.stream(13, 30, 8) ORDER BY seq"
    check "$db: new events are ingested after the upgrade" \
        "$(q "$NEW" "$PORT_NEW" "$db" -c "SELECT count(*) > $(awk '$1 == "events" {print $2}' "$W/$db.before") FROM cometchat.events")" t
    check "$db: the lifecycle equals a rebuild after new traffic" \
        "$(q "$NEW" "$PORT_NEW" "$db" -c 'SELECT count(*) FROM cometchat.verify()')" 0
done

as_server_user "$NEW/pg_ctl" -D "$W/new" -m fast -w stop >/dev/null
echo "$failed check(s) failed"
((failed == 0))
