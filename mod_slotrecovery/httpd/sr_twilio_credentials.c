/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio refusing our credentials: the state shared by every httpd on the database, and its log line. */
#include "sr_twilio_credentials.h"

/*
 * Twilio refused this server's account SID or auth token (401/403, see
 * migration 011). Arguments: account SID, HTTP status, Twilio's error
 * code or NULL, the error. A problem that had been resolved starts again.
 */
static const sr_statement_t stmt_twilio_credentials_refused = {
    "sr_twilio_credentials_refused",
    "INSERT INTO twilio_credential_problems AS t (account_sid, http_status, error_code, message) "
    "VALUES (%s, %s::integer, %s::integer, left(%s, 500)) "
    "ON CONFLICT (account_sid) DO UPDATE SET http_status = EXCLUDED.http_status, "
    "error_code = EXCLUDED.error_code, message = EXCLUDED.message, last_seen_at = now(), "
    "first_seen_at = CASE WHEN t.resolved_at IS NULL THEN t.first_seen_at ELSE now() END, resolved_at = NULL",
    NULL};
static int q_twilio_credentials_refused(sr_db_t *db, const char *account_sid, const char *http_status,
                                        const char *error_code, const char *error)
{
    return sr_db_exec(db, &stmt_twilio_credentials_refused, SR_ARGS(account_sid, http_status, error_code, error));
}

/* Twilio accepted a message of this account again. Writes nothing when there was no problem. */
static const sr_statement_t stmt_twilio_credentials_ok = {"sr_twilio_credentials_ok",
                                                          "UPDATE twilio_credential_problems SET resolved_at = now() "
                                                          "WHERE account_sid = %s AND resolved_at IS NULL",
                                                          NULL};
static int q_twilio_credentials_ok(sr_db_t *db, const char *account_sid)
{
    return sr_db_exec(db, &stmt_twilio_credentials_ok, SR_ARGS(account_sid));
}

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
        if (q_twilio_credentials_refused(db, conf->twilio_account_sid, apr_itoa(p, refused->http_status),
                                         refused->code ? apr_psprintf(p, "%" APR_INT64_T_FMT, refused->code) : NULL,
                                         refused->error) < 0) {
            *status = SR_UNAVAILABLE;
        }
    }
    else if (accepted > 0 && q_twilio_credentials_ok(db, conf->twilio_account_sid) < 0) {
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

const sr_statement_t *const sr_twilio_credentials_statements[] = {&stmt_twilio_credentials_refused,
                                                                  &stmt_twilio_credentials_ok, NULL};
