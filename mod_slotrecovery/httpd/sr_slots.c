/* SPDX-License-Identifier: Apache-2.0 */
/* Slot openings: created by cancellations. */
#include "sr_slots.h"
#include "sr_views.h"

typedef struct {
    const char *appointment_id;
    const char *public_url_prefix;
    sr_cancellation_t *out;
} cancel_work_t;

static sr_status_t cancel_work(sr_db_t *db, void *baton)
{
    cancel_work_t *w = baton;
    sr_cancellation_t *out = w->out;
    sr_result_t *res;

    memset(out, 0, sizeof(*out));
    /* The row lock makes a concurrent second cancel wait, then see 'cancelled'. */
    res = sr_db_select(db, SR_Q_APPOINTMENT_LOCK, SR_ARGS(w->appointment_id));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    if (strcmp(sr_result_get(res, 0, "status"), "cancelled")) {
        if (sr_db_exec(db, SR_Q_APPOINTMENT_CANCEL, SR_ARGS(w->appointment_id)) < 0) {
            return SR_UNAVAILABLE;
        }
        res = sr_db_select(db, SR_Q_SLOT_OPENING_FROM_CANCELLATION, SR_ARGS(w->public_url_prefix, w->appointment_id));
        if (!res) {
            return SR_UNAVAILABLE;
        }
        out->opened_now = res->nrows > 0;
    }
    res = sr_db_select(db, SR_Q_SLOT_OPENING_BY_SOURCE, SR_ARGS(w->appointment_id));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    out->slot_opening_id = sr_result_scalar(res);
    out->appointment = sr_view_appointment(db, w->appointment_id);
    if (out->slot_opening_id) {
        out->slot_opening = sr_view_slot_opening(db, out->slot_opening_id);
    }
    if (sr_db_failed(db) || !out->appointment) {
        return SR_UNAVAILABLE;
    }
    return SR_OK;
}

sr_status_t sr_slots_cancel_appointment(sr_db_t *db, const char *appointment_id, const char *public_url_prefix,
                                        sr_cancellation_t *out)
{
    cancel_work_t w = {appointment_id, public_url_prefix, out};

    return sr_db_transaction(db, cancel_work, &w);
}

typedef struct {
    const char *id;
    sr_json_t *view;
} view_work_t;

static sr_status_t slot_opening_view_work(sr_db_t *db, void *baton)
{
    view_work_t *w = baton;

    w->view = sr_view_slot_opening(db, w->id);
    return w->view ? SR_OK : SR_UNAVAILABLE;
}

sr_status_t sr_slots_cancel_and_offer(sr_ctx_t *ctx, const char *appointment_id, const char *public_url_prefix,
                                      sr_cancellation_t *out)
{
    sr_status_t status = sr_slots_cancel_appointment(ctx->db, appointment_id, public_url_prefix, out);
    sr_advance_t adv = {0};
    view_work_t w;

    if (status != SR_OK || !out->opened_now) {
        return status;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s, SR_LOG_PREFIX "appointment %s cancelled: slot opening %s",
                 appointment_id, out->slot_opening_id);
    /* The cancellation is committed; if this first offer fails, the sweep offers the slot. */
    w.id = out->slot_opening_id;
    if (sr_offer_loop_advance(ctx, out->slot_opening_id, &adv) == SR_OK &&
        sr_db_read(ctx->db, slot_opening_view_work, &w) == SR_OK) {
        out->slot_opening = w.view;
    }
    /* Its customer is free at that time now: slots that waited for somebody then may have them. */
    sr_offer_loop_wake_for_cancellation(ctx, appointment_id);
    return SR_OK;
}
