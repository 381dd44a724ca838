/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio: sending SMS through its REST API and checking its webhook signatures. */
#ifndef SR_TWILIO_H
#define SR_TWILIO_H

#include "mod_slotrecovery.h"
#include "sr_config.h"
#include "sr_form.h"
#include "sr_twilio_protocol.h" /* webhook signatures */

typedef struct {
    const char *message_sid; /* set when Twilio accepted the message */
    const char *error;       /* why it was not sent */
    int permanent;           /* retrying cannot help (invalid or unsubscribed number) */
    int auth_refused;        /* 401/403: Twilio refused our account SID or auth token, not this message */
    int http_status;         /* Twilio's answer, 0 when it could not be reached */
    apr_int64_t code;        /* Twilio's error code (21211, 21610, 20003, ...), 0 when none */
} sr_twilio_send_t;

/* Twilio's error for a recipient who replied STOP: sending is blocked until they text START. */
#define SR_TWILIO_UNSUBSCRIBED 21610

typedef struct {
    const char *to, *from, *body;
    const char *status_callback; /* delivery reports go there, or NULL */
} sr_twilio_sms_t;

/* Whether conf can send SMS at all: an Account SID and an auth token. */
int sr_twilio_configured(const sr_server_conf_t *conf);

/*
 * Sends n messages, at once when there are several (a sweep's batch), each a
 * POST {base}/2010-04-01/Accounts/{sid}/Messages.json: out[i] has the message
 * sid when Twilio accepted sms[i], else why not.
 */
void sr_twilio_send_all(apr_pool_t *p, const sr_server_conf_t *conf, int n, const sr_twilio_sms_t *sms,
                        sr_twilio_send_t *out);

#endif /* SR_TWILIO_H */
