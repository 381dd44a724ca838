/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two named singleton watchdogs, each a thread of its own in one child of
 * this httpd, with a database connection opened and closed around each run
 * (as mod_proxy_hcheck and mod_md do): the worker (sr_worker: the outbox's
 * SMS, deposits, refunds and texts, every SlotRecoveryWorkerInterval) and the
 * sweep (sr_offer_loop_sweep: expiries and slots left without an offer, in
 * the database only, every SlotRecoverySweepInterval). Separate threads, so a
 * slow provider holding the worker never delays expiries. After a graceful
 * restart a child of the new generation takes over. Several httpd on one
 * database each run both; claims with SKIP LOCKED and leases make that safe.
 *
 * Each server (the main one, then every <VirtualHost>) is run with its own
 * merged settings and its own mod_dbd connection, at its own interval. A
 * server that cannot send SMS is skipped, and so is one whose database (its
 * installation id) and settings are those of a server already run this time.
 */
#include <apr_hash.h>
#include <apr_optional.h>
#include <mod_watchdog.h>

#include "sr_config.h"
#include "sr_db.h"
#include "sr_offer_loop.h"
#include "sr_twilio.h"
#include "sr_watchdog.h"
#include "sr_worker.h"

#define SR_WATCHDOG_NAME "_slotrecovery_"
#define SR_WORKER_WATCHDOG_NAME "_slotrecovery_worker_"

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * wd_register_callback;

/* What a watchdog runs for one server, on a context with its own pool and connection. */
typedef void server_job_fn(sr_ctx_t *ctx, const char *label);

typedef struct {
    server_rec *main_server;      /* the virtual hosts follow in ->next */
    int nservers;                 /* servers in that list */
    apr_time_t *last;             /* when each server (by position) was last run, or found a duplicate */
    apr_interval_time_t interval; /* the watchdog's: the shortest interval of the servers that run */
    int worker;                   /* the worker's watchdog (its interval), else the sweep's */
    server_job_fn *job;
} sweep_ctx_t;

static apr_interval_time_t job_interval(const sweep_ctx_t *ctx, const sr_server_conf_t *conf)
{
    return ctx->worker ? conf->worker_interval : conf->sweep_interval;
}

/* How a server is named in the log: the main server, or a virtual host and where it is defined. */
static const char *server_label(apr_pool_t *p, const server_rec *s)
{
    if (!s->is_virtual) {
        return "main server";
    }
    return apr_psprintf(p, "virtual host %s:%u (%s:%u)", s->server_hostname ? s->server_hostname : "(no name)",
                        (unsigned)(s->addrs ? s->addrs->host_port : s->port), s->defn_name ? s->defn_name : "?",
                        s->defn_line_number);
}

typedef struct {
    const char *id;
} installation_work_t;

/* Made once by migration 005; never changes. */
static const sr_statement_t stmt_installation_get = {
    "sr_installation_get", "SELECT id AS id, csrf_key AS csrf_key FROM installation WHERE singleton", "id,csrf_key"};
static sr_result_t *q_installation_get(sr_db_t *db)
{
    return sr_db_select(db, &stmt_installation_get, SR_NO_ARGS);
}

static sr_status_t installation_work(sr_db_t *db, void *baton)
{
    installation_work_t *w = baton;
    sr_result_t *res = q_installation_get(db);

    if (!res) {
        return SR_UNAVAILABLE;
    }
    w->id = sr_result_get(res, 0, "id");
    return w->id ? SR_OK : SR_NOT_FOUND;
}

/*
 * What makes two sweeps the same: the database (its installation id, made
 * once by migration 005) and every setting the sweep acts on. Kept in memory
 * for this run only, never logged.
 */
static const char *sweep_key(apr_pool_t *p, const char *installation, const sr_server_conf_t *c)
{
    return apr_psprintf(p, "%s\n%s\n%s\n%s\n%s\n%s\n%d\n%" APR_TIME_T_FMT "\n%" APR_TIME_T_FMT "\n%" APR_TIME_T_FMT,
                        installation, c->twilio_account_sid, c->twilio_auth_token, c->twilio_api_base,
                        c->stripe_secret_key ? c->stripe_secret_key : "", c->stripe_api_base, c->offer_max_attempts,
                        c->offer_cutoff, c->offer_retry_delay, c->http_timeout);
}

/* The sweep, in the database only. */
static void sweep_job(sr_ctx_t *ctx, const char *label)
{
    apr_time_t started = apr_time_now();
    sr_sweep_report_t report;

    if (sr_offer_loop_sweep(ctx, &report) == SR_OK) {
        int level = report.offers_expired || report.slots_advanced || report.slots_expired ? APLOG_INFO : APLOG_DEBUG;

        ap_log_error(APLOG_MARK, level, 0, ctx->s,
                     SR_LOG_PREFIX "sweep: %d offers expired; %d slots advanced, %d expired (%" APR_TIME_T_FMT
                                   " ms, %s)",
                     report.offers_expired, report.slots_advanced, report.slots_expired,
                     apr_time_as_msec(apr_time_now() - started), label);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s,
                     SR_LOG_PREFIX "sweep of the %s stopped: database unavailable", label);
    }
}

/* The worker: silent when there was nothing to do (it looks every second). */
static void worker_job(sr_ctx_t *ctx, const char *label)
{
    apr_time_t started = apr_time_now();
    sr_worker_report_t report;

    if (sr_worker_run(ctx, SR_WORKER_BUDGET, &report) != SR_OK) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s,
                     SR_LOG_PREFIX "worker run of the %s stopped: database unavailable", label);
    }
    else if (sr_worker_report_any(&report)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s,
                     SR_LOG_PREFIX "worker: %d offers sent, %d failed; %d deposits, %d refunds, %d customer texts; "
                                   "%d slots advanced, %d expired (%" APR_TIME_T_FMT " ms, %s)",
                     report.offers.offers_sent, report.offers.offers_failed, report.payments, report.refunds,
                     report.notifications, report.offers.slots_advanced, report.offers.slots_expired,
                     apr_time_as_msec(apr_time_now() - started), label);
    }
}

/* Runs a job for one server with its own settings, unless `swept` says this run did the same already. */
static void run_server(server_rec *s, apr_pool_t *p, apr_hash_t *swept, server_job_fn *job)
{
    const sr_server_conf_t *conf = sr_config_get(s);
    const char *label = server_label(p, s);
    installation_work_t inst = {NULL};
    const char *key, *same;
    sr_ctx_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.s = s;
    ctx.conf = conf;
    ctx.pool = p;
    ctx.db = sr_db_open(p, s);
    if (!ctx.db) {
        /* Logged by sr_db_open; the next run tries again. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, SR_LOG_PREFIX "%s of the %s skipped: no database connection",
                     job == sweep_job ? "sweep" : "worker run", label);
        return;
    }
    switch (sr_db_read(ctx.db, installation_work, &inst)) {
    case SR_OK:
        break;
    case SR_NOT_FOUND:
        /* A second sweep of one database is only redundant (claims and row locks keep it right). */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SR_LOG_PREFIX "the %s's database has no installation row (migration 005): swept without "
                                   "checking whether another server sweeps it too",
                     label);
        break;
    default:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SR_LOG_PREFIX "%s of the %s skipped: cannot read the installation id (are the migrations "
                                   "applied?)",
                     job == sweep_job ? "sweep" : "worker run", label);
        sr_db_close(ctx.db);
        return;
    }
    key = inst.id ? sweep_key(p, inst.id, conf) : NULL;
    if (key && (same = apr_hash_get(swept, key, APR_HASH_KEY_STRING))) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                     SR_LOG_PREFIX "%s of the %s skipped: same database and %s settings as the %s",
                     job == sweep_job ? "sweep" : "worker run", label, job == sweep_job ? "sweep" : "worker", same);
        sr_db_close(ctx.db);
        return;
    }
    if (key) {
        apr_hash_set(swept, apr_pstrdup(apr_hash_pool_get(swept), key), APR_HASH_KEY_STRING,
                     apr_pstrdup(apr_hash_pool_get(swept), label));
    }
    job(&ctx, label);
    sr_db_close(ctx.db);
}

static apr_status_t sweep_callback(int state, void *data, apr_pool_t *ptemp)
{
    sweep_ctx_t *ctx = data;
    apr_hash_t *swept;
    server_rec *s;
    apr_time_t now = apr_time_now();
    int i;

    if (state != AP_WATCHDOG_STATE_RUNNING) {
        return APR_SUCCESS;
    }
    swept = apr_hash_make(ptemp);
    for (s = ctx->main_server, i = 0; s && i < ctx->nservers; s = s->next, i++) {
        const sr_server_conf_t *conf = sr_config_get(s);
        apr_pool_t *p;

        /* Half the watchdog's interval of slack: its runs come a little late or early. */
        if (!sr_twilio_configured(conf) ||
            (ctx->last[i] && now - ctx->last[i] + ctx->interval / 2 < job_interval(ctx, conf))) {
            continue;
        }
        ctx->last[i] = now;
        apr_pool_create(&p, ptemp);
        run_server(s, p, swept, ctx->job);
        apr_pool_destroy(p);
    }
    return APR_SUCCESS;
}

void sr_watchdog_check_config(server_rec *s)
{
    server_rec *sp;

    for (sp = s; sp; sp = sp->next) {
        if (sr_twilio_configured(sr_config_get(sp))) {
            return;
        }
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 SR_LOG_PREFIX "no server (main or <VirtualHost>) has both SlotRecoveryTwilioAccountSid and "
                               "SlotRecoveryTwilioAuthToken: the sweep will not run, and offers wait as pending "
                               "until a server that has them sweeps");
}

/* Registers one of the two watchdogs: the worker's, or the sweep's. */
static int register_one(apr_pool_t *pconf, server_rec *s, int worker)
{
    ap_watchdog_t *watchdog;
    sweep_ctx_t *ctx = apr_pcalloc(pconf, sizeof(*ctx));
    server_rec *sp;
    apr_status_t rv;

    ctx->main_server = s;
    ctx->worker = worker;
    ctx->job = worker ? worker_job : sweep_job;
    for (sp = s; sp; sp = sp->next) {
        const sr_server_conf_t *conf = sr_config_get(sp);

        ctx->nservers++;
        if (sr_twilio_configured(conf) && (!ctx->interval || job_interval(ctx, conf) < ctx->interval)) {
            ctx->interval = job_interval(ctx, conf);
        }
    }
    if (!ctx->interval) {
        ctx->interval = job_interval(ctx, sr_config_get(s)); /* nothing to run: the callback finds that out */
    }
    ctx->last = apr_pcalloc(pconf, (apr_size_t)ctx->nservers * sizeof(*ctx->last));
    /* 0: runs in a child, not the parent; 1: one child of the server runs it. */
    rv = wd_get_instance(&watchdog, worker ? SR_WORKER_WATCHDOG_NAME : SR_WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register_callback(watchdog, ctx->interval, ctx, sweep_callback);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SR_LOG_PREFIX "cannot register the %s with mod_watchdog",
                     worker ? "worker" : "sweep");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

int sr_watchdog_register(apr_pool_t *pconf, server_rec *s)
{
    int rc;

    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register_callback) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SR_LOG_PREFIX "mod_watchdog is not available: the worker and the sweep need it");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = register_one(pconf, s, 1);
    return rc == OK ? register_one(pconf, s, 0) : rc;
}

const sr_statement_t *const sr_watchdog_statements[] = {&stmt_installation_get, NULL};
