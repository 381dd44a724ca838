/* SPDX-License-Identifier: Apache-2.0 */
/* The customer notifications outbox. */
#include "sr_notify.h"
#include "sr_twilio.h"
#include "sr_twilio_credentials.h"

#define SR_NOTIFY_BATCH 100
/* Recording what Twilio said: as for offers, a PostgreSQL restart's worth of tries, well inside the lease. */
#define SR_NOTIFY_RECORD_TRIES 15
#define SR_NOTIFY_RECORD_DELAY apr_time_from_sec(1)

/*
 * A text to the customer about their deposit, in the transaction that
 * released the booking. The shop name is cut on a character boundary
 * (PostgreSQL counts characters) to keep the text to one segment.
 * Arguments: kind, what happened (the start of the sentence), payment.
 */
static const sr_statement_t stmt_notify_enqueue = {
    "sr_notify_enqueue",
    "INSERT INTO customer_notifications (customer_id, payment_id, kind, to_number, from_number, body) "
    "SELECT c.id, p.id, %s, c.phone, s.sms_from, "
    "CASE WHEN length(s.name) > 40 THEN left(s.name, 37) || '...' ELSE s.name END || ': ' || %s || "
    "', so your ' || to_char(a.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon HH24:MI') || "
    "' booking is released. You have not been charged.' "
    "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
    "JOIN customers c ON c.id = a.customer_id JOIN shops s ON s.id = a.shop_id "
    "WHERE p.id = %s::bigint AND c.sms_opt_in "
    "ON CONFLICT (payment_id) DO NOTHING",
    NULL};
static int q_notify_enqueue(sr_db_t *db, const char *kind, const char *what, const char *payment_id)
{
    return sr_db_exec(db, &stmt_notify_enqueue, SR_ARGS(kind, what, payment_id));
}

sr_status_t sr_notify_payment(sr_db_t *db, const char *payment_id, sr_notice_t notice)
{
    const char *kind, *what;

    switch (notice) {
    case SR_NOTICE_GAVE_UP:
        kind = "deposit_gave_up";
        what = "we could not take the deposit";
        break;
    case SR_NOTICE_DECLINED:
        kind = "deposit_declined";
        what = "your card was declined";
        break;
    case SR_NOTICE_SHOP_PROBLEM:
        kind = "deposit_shop_problem";
        what = "a problem on our side stopped the deposit";
        break;
    case SR_NOTICE_FAILED:
        kind = "deposit_failed";
        what = "the deposit payment failed";
        break;
    default:
        return SR_OK;
    }
    return q_notify_enqueue(db, kind, what, payment_id) < 0 ? SR_UNAVAILABLE : SR_OK;
}

typedef struct {
    const sr_result_t *claimed;
    const sr_twilio_send_t *sent;
    const sr_server_conf_t *conf;
} record_work_t;

static const sr_statement_t stmt_notify_mark_sent = {
    "sr_notify_mark_sent",
    "UPDATE customer_notifications SET status = 'sent', provider_message_id = %s, "
    "sent_at = now(), last_error = NULL WHERE id = %s::bigint AND status = 'pending'",
    NULL};
static int q_notify_mark_sent(sr_db_t *db, const char *message_sid, const char *notification_id)
{
    return sr_db_exec(db, &stmt_notify_mark_sent, SR_ARGS(message_sid, notification_id));
}

/* As for offers: arguments error, permanent, max attempts, base delay, id. */
static const sr_statement_t stmt_notify_mark_failed = {
    "sr_notify_mark_failed",
    "UPDATE customer_notifications SET last_error = left(%s, 500), "
    "status = CASE WHEN %s::boolean OR attempts >= %s::integer "
    "THEN 'failed' ELSE 'pending' END, "
    "next_attempt_at = now() + make_interval(secs => "
    "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
    "WHERE id = %s::bigint AND status = 'pending'",
    NULL};
static int q_notify_mark_failed(sr_db_t *db, const char *error, const char *permanent, const char *max_attempts,
                                const char *base_delay_seconds, const char *notification_id)
{
    return sr_db_exec(db, &stmt_notify_mark_failed,
                      SR_ARGS(error, permanent, max_attempts, base_delay_seconds, notification_id));
}

/* The same for a customer notification. */
static const sr_statement_t stmt_notify_wait_credentials = {
    "sr_notify_wait_credentials",
    "UPDATE customer_notifications SET last_error = left(%s, 500), "
    "attempts = greatest(attempts - 1, 0), "
    "next_attempt_at = now() + make_interval(secs => %s::integer) "
    "WHERE id = %s::bigint AND status = 'pending'",
    NULL};
static int q_notify_wait_credentials(sr_db_t *db, const char *error, const char *delay_seconds,
                                     const char *notification_id)
{
    return sr_db_exec(db, &stmt_notify_wait_credentials, SR_ARGS(error, delay_seconds, notification_id));
}

static sr_status_t record_work(sr_db_t *db, void *baton)
{
    record_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    sr_status_t status;
    int i;

    for (i = 0; i < w->claimed->nrows; i++) {
        const char *id = sr_result_get(w->claimed, i, "id");
        const sr_twilio_send_t *sent = &w->sent[i];
        const char *delay = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(w->conf->offer_retry_delay));
        int rows;

        if (sent->message_sid) {
            rows = q_notify_mark_sent(db, sent->message_sid, id);
        }
        else if (sent->auth_refused) {
            /* As for offers: Twilio refused our credentials, the notification waits for a fix. */
            rows = q_notify_wait_credentials(db, sent->error, delay, id);
        }
        else {
            rows = q_notify_mark_failed(db, sent->error, sent->permanent ? "true" : "false",
                                        apr_itoa(p, SR_NOTIFY_MAX_ATTEMPTS), delay, id);
        }
        if (rows < 0) {
            return SR_UNAVAILABLE;
        }
    }
    sr_twilio_credentials_note(db, w->conf, w->claimed->nrows, w->sent, &status);
    return status;
}

/* Arguments: one notification id or NULL, the same, the batch size, the lease. */
static const sr_statement_t stmt_notify_claim_due = {
    "sr_notify_claim_due",
    "WITH due AS (SELECT id FROM customer_notifications "
    "WHERE status = 'pending' AND next_attempt_at <= now() "
    "AND (%s::bigint IS NULL OR id = %s::bigint) "
    "ORDER BY next_attempt_at, id LIMIT %s::integer FOR UPDATE SKIP LOCKED) "
    "UPDATE customer_notifications n SET attempts = n.attempts + 1, "
    "next_attempt_at = now() + make_interval(secs => %s::integer) "
    "FROM due WHERE n.id = due.id "
    "RETURNING n.id::text AS id, n.to_number AS to_number, n.from_number AS from_number, "
    "n.body AS body, n.attempts AS attempts",
    "id,to_number,from_number,body,attempts"};
static sr_result_t *q_notify_claim_due(sr_db_t *db, const char *notification_id, const char *limit,
                                       const char *lease_seconds)
{
    return sr_db_select(db, &stmt_notify_claim_due, SR_ARGS(notification_id, notification_id, limit, lease_seconds));
}

int sr_notify_send_due(sr_ctx_t *ctx)
{
    apr_pool_t *p = ctx->pool;
    sr_result_t *claimed = sr_db_claim(ctx->db, q_notify_claim_due, NULL, SR_NOTIFY_BATCH,
                                       ctx->conf->http_timeout + apr_time_from_sec(60));
    sr_twilio_sms_t *sms;
    sr_twilio_send_t *sent;
    record_work_t record;
    int i, tries;

    if (!claimed) {
        return -1;
    }
    if (claimed->nrows == 0) {
        return 0;
    }
    sms = apr_pcalloc(p, (apr_size_t)claimed->nrows * sizeof(*sms));
    sent = apr_pcalloc(p, (apr_size_t)claimed->nrows * sizeof(*sent));
    for (i = 0; i < claimed->nrows; i++) {
        sms[i].to = sr_result_get(claimed, i, "to_number");
        sms[i].from = sr_result_get(claimed, i, "from_number");
        sms[i].body = sr_result_get(claimed, i, "body");
    }
    /* The claim has committed: the lease keeps other sweeps off these while Twilio answers. */
    sr_twilio_send_all(p, ctx->conf, claimed->nrows, sms, sent);
    for (i = 0; i < claimed->nrows; i++) {
        const char *id = sr_result_get(claimed, i, "id");

        if (sent[i].message_sid) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s, SR_LOG_PREFIX "customer notification %s sent as %s", id,
                         sent[i].message_sid);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s,
                         SR_LOG_PREFIX "customer notification %s: attempt %s failed%s: %s", id,
                         sr_result_get(claimed, i, "attempts"), sent[i].permanent ? " for good" : "", sent[i].error);
        }
    }
    sr_twilio_credentials_log_refused(ctx->s, ctx->conf, claimed->nrows, sent, "customer notifications");
    record = (record_work_t){claimed, sent, ctx->conf};
    for (tries = 1; sr_db_transaction(ctx->db, record_work, &record) != SR_OK; tries++) {
        if (tries == SR_NOTIFY_RECORD_TRIES) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->s,
                         SR_LOG_PREFIX "could not record %d customer notifications after %d tries: they are sent "
                                       "again when their lease ends",
                         claimed->nrows, tries);
            return -1;
        }
        apr_sleep(SR_NOTIFY_RECORD_DELAY);
    }
    return claimed->nrows;
}

const sr_statement_t *const sr_notify_statements[] = {&stmt_notify_enqueue,          &stmt_notify_claim_due,
                                                      &stmt_notify_mark_sent,        &stmt_notify_mark_failed,
                                                      &stmt_notify_wait_credentials, NULL};
