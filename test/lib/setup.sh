# shellcheck shell=bash
# Installs what the build and the tests need, only when it is missing.

# Everything test/run needs; demo/run needs the first four.
# shellcheck disable=SC2034  # read by the scripts that source this file
CC_TEST_PACKAGES=(postgresql-15 postgresql-server-dev-15 make gcc
                  postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
                  postgresql-15-cron)
CC_DEMO_PACKAGES=(postgresql-15 postgresql-server-dev-15 make gcc)

cc_package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# cc_ensure_packages PKG...: apt-get update once, then install the missing ones.
cc_ensure_packages() {
    local pkg missing=()
    for pkg in "$@"; do
        cc_package_installed "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} > 0)); then
        [[ $EUID -eq 0 ]] || cc_die "missing packages: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})"
        cc_say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q </dev/null
        apt-get install -y -q "${missing[@]}" </dev/null
    fi
    # initdb and postgres refuse to run as root, so root runs the server as
    # this user.  The postgresql-common package creates it; some images lack it.
    if [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        cc_say "creating the postgres OS user"
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    [[ -x $PG_CONFIG ]] || cc_die "$PG_CONFIG not found after installing postgresql-server-dev-15"
}

# cc_build WORKDIR [PG_CONFIG]: a clean build of the extension, from a copy
# of the tree in WORKDIR (so that building for one major leaves no objects
# another would take for its own), installed into that server.
cc_build() {
    local pg_config=${2:-$PG_CONFIG} major dir log
    major=$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
    dir=$1/build-$major
    log=$dir.log
    cc_say "building and installing cometchat_webhooks for $("$pg_config" --version)"
    rm -rf -- "$dir"
    mkdir -p "$dir"
    cp -R -- "$CC_ROOT/Makefile" "$CC_ROOT/cometchat_webhooks.control" "$CC_ROOT/src" "$dir/"
    # Objects of a build by hand in the working tree are of whatever major
    # it was made for: make would link them here as they are.
    find "$dir/src" \( -name '*.o' -o -name '*.bc' -o -name '*.so' \) -delete
    # The scripts of every version are installed afresh: one left from
    # another build (make install never removes any) would shadow the
    # upgrade chain that CREATE EXTENSION ... VERSION takes.
    rm -f -- "$("$pg_config" --sharedir)/extension/cometchat_webhooks"--*.sql
    if ! { make -C "$dir" PG_CONFIG="$pg_config" -j"$(nproc)" &&
           make -C "$dir" PG_CONFIG="$pg_config" install; } >"$log" 2>&1 </dev/null; then
        tail -n 200 -- "$log"
        return 1
    fi
}
