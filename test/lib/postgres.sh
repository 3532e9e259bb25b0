# shellcheck shell=bash
# The PostgreSQL servers the suite runs on, one "target" each:
#
#   15            Debian 12's own packages (postgresql-15, -server-dev-15)
#   17, 18        built from Debian's source packages (postgresql-17 from
#                 trixie, postgresql-18 from sid): Debian 12 has no binaries
#                 of them, and those suites' binaries need a newer glibc
#   18-cassert    the newest major again, with --enable-cassert
#
#   cc_use_postgres TARGET   makes TARGET ready (installing or building it
#                            once) and points PG_CONFIG, PGBIN and PATH at it
#
# Builds are cached outside the clone, in $CC_PG_CACHE (default
# /var/cache/cometchat_webhooks as root, ~/.cache/cometchat_webhooks
# otherwise), one prefix per version and flavour, so later runs start at once.
# The source packages are fetched with apt-get through a private apt
# configuration under that cache: the system's own sources are never touched.

CC_TARGETS_ALL=(15 17 18 18-cassert)

if [[ $EUID -eq 0 ]]; then
    : "${CC_PG_CACHE:=/var/cache/cometchat_webhooks}"
else
    : "${CC_PG_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/cometchat_webhooks}"
fi

# Packages a source build needs (Debian 12), beyond gcc and make.
CC_PG_BUILD_PACKAGES=(bison flex perl pkg-config libreadline-dev zlib1g-dev
                      libssl-dev dpkg-dev curl ca-certificates)

# Suite each major's source package comes from.
cc_pg_suite() {
    case $1 in
        17) echo trixie ;;
        18) echo sid ;;
        *) return 1 ;;
    esac
}

cc_target_valid() {
    local t
    for t in "${CC_TARGETS_ALL[@]}"; do
        [[ $1 == "$t" ]] && return 0
    done
    return 1
}

# The private apt configuration: deb-src lines for trixie, sid and bookworm
# (pgTAP's source), lists and archives of its own.
cc_apt_private() {
    local dir=$CC_PG_CACHE/apt
    mkdir -p "$dir"/{lists/partial,cache/archives/partial,sources.list.d,preferences.d}
    local key=/usr/share/keyrings/debian-archive-keyring.gpg suite
    : >"$dir/sources.list.new"
    for suite in bookworm trixie sid; do
        echo "deb-src [signed-by=$key] http://deb.debian.org/debian $suite main" >>"$dir/sources.list.new"
    done
    mv "$dir/sources.list.new" "$dir/sources.list"
    CC_APT_OPTS=(-o "Dir::Etc::sourcelist=$dir/sources.list"
                 -o "Dir::Etc::sourceparts=$dir/sources.list.d"
                 -o "Dir::Etc::preferencesparts=$dir/preferences.d"
                 -o "Dir::State::Lists=$dir/lists"
                 -o "Dir::Cache=$dir/cache"
                 -o "APT::Get::List-Cleanup=0"
                 -o "Debug::NoLocking=1")
}

# Downloads the lists when they are missing or older than a day.
cc_apt_update() {
    local stamp=$CC_PG_CACHE/apt/updated
    if [[ ! -f $stamp || -n $(find "$stamp" -mmin +1440 2>/dev/null) || ${1:-} == force ]]; then
        cc_say "postgres: reading Debian's source package lists (trixie, sid, bookworm)"
        apt-get "${CC_APT_OPTS[@]}" -q update </dev/null >"$CC_PG_CACHE/apt/update.log" 2>&1 ||
            { cat -- "$CC_PG_CACHE/apt/update.log" >&2; return 1; }
        touch "$stamp"
    fi
}

# cc_fetch_orig PACKAGE DIR [SUITE]: the upstream tarball of PACKAGE's newest
# source version (in SUITE, when given) in DIR; prints its path.  apt-get checks it against the signed
# index.  When the archive no longer has the version the index lists (sid
# moves fast, and our lists may be a day old), the lists are read again; if
# that fails too, the newest orig tarball of the same major is taken from the
# archive's pool directly (its checksum then comes from the .dsc beside it).
cc_fetch_orig() {
    local pkg=$1 dir=$2 suite=${3:-} f
    mkdir -p "$dir"
    if ! (cd "$dir" && apt-get "${CC_APT_OPTS[@]}" -q --download-only source "$pkg${suite:+/$suite}" </dev/null >fetch.log 2>&1); then
        cc_warn "apt-get source $pkg failed; reading the lists again"
        cc_apt_update force >&2 || true
        if ! (cd "$dir" && apt-get "${CC_APT_OPTS[@]}" -q --download-only source "$pkg${suite:+/$suite}" </dev/null >fetch.log 2>&1); then
            cc_warn "apt-get source $pkg failed again; looking in the archive's pool"
            cc_fetch_from_pool "$pkg" "$dir" || return 1
        fi
    fi
    f=$(find "$dir" -maxdepth 1 -name "${pkg}_*.orig.tar.*" ! -name '*.asc' | sort -V | tail -n 1)
    [[ -n $f ]] || return 1
    echo "$f"
}

# The fallback, straight from the archive's pool (which has no directory
# listing): first every orig tarball the signed index lists for PACKAGE, in
# any suite, newest first, checked against the index's SHA-256; then, for
# PostgreSQL, the minor releases before the one the index names, whose
# checksum comes from the .dsc beside them.
cc_fetch_from_pool() {
    local pkg=$1 dir=$2 base="http://deb.debian.org/debian/pool/main/${1:0:1}/$1"
    local version major minor m rev dsc sum name
    while read -r sum name; do
        cc_fetch_checked "$base" "$dir" "$name" "$sum" && return 0
    done < <(apt-cache "${CC_APT_OPTS[@]}" showsrc "$pkg" 2>/dev/null |
             awk '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s && /orig\.tar\.[a-z0-9]+$/{print $1, $3}' |
             sort -u -k2,2V -r)
    version=$(apt-cache "${CC_APT_OPTS[@]}" showsrc "$pkg" 2>/dev/null |
              sed -n 's/^Version: \([0-9]*\.[0-9]*\).*/\1/p' | sort -V | tail -n 1)
    [[ $pkg == postgresql-* && $version =~ ^([0-9]+)\.([0-9]+)$ ]] || return 1
    major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
    for ((m = minor - 1; m >= 0 && m >= minor - 6; m--)); do
        for rev in 0+deb13u1 0+deb13u2 1 2 3 4 5; do
            dsc=${pkg}_$major.$m-$rev.dsc
            curl -fsS -o "$dir/$dsc" "$base/${dsc//+/%2b}" 2>/dev/null || continue
            read -r sum name < <(awk '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s && /orig\.tar\.[a-z0-9]+$/{print $1, $3; exit}' "$dir/$dsc")
            [[ -n ${name:-} ]] && cc_fetch_checked "$base" "$dir" "$name" "$sum" && return 0
        done
    done
    return 1
}

# cc_fetch_checked BASE DIR NAME SHA256: BASE/NAME into DIR, kept only when
# its checksum is SHA256.
cc_fetch_checked() {
    local base=$1 dir=$2 name=$3 sum=$4
    curl -fsS -o "$dir/$name" "$base/$name" 2>/dev/null &&
        echo "$sum  $dir/$name" | sha256sum -c --quiet - >/dev/null 2>&1 &&
        { cc_warn "using $name from the archive's pool (checked by SHA-256)"; return 0; }
    rm -f -- "$dir/$name"
    return 1
}

# cc_build_postgres MAJOR FLAVOUR PREFIX: configure, build and install the
# server, the client programs, pg_regress, the isolation tester, the contrib
# modules the tests use and pgTAP into PREFIX.  Progress goes to the
# terminal; the whole output to the build's log in the cache.
cc_build_postgres() {
    local major=$1 flavour=$2 prefix=$3 src tarball work log stage m
    local configure=(--prefix="$prefix" --without-icu --with-openssl)
    [[ $flavour == cassert ]] && configure+=(--enable-cassert --enable-debug)
    work=$CC_PG_CACHE/build/$major${flavour:+-$flavour}
    log=$work.log
    # Installed under a staging root first, then moved into place, so that a
    # half-built server is never taken for a finished one.
    stage=$work.stage
    rm -rf -- "$work" "$stage"
    mkdir -p "$work"
    : >"$log"
    cc_say "postgres $major${flavour:+ ($flavour)}: fetching the source package postgresql-$major ($(cc_pg_suite "$major"))"
    tarball=$(cc_fetch_orig "postgresql-$major" "$CC_PG_CACHE/src/postgresql-$major") ||
        cc_die "could not fetch the source of postgresql-$major"
    cc_say "postgres $major: unpacking $(basename "$tarball")"
    tar -xf "$tarball" -C "$work"
    src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    cc_pg_step() {
        local what=$1
        shift
        cc_say "postgres $major${flavour:+ ($flavour)}: $what ($(date +%H:%M:%S))"
        "$@" >>"$log" 2>&1 </dev/null ||
            { tail -n 60 -- "$log" >&2; cc_die "postgres $major: $what failed (log: $log)"; }
    }
    cc_pg_step configure bash -c 'cd "$1" && shift && ./configure "$@"' _ "$src" "${configure[@]}"
    cc_pg_step "make (about 8 minutes on 2 cores)" make -C "$src" -j"$(nproc)"
    cc_pg_step "make install" make -C "$src" DESTDIR="$stage" install
    for m in contrib/amcheck contrib/pg_buffercache contrib/pg_stat_statements src/test/isolation; do
        cc_pg_step "make -C $m install" make -C "$src/$m" -j"$(nproc)" DESTDIR="$stage" install
    done
    # pg_config finds its paths from where it stands, so the staged one
    # installs pgTAP into the staging root.
    cc_pg_step pgTAP cc_install_pgtap "$stage$prefix/bin/pg_config"
    rm -rf -- "$prefix"
    mkdir -p "$(dirname -- "$prefix")"
    mv -- "$stage$prefix" "$prefix"
    rm -rf -- "$stage" "$work"
    touch "$prefix/.complete"
    cc_say "postgres $major${flavour:+ ($flavour)}: ready in $prefix"
}

# pgTAP from Debian 12's own source package (the version the suite uses on
# 15), built with PG_CONFIG.
cc_install_pgtap() {
    local pg_config=$1 dir=$CC_PG_CACHE/src/pgtap tarball="" src
    [[ -d $dir ]] && tarball=$(find "$dir" -maxdepth 1 -name 'pgtap_*.orig.tar.*' | sort -V | tail -n 1)
    if [[ -z $tarball ]]; then
        tarball=$(cc_fetch_orig pgtap "$dir" bookworm) || return 1
    fi
    rm -rf -- "$dir/build"
    mkdir -p "$dir/build"
    tar -xf "$tarball" -C "$dir/build"
    src=$(find "$dir/build" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    make -C "$src" PG_CONFIG="$pg_config" && make -C "$src" PG_CONFIG="$pg_config" install
}

# The pg_config of a target, built or not.
cc_pg_config_of() {
    local major=${1%%-*} flavour=""
    [[ $1 == *-cassert ]] && flavour=cassert
    if [[ $major == 15 ]]; then
        echo /usr/lib/postgresql/15/bin/pg_config
    else
        echo "$CC_PG_CACHE/pg$major${flavour:+-$flavour}/bin/pg_config"
    fi
}

cc_use_postgres() {
    local target=$1 major flavour="" prefix
    cc_target_valid "$target" || cc_die "unknown PostgreSQL target '$target' (one of: ${CC_TARGETS_ALL[*]})"
    major=${target%%-*}
    [[ $target == *-cassert ]] && flavour=cassert
    if [[ $major == 15 ]]; then
        cc_ensure_packages "${CC_DEMO_PACKAGES[@]}"
        PG_CONFIG=$(cc_pg_config_of 15)
        [[ -x $PG_CONFIG ]] || cc_die "$PG_CONFIG not found after installing postgresql-server-dev-15"
    else
        prefix=$CC_PG_CACHE/pg$major${flavour:+-$flavour}
        if [[ ! -f $prefix/.complete ]]; then
            [[ $EUID -eq 0 ]] || cc_die "PostgreSQL $target is not built yet in $prefix; run as root once to build it"
            cc_ensure_packages make gcc "${CC_PG_BUILD_PACKAGES[@]}"
            mkdir -p "$CC_PG_CACHE"
            cc_apt_private
            cc_apt_update
            cc_build_postgres "$major" "$flavour" "$prefix"
        fi
        cc_ensure_packages make gcc
        PG_CONFIG=$prefix/bin/pg_config
    fi
    PGBIN=$("$PG_CONFIG" --bindir)
    CC_PG_TARGET=$target
    CC_PG_VERSION=$("$PG_CONFIG" --version)
    export PG_CONFIG PGBIN CC_PG_TARGET
    PATH="$PGBIN:${PATH#*:}"
    export PATH
}
