/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The providers' webhook signatures and what the module reads of a Stripe
 * event. Twilio: the published known-answer vectors (twilio-python
 * tests/unit/test_request_validator.py and twilio.com/docs/usage/security),
 * the same t/promises/20_unconfigured_and_vectors.t sends through httpd.
 * Stripe publishes no fixed vector: stripe-python's fixture (payload, secret
 * whsec_test_secret, tolerance 10 s) at t=1700000000, its MAC computed by
 * another implementation (`openssl dgst -sha256 -hmac whsec_test_secret`).
 */
#include "unit.h"

#include "sr_form.h"
#include "sr_stripe_protocol.h"
#include "sr_twilio_protocol.h"

/* --- Twilio ----------------------------------------------------------------------------------- */

static int twilio_valid(const char *url, const char *body, const char *signature)
{
    apr_array_header_t *params;
    apr_size_t where;
    char *copy = apr_pstrdup(pool, body);

    ck_assert_int_eq(sr_form_parse(pool, copy, strlen(body), SR_FORM_MAX_PAIRS, &params, &where), SR_FORM_OK);
    return sr_twilio_signature_valid(pool, "12345", url, params, signature);
}

#define TW_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define TW_PARAMS "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"

START_TEST(test_twilio_vectors)
{
    ck_assert(twilio_valid(TW_URL, TW_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    /* The parameters' order in the body does not matter: they are sorted. */
    ck_assert(twilio_valid(TW_URL,
                           "To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309"
                           "&CallSid=CA1234567890ABCDE",
                           "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    /* The docs' example. */
    ck_assert(twilio_valid(TW_URL,
                           "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030"
                           "&To=%2B18005551212",
                           "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    /* The same request signed with the default port in the URL. */
    ck_assert(
        twilio_valid("https://mycompany.com:443/myapp.php?foo=1&bar=2", TW_PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    ck_assert(
        twilio_valid("http://mycompany.com:1234/myapp.php?foo=1&bar=2", TW_PARAMS, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
    ck_assert(twilio_valid("http://mycompany.com:80/myapp.php?foo=1&bar=2", TW_PARAMS, "0ZXoZLH/DfblKGATFgpif+LLRf4="));
    /* Repeated names: sorted by name, then value. */
    ck_assert(
        twilio_valid(TW_URL, "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234", "IK+Dwps556ElfBT0I3Rgjkr1wJU="));
    ck_assert(
        twilio_valid(TW_URL, "Digits=1234&Sid=CA123&Digits=5678&SidAccount=AC123", "IK+Dwps556ElfBT0I3Rgjkr1wJU="));
}
END_TEST

START_TEST(test_twilio_refused)
{
    apr_array_header_t *none = apr_array_make(pool, 1, sizeof(sr_param_t));

    ck_assert(!twilio_valid(TW_URL, TW_PARAMS, "SSOYDt4T1cUTdK1PDd93/VVr8B8=")); /* one character off */
    ck_assert(!twilio_valid(TW_URL, TW_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8"));  /* truncated */
    ck_assert(!twilio_valid(TW_URL "&x=1", TW_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    ck_assert(!twilio_valid(TW_URL, TW_PARAMS "&Extra=1", "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    ck_assert(!twilio_valid(TW_URL, TW_PARAMS, ""));
    ck_assert(!sr_twilio_signature_valid(pool, NULL, TW_URL, none, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    ck_assert(!sr_twilio_signature_valid(pool, "12345", TW_URL, none, NULL));
}
END_TEST

/* The public URL and its port variants, as Twilio's validators accept them. */
START_TEST(test_twilio_url_candidates)
{
    const char *const *u = sr_twilio_signed_url_candidates(pool, "https://shop.example/api/twilio/inbound?x=1");
    apr_array_header_t *params;
    apr_size_t where;
    char *copy = apr_pstrdup(pool, TW_PARAMS);

    ck_assert_str_eq(u[0], "https://shop.example/api/twilio/inbound?x=1");
    ck_assert_str_eq(u[1], "https://shop.example/api/twilio/inbound?x=1");
    ck_assert_str_eq(u[2], "https://shop.example:443/api/twilio/inbound?x=1");
    ck_assert_ptr_null(u[3]);
    u = sr_twilio_signed_url_candidates(pool, "http://127.0.0.1:8080/p");
    ck_assert_str_eq(u[1], "http://127.0.0.1/p");
    ck_assert_str_eq(u[2], "http://127.0.0.1:8080/p");
    u = sr_twilio_signed_url_candidates(pool, "not a url");
    ck_assert_str_eq(u[0], "not a url");
    ck_assert_ptr_null(u[1]);

    ck_assert_int_eq(sr_form_parse(pool, copy, strlen(TW_PARAMS), SR_FORM_MAX_PAIRS, &params, &where), SR_FORM_OK);
    /* Signed with the default port, received without it; and the other way round. */
    ck_assert(sr_twilio_request_signature_valid(pool, "12345", TW_URL, params, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    ck_assert(sr_twilio_request_signature_valid(pool, "12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                                                params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    /* Another port or scheme is another URL. */
    ck_assert(!sr_twilio_request_signature_valid(pool, "12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
                                                 params, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    ck_assert(!sr_twilio_request_signature_valid(pool, "12345", "http://mycompany.com/myapp.php?foo=1&bar=2", params,
                                                 "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}
END_TEST

/* --- Stripe ----------------------------------------------------------------------------------- */

static const char stripe_payload[] =
    "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\",\n"
    "  \"data\": { \"object\": { \"id\": \"rdr_123\", \"object\": \"terminal.reader\" } }\n}";
#define ST_T "1700000000"
#define ST_SIG "3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd"
#define ST_SECRET "whsec_test_secret"

static const char *stripe_problem(const char *header, apr_int64_t now)
{
    return sr_stripe_signature_problem(pool, ST_SECRET, header, stripe_payload, strlen(stripe_payload),
                                       apr_time_from_sec(10), apr_time_from_sec(now));
}

START_TEST(test_stripe_valid)
{
    ck_assert_ptr_null(stripe_problem("t=" ST_T ",v1=" ST_SIG, 1700000000));
    ck_assert_ptr_null(stripe_problem("t=" ST_T ",v1=" ST_SIG, 1700000010)); /* at the tolerance's edge */
    ck_assert_ptr_null(stripe_problem("t=" ST_T ",v1=" ST_SIG, 1699999990));
    ck_assert_ptr_null(stripe_problem("t=" ST_T ",v1=bad_signature,v1=" ST_SIG, 1700000000));
    ck_assert_ptr_null(stripe_problem("v1=" ST_SIG ", t=" ST_T ",v0=whatever", 1700000000));
}
END_TEST

START_TEST(test_stripe_refused)
{
    ck_assert_str_eq(stripe_problem(NULL, 1700000000), "Stripe-Signature header missing");
    ck_assert_str_eq(stripe_problem("", 1700000000), "Stripe-Signature header missing");
    ck_assert_str_eq(stripe_problem("i'm not even a real signature header", 1700000000),
                     "Stripe-Signature has no timestamp");
    ck_assert_str_eq(stripe_problem("t=" ST_T ",v0=" ST_SIG, 1700000000), "Stripe-Signature has no v1 signature");
    ck_assert_str_eq(stripe_problem("t=" ST_T ",v1=bad_signature", 1700000000), "no v1 signature matches");
    ck_assert_str_eq(stripe_problem("t=" ST_T "x,v1=" ST_SIG, 1700000000),
                     "Stripe-Signature timestamp is not a number");
    ck_assert_str_eq(stripe_problem("t=" ST_T ",v1=" ST_SIG, 1700000011),
                     "Stripe-Signature timestamp outside the tolerance");
    ck_assert_str_eq(stripe_problem("t=" ST_T ",v1=" ST_SIG, 1699999989),
                     "Stripe-Signature timestamp outside the tolerance");
    /* Another t with the same MAC: the timestamp is signed too. */
    ck_assert_str_eq(stripe_problem("t=1700000001,v1=" ST_SIG, 1700000000), "no v1 signature matches");
    /* Upper-case hex is not what Stripe sends. */
    ck_assert_str_eq(
        stripe_problem("t=" ST_T ",v1=3BFAB77BAF5F7B6991A46C9B53B6547D7AFC56148B10468FCAD9F35C1992FFBD", 1700000000),
        "no v1 signature matches");
}
END_TEST

START_TEST(test_stripe_event)
{
    static const char event[] =
        "{\"id\":\"evt_1\",\"type\":\"payment_intent.payment_failed\",\"data\":{\"object\":{"
        "\"id\":\"pi_123\",\"object\":\"payment_intent\",\"amount\":2000,\"currency\":\"usd\","
        "\"customer\":{\"id\":\"cus_9\"},\"metadata\":{\"payment_id\":\"77\",\"installation_id\":\"inst-1\"},"
        "\"last_payment_error\":{\"message\":\"Your card was declined.\"}}}}";
    sr_stripe_event_t e;

    ck_assert_ptr_null(sr_stripe_parse_event(pool, event, strlen(event), &e));
    ck_assert_str_eq(e.id, "evt_1");
    ck_assert_str_eq(e.type, "payment_intent.payment_failed");
    ck_assert_str_eq(e.intent_id, "pi_123");
    ck_assert_str_eq(e.metadata_payment_id, "77");
    ck_assert_str_eq(e.metadata_installation_id, "inst-1");
    ck_assert_str_eq(e.amount, "2000");
    ck_assert_str_eq(e.currency, "usd");
    ck_assert_str_eq(e.customer, "cus_9");
    ck_assert_str_eq(e.failure_message, "Your card was declined.");
}
END_TEST

START_TEST(test_stripe_event_edges)
{
    static const char not_intent[] = "{\"id\":\"evt_2\",\"type\":\"charge.refunded\",\"data\":{\"object\":"
                                     "{\"id\":\"ch_1\",\"object\":\"charge\",\"customer\":\"cus_1\"}}}";
    static const char bad_payment_id[] = "{\"id\":\"evt_3\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":"
                                         "{\"id\":\"pi_1\",\"object\":\"payment_intent\",\"customer\":\"cus_1\","
                                         "\"metadata\":{\"payment_id\":\"1; drop\"}}}}";
    sr_stripe_event_t e;

    /* Another object: id and type only. */
    ck_assert_ptr_null(sr_stripe_parse_event(pool, not_intent, strlen(not_intent), &e));
    ck_assert_str_eq(e.type, "charge.refunded");
    ck_assert_ptr_null(e.intent_id);
    ck_assert_ptr_null(e.customer);
    /* A payment_id that is not an id of ours is none; the customer as an id. */
    ck_assert_ptr_null(sr_stripe_parse_event(pool, bad_payment_id, strlen(bad_payment_id), &e));
    ck_assert_ptr_null(e.metadata_payment_id);
    ck_assert_str_eq(e.customer, "cus_1");
    /* stripe-python's fixture has no type: refused, as the webhook refuses it. */
    ck_assert_str_eq(sr_stripe_parse_event(pool, stripe_payload, strlen(stripe_payload), &e),
                     "event without id or type");
    ck_assert_ptr_nonnull(sr_stripe_parse_event(pool, "[1]", 3, &e));
    ck_assert_ptr_nonnull(sr_stripe_parse_event(pool, "{", 1, &e));
    ck_assert_str_eq(sr_stripe_parse_event(pool, "{\"id\":\"\",\"type\":\"x\"}", 20, &e), "event without id or type");
}
END_TEST

START_TEST(test_idempotency_key)
{
    ck_assert_str_eq(sr_stripe_idempotency_key(pool, "inst-1", "payment", "42", NULL),
                     "slotrecovery-inst-1-payment-42");
    ck_assert_str_eq(sr_stripe_idempotency_key(pool, "inst-1", "refund", "42", "tok"),
                     "slotrecovery-inst-1-refund-42-tok");
    ck_assert_ptr_null(sr_stripe_idempotency_key(pool, NULL, "payment", "42", NULL));
    ck_assert_ptr_null(sr_stripe_idempotency_key(pool, "", "payment", "42", NULL));
}
END_TEST

static Suite *signatures_suite(void)
{
    Suite *s = suite_create("signatures");
    TCase *tc = unit_case(s, "twilio");

    tcase_add_test(tc, test_twilio_vectors);
    tcase_add_test(tc, test_twilio_refused);
    tcase_add_test(tc, test_twilio_url_candidates);
    tc = unit_case(s, "stripe");
    tcase_add_test(tc, test_stripe_valid);
    tcase_add_test(tc, test_stripe_refused);
    tcase_add_test(tc, test_stripe_event);
    tcase_add_test(tc, test_stripe_event_edges);
    tcase_add_test(tc, test_idempotency_key);
    return s;
}

SR_UNIT_MAIN(signatures_suite)
