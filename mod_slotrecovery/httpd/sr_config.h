/* SPDX-License-Identifier: Apache-2.0 */
/* Directives and the per-server configuration. */
#ifndef SR_CONFIG_H
#define SR_CONFIG_H

#include "mod_slotrecovery.h"

#define SR_UNSET -1

#define SR_DEFAULT_MAX_BODY (256 * 1024)
#define SR_DEFAULT_SWEEP_INTERVAL 30
/* Rows one sweep statement handles at a time (offers expired, slots passed on, unsent deposits settled). */
#define SR_SWEEP_BATCH 500
/* The same, written into statements (a LIMIT as a parameter gets a bad generic plan). */
#define SR_SWEEP_BATCH_SQL APR_STRINGIFY(SR_SWEEP_BATCH)
#define SR_DEFAULT_WORKER_INTERVAL 1
#define SR_DEFAULT_OFFER_MAX_ATTEMPTS 3
#define SR_DEFAULT_OFFER_CUTOFF 300
#define SR_DEFAULT_OFFER_RETRY_DELAY 30
#define SR_DEFAULT_PAYMENT_MAX_ATTEMPTS 5
#define SR_DEFAULT_HTTP_TIMEOUT 10
#define SR_DEFAULT_STRIPE_WEBHOOK_TOLERANCE 300
#define SR_DEFAULT_CSRF_LIFETIME (8 * 3600)
#define SR_DEFAULT_TWILIO_API_BASE "https://api.twilio.com"
#define SR_DEFAULT_STRIPE_API_BASE "https://api.stripe.com"

/*
 * Server configuration, merged per virtual host. Pointers are NULL and numbers
 * SR_UNSET until a directive sets them; sr_config_finalize() fills defaults
 * once the whole configuration has been read.
 */
typedef struct {
    const char *internal_secret;
    const char *public_base_url; /* scheme://host[:port], no trailing slash */
    const char *twilio_account_sid;
    const char *twilio_auth_token;
    const char *twilio_api_base;
    const char *stripe_secret_key;
    const char *stripe_webhook_secret;
    const char *stripe_api_base;
    apr_off_t max_body;
    /* the offer loop */
    apr_interval_time_t sweep_interval;
    apr_interval_time_t worker_interval; /* between two polls of the outbox by the worker */
    int offer_max_attempts;
    apr_interval_time_t offer_cutoff;      /* a slot this close to its start is no longer offered */
    apr_interval_time_t offer_retry_delay; /* first wait after a failed send; doubles each time */
    int payment_max_attempts;              /* tries to create a deposit's PaymentIntent before giving up */
    apr_interval_time_t http_timeout;      /* one call to Twilio or Stripe */
    apr_interval_time_t stripe_webhook_tolerance;
    const char *assets_dir;            /* SlotRecoveryAssetsDir; NULL: the copies built into the module */
    apr_interval_time_t csrf_lifetime; /* how long a dashboard form's token is accepted */
} sr_server_conf_t;

extern const command_rec sr_config_directives[];

void *sr_config_create_server(apr_pool_t *p, server_rec *s);
void *sr_config_merge_server(apr_pool_t *p, void *basev, void *addv);

/* Applies defaults to every server_rec; called from post_config. */
void sr_config_finalize(server_rec *s);

sr_server_conf_t *sr_config_get(const server_rec *s);

#endif /* SR_CONFIG_H */
