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

static const sr_statement_t stmt_inbound_live_offer = {
    "sr_inbound_live_offer",
    "SELECT f.id::text AS offer_id, f.slot_opening_id::text AS slot_opening_id, "
    "c.id::text AS customer_id FROM slot_offers f "
    "JOIN customers c ON c.id = f.customer_id JOIN shops s ON s.id = c.shop_id "
    "WHERE c.phone = %s AND s.sms_from = %s AND f.status = 'sent' "
    "ORDER BY f.sent_at DESC, f.id DESC LIMIT 1",
    "offer_id,slot_opening_id,customer_id"};
static sr_result_t *q_inbound_live_offer(sr_db_t *db, const char *phone, const char *sms_from)
{
    return sr_db_select(db, &stmt_inbound_live_offer, SR_ARGS(phone, sms_from));
}

/*
 * YES: the slot's row lock makes exactly one of concurrent answers the
 * winner. The deposit is the one the offer's SMS named (fixed when it was
 * sent); the shop's is only a fallback for an offer set 'sent' by hand.
 */
static const sr_statement_t stmt_book_lock = {
    "sr_book_lock",
    "SELECT o.status AS slot_status, f.status AS offer_status, "
    "f.expires_at > now() AS offer_live, "
    "COALESCE(f.deposit_amount, s.deposit_amount) AS deposit_amount, "
    "COALESCE(f.currency, s.currency) AS currency, s.name AS shop_name, "
    "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon HH24:MI') AS slot_time, "
    "(c.stripe_customer_id IS NOT NULL AND c.stripe_payment_method_id IS NOT NULL) "
    "AS has_card "
    "FROM slot_openings o JOIN slot_offers f ON f.slot_opening_id = o.id "
    "JOIN shops s ON s.id = o.shop_id JOIN customers c ON c.id = f.customer_id "
    "WHERE o.id = %s::bigint AND f.id = %s::bigint FOR UPDATE OF o, f",
    "slot_status,offer_status,offer_live,deposit_amount,currency,shop_name,slot_time,has_card"};
static sr_result_t *q_book_lock(sr_db_t *db, const char *slot_id, const char *offer_id)
{
    return sr_db_select(db, &stmt_book_lock, SR_ARGS(slot_id, offer_id));
}

static const sr_statement_t stmt_book_accept_offer = {
    "sr_book_accept_offer",
    "UPDATE slot_offers SET status = 'accepted', responded_at = now() "
    "WHERE id = %s::bigint AND status = 'sent'",
    NULL};
static int q_book_accept_offer(sr_db_t *db, const char *offer_id)
{
    return sr_db_exec(db, &stmt_book_accept_offer, SR_ARGS(offer_id));
}

/* Arguments: customer, the deposit read by sr_book_lock, slot opening. */
static const sr_statement_t stmt_book_create_appointment = {
    "sr_book_create_appointment",
    "INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at, status, "
    "source_slot_opening_id) "
    "SELECT o.shop_id, %s::bigint, o.starts_at, o.ends_at, "
    "CASE WHEN %s::bigint > 0 THEN 'awaiting_payment' ELSE 'confirmed' END, "
    "o.id FROM slot_openings o "
    "WHERE o.id = %s::bigint RETURNING id::text AS id",
    "id"};
static sr_result_t *q_book_create_appointment(sr_db_t *db, const char *customer_id, const char *deposit_amount,
                                              const char *slot_id)
{
    return sr_db_select(db, &stmt_book_create_appointment, SR_ARGS(customer_id, deposit_amount, slot_id));
}

static const sr_statement_t stmt_book_fill_slot = {
    "sr_book_fill_slot",
    "UPDATE slot_openings SET status = 'filled', filled_by_appointment_id = %s::bigint, "
    "filled_at = now() WHERE id = %s::bigint AND status = 'open'",
    NULL};
static int q_book_fill_slot(sr_db_t *db, const char *appointment_id, const char *slot_id)
{
    return sr_db_exec(db, &stmt_book_fill_slot, SR_ARGS(appointment_id, slot_id));
}

/* The deposit read by sr_book_lock: what the offer named. */
static const sr_statement_t stmt_book_create_payment = {"sr_book_create_payment",
                                                        "INSERT INTO payments (appointment_id, amount, currency) "
                                                        "VALUES (%s::bigint, %s::bigint, %s) RETURNING id::text AS id",
                                                        "id"};
static sr_result_t *q_book_create_payment(sr_db_t *db, const char *appointment_id, const char *deposit_amount,
                                          const char *currency)
{
    return sr_db_select(db, &stmt_book_create_payment, SR_ARGS(appointment_id, deposit_amount, currency));
}

static const sr_statement_t stmt_offer_decline = {"sr_offer_decline",
                                                  "UPDATE slot_offers SET status = 'declined', responded_at = now() "
                                                  "WHERE id = %s::bigint AND status IN ('pending', 'sent') "
                                                  "RETURNING slot_opening_id::text AS slot_opening_id",
                                                  "slot_opening_id"};
static sr_result_t *q_offer_decline(sr_db_t *db, const char *offer_id)
{
    return sr_db_select(db, &stmt_offer_decline, SR_ARGS(offer_id));
}

static sr_status_t book(sr_db_t *db, inbound_work_t *w)
{
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *offer, *slot, *res;
    const char *offer_id, *slot_id, *deposit, *currency, *appointment_id;

    offer = q_inbound_live_offer(db, w->sms->from, w->sms->to);
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
    slot = q_book_lock(db, slot_id, offer_id);
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
        if (!q_offer_decline(db, offer_id)) {
            return SR_UNAVAILABLE;
        }
        APR_ARRAY_PUSH(w->slots_to_advance, const char *) = slot_id;
        w->out->action = "declined";
        w->out->reply = sr_text_card_needed(p, sr_result_get(slot, 0, "shop_name"));
        return SR_OK;
    }
    if (q_book_accept_offer(db, offer_id) != 1) {
        return SR_UNAVAILABLE;
    }
    res = q_book_create_appointment(db, w->customer_id, deposit, slot_id);
    if (!res || !(appointment_id = sr_result_scalar(res))) {
        return SR_UNAVAILABLE;
    }
    if (q_book_fill_slot(db, appointment_id, slot_id) != 1) {
        return SR_UNAVAILABLE;
    }
    if (apr_atoi64(deposit) > 0) {
        res = q_book_create_payment(db, appointment_id, deposit, currency);
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
    sr_result_t *offer = q_inbound_live_offer(db, w->sms->from, w->sms->to);
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
    res = q_offer_decline(db, sr_result_get(offer, 0, "offer_id"));
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

    if (sr_q_sender_set_opt_in(db, opt_in ? "true" : "false", w->sms->from, w->sms->to) < 0) {
        return SR_UNAVAILABLE;
    }
    if (opt_in) {
        w->out->action = "opted_in";
        w->out->reply = sr_text_opted_in(p, shop_name);
        return SR_OK;
    }
    /* An offer waiting for this customer is declined and the slot moves on. */
    res = sr_q_sender_decline_live_offers(db, w->sms->from, w->sms->to);
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

static const sr_statement_t stmt_inbound_record = {
    "sr_inbound_record",
    "UPDATE inbound_messages SET action = %s, reply = %s, customer_id = %s::bigint "
    "WHERE message_sid = %s",
    NULL};
static int q_inbound_record(sr_db_t *db, const char *action, const char *reply, const char *customer_id,
                            const char *message_sid)
{
    return sr_db_exec(db, &stmt_inbound_record, SR_ARGS(action, reply, customer_id, message_sid));
}

/* Records what was done and the answer with the message, for redeliveries. */
static sr_status_t record_reply_work(sr_db_t *db, void *baton)
{
    inbound_work_t *w = baton;

    return q_inbound_record(db, w->out->action, w->out->reply, w->customer_id, w->sms->message_sid) < 0 ? SR_UNAVAILABLE
                                                                                                        : SR_OK;
}

/*
 * Inbound SMS. The claim inserts the message first: a concurrent
 * redelivery waits on the primary key, then finds the row and replays the
 * reply recorded with it.
 */
static const sr_statement_t stmt_inbound_claim = {
    "sr_inbound_claim",
    "INSERT INTO inbound_messages (message_sid, from_number, to_number, body) "
    "VALUES (%s, %s, %s, left(%s, 1600)) ON CONFLICT (message_sid) DO NOTHING "
    "RETURNING message_sid",
    "message_sid"};
static sr_result_t *q_inbound_claim(sr_db_t *db, const char *message_sid, const char *from, const char *to,
                                    const char *body)
{
    return sr_db_select(db, &stmt_inbound_claim, SR_ARGS(message_sid, from, to, body));
}

static const sr_statement_t stmt_inbound_get = {
    "sr_inbound_get", "SELECT action AS action, reply AS reply FROM inbound_messages WHERE message_sid = %s",
    "action,reply"};
static sr_result_t *q_inbound_get(sr_db_t *db, const char *message_sid)
{
    return sr_db_select(db, &stmt_inbound_get, SR_ARGS(message_sid));
}

/* The sender as a customer of the shop(s) texting from the number they wrote to. */
static const sr_statement_t stmt_inbound_sender = {
    "sr_inbound_sender",
    "SELECT c.id::text AS customer_id, s.id::text AS shop_id, s.name AS shop_name "
    "FROM customers c JOIN shops s ON s.id = c.shop_id "
    "WHERE c.phone = %s AND s.sms_from = %s ORDER BY c.id",
    "customer_id,shop_id,shop_name"};
static sr_result_t *q_inbound_sender(sr_db_t *db, const char *phone, const char *sms_from)
{
    return sr_db_select(db, &stmt_inbound_sender, SR_ARGS(phone, sms_from));
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

    res = q_inbound_claim(db, sms->message_sid, sms->from, sms->to, sms->body);
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        /* Seen before (maybe just now, by a concurrent delivery): answer as then. */
        res = q_inbound_get(db, sms->message_sid);
        if (!res) {
            return SR_UNAVAILABLE;
        }
        w->out->duplicate = 1;
        w->out->action = sr_result_get(res, 0, "action");
        w->out->reply = sr_result_get(res, 0, "reply");
        return SR_OK;
    }
    res = q_inbound_sender(db, sms->from, sms->to);
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

const sr_statement_t *const sr_booking_statements[] = {
    &stmt_inbound_claim,      &stmt_inbound_get,         &stmt_inbound_record,    &stmt_inbound_sender,
    &stmt_inbound_live_offer, &stmt_book_lock,           &stmt_book_accept_offer, &stmt_book_create_appointment,
    &stmt_book_fill_slot,     &stmt_book_create_payment, &stmt_offer_decline,     NULL};
