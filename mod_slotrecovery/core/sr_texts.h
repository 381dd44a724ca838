/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The texts the module sends customers that it builds itself: the offer and
 * the replies to SMS. Each names the shop through sr_sms_text, so it fits one
 * GSM-7 segment or two UCS-2 ones, the shop's name cut to fit. Pure: the
 * caller passes what the database said (the slot's time already formatted in
 * the shop's time zone, amounts in minor units as text).
 */
#ifndef SR_TEXTS_H
#define SR_TEXTS_H

#include <apr_pools.h>

/* "<shop>: a slot opened on <time>. Reply YES to book it (<deposit> deposit) or NO to pass. Offer ends in <ttl>." */
const char *sr_text_offer(apr_pool_t *p, const char *shop, const char *slot_time, const char *deposit_minor,
                          const char *currency, apr_int64_t ttl_seconds);

/*
 * "Booked: <shop>, <time>. Your <deposit> deposit will be charged to your saved
 * card." (deposit_minor NULL or 0: "See you then!"). Never "is charged": the
 * worker asks Stripe after the reply.
 */
const char *sr_text_booked(apr_pool_t *p, const char *shop, const char *slot_time, const char *deposit_minor,
                           const char *currency);

/* A YES for a deposit slot from a customer without a saved card. */
const char *sr_text_card_needed(apr_pool_t *p, const char *shop);

/* The answer to anything that is not a keyword. */
const char *sr_text_help(apr_pool_t *p, const char *shop);

/* START: offers again. */
const char *sr_text_opted_in(apr_pool_t *p, const char *shop);

/* The offer is gone (taken, expired, never there): what a late YES hears. */
#define SR_TEXT_TOO_LATE                                                                                               \
    "Sorry, that slot has been taken or the offer has ended. We'll text you when another one opens."
/* NO with no offer to decline. */
#define SR_TEXT_NOTHING_TO_DECLINE "There is no open offer for you right now. We'll text you when a slot opens."
/* NO to a live offer. */
#define SR_TEXT_DECLINED "No problem, we'll offer the slot to someone else."

#endif /* SR_TEXTS_H */
