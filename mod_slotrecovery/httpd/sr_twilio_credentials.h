/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Twilio refusing this server's account SID or auth token (HTTP 401/403):
 * recorded per account in twilio_credential_problems (migration 011), so every
 * httpd on the database and the dashboard agree; cleared by the first message
 * Twilio accepts. Used by every sender of SMS (offers, customer notifications).
 */
#ifndef SR_TWILIO_CREDENTIALS_H
#define SR_TWILIO_CREDENTIALS_H

#include "sr_config.h"
#include "sr_db.h"
#include "sr_twilio.h"

/*
 * After a batch of n sends (out), in the caller's transaction: a 401/403
 * records that Twilio refuses this server's account (twilio_credential_problems,
 * shared by every httpd on the database, shown on the dashboard); a message
 * Twilio accepted clears it. Returns the refused answer (for the log), or NULL.
 */
const sr_twilio_send_t *sr_twilio_credentials_note(sr_db_t *db, const sr_server_conf_t *conf, int n,
                                                   const sr_twilio_send_t *out, sr_status_t *status);

/* One error-level line when Twilio refused our credentials for some of the n sends (what: "offers", ...). */
void sr_twilio_credentials_log_refused(server_rec *s, const sr_server_conf_t *conf, int n, const sr_twilio_send_t *out,
                                       const char *what);

/* The statements sr_twilio_credentials.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_twilio_credentials_statements[];

#endif /* SR_TWILIO_CREDENTIALS_H */
