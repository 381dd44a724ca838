/* SPDX-License-Identifier: Apache-2.0 */
/* Inbound SMS: keywords, the booking race, consent. */
#include <apr_lib.h>

#include "sr_booking.h"
#include "sr_keyword.h"
#include "sr_texts.h"

typedef struct {
    const sr_inbound_sms_t *sms;
    sr_inbound_result_t *out;
    const char *customer_id;
    const char *payment_id;               /* the deposit the worker charges after the commit */
    apr_array_header_t *slots_to_advance; /* const char * */
} inbound_work_t;

static sr_status_t book(sr_db_t *db, inbound_work_t *w)
{
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *offer, *slot, *res;
    const char *offer_id, *slot_id, *deposit, *currency, *appointment_id;

    offer = sr_db_select(db, SR_Q_INBOUND_LIVE_OFFER, SR_ARGS(w->sms->from, w->sms->to));
    if (!offer) {
        return SR_UNAVAILABLE;
    }
    w->out->action = "too_late";
    w->out->reply = SR_TEXT_TOO_LATE;
    if (offer->nrows == 0) {
        return SR_OK;
    }
    offer_id = sr_result_get(offer, 0, "offer_id");
    slot_id = sr_result_get(offer, 0, "slot_opening_id");
    w->customer_id = sr_result_get(offer, 0, "customer_id");
    /* The lock: of concurrent YES answers for this slot, one at a time gets past here. */
    slot = sr_db_select(db, SR_Q_BOOK_LOCK, SR_ARGS(slot_id, offer_id));
    if (!slot) {
        return SR_UNAVAILABLE;
    }
    if (slot->nrows == 0 || strcmp(sr_result_get(slot, 0, "slot_status"), "open") ||
        strcmp(sr_result_get(slot, 0, "offer_status"), "sent") || !sr_result_bool(slot, 0, "offer_live")) {
        return SR_OK;
    }
    /* What the offer's SMS named: the booking, the payment and the reply all use it. */
    deposit = sr_result_get(slot, 0, "deposit_amount");
    currency = sr_result_get(slot, 0, "currency");
    if (apr_atoi64(deposit) > 0 && !sr_result_bool(slot, 0, "has_card")) {
        /* No card to charge the deposit to: the slot goes to the next customer. */
        if (sr_db_exec(db, SR_Q_OFFER_DECLINE, SR_ARGS(offer_id)) < 0) {
            return SR_UNAVAILABLE;
        }
        APR_ARRAY_PUSH(w->slots_to_advance, const char *) = slot_id;
        w->out->action = "declined";
        w->out->reply = sr_text_card_needed(p, sr_result_get(slot, 0, "shop_name"));
        return SR_OK;
    }
    if (sr_db_exec(db, SR_Q_BOOK_ACCEPT_OFFER, SR_ARGS(offer_id)) != 1) {
        return SR_UNAVAILABLE;
    }
    res = sr_db_select(db, SR_Q_BOOK_CREATE_APPOINTMENT, SR_ARGS(w->customer_id, deposit, slot_id));
    if (!res || !(appointment_id = sr_result_scalar(res))) {
        return SR_UNAVAILABLE;
    }
    if (sr_db_exec(db, SR_Q_BOOK_FILL_SLOT, SR_ARGS(appointment_id, slot_id)) != 1) {
        return SR_UNAVAILABLE;
    }
    if (apr_atoi64(deposit) > 0) {
        res = sr_db_select(db, SR_Q_BOOK_CREATE_PAYMENT, SR_ARGS(appointment_id, deposit, currency));
        if (!res || !(w->payment_id = sr_result_scalar(res))) {
            return SR_UNAVAILABLE;
        }
    }
    w->out->action = "booked";
    w->out->reply = sr_text_booked(p, sr_result_get(slot, 0, "shop_name"), sr_result_get(slot, 0, "slot_time"),
                                   w->payment_id ? deposit : NULL, currency);
    return SR_OK;
}

static sr_status_t decline(sr_db_t *db, inbound_work_t *w)
{
    sr_result_t *offer = sr_db_select(db, SR_Q_INBOUND_LIVE_OFFER, SR_ARGS(w->sms->from, w->sms->to));
    sr_result_t *res;

    if (!offer) {
        return SR_UNAVAILABLE;
    }
    w->out->action = "declined";
    if (offer->nrows == 0) {
        w->out->reply = SR_TEXT_NOTHING_TO_DECLINE;
        return SR_OK;
    }
    w->customer_id = sr_result_get(offer, 0, "customer_id");
    res = sr_db_select(db, SR_Q_OFFER_DECLINE, SR_ARGS(sr_result_get(offer, 0, "offer_id")));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows > 0) {
        APR_ARRAY_PUSH(w->slots_to_advance, const char *) = sr_result_get(res, 0, "slot_opening_id");
    }
    w->out->reply = SR_TEXT_DECLINED;
    return SR_OK;
}

static sr_status_t set_consent(sr_db_t *db, inbound_work_t *w, int opt_in, const char *shop_name)
{
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *res;
    int i;

    if (sr_db_exec(db, SR_Q_SENDER_SET_OPT_IN, SR_ARGS(opt_in ? "true" : "false", w->sms->from, w->sms->to)) < 0) {
        return SR_UNAVAILABLE;
    }
    if (opt_in) {
        w->out->action = "opted_in";
        w->out->reply = sr_text_opted_in(p, shop_name);
        return SR_OK;
    }
    /* An offer waiting for this customer is declined and the slot moves on. */
    res = sr_db_select(db, SR_Q_SENDER_DECLINE_LIVE_OFFERS, SR_ARGS(w->sms->from, w->sms->to));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    for (i = 0; i < res->nrows; i++) {
        APR_ARRAY_PUSH(w->slots_to_advance, const char *) = sr_result_get(res, i, "slot_opening_id");
    }
    w->out->action = "opted_out";
    /* Twilio (and the carriers) confirm an opt-out themselves: no reply of ours. */
    w->out->reply = NULL;
    return SR_OK;
}

/* Opted in again: the slots of the sender's shops that waited for a customer are offered after the commit. */
static sr_status_t wake_waiting_slots(sr_db_t *db, inbound_work_t *w, const sr_result_t *sender)
{
    apr_array_header_t *shops = apr_array_make(sr_db_pool(db), sender->nrows, sizeof(const char *));
    sr_result_t *woken;
    int i;

    for (i = 0; i < sender->nrows; i++) {
        APR_ARRAY_PUSH(shops, const char *) = sr_result_get(sender, i, "shop_id");
    }
    if (!(woken = sr_offer_loop_wake(db, shops))) {
        return SR_UNAVAILABLE;
    }
    /* The first few now; being awake, the others are the sweep's. */
    for (i = 0; i < woken->nrows && i < SR_WAKE_AT_ONCE; i++) {
        APR_ARRAY_PUSH(w->slots_to_advance, const char *) = sr_result_get(woken, i, "id");
    }
    return SR_OK;
}

/* Records what was done and the answer with the message, for redeliveries. */
static sr_status_t record_reply_work(sr_db_t *db, void *baton)
{
    inbound_work_t *w = baton;

    return sr_db_exec(db, SR_Q_INBOUND_RECORD,
                      SR_ARGS(w->out->action, w->out->reply, w->customer_id, w->sms->message_sid)) < 0
               ? SR_UNAVAILABLE
               : SR_OK;
}

static sr_status_t inbound_work(sr_db_t *db, void *baton)
{
    inbound_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    const sr_inbound_sms_t *sms = w->sms;
    sr_result_t *res;
    const char *shop_name;
    sr_status_t status;

    memset(w->out, 0, sizeof(*w->out));
    w->customer_id = w->payment_id = NULL;
    w->slots_to_advance->nelts = 0;

    res = sr_db_select(db, SR_Q_INBOUND_CLAIM, SR_ARGS(sms->message_sid, sms->from, sms->to, sms->body));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        /* Seen before (maybe just now, by a concurrent delivery): answer as then. */
        res = sr_db_select(db, SR_Q_INBOUND_GET, SR_ARGS(sms->message_sid));
        if (!res) {
            return SR_UNAVAILABLE;
        }
        w->out->duplicate = 1;
        w->out->action = sr_result_get(res, 0, "action");
        w->out->reply = sr_result_get(res, 0, "reply");
        return SR_OK;
    }
    res = sr_db_select(db, SR_Q_INBOUND_SENDER, SR_ARGS(sms->from, sms->to));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->out->action = "unknown_sender";
        status = SR_OK;
    }
    else {
        shop_name = sr_result_get(res, 0, "shop_name");
        w->customer_id = sr_result_get(res, 0, "customer_id");
        switch (sr_keyword_classify(p, sms->body)) {
        case SR_KW_YES:
            status = book(db, w);
            break;
        case SR_KW_NO:
            status = decline(db, w);
            break;
        case SR_KW_STOP:
            status = set_consent(db, w, 0, shop_name);
            break;
        case SR_KW_START:
            status = set_consent(db, w, 1, shop_name);
            if (status == SR_OK) {
                status = wake_waiting_slots(db, w, res);
            }
            break;
        default:
            w->out->action = "help";
            w->out->reply = sr_text_help(p, shop_name);
            status = SR_OK;
            break;
        }
    }
    if (status != SR_OK) {
        return status;
    }
    return record_reply_work(db, w);
}

sr_status_t sr_booking_handle_sms(sr_ctx_t *ctx, const sr_inbound_sms_t *sms, sr_inbound_result_t *out)
{
    inbound_work_t w;
    sr_status_t status;

    memset(&w, 0, sizeof(w));
    w.sms = sms;
    w.out = out;
    w.slots_to_advance = apr_array_make(ctx->pool, 2, sizeof(const char *));
    status = sr_db_transaction(ctx->db, inbound_work, &w);
    if (status != SR_OK) {
        return status;
    }
    /*
     * Committed, and answered at once: the deposit (a payment row) is the
     * worker's, and so are the SMS of the offers these advances make. Should
     * an advance fail here, the sweep moves the slot on.
     */
    if (w.slots_to_advance->nelts > 0) {
        sr_offer_loop_advance_all(ctx, w.slots_to_advance);
    }
    return SR_OK;
}
