# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the fault drills (bench/faults/pg-restart, twilio-down, two-httpd):
#
#   drill_main NAME NSERVERS "EXTRA httpd DIRECTIVES" [drill.py JSON additions]
#
# A private PostgreSQL on 127.0.0.1:15433 (bench/var/faults/pg) with a fresh
# database seeded at scale 0.02 (2 shops: 2,000 customers, 20,000
# appointments, 2,000 slot openings), the Twilio and Stripe stand-ins on
# 18092/18093, NSERVERS httpd on 18081 (and 18082) with the module built by
# bench/lib.sh; then bench/faults/drill.py NAME, its summary copied into the
# bench:drill-NAME block of bench/README.md. Everything is stopped afterwards
# (--keep leaves it running). Exit status: the drill's.
FAULTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
. "$FAULTS_DIR/../lib.sh"

DRILL_PG_PORT=15433
DRILL_TW_PORT=18092
DRILL_ST_PORT=18093
DRILL_DB=slotrecovery_drill
DRILL_VAR=$BENCH_VAR/faults
DRILL_KEEP=0

drill_cleanup() {
    local rc=$? i
    set +e
    if [ "$DRILL_KEEP" = 0 ]; then
        for i in a b; do bench_httpd_stop "$DRILL_VAR/httpd-$i"; done
        sr_stub_stop twilio "$DRILL_VAR/stubs"
        sr_stub_stop stripe "$DRILL_VAR/stubs"
        sr_pg_stop "$DRILL_VAR/pg"
    fi
    exit "$rc"
}

drill_main() {
    local name=$1 nservers=$2 extra=$3 more=${4:-}
    shift 4 || true
    for arg in "$@"; do
        case $arg in --keep) DRILL_KEEP=1 ;; esac
    done
    export SR_LOG_TAG=$name
    sr_require_root
    bench_install_deps
    trap drill_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$DRILL_VAR"
    chmod 0755 "$BENCH_VAR" "$DRILL_VAR"
    bench_build_module "$BENCH_VAR/build"
    bench_log "PostgreSQL on 127.0.0.1:$DRILL_PG_PORT, database $DRILL_DB (seed scale 0.02)"
    bench_pg_up "$DRILL_VAR/pg" "$DRILL_PG_PORT"
    bench_db_fresh "$DRILL_PG_PORT" "$DRILL_DB"
    bench_psql "$DRILL_PG_PORT" "$DRILL_DB" -v scale=0.02 -o /dev/null -f "$BENCH_DIR/sql/seed.sql"
    bench_psql "$DRILL_PG_PORT" "$DRILL_DB" -o /dev/null -f "$BENCH_DIR/sql/targets.sql"
    bench_stubs_up "$DRILL_VAR/stubs" "$DRILL_TW_PORT" "$DRILL_ST_PORT"
    local i port bases=() letters=(a b)
    for ((i = 0; i < nservers; i++)); do
        port=$((18081 + i))
        bench_httpd_conf "$DRILL_VAR/httpd-${letters[$i]}" "$port" "$DRILL_PG_PORT" "$DRILL_DB" \
            "$DRILL_TW_PORT" "$DRILL_ST_PORT" "LogLevel warn slotrecovery:info
$extra"
        bench_httpd_start "$DRILL_VAR/httpd-${letters[$i]}"
        bases+=("\"http://127.0.0.1:$port\"")
    done
    bench_log "httpd on ${bases[*]}; stand-ins on $DRILL_TW_PORT/$DRILL_ST_PORT"
    local conf=$DRILL_VAR/$name.conf.json
    local IFS=,
    cat >"$conf" <<JSON
{"db": "$DRILL_DB", "pg_port": $DRILL_PG_PORT, "bases": [${bases[*]}],
 "twilio_port": $DRILL_TW_PORT, "stripe_port": $DRILL_ST_PORT, "result_dir": "$DRILL_VAR",
 "pg_stop": ". '$BENCH_DIR/lib.sh' && sr_pg_stop '$DRILL_VAR/pg'",
 "pg_start": ". '$BENCH_DIR/lib.sh' && sr_pg_start '$DRILL_VAR/pg' $DRILL_PG_PORT"${more:+, $more}}
JSON
    unset IFS
    local rc=0
    python3 "$FAULTS_DIR/drill.py" "$name" --conf "$conf" || rc=$?
    if [ -f "$DRILL_VAR/$name.md" ]; then
        python3 "$BENCH_DIR/tools/report.py" block "$BENCH_DIR/README.md" "drill-$name" "$DRILL_VAR/$name.md"
        bench_log "summary in bench/README.md (block drill-$name), details in $DRILL_VAR/$name.json"
    fi
    for ((i = 0; i < nservers; i++)); do
        cp "$DRILL_VAR/httpd-${letters[$i]}/logs/error_log" "$DRILL_VAR/$name.error_log.${letters[$i]}" 2>/dev/null || true
    done
    return "$rc"
}
