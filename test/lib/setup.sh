# shellcheck shell=bash
# Installs what the build and the tests need, only when it is missing.

# Everything test/run needs; demo/run needs the first four.
# shellcheck disable=SC2034  # read by the scripts that source this file
CC_TEST_PACKAGES=(postgresql-15 postgresql-server-dev-15 make gcc
                  postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl)
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

# cc_build LOGDIR: a clean build and install of the extension.  Without
# autodepend (Debian's PGXS has none), an edited header would not rebuild
# the objects that include it, so build from clean every time.
cc_build() {
    local log=$1/build.log
    cc_say "building and installing cometchat_webhooks"
    if ! { make -C "$CC_ROOT" PG_CONFIG="$PG_CONFIG" clean &&
           make -C "$CC_ROOT" PG_CONFIG="$PG_CONFIG" -j"$(nproc)" &&
           make -C "$CC_ROOT" PG_CONFIG="$PG_CONFIG" install; } >"$log" 2>&1 </dev/null; then
        tail -n 200 -- "$log"
        return 1
    fi
}
