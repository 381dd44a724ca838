/* SPDX-License-Identifier: Apache-2.0 */
/* The slot domain: cancellations open slots. */
#ifndef SR_SLOTS_H
#define SR_SLOTS_H

#include "sr_db.h"
#include "sr_json.h"
#include "sr_offer_loop.h"

typedef struct {
    sr_json_t *appointment;      /* the cancelled appointment's view */
    sr_json_t *slot_opening;     /* its slot opening's view, NULL when none */
    const char *slot_opening_id; /* NULL when the appointment had already started */
    int opened_now;              /* this call created the slot opening */
} sr_cancellation_t;

/*
 * Cancels an appointment and, when it is still in the future, opens its slot,
 * in one transaction. Cancelling again changes nothing and reports the same
 * slot opening. SR_NOT_FOUND for an unknown appointment. public_url_prefix
 * (SlotRecoveryPublicBaseUrl and the mount prefix, or NULL) is kept with the
 * slot opening for the callback URLs of its offers.
 */
sr_status_t sr_slots_cancel_appointment(sr_db_t *db, const char *appointment_id, const char *public_url_prefix,
                                        sr_cancellation_t *out);

/*
 * The cancellation as the API and the dashboard run it: cancel (one
 * transaction), then offer a newly opened slot to the first customer, and
 * report the slot opening as it stands after that first offer.
 */
sr_status_t sr_slots_cancel_and_offer(sr_ctx_t *ctx, const char *appointment_id, const char *public_url_prefix,
                                      sr_cancellation_t *out);

/* The statements sr_slots.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_slots_statements[];

#endif /* SR_SLOTS_H */
