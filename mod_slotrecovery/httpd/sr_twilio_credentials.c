/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio refusing our credentials: the state shared by every httpd on the database, and its log line. */
#include "sr_twilio_credentials.h"

const sr_twilio_send_t *sr_twilio_credentials_note(sr_db_t *db, const sr_server_conf_t *conf, int n,
                                                   const sr_twilio_send_t *out, sr_status_t *status)
{
    apr_pool_t *p = sr_db_pool(db);
    const sr_twilio_send_t *refused = NULL;
    int i, accepted = 0;

    *status = SR_OK;
    for (i = 0; i < n; i++) {
        if (out[i].auth_refused && !refused) {
            refused = &out[i];
        }
        accepted += out[i].message_sid != NULL;
    }
    if (refused) {
        if (sr_db_exec(db, SR_Q_TWILIO_CREDENTIALS_REFUSED,
                       SR_ARGS(conf->twilio_account_sid, apr_itoa(p, refused->http_status),
                               refused->code ? apr_psprintf(p, "%" APR_INT64_T_FMT, refused->code) : NULL,
                               refused->error)) < 0) {
            *status = SR_UNAVAILABLE;
        }
    }
    else if (accepted > 0 && sr_db_exec(db, SR_Q_TWILIO_CREDENTIALS_OK, SR_ARGS(conf->twilio_account_sid)) < 0) {
        *status = SR_UNAVAILABLE;
    }
    return refused;
}

void sr_twilio_credentials_log_refused(server_rec *s, const sr_server_conf_t *conf, int n, const sr_twilio_send_t *out,
                                       const char *what)
{
    const char *error = NULL;
    int i, refused = 0;

    for (i = 0; i < n; i++) {
        if (out[i].auth_refused) {
            refused++;
            error = out[i].error;
        }
    }
    /* The SID only, never the token: the error is Twilio's answer (status, code, message). */
    if (refused) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     SR_LOG_PREFIX "Twilio refused the credentials of account %s (%s): %d %s wait, their attempts "
                                   "not counted, until SlotRecoveryTwilioAccountSid / SlotRecoveryTwilioAuthToken "
                                   "are fixed and httpd reloaded",
                     conf->twilio_account_sid, error, refused, what);
    }
}
