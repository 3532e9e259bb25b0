#!/usr/bin/env bash
# test/scripts/fuzz.sh: the seeded, bounded fuzz test of cometchat_webhooks
# (issue "Hardening").
#
# Mutates the 14 reference payloads (test/fuzz/seeds.ndjson) inside the
# server (test/fuzz/fuzz.sql): every field at every path replaced by every
# other JSON type, removed, emptied; strings replaced by unicode edge cases
# (emoji, combining marks, RTL marks, "\u0000", "\ud800"); extreme
# timestamps; 10,000-deep nesting; arrays for objects; duplicated and extra
# keys; redeliveries; then random structural mutations and random raw-text
# truncations, splices and edits.  Every mutant is fed through
# cometchat.ingest_raw(text) (so bodies that are not JSON, or hold duplicated
# keys, reach the extension as written), except a tenth each of the JSON ones
# through cometchat.ingest(jsonb) and a plain INSERT INTO cometchat.events;
# then:
#   - every input ended accepted, duplicate or rejected (none raised);
#   - accepted/duplicate only when cometchat.validate() finds nothing;
#     classify() and idempotency_key() agree with validate();
#   - accepted inputs are in cometchat.events as sent, under their key;
#     duplicates name the event accepted earlier with their key;
#   - rejected inputs have problems and are in cometchat.rejected, as sent;
#   - what the reference says (extra keys, optional fields, redeliveries,
#     missing or mistyped required fields) happened;
#   - events + rejected + duplicates = inputs; cometchat.verify() is empty;
#   - the backend is still alive (same and new connection).
# A crash or a hang is triaged: the inputs after the last committed batch are
# replayed one by one to name the one that kills the server.
#
# Runs against the database libpq's environment names (test/run gives each
# script a fresh database with the extension).  Settings:
#   FUZZ_SEED        the seed (default 20241126); the same seed, the same inputs
#   FUZZ_MAX_INPUTS  how many inputs to generate at most (default 80000)
#   FUZZ_TIME_LIMIT  seconds for generating and feeding them (default 90): random
#                    inputs are generated for at most a third of it, and feeding
#                    stops when it is over (at least 30 s of feeding); the
#                    checks come after
#   (the systematic mutants, about 10,700, are always generated, and fed first)
#   FUZZ_OUT         where failing inputs are written (default: a new /tmp directory)
# Exit status 0 when every assertion held.
set -uo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
FUZZ=$ROOT/test/fuzz

SEED=${FUZZ_SEED:-20241126}
MAX_INPUTS=${FUZZ_MAX_INPUTS:-80000}
TIME_LIMIT=${FUZZ_TIME_LIMIT:-90}
BATCH=250
OUT=${FUZZ_OUT:-}

if [[ -x ${PGBIN:-/usr/lib/postgresql/15/bin}/psql ]]; then
    PSQL_BIN=${PGBIN:-/usr/lib/postgresql/15/bin}/psql
else
    PSQL_BIN=psql
fi
export LC_ALL=C.UTF-8 PGCLIENTENCODING=UTF8 PGAPPNAME=cometchat-fuzz

for v in SEED MAX_INPUTS TIME_LIMIT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_$v must be a whole number, got '${!v}'" >&2; exit 2; }
done

T0=$SECONDS
FAILED=0
fail() { printf 'FUZZ FAILURE: %s\n' "$*"; FAILED=1; }
die() { printf 'FUZZ FAILURE: %s\n' "$*"; finish 1; }
elapsed() { echo "$((SECONDS - T0)) s"; }

finish() {
    local rc=$1
    echo "fuzz: total runtime $(elapsed)"
    if ((rc != 0)); then
        echo "fuzz: FAILED (seed $SEED; rerun with FUZZ_SEED=$SEED FUZZ_MAX_INPUTS=$MAX_INPUTS FUZZ_TIME_LIMIT=$TIME_LIMIT test/scripts/fuzz.sh)"
    else
        echo "fuzz: passed"
    fi
    exit "$rc"
}

# q SQL...: one statement per argument, unaligned, tab-separated, stop at the first error.
q() {
    local args=() s
    for s in "$@"; do args+=(-c "$s"); done
    "$PSQL_BIN" -X -q -At -F $'\t' -v ON_ERROR_STOP=1 "${args[@]}" </dev/null
}

server_up() { "$PSQL_BIN" -X -q -At -c 'SELECT 1' </dev/null >/dev/null 2>&1; }

# After a crash the server refuses connections while it recovers.
wait_for_server() {
    local i
    for ((i = 0; i < 120; i++)); do
        server_up && return 0
        sleep 0.5
    done
    return 1
}

# A body written to a file, and how to send it again.
save_input() {
    local id=$1 name=$2 file
    file=$OUT/$name-input-$id.body
    if q "SELECT cc_fuzz.body(g.body) FROM cc_fuzz.inputs i JOIN cc_fuzz.gen g ON g.k = i.k WHERE i.id = $id" >"$file" 2>/dev/null; then
        # psql adds a newline after the value; take it off again
        truncate -s -1 -- "$file" 2>/dev/null || true
        echo "$file"
    fi
}

describe_input() {
    local id=$1
    q "SELECT format('input %s (%s via %s): %s; body %s chars: %s', i.id, i.family, i.via, i.op,
                     coalesce(length(b.body)::text, 'NULL'),
                     coalesce(regexp_replace(left(b.body, 240), '[[:cntrl:]]', ' ', 'g') || CASE WHEN length(b.body) > 240 THEN '...' ELSE '' END, 'NULL'))
       FROM cc_fuzz.inputs i JOIN cc_fuzz.gen g ON g.k = i.k CROSS JOIN LATERAL (SELECT cc_fuzz.body(g.body) AS body) b
       WHERE i.id = $id" 2>&1
}

reproducer() {
    local id=$1 file=$2 via sql
    via=$(q "SELECT coalesce((SELECT via FROM cc_fuzz.results WHERE id = $id), (SELECT via FROM cc_fuzz.inputs WHERE id = $id))" 2>/dev/null)
    case $via in
        jsonb) sql="SELECT * FROM cometchat.ingest(:'body'::jsonb);" ;;
        insert) sql="INSERT INTO cometchat.events (payload) VALUES (:'body'::jsonb);" ;;
        *) sql="SELECT * FROM cometchat.ingest_raw(:'body');" ;;
    esac
    # shellcheck disable=SC2016  # the backquotes are for psql, not for this shell
    printf '    reproduce: printf '"'"'%%s\\n'"'"' '"'"'\\set body `cat %s`'"'"' "%s" | psql\n' "$file" "$sql"
}

# The server died or hung while feeding: replay, one input per connection,
# from the first input without a committed result, to name the culprit.
triage() {
    local what=$1 first last id rc file
    echo "fuzz: $what; looking for the input that causes it"
    if ! wait_for_server; then
        die "$what, and the server did not come back within 60 s"
    fi
    first=$(q "SELECT min(i.id) FROM cc_fuzz.inputs i WHERE NOT EXISTS (SELECT 1 FROM cc_fuzz.results r WHERE r.id = i.id)") ||
        die "$what; the server is back but cc_fuzz cannot be read"
    [[ -n $first ]] || die "$what, after every input had been fed"
    last=$((first + BATCH))
    echo "fuzz: replaying inputs $first..$last one at a time"
    for ((id = first; id <= last; id++)); do
        rc=0
        timeout -k 10 60 "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -c "SET statement_timeout = '30s'" \
            -c "CALL cc_fuzz.run_one($id)" </dev/null >/dev/null 2>"$OUT/triage.err" || rc=$?
        if ((rc != 0)); then
            echo "fuzz: input $id fails on its own (psql exit status $rc: $(tr '\n' ' ' <"$OUT/triage.err"))"
            wait_for_server || true
            describe_input "$id" | sed 's/^/    /'
            file=$(save_input "$id" crash) && { echo "    body: $file"; reproducer "$id" "$file"; }
            die "$what: input $id (seed $SEED) crashes or hangs the server"
        fi
    done
    die "$what, but no single input among $first..$last reproduces it alone (seed $SEED)"
}

if [[ -n $OUT ]]; then
    mkdir -p -- "$OUT" || { echo "fuzz: cannot create FUZZ_OUT=$OUT" >&2; exit 2; }
else
    OUT=$(mktemp -d /tmp/cometchat-fuzz.XXXXXX) || { echo "fuzz: mktemp failed" >&2; exit 2; }
fi

echo "fuzz: seed $SEED, at most $MAX_INPUTS inputs, generated and fed within about $TIME_LIMIT s"

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------
server_up || die "cannot connect to the database (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGDATABASE=${PGDATABASE:-})"
ext=$(q "SELECT extversion FROM pg_extension WHERE extname = 'cometchat_webhooks'") || die "cannot read pg_extension"
[[ -n $ext ]] || die "the extension cometchat_webhooks is not installed in this database"
fresh=$(q "SELECT (SELECT count(*) FROM cometchat.events) + (SELECT count(*) FROM cometchat.rejected)") ||
    die "cannot read cometchat.events"
[[ $fresh == 0 ]] || die "cometchat.events or cometchat.rejected is not empty; the counts need a fresh database"

"$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -f "$FUZZ/fuzz.sql" </dev/null >/dev/null || die "loading test/fuzz/fuzz.sql failed"
"$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 \
    -c "COPY cc_fuzz.seed_lines (line) FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" \
    <"$FUZZ/seeds.ndjson" || die "loading test/fuzz/seeds.ndjson failed"
nseeds=$(q "INSERT INTO cc_fuzz.seeds SELECT n, line::jsonb ->> 'trigger', line::jsonb, line FROM cc_fuzz.seed_lines WHERE line <> ''" \
           "SELECT count(DISTINCT trigger) FROM cc_fuzz.seeds") || die "a seed is not JSON"
[[ $nseeds == 14 ]] || die "test/fuzz/seeds.ndjson must hold the 14 events, one each; it holds $nseeds distinct triggers"
seeds_ok=$(q "SELECT count(*) FROM cc_fuzz.seeds WHERE cardinality(cometchat.validate(payload)) = 0")
[[ $seeds_ok == 14 ]] || die "only $seeds_ok of the 14 seeds are valid payloads: $(q "SELECT string_agg(trigger || ' ' || cometchat.validate(payload)::text, '; ') FROM cc_fuzz.seeds WHERE cardinality(cometchat.validate(payload)) > 0")"

t=$SECONDS
n=$(q "SELECT cc_fuzz.generate($SEED, $MAX_INPUTS, clock_timestamp() + interval '$((TIME_LIMIT / 3)) s')") ||
    die "generating the inputs failed"
echo "fuzz: generated $n inputs in $((SECONDS - t)) s$( ((n < MAX_INPUTS)) && echo " (random ones stopped by the time limit; FUZZ_MAX_INPUTS=$n gives the same inputs)"):"
q "SELECT format('    %-12s %6s inputs, %5s expected accepted, %5s duplicate, %5s rejected',
                 family, count(*), count(*) FILTER (WHERE expect = 'accepted'),
                 count(*) FILTER (WHERE expect = 'duplicate'), count(*) FILTER (WHERE expect = 'rejected'))
   FROM cc_fuzz.inputs GROUP BY family ORDER BY family"

# ---------------------------------------------------------------------------
# Feeding
# ---------------------------------------------------------------------------
t=$SECONDS
feed_limit=$((TIME_LIMIT - (SECONDS - T0)))
((feed_limit >= 30)) || feed_limit=30
# The run checks its deadline between batches; one input that takes minutes
# is a hang.  The server cancels the statement then; timeout is the backstop.
hang=$((feed_limit + 300))
feed_app=cometchat-fuzz-feed-$$
rc=0
timeout -k 10 $((hang + 60)) "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 \
    -c "SET application_name = '$feed_app'" \
    -c "SET statement_timeout = '${hang}s'" \
    -c "SET synchronous_commit = off" \
    -c "CALL cc_fuzz.run(clock_timestamp() + interval '$feed_limit s', $BATCH)" \
    -c "SELECT 1" </dev/null >/dev/null 2>"$OUT/feed.err" || rc=$?
feed_s=$((SECONDS - t))
if ((rc != 0)); then
    echo "fuzz: feeding stopped: psql exit status $rc: $(head -c 2000 "$OUT/feed.err")"
    if ((rc == 124 || rc == 137)) || grep -q 'statement timeout' "$OUT/feed.err"; then
        # our own feeding backend, if it is still there, holds the inputs' locks
        q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$feed_app'" >/dev/null 2>&1 || true
        triage "the feed hung (no end after $hang s)"
    elif ! server_up || grep -qiE 'server closed the connection|connection to server was lost|terminating connection' "$OUT/feed.err"; then
        triage "the server crashed or closed the connection while feeding inputs"
    else
        die "feeding failed with an error outside the inputs (see above)"
    fi
fi

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
IFS=$'\t' read -r fed accepted duplicate rejected raised < <(q "
    SELECT count(*), count(*) FILTER (WHERE status = 'accepted'), count(*) FILTER (WHERE status = 'duplicate'),
           count(*) FILTER (WHERE status = 'rejected'), count(*) FILTER (WHERE status NOT IN ('accepted', 'duplicate', 'rejected'))
    FROM cc_fuzz.results") || die "cannot read the results"
echo "fuzz: fed $fed of $n inputs in $feed_s s$( ((fed < n)) && echo " (stopped by the time limit)")"
echo "fuzz: inputs $fed, accepted $accepted, duplicate $duplicate, rejected $rejected, raised $raised"
q "SELECT format('    via %-6s %6s inputs: %5s accepted, %5s duplicate, %6s rejected, %3s raised',
                 via, count(*), count(*) FILTER (WHERE status = 'accepted'), count(*) FILTER (WHERE status = 'duplicate'),
                 count(*) FILTER (WHERE status = 'rejected'), count(*) FILTER (WHERE status = 'raised'))
   FROM cc_fuzz.results GROUP BY via ORDER BY via"
((fed > 0)) || die "no input was fed"
((duplicate > 0)) || fail "no duplicate delivery happened"
((accepted > 0)) || fail "nothing was accepted"

t=$SECONDS
rc=0
failures_file=$OUT/failures.tsv
"$PSQL_BIN" -X -q -At -F $'\t' -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE cc_fuzz.failed AS SELECT f.*, regexp_replace(split_part(split_part(f.detail, ' [', 1), ': {', 1), '[0-9]+', 'N', 'g') AS shape FROM cc_fuzz.failures() f" \
    -c "SELECT check_name, count(*) FROM cc_fuzz.failed GROUP BY 1 ORDER BY 1" \
    -c "SELECT 'alive', 1" </dev/null >"$failures_file" 2>"$OUT/check.err" || rc=$?
if ((rc != 0)); then
    echo "fuzz: checking failed: psql exit status $rc: $(head -c 2000 "$OUT/check.err")"
    if ! wait_for_server || grep -qiE 'server closed the connection|connection to server was lost' "$OUT/check.err"; then
        die "the server crashed while the results were checked (cometchat.validate/classify/idempotency_key on the inputs, or cometchat.verify())"
    fi
    die "the checks could not run"
fi
grep -q $'^alive\t1$' "$failures_file" || fail "the backend did not answer SELECT 1 after the checks"
server_up || fail "a new connection does not answer SELECT 1"
echo "fuzz: checked in $((SECONDS - t)) s"

nfail=$(q "SELECT count(*) FROM cc_fuzz.failed")
if ((nfail > 0)); then
    fail "$nfail broken assertions:"
    q "SELECT format('    %-40s %6s', check_name, count(*)) FROM cc_fuzz.failed GROUP BY check_name ORDER BY check_name"
    # Grouped by what went wrong (digits masked), each with its smallest input.
    q "WITH f AS (
           SELECT f.check_name, f.shape, f.id, f.detail, i.op, length(cc_fuzz.body(g.body)) AS len
           FROM cc_fuzz.failed f LEFT JOIN cc_fuzz.inputs i ON i.id = f.id LEFT JOIN cc_fuzz.gen g ON g.k = i.k)
       SELECT format(E'\\n  [%s] %s: %s%s\\n    %s', check_name, count(*), shape,
                     CASE WHEN count(id) > 0
                          THEN format(E'\\n    smallest: input %s, %s', (array_agg(id ORDER BY len NULLS LAST, id))[1],
                                      (array_agg(op ORDER BY len NULLS LAST, id))[1]) ELSE '' END,
                     left((array_agg(detail ORDER BY len NULLS LAST, id))[1], 700))
       FROM f GROUP BY check_name, shape ORDER BY check_name, count(*) DESC, shape LIMIT 60"
    echo
    echo "  reproducers (the smallest failing input of each kind):"
    while IFS=$'\t' read -r id; do
        [[ -n $id ]] || continue
        describe_input "$id" | sed 's/^/    /'
        if file=$(save_input "$id" failing); then
            echo "      body: $file"
            reproducer "$id" "$file" | sed 's/^/  /'
        fi
    done < <(q "SELECT DISTINCT ON (f.check_name, f.shape) f.id
                FROM cc_fuzz.failed f JOIN cc_fuzz.inputs i ON i.id = f.id JOIN cc_fuzz.gen g ON g.k = i.k
                ORDER BY f.check_name, f.shape, length(cc_fuzz.body(g.body)) NULLS FIRST, f.id
                LIMIT 30")
    echo "  all failures: SELECT * FROM cc_fuzz.failed (in database ${PGDATABASE:-?}), or $failures_file"
    q "SELECT check_name, id, left(detail, 2000) FROM cc_fuzz.failed ORDER BY check_name, id" >>"$failures_file" 2>/dev/null || true
fi

if ((FAILED)); then
    finish 1
fi
echo "fuzz: every assertion held: none raised; accepted only when valid; ledger and quarantine hold every input as sent;"
echo "      events + rejected + duplicates = inputs; cometchat.verify() is empty; the backend is alive"
if [[ -z ${FUZZ_OUT:-} ]]; then rm -rf -- "$OUT"; fi
finish 0
