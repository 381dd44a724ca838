/* SPDX-License-Identifier: Apache-2.0 */
/* The texts to customers. */
#include <apr_strings.h>

#include "sr_format.h"
#include "sr_sms.h"
#include "sr_texts.h"

static int has_deposit(const char *deposit_minor)
{
    return deposit_minor && apr_atoi64(deposit_minor) > 0;
}

const char *sr_text_offer(apr_pool_t *p, const char *shop, const char *slot_time, const char *deposit_minor,
                          const char *currency, apr_int64_t ttl_seconds)
{
    const char *pay = "";

    if (has_deposit(deposit_minor)) {
        pay = apr_pstrcat(p, " (", sr_format_money(p, deposit_minor, currency), " deposit)", (char *)NULL);
    }
    return sr_sms_text(p, "", shop,
                       apr_pstrcat(p, ": a slot opened on ", slot_time, ". Reply YES to book it", pay,
                                   " or NO to pass. Offer ends in ", sr_format_duration(p, ttl_seconds), ".",
                                   (char *)NULL));
}

const char *sr_text_booked(apr_pool_t *p, const char *shop, const char *slot_time, const char *deposit_minor,
                           const char *currency)
{
    return sr_sms_text(p, "Booked: ", shop,
                       apr_pstrcat(p, ", ", slot_time, ".",
                                   has_deposit(deposit_minor)
                                       ? apr_pstrcat(p, " Your ", sr_format_money(p, deposit_minor, currency),
                                                     " deposit will be charged to your saved card.", (char *)NULL)
                                       : " See you then!",
                                   (char *)NULL));
}

const char *sr_text_card_needed(apr_pool_t *p, const char *shop)
{
    return sr_sms_text(p, "Sorry, booking this slot needs a card on file with ", shop,
                       ". We'll offer it to someone else.");
}

const char *sr_text_help(apr_pool_t *p, const char *shop)
{
    return sr_sms_text(p, "", shop,
                       ": we text you when a slot opens. Reply YES to take an offer, NO to pass, STOP to opt out.");
}

const char *sr_text_opted_in(apr_pool_t *p, const char *shop)
{
    return sr_sms_text(p, "", shop, ": you will get slot offers again. Reply STOP to opt out.");
}
