/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio webhooks: signature check, then the offer loop. */
#include <apr_escape.h>

#include "sr_booking.h"
#include "sr_offer_loop.h"
#include "sr_twilio.h"
#include "sr_twilio_webhooks.h"

/*
 * Reads the form body (sr_read_form: bounded, every field also as repaired
 * UTF-8 text) and checks X-Twilio-Signature over the public URL of this
 * request and the fields' raw bytes. OK with the fields, or DONE with the
 * answer (403, 503, or the form reader's 4xx) sent.
 */
static int read_signed_form(sr_req_t *req, apr_array_header_t **params)
{
    request_rec *r = req->r;
    const char *signature = apr_table_get(r->headers_in, "X-Twilio-Signature");
    const char *url;
    int rc;

    if (!req->conf->twilio_auth_token || !req->conf->public_base_url) {
        return sr_send_error(req, HTTP_SERVICE_UNAVAILABLE,
                             "Twilio webhooks disabled: SlotRecoveryTwilioAuthToken and "
                             "SlotRecoveryPublicBaseUrl must both be configured");
    }
    if ((rc = sr_read_form(req, params)) != OK) {
        return rc;
    }
    url = apr_pstrcat(r->pool, req->conf->public_base_url, r->unparsed_uri, (char *)NULL);
    if (sr_twilio_request_signature_valid(r->pool, req->conf->twilio_auth_token, url, *params, signature)) {
        return OK;
    }
    return sr_send_error(req, HTTP_FORBIDDEN,
                         signature ? "X-Twilio-Signature does not match %s" : "X-Twilio-Signature missing (for %s)",
                         url);
}

int sr_twilio_status_webhook(sr_req_t *req)
{
    apr_array_header_t *params = NULL;
    const char *sid, *status;
    sr_ctx_t ctx;
    sr_db_t *db;
    sr_status_t rc;
    int http = read_signed_form(req, &params);

    if (http != OK) {
        return http;
    }
    sid = sr_form_get(params, "MessageSid");
    status = sr_form_get(params, "MessageStatus");
    if (!sid || !*sid || !status || !*status || strlen(status) > 32) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "MessageSid and MessageStatus are required");
    }
    if (!(db = sr_db_acquire(req->r))) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    sr_ctx_for_request(&ctx, req->r, req->conf, db);
    rc = sr_offer_loop_delivery_report(&ctx, sid, status, sr_form_get(params, "ErrorCode"));
    if (rc == SR_UNAVAILABLE) {
        return sr_send_status(req, rc, NULL);
    }
    if (rc == SR_NOT_FOUND) {
        /* Not an offer of ours (another app on the number): nothing to do, and no retry wanted. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, SR_LOG_PREFIX "delivery report for unknown message %s", sid);
    }
    req->r->status = HTTP_NO_CONTENT;
    return OK;
}

static int send_twiml(sr_req_t *req, const char *message)
{
    request_rec *r = req->r;
    const char *xml = apr_pstrcat(r->pool, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>",
                                  message ? "<Message>" : "", message ? apr_pescape_entity(r->pool, message, 0) : "",
                                  message ? "</Message>" : "", "</Response>\n", (char *)NULL);

    ap_set_content_type(r, "text/xml; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(xml));
    if (!r->header_only) {
        ap_rputs(xml, r);
    }
    return OK;
}

int sr_twilio_inbound_webhook(sr_req_t *req)
{
    apr_array_header_t *params = NULL;
    sr_inbound_sms_t sms;
    sr_inbound_result_t result;
    sr_ctx_t ctx;
    sr_db_t *db;
    sr_status_t status;
    int http = read_signed_form(req, &params);

    if (http != OK) {
        return http;
    }
    sms.message_sid = sr_form_get(params, "MessageSid");
    if (!sms.message_sid) {
        sms.message_sid = sr_form_get(params, "SmsMessageSid");
    }
    sms.from = sr_form_get(params, "From");
    sms.to = sr_form_get(params, "To");
    sms.body = sr_form_get(params, "Body");
    if (!sms.message_sid || !*sms.message_sid || strlen(sms.message_sid) > 64 || !sms.from || !*sms.from || !sms.to ||
        !*sms.to) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "MessageSid, From and To are required");
    }
    if (!sms.body) {
        sms.body = "";
    }
    if (!(db = sr_db_acquire(req->r))) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    sr_ctx_for_request(&ctx, req->r, req->conf, db);
    status = sr_booking_handle_sms(&ctx, &sms, &result);
    if (status != SR_OK) {
        return sr_send_status(req, status, "message");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, req->r, SR_LOG_PREFIX "SMS %s from %s: %s%s", sms.message_sid, sms.from,
                  result.action ? result.action : "-", result.duplicate ? " (repeated delivery)" : "");
    return send_twiml(req, result.reply);
}
