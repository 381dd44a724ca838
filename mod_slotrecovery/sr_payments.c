/* Deposits through Stripe PaymentIntents. */
#include "sr_payments.h"
#include "sr_stripe.h"

#define SR_CHARGE_BATCH 50

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

sr_status_t sr_payment_find(sr_db_t *db, const sr_stripe_event_t *event, const char **payment_id,
                            const char **slot_opening_id, const char **mismatch)
{
    sr_result_t *res = sr_db_select(db, SR_Q_PAY_FIND, SR_ARGS(event->intent_id, event->metadata_payment_id));

    *payment_id = *slot_opening_id = *mismatch = NULL;
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_OK;
    }
    if (!sr_result_bool(res, 0, "by_intent_id") && (*mismatch = metadata_mismatch(sr_db_pool(db), res, event))) {
        *mismatch = apr_pstrcat(sr_db_pool(db), "metadata names payment ", sr_result_get(res, 0, "payment_id"),
                                ", but ", *mismatch, (char *)NULL);
        return SR_OK;
    }
    *payment_id = sr_result_get(res, 0, "payment_id");
    *slot_opening_id = sr_result_get(res, 0, "slot_opening_id");
    return SR_OK;
}

/* Locks the slot (first, as YES does) and the payment with its appointment. */
static sr_result_t *lock_payment(sr_db_t *db, const char *payment_id, const char *slot_opening_id)
{
    if (slot_opening_id && !sr_db_select(db, SR_Q_PAY_LOCK_SLOT, SR_ARGS(slot_opening_id))) {
        return NULL;
    }
    return sr_db_select(db, SR_Q_PAY_LOCK, SR_ARGS(payment_id));
}

sr_status_t sr_payment_fail(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                            const char *message, sr_payment_change_t *out)
{
    sr_result_t *res = lock_payment(db, payment_id, slot_opening_id);
    const char *status, *appointment_id, *customer_id;
    int reopened;

    memset(out, 0, sizeof(*out));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    status = sr_result_get(res, 0, "status");
    if (!strcmp(status, "succeeded") || !strcmp(status, "failed")) {
        /* Out of order or repeated: a confirmed booking is never reopened. */
        out->outcome = apr_pstrcat(sr_db_pool(db), "ignored: payment already ", status, (char *)NULL);
        return SR_OK;
    }
    appointment_id = sr_result_get(res, 0, "appointment_id");
    customer_id = sr_result_get(res, 0, "customer_id");
    slot_opening_id = sr_result_get(res, 0, "slot_opening_id");
    message = message ? message : "payment failed";
    if (sr_db_exec(db, SR_Q_PAY_MARK_FAILED, SR_ARGS(message, intent_id, payment_id)) < 0) {
        return SR_UNAVAILABLE;
    }
    if (!strcmp(sr_result_get(res, 0, "appointment_status"), "cancelled")) {
        /* The shop cancelled the booking already, and that opened its time again. */
        out->outcome = "payment failed: the booking had been cancelled already";
        return SR_OK;
    }
    if (sr_db_exec(db, SR_Q_PAY_CANCEL_APPOINTMENT, SR_ARGS(appointment_id)) < 0) {
        return SR_UNAVAILABLE;
    }
    out->outcome = "payment failed: booking released";
    if (slot_opening_id) {
        reopened = sr_db_exec(db, SR_Q_PAY_REOPEN_SLOT, SR_ARGS(slot_opening_id, appointment_id));
        if (reopened < 0 ||
            sr_db_exec(db, SR_Q_PAY_DECLINE_OFFER, SR_ARGS(message, slot_opening_id, customer_id)) < 0) {
            return SR_UNAVAILABLE;
        }
        if (reopened > 0) {
            out->reopened_slot_id = slot_opening_id;
            out->outcome = "payment failed: booking released, slot reopened";
        }
    }
    return SR_OK;
}

sr_status_t sr_payment_succeed(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                               sr_payment_change_t *out)
{
    sr_result_t *res = lock_payment(db, payment_id, slot_opening_id);
    const char *status, *appointment_id, *flag = NULL;

    memset(out, 0, sizeof(*out));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    status = sr_result_get(res, 0, "status");
    appointment_id = sr_result_get(res, 0, "appointment_id");
    if (!strcmp(status, "succeeded")) {
        out->outcome = "ignored: payment already succeeded";
        return SR_OK;
    }
    /* Money taken for a booking that no longer stands: kept, and flagged for a person. */
    if (!strcmp(status, "failed")) {
        flag = "succeeded after the failure released the booking: refund or rebook";
    }
    else if (!strcmp(sr_result_get(res, 0, "appointment_status"), "cancelled")) {
        flag = "succeeded for a cancelled booking: refund";
    }
    if (sr_db_exec(db, SR_Q_PAY_MARK_SUCCEEDED, SR_ARGS(flag, intent_id, payment_id)) < 0 ||
        (!flag && sr_db_exec(db, SR_Q_PAY_CONFIRM_APPOINTMENT, SR_ARGS(appointment_id)) < 0)) {
        return SR_UNAVAILABLE;
    }
    if (flag) {
        out->outcome = apr_pstrcat(sr_db_pool(db), "flagged: payment ", flag, (char *)NULL);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, SR_LOG_PREFIX "payment %s %s", payment_id, flag);
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
    const sr_stripe_intent_t *intent;
    sr_status_t stripe_status;
    const sr_server_conf_t *conf;
    sr_payment_change_t change;
} record_work_t;

static sr_status_t record_work(sr_db_t *db, void *baton)
{
    record_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *res;

    memset(&w->change, 0, sizeof(w->change));
    switch (w->stripe_status) {
    case SR_OK:
        res = sr_db_select(db, SR_Q_PAY_RECORD_INTENT, SR_ARGS(w->intent->id, w->intent->status, NULL, w->payment_id));
        if (!res) {
            return SR_UNAVAILABLE;
        }
        if (res->nrows > 0 && !strcmp(sr_result_get(res, 0, "status"), "succeeded") &&
            sr_db_exec(db, SR_Q_PAY_CONFIRM_APPOINTMENT, SR_ARGS(sr_result_get(res, 0, "appointment_id"))) < 0) {
            return SR_UNAVAILABLE;
        }
        return SR_OK;
    case SR_INVALID:
        /* Refused at once: the same path as payment_intent.payment_failed. */
        return sr_payment_fail(db, w->payment_id, w->slot_opening_id, w->intent->id, w->intent->error, &w->change);
    default:
        return sr_db_exec(db, SR_Q_PAY_RETRY_LATER,
                          SR_ARGS(w->intent->error,
                                  apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(w->conf->offer_retry_delay)),
                                  w->payment_id)) < 0
                   ? SR_UNAVAILABLE
                   : SR_OK;
    }
}

/*
 * Derived from the payment row and the installation: every retry is the same
 * request to Stripe, and no other installation (nor this database restored
 * from a backup) sends it. *installation_id is what goes in the metadata.
 * A payment from before migration 007 has no token: it keeps the key and the
 * parameters its first attempts were sent with (Stripe refuses a key reused
 * with other parameters), so a retry of one that reached Stripe cannot charge
 * twice.
 */
static const char *deposit_key(sr_loop_t *loop, const sr_result_t *c, int row, const char **installation_id)
{
    const char *payment_id = sr_result_get(c, row, "payment_id");
    const char *token = sr_result_get(c, row, "key_token");
    const char *key;

    if (!token) {
        *installation_id = NULL;
        return apr_pstrcat(loop->pool, "slotrecovery-deposit-", payment_id, (char *)NULL);
    }
    *installation_id = sr_result_get(c, row, "installation_id");
    key = sr_stripe_idempotency_key(loop->pool, *installation_id, "deposit", payment_id, token);
    if (!key) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, loop->s,
                     SR_LOG_PREFIX "payment %s waits: table installation has no row (migration 005), so no "
                                   "Idempotency-Key of this installation can be made",
                     payment_id);
    }
    return key;
}

int sr_payments_charge_due(sr_loop_t *loop, const char *payment_id, const char **refusal)
{
    apr_pool_t *p = loop->pool;
    sr_result_t *claimed = sr_db_claim(loop->db, SR_Q_PAY_CLAIM_DUE, payment_id, payment_id ? 1 : SR_CHARGE_BATCH,
                                       loop->conf->http_timeout + apr_time_from_sec(60));
    int i, answered = 0;

    if (!claimed) {
        return -1;
    }
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
        in.idempotency_key = deposit_key(loop, c, i, &in.installation_id);

        memset(&record, 0, sizeof(record));
        record.payment_id = in.payment_id;
        record.slot_opening_id = in.slot_opening_id;
        record.intent = &intent;
        record.conf = loop->conf;
        if (!in.customer || !in.payment_method) {
            memset(&intent, 0, sizeof(intent));
            intent.error = "the customer has no saved card (stripeCustomerId and stripePaymentMethodId)";
            record.stripe_status = SR_INVALID;
        }
        else {
            record.stripe_status = sr_stripe_create_payment_intent(p, loop->conf, &in, &intent);
        }
        if (record.stripe_status == SR_UNAVAILABLE) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, loop->s,
                         SR_LOG_PREFIX "payment %s: attempt %s to create the PaymentIntent failed, will retry: %s",
                         in.payment_id, sr_result_get(c, i, "attempts"), intent.error);
        }
        else {
            answered++;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, loop->s, SR_LOG_PREFIX "payment %s: PaymentIntent %s %s%s%s",
                         in.payment_id, intent.id ? intent.id : "(none)", intent.status ? intent.status : "refused",
                         intent.error ? ": " : "", intent.error ? intent.error : "");
        }
        /* If recording fails the lease runs out and the sweep asks Stripe again, same key. */
        if (record.stripe_status == SR_INVALID && refusal) {
            *refusal = intent.error;
        }
        if (sr_db_transaction(loop->db, record_work, &record) == SR_OK && record.change.reopened_slot_id) {
            sr_advance_t adv = {0};

            sr_offer_loop_advance(loop, record.change.reopened_slot_id, &adv);
        }
    }
    return answered;
}
