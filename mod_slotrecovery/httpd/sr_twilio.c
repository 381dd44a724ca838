/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio for a server's configuration: core/sr_twilio_client over libcurl, logging to the main server. */
#include "sr_http.h"
#include "sr_server_log.h"
#include "sr_twilio.h"

/* The core's client for conf; *log must outlive the call. */
static sr_twilio_client_t twilio_client(const sr_server_conf_t *conf, const sr_log_t *log)
{
    sr_twilio_client_t c = {conf->twilio_api_base, conf->twilio_account_sid, conf->twilio_auth_token,
                            conf->http_timeout,    sr_http_curl_client(),    log};

    return c;
}

int sr_twilio_configured(const sr_server_conf_t *conf)
{
    sr_twilio_client_t c = twilio_client(conf, NULL);

    return sr_twilio_client_configured(&c);
}

void sr_twilio_send_all(apr_pool_t *p, const sr_server_conf_t *conf, int n, const sr_twilio_sms_t *sms,
                        sr_twilio_send_t *out)
{
    sr_log_t log = sr_server_log(NULL);
    sr_twilio_client_t c = twilio_client(conf, &log);

    sr_twilio_client_send_all(p, &c, n, sms, out);
}
