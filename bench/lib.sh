# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers shared by bench/run, bench/faults/* and bench/valgrind. Source it:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"        (from bench/)
#
# Everything lives under bench/var/ (git-ignored); ports are fixed so that the
# benchmark never collides with the test suite (which picks free ports in
# 20000-32000) or the demo (8080 / 55432):
#
#   bench/run              PostgreSQL 15432, httpd 18080, stand-ins 18090/18091
#   bench/faults/*         PostgreSQL 15433, httpd 18081 (+18082), stand-ins 18092/18093
#   bench/valgrind         uses t/run-suite (free ports)
#
#   bench_install_deps          scripts/lib.sh's packages plus wrk, valgrind, clang
#   bench_build_module OUT      a private build of the module: OUT/mod_slotrecovery.so
#   bench_pg_up DIR PORT        private cluster (sr_pg_start) with the benchmark settings
#   bench_db_fresh PORT DB      drop, create, migrate
#   bench_psql PORT DB ...      psql as postgres (ON_ERROR_STOP)
#   bench_stubs_up DIR TW ST    the Twilio and Stripe stand-ins (bench/tools/stub.py) on TW and ST
#   bench_httpd_conf DIR PORT PG_PORT DB TW ST [EXTRA]  write DIR/httpd.conf
#   bench_httpd_start DIR / bench_httpd_stop DIR / bench_httpd_children DIR
#   bench_rss_kib PID           VmRSS of a process (kB) from /proc

BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SR_ROOT=${SR_ROOT:-$(cd "$BENCH_DIR/.." && pwd)}
export SR_ROOT
# shellcheck source=../scripts/lib.sh
. "$SR_ROOT/scripts/lib.sh"

# httpd's children (www-data) and PostgreSQL must reach it: for a checkout they
# cannot search (a clone in /root), BENCH_VAR=/var/lib/mod_slotrecovery/bench.
BENCH_VAR=${BENCH_VAR:-$BENCH_DIR/var}
BENCH_HTTPD_BIN=/usr/sbin/apache2

# Fixed, obviously fake credentials: the API bases point at the local stand-ins.
BENCH_SECRET=bench-internal-secret-0123456789abcdef
BENCH_TWILIO_SID=AC00000000000000000000000000000000
BENCH_TWILIO_TOKEN=bench-twilio-auth-token
BENCH_STRIPE_KEY=sk_test_bench
BENCH_STRIPE_WHSEC=whsec_bench_webhook_secret
BENCH_USER=bench
BENCH_PASSWORD=bench-password

bench_log() { printf '%s: %s\n' "${SR_LOG_TAG:-bench}" "$*" >&2; }

bench_install_deps() {
    sr_install_deps
    local missing=() pkg
    for pkg in wrk valgrind clang apache2-utils rsync; do
        case $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true) in
            ii*) ;;
            *) missing+=("$pkg") ;;
        esac
    done
    if [ ${#missing[@]} -gt 0 ]; then
        bench_log "installing: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends \
            "${missing[@]}" >/dev/null || sr_die "apt-get install ${missing[*]} failed"
    fi
}

# bench_build_module OUT: compiles mod_slotrecovery/{core,httpd}/*.c with the flags of
# Makefile.am (and configure's default -g -O2) into OUT/mod_slotrecovery.so,
# without touching the tree's own build (other people may be running make).
# Rebuilds only when a source is newer than the .so.
bench_build_module() {
    local out=$1 so=$1/mod_slotrecovery.so core=$SR_ROOT/mod_slotrecovery/core glue=$SR_ROOT/mod_slotrecovery/httpd f need=0
    mkdir -p "$out/obj"
    if [ -f "$so" ]; then
        for f in "$core"/*.[ch] "$glue"/*.[ch] "$SR_ROOT"/htdocs/* "$SR_ROOT/scripts/embed-assets"; do
            if [ "$f" -nt "$so" ]; then need=1; break; fi
        done
    else
        need=1
    fi
    [ "$need" = 1 ] || return 0
    bench_log "building the module into $so"
    local cflags
    cflags="-g -O2 -fPIC -DPIC -Wall -Wextra -Wno-unused-parameter -fvisibility=hidden"
    cflags+=" -I$core -I$glue $(apxs -q EXTRA_CPPFLAGS) -I$(apxs -q INCLUDEDIR)"
    cflags+=" $(pkg-config --cflags apr-1 apr-util-1 libcurl jansson libcrypto)"
    export BENCH_CFLAGS=$cflags BENCH_OBJ=$out/obj
    # The dashboard's stylesheet and icon, built in as Makefile.am does.
    sh "$SR_ROOT/scripts/embed-assets" "$SR_ROOT/htdocs/slotrecovery.css" "$SR_ROOT/htdocs/favicon.svg" \
        >"$out/sr_assets_data.c" || sr_die "scripts/embed-assets failed"
    # shellcheck disable=SC2016
    printf '%s\0' "$core"/*.c "$glue"/*.c "$out/sr_assets_data.c" | xargs -0 -P "$(nproc)" -n 1 sh -c \
        'gcc $BENCH_CFLAGS -c "$0" -o "$BENCH_OBJ/$(basename "$0" .c).o"' \
        || sr_die "compiling the module failed"
    # shellcheck disable=SC2046
    gcc -shared -o "$so.tmp" "$out"/obj/*.o $(pkg-config --libs libcurl jansson libcrypto) \
        || sr_die "linking the module failed"
    mv "$so.tmp" "$so"
    chmod 0755 "$out" "$out/obj"
    chmod 0644 "$so"
}

# The benchmark's PostgreSQL settings (the same for the module and pgbench).
BENCH_PG_SETTINGS=(
    "shared_buffers=1GB" "effective_cache_size=4GB" "work_mem=16MB" "maintenance_work_mem=512MB"
    "max_wal_size=8GB" "checkpoint_timeout=30min" "max_connections=300" "wal_buffers=16MB"
    # Where PostgreSQL's time goes, per statement: planning and execution (issue 13).
    "shared_preload_libraries=pg_stat_statements" "pg_stat_statements.track_planning=on"
)

bench_pg_up() {
    local dir port=$2 bin conf want
    dir=$(realpath -m "$1")
    sr_pg_start "$dir" "$port"
    bin=$(sr_pg_bindir)
    want=$(printf '%s\n' "${BENCH_PG_SETTINGS[@]}" | sed -E "s/^([^=]+)=(.*)$/\1 = '\2'/")
    conf=$dir/data/bench.conf
    if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
        printf '%s\n' "$want" >"$conf"
        chown postgres:postgres "$conf"
        grep -q "^include_if_exists = 'bench.conf'" "$dir/data/postgresql.conf" \
            || echo "include_if_exists = 'bench.conf'" >>"$dir/data/postgresql.conf"
        sr_pg_stop "$dir"
        sr_pg_start "$dir" "$port"
    fi
    : "$bin"
}

bench_psql() {
    local port=$1 db=$2
    shift 2
    sr_psql "$port" -d "$db" "$@"
}

bench_db_fresh() {
    local port=$1 db=$2
    sr_pg_dropdb "$port" "$db"
    sr_pg_createdb "$port" "$db"
    "$SR_ROOT/scripts/migrate" "host=127.0.0.1 port=$port dbname=$db user=postgres" >/dev/null \
        || sr_die "scripts/migrate failed"
    bench_psql "$port" "$db" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null \
        || sr_die "CREATE EXTENSION pg_stat_statements failed"
}

# bench_stub_start NAME PORT DIR: bench/tools/stub.py (the t/stubs stand-in
# with TCP_NODELAY), pidfile DIR/fake_NAME.pid, log DIR/fake_NAME.log. The
# Twilio stand-in knows the bench's account and auth token (as t/run-suite
# passes the suite's): it refuses any other with 401 / 20003, as Twilio does.
bench_stub_start() {
    if [ "$1" = twilio ]; then
        SR_FAKE_TWILIO_AUTH_TOKEN=$BENCH_TWILIO_TOKEN SR_FAKE_TWILIO_ACCOUNT_SID=$BENCH_TWILIO_SID \
            sr_stub_start "$1" "$2" "$3" "$BENCH_DIR/tools/stub.py" "$1"
    else
        sr_stub_start "$1" "$2" "$3" "$BENCH_DIR/tools/stub.py" "$1"
    fi
}

bench_stubs_up() {
    local dir=$1 tw=$2 st=$3 port
    mkdir -p "$dir"
    sr_stub_stop twilio "$dir"
    sr_stub_stop stripe "$dir"
    for port in "$tw" "$st"; do
        sr_port_in_use "$port" && sr_die "127.0.0.1:$port is in use by something else"
    done
    : >"$dir/fake_twilio.log"
    : >"$dir/fake_stripe.log"
    bench_stub_start twilio "$tw" "$dir"
    bench_stub_start stripe "$st" "$dir"
}

bench_load_modules() {
    local libexec builtin name
    libexec=$(apxs -q LIBEXECDIR)
    builtin=$("$BENCH_HTTPD_BIN" -l 2>/dev/null || true)
    for name in "$@"; do
        if grep -qx "  mod_$name.c" <<<"$builtin"; then
            echo "# mod_$name is compiled in"
        else
            echo "LoadModule ${name}_module $libexec/mod_$name.so"
        fi
    done
}

# bench_httpd_conf DIR PORT PG_PORT DB TWILIO_PORT STRIPE_PORT [EXTRA_DIRECTIVES]
# Two event-MPM processes that live for the whole run (no spare-thread
# reaping, no MaxConnectionsPerChild), unlimited keep-alive requests, no
# access log, LogLevel warn; the watchdog sweep every hour unless EXTRA says
# otherwise (the benchmark times POST /api/jobs/sweep itself).
bench_httpd_conf() {
    local dir=$1 port=$2 pg_port=$3 db=$4 tw=$5 st=$6 extra=${7:-}
    local so=${BENCH_MODULE_SO:-$BENCH_VAR/build/mod_slotrecovery.so}
    mkdir -p "$dir/logs" "$dir/run" "$dir/htdocs"
    dir=$(cd "$dir" && pwd)
    : >"$dir/logs/error_log"
    chmod 0755 "$dir" "$dir/logs" "$dir/htdocs"
    chown www-data:www-data "$dir/run"
    chmod 0755 "$dir/run"
    htpasswd -bcs "$dir/htpasswd" "$BENCH_USER" "$BENCH_PASSWORD" >/dev/null 2>&1 \
        || sr_die "htpasswd failed (apt-get install apache2-utils)"
    chmod 0644 "$dir/htpasswd"
    sr_require_reachable www-data "bench/ keeps its servers under BENCH_VAR ($BENCH_VAR): set it to a directory \
every user can search, e.g. BENCH_VAR=/var/lib/mod_slotrecovery/bench." \
        "$dir/htdocs" "$dir/htpasswd"
    cat >"$dir/httpd.conf" <<EOF
# Generated by bench/lib.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ).
ServerRoot "$dir"
Listen 127.0.0.1:$port
ServerName 127.0.0.1:$port
User www-data
Group www-data

$(bench_load_modules mpm_event authz_core authn_core authn_file auth_basic authz_user mime log_config dbd)
LoadModule slotrecovery_module $so

PidFile $dir/run/httpd.pid
DefaultRuntimeDir $dir/run
Mutex file:$dir/run default
ErrorLog $dir/logs/error_log
LogLevel warn
TypesConfig /etc/mime.types
DocumentRoot $dir/htdocs
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory $dir/htdocs>
    Require all granted
</Directory>

StartServers 2
ServerLimit 2
ThreadsPerChild 32
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
Timeout 300

DBDriver pgsql
DBDParams "host=127.0.0.1 port=$pg_port dbname=$db user=postgres"
DBDPersist On
DBDMin 2
DBDKeep 16
DBDMax 32
DBDExptime 300

SlotRecoveryInternalSecret $BENCH_SECRET
SlotRecoveryPublicBaseUrl http://127.0.0.1:$port
SlotRecoveryTwilioAccountSid $BENCH_TWILIO_SID
SlotRecoveryTwilioAuthToken $BENCH_TWILIO_TOKEN
SlotRecoveryTwilioApiBase http://127.0.0.1:$tw
SlotRecoveryStripeSecretKey $BENCH_STRIPE_KEY
SlotRecoveryStripeWebhookSecret $BENCH_STRIPE_WHSEC
SlotRecoveryStripeApiBase http://127.0.0.1:$st
$(grep -q SlotRecoverySweepInterval <<<"$extra" || echo "SlotRecoverySweepInterval 3600")
$extra

<Location /api>
    SetHandler slotrecovery
</Location>
<Location /app>
    SetHandler slotrecovery
    AuthType Basic
    AuthName "Slot recovery bench"
    AuthBasicProvider file
    AuthUserFile $dir/htpasswd
    Require valid-user
</Location>
EOF
    chmod 0644 "$dir/httpd.conf"
}

bench_httpd_start() {
    local dir port
    dir=$(cd "$1" && pwd)
    port=$(sed -nE 's/^Listen 127\.0\.0\.1:([0-9]+)$/\1/p' "$dir/httpd.conf")
    bench_httpd_stop "$dir"
    if sr_port_in_use "$port"; then
        sr_die "127.0.0.1:$port is in use by something else"
    fi
    "$BENCH_HTTPD_BIN" -t -f "$dir/httpd.conf" -d "$dir" >/dev/null 2>"$dir/configtest.log" \
        || { cat "$dir/configtest.log" >&2; sr_die "httpd configuration test failed ($dir/httpd.conf)"; }
    "$BENCH_HTTPD_BIN" -f "$dir/httpd.conf" -d "$dir" -k start \
        || sr_die "httpd did not start (see $dir/logs/error_log)"
    sr_wait_http "http://127.0.0.1:$port/" 30 || sr_die "httpd does not answer on 127.0.0.1:$port"
}

bench_httpd_stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    [ -f "$dir/run/httpd.pid" ] && sr_kill_pidfile "$dir/run/httpd.pid" 20
    return 0
}

# The pids of the children of the httpd whose pidfile is in DIR/run.
bench_httpd_children() {
    local dir=$1 parent
    parent=$(cat "$dir/run/httpd.pid" 2>/dev/null) || return 0
    pgrep -P "$parent" | sort -n
}

bench_rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# bench_api BASE METHOD PATH [JSON]: the JSON API with the internal secret; prints the body, dies unless 2xx.
bench_api() {
    local base=$1 method=$2 path=$3 data=${4:-} out code
    out=$(mktemp)
    local args=(-sS -o "$out" -X "$method" -H "x-internal-secret: $BENCH_SECRET" --max-time 600)
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    code=$(curl "${args[@]}" -w '%{http_code}' "$base$path") || { rm -f "$out"; sr_die "$method $path: curl failed"; }
    if [ "${code:0:1}" != 2 ]; then
        bench_log "$method $path -> $code: $(cat "$out")"
        rm -f "$out"
        return 1
    fi
    cat "$out"
    rm -f "$out"
}
