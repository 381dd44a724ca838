/* SPDX-License-Identifier: Apache-2.0 */
/* The worker: the outbox's rows performed after their commit. */
#include "sr_notify.h"
#include "sr_payments.h"
#include "sr_twilio.h"
#include "sr_worker.h"

/* Rounds of one run: a round's released slots make offers the next round sends. */
#define SR_WORKER_ROUNDS 10

typedef struct {
    int offers, payments, refunds, notifications;
} outbox_due_t;

/*
 * The worker's poll, every SlotRecoveryWorkerInterval: which kinds of
 * side effect have a row due, each an index probe on its partial
 * next_attempt_at index (migrations 001, 003, 006), so an idle poll reads
 * a few index pages and nothing else.
 */
static const sr_statement_t stmt_outbox_due = {
    "sr_outbox_due",
    "SELECT EXISTS (SELECT 1 FROM slot_offers WHERE status = 'pending' "
    "AND next_attempt_at <= now()) AS offers, "
    "EXISTS (SELECT 1 FROM payments WHERE status = 'pending' "
    "AND stripe_payment_intent_id IS NULL AND next_attempt_at <= now()) AS payments, "
    "EXISTS (SELECT 1 FROM refunds WHERE status IN ('due', 'pending', 'requires_action') "
    "AND next_attempt_at <= now()) AS refunds, "
    "EXISTS (SELECT 1 FROM customer_notifications WHERE status = 'pending' "
    "AND next_attempt_at <= now()) AS notifications",
    "offers,payments,refunds,notifications"};
static sr_result_t *q_outbox_due(sr_db_t *db)
{
    return sr_db_select(db, &stmt_outbox_due, SR_NO_ARGS);
}

static sr_status_t outbox_due_work(sr_db_t *db, void *baton)
{
    outbox_due_t *due = baton;
    sr_result_t *res = q_outbox_due(db);

    if (!res || res->nrows != 1) {
        return SR_UNAVAILABLE;
    }
    due->offers = sr_result_bool(res, 0, "offers");
    due->payments = sr_result_bool(res, 0, "payments");
    due->refunds = sr_result_bool(res, 0, "refunds");
    due->notifications = sr_result_bool(res, 0, "notifications");
    return SR_OK;
}

int sr_worker_report_any(const sr_worker_report_t *r)
{
    return r->offers.offers_sent || r->offers.offers_failed || r->offers.slots_advanced || r->offers.slots_expired ||
           r->payments || r->refunds || r->notifications;
}

/* Deposits due, a batch at a time; the bookings they release are moved on at once. */
static sr_status_t charge_due(sr_ctx_t *ctx, apr_time_t deadline, sr_worker_report_t *report)
{
    apr_array_header_t *reopened = apr_array_make(ctx->pool, 4, sizeof(const char *));
    int n;

    /* A server without a Stripe key leaves deposits to one that has it: a claim counts an attempt. */
    if (!ctx->conf->stripe_secret_key) {
        return SR_OK;
    }
    do {
        if ((n = sr_payments_charge_due(ctx, reopened)) < 0) {
            return SR_UNAVAILABLE;
        }
        report->payments += n;
    } while (n > 0 && apr_time_now() < deadline);
    /* Committed: released slots go to the next customer, or expire if too close to their start. */
    return reopened->nelts > 0 ? sr_offer_loop_advance_all(ctx, reopened) : SR_OK;
}

static sr_status_t refund_due(sr_ctx_t *ctx, apr_time_t deadline, sr_worker_report_t *report)
{
    int n;

    if (!ctx->conf->stripe_secret_key) {
        return SR_OK;
    }
    do {
        if ((n = sr_payments_refund_due(ctx)) < 0) {
            return SR_UNAVAILABLE;
        }
        report->refunds += n;
    } while (n > 0 && apr_time_now() < deadline);
    return SR_OK;
}

static sr_status_t notify_due(sr_ctx_t *ctx, apr_time_t deadline, sr_worker_report_t *report)
{
    int n;

    do {
        if ((n = sr_notify_send_due(ctx)) < 0) {
            return SR_UNAVAILABLE;
        }
        report->notifications += n;
    } while (n > 0 && apr_time_now() < deadline);
    return SR_OK;
}

sr_status_t sr_worker_run(sr_ctx_t *ctx, apr_interval_time_t budget, sr_worker_report_t *report)
{
    apr_time_t deadline = apr_time_now() + budget;
    apr_pool_t *parent = ctx->pool;
    sr_status_t status = SR_OK;
    int round;

    memset(report, 0, sizeof(*report));
    for (round = 0; status == SR_OK && round < SR_WORKER_ROUNDS && apr_time_now() < deadline; round++) {
        outbox_due_t due = {0, 0, 0, 0};
        int before = report->payments + report->refunds + report->notifications + report->offers.offers_sent +
                     report->offers.offers_failed;
        apr_pool_t *sub, *old;

        /* The idle case: one read of a few index pages. */
        if (sr_db_read(ctx->db, outbox_due_work, &due) != SR_OK) {
            return SR_UNAVAILABLE;
        }
        if (!due.offers && !due.payments && !due.refunds && !due.notifications) {
            break;
        }
        apr_pool_create(&sub, parent);
        old = sr_db_use_pool(ctx->db, sub);
        ctx->pool = sub;
        /* Deposits first: a booking they release makes an offer this round sends. */
        if (due.payments) {
            status = charge_due(ctx, deadline, report);
        }
        if (status == SR_OK && due.refunds) {
            status = refund_due(ctx, deadline, report);
        }
        if (status == SR_OK && sr_twilio_configured(ctx->conf)) {
            status = sr_offer_loop_send_all_due(ctx, deadline, &report->offers);
            if (status == SR_OK && due.notifications) {
                status = notify_due(ctx, deadline, report);
            }
        }
        ctx->pool = parent;
        sr_db_use_pool(ctx->db, old);
        apr_pool_destroy(sub);
        /* Nothing could be done (Twilio down, quiet hours, leases held elsewhere): the rows wait for their time. */
        if (report->payments + report->refunds + report->notifications + report->offers.offers_sent +
                report->offers.offers_failed ==
            before) {
            break;
        }
    }
    return status;
}

const sr_statement_t *const sr_worker_statements[] = {&stmt_outbox_due, NULL};
