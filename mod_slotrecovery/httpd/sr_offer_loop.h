/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The offer loop: offers an open slot to one eligible customer at a time by
 * SMS, expires unanswered offers, retries failed sends and moves on.
 *
 * Advancing a slot is database work only: the new offer is a pending row (the
 * outbox), which the worker (sr_worker) sends after the commit. Requests
 * advance; only the worker and the job endpoints send.
 *
 * Safe across processes and servers sharing one database: a slot is advanced
 * under its row lock, offers are claimed for sending with FOR UPDATE SKIP
 * LOCKED and a lease, and a partial unique index allows one live offer per slot.
 */
#ifndef SR_OFFER_LOOP_H
#define SR_OFFER_LOOP_H

#include "sr_context.h"
#include "sr_twilio.h"

/* Woken slots a request advances before it answers; the sweep takes the others. */
#define SR_WAKE_AT_ONCE 5

typedef enum {
    SR_ADVANCE_NOOP,    /* nothing to do: filled, expired, a live offer, quiet hours */
    SR_ADVANCE_OFFERED, /* a new offer was made (pending: the worker sends it) */
    SR_ADVANCE_EXPIRED  /* the slot opening expired: no eligible customer, or too late */
} sr_advance_action_t;

typedef struct {
    sr_advance_action_t action;
    const char *reason;   /* why, in words, for the JSON answer and the log */
    const char *offer_id; /* the offer made, for SR_ADVANCE_OFFERED */
    const char *customer_id;
    int sms_sent;           /* Twilio accepted the offer's SMS (sr_offer_loop_send_offer) */
    const char *send_error; /* why it did not (the worker retries) */
} sr_advance_t;

typedef struct {
    int offers_expired;
    int offers_sent;
    int offers_failed;
    int slots_advanced;
    int slots_expired;
} sr_sweep_report_t;

/*
 * Moves a slot opening on, in a transaction of its own (a batch of one of the
 * sweep's batches): SR_NOT_FOUND for an unknown one. Waits for the slot's
 * row lock. No SMS is sent here.
 */
sr_status_t sr_offer_loop_advance(sr_ctx_t *ctx, const char *slot_opening_id, sr_advance_t *out);
/* The same for several (ids), SR_SWEEP_BATCH to a transaction. */
sr_status_t sr_offer_loop_advance_all(sr_ctx_t *ctx, const apr_array_header_t *slot_opening_ids);

/*
 * The worker's part: claims offers whose SMS is due (just made, Twilio was
 * down, quiet hours ended) a batch at a time, sends each batch at once,
 * records what Twilio said, and moves on the slots whose offer failed for
 * good (a bounded number of rounds), until nothing is due or `deadline`.
 */
sr_status_t sr_offer_loop_send_all_due(sr_ctx_t *ctx, apr_time_t deadline, sr_sweep_report_t *report);
/* Sends one pending offer now (POST /api/jobs/offer-loop): out->sms_sent, out->send_error. */
sr_status_t sr_offer_loop_send_offer(sr_ctx_t *ctx, const char *offer_id, sr_advance_t *out);

/*
 * Wakes the slot openings of some shops (ids) that wait for a customer, in the
 * caller's transaction, when a customer joins or opts in again: they are no
 * longer waiting, so the sweep offers them if nothing else does. Returns the
 * woken ones (column "id"), earliest first; NULL when the database failed.
 */
sr_result_t *sr_offer_loop_wake(sr_db_t *db, const apr_array_header_t *shop_ids);
/* After that transaction's commit: advances the first SR_WAKE_AT_ONCE of them. */
void sr_offer_loop_advance_woken(sr_ctx_t *ctx, const sr_result_t *woken);
/*
 * After a cancellation's commit: its customer is free at that time, so the
 * shop's waiting slots overlapping it are woken (a transaction of its own)
 * and the first few advanced.
 */
sr_status_t sr_offer_loop_wake_for_cancellation(sr_ctx_t *ctx, const char *appointment_id);

/* One sweep, in the database only: offers past their expiry, slots left without a live offer or past the cutoff. */
sr_status_t sr_offer_loop_sweep(sr_ctx_t *ctx, sr_sweep_report_t *report);

/* A Twilio delivery report for message_sid; fails a live offer whose SMS did not arrive. */
sr_status_t sr_offer_loop_delivery_report(sr_ctx_t *ctx, const char *message_sid, const char *status,
                                          const char *error_code);

/* The sender's statements, also run by sr_booking.c (STOP / START): opt in or out, decline their live offers. */
int sr_q_sender_set_opt_in(sr_db_t *db, const char *opt_in, const char *phone, const char *sms_from);
sr_result_t *sr_q_sender_decline_live_offers(sr_db_t *db, const char *phone, const char *sms_from);

/* The statements sr_offer_loop.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_offer_loop_statements[];

#endif /* SR_OFFER_LOOP_H */
