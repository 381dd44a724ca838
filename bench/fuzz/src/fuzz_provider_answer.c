/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the provider clients (mod_slotrecovery/core/sr_stripe_client.c,
 * sr_twilio_client.c) make of any answer, through an sr_http_client_t that
 * answers every request with the input. Input: a first line "<call><status>"
 * (call: c create a PaymentIntent, f find one, r create a refund, l find one,
 * g get one, t send an SMS; status: decimal, 0 for no answer), then the body
 * (any bytes, an exact-size NUL-terminated copy). Checks that the outcome
 * flags agree with the status returned.
 */
#include "fuzz_common.h"
#include "sr_stripe_client.h"
#include "sr_twilio_client.h"

typedef struct {
    int status;
    const char *body;
    size_t body_len;
} answer_t;

static apr_status_t answer_perform(void *baton, apr_pool_t *p, const sr_http_request_t *req, sr_http_response_t *res)
{
    const answer_t *a = baton;

    FUZZ_CHECK(req->method && req->url);
    res->status = a->status;
    res->body = a->status ? a->body : "";
    res->body_len = a->status ? a->body_len : 0;
    res->error = a->status ? NULL : "Timeout was reached";
    return a->status ? APR_SUCCESS : APR_TIMEUP;
}

static void check_intent(sr_status_t st, const sr_stripe_intent_t *out, int http_status)
{
    FUZZ_CHECK(st == SR_OK || st == SR_INVALID || st == SR_NOT_FOUND || st == SR_UNAVAILABLE);
    FUZZ_CHECK(st != SR_OK || (out->id && out->status));
    FUZZ_CHECK(st == SR_OK || st == SR_NOT_FOUND || out->error);
    FUZZ_CHECK(!out->permanent || st == SR_UNAVAILABLE);
    FUZZ_CHECK(!out->key_spent || (st == SR_UNAVAILABLE && http_status >= 500));
    FUZZ_CHECK(!out->card_declined || st == SR_INVALID);
    (void)(out->error && strlen(out->error));
}

static void check_refund(sr_status_t st, const sr_stripe_refund_t *out, int http_status)
{
    FUZZ_CHECK(st == SR_OK || st == SR_INVALID || st == SR_NOT_FOUND || st == SR_UNAVAILABLE);
    FUZZ_CHECK(st != SR_OK || (out->id && out->status));
    FUZZ_CHECK(!out->permanent || st == SR_UNAVAILABLE);
    FUZZ_CHECK(!out->key_spent || (st == SR_UNAVAILABLE && http_status >= 500));
    (void)(out->failure_reason && strlen(out->failure_reason));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const uint8_t *rest;
    size_t rest_len, head_len = fuzz_split(data, size, &rest, &rest_len);
    char *head = fuzz_strndup(data, head_len);
    answer_t a = {head_len > 1 ? atoi(head + 1) % 1000 : 200, fuzz_strndup(rest, rest_len), rest_len};
    sr_http_client_t http = {answer_perform, NULL, &a};
    sr_stripe_client_t stripe = {"https://api.stripe.com", "sk_test_fuzz", apr_time_from_sec(10), &http, NULL};
    sr_twilio_client_t twilio = {"https://api.twilio.com", "ACfuzz", "token", apr_time_from_sec(10), &http, NULL};
    sr_stripe_intent_request_t intent = {2500, "usd", "cus_1", "pm_1", "key-1", "41", "7", "12", "inst-1"};
    sr_stripe_refund_request_t refund = {"pi_1", 2500, "key-2", "inst-1", "12"};
    sr_stripe_intent_t intent_out;
    sr_stripe_refund_t refund_out;
    sr_twilio_sms_t sms = {"+15558675310", "+15017122661", "Hi", NULL};
    sr_twilio_send_t sent;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    switch (head_len ? head[0] : 'c') {
    case 'f':
        check_intent(sr_stripe_client_find_payment_intent(p, &stripe, &intent, &intent_out), &intent_out, a.status);
        break;
    case 'r':
        check_refund(sr_stripe_client_create_refund(p, &stripe, &refund, &refund_out), &refund_out, a.status);
        break;
    case 'l':
        check_refund(sr_stripe_client_find_refund(p, &stripe, &refund, &refund_out), &refund_out, a.status);
        break;
    case 'g':
        check_refund(sr_stripe_client_get_refund(p, &stripe, "re_1", &refund_out), &refund_out, a.status);
        break;
    case 't':
        sr_twilio_client_send_all(p, &twilio, 1, &sms, &sent);
        FUZZ_CHECK(!sent.message_sid != !sent.error);
        FUZZ_CHECK(!(sent.permanent && sent.auth_refused));
        FUZZ_CHECK(sent.http_status == a.status);
        break;
    default:
        check_intent(sr_stripe_client_create_payment_intent(p, &stripe, &intent, &intent_out), &intent_out, a.status);
        break;
    }
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
