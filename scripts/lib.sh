# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/demo and t/run-suite. Source it:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Everything here runs as root on a stock Debian 12 and is safe to run again:
#   sr_install_deps            apt-get install what is missing (apt-get update once), then
#                              sr_node_deps
#   sr_node_deps               npm ci at the top of the repository (playwright-core, for
#                              t/browser/), unless node_modules is already up to date
#   sr_build                   autoreconf/configure when needed, then make
#   sr_pg_start DIR PORT       a private PostgreSQL cluster in DIR (initdb on first use)
#   sr_pg_stop DIR             stop it (no-op when it is not running)
#   sr_pg_createdb PORT DB     create database DB unless it exists
#   sr_pg_dropdb PORT DB       drop database DB if it exists
#   sr_free_port [EXCLUDE...]  print a free TCP port on 127.0.0.1 (not in EXCLUDE)
#   sr_stub_start NAME PORT DIR  start t/stubs/fake_NAME.py (pidfile and log in DIR)
#   sr_stub_stop NAME DIR      stop the stand-in started by sr_stub_start
#   sr_wait_http URL [SECS]    wait until URL answers at all
#   sr_kill_pidfile FILE [SECS]  TERM the process in FILE, KILL it after SECS
#   sr_log / sr_die            messages on stderr
#   sr_runtime_dir             where the demo keeps what httpd and PostgreSQL read and write
#   sr_unreachable USER PATH   the first directory on the way to PATH that USER cannot search
#   sr_require_reachable USER HINT PATH...  die (saying what is in the way, then HINT) unless
#                              USER can reach every PATH

# The repository root, whichever script sourced us.
SR_ROOT=${SR_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

SR_PACKAGES=(
    apache2 apache2-dev apache2-utils libaprutil1-dbd-pgsql
    postgresql postgresql-client
    autoconf automake libtool pkg-config make gcc
    libcurl4-openssl-dev libjansson-dev libssl-dev
    # the core's unit tests (make check, t/unit/)
    check
    libapache2-mod-perl2 libdbi-perl libdbd-pg-perl libjson-pp-perl libwww-perl
    curl python3 util-linux procps iproute2 ca-certificates
    # t/browser/: a real browser (driven by playwright-core from npm, see
    # sr_node_deps) and a font for readable screenshots
    chromium fonts-dejavu-core
)

sr_log() { printf '%s: %s\n' "${SR_LOG_TAG:-$(basename "$0")}" "$*" >&2; }
sr_die() { sr_log "error: $*"; exit 1; }

sr_require_root() {
    [ "$(id -u)" = 0 ] || sr_die "run me as root (I install packages and start PostgreSQL as user postgres)"
}

# Installs only the packages that are not installed yet, then the npm packages.
sr_install_deps() {
    local missing=() pkg status
    for pkg in "${SR_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
        case $status in
            ii*) ;;
            *) missing+=("$pkg") ;;
        esac
    done
    # Node.js and npm by command, not by package: a Node.js installed some other
    # way (NodeSource's nodejs bundles npm and conflicts with Debian's npm) will do.
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if [ ${#missing[@]} -eq 0 ]; then
        sr_node_deps
        return 0
    fi
    sr_require_root
    sr_log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${SR_APT_UPDATED:-}" ]; then
        apt-get -o DPkg::Lock::Timeout=900 update -q || sr_die "apt-get update failed"
        SR_APT_UPDATED=1
    fi
    apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}" \
        || sr_die "apt-get install failed"
    # Debian's postgresql package creates and starts a cluster of its own on
    # port 5432; we never use it (every script runs a private cluster).
    sr_node_deps
}

# npm ci in the repository (package.json, package-lock.json: playwright-core,
# which drives Debian's chromium; it downloads no browser). Skipped when
# node_modules was installed from the current lock file already.
sr_node_deps() {
    local root=$SR_ROOT stamp=$SR_ROOT/node_modules/.package-lock.json
    [ -f "$root/package.json" ] || return 0
    if [ -f "$stamp" ] && [ -f "$root/node_modules/playwright-core/package.json" ] \
        && [ ! "$root/package-lock.json" -nt "$stamp" ] && [ ! "$root/package.json" -nt "$stamp" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || sr_die "npm is missing (apt-get install npm)"
    sr_log "npm ci (playwright-core, for t/browser/)"
    (cd "$root" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NPM_CONFIG_UPDATE_NOTIFIER=false \
        npm ci --no-audit --no-fund --loglevel=error) || sr_die "npm ci failed in $root"
    [ -f "$root/node_modules/playwright-core/package.json" ] || sr_die "npm ci did not install playwright-core"
}

# Builds .libs/mod_slotrecovery.so in the repository (or in $SR_BUILDDIR).
sr_build() {
    local src=$SR_ROOT build=${SR_BUILDDIR:-$SR_ROOT}
    local jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    if [ ! -x "$src/configure" ] || [ ! -f "$src/Makefile.in" ] \
        || [ "$src/configure.ac" -nt "$src/configure" ] || [ "$src/Makefile.am" -nt "$src/Makefile.in" ]; then
        sr_log "autoreconf -fi"
        (cd "$src" && autoreconf -fi) || sr_die "autoreconf failed"
    fi
    mkdir -p "$build"
    if [ ! -f "$build/Makefile" ] || [ ! -f "$build/config.status" ] || [ "$src/configure" -nt "$build/config.status" ]; then
        sr_log "configure"
        (cd "$build" && "$src/configure" --with-apxs="$(command -v apxs || echo /usr/bin/apxs)") \
            || sr_die "configure failed (see $build/config.log)"
    fi
    sr_log "make"
    make -C "$build" -j"$jobs" || sr_die "make failed"
    [ -f "$build/.libs/mod_slotrecovery.so" ] || sr_die "make did not produce $build/.libs/mod_slotrecovery.so"
}

# The demo's runtime: everything httpd's children (www-data) and PostgreSQL
# (postgres) read or write. Not in the checkout, which may sit where no other
# user can search (root clones into /root, 0700): one directory per checkout,
# /var/lib/mod_slotrecovery/<checkout name>-<hash of its path>, root-owned and
# searchable by every user. SR_RUNTIME_DIR overrides it.
sr_runtime_dir() {
    if [ -n "${SR_RUNTIME_DIR:-}" ]; then
        printf '%s\n' "$SR_RUNTIME_DIR"
        return 0
    fi
    local real name hash
    real=$(cd "$SR_ROOT" && pwd -P)
    name=$(basename "$real" | tr -c 'A-Za-z0-9._\n-' '_')
    hash=$(printf '%s' "$real" | sha256sum | cut -c1-12)
    printf '/var/lib/mod_slotrecovery/%s-%s\n' "$name" "$hash"
}

# sr_unreachable USER PATH: prints the first directory on the way to PATH that
# USER cannot search, or PATH itself when USER cannot read it (search it, for a
# directory); prints nothing when USER can reach it.
sr_unreachable() {
    # shellcheck disable=SC2016 # the script expands its own variables, as $1
    (cd / && runuser -u "$1" -- /bin/bash -c '
        path=${1%/} acc=
        IFS=/ read -r -a parts <<<"${path#/}"
        for c in "${parts[@]}"; do
            [ -n "$c" ] || continue
            acc+=/$c
            [ "$acc" != "$path" ] || break
            [ -x "$acc" ] || { printf "%s\n" "$acc"; exit 0; }
        done
        if [ -d "$path" ]; then
            [ -x "$path" ] || printf "%s\n" "$path"
        elif [ ! -r "$path" ]; then
            printf "%s\n" "$path"
        fi' sr_unreachable "$2")
}

# sr_require_reachable USER HINT PATH...: dies unless USER can reach every
# PATH, naming the directory in the way (with its mode) and then HINT, the fix.
sr_require_reachable() {
    local user=$1 hint=$2 path bad
    shift 2
    for path in "$@"; do
        bad=$(sr_unreachable "$user" "$path")
        [ -n "$bad" ] || continue
        sr_die "user $user cannot reach $path: $bad ($(stat -c '%A %U:%G' "$bad" 2>/dev/null || echo '?')) is not \
$([ "$bad" = "$path" ] && [ ! -d "$path" ] && echo readable || echo searchable) by $user. $hint"
    done
}

# The newest PostgreSQL server installed (/usr/lib/postgresql/<version>/bin).
sr_pg_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        sr_die "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)"
    fi
    printf '%s\n' "$dir"
}

sr_pg_is_running() {
    local dir=$1 bin
    bin=$(sr_pg_bindir)
    [ -f "$dir/data/postmaster.pid" ] || return 1
    (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" status) >/dev/null 2>&1
}

# sr_pg_start DIR PORT: a cluster in DIR/data, its unix socket in DIR, its log in
# DIR/postgres.log, TCP on 127.0.0.1:PORT only, trust authentication, user postgres.
sr_pg_start() {
    local dir=$1 port=$2 bin
    bin=$(sr_pg_bindir)
    id postgres >/dev/null 2>&1 || sr_die "user postgres does not exist (apt-get install postgresql)"
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 0700 "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
        sr_require_reachable postgres "Keep the cluster where every directory on the way is searchable by others \
(scripts/demo keeps it in its runtime directory, t/run-suite under \$TMPDIR)." "$dir"
        sr_die "user postgres cannot write $dir"
    fi
    if [ ! -s "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir/data"
        (cd / && runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C) \
            >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; sr_die "initdb failed"; }
    fi
    if sr_pg_is_running "$dir"; then
        sr_pg_stop "$dir"
    fi
    touch "$dir/postgres.log"
    chown postgres:postgres "$dir/postgres.log"
    if ! (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-k $dir -p $port -c listen_addresses=127.0.0.1" start) >/dev/null; then
        tail -n 30 "$dir/postgres.log" >&2 || true
        sr_die "PostgreSQL did not start on 127.0.0.1:$port"
    fi
}

sr_pg_stop() {
    local dir=$1 bin
    bin=$(sr_pg_bindir)
    [ -d "$dir/data" ] || return 0
    if sr_pg_is_running "$dir"; then
        (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop) >/dev/null 2>&1 \
            || sr_log "warning: pg_ctl stop failed for $dir"
    fi
}

sr_psql() {
    local port=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" "$(sr_pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

sr_pg_createdb() {
    local port=$1 db=$2
    if [ "$(sr_psql "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
        sr_psql "$port" -d postgres -c "CREATE DATABASE \"$db\"" || sr_die "cannot create database $db"
    fi
}

sr_pg_dropdb() {
    local port=$1 db=$2
    sr_psql "$port" -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || sr_die "cannot drop database $db"
}

# Prints a TCP port free on 127.0.0.1 and 0.0.0.0, below the ephemeral range,
# and not among the arguments.
sr_free_port() {
    python3 - "$@" <<'PY'
import random, socket, sys
exclude = {int(a) for a in sys.argv[1:] if a.isdigit()}
for _ in range(500):
    port = random.randint(20000, 32000)
    if port in exclude:
        continue
    try:
        for addr in ("127.0.0.1", "0.0.0.0"):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind((addr, port))
            finally:
                s.close()
    except OSError:
        continue
    print(port)
    sys.exit(0)
sys.exit("no free port found")
PY
}

# Is something listening on 127.0.0.1:PORT?
sr_port_in_use() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

# sr_wait_http URL [SECONDS]: until URL answers with any HTTP status.
sr_wait_http() {
    local url=$1 secs=${2:-30} i
    for ((i = 0; i < secs * 10; i++)); do
        if curl -s -o /dev/null --max-time 2 "$url"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# sr_kill_pidfile FILE [SECONDS]: stops the process whose pid FILE holds.
sr_kill_pidfile() {
    local file=$1 secs=${2:-10} pid i
    [ -f "$file" ] || return 0
    pid=$(cat "$file" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < secs * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            sr_log "warning: pid $pid ($file) ignored TERM, sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$file"
}

# sr_stub_start NAME PORT DIR [SCRIPT [ARG...]]: starts t/stubs/fake_NAME.py
# (or SCRIPT ARG..., which takes PORT --pidfile FILE after them) on
# 127.0.0.1:PORT, pidfile DIR/fake_NAME.pid, log DIR/fake_NAME.log; waits
# until it answers.
sr_stub_start() {
    local name=$1 port=$2 dir=$3
    shift 3
    local cmd=("$@")
    [ ${#cmd[@]} -gt 0 ] || cmd=("$SR_ROOT/t/stubs/fake_$name.py")
    [ -f "${cmd[0]}" ] || sr_die "missing ${cmd[0]}"
    mkdir -p "$dir"
    sr_kill_pidfile "$dir/fake_$name.pid"
    python3 -B "${cmd[@]}" "$port" --pidfile "$dir/fake_$name.pid" >>"$dir/fake_$name.log" 2>&1 </dev/null &
    local i
    for ((i = 0; i < 100; i++)); do
        if [ -s "$dir/fake_$name.pid" ] && curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/_control/health"; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/fake_$name.log" >&2 || true
    sr_die "fake_$name did not start on 127.0.0.1:$port"
}

sr_stub_stop() {
    local name=$1 dir=$2
    sr_kill_pidfile "$dir/fake_$name.pid" 5
}

# The fuzz targets of bench/fuzz/ (and t/fuzz/10_fuzz_smoke.t) are built with
# clang -fsanitize=fuzzer,address; libclang-rt-14-dev holds the libFuzzer runtime.
SR_PACKAGES+=(clang libclang-rt-14-dev)
