#!/usr/bin/env bash
# readme.sh: every SQL example of README.md runs as written and prints what
# the README shows, and the README's reference is the catalog's.
#
# Runs each ```sql block of README.md, in order, in one psql session (as a
# reader following along would: psql -X -q, from the repository's root, on a
# fresh database that has nothing yet, not even the extension), and compares
# what psql prints for it, errors and notices included, with the ```text
# block right after it (a block without one must print nothing).  Then reads
# the README's Reference section against that database's catalog: an entry,
# with an example, for every function of the extension (internal ones, named
# _..., left out), every setting with its default, every table and view with
# its columns, their types and their comments in order, every type with its
# labels and comment.  So the README cannot drift from what the extension
# does: change one and this fails until the other follows.
#
#   test/scripts/readme.sh            the check (test/run runs it)
#   test/scripts/readme.sh --update   after an intended change: rewrites the
#                                     README's output blocks from what psql
#                                     printed (review the diff), then checks
#
# Roles the README creates are dropped at the end.  Runs with PGHOST,
# PGPORT, PGUSER (a superuser) and PGDATABASE set; prints PASS/FAIL lines;
# exits non-zero on any difference.
set -uo pipefail

: "${PGDATABASE:?PGDATABASE must be set}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
# As a reader's psql: none of the test environment's session settings.
unset PGOPTIONS PGTZ PGDATESTYLE PGCLIENTENCODING

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
HERE=$ROOT/test/scripts
README=$ROOT/README.md
WORK=$(mktemp -d /tmp/cc-readme.XXXXXX)
DB=${PGDATABASE}_readme_$$
UPDATE=0
[[ ${1:-} == --update ]] && UPDATE=1

psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

roles_sql="SELECT rolname FROM pg_roles ORDER BY 1"
psql_ -d postgres -At -c "$roles_sql" >"$WORK/roles.before" || exit 1
cleanup() {
    local role
    psql_ -d postgres -At -c "$roles_sql" >"$WORK/roles.after" 2>/dev/null
    psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$DB\"" >/dev/null 2>&1
    while IFS= read -r role; do
        psql_ -d postgres -c "DROP ROLE IF EXISTS \"$role\"" >/dev/null 2>&1 ||
            echo "note: could not drop role $role"
    done < <(comm -13 "$WORK/roles.before" "$WORK/roles.after")
    rm -rf -- "$WORK"
}
trap cleanup EXIT

perl "$HERE/readme.pl" extract "$README" "$WORK" || exit 1
psql_ -d postgres -c "CREATE DATABASE \"$DB\" TEMPLATE template0" >/dev/null || exit 1

# The examples, as a reader types them (no ON_ERROR_STOP: an example that
# fails shows its error, and the ones after it still run).
(cd "$ROOT" && "$PGBIN/psql" -X -q -d "$DB" <"$WORK/script.sql" >"$WORK/output" 2>&1)
if ((UPDATE)); then
    perl "$HERE/readme.pl" update "$README" "$WORK" || exit 1
    echo "README.md's output blocks rewritten from psql's output: review git diff README.md"
    perl "$HERE/readme.pl" extract "$README" "$WORK" || exit 1
fi
FAILED=0
perl "$HERE/readme.pl" compare "$README" "$WORK" || FAILED=1

# The catalog, for the reference.  The README left it in its own state
# (roles, per-app security): only the catalog is read.
if psql_ -d "$DB" -At -F $'\t' >"$WORK/catalog.log" 2>&1 <<SQL
LOAD 'cometchat_webhooks';
\\o $WORK/functions
SELECT p.proname, pg_get_function_identity_arguments(p.oid)
FROM pg_proc p WHERE p.pronamespace = 'cometchat'::regnamespace AND p.proname !~ '^_'
ORDER BY 1, 2;
\\o $WORK/settings
SELECT name, boot_val || coalesce(unit, '') FROM pg_settings WHERE name LIKE 'cometchat.%' ORDER BY 1;
\\o $WORK/columns
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), coalesce(col_description(c.oid, a.attnum), '')
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'cometchat'::regnamespace AND c.relkind IN ('r', 'v', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum;
\\o $WORK/types
SELECT t.typname,
       coalesce((SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                '(' || (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                        WHERE a.attrelid = t.typrelid AND a.attnum > 0) || ')'),
       coalesce(obj_description(t.oid, 'pg_type'), '')
FROM pg_type t
WHERE t.typnamespace = 'cometchat'::regnamespace
  AND (t.typtype = 'e' OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
ORDER BY 1;
SQL
then
    perl "$HERE/readme.pl" reference "$README" "$WORK" || FAILED=1
else
    echo "FAIL: reading the catalog of the README's database:"
    sed 's/^/    /' "$WORK/catalog.log"
    FAILED=1
fi

echo
if ((FAILED)); then
    echo "readme: README.md and the extension differ"
    exit 1
fi
echo "readme: every example of README.md runs as shown; its reference is the catalog's"
