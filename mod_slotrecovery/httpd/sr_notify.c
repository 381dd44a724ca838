/* SPDX-License-Identifier: Apache-2.0 */
/* The customer notifications outbox. */
#include "sr_notify.h"
#include "sr_twilio.h"
#include "sr_twilio_credentials.h"

#define SR_NOTIFY_BATCH 100
/* Recording what Twilio said: as for offers, a PostgreSQL restart's worth of tries, well inside the lease. */
#define SR_NOTIFY_RECORD_TRIES 15
#define SR_NOTIFY_RECORD_DELAY apr_time_from_sec(1)

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
    return sr_db_exec(db, SR_Q_NOTIFY_ENQUEUE, SR_ARGS(kind, what, payment_id)) < 0 ? SR_UNAVAILABLE : SR_OK;
}

typedef struct {
    const sr_result_t *claimed;
    const sr_twilio_send_t *sent;
    const sr_server_conf_t *conf;
} record_work_t;

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
            rows = sr_db_exec(db, SR_Q_NOTIFY_MARK_SENT, SR_ARGS(sent->message_sid, id));
        }
        else if (sent->auth_refused) {
            /* As for offers: Twilio refused our credentials, the notification waits for a fix. */
            rows = sr_db_exec(db, SR_Q_NOTIFY_WAIT_CREDENTIALS, SR_ARGS(sent->error, delay, id));
        }
        else {
            rows = sr_db_exec(db, SR_Q_NOTIFY_MARK_FAILED,
                              SR_ARGS(sent->error, sent->permanent ? "true" : "false",
                                      apr_itoa(p, SR_NOTIFY_MAX_ATTEMPTS), delay, id));
        }
        if (rows < 0) {
            return SR_UNAVAILABLE;
        }
    }
    sr_twilio_credentials_note(db, w->conf, w->claimed->nrows, w->sent, &status);
    return status;
}

int sr_notify_send_due(sr_ctx_t *ctx)
{
    apr_pool_t *p = ctx->pool;
    sr_result_t *claimed = sr_db_claim(ctx->db, SR_Q_NOTIFY_CLAIM_DUE, NULL, SR_NOTIFY_BATCH,
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
