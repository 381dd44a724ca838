/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answers by SMS: YES books the slot (exactly one winner), NO passes it on,
 * STOP and START change the customer's consent, anything else gets help.
 */
#ifndef SR_BOOKING_H
#define SR_BOOKING_H

#include "sr_offer_loop.h"

typedef struct {
    const char *message_sid;
    const char *from;
    const char *to;
    const char *body;
} sr_inbound_sms_t;

typedef struct {
    const char *action; /* booked, too_late, declined, opted_out, opted_in, help, unknown_sender */
    const char *reply;  /* the text to answer with, NULL for none */
    int duplicate;      /* a redelivery: nothing was changed */
} sr_inbound_result_t;

/*
 * Handles one inbound SMS in one transaction, then (after the commit) charges
 * the deposit of a new booking and moves released slots on.
 */
sr_status_t sr_booking_handle_sms(sr_ctx_t *ctx, const sr_inbound_sms_t *sms, sr_inbound_result_t *out);

/* The statements sr_booking.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_booking_statements[];

#endif /* SR_BOOKING_H */
