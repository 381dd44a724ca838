#!/usr/bin/env python3
"""A stand-in for Stripe's PaymentIntents API, for tests and the demo.

    fake_stripe.py PORT [--pidfile FILE]

Answers, on 127.0.0.1:PORT:
    POST /v1/payment_intents
        form-encoded amount, currency, customer, payment_method, confirm,
        off_session, metadata[KEY]=... (any keys, e.g. payment_id and
        installation_id; kept as the PaymentIntent's metadata, as Stripe does);
        "Authorization: Bearer sk_..." required (else 401). With an
        Idempotency-Key header, a repeated key returns the first response
        unchanged (status and body; header Idempotent-Replayed: true, and the
        recorded request has "replayed": true).
        200 with a PaymentIntent: id "pi_" + 24 chars, object "payment_intent",
        amount, currency, customer, payment_method, status "succeeded", metadata.
    GET  /v1/payment_intents/{id}
        the PaymentIntent as last answered.
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
    {"failCount": 1}                   decline/failAll apply to the next 1 request only
    {"delay": 2}                       sleep before answering (seconds)
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
        if req["path"] == "/v1/payment_intents" and req["method"] == "POST":
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
            result = self._create(req, behaviour)
            if key:
                with self.state.lock:
                    self.state.extra["idempotency"].setdefault(key, result)
                    result = self.state.extra["idempotency"][key]
                status, obj, headers = result
                headers = dict(headers)
                headers["Idempotency-Key"] = key
                return status, obj, headers
            return result
        m = FETCH_RE.match(req["path"])
        if m and req["method"] == "GET":
            with self.state.lock:
                pi = self.state.extra.get("intents", {}).get(m.group(1))
            if pi:
                return 200, pi, {"Request-Id": rand_id("req_", 14)}
            return stripe_error(404, "invalid_request_error",
                                "No such payment_intent: '%s'" % m.group(1),
                                code="resource_missing", param="intent")
        return stripe_error(404, "invalid_request_error",
                            "Unrecognized request URL (%s: %s)." % (req["method"], req["path"]))

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
