# shellcheck shell=bash
# Counting test results, and the one closing line "N passed, M failed".

CC_PASSED=0
CC_FAILED=0
CC_FAILURES=()
# shellcheck disable=SC2034  # read by the scripts that source this file
CC_SUMMARY_DONE=0
# Whether someone watches at a terminal; decided once, before any redirection.
if [[ -t 0 && -t 1 ]]; then CC_INTERACTIVE=1; else CC_INTERACTIVE=0; fi

cc_pass() { CC_PASSED=$((CC_PASSED + 1)); }
# A failure is named with CC_FAIL_PREFIX before it (the target, "[17] ").
CC_FAIL_PREFIX=""
cc_fail() { CC_FAILED=$((CC_FAILED + 1)); CC_FAILURES+=("$CC_FAIL_PREFIX$1"); }

# cc_timed CMD...: runs CMD with a time limit when nobody is watching (CI, no
# terminal), so a hung test cannot eat the whole CI budget.  timeout signals
# CMD's whole process group, so pg_regress and its psql go too.
cc_timed() {
    if ((CC_INTERACTIVE)); then
        "$@"
    else
        timeout -k 30 "${CC_STAGE_TIMEOUT:-1200}" "$@"
    fi
}

# cc_count_pg_regress LABEL LOG RC NAME...: counts pg_regress (or
# pg_isolation_regress) results from LOG.  PostgreSQL 15 prints one line per
# test, "test NAME ... ok 12 ms" or "test NAME ... FAILED 12 ms" (indented
# names inside parallel groups); 16 and later print TAP, "ok 3   - NAME
# 12 ms" or "not ok 3   - NAME  12 ms" ("+" for a parallel test).  Every
# expected NAME without a result line counts as failed, and so does a
# non-zero exit RC that no failed test explains.
cc_count_pg_regress() {
    local label=$1 log=$2 rc=$3 name status failed=0
    shift 3
    local -A seen=()
    while read -r name status; do
        seen[$name]=1
        case $status in
            ok) cc_pass ;;
            FAILED) cc_fail "$label $name"; failed=$((failed + 1)) ;;
            *) printf '    (%s %s: %s, not counted)\n' "$label" "$name" "$status" ;;
        esac
    done < <(sed -nE -e 's/^(test[[:space:]]+|[[:space:]]+)?([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed \(ignored\)).*$/\2 \3/p' \
                     -e 's/^ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+([^[:space:]]+)[[:space:]].*$/\1 ok/p' \
                     -e 's/^not ok[[:space:]]+[0-9]+[[:space:]]+[-+][[:space:]]+([^[:space:]]+)[[:space:]].*$/\1 FAILED/p' "$log")
    for name in "$@"; do
        if [[ -z ${seen[$name]:-} ]]; then
            cc_fail "$label $name (no result reported)"
            failed=$((failed + 1))
        fi
    done
    if ((rc != 0 && failed == 0)); then
        cc_fail "$label (exited with status $rc)"
    fi
}

# cc_count_tap LABEL LOG RC: counts the assertions of one verbose pg_prove
# run: "ok N" passes; "not ok N" fails unless marked "# TODO" (an expected
# failure).  A non-zero exit that no failed assertion explains (a bad plan,
# an SQL error, a crash) counts as one more failure.
cc_count_tap() {
    local label=$1 log=$2 rc=$3 line failed=0 n=0
    while IFS= read -r line; do
        if [[ $line =~ ^[[:space:]]*not\ ok\ [0-9]+ ]]; then
            n=$((n + 1))
            if [[ $line =~ \#[[:space:]]*[Tt][Oo][Dd][Oo] ]]; then
                cc_pass
            else
                cc_fail "$label: ${line#"${line%%[![:space:]]*}"}"
                failed=$((failed + 1))
            fi
        elif [[ $line =~ ^[[:space:]]*ok\ [0-9]+ ]]; then
            n=$((n + 1))
            cc_pass
        fi
    done <"$log"
    if ((rc != 0 && failed == 0)); then
        cc_fail "$label (pg_prove exited with status $rc after $n assertions)"
    elif ((n == 0)); then
        cc_fail "$label (no assertions ran)"
    fi
}

cc_summary() {
    local f
    # shellcheck disable=SC2034  # read by the scripts that source this file
    CC_SUMMARY_DONE=1
    echo
    if ((CC_FAILED > 0)); then
        echo "Failed:"
        for f in "${CC_FAILURES[@]}"; do
            printf '  - %s\n' "$f"
        done
    fi
    printf '%d passed, %d failed\n' "$CC_PASSED" "$CC_FAILED"
}
