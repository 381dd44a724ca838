/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/sr_twilio_client: the request for one SMS (URL, HTTP Basic with the
 * Account SID and auth token, the exact form body) and what Twilio's answer
 * means, through a fake sr_http_client_t (fake_http.h).
 *
 * The answers follow Twilio's documentation: a created Message is 201 with
 * the Message resource (twilio.com/docs/messaging/api/message-resource: sid
 * "SM" and 32 hex digits, status "queued", error_code null); an error is
 * {"code", "message", "more_info", "status"} (twilio.com/docs/usage/
 * twilios-response and /docs/api/errors: 21211 invalid 'To' number, 21610
 * unsubscribed recipient, 20003 authentication error, 20429 too many
 * requests). Sids and numbers are shaped as Twilio's, values invented.
 */
#include "fake_http.h"

#include "sr_twilio_client.h"

#define BASE "https://api.twilio.com"
#define SID "ACa66dd367e3772ec8696f298dd7e528a5"
#define TOKEN "9f86d081884c7d659a2feaa0c55ad015"
#define URL BASE "/2010-04-01/Accounts/" SID "/Messages.json"

#define CREATED(sid)                                                                                                   \
    "{\"account_sid\":\"" SID "\",\"api_version\":\"2010-04-01\",\"body\":\"Hi there!\",\"date_created\":\"Thu, 24 "   \
    "Aug 2023 05:01:45 +0000\",\"date_sent\":null,\"date_updated\":\"Thu, 24 Aug 2023 05:01:45 +0000\","               \
    "\"direction\":\"outbound-api\",\"error_code\":null,\"error_message\":null,\"from\":\"+15017122661\","             \
    "\"messaging_service_sid\":null,\"num_media\":\"0\",\"num_segments\":\"1\",\"price\":null,\"price_unit\":\"USD\"," \
    "\"sid\":\"" sid "\",\"status\":\"queued\",\"subresource_uris\":{\"media\":\"/2010-04-01/Accounts/" SID            \
    "/Messages/" sid "/Media.json\"},\"to\":\"+15558675310\",\"uri\":\"/2010-04-01/Accounts/" SID "/Messages/" sid     \
    ".json\"}"
#define TWILIO_ERROR(code, message, status)                                                                            \
    "{\"code\":" #code ",\"message\":\"" message "\",\"more_info\":\"https://www.twilio.com/docs/errors/" #code        \
    "\",\"status\":" #status "}"

static sr_twilio_client_t client(fake_http_t *f)
{
    sr_twilio_client_t c = {BASE, SID, TOKEN, apr_time_from_sec(10), &f->client, &f->logger};

    return c;
}

static const sr_twilio_sms_t offer = {"+15558675310", "+15017122661", "Hi there! Reply YES & book",
                                      "https://shop.example/api/twilio/status?o=12"};

START_TEST(test_sent)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({201, CREATED("SM1f0e8ae6ade43cb3c0ce4525424e404f")}), 1, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out;

    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(f->n_reqs, 1);
    ck_assert_str_eq(f->reqs[0].method, "POST");
    ck_assert_str_eq(f->reqs[0].url, URL);
    ck_assert_str_eq(f->reqs[0].basic_user, SID);
    ck_assert_str_eq(f->reqs[0].basic_password, TOKEN);
    ck_assert_ptr_null(f->reqs[0].bearer_token);
    ck_assert_int_eq(fake_header_count(&f->reqs[0]), 0);
    ck_assert_int_eq(f->reqs[0].timeout, apr_time_from_sec(10));
    /* The exact body, in this order ('+' of the numbers escaped, a space as '+'). */
    ck_assert_str_eq(f->reqs[0].form, "To=%2b15558675310&From=%2b15017122661&Body=Hi+there%21+Reply+YES+%26+book"
                                      "&StatusCallback=https%3a%2f%2fshop.example%2fapi%2ftwilio%2fstatus%3fo%3d12");
    ck_assert_str_eq(out.message_sid, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    ck_assert_ptr_null(out.error);
    ck_assert_int_eq(out.http_status, 201);
    ck_assert_int_eq(out.permanent + out.auth_refused, 0);
    ck_assert_int_eq(out.code, 0);
    ck_assert_str_eq(f->log, "");
}
END_TEST

START_TEST(test_no_status_callback)
{
    sr_twilio_sms_t sms = {"+15558675310", "+15017122661", "Hi", NULL};
    fake_http_t *f = fake_http(FAKE_ANSWERS({201, CREATED("SM1f0e8ae6ade43cb3c0ce4525424e404f")}), 1, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out;

    sr_twilio_client_send_all(pool, &c, 1, &sms, &out);
    ck_assert_str_eq(f->reqs[0].form, "To=%2b15558675310&From=%2b15017122661&Body=Hi");
}
END_TEST

START_TEST(test_batch)
{
    sr_twilio_sms_t sms[3] = {offer, offer, offer};
    fake_http_t *f = fake_http(FAKE_ANSWERS({201, CREATED("SM00000000000000000000000000000001")},
                                            {400, TWILIO_ERROR(21211,
                                                               "The 'To' number 5551234567 is not a valid phone "
                                                               "number.",
                                                               400)},
                                            {201, CREATED("SM00000000000000000000000000000003")}),
                               3, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out[3];

    sms[1].to = "5551234567";
    sr_twilio_client_send_all(pool, &c, 3, sms, out);
    /* One batch: the client performs the three at once. */
    ck_assert_int_eq(f->batches, 1);
    ck_assert_int_eq(f->n_reqs, 3);
    ck_assert_ptr_nonnull(strstr(f->reqs[1].form, "To=5551234567&"));
    ck_assert_str_eq(out[0].message_sid, "SM00000000000000000000000000000001");
    ck_assert_ptr_null(out[1].message_sid);
    ck_assert_int_eq(out[1].code, 21211);
    ck_assert_str_eq(out[2].message_sid, "SM00000000000000000000000000000003");
    /* Without perform_all, one after the other: the same outcomes. */
    f = fake_http(f->answers, 3, 0);
    c = client(f);
    sr_twilio_client_send_all(pool, &c, 3, sms, out);
    ck_assert_int_eq(f->batches, 0);
    ck_assert_int_eq(f->n_reqs, 3);
    ck_assert_str_eq(out[2].message_sid, "SM00000000000000000000000000000003");
}
END_TEST

START_TEST(test_invalid_number)
{
    fake_http_t *f = fake_http(
        FAKE_ANSWERS({400, TWILIO_ERROR(21211, "The 'To' number 5551234567 is not a valid phone number.", 400)}), 1, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out;

    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(out.permanent, 1);
    ck_assert_int_eq(out.auth_refused, 0);
    ck_assert_int_eq(out.http_status, 400);
    ck_assert_int_eq(out.code, 21211);
    ck_assert_str_eq(out.error, "Twilio answered 400 (error 21211): The 'To' number 5551234567 is not a valid phone "
                                "number.");
    ck_assert_str_eq(f->log, "7 Twilio POST " URL ": Twilio answered 400 (error 21211): The 'To' number 5551234567 "
                             "is not a valid phone number.\n");
}
END_TEST

START_TEST(test_unsubscribed)
{
    fake_http_t *f =
        fake_http(FAKE_ANSWERS({400, TWILIO_ERROR(21610, "Attempt to send to unsubscribed recipient", 400)}), 1, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out;

    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(out.permanent, 1);
    ck_assert_int_eq(out.code, SR_TWILIO_UNSUBSCRIBED);
    ck_assert_str_eq(out.error, "Twilio answered 400 (error 21610): Attempt to send to unsubscribed recipient");
}
END_TEST

START_TEST(test_credentials_refused)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({401, TWILIO_ERROR(20003, "Authenticate", 401)},
                                            {403, TWILIO_ERROR(20003, "Permission Denied", 403)}),
                               2, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out;

    /* Nothing wrong with the message: not permanent, the callers keep it waiting. */
    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(out.auth_refused, 1);
    ck_assert_int_eq(out.permanent, 0);
    ck_assert_int_eq(out.code, 20003);
    ck_assert_str_eq(out.error, "Twilio answered 401 (error 20003): Authenticate");
    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(out.auth_refused, 1);
    ck_assert_int_eq(out.permanent, 0);
    /* The auth token is never logged. */
    ck_assert_ptr_null(strstr(f->log, TOKEN));
}
END_TEST

START_TEST(test_retry_later)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({429, TWILIO_ERROR(20429, "Too Many Requests", 429)},
                                            {500, TWILIO_ERROR(20500, "Internal Server Error", 500)},
                                            {503, "<html><body>Service Unavailable</body></html>"},
                                            {0, "Failed to connect to api.twilio.com port 443: Connection refused"},
                                            {201, "{\"status\":\"queued\"}"}),
                               5, 0);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out;

    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(out.permanent + out.auth_refused, 0);
    ck_assert_int_eq(out.code, 20429);
    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(out.permanent + out.auth_refused, 0);
    ck_assert_str_eq(out.error, "Twilio answered 500 (error 20500): Internal Server Error");
    /* No JSON: the status alone. */
    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_str_eq(out.error, "Twilio answered 503");
    ck_assert_int_eq(out.permanent + out.auth_refused, 0);
    ck_assert_int_eq(out.code, 0);
    /* No answer at all. */
    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_int_eq(out.http_status, 0);
    ck_assert_str_eq(out.error, "Twilio unreachable: Failed to connect to api.twilio.com port 443: Connection refused");
    ck_assert_int_eq(out.permanent + out.auth_refused, 0);
    /* A 2xx without a sid is no accepted message. */
    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_ptr_null(out.message_sid);
    ck_assert_str_eq(out.error, "Twilio answered 201 without a message sid");
}
END_TEST

START_TEST(test_not_configured)
{
    sr_twilio_sms_t sms[2] = {offer, offer};
    fake_http_t *f = fake_http(NULL, 0, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out[2];

    c.auth_token = NULL;
    ck_assert_int_eq(sr_twilio_client_configured(&c), 0);
    sr_twilio_client_send_all(pool, &c, 2, sms, out);
    ck_assert_int_eq(f->n_reqs, 0);
    ck_assert_str_eq(out[1].error,
                     "Twilio is not configured (SlotRecoveryTwilioAccountSid / SlotRecoveryTwilioAuthToken)");
    c = client(f);
    ck_assert_int_eq(sr_twilio_client_configured(&c), 1);
    /* Nothing to send: no request. */
    sr_twilio_client_send_all(pool, &c, 0, sms, out);
    ck_assert_int_eq(f->n_reqs + f->batches, 0);
}
END_TEST

START_TEST(test_sid_is_one_segment)
{
    fake_http_t *f =
        fake_http(FAKE_ANSWERS({404, TWILIO_ERROR(20404, "The requested resource was not found", 404)}), 1, 1);
    sr_twilio_client_t c = client(f);
    sr_twilio_send_t out;

    c.account_sid = "AC1/../x";
    sr_twilio_client_send_all(pool, &c, 1, &offer, &out);
    ck_assert_str_eq(f->reqs[0].url, BASE "/2010-04-01/Accounts/AC1%2f..%2fx/Messages.json");
    ck_assert_str_eq(f->reqs[0].basic_user, "AC1/../x");
    ck_assert_int_eq(out.permanent, 1);
}
END_TEST

static Suite *twilio_client_suite(void)
{
    Suite *s = suite_create("twilio_client");
    TCase *tc = unit_case(s, "messages");

    tcase_add_test(tc, test_sent);
    tcase_add_test(tc, test_no_status_callback);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_invalid_number);
    tcase_add_test(tc, test_unsubscribed);
    tcase_add_test(tc, test_credentials_refused);
    tcase_add_test(tc, test_retry_later);
    tcase_add_test(tc, test_not_configured);
    tcase_add_test(tc, test_sid_is_one_segment);
    return s;
}

SR_UNIT_MAIN(twilio_client_suite)
