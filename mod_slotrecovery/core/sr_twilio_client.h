/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Twilio's Messages API as the module uses it, without I/O of its own:
 * requests are built here and performed through an sr_http_client_t, answers
 * are read here. The glue (httpd/sr_twilio.c) fills the client from the
 * server's configuration.
 */
#ifndef SR_TWILIO_CLIENT_H
#define SR_TWILIO_CLIENT_H

#include <apr_pools.h>
#include <apr_time.h>

#include "sr_http_client.h"
#include "sr_log.h"

/* Where and as whom to call Twilio. */
typedef struct {
    const char *api_base;        /* https://api.twilio.com (no trailing slash) */
    const char *account_sid;     /* AC...; NULL: Twilio is not configured */
    const char *auth_token;      /* NULL: not configured */
    apr_interval_time_t timeout; /* one call */
    const sr_http_client_t *http;
    const sr_log_t *log; /* failed sends at debug; may be NULL */
} sr_twilio_client_t;

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

/* Whether c can send SMS at all: an Account SID and an auth token. */
int sr_twilio_client_configured(const sr_twilio_client_t *c);

/*
 * Sends n messages, at once when there are several (a sweep's batch: the
 * client's perform_all), each a POST
 * {base}/2010-04-01/Accounts/{sid}/Messages.json (To, From, Body,
 * StatusCallback; HTTP Basic with the SID and token): out[i] has the message
 * sid when Twilio accepted sms[i], else why not.
 */
void sr_twilio_client_send_all(apr_pool_t *p, const sr_twilio_client_t *c, int n, const sr_twilio_sms_t *sms,
                               sr_twilio_send_t *out);

#endif /* SR_TWILIO_CLIENT_H */
