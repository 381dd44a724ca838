/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio's Messages API: the request for one SMS and what Twilio's answer to it means. */
#include <string.h>

#include <apr_escape.h>
#include <apr_strings.h>

#include "sr_form.h"
#include "sr_json.h"
#include "sr_twilio_client.h"

static void message_request(apr_pool_t *p, const sr_twilio_client_t *c, const sr_twilio_sms_t *sms,
                            sr_http_request_t *req)
{
    sr_form_t *form = sr_form_make(p);

    sr_form_add(form, "To", sms->to);
    sr_form_add(form, "From", sms->from);
    sr_form_add(form, "Body", sms->body);
    if (sms->status_callback) {
        sr_form_add(form, "StatusCallback", sms->status_callback);
    }
    memset(req, 0, sizeof(*req));
    req->method = "POST";
    req->url = apr_pstrcat(p, c->api_base, "/2010-04-01/Accounts/", apr_pescape_path_segment(p, c->account_sid),
                           "/Messages.json", (char *)NULL);
    req->basic_user = c->account_sid;
    req->basic_password = c->auth_token;
    req->form = sr_form_encode(form);
    req->timeout = c->timeout;
}

/* What Twilio's answer to one message means. */
static void message_outcome(apr_pool_t *p, const sr_http_response_t *res, sr_twilio_send_t *out)
{
    sr_json_t *doc;
    const char *error = NULL, *message = NULL;
    apr_int64_t code = 0;

    out->http_status = res->status;
    if (!res->status) {
        out->error = apr_pstrcat(p, "Twilio unreachable: ", res->error, (char *)NULL);
        return;
    }
    doc = sr_json_parse(p, res->body, res->body_len, &error);
    if (res->status >= 200 && res->status < 300) {
        if (doc && sr_json_get_string(doc, "sid", &out->message_sid) == SR_JSON_FOUND && *out->message_sid) {
            return;
        }
        out->message_sid = NULL;
        out->error = apr_psprintf(p, "Twilio answered %d without a message sid", res->status);
        return;
    }
    if (doc) {
        sr_json_get_string(doc, "message", &message);
        sr_json_get_int(doc, "code", &code);
    }
    out->error = apr_psprintf(p, "Twilio answered %d%s%s%s", res->status,
                              code ? apr_psprintf(p, " (error %" APR_INT64_T_FMT ")", code) : "", message ? ": " : "",
                              message ? message : "");
    out->code = code;
    /* Credentials refused: nothing is wrong with the message, and nothing can go
     * out until the configuration is fixed; the callers keep it waiting. */
    out->auth_refused = res->status == 401 || res->status == 403;
    /* A 4xx other than throttling or credentials says the message itself is wrong
     * (invalid number, unsubscribed recipient): sending it again cannot help. */
    out->permanent = res->status >= 400 && res->status < 500 && res->status != 429 && !out->auth_refused;
}

int sr_twilio_client_configured(const sr_twilio_client_t *c)
{
    return c->account_sid && c->auth_token;
}

void sr_twilio_client_send_all(apr_pool_t *p, const sr_twilio_client_t *c, int n, const sr_twilio_sms_t *sms,
                               sr_twilio_send_t *out)
{
    sr_http_request_t *reqs;
    sr_http_response_t *res;
    int i;

    if (n <= 0) {
        return;
    }
    reqs = apr_pcalloc(p, (apr_size_t)n * sizeof(*reqs));
    res = apr_pcalloc(p, (apr_size_t)n * sizeof(*res));
    memset(out, 0, (apr_size_t)n * sizeof(*out));
    if (!sr_twilio_client_configured(c)) {
        for (i = 0; i < n; i++) {
            out[i].error = "Twilio is not configured (SlotRecoveryTwilioAccountSid / SlotRecoveryTwilioAuthToken)";
        }
        return;
    }
    for (i = 0; i < n; i++) {
        message_request(p, c, &sms[i], &reqs[i]);
    }
    sr_http_client_perform_all(c->http, p, n, reqs, res);
    for (i = 0; i < n; i++) {
        message_outcome(p, &res[i], &out[i]);
        if (out[i].error) {
            /* The recipient's number stays out of the log; the row of the send names it. */
            sr_logf(c->log, SR_LOG_DEBUG, "Twilio POST %s: %s", reqs[i].url, out[i].error);
        }
    }
}
