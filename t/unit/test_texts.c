/* SPDX-License-Identifier: Apache-2.0 */
/* sr_texts: the offer and the replies, word for word, and each within its SMS budget. */
#include "unit.h"

#include "sr_sms.h"
#include "sr_texts.h"

static int one_gsm7_segment(const char *text)
{
    sr_sms_length_t len;

    sr_sms_measure(text, &len);
    return len.encoding == SR_SMS_GSM7 && len.segments == 1;
}

START_TEST(test_offer)
{
    /* The README's example, as the suite's t/loop/10_offers.t sees it at Twilio. */
    ck_assert_str_eq(sr_text_offer(pool, "Hair by Jo", "Fri 14 Mar 13:30", "2000", "usd", 900),
                     "Hair by Jo: a slot opened on Fri 14 Mar 13:30. Reply YES to book it (20.00 USD deposit) or NO to "
                     "pass. Offer ends in 15 min.");
    /* No deposit, or none fixed on the offer: no amount named. */
    ck_assert_str_eq(sr_text_offer(pool, "Cuts", "Mon 01 Jun 11:00", "0", "usd", 3600),
                     "Cuts: a slot opened on Mon 01 Jun 11:00. Reply YES to book it or NO to pass. Offer ends in 1 h.");
    ck_assert_str_eq(
        sr_text_offer(pool, "Cuts", "Mon 01 Jun 11:00", NULL, NULL, 45),
        "Cuts: a slot opened on Mon 01 Jun 11:00. Reply YES to book it or NO to pass. Offer ends in 45 s.");
    /* The time really left, rounded down: never more than the offer has. */
    ck_assert_ptr_nonnull(
        strstr(sr_text_offer(pool, "Cuts", "Mon 01 Jun 11:00", "500", "eur", 959), "ends in 15 min."));
}
END_TEST

START_TEST(test_offer_long_name_fits)
{
    const char *name = "The Extremely Long Name of a Neighbourhood Barber Shop and Beauty Salon";
    const char *text = sr_text_offer(pool, name, "Fri 14 Mar 13:30", "150000", "gbp", 900);

    ck_assert(one_gsm7_segment(text));
    ck_assert_ptr_nonnull(strstr(text, "...: a slot opened on Fri 14 Mar 13:30."));
    ck_assert_ptr_nonnull(strstr(text, "(1500.00 GBP deposit)"));
}
END_TEST

START_TEST(test_booked)
{
    ck_assert_str_eq(
        sr_text_booked(pool, "Hair by Jo", "Fri 14 Mar 13:30", "2000", "usd"),
        "Booked: Hair by Jo, Fri 14 Mar 13:30. Your 20.00 USD deposit will be charged to your saved card.");
    ck_assert_str_eq(sr_text_booked(pool, "Hair by Jo", "Fri 14 Mar 13:30", NULL, "usd"),
                     "Booked: Hair by Jo, Fri 14 Mar 13:30. See you then!");
    ck_assert_str_eq(sr_text_booked(pool, "Hair by Jo", "Fri 14 Mar 13:30", "0", "usd"),
                     "Booked: Hair by Jo, Fri 14 Mar 13:30. See you then!");
    /* Never the promise of a charge that has not happened. */
    ck_assert_ptr_null(strstr(sr_text_booked(pool, "X Shop", "Fri 14 Mar 13:30", "2000", "usd"), "is charged"));
    ck_assert(one_gsm7_segment(sr_text_booked(pool, "The Extremely Long Name of a Neighbourhood Barber Shop",
                                              "Fri 14 Mar 13:30", "2000", "usd")));
}
END_TEST

START_TEST(test_replies)
{
    ck_assert_str_eq(
        sr_text_card_needed(pool, "Cardless Cuts"),
        "Sorry, booking this slot needs a card on file with Cardless Cuts. We'll offer it to someone else.");
    ck_assert_str_eq(sr_text_help(pool, "Cuts"), "Cuts: we text you when a slot opens. Reply YES to take an offer, NO "
                                                 "to pass, STOP to opt out.");
    ck_assert_str_eq(sr_text_opted_in(pool, "Cuts"), "Cuts: you will get slot offers again. Reply STOP to opt out.");
    ck_assert(one_gsm7_segment(SR_TEXT_TOO_LATE));
    ck_assert(one_gsm7_segment(SR_TEXT_NOTHING_TO_DECLINE));
    ck_assert(one_gsm7_segment(SR_TEXT_DECLINED));
}
END_TEST

static Suite *texts_suite(void)
{
    Suite *s = suite_create("texts");
    TCase *tc = unit_case(s, "texts");

    tcase_add_test(tc, test_offer);
    tcase_add_test(tc, test_offer_long_name_fits);
    tcase_add_test(tc, test_booked);
    tcase_add_test(tc, test_replies);
    return s;
}

SR_UNIT_MAIN(texts_suite)
