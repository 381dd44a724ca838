/* Twilio client: one REST call and the webhook signature scheme. */
#include <apr_escape.h>

#include "sr_crypto.h"
#include "sr_http.h"
#include "sr_json.h"
#include "sr_twilio.h"

sr_status_t sr_twilio_send_sms(apr_pool_t *p, const sr_server_conf_t *conf, const char *to, const char *from,
                               const char *body, const char *status_callback, sr_twilio_send_t *out)
{
    sr_http_request_t req;
    sr_http_response_t res;
    sr_form_t *form = sr_form_make(p);
    sr_json_t *doc;
    const char *error = NULL, *message = NULL;
    apr_int64_t code = 0;

    memset(out, 0, sizeof(*out));
    if (!conf->twilio_account_sid || !conf->twilio_auth_token) {
        out->error = "Twilio is not configured (SlotRecoveryTwilioAccountSid / SlotRecoveryTwilioAuthToken)";
        return SR_UNAVAILABLE;
    }
    sr_form_add(form, "To", to);
    sr_form_add(form, "From", from);
    sr_form_add(form, "Body", body);
    if (status_callback) {
        sr_form_add(form, "StatusCallback", status_callback);
    }
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = apr_pstrcat(p, conf->twilio_api_base, "/2010-04-01/Accounts/",
                          apr_pescape_path_segment(p, conf->twilio_account_sid), "/Messages.json", (char *)NULL);
    req.basic_user = conf->twilio_account_sid;
    req.basic_password = conf->twilio_auth_token;
    req.form = sr_form_encode(form);
    req.timeout = conf->http_timeout;

    if (sr_http_perform(p, &req, &res) != APR_SUCCESS) {
        out->error = apr_pstrcat(p, "Twilio unreachable: ", res.error, (char *)NULL);
        return SR_UNAVAILABLE;
    }
    doc = sr_json_parse(p, res.body, res.body_len, &error);
    if (res.status >= 200 && res.status < 300) {
        if (doc && sr_json_get_string(doc, "sid", &out->message_sid) == SR_JSON_FOUND && *out->message_sid) {
            return SR_OK;
        }
        out->error = apr_psprintf(p, "Twilio answered %d without a message sid", res.status);
        return SR_UNAVAILABLE;
    }
    if (doc) {
        sr_json_get_string(doc, "message", &message);
        sr_json_get_int(doc, "code", &code);
    }
    out->error = apr_psprintf(p, "Twilio answered %d%s%s%s", res.status,
                              code ? apr_psprintf(p, " (error %" APR_INT64_T_FMT ")", code) : "", message ? ": " : "",
                              message ? message : "");
    /* A 4xx other than throttling or credentials says the message itself is wrong
     * (invalid number, unsubscribed recipient): sending it again cannot help. */
    out->permanent =
        res.status >= 400 && res.status < 500 && res.status != 429 && res.status != 401 && res.status != 403;
    return SR_UNAVAILABLE;
}

static int compare_params(const void *a, const void *b)
{
    const sr_param_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

int sr_twilio_signature_valid(apr_pool_t *p, const char *auth_token, const char *url, const apr_array_header_t *params,
                              const char *signature)
{
    apr_array_header_t *sorted = apr_array_copy(p, params);
    const char *data, *expected;
    int i;

    if (!auth_token || !signature || !*signature) {
        return 0;
    }
    qsort(sorted->elts, (size_t)sorted->nelts, (size_t)sorted->elt_size, compare_params);
    data = url;
    for (i = 0; i < sorted->nelts; i++) {
        const sr_param_t *pair = &APR_ARRAY_IDX(sorted, i, sr_param_t);

        data = apr_pstrcat(p, data, pair->name, pair->value ? pair->value : "", (char *)NULL);
    }
    expected = sr_hmac_sha1_base64(p, auth_token, data, strlen(data));
    return expected && sr_secret_equals(signature, expected);
}
