/* SPDX-License-Identifier: Apache-2.0 */
/* Deposits through Stripe PaymentIntents, and refunds of those no booking stands for. */
#include "sr_notify.h"
#include "sr_payments.h"
#include "sr_stripe.h"

/* Deposits one worker pass asks Stripe for in turn; the lease is sized on it. */
#define SR_CHARGE_BATCH 5
#define SR_REFUND_BATCH 5

/* Two values that must both be there and equal. */
static int same(const char *ours, const char *theirs)
{
    return ours && theirs && !strcmp(ours, theirs);
}

/* Why an intent that names our payment in its metadata is not ours, or NULL when it is. */
static const char *metadata_mismatch(apr_pool_t *p, const sr_result_t *res, const sr_stripe_event_t *ev)
{
    const char *installation = sr_result_get(res, 0, "installation_id");

    if (!installation) {
        return "this installation has no id (table installation, migration 005)";
    }
    if (!same(installation, ev->metadata_installation_id)) {
        return ev->metadata_installation_id ? "its metadata carries another installation's id"
                                            : "its metadata carries no installation id";
    }
    if (!same(sr_result_get(res, 0, "amount"), ev->amount)) {
        return apr_psprintf(p, "its amount %.32s is not the payment's %s", ev->amount ? ev->amount : "(none)",
                            sr_result_get(res, 0, "amount"));
    }
    if (!same(sr_result_get(res, 0, "currency"), ev->currency)) {
        return apr_psprintf(p, "its currency %.16s is not the payment's %s", ev->currency ? ev->currency : "(none)",
                            sr_result_get(res, 0, "currency"));
    }
    if (!same(sr_result_get(res, 0, "stripe_customer_id"), ev->customer)) {
        return apr_psprintf(p, "its customer %.64s is not the payment's", ev->customer ? ev->customer : "(none)");
    }
    return NULL;
}

/*
 * A PaymentIntent by its id, else by the payment id put in its metadata (an
 * event may come before the creation's answer was stored, or be for a second
 * intent of that payment: other_intent); the intent's own payment first. A
 * match by metadata comes with what the caller checks before taking it: the
 * installation id, amount, currency and customer the intent must carry.
 * Arguments: the intent id three times, the metadata's payment id.
 */
static const sr_statement_t stmt_pay_find = {
    "sr_pay_find",
    "SELECT p.id::text AS payment_id, a.source_slot_opening_id::text AS slot_opening_id, "
    "(p.stripe_payment_intent_id = %s) IS TRUE AS by_intent_id, "
    "(p.stripe_payment_intent_id IS NOT NULL AND (p.stripe_payment_intent_id = %s) IS NOT TRUE) AS other_intent, "
    "p.amount AS amount, p.currency AS currency, c.stripe_customer_id AS stripe_customer_id, "
    "(SELECT i.id FROM installation i WHERE i.singleton) AS installation_id "
    "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
    "JOIN customers c ON c.id = a.customer_id "
    "WHERE p.stripe_payment_intent_id = %s OR p.id = %s::bigint "
    "ORDER BY by_intent_id DESC LIMIT 1",
    "payment_id,slot_opening_id,by_intent_id,other_intent,amount,currency,stripe_customer_id,installation_id"};
static sr_result_t *q_pay_find(sr_db_t *db, const char *intent_id, const char *metadata_payment_id)
{
    return sr_db_select(db, &stmt_pay_find, SR_ARGS(intent_id, intent_id, intent_id, metadata_payment_id));
}

/*
 * The usual case on its own, by the recorded id alone: two tables, one
 * index probe. An intent that is not ours and names no payment of ours
 * costs this statement only (issue 13: W1 was 24 % of the static file).
 */
static const sr_statement_t stmt_pay_find_intent = {
    "sr_pay_find_intent",
    "SELECT p.id::text AS payment_id, a.source_slot_opening_id::text AS slot_opening_id "
    "FROM payments p JOIN appointments a ON a.id = p.appointment_id WHERE p.stripe_payment_intent_id = %s",
    "payment_id,slot_opening_id"};
static sr_result_t *q_pay_find_intent(sr_db_t *db, const char *intent_id)
{
    return sr_db_select(db, &stmt_pay_find_intent, SR_ARGS(intent_id));
}

sr_status_t sr_payment_find(sr_db_t *db, const sr_stripe_event_t *event, const char **payment_id,
                            const char **slot_opening_id, const char **mismatch)
{
    sr_result_t *res = event->intent_id ? q_pay_find_intent(db, event->intent_id) : NULL;

    *payment_id = *slot_opening_id = *mismatch = NULL;
    if (event->intent_id && !res) {
        return SR_UNAVAILABLE;
    }
    if (res && res->nrows > 0) {
        *payment_id = sr_result_get(res, 0, "payment_id");
        *slot_opening_id = sr_result_get(res, 0, "slot_opening_id");
        return SR_OK;
    }
    if (!event->metadata_payment_id) {
        /* Not recorded, and naming no payment: not ours. */
        return SR_OK;
    }
    /* Named by its metadata only: before its intent was recorded, or a second intent (other_intent). */
    res = q_pay_find(db, event->intent_id, event->metadata_payment_id);
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_OK;
    }
    if (sr_result_bool(res, 0, "other_intent")) {
        /*
         * A second intent naming a payment that has one: only a success moved money (ours if the metadata
         * checks pass; sr_payment_succeed refunds it). Anything else is not ours, as before (no reason given).
         */
        if (!event->intent_id || strcmp(event->type, "payment_intent.succeeded") ||
            metadata_mismatch(sr_db_pool(db), res, event)) {
            return SR_OK;
        }
    }
    else if (!sr_result_bool(res, 0, "by_intent_id") && (*mismatch = metadata_mismatch(sr_db_pool(db), res, event))) {
        *mismatch = apr_pstrcat(sr_db_pool(db), "metadata names payment ", sr_result_get(res, 0, "payment_id"),
                                ", but ", *mismatch, (char *)NULL);
        return SR_OK;
    }
    *payment_id = sr_result_get(res, 0, "payment_id");
    *slot_opening_id = sr_result_get(res, 0, "slot_opening_id");
    return SR_OK;
}

/* Lock order as for YES: the slot first, then the payment. */
static const sr_statement_t stmt_pay_lock_slot = {
    "sr_pay_lock_slot", "SELECT id::text AS id FROM slot_openings WHERE id = %s::bigint FOR UPDATE", "id"};
static sr_result_t *q_pay_lock_slot(sr_db_t *db, const char *slot_opening_id)
{
    return sr_db_select(db, &stmt_pay_lock_slot, SR_ARGS(slot_opening_id));
}

static const sr_statement_t stmt_pay_lock = {
    "sr_pay_lock",
    "SELECT p.id::text AS payment_id, p.status AS status, "
    "p.stripe_payment_intent_id AS stripe_payment_intent_id, "
    "a.id::text AS appointment_id, a.customer_id::text AS customer_id, "
    "a.status AS appointment_status, a.source_slot_opening_id::text AS slot_opening_id "
    "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
    "WHERE p.id = %s::bigint FOR UPDATE OF p, a",
    "payment_id,status,stripe_payment_intent_id,appointment_id,customer_id,appointment_status,slot_opening_id"};
static sr_result_t *q_pay_lock(sr_db_t *db, const char *payment_id)
{
    return sr_db_select(db, &stmt_pay_lock, SR_ARGS(payment_id));
}

/* Locks the slot (first, as YES does) and the payment with its appointment. */
static sr_result_t *lock_payment(sr_db_t *db, const char *payment_id, const char *slot_opening_id)
{
    if (slot_opening_id && !q_pay_lock_slot(db, slot_opening_id)) {
        return NULL;
    }
    return q_pay_lock(db, payment_id);
}

static const char *seconds_arg(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(t));
}

/* Why a booking is released: the payment's last_error, what a person must see, what the customer is told. */
typedef struct {
    const char *message;
    const char *flag;   /* flagged_reason, or NULL */
    sr_notice_t notice; /* SR_NOTICE_NONE when the caller tells the customer itself */
} release_t;

static const sr_statement_t stmt_pay_mark_failed = {
    "sr_pay_mark_failed",
    "UPDATE payments SET status = 'failed', last_error = left(%s, 500), "
    "stripe_payment_intent_id = COALESCE(stripe_payment_intent_id, %s) "
    "WHERE id = %s::bigint",
    NULL};
static int q_pay_mark_failed(sr_db_t *db, const char *error, const char *intent_id, const char *payment_id)
{
    return sr_db_exec(db, &stmt_pay_mark_failed, SR_ARGS(error, intent_id, payment_id));
}

static const sr_statement_t stmt_pay_cancel_appointment = {
    "sr_pay_cancel_appointment",
    "UPDATE appointments SET status = 'cancelled', cancelled_at = now() "
    "WHERE id = %s::bigint AND status <> 'cancelled'",
    NULL};
static int q_pay_cancel_appointment(sr_db_t *db, const char *appointment_id)
{
    return sr_db_exec(db, &stmt_pay_cancel_appointment, SR_ARGS(appointment_id));
}

static const sr_statement_t stmt_pay_reopen_slot = {
    "sr_pay_reopen_slot",
    "UPDATE slot_openings SET status = 'open', filled_by_appointment_id = NULL, "
    "filled_at = NULL WHERE id = %s::bigint AND filled_by_appointment_id = %s::bigint",
    NULL};
static int q_pay_reopen_slot(sr_db_t *db, const char *slot_opening_id, const char *appointment_id)
{
    return sr_db_exec(db, &stmt_pay_reopen_slot, SR_ARGS(slot_opening_id, appointment_id));
}

static const sr_statement_t stmt_pay_decline_offer = {"sr_pay_decline_offer",
                                                      "UPDATE slot_offers SET status = 'declined', "
                                                      "last_error = left('deposit failed: ' || %s, 500) "
                                                      "WHERE slot_opening_id = %s::bigint AND customer_id = %s::bigint "
                                                      "AND status = 'accepted'",
                                                      NULL};
static int q_pay_decline_offer(sr_db_t *db, const char *error, const char *slot_opening_id, const char *customer_id)
{
    return sr_db_exec(db, &stmt_pay_decline_offer, SR_ARGS(error, slot_opening_id, customer_id));
}

static const sr_statement_t stmt_pay_flag = {
    "sr_pay_flag", "UPDATE payments SET flagged_reason = left(%s, 500) WHERE id = %s::bigint", NULL};
static int q_pay_flag(sr_db_t *db, const char *flag, const char *payment_id)
{
    return sr_db_exec(db, &stmt_pay_flag, SR_ARGS(flag, payment_id));
}

/*
 * The payment failed (locked is sr_pay_lock's row): payment failed, booking
 * cancelled, slot open again, the customer's offer declined, the customer
 * told. Nothing changes for a payment that already succeeded or failed.
 */
static sr_status_t release_booking(sr_db_t *db, const sr_result_t *locked, const char *payment_id,
                                   const char *intent_id, const release_t *why, sr_payment_change_t *out)
{
    const char *status, *appointment_id, *customer_id, *slot_opening_id;
    const char *message = why->message ? why->message : "payment failed";
    int reopened;

    if (locked->nrows == 0) {
        return SR_NOT_FOUND;
    }
    status = sr_result_get(locked, 0, "status");
    if (!strcmp(status, "succeeded") || !strcmp(status, "failed")) {
        /* Out of order or repeated: a confirmed booking is never reopened. */
        out->outcome = apr_pstrcat(sr_db_pool(db), "ignored: payment already ", status, (char *)NULL);
        return SR_OK;
    }
    appointment_id = sr_result_get(locked, 0, "appointment_id");
    customer_id = sr_result_get(locked, 0, "customer_id");
    slot_opening_id = sr_result_get(locked, 0, "slot_opening_id");
    if (q_pay_mark_failed(db, message, intent_id, payment_id) < 0 ||
        (why->flag && q_pay_flag(db, why->flag, payment_id) < 0)) {
        return SR_UNAVAILABLE;
    }
    if (!strcmp(sr_result_get(locked, 0, "appointment_status"), "cancelled")) {
        /* The shop cancelled the booking already, and that opened its time again. */
        out->outcome = "payment failed: the booking had been cancelled already";
        return SR_OK;
    }
    if (q_pay_cancel_appointment(db, appointment_id) < 0 || sr_notify_payment(db, payment_id, why->notice) != SR_OK) {
        return SR_UNAVAILABLE;
    }
    out->outcome = "payment failed: booking released";
    if (slot_opening_id) {
        reopened = q_pay_reopen_slot(db, slot_opening_id, appointment_id);
        if (reopened < 0 || q_pay_decline_offer(db, message, slot_opening_id, customer_id) < 0) {
            return SR_UNAVAILABLE;
        }
        if (reopened > 0) {
            out->reopened_slot_id = slot_opening_id;
            out->outcome = "payment failed: booking released, slot reopened";
        }
    }
    return SR_OK;
}

/*
 * Under the lock: a payment whose recorded PaymentIntent is another than the
 * one reported is never acted on (an event matched by metadata before the
 * intent was recorded, recorded meanwhile; or another intent naming it).
 */
static int other_intent(const sr_result_t *locked, const char *intent_id, sr_payment_change_t *out)
{
    const char *have = locked->nrows > 0 ? sr_result_get(locked, 0, "stripe_payment_intent_id") : NULL;

    if (have && intent_id && strcmp(have, intent_id)) {
        out->other_intent = 1;
        out->outcome = "ignored: not a slot-recovery payment (the payment has another PaymentIntent)";
        return 1;
    }
    return 0;
}

static sr_status_t fail_payment(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                                const release_t *why, sr_payment_change_t *out)
{
    sr_result_t *res = lock_payment(db, payment_id, slot_opening_id);

    memset(out, 0, sizeof(*out));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    return other_intent(res, intent_id, out) ? SR_OK : release_booking(db, res, payment_id, intent_id, why, out);
}

sr_status_t sr_payment_fail(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                            const char *message, sr_payment_change_t *out)
{
    release_t why = {message, NULL, SR_NOTICE_FAILED};

    return fail_payment(db, payment_id, slot_opening_id, intent_id, &why, out);
}

static const sr_statement_t stmt_pay_confirm_appointment = {"sr_pay_confirm_appointment",
                                                            "UPDATE appointments SET status = 'confirmed' "
                                                            "WHERE id = %s::bigint AND status = 'awaiting_payment'",
                                                            NULL};
static int q_pay_confirm_appointment(sr_db_t *db, const char *appointment_id)
{
    return sr_db_exec(db, &stmt_pay_confirm_appointment, SR_ARGS(appointment_id));
}

/* A success is kept whatever came before; what a person must look at goes in flagged_reason. */
static const sr_statement_t stmt_pay_mark_succeeded = {
    "sr_pay_mark_succeeded",
    "UPDATE payments SET last_error = NULL, status = 'succeeded', "
    "flagged_reason = COALESCE(%s, flagged_reason), "
    "stripe_payment_intent_id = COALESCE(stripe_payment_intent_id, %s) "
    "WHERE id = %s::bigint",
    NULL};
static int q_pay_mark_succeeded(sr_db_t *db, const char *flag, const char *intent_id, const char *payment_id)
{
    return sr_db_exec(db, &stmt_pay_mark_succeeded, SR_ARGS(flag, intent_id, payment_id));
}

/* The whole deposit goes back; one refund per payment, so a redelivered event adds none. */
static const sr_statement_t stmt_refund_due = {
    "sr_refund_due",
    "INSERT INTO refunds (payment_id, amount, currency, reason) "
    "SELECT p.id, p.amount, p.currency, left(%s, 500) FROM payments p "
    "WHERE p.id = %s::bigint AND p.amount > 0 "
    "ON CONFLICT (payment_id) WHERE payment_intent_id IS NULL DO NOTHING RETURNING id::text AS id",
    "id"};
static sr_result_t *q_refund_due(sr_db_t *db, const char *reason, const char *payment_id)
{
    return sr_db_select(db, &stmt_refund_due, SR_ARGS(reason, payment_id));
}

/* A second PaymentIntent of the payment goes back whole (its amount is the payment's); one refund per intent. */
static const sr_statement_t stmt_refund_second_due = {
    "sr_refund_second_due",
    "INSERT INTO refunds (payment_id, payment_intent_id, amount, currency, reason) "
    "SELECT p.id, %s, p.amount, p.currency, 'succeeded on a second PaymentIntent of the payment' "
    "FROM payments p WHERE p.id = %s::bigint AND p.amount > 0 "
    "ON CONFLICT (payment_intent_id) WHERE payment_intent_id IS NOT NULL DO NOTHING RETURNING id::text AS id",
    "id"};
static sr_result_t *q_refund_second_due(sr_db_t *db, const char *intent_id, const char *payment_id)
{
    return sr_db_select(db, &stmt_refund_second_due, SR_ARGS(intent_id, payment_id));
}

/*
 * The payment records another intent than this one, which succeeded: the
 * customer paid twice (a 5xx under one key whose intent the lookup missed,
 * then a retry key). That intent is refunded; the payment and its booking stay
 * as they are.
 */
static sr_status_t refund_second_intent(sr_db_t *db, const char *payment_id, const char *intent_id,
                                        sr_payment_change_t *out)
{
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *res = q_refund_second_due(db, intent_id, payment_id);

    out->other_intent = 0;
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        out->outcome = apr_pstrcat(p, "ignored: a second PaymentIntent for payment ", payment_id,
                                   ", its refund is recorded already", (char *)NULL);
        return SR_OK;
    }
    out->outcome = apr_pstrcat(p, "refund due: a second PaymentIntent for payment ", payment_id, (char *)NULL);
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                 SR_LOG_PREFIX "payment %s: PaymentIntent %s is a second intent for it; refunding it", payment_id,
                 intent_id);
    return SR_OK;
}

sr_status_t sr_payment_succeed(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                               sr_payment_change_t *out)
{
    sr_result_t *res = lock_payment(db, payment_id, slot_opening_id);
    const char *status, *appointment_id, *refund = NULL;

    memset(out, 0, sizeof(*out));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    if (other_intent(res, intent_id, out)) {
        /* Ours all the same: matched by metadata that passed the checks, or the answer to our own request. */
        return refund_second_intent(db, payment_id, intent_id, out);
    }
    status = sr_result_get(res, 0, "status");
    appointment_id = sr_result_get(res, 0, "appointment_id");
    if (!strcmp(status, "succeeded")) {
        out->outcome = "ignored: payment already succeeded";
        return SR_OK;
    }
    /* Money taken for a booking that no longer stands: it goes back, asked of Stripe by the sweep after the commit. */
    if (!strcmp(status, "failed") || !strcmp(status, "canceled")) {
        refund = "succeeded after the booking was released";
    }
    else if (!strcmp(sr_result_get(res, 0, "appointment_status"), "cancelled")) {
        refund = "succeeded for a cancelled booking";
    }
    if (q_pay_mark_succeeded(db, NULL, intent_id, payment_id) < 0 ||
        (!refund && q_pay_confirm_appointment(db, appointment_id) < 0) ||
        (refund && !q_refund_due(db, refund, payment_id))) {
        return SR_UNAVAILABLE;
    }
    if (refund) {
        out->outcome = apr_pstrcat(sr_db_pool(db), "refund due: payment ", refund, (char *)NULL);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, SR_LOG_PREFIX "payment %s %s: refund due", payment_id, refund);
    }
    else {
        out->outcome = "payment succeeded: booking confirmed";
    }
    return SR_OK;
}

/* --- creating PaymentIntents ----------------------------------------------------------- */

typedef struct {
    const char *payment_id;
    const char *slot_opening_id;
    int attempts;
    int key_retry; /* > 0: Stripe keeps a 5xx under this try's key, the next takes the key of that attempt */
    const sr_stripe_intent_t *intent;
    sr_status_t stripe_status;
    const sr_server_conf_t *conf;
    sr_payment_change_t change;
    const char *problem; /* what the shop must hear of, for the error log */
} record_work_t;

/* Stripe refused (SR_INVALID): the card, or the shop's request. */
static sr_status_t record_refusal(sr_db_t *db, record_work_t *w)
{
    apr_pool_t *p = sr_db_pool(db);
    const sr_stripe_intent_t *in = w->intent;
    release_t why = {in->error, NULL, SR_NOTICE_NONE};

    if (in->card_declined) {
        why.notice = SR_NOTICE_DECLINED;
    }
    else {
        /* invalid_request_error, idempotency_error, ...: not the customer's card but the shop's setup. */
        why.notice = SR_NOTICE_SHOP_PROBLEM;
        why.flag =
            in->error_type
                ? apr_psprintf(p, "Stripe refused the deposit request (%s%s%s): %s; check the shop's Stripe setup",
                               in->error_type, in->error_code ? ", " : "", in->error_code ? in->error_code : "",
                               in->error)
                : apr_pstrcat(p, "the deposit could not be requested: ", in->error, (char *)NULL);
        w->problem = why.flag;
    }
    return fail_payment(db, w->payment_id, w->slot_opening_id, in->id, &why, &w->change);
}

static const sr_statement_t stmt_pay_retry_later = {"sr_pay_retry_later",
                                                    "UPDATE payments SET last_error = left(%s, 500), "
                                                    "next_attempt_at = now() + make_interval(secs => "
                                                    "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
                                                    "WHERE id = %s::bigint AND status = 'pending'",
                                                    NULL};
static int q_pay_retry_later(sr_db_t *db, const char *error, const char *base_delay_seconds, const char *payment_id)
{
    return sr_db_exec(db, &stmt_pay_retry_later, SR_ARGS(error, base_delay_seconds, payment_id));
}

/*
 * Stripe answered a 5xx for the deposit's current key, and replays it for
 * that key: attempt N (the first argument) takes the key of its own (see
 * migration 010). Only for a payment still waiting for its intent.
 */
static const sr_statement_t stmt_pay_key_spent = {"sr_pay_key_spent",
                                                  "UPDATE payments SET key_retry = %s::integer WHERE id = %s::bigint "
                                                  "AND status = 'pending' AND stripe_payment_intent_id IS NULL",
                                                  NULL};
static int q_pay_key_spent(sr_db_t *db, const char *key_retry, const char *payment_id)
{
    return sr_db_exec(db, &stmt_pay_key_spent, SR_ARGS(key_retry, payment_id));
}

/* Stripe did not answer usefully (SR_UNAVAILABLE): try again later, or give up. */
static sr_status_t record_failure(sr_db_t *db, record_work_t *w)
{
    apr_pool_t *p = sr_db_pool(db);
    const sr_stripe_intent_t *in = w->intent;
    release_t why = {NULL, NULL, SR_NOTICE_GAVE_UP};

    if (in->permanent) {
        /* A refused key: every try would fail the same until the shop fixes it. */
        why.message = apr_pstrcat(p, "gave up: ", in->error, (char *)NULL);
        why.flag = apr_pstrcat(p, "Stripe refused the API key (", in->error, "): fix SlotRecoveryStripeSecretKey",
                               (char *)NULL);
    }
    else if (w->attempts >= w->conf->payment_max_attempts) {
        why.message = apr_psprintf(p, "gave up after %d tries: %s", w->attempts, in->error);
    }
    else {
        return q_pay_retry_later(db, in->error, seconds_arg(p, w->conf->offer_retry_delay), w->payment_id) < 0 ||
                       (w->key_retry && q_pay_key_spent(db, apr_itoa(p, w->key_retry), w->payment_id) < 0)
                   ? SR_UNAVAILABLE
                   : SR_OK;
    }
    w->problem = why.flag ? why.flag : why.message;
    return fail_payment(db, w->payment_id, w->slot_opening_id, in->id, &why, &w->change);
}

/* What Stripe answered at creation; a final status set by a webhook meanwhile stays. */
static const sr_statement_t stmt_pay_record_intent = {
    "sr_pay_record_intent",
    "UPDATE payments SET stripe_payment_intent_id = COALESCE(%s, stripe_payment_intent_id), "
    "status = CASE WHEN status IN ('succeeded', 'failed', 'canceled') THEN status "
    "ELSE %s END, last_error = %s "
    "WHERE id = %s::bigint RETURNING status AS status, appointment_id::text AS appointment_id",
    "status,appointment_id"};
static sr_result_t *q_pay_record_intent(sr_db_t *db, const char *intent_id, const char *status, const char *last_error,
                                        const char *payment_id)
{
    return sr_db_select(db, &stmt_pay_record_intent, SR_ARGS(intent_id, status, last_error, payment_id));
}

static sr_status_t record_work(sr_db_t *db, void *baton)
{
    record_work_t *w = baton;
    sr_result_t *res;

    memset(&w->change, 0, sizeof(w->change));
    w->problem = NULL;
    switch (w->stripe_status) {
    case SR_OK:
        if (!strcmp(w->intent->status, "succeeded")) {
            /* As payment_intent.succeeded: the booking confirmed, or the money back if it was cancelled meanwhile. */
            return sr_payment_succeed(db, w->payment_id, w->slot_opening_id, w->intent->id, &w->change);
        }
        res = q_pay_record_intent(db, w->intent->id, w->intent->status, NULL, w->payment_id);
        if (!res) {
            return SR_UNAVAILABLE;
        }
        if (res->nrows > 0 && !strcmp(sr_result_get(res, 0, "status"), "succeeded") &&
            q_pay_confirm_appointment(db, sr_result_get(res, 0, "appointment_id")) < 0) {
            return SR_UNAVAILABLE;
        }
        return SR_OK;
    case SR_INVALID:
        return record_refusal(db, w);
    default:
        return record_failure(db, w);
    }
}

/*
 * Derived from the payment row and the installation: every retry is the same
 * request to Stripe, and no other installation (nor this database restored
 * from a backup) sends it. *installation_id is what goes in the metadata.
 * A payment from before migration 007 has no token: it keeps the key and the
 * parameters its first attempts were sent with (Stripe refuses a key reused
 * with other parameters), so a retry of one that reached Stripe cannot charge
 * twice. Once Stripe saved a 5xx under the key (key_retry N > 0, migration
 * 011), "-rN" follows: the key of attempt N, sent only after looking up what
 * the request before it made.
 */
static const char *deposit_key(sr_ctx_t *ctx, const sr_result_t *c, int row, const char **installation_id)
{
    const char *payment_id = sr_result_get(c, row, "payment_id");
    const char *token = sr_result_get(c, row, "key_token");
    const char *retry = sr_result_get(c, row, "key_retry");
    const char *key;

    if (!token) {
        *installation_id = NULL;
        key = apr_pstrcat(ctx->pool, "slotrecovery-deposit-", payment_id, (char *)NULL);
        return retry && atoi(retry) > 0 ? apr_pstrcat(ctx->pool, key, "-r", retry, (char *)NULL) : key;
    }
    *installation_id = sr_result_get(c, row, "installation_id");
    key = sr_stripe_idempotency_key(ctx->pool, *installation_id, "deposit", payment_id, token);
    if (key && retry && atoi(retry) > 0) {
        /* Stripe replays the 5xx it saved under the key before: this is the key of the attempt after it. */
        key = apr_pstrcat(ctx->pool, key, "-r", retry, (char *)NULL);
    }
    if (!key) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->s,
                     SR_LOG_PREFIX "payment %s waits: table installation has no row (migration 005), so no "
                                   "Idempotency-Key of this installation can be made",
                     payment_id);
    }
    return key;
}

typedef struct {
    const char *payment_id, *slot_opening_id;
    const sr_ctx_t *ctx;
    sr_payment_change_t change;
    const char *settled; /* what was done, for the log */
} settle_work_t;

/* The same question again, once the payment is locked. Arguments: the cutoff, the payment. */
static const sr_statement_t stmt_pay_unsent_state = {
    "sr_pay_unsent_state",
    "SELECT a.status = 'cancelled' AS cancelled, p.next_attempt_at <= now() "
    "AND a.starts_at <= now() + make_interval(secs => %s::integer) AS too_close "
    "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
    "WHERE p.id = %s::bigint AND p.status = 'pending' "
    "AND p.stripe_payment_intent_id IS NULL",
    "cancelled,too_close"};
static sr_result_t *q_pay_unsent_state(sr_db_t *db, const char *cutoff_seconds, const char *payment_id)
{
    return sr_db_select(db, &stmt_pay_unsent_state, SR_ARGS(cutoff_seconds, payment_id));
}

static const sr_statement_t stmt_pay_mark_canceled = {
    "sr_pay_mark_canceled",
    "UPDATE payments SET status = 'canceled', last_error = left(%s, 500) "
    "WHERE id = %s::bigint AND status = 'pending' AND stripe_payment_intent_id IS NULL",
    NULL};
static int q_pay_mark_canceled(sr_db_t *db, const char *error, const char *payment_id)
{
    return sr_db_exec(db, &stmt_pay_mark_canceled, SR_ARGS(error, payment_id));
}

static sr_status_t settle_work(sr_db_t *db, void *baton)
{
    settle_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *locked, *state;
    release_t why = {"not charged: the slot starts too soon (SlotRecoveryOfferCutoff) and Stripe had not taken the "
                     "deposit",
                     NULL, SR_NOTICE_GAVE_UP};

    memset(&w->change, 0, sizeof(w->change));
    w->settled = NULL;
    if (!(locked = lock_payment(db, w->payment_id, w->slot_opening_id)) ||
        !(state = q_pay_unsent_state(db, seconds_arg(p, w->ctx->conf->offer_cutoff), w->payment_id))) {
        return SR_UNAVAILABLE;
    }
    if (locked->nrows == 0 || state->nrows == 0) {
        return SR_OK; /* settled or claimed meanwhile */
    }
    if (sr_result_bool(state, 0, "cancelled")) {
        w->settled = "canceled: the booking was cancelled before the deposit was taken";
        return q_pay_mark_canceled(db, "the booking was cancelled before the deposit was taken: not charged",
                                   w->payment_id) < 0
                   ? SR_UNAVAILABLE
                   : SR_OK;
    }
    if (sr_result_bool(state, 0, "too_close")) {
        w->settled = "given up: the slot starts too soon to charge the deposit";
        return release_booking(db, locked, w->payment_id, NULL, &why, &w->change);
    }
    return SR_OK;
}

typedef struct {
    const char *payment_id, *cutoff;
    sr_result_t *due;
} settle_find_t;

/*
 * Deposits never sent that must not be: the booking was cancelled (even
 * while a charge is in flight: its answer then finds the payment canceled
 * and a success is refunded), or, once due, its slot starts within the
 * cutoff. Settled before the claim below, which skips them too.
 * Arguments: one payment id or NULL, the same, the cutoff.
 */
static const sr_statement_t stmt_pay_unsent_to_settle = {
    "sr_pay_unsent_to_settle",
    "SELECT p.id::text AS payment_id, a.source_slot_opening_id::text AS slot_opening_id "
    "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
    "WHERE p.status = 'pending' AND p.stripe_payment_intent_id IS NULL "
    "AND (%s::bigint IS NULL OR p.id = %s::bigint) "
    "AND (a.status = 'cancelled' OR (p.next_attempt_at <= now() "
    "AND a.starts_at <= now() + make_interval(secs => %s::integer))) "
    "ORDER BY p.next_attempt_at, p.id LIMIT " SR_SWEEP_BATCH_SQL,
    "payment_id,slot_opening_id"};
static sr_result_t *q_pay_unsent_to_settle(sr_db_t *db, const char *payment_id, const char *cutoff_seconds)
{
    return sr_db_select(db, &stmt_pay_unsent_to_settle, SR_ARGS(payment_id, payment_id, cutoff_seconds));
}

static sr_status_t settle_find_work(sr_db_t *db, void *baton)
{
    settle_find_t *w = baton;

    w->due = q_pay_unsent_to_settle(db, w->payment_id, w->cutoff);
    return w->due ? SR_OK : SR_UNAVAILABLE;
}

/*
 * Settles unsent deposits that must not be charged: a cancelled booking's
 * payment becomes canceled; one whose slot starts within the cutoff is given
 * up (the booking released, the customer told). Returns how many, -1 when
 * the database failed; released slots are added to `reopened`.
 */
static int settle_unsent(sr_ctx_t *ctx, const char *payment_id, apr_array_header_t *reopened)
{
    settle_find_t find = {payment_id, seconds_arg(ctx->pool, ctx->conf->offer_cutoff), NULL};
    sr_result_t *due;
    int i;

    if (sr_db_read(ctx->db, settle_find_work, &find) != SR_OK) {
        return -1;
    }
    due = find.due;
    for (i = 0; i < due->nrows; i++) {
        settle_work_t w;

        memset(&w, 0, sizeof(w));
        w.payment_id = sr_result_get(due, i, "payment_id");
        w.slot_opening_id = sr_result_get(due, i, "slot_opening_id");
        w.ctx = ctx;
        if (sr_db_transaction(ctx->db, settle_work, &w) != SR_OK) {
            return -1;
        }
        if (w.settled) {
            ap_log_error(APLOG_MARK, w.change.outcome ? APLOG_ERR : APLOG_INFO, 0, ctx->s,
                         SR_LOG_PREFIX "payment %s %s%s%s", w.payment_id, w.settled, w.change.outcome ? ": " : "",
                         w.change.outcome ? w.change.outcome : "");
        }
        if (w.change.reopened_slot_id) {
            APR_ARRAY_PUSH(reopened, const char *) = w.change.reopened_slot_id;
        }
    }
    return due->nrows;
}

/*
 * Deposits. A payment row is claimed (leased) before its PaymentIntent is
 * created, so two processes never call Stripe for it at once; the
 * Idempotency-Key derived from its id makes a repeated call harmless.
 * Never for a cancelled booking or a slot that has started (the sweep
 * settles those first, sr_pay_unsent_to_settle).
 * Arguments: one payment id or NULL for any due, the batch size, the lease.
 */
static const sr_statement_t stmt_pay_claim_due = {
    "sr_pay_claim_due",
    "WITH due AS (SELECT p.id FROM payments p JOIN appointments a ON a.id = p.appointment_id "
    "WHERE p.status = 'pending' AND p.stripe_payment_intent_id IS NULL "
    "AND p.next_attempt_at <= now() AND (%s::bigint IS NULL OR p.id = %s::bigint) "
    "AND a.status <> 'cancelled' AND a.starts_at > now() "
    "ORDER BY p.next_attempt_at, p.id LIMIT %s::integer FOR UPDATE OF p SKIP LOCKED) "
    "UPDATE payments p SET attempts = p.attempts + 1, "
    "next_attempt_at = now() + make_interval(secs => %s::integer) "
    "FROM due, appointments a, customers c "
    "LEFT JOIN installation i ON i.singleton "
    "WHERE p.id = due.id AND a.id = p.appointment_id AND c.id = a.customer_id "
    "RETURNING p.id::text AS payment_id, p.amount AS amount, p.currency AS currency, "
    "p.attempts AS attempts, c.stripe_customer_id AS stripe_customer_id, "
    "c.stripe_payment_method_id AS stripe_payment_method_id, "
    "i.id AS installation_id, p.key_token AS key_token, p.key_retry AS key_retry, "
    "a.id::text AS appointment_id, a.source_slot_opening_id::text AS slot_opening_id",
    "payment_id,amount,currency,attempts,stripe_customer_id,stripe_payment_method_id,installation_id,key_token,key_"
    "retry,appointment_id,slot_opening_id"};
static sr_result_t *q_pay_claim_due(sr_db_t *db, const char *payment_id, const char *limit, const char *lease_seconds)
{
    return sr_db_select(db, &stmt_pay_claim_due, SR_ARGS(payment_id, payment_id, limit, lease_seconds));
}

int sr_payments_charge_due(sr_ctx_t *ctx, apr_array_header_t *reopened)
{
    apr_pool_t *p = ctx->pool;
    sr_result_t *claimed;
    int i, settled, handled;

    /* Before any claim: what must never reach Stripe. */
    if ((settled = settle_unsent(ctx, NULL, reopened)) < 0) {
        return -1;
    }
    /*
     * The lease covers the slowest batch: SR_CHARGE_BATCH payments asked one
     * after another, each a lookup and a creation of up to SlotRecoveryHttpTimeout,
     * so no other worker claims one of them while this one still waits on Stripe.
     */
    claimed = sr_db_claim(ctx->db, q_pay_claim_due, NULL, SR_CHARGE_BATCH,
                          SR_CHARGE_BATCH * 2 * ctx->conf->http_timeout + apr_time_from_sec(60));
    if (!claimed) {
        return -1;
    }
    handled = settled + claimed->nrows;
    for (i = 0; i < claimed->nrows; i++) {
        const sr_result_t *c = claimed;
        sr_stripe_intent_request_t in;
        sr_stripe_intent_t intent;
        record_work_t record;

        memset(&in, 0, sizeof(in));
        in.payment_id = sr_result_get(c, i, "payment_id");
        in.appointment_id = sr_result_get(c, i, "appointment_id");
        in.slot_opening_id = sr_result_get(c, i, "slot_opening_id");
        in.amount = apr_atoi64(sr_result_get(c, i, "amount"));
        in.currency = sr_result_get(c, i, "currency");
        in.customer = sr_result_get(c, i, "stripe_customer_id");
        in.payment_method = sr_result_get(c, i, "stripe_payment_method_id");
        in.idempotency_key = deposit_key(ctx, c, i, &in.installation_id);

        memset(&record, 0, sizeof(record));
        record.payment_id = in.payment_id;
        record.slot_opening_id = in.slot_opening_id;
        record.attempts = atoi(sr_result_get(c, i, "attempts"));
        record.intent = &intent;
        record.conf = ctx->conf;
        if (!in.customer || !in.payment_method) {
            memset(&intent, 0, sizeof(intent));
            intent.error = "the customer has no saved card (stripeCustomerId and stripePaymentMethodId)";
            record.stripe_status = SR_INVALID;
        }
        else if (in.idempotency_key && atoi(sr_result_get(c, i, "key_retry")) > 0) {
            /*
             * The key before this one got a 5xx, which Stripe saved: that request is over, yet may have made
             * the intent. Adopt what it made; only if it made none is this new key sent (a later try after a
             * timeout sends this same key again, and Stripe then answers for the request in flight).
             */
            record.stripe_status = sr_stripe_find_payment_intent(p, ctx->conf, &in, &intent);
            if (record.stripe_status == SR_NOT_FOUND) {
                record.stripe_status = sr_stripe_create_payment_intent(p, ctx->conf, &in, &intent);
            }
            else {
                ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s,
                             SR_LOG_PREFIX "payment %s: looked up the PaymentIntent an earlier try made: %s",
                             in.payment_id, intent.id ? intent.id : intent.error);
            }
        }
        else {
            record.stripe_status = sr_stripe_create_payment_intent(p, ctx->conf, &in, &intent);
        }
        if (record.stripe_status == SR_UNAVAILABLE && intent.key_spent) {
            record.key_retry = record.attempts + 1;
        }
        if (record.stripe_status == SR_UNAVAILABLE) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s,
                         SR_LOG_PREFIX "payment %s: attempt %s to create the PaymentIntent failed: %s", in.payment_id,
                         sr_result_get(c, i, "attempts"), intent.error);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s, SR_LOG_PREFIX "payment %s: PaymentIntent %s %s%s%s",
                         in.payment_id, intent.id ? intent.id : "(none)", intent.status ? intent.status : "refused",
                         intent.error ? ": " : "", intent.error ? intent.error : "");
        }
        /* If recording fails the lease runs out and the sweep asks Stripe again, same key. */
        if (sr_db_transaction(ctx->db, record_work, &record) != SR_OK) {
            continue;
        }
        if (record.change.outcome && !strncmp(record.change.outcome, "ignored", 7)) {
            /* A webhook settled the payment meanwhile: this answer changed nothing. */
            continue;
        }
        if (record.problem) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->s,
                         SR_LOG_PREFIX "payment %s: booking released, the customer was not charged: %s", in.payment_id,
                         record.problem);
        }
        if (record.change.reopened_slot_id) {
            APR_ARRAY_PUSH(reopened, const char *) = record.change.reopened_slot_id;
        }
    }
    /* Committed: the caller moves the released slots on (sr_worker). */
    return handled;
}

/* --- refunds ------------------------------------------------------------------------------ */

typedef struct {
    const char *refund_id, *payment_id, *prior_status;
    const char *second_intent; /* a second PaymentIntent of the payment refunded, or NULL for its own */
    int attempts;
    int key_retry; /* > 0: Stripe keeps a 5xx under this try's key, the next takes the key of that attempt */
    sr_status_t stripe_status;
    const sr_stripe_refund_t *refund;
    const sr_server_conf_t *conf;
    const char *flag; /* set by the work: what the payment is flagged with */
} refund_work_t;

/*
 * What Stripe said of a refund. Arguments: refund id at Stripe (or NULL),
 * status, amount (or NULL), error, the base delay before the next look
 * (doubling, at most an hour), the refund row.
 */
static const sr_statement_t stmt_refund_record = {
    "sr_refund_record",
    "UPDATE refunds SET stripe_refund_id = COALESCE(%s, stripe_refund_id), status = %s, "
    "amount = COALESCE(%s::bigint, amount), last_error = left(%s, 500), "
    "next_attempt_at = now() + make_interval(secs => "
    "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
    "WHERE id = %s::bigint",
    NULL};
static int q_refund_record(sr_db_t *db, const char *stripe_refund_id, const char *status, const char *amount,
                           const char *error, const char *base_delay_seconds, const char *refund_id)
{
    return sr_db_exec(db, &stmt_refund_record,
                      SR_ARGS(stripe_refund_id, status, amount, error, base_delay_seconds, refund_id));
}

/* The same for a refund still without its id at Stripe. */
static const sr_statement_t stmt_refund_key_spent = {"sr_refund_key_spent",
                                                     "UPDATE refunds SET key_retry = %s::integer WHERE id = %s::bigint "
                                                     "AND status = 'due' AND stripe_refund_id IS NULL",
                                                     NULL};
static int q_refund_key_spent(sr_db_t *db, const char *key_retry, const char *refund_id)
{
    return sr_db_exec(db, &stmt_refund_key_spent, SR_ARGS(key_retry, refund_id));
}

/* What a flag calls the refund: a person must know which intent to refund by hand. */
static const char *refund_name(apr_pool_t *p, const refund_work_t *w)
{
    return w->second_intent
               ? apr_pstrcat(p, "the automatic refund of the second PaymentIntent ", w->second_intent, (char *)NULL)
               : "the automatic refund";
}

static sr_status_t refund_record_work(sr_db_t *db, void *baton)
{
    refund_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    const sr_stripe_refund_t *r = w->refund;
    const char *status = w->prior_status, *error = r->error, *amount = NULL;

    w->flag = NULL;
    switch (w->stripe_status) {
    case SR_OK:
        status = r->status;
        amount = apr_psprintf(p, "%" APR_INT64_T_FMT, r->amount);
        error = r->failure_reason;
        if (!strcmp(status, "failed") || !strcmp(status, "canceled")) {
            w->flag = apr_pstrcat(p, refund_name(p, w), " ", status, " at Stripe (",
                                  r->failure_reason ? r->failure_reason : "no reason given",
                                  "): refund the customer by hand", (char *)NULL);
        }
        else if (strcmp(status, "succeeded") && strcmp(status, "pending") && strcmp(status, "requires_action")) {
            /* A status this module does not know: keep following it as pending. */
            status = "pending";
        }
        break;
    case SR_INVALID:
        /* Refused for good (e.g. already refunded by hand): a person must look. */
        status = "failed";
        w->flag = apr_pstrcat(p, "Stripe refused ", refund_name(p, w), " (", r->error,
                              "): check the payment in Stripe and refund by hand", (char *)NULL);
        break;
    default:
        if (w->key_retry && q_refund_key_spent(db, apr_itoa(p, w->key_retry), w->refund_id) < 0) {
            return SR_UNAVAILABLE;
        }
        if (!strcmp(status, "due") && w->attempts == w->conf->payment_max_attempts) {
            /* Still retried (the money is owed, the key makes it safe), but a person should know. */
            w->flag = apr_psprintf(p, "%s is not done after %d tries (%s): still trying; refund by hand if it stays so",
                                   refund_name(p, w), w->attempts, r->error);
        }
        break;
    }
    if (q_refund_record(db, r->id, status, amount, error, seconds_arg(p, w->conf->offer_retry_delay), w->refund_id) <
            0 ||
        (w->flag && q_pay_flag(db, w->flag, w->payment_id) < 0)) {
        return SR_UNAVAILABLE;
    }
    return SR_OK;
}

/*
 * Refunds to ask of Stripe (due) or to follow up (pending), claimed with
 * a lease as payments are: of the payment's own PaymentIntent, or of the
 * second one the row names. Arguments: one payment id or NULL, the same,
 * the batch size, the lease.
 */
static const sr_statement_t stmt_refund_claim_due = {
    "sr_refund_claim_due",
    "WITH due AS (SELECT id FROM refunds "
    "WHERE status IN ('due', 'pending', 'requires_action') AND next_attempt_at <= now() "
    "AND (%s::bigint IS NULL OR payment_id = %s::bigint) "
    "ORDER BY next_attempt_at, id LIMIT %s::integer FOR UPDATE SKIP LOCKED) "
    "UPDATE refunds r SET attempts = r.attempts + 1, "
    "next_attempt_at = now() + make_interval(secs => %s::integer) "
    "FROM due, payments p WHERE r.id = due.id AND p.id = r.payment_id "
    "RETURNING r.id::text AS refund_id, r.payment_id::text AS payment_id, "
    "r.amount AS amount, r.status AS status, r.stripe_refund_id AS stripe_refund_id, "
    "r.attempts AS attempts, r.key_retry AS key_retry, "
    "COALESCE(r.payment_intent_id, p.stripe_payment_intent_id) AS payment_intent, "
    "r.payment_intent_id AS second_intent, "
    "(SELECT id FROM installation) AS installation_id",
    "refund_id,payment_id,amount,status,stripe_refund_id,attempts,key_retry,payment_intent,second_intent,"
    "installation_id"};
static sr_result_t *q_refund_claim_due(sr_db_t *db, const char *payment_id, const char *limit,
                                       const char *lease_seconds)
{
    return sr_db_select(db, &stmt_refund_claim_due, SR_ARGS(payment_id, payment_id, limit, lease_seconds));
}

int sr_payments_refund_due(sr_ctx_t *ctx)
{
    apr_pool_t *p = ctx->pool;
    /* As for deposits: each refund is a lookup and a request at most, one after another. */
    sr_result_t *claimed = sr_db_claim(ctx->db, q_refund_claim_due, NULL, SR_REFUND_BATCH,
                                       SR_REFUND_BATCH * 2 * ctx->conf->http_timeout + apr_time_from_sec(60));
    int i;

    if (!claimed) {
        return -1;
    }
    for (i = 0; i < claimed->nrows; i++) {
        refund_work_t w;
        sr_stripe_refund_t refund;
        const char *stripe_id = sr_result_get(claimed, i, "stripe_refund_id"), *key_retry;

        memset(&w, 0, sizeof(w));
        memset(&refund, 0, sizeof(refund));
        w.refund_id = sr_result_get(claimed, i, "refund_id");
        w.payment_id = sr_result_get(claimed, i, "payment_id");
        w.prior_status = sr_result_get(claimed, i, "status");
        w.second_intent = sr_result_get(claimed, i, "second_intent");
        w.attempts = atoi(sr_result_get(claimed, i, "attempts"));
        w.refund = &refund;
        w.conf = ctx->conf;
        if (stripe_id) {
            w.stripe_status = sr_stripe_get_refund(p, ctx->conf, stripe_id, &refund);
        }
        else if (!sr_result_get(claimed, i, "payment_intent")) {
            refund.error = "the payment has no PaymentIntent id to refund";
            w.stripe_status = SR_INVALID;
        }
        else if (!sr_result_get(claimed, i, "installation_id")) {
            /* Without it the key would not be this installation's own: wait for the row to be back. */
            refund.error = "this installation has no id (table installation is empty: see migration 005)";
            w.stripe_status = SR_UNAVAILABLE;
        }
        else {
            sr_stripe_refund_request_t in;

            in.payment_intent = sr_result_get(claimed, i, "payment_intent");
            in.amount = apr_atoi64(sr_result_get(claimed, i, "amount"));
            in.installation_id = sr_result_get(claimed, i, "installation_id");
            in.payment_id = w.payment_id;
            /*
             * One key per payment and installation (a second intent's adds its id): a retry (or another
             * server) cannot refund twice.
             */
            in.idempotency_key =
                sr_stripe_idempotency_key(p, in.installation_id, "refund", w.payment_id, w.second_intent);
            key_retry = sr_result_get(claimed, i, "key_retry");
            if (atoi(key_retry) > 0) {
                /* Stripe replays the 5xx saved under the key before: adopt what that request made, else a new key. */
                in.idempotency_key = apr_pstrcat(p, in.idempotency_key, "-r", key_retry, (char *)NULL);
                w.stripe_status = sr_stripe_find_refund(p, ctx->conf, &in, &refund);
            }
            if (w.stripe_status == SR_NOT_FOUND || atoi(key_retry) == 0) {
                w.stripe_status = sr_stripe_create_refund(p, ctx->conf, &in, &refund);
            }
            if (w.stripe_status == SR_UNAVAILABLE && refund.key_spent) {
                w.key_retry = w.attempts + 1;
            }
        }
        if (sr_db_transaction(ctx->db, refund_record_work, &w) != SR_OK) {
            /* The lease runs out and a later sweep asks again, with the same key. */
            continue;
        }
        if (w.stripe_status == SR_OK && !w.flag) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s, SR_LOG_PREFIX "payment %s: refund %s %s%s%s", w.payment_id,
                         refund.id, refund.status, w.second_intent ? " of the second PaymentIntent " : "",
                         w.second_intent ? w.second_intent : "");
        }
        else if (w.flag) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->s, SR_LOG_PREFIX "payment %s: %s", w.payment_id, w.flag);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s,
                         SR_LOG_PREFIX "payment %s: attempt %d at the refund failed, will retry: %s", w.payment_id,
                         w.attempts, refund.error);
        }
    }
    return claimed->nrows;
}

const sr_statement_t *const sr_payments_statements[] = {&stmt_pay_claim_due,
                                                        &stmt_pay_record_intent,
                                                        &stmt_pay_confirm_appointment,
                                                        &stmt_pay_retry_later,
                                                        &stmt_pay_find,
                                                        &stmt_pay_find_intent,
                                                        &stmt_pay_lock_slot,
                                                        &stmt_pay_lock,
                                                        &stmt_pay_mark_failed,
                                                        &stmt_pay_cancel_appointment,
                                                        &stmt_pay_reopen_slot,
                                                        &stmt_pay_decline_offer,
                                                        &stmt_pay_mark_succeeded,
                                                        &stmt_pay_unsent_to_settle,
                                                        &stmt_pay_unsent_state,
                                                        &stmt_pay_mark_canceled,
                                                        &stmt_pay_flag,
                                                        &stmt_refund_due,
                                                        &stmt_refund_second_due,
                                                        &stmt_refund_claim_due,
                                                        &stmt_refund_record,
                                                        &stmt_pay_key_spent,
                                                        &stmt_refund_key_spent,
                                                        NULL};
