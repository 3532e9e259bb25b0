# shellcheck shell=bash
# Shared by demo/run and test/run: where things are, a clean environment, messages.
# The caller sets CC_ROOT (the repository root, found from its own path) first.

: "${CC_ROOT:?CC_ROOT must be set before sourcing test/lib/common.sh}"

# libpq settings from the caller's environment would point the tests at some
# other server or database: only what cluster.sh exports counts.
while IFS= read -r cc_var; do
    unset "$cc_var"
done < <(compgen -e | grep -E '^PG[A-Z]' || true)
unset cc_var

# Debian's PostgreSQL 15, whatever pg_config or psql the caller has on PATH.
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PGBIN=/usr/lib/postgresql/15/bin
export PG_CONFIG PGBIN
PATH="$PGBIN:$PATH:/usr/sbin:/sbin"
export PATH

# Installed files must be readable by the postgres OS user that runs the server.
umask 022

# English messages and byte-order sorting, whatever the caller's locale is.
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE

cc_say() { printf '==> %s\n' "$*"; }
cc_warn() { printf 'warning: %s\n' "$*" >&2; }
cc_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# cc_print_file FILE [MAX_LINES]: show a log to the reader, cut when long.
cc_print_file() {
    local file=$1 max=${2:-400} n
    [[ -f $file ]] || return 0
    n=$(wc -l < "$file")
    if (( n > max )); then
        head -n "$max" -- "$file"
        printf '... (%d more lines not shown)\n' "$((n - max))"
    else
        cat -- "$file"
    fi
}
