#!/usr/bin/env python3
"""A stand-in for Stripe's PaymentIntents and Refunds APIs, for tests and the demo.

    fake_stripe.py PORT [--pidfile FILE]

Answers, on 127.0.0.1:PORT:
    POST /v1/payment_intents
        form-encoded amount, currency, customer, payment_method, confirm,
        off_session, metadata[KEY]=... (any keys, e.g. payment_id and
        installation_id; kept as the PaymentIntent's metadata, as Stripe does);
        "Authorization: Bearer sk_..." required (else 401). With an
        Idempotency-Key header, a repeated key returns the first response
        unchanged (status and body, 5xx included, as Stripe does; header
        Idempotent-Replayed: true, and the recorded request has "replayed":
        true). Answers Stripe never stores for a key (401, validation errors,
        an unreachable or non-JSON answer) are not replayed.
        200 with a PaymentIntent: id "pi_" + 24 chars, object "payment_intent",
        amount, currency, customer, payment_method, status "succeeded", metadata.
    GET  /v1/payment_intents/{id}
        the PaymentIntent as last answered.
    POST /v1/refunds
        form-encoded payment_intent (required, one this stand-in made), amount
        (default: what is left to refund), reason, metadata[...]; idempotent
        like PaymentIntents. 200 with a Refund: id "re_" + 24 chars, object
        "refund", amount, currency, payment_intent, charge, status "succeeded"
        (see refundStatus), failure_reason when failed. Refunding more than the
        PaymentIntent's amount answers 400 invalid_request_error
        charge_already_refunded (or amount_too_large).
    GET  /v1/refunds/{id}
        the Refund as last answered (see refundSettle).
Control API: see stubbase.py. Behaviour (POST /_control/behave), all optional:
    {"decline": true}                  402 card_error / card_declined (generic_decline);
                                       the embedded payment_intent has status
                                       "requires_payment_method"
    {"declineCode": "insufficient_funds"}  with decline: the decline_code
    {"declineCustomers": ["cus_x"]}    decline only for these customers
    {"status": "processing"}           200, PaymentIntent in that status
                                       (also "requires_action", ...); without it
                                       the status is "succeeded" when confirm=true,
                                       else "requires_confirmation"
    {"failAll": 500}                   answer with a Stripe api_error and that status
                                       (stored for the Idempotency-Key, as Stripe does)
    {"fail": KIND}                     one of Stripe's refusals, never stored for the key:
                                         "unauthorized"     401 invalid_request_error (bad API key)
                                         "amount_too_small" 400 invalid_request_error, code amount_too_small
                                         "invalid_request"  400 invalid_request_error, code resource_missing
                                         "idempotency"      400 idempotency_error
                                         "non_json"         502 with an HTML page (a proxy in between)
    {"unreachable": true}              drop the connection without an answer
    {"only": "/v1/refunds"}            decline, failAll, fail, unreachable and delay apply
                                       only to requests whose path starts so
    {"failCount": 1}                   decline/failAll/fail/unreachable apply to the next
                                       1 request only
    {"delay": 2}                       sleep before answering (seconds)
    {"refundStatus": "pending"}        the status of new refunds ("succeeded" by default;
                                       "failed" comes with failure_reason)
    {"refundSettle": "succeeded"}      a pending refund has this status when next fetched
"""

import os
import re
import secrets
import string
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stubbase import StubHandler, serve  # noqa: E402

ALNUM = string.ascii_letters + string.digits
FETCH_RE = re.compile(r"^/v1/payment_intents/([^/]+)$")
REFUND_FETCH_RE = re.compile(r"^/v1/refunds/([^/]+)$")

# Stripe's refusals for {"fail": KIND}: (status, error type, code, message, param).
FAILURES = {
    "unauthorized": (401, "invalid_request_error", None,
                     "Invalid API Key provided: sk_test_********************1234", None),
    "amount_too_small": (400, "invalid_request_error", "amount_too_small",
                         "Amount must be at least $0.50 usd", "amount"),
    "invalid_request": (400, "invalid_request_error", "resource_missing",
                        "No such customer: 'cus_unknown'", "customer"),
    "idempotency": (400, "idempotency_error", None,
                    "Keys for idempotent requests can only be used with the same parameters they were first "
                    "used with. Try using a key other than 'slotrecovery-deposit-1' if you meant to execute a "
                    "different request.", None),
}
NON_JSON_PAGE = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                 "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")


def rand_id(prefix, n=24):
    return prefix + "".join(secrets.choice(ALNUM) for _ in range(n))


def nested(form):
    """metadata[a]=1 -> {"metadata": {"a": "1"}} (one level, like our client sends)."""
    out = {}
    for key, value in form.items():
        m = re.match(r"^([^\[]+)\[([^\]]*)\]$", key)
        if m:
            out.setdefault(m.group(1), {})
            if isinstance(out[m.group(1)], dict):
                out[m.group(1)][m.group(2)] = value
        else:
            out[key] = value
    return out


def stripe_error(status, etype, message, **extra):
    err = {"type": etype, "message": message}
    err.update(extra)
    return status, {"error": err}, {"Request-Id": rand_id("req_", 14)}


def truthy(v):
    return str(v).lower() in ("true", "1", "yes")


class StripeHandler(StubHandler):
    stub_name = "fake_stripe"

    def _consume_failure(self):
        """True if a configured failure applies to this request (honours failCount)."""
        with self.state.lock:
            left = self.state.behaviour.get("failCount")
            if left is None:
                return True
            if int(left) <= 0:
                return False
            self.state.behaviour["failCount"] = int(left) - 1
            return True

    def handle_api(self, req, behaviour):
        auth = req["headers"].get("authorization", "")
        if not auth.startswith("Bearer sk_"):
            return stripe_error(401, "invalid_request_error",
                                "You did not provide an API key. You need to provide your API key in the "
                                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        if behaviour.get("only") and not req["path"].startswith(behaviour["only"]):
            behaviour = {k: v for k, v in behaviour.items()
                         if k not in ("decline", "declineCustomers", "failAll", "fail", "unreachable", "delay")}
        if req["method"] == "POST" and req["path"] in ("/v1/payment_intents", "/v1/refunds"):
            # What never reaches Stripe's idempotency layer: nothing is stored for the key.
            if behaviour.get("unreachable") and self._consume_failure():
                return None, None, {}
            kind = behaviour.get("fail")
            if kind == "non_json" and self._consume_failure():
                return 502, NON_JSON_PAGE, {"Content-Type": "text/html"}
            if kind in FAILURES and self._consume_failure():
                status, etype, code, message, param = FAILURES[kind]
                extra = {}
                if code:
                    extra["code"] = code
                    extra["doc_url"] = "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
                if param:
                    extra["param"] = param
                return stripe_error(status, etype, message, **extra)
            create = self._create if req["path"] == "/v1/payment_intents" else self._refund
            return self._idempotent(req, behaviour, create)
        m = FETCH_RE.match(req["path"])
        if m and req["method"] == "GET":
            with self.state.lock:
                pi = self.state.extra.get("intents", {}).get(m.group(1))
            if pi:
                return 200, pi, {"Request-Id": rand_id("req_", 14)}
            return stripe_error(404, "invalid_request_error",
                                "No such payment_intent: '%s'" % m.group(1),
                                code="resource_missing", param="intent")
        m = REFUND_FETCH_RE.match(req["path"])
        if m and req["method"] == "GET":
            with self.state.lock:
                refund = self.state.extra.get("refunds", {}).get(m.group(1))
                if refund and refund["status"] == "pending" and behaviour.get("refundSettle"):
                    refund["status"] = behaviour["refundSettle"]
                    if refund["status"] == "failed":
                        refund["failure_reason"] = "expired_or_canceled_card"
                refund = dict(refund) if refund else None
            if refund:
                return 200, refund, {"Request-Id": rand_id("req_", 14)}
            return stripe_error(404, "invalid_request_error", "No such refund: '%s'" % m.group(1),
                                code="resource_missing", param="id")
        return stripe_error(404, "invalid_request_error",
                            "Unrecognized request URL (%s: %s)." % (req["method"], req["path"]))

    def _idempotent(self, req, behaviour, create):
        """Stripe's idempotency layer: the first answer for a key is the answer for that key."""
        key = req["headers"].get("idempotency-key")
        if key:
            with self.state.lock:
                seen = self.state.extra.setdefault("idempotency", {}).get(key)
            if seen:
                req["replayed"] = True
                status, obj, headers = seen
                headers = dict(headers)
                headers["Idempotent-Replayed"] = "true"
                headers["Idempotency-Key"] = key
                return status, obj, headers
        result = create(req, behaviour)
        if key:
            with self.state.lock:
                self.state.extra["idempotency"].setdefault(key, result)
                result = self.state.extra["idempotency"][key]
            status, obj, headers = result
            headers = dict(headers)
            headers["Idempotency-Key"] = key
            return status, obj, headers
        return result

    def _refund(self, req, behaviour):
        params = nested(req["form"])
        pi_id = params.get("payment_intent")
        if not pi_id and not params.get("charge"):
            return stripe_error(400, "invalid_request_error",
                                "One of the following params should be provided for this request: "
                                "payment_intent or charge.", code="parameter_missing")
        if behaviour.get("failAll") and self._consume_failure():
            return stripe_error(int(behaviour["failAll"]), "api_error",
                                "An unknown error occurred while processing your request.")
        with self.state.lock:
            pi = self.state.extra.get("intents", {}).get(pi_id)
            refunded = self.state.extra.setdefault("refunded", {}).get(pi_id, 0)
        if not pi:
            return stripe_error(400, "invalid_request_error", "No such payment_intent: '%s'" % pi_id,
                                code="resource_missing", param="payment_intent")
        left = int(pi["amount"]) - refunded
        try:
            amount = int(params.get("amount", left))
        except ValueError:
            return stripe_error(400, "invalid_request_error", "Invalid integer: %s" % params.get("amount"),
                                code="parameter_invalid_integer", param="amount")
        if left <= 0:
            return stripe_error(400, "invalid_request_error",
                                "Charge %s has already been refunded." % (pi.get("latest_charge") or pi_id),
                                code="charge_already_refunded")
        if amount <= 0 or amount > left:
            return stripe_error(400, "invalid_request_error",
                                "Refund amount (%d) is greater than unrefunded amount on charge (%d)" % (amount, left),
                                code="amount_too_large", param="amount")
        status = behaviour.get("refundStatus", "succeeded")
        refund = {
            "id": rand_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": rand_id("txn_"),
            "charge": pi.get("latest_charge"),
            "created": int(time.time()),
            "currency": pi["currency"],
            "metadata": params.get("metadata") if isinstance(params.get("metadata"), dict) else {},
            "payment_intent": pi_id,
            "reason": params.get("reason"),
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": status,
            "transfer_reversal": None,
        }
        if status == "failed":
            refund["failure_reason"] = "expired_or_canceled_card"
        with self.state.lock:
            if status != "failed":
                self.state.extra["refunded"][pi_id] = refunded + amount
            self.state.extra.setdefault("refunds", {})[refund["id"]] = refund
        return 200, dict(refund), {"Request-Id": rand_id("req_", 14)}

    def _create(self, req, behaviour):
        params = nested(req["form"])
        amount = params.get("amount")
        currency = params.get("currency")
        if not amount:
            return stripe_error(400, "invalid_request_error", "Missing required param: amount.",
                                code="parameter_missing", param="amount")
        if not currency:
            return stripe_error(400, "invalid_request_error", "Missing required param: currency.",
                                code="parameter_missing", param="currency")
        try:
            amount = int(amount)
        except ValueError:
            return stripe_error(400, "invalid_request_error", "Invalid integer: %s" % amount,
                                code="parameter_invalid_integer", param="amount")
        metadata = params.get("metadata") if isinstance(params.get("metadata"), dict) else {}
        customer = params.get("customer")
        confirm = truthy(params.get("confirm", "false"))
        pi_id = rand_id("pi_")
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "capture_method": "automatic",
            "client_secret": "%s_secret_%s" % (pi_id, rand_id("", 25)),
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency.lower(),
            "customer": customer,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "payment_method": params.get("payment_method"),
            "payment_method_types": ["card"],
            "status": "requires_confirmation" if not confirm else "succeeded",
        }

        if behaviour.get("failAll") and self._consume_failure():
            status = int(behaviour["failAll"])
            return stripe_error(status, "api_error",
                                "An unknown error occurred while processing your request.")

        decline_for = behaviour.get("declineCustomers")
        declines = (customer in decline_for) if decline_for else bool(behaviour.get("decline"))
        if declines and self._consume_failure():
            code = behaviour.get("declineCode", "generic_decline")
            charge = rand_id("ch_")
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": code,
                "message": "Your card was declined." if code == "generic_decline"
                else "Your card has %s." % code.replace("_", " "),
                "charge": charge,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "request_log_url": "https://dashboard.stripe.com/test/logs/%s" % rand_id("req_", 14),
            }
            pi.update({
                "status": "requires_payment_method",
                "latest_charge": charge,
                "last_payment_error": {k: v for k, v in error.items() if k != "request_log_url"},
            })
            error["payment_intent"] = pi
            with self.state.lock:
                self.state.extra.setdefault("intents", {})[pi_id] = pi
            return 402, {"error": error}, {"Request-Id": rand_id("req_", 14)}

        if behaviour.get("status"):
            pi["status"] = behaviour["status"]
        if pi["status"] == "succeeded":
            pi["amount_received"] = amount
            pi["latest_charge"] = rand_id("ch_")
        with self.state.lock:
            self.state.extra.setdefault("intents", {})[pi_id] = pi
        return 200, pi, {"Request-Id": rand_id("req_", 14)}


if __name__ == "__main__":
    serve(StripeHandler, "Stand-in for Stripe's PaymentIntents API")
