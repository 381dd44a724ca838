#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generators for bench/run: signed webhook requests, pgbench scripts, EXPLAIN scripts.

    benchgen.py stripe   --port P --db D --kind failed|succeeded|unknown|ignored --tag T --out FILE
    benchgen.py twilio   --port P --db D --answer YES|NO --url URL --tag T --out FILE
    benchgen.py help     --port P --db D --count N --url URL --tag T --out FILE
    benchgen.py pgbench  --statements JSON --path NAME --out FILE [--count N --nshops N --tag T]
    benchgen.py explain  --statements JSON --port P --db D --out-dir DIR
    benchgen.py paths                                  the request paths and their statements

Request files hold one request a line, "<signature header value>\\t<body>", read
by bench/wrk/signed.lua. Stripe events are signed with the webhook secret over
"<t>.<body>" (t = now: generate right before the run, the tolerance is 300 s);
Twilio messages with the auth token over the public URL and the sorted POST
parameters. Every event id and MessageSid is distinct (the tag makes them
distinct across runs).

The statements JSON is what bench/tools/sr_statements_dump prints from the
module's own statement tables (mod_slotrecovery/httpd/sr_statement_tables.c). PATHS below lists, for each benchmarked request,
the statements the module runs in the order its C code runs them
(sr_stripe_webhook.c, sr_payments.c, sr_booking.c, sr_offer_loop.c,
sr_dashboard.c, sr_jobs.c); the pgbench scripts are generated from it, with the
module's %s parameters replaced by pgbench variables, prepared the way apr_dbd's
pgsql driver prepares them (PREPARE label (varchar, ...) AS ...; EXECUTE).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

STRIPE_WHSEC = "whsec_bench_webhook_secret"
TWILIO_SID = "AC00000000000000000000000000000000"
TWILIO_TOKEN = "bench-twilio-auth-token"
PSQL = "/usr/lib/postgresql/15/bin/psql"

CUTOFF = "300"      # SlotRecoveryOfferCutoff (default)
DECLINE_MESSAGE = "Your card was declined."

# The one statement a pgbench transaction adds to the module's: it draws the
# next target (a sequence shared by the clients) and whether the target is still
# untouched ("fresh"), which decides the branches the module takes in C.
PAY_TARGET = ("SELECT x.n, t.payment_id, t.intent_id, %s::int AS fresh "
              "FROM (SELECT nextval('bench.seq_{tag}') AS n) x "
              "JOIN bench.pay_targets t ON t.grp = 0 AND t.k = 1 + (x.n - 1) %% {count} "
              "JOIN payments p ON p.id = t.payment_id::bigint \\gset t_")
OFFER_TARGET = ("SELECT x.n, t.phone, t.sms_from, (f.status = 'sent' AND o.status = 'open' "
                "AND f.expires_at > now())::int AS fresh "
                "FROM (SELECT nextval('bench.seq_{tag}') AS n) x "
                "JOIN bench.offer_targets t ON t.grp = 0 AND t.k = 1 + (x.n - 1) % {count} "
                "JOIN slot_offers f ON f.id = t.offer_id JOIN slot_openings o ON o.id = t.slot_id \\gset t_")

# A step is "BEGIN", "COMMIT", ("sql", text) for pgbench-only glue, or
# (label, [args], gset_prefix or None). Args are SQL literals or pgbench
# variables in quotes (the driver sends every %s as text). ("if", cond) /
# ("endif",) wrap the branches the module takes in C.
# The advance of one slot opening (sr_offer_loop.c, advance_batch_work: a
# batch of one is a batch), after the commit that released it: the slot locked
# (waiting for the lock), checked for a live offer, offered to the next
# customer (a pending offer: the worker sends it), marked waiting if nobody could take it (one transaction).
def advance_one(slot_var):
    return [
        "BEGIN",
        ("sr_loop_lock_slot_wait", ["'%s'" % CUTOFF, "':%s'" % slot_var], None),
        ("sr_loop_has_live_offer", ["':%s'" % slot_var], None),
        ("sr_loop_offer_next_customer_one", ["':%s'" % slot_var], None),
        ("sr_loop_set_waiting_one", ["':%s'" % slot_var], None),
        "COMMIT",
    ]


# Since issue 12 no request path calls Twilio or Stripe: a request writes
# rows (a pending offer, a payment without its PaymentIntent, a customer
# text) and the worker (sr_worker.c, on its watchdog thread) sends them after
# the commit. The paths below are the request's transactions only; the
# worker's claims and records run beside them, in the module's runs and in
# the floor's alike (the same httpd is up during both).
PATHS = {
    "stripe_failed": {
        "doc": "POST /api/stripe/webhook, payment_intent.payment_failed for a payment awaiting its deposit: "
               "its payment read (outside the transaction: an event that is not ours stops there), then the event "
               "recorded, payment failed, booking cancelled, the customer's text queued, slot reopened, "
               "offer declined (one transaction); then the slot goes to the next customer: a pending offer "
               "(one transaction). The SMS of the offer and the customer's text are the worker's",
        "targets": "pay",
        "steps": [
            ("sql", PAY_TARGET % "(p.status NOT IN ('succeeded', 'failed'))"),
            ("sr_pay_find_intent", ["':t_intent_id'"], "f_"),
            "BEGIN",
            ("sr_stripe_event_claim", ["'evt_{tag}_:t_n'", "'payment_intent.payment_failed'", "':t_intent_id'"], None),
            ("sr_pay_lock_slot", ["':f_slot_opening_id'"], None),
            ("sr_pay_lock", ["':f_payment_id'"], "l_"),
            ("if", ":t_fresh"),
            ("sr_pay_mark_failed", ["'%s'" % DECLINE_MESSAGE, "':t_intent_id'", "':f_payment_id'"], None),
            ("sr_pay_cancel_appointment", ["':l_appointment_id'"], None),
            ("sr_notify_enqueue", ["'deposit_failed'", "'the deposit payment failed'", "':f_payment_id'"], None),
            ("sr_pay_reopen_slot", ["':l_slot_opening_id'", "':l_appointment_id'"], None),
            ("sr_pay_decline_offer", ["'%s'" % DECLINE_MESSAGE, "':l_slot_opening_id'", "':l_customer_id'"], None),
            ("endif",),
            ("sr_stripe_event_record", ["'payment failed: booking released, slot reopened'", "':f_payment_id'",
                                        "'evt_{tag}_:t_n'"], None),
            "COMMIT",
            ("if", ":t_fresh"),
        ] + advance_one("l_slot_opening_id") + [
            ("endif",),
        ],
    },
    "stripe_succeeded": {
        "doc": "POST /api/stripe/webhook, payment_intent.succeeded for a payment awaiting its deposit: its payment "
               "read (outside the transaction), then the event recorded, payment succeeded, booking confirmed (one transaction)",
        "targets": "pay",
        "steps": [
            ("sql", PAY_TARGET % "(p.status <> 'succeeded')"),
            ("sr_pay_find_intent", ["':t_intent_id'"], "f_"),
            "BEGIN",
            ("sr_stripe_event_claim", ["'evt_{tag}_:t_n'", "'payment_intent.succeeded'", "':t_intent_id'"], None),
            ("sr_pay_lock_slot", ["':f_slot_opening_id'"], None),
            ("sr_pay_lock", ["':f_payment_id'"], "l_"),
            ("if", ":t_fresh"),
            ("sr_pay_mark_succeeded", ["NULL", "':t_intent_id'", "':f_payment_id'"], None),
            ("sr_pay_confirm_appointment", ["':l_appointment_id'"], None),
            ("endif",),
            ("sr_stripe_event_record", ["'payment succeeded: booking confirmed'", "':f_payment_id'",
                                        "'evt_{tag}_:t_n'"], None),
            "COMMIT",
        ],
    },
    "twilio_yes": {
        "doc": "POST /api/twilio/inbound, YES from a customer holding a live offer: the message recorded, the slot "
               "locked, offer accepted, booking and payment created, the answer (\"will be charged\") recorded "
               "(one transaction). The PaymentIntent is the worker's",
        "targets": "offer",
        "steps": [
            ("sql", OFFER_TARGET),
            "BEGIN",
            ("sr_inbound_claim", ["'SM{tag}_:t_n'", "':t_phone'", "':t_sms_from'", "'YES'"], None),
            ("sr_inbound_sender", ["':t_phone'", "':t_sms_from'"], "s_"),
            ("if", ":t_fresh"),
            ("sr_inbound_live_offer", ["':t_phone'", "':t_sms_from'"], "o_"),
            ("sr_book_lock", ["':o_slot_opening_id'", "':o_offer_id'"], "b_"),
            ("sr_book_accept_offer", ["':o_offer_id'"], None),
            ("sr_book_create_appointment", ["':o_customer_id'", "':b_deposit_amount'", "':o_slot_opening_id'"], "a_"),
            ("sr_book_fill_slot", ["':a_id'", "':o_slot_opening_id'"], None),
            ("sr_book_create_payment", ["':a_id'", "':b_deposit_amount'", "':b_currency'"], None),
            ("else",),
            ("sr_inbound_live_offer", ["':t_phone'", "':t_sms_from'"], "o_*"),
            ("endif",),
            ("sr_inbound_record", ["'booked'", "'Booked: Bench Shop, Thu 01 Jan 10.00. Your 15.00 USD deposit will "
                                   "be charged to your saved card.'", "':s_customer_id'", "'SM{tag}_:t_n'"], None),
            "COMMIT",
        ],
    },
    "twilio_no": {
        "doc": "POST /api/twilio/inbound, NO from a customer holding a live offer: the message recorded, the offer "
               "declined (one transaction); then the slot goes to the next customer: a pending offer (one "
               "transaction, sr_offer_loop_advance_all with a batch of one). The SMS is the worker's",
        "targets": "offer",
        "steps": [
            ("sql", OFFER_TARGET),
            "BEGIN",
            ("sr_inbound_claim", ["'SM{tag}_:t_n'", "':t_phone'", "':t_sms_from'", "'NO'"], None),
            ("sr_inbound_sender", ["':t_phone'", "':t_sms_from'"], "s_"),
            ("if", ":t_fresh"),
            ("sr_inbound_live_offer", ["':t_phone'", "':t_sms_from'"], "o_"),
            ("sr_offer_decline", ["':o_offer_id'"], "d_"),
            ("else",),
            ("sr_inbound_live_offer", ["':t_phone'", "':t_sms_from'"], "o_*"),
            ("endif",),
            ("sr_inbound_record", ["'declined'", "'No problem, we''ll offer the slot to someone else.'",
                                   "':s_customer_id'", "'SM{tag}_:t_n'"], None),
            "COMMIT",
            ("if", ":t_fresh"),
        ] + advance_one("d_slot_opening_id") + [
            ("endif",),
        ],
    },
    "dashboard": {
        "doc": "GET /app/appointments (Basic auth, user mapped to shop 1 with 1,000 slot openings): the user's "
               "shop, its Twilio notice, the recovery figures (migration 013's daily tables), the next 50 "
               "appointments and the 20 most recent slot openings (1 statement, no transaction)",
        "targets": None,
        "steps": [
            # No account of the bench's has a Twilio problem: any SID finds no row the same way.
            ("sr_dash_appointments_page", ["'bench'", "'127.0.0.1'", "'Slot recovery bench'", "'ACbench'", "NULL",
                                           "NULL", "'0'"], None),
        ],
    },
    "offer_loop": {
        "doc": "POST /api/jobs/offer-loop for a random open slot opening that has a live offer (the answer is "
               "noop, so nothing is sent): the slot locked, its live offer found, nothing else run (one "
               "transaction)",
        "targets": None,
        "steps": [
            ("sql", "\\set s random(1, {nshops})"),
            ("sql", "\\set d random(0, 99)"),
            ("sql", "\\set r random(7, 9)"),
            ("sql", "\\set slot (:s - 1) * 1000 + 10 * :d + :r"),
            "BEGIN",
            ("sr_loop_lock_slot_wait", ["'%s'" % CUTOFF, "':slot'"], None),
            ("sr_loop_has_live_offer", ["':slot'"], None),
            "COMMIT",
        ],
    },
}

# Rows in the state a statement looks for (the seed has none): 600 live
# offers past their expiry, 200 offers waiting to be sent, 100 payments
# waiting for their PaymentIntent. Undone with the EXPLAIN's transaction.
MAKE_DUE = ("UPDATE slot_offers SET expires_at = now() - interval '1 second' WHERE id IN "
            "(SELECT offer_id FROM bench.offer_targets ORDER BY k LIMIT 600)")
MAKE_PENDING = ("UPDATE slot_offers SET status = 'pending', sent_at = NULL, expires_at = NULL, "
                "provider_message_id = NULL, next_attempt_at = now() - interval '1 second' WHERE id IN "
                "(SELECT offer_id FROM bench.offer_targets ORDER BY k LIMIT 200)")
# 100 of a shop's open slots waiting for a customer (what sr_loop_wake_waiting wakes).
MAKE_WAITING = ("UPDATE slot_openings SET waiting_since = now() WHERE id IN (SELECT id FROM slot_openings "
                "WHERE shop_id = {shop} AND status = 'open' ORDER BY id LIMIT 100)")
MAKE_PAY_PENDING = ("UPDATE payments SET status = 'pending', stripe_payment_intent_id = NULL, "
                    "next_attempt_at = now() - interval '1 second' WHERE id IN "
                    "(SELECT payment_id::bigint FROM bench.pay_targets ORDER BY k LIMIT 100)")

# Every dashboard and loop statement, with arguments for EXPLAIN (ANALYZE,
# BUFFERS) at scale: {shop}, {slot_open}, {offer_live} ... are filled from the
# database by explain(). Writes run inside BEGIN ... ROLLBACK.
EXPLAIN = [
    ("sr_dash_shop_for_user", ["bench", "127.0.0.1", "Slot recovery bench"]),
    ("sr_dash_appointments_page", ["bench", "127.0.0.1", "Slot recovery bench", "ACbench", None, None, "0"]),
    ("sr_dash_appointments_page_dates", ["bench", "127.0.0.1", "Slot recovery bench", "{from}", "{from}", "{to}",
                                         "{to}", "ACbench", "{from}", "{from}", "{to}", "{to}", "filled", "filled",
                                         "{from}", "{from}", "{to}", "{to}", "40"]),
    ("sr_dash_slot_csv", ["{shop}", None, None, None, None, None, None, "infinity", "9223372036854775807", "500"]),
    ("sr_dash_slot_detail", ["{slot_filled}", "{shop}"]),
    ("sr_dash_slot_offers", ["{slot_filled}", "{shop}"]),
    ("sr_dash_appointment", ["{booking}", "{shop}"]),
    ("sr_loop_lock_slots_wait", ["300", "{{{slot_open}}}"]),
    ("sr_loop_lock_slot_wait", ["300", "{slot_open}"]),
    ("sr_loop_has_live_offer", ["{slot_open}"]),
    ("sr_loop_offer_next_customer_one", ["{slot_open}"],
     "UPDATE slot_offers SET status = 'expired' WHERE slot_opening_id = {slot_open} AND status IN ('pending', 'sent')"),
    ("sr_loop_offer_next_customer", ["{{{slot_open}}}"],
     "UPDATE slot_offers SET status = 'expired' WHERE slot_opening_id = {slot_open} AND status IN ('pending', 'sent')"),
    ("sr_loop_expire_slot", ["no_eligible_customer", "{{{slot_open}}}"]),
    ("sr_loop_expire_live_offers", ["{{{slot_open}}}"]),
    ("sr_loop_lock_slots", ["300", "{{{slot_open}}}"]),
    ("sr_loop_set_waiting", ["{{{slot_open}}}"]),
    ("sr_loop_set_waiting_one", ["{slot_open}"]),
    ("sr_loop_claim_due_offers", [None, None, "300", "100", "70", "300"], MAKE_PENDING),
    ("sr_loop_claim_due_offers", ["{offer_live}", "{offer_live}", "300", "1", "70", "300"], MAKE_PENDING),
    ("sr_loop_mark_sent", ["300", "SMexplain", "{offer_live}"], MAKE_PENDING),
    ("sr_loop_mark_send_failed", ["Twilio answered 503", "false", "3", "30", "{offer_live}"], MAKE_PENDING),
    ("sr_loop_expire_due_offers", [], MAKE_DUE),
    ("sr_loop_slots_to_advance", ["300", "300"]),
    ("sr_loop_delivery_status", ["delivered", "delivered", "delivered", "delivered", None, "{message_sid}"]),
    ("sr_inbound_claim", ["SMexplain", "{phone}", "{sms_from}", "YES"]),
    ("sr_inbound_sender", ["{phone}", "{sms_from}"]),
    ("sr_inbound_live_offer", ["{phone}", "{sms_from}"]),
    ("sr_book_lock", ["{slot_open}", "{offer_live}"]),
    ("sr_book_accept_offer", ["{offer_live}"]),
    ("sr_book_create_appointment", ["{customer}", "{slot_open}"]),
    ("sr_offer_decline", ["{offer_live}"]),
    ("sr_sender_set_opt_in", ["false", "{phone}", "{sms_from}"]),
    ("sr_sender_decline_live_offers", ["{phone}", "{sms_from}"]),
    ("sr_pay_claim_due", [None, None, "50", "70"], MAKE_PAY_PENDING),
    ("sr_pay_find_intent", ["{intent}"]),
    ("sr_pay_find", ["{intent}"] * 3 + ["{payment}"]),
    ("sr_pay_lock_slot", ["{slot_filled}"]),
    ("sr_pay_lock", ["{payment}"]),
    ("sr_pay_mark_failed", ["declined", "{intent}", "{payment}"]),
    ("sr_pay_reopen_slot", ["{slot_filled}", "{booking}"]),
    ("sr_pay_decline_offer", ["declined", "{slot_filled}", "{booking_customer}"]),
    ("sr_pay_mark_succeeded", [None, "{intent}", "{payment}"]),
    ("sr_stripe_event_claim", ["evt_explain", "payment_intent.succeeded", "{intent}"]),
    ("sr_stripe_event_record", ["payment succeeded", "{payment}", "evt_explain"]),
    ("sr_slot_opening_get", ["{slot_open}"]),
    ("sr_slot_offers_of_opening", ["{slot_open}"]),
    ("sr_appointment_get", ["{booking}"]),
    ("sr_loop_lock_open_slots", ["{{{shop}}}"]),
    ("sr_loop_wake_waiting", ["{{{shop}}}"], MAKE_WAITING),
    ("sr_loop_lock_overlapping", ["{booking}"]),
    ("sr_loop_wake_overlapping", ["{booking}"], MAKE_WAITING),
    # The worker's idle poll (every SlotRecoveryWorkerInterval), with nothing due and with rows due.
    ("sr_outbox_due", []),
    ("sr_outbox_due", [], MAKE_PENDING),
]


def psql_rows(port, db, sql):
    out = subprocess.run([PSQL, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                          "-p", str(port), "-U", "postgres", "-d", db, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def load_statements(path):
    with open(path) as fh:
        return {s["label"]: s for s in (json.loads(line) for line in fh if line.strip())}


def to_dollar(sql):
    """apr_dbd's pgsql driver: each %s becomes $1, $2, ... in order."""
    n = [0]

    def repl(m):
        n[0] += 1
        return "$%d" % n[0]
    return re.sub(r"%[a-zA-Z]", repl, sql)


def prepare_sql(st):
    types = ", ".join(["varchar"] * st["nargs"])
    return "PREPARE %s %sAS %s" % (st["label"], "(%s) " % types if types else "", to_dollar(st["sql"]))


# --- signed requests -------------------------------------------------------------------------


# Events that change nothing (issue 13's W1 and W2): a payment_failed for a
# PaymentIntent that is not ours (no metadata: looked up, not found) and an
# event of a type the module does not use. No targets: --limit of them.
STRIPE_NOOP_TYPES = {"unknown": "payment_intent.payment_failed", "ignored": "charge.refunded"}


def stripe_requests(args):
    kind = args.kind
    if kind in STRIPE_NOOP_TYPES:
        rows = [(None, "pi_%s_%d" % (args.tag, i + 1)) for i in range(args.limit or 2000)]
    else:
        rows = psql_rows(args.port, args.db, "SELECT payment_id, intent_id FROM bench.pay_targets ORDER BY k")
    if args.limit:
        rows = rows[:args.limit]
    t = int(time.time())
    n = 0
    with open(args.out, "w") as out:
        for i, (payment_id, intent_id) in enumerate(rows):
            obj = {"id": intent_id, "object": "payment_intent", "amount": 1500, "currency": "usd",
                   "status": "succeeded" if kind == "succeeded" else "requires_payment_method",
                   "metadata": {"payment_id": payment_id} if payment_id else {}}
            if kind == "ignored":
                obj = {"id": "ch_%s_%d" % (args.tag, i + 1), "object": "charge", "amount": 1500, "currency": "usd",
                       "payment_intent": intent_id, "metadata": {}}
            if kind in ("failed", "unknown"):
                obj["last_payment_error"] = {"type": "card_error", "code": "card_declined",
                                             "message": DECLINE_MESSAGE}
            event = {"id": "evt_%s_%d" % (args.tag, i + 1), "object": "event", "api_version": "2024-06-20",
                     "created": t, "livemode": False,
                     "type": STRIPE_NOOP_TYPES.get(kind, "payment_intent.payment_failed" if kind == "failed"
                                                   else "payment_intent.succeeded"), "data": {"object": obj}}
            body = json.dumps(event, separators=(",", ":"))
            sig = hmac.new(STRIPE_WHSEC.encode(), ("%d.%s" % (t, body)).encode(), hashlib.sha256).hexdigest()
            out.write("t=%d,v1=%s\t%s\n" % (t, sig, body))
            n += 1
    print(n)


def twilio_sign(url, params):
    data = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_line(url, sid, phone, to, body):
    params = {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "From": phone,
              "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}
    return "%s\t%s\n" % (twilio_sign(url, params), urllib.parse.urlencode(params))


def twilio_requests(args):
    rows = psql_rows(args.port, args.db, "SELECT phone, sms_from FROM bench.offer_targets ORDER BY k")
    if args.limit:
        rows = rows[:args.limit]
    with open(args.out, "w") as out:
        for i, (phone, sms_from) in enumerate(rows):
            out.write(twilio_line(args.url, "SM%s_%d" % (args.tag, i + 1), phone, sms_from, args.answer))
    print(len(rows))


def help_requests(args):
    """Distinct HELP messages from customers of every shop (no offer involved)."""
    rows = psql_rows(args.port, args.db, "SELECT c.phone, s.sms_from FROM customers c JOIN shops s ON "
                     "s.id = c.shop_id WHERE c.id % 97 = 0 ORDER BY c.id LIMIT 1000")
    with open(args.out, "w") as out:
        for i in range(args.count):
            phone, sms_from = rows[i % len(rows)]
            out.write(twilio_line(args.url, "SM%s_%d" % (args.tag, i + 1), phone, sms_from, "HELP"))
    print(args.count)


# --- pgbench -------------------------------------------------------------------------------------


def pgbench_arg(arg, subst):
    """A step argument as inline SQL for pgbench -M prepared: a quoted literal
    holding :variables becomes a concatenation ('evt_x_' || :n), a lone
    ':var' the bare variable (a parameter of the prepared statement)."""
    arg = arg.format(**subst)
    m = re.fullmatch(r"'(.*)'", arg, re.S)
    if not m or not re.search(r":[A-Za-z_]", m.group(1)):
        return arg
    parts = [p for p in re.split(r"(:[A-Za-z_][A-Za-z0-9_]*)", m.group(1)) if p]
    if len(parts) == 1:
        return parts[0]
    # In parentheses: the module's SQL may cast the argument (%s::bigint[]).
    return "(" + " || ".join(p if p.startswith(":") else "'%s'" % p for p in parts) + ")"


def inline(sql, args):
    """The module's SQL with its %s replaced by args. pgbench -M prepared takes
    any :name as a variable, also inside a literal such as 'HH24:MI': such a
    literal is written ('HH24' || ':' || 'MI') (the same constant, folded by
    the planner)."""
    def unvar(m):
        lit = m.group(0)
        if not re.search(r":[A-Za-z_]", lit):
            return lit
        return "(" + " || ':' || ".join("'%s'" % piece for piece in lit[1:-1].split(":")) + ")"
    sql = re.sub(r"'[^']*'", unvar, sql)
    it = iter(args)
    return re.sub(r"%[a-zA-Z]", lambda m: next(it), sql)


def pgbench_script(args):
    """A pgbench script (run with -M simple -D prepared=0) for one path: the
    module's statements prepared once per connection exactly as apr_dbd's pgsql
    driver prepares them (PREPARE label (varchar, ...) AS ..., %s as $n), then
    EXECUTEd with the path's arguments: the same server-side statements, the
    same parameter types, the same plan caching (custom plans, then maybe a
    generic one), NULL passed as NULL. pgbench substitutes its variables into
    the EXECUTE text (the values are ids, phone numbers and tokens)."""
    statements = load_statements(args.statements)
    path = PATHS[args.path]
    used = []
    for step in path["steps"]:
        if isinstance(step, tuple) and step[0] in statements and step[0] not in used:
            used.append(step[0])
    subst = {"tag": args.tag or args.path, "count": args.count, "nshops": args.nshops}
    mode = args.mode
    lines = ["-- %s (generated by bench/tools/benchgen.py from the module's statement tables)" % args.path,
             "-- " + path["doc"]]
    if mode == "execute":
        lines += ["-- Prepared once per connection as apr_dbd's pgsql driver does (varchar parameters);",
                  "-- run with pgbench -M simple -D prepared=0.",
                  "\\if :prepared = 0"]
        for label in used:
            lines.append(prepare_sql(statements[label]) + ";")
        lines += ["\\set prepared 1", "\\endif"]
    else:
        lines += ["-- The module's statements inline, %s as pgbench variables; run with pgbench -M prepared",
                  "-- (each prepared once per connection, parameters bound like the module's)."]
    for step in path["steps"]:
        if step == "BEGIN" or step == "COMMIT":
            lines.append(step + ";")
        elif step[0] == "sql":
            lines.append(step[1].format(**subst))
        elif step[0] == "if":
            lines.append("\\if " + step[1])
        elif step[0] == "endif":
            lines.append("\\endif")
        elif step[0] == "else":
            lines.append("\\else")
        else:
            label, call_args, gset = step
            st = statements[label]
            if len(call_args) != st["nargs"]:
                sys.exit("%s takes %d arguments, the path gives %d" % (label, st["nargs"], len(call_args)))
            if mode == "execute":
                text = "EXECUTE %s(%s)" % (label, ", ".join(a.format(**subst) for a in call_args))
            else:
                text = "-- %s\n%s" % (label, inline(st["sql"], [pgbench_arg(a, subst) for a in call_args]))
            if gset and gset.endswith("*"):
                text += " \\aset " + gset[:-1]
            elif gset:
                text += " \\gset " + gset
            else:
                text += ";"
            lines.append(text)
    with open(args.out, "w") as out:
        out.write("\n".join(lines) + "\n")


# --- EXPLAIN ---------------------------------------------------------------------------------------


def explain(args):
    statements = load_statements(args.statements)
    q = lambda sql: psql_rows(args.port, args.db, sql)[0][0]  # noqa: E731
    values = {
        "shop": "1",
        "from": q("SELECT to_char(now() + interval '3 days', 'YYYY-MM-DD')"),
        "to": q("SELECT to_char(now() + interval '33 days', 'YYYY-MM-DD')"),
        "slot_open": q("SELECT o.id FROM slot_openings o JOIN slot_offers f ON f.slot_opening_id = o.id "
                       "AND f.status = 'sent' WHERE o.status = 'open' AND o.shop_id = 1 ORDER BY o.id LIMIT 1"),
        "slot_filled": q("SELECT id FROM slot_openings WHERE status = 'filled' AND shop_id = 1 ORDER BY id LIMIT 1"),
        "booking": q("SELECT filled_by_appointment_id FROM slot_openings WHERE status = 'filled' AND shop_id = 1 "
                     "ORDER BY id LIMIT 1"),
        "booking_customer": q("SELECT a.customer_id FROM slot_openings o JOIN appointments a "
                              "ON a.id = o.filled_by_appointment_id WHERE o.status = 'filled' AND o.shop_id = 1 "
                              "ORDER BY o.id LIMIT 1"),
        "offer_live": q("SELECT f.id FROM slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id "
                        "WHERE f.status = 'sent' AND o.status = 'open' AND o.shop_id = 1 ORDER BY o.id LIMIT 1"),
        "offer_pending": q("SELECT COALESCE((SELECT id FROM slot_offers WHERE status = 'pending' LIMIT 1), "
                           "(SELECT max(id) FROM slot_offers))"),
        "message_sid": q("SELECT provider_message_id FROM slot_offers WHERE status = 'sent' ORDER BY id LIMIT 1"),
        "customer": q("SELECT f.customer_id FROM slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id "
                      "WHERE f.status = 'sent' AND o.status = 'open' AND o.shop_id = 1 ORDER BY o.id LIMIT 1"),
        "payment": q("SELECT id FROM payments WHERE status = 'processing' ORDER BY id LIMIT 1"),
    }
    values["intent"] = q("SELECT stripe_payment_intent_id FROM payments WHERE id = %s" % values["payment"])
    values["phone"], values["sms_from"] = psql_rows(
        args.port, args.db, "SELECT c.phone, s.sms_from FROM customers c JOIN shops s ON s.id = c.shop_id "
        "WHERE c.id = %s" % values["customer"])[0]
    os.makedirs(args.out_dir, exist_ok=True)
    index = []
    for n, entry in enumerate(EXPLAIN, 1):
        label, call_args = entry[0], entry[1]
        setup = [entry[2].format(**values) + ";"] if len(entry) > 2 else []
        st = statements[label]
        if len(call_args) != st["nargs"]:
            sys.exit("%s takes %d arguments, EXPLAIN gives %d" % (label, st["nargs"], len(call_args)))
        lits = ["NULL" if a is None else "'%s'" % a.format(**values).replace("'", "''") for a in call_args]
        name = "%02d_%s" % (n, label)
        execute = "EXECUTE %s%s" % (label, "(%s)" % ", ".join(lits) if lits else "")
        explain = "EXPLAIN (ANALYZE, BUFFERS) " + execute + ";"
        sql = ["\\set ON_ERROR_STOP on", "\\pset pager off", "BEGIN;", prepare_sql(st) + ";", "SAVEPOINT s;"]
        sql += setup + ["\\echo '== first execution (a custom plan)'", explain, "ROLLBACK TO SAVEPOINT s;"]
        # As on a pooled connection: after five executions PostgreSQL may settle on the generic plan.
        for _ in range(5):
            sql += setup + [execute + " \\g /dev/null", "ROLLBACK TO SAVEPOINT s;"]
        sql += setup + ["\\echo '== seventh execution (the plan a pooled connection settles on)'", explain,
                        "ROLLBACK TO SAVEPOINT s;", "SET LOCAL plan_cache_mode = force_generic_plan;"]
        sql += setup + ["\\echo '== the generic plan'", explain, "ROLLBACK;"]
        with open(os.path.join(args.out_dir, name + ".sql"), "w") as fh:
            fh.write("-- %s(%s)\n-- %s\n" % (label, ", ".join(lits), st["sql"]))
            fh.write("\n".join(sql) + "\n")
        index.append(name)
    print("\n".join(index))


def paths(_args):
    for name, p in PATHS.items():
        labels = [s[0] for s in p["steps"] if isinstance(s, tuple) and s[0].startswith("sr_")]
        print("%s: %s\n    %s" % (name, p["doc"], ", ".join(labels)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("stripe", "twilio", "help"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--db", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--tag", required=True)
        p.add_argument("--limit", type=int, default=0)
        if name == "stripe":
            p.add_argument("--kind", choices=("failed", "succeeded", "unknown", "ignored"), required=True)
        elif name == "twilio":
            p.add_argument("--answer", required=True)
            p.add_argument("--url", required=True)
        else:
            p.add_argument("--count", type=int, required=True)
            p.add_argument("--url", required=True)
    p = sub.add_parser("pgbench")
    p.add_argument("--statements", required=True)
    p.add_argument("--path", choices=sorted(PATHS), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tag")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--nshops", type=int, default=1)
    p.add_argument("--mode", choices=("execute", "prepared"), default="execute")
    p = sub.add_parser("explain")
    p.add_argument("--statements", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--out-dir", required=True)
    sub.add_parser("paths")
    args = ap.parse_args()
    {"stripe": stripe_requests, "twilio": twilio_requests, "help": help_requests, "pgbench": pgbench_script,
     "explain": explain, "paths": paths}[args.cmd](args)


if __name__ == "__main__":
    main()
