/* SPDX-License-Identifier: Apache-2.0 */
/* Stripe for a server's configuration: core/sr_stripe_client over libcurl, logging to the main server. */
#include "sr_http.h"
#include "sr_server_log.h"
#include "sr_stripe.h"

/* The core's client for conf; *log must outlive the call. */
static sr_stripe_client_t stripe_client(const sr_server_conf_t *conf, const sr_log_t *log)
{
    sr_stripe_client_t c = {conf->stripe_api_base, conf->stripe_secret_key, conf->http_timeout, sr_http_curl_client(),
                            log};

    return c;
}

sr_status_t sr_stripe_create_payment_intent(apr_pool_t *p, const sr_server_conf_t *conf,
                                            const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out)
{
    sr_log_t log = sr_server_log(NULL);
    sr_stripe_client_t c = stripe_client(conf, &log);

    return sr_stripe_client_create_payment_intent(p, &c, in, out);
}

sr_status_t sr_stripe_find_payment_intent(apr_pool_t *p, const sr_server_conf_t *conf,
                                          const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out)
{
    sr_log_t log = sr_server_log(NULL);
    sr_stripe_client_t c = stripe_client(conf, &log);

    return sr_stripe_client_find_payment_intent(p, &c, in, out);
}

sr_status_t sr_stripe_create_refund(apr_pool_t *p, const sr_server_conf_t *conf, const sr_stripe_refund_request_t *in,
                                    sr_stripe_refund_t *out)
{
    sr_log_t log = sr_server_log(NULL);
    sr_stripe_client_t c = stripe_client(conf, &log);

    return sr_stripe_client_create_refund(p, &c, in, out);
}

sr_status_t sr_stripe_find_refund(apr_pool_t *p, const sr_server_conf_t *conf, const sr_stripe_refund_request_t *in,
                                  sr_stripe_refund_t *out)
{
    sr_log_t log = sr_server_log(NULL);
    sr_stripe_client_t c = stripe_client(conf, &log);

    return sr_stripe_client_find_refund(p, &c, in, out);
}

sr_status_t sr_stripe_get_refund(apr_pool_t *p, const sr_server_conf_t *conf, const char *refund_id,
                                 sr_stripe_refund_t *out)
{
    sr_log_t log = sr_server_log(NULL);
    sr_stripe_client_t c = stripe_client(conf, &log);

    return sr_stripe_client_get_refund(p, &c, refund_id, out);
}
