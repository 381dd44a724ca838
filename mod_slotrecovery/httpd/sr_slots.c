/* SPDX-License-Identifier: Apache-2.0 */
/* Slot openings: created by cancellations. */
#include "sr_slots.h"
#include "sr_views.h"

typedef struct {
    const char *appointment_id;
    const char *public_url_prefix;
    sr_cancellation_t *out;
} cancel_work_t;

/* The lock serialises concurrent cancellations of one appointment. */
static const sr_statement_t stmt_appointment_lock = {"sr_appointment_lock",
                                                     "SELECT a.id::text AS \"id\", a.status AS \"status\" "
                                                     "FROM appointments a WHERE a.id = %s::bigint FOR UPDATE",
                                                     "id,status"};
static sr_result_t *q_appointment_lock(sr_db_t *db, const char *appointment_id)
{
    return sr_db_select(db, &stmt_appointment_lock, SR_ARGS(appointment_id));
}

static const sr_statement_t stmt_appointment_cancel = {
    "sr_appointment_cancel",
    "UPDATE appointments SET status = 'cancelled', cancelled_at = now() "
    "WHERE id = %s::bigint AND status <> 'cancelled'",
    NULL};
static int q_appointment_cancel(sr_db_t *db, const char *appointment_id)
{
    return sr_db_exec(db, &stmt_appointment_cancel, SR_ARGS(appointment_id));
}

/* Only a cancellation of a future appointment opens a slot; only one per appointment. */
static const sr_statement_t stmt_slot_opening_from_cancellation = {
    "sr_slot_opening_from_cancellation",
    "INSERT INTO slot_openings (shop_id, source_appointment_id, "
    "starts_at, ends_at, public_url_prefix) "
    "SELECT a.shop_id, a.id, a.starts_at, a.ends_at, %s "
    "FROM appointments a "
    "WHERE a.id = %s::bigint AND a.starts_at > now() "
    "ON CONFLICT (source_appointment_id) DO NOTHING "
    "RETURNING id::text AS \"id\"",
    "id"};
static sr_result_t *q_slot_opening_from_cancellation(sr_db_t *db, const char *public_url_prefix,
                                                     const char *appointment_id)
{
    return sr_db_select(db, &stmt_slot_opening_from_cancellation, SR_ARGS(public_url_prefix, appointment_id));
}

static const sr_statement_t stmt_slot_opening_by_source = {"sr_slot_opening_by_source",
                                                           "SELECT o.id::text AS \"id\" FROM slot_openings o "
                                                           "WHERE o.source_appointment_id = %s::bigint",
                                                           "id"};
static sr_result_t *q_slot_opening_by_source(sr_db_t *db, const char *appointment_id)
{
    return sr_db_select(db, &stmt_slot_opening_by_source, SR_ARGS(appointment_id));
}

static sr_status_t cancel_work(sr_db_t *db, void *baton)
{
    cancel_work_t *w = baton;
    sr_cancellation_t *out = w->out;
    sr_result_t *res;

    memset(out, 0, sizeof(*out));
    /* The row lock makes a concurrent second cancel wait, then see 'cancelled'. */
    res = q_appointment_lock(db, w->appointment_id);
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    if (strcmp(sr_result_get(res, 0, "status"), "cancelled")) {
        if (q_appointment_cancel(db, w->appointment_id) < 0) {
            return SR_UNAVAILABLE;
        }
        res = q_slot_opening_from_cancellation(db, w->public_url_prefix, w->appointment_id);
        if (!res) {
            return SR_UNAVAILABLE;
        }
        out->opened_now = res->nrows > 0;
    }
    res = q_slot_opening_by_source(db, w->appointment_id);
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

const sr_statement_t *const sr_slots_statements[] = {&stmt_appointment_lock, &stmt_appointment_cancel,
                                                     &stmt_slot_opening_from_cancellation, &stmt_slot_opening_by_source,
                                                     NULL};
