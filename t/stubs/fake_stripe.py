#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for Stripe's PaymentIntents and Refunds APIs, for tests and the demo.

    fake_stripe.py PORT [--pidfile FILE]

Answers, on 127.0.0.1:PORT:
    POST /v1/payment_intents
        form-encoded amount, currency, customer, payment_method, confirm,
        off_session, metadata[KEY]=... (any keys, e.g. payment_id and
        installation_id; kept as the PaymentIntent's metadata, as Stripe does);
        "Authorization: Bearer sk_test_..." or a restricted key "rk_test_..."
        (also *_live_) required, else 401. Idempotency as Stripe's: with an
        Idempotency-Key header, a repeated key with the same method, path and
        parameters returns the first response unchanged (status and body, 5xx
        included; header Idempotent-Replayed: true, and the recorded request
        has "replayed": true); the same key with other parameters answers 400
        idempotency_error; the same key while its first request is still being
        processed answers 409 idempotency_error. Answers Stripe never stores
        for a key (401, parameter validation errors such as parameter_missing
        or amount_too_small, an unreachable or non-JSON answer, 409) are not
        replayed: a corrected retry with that key is processed.
        Amounts below Stripe's minimum charge for the currency (usd 50, gbp 30,
        ..., see MINIMUM) answer 400 invalid_request_error amount_too_small.
        Off-session with payment_method pm_card_authenticationRequired (card
        4000 0027 6000 3184; also any pm_... containing 4000002760003184)
        answers 402 card_error code authentication_required, the
        PaymentIntent left requires_payment_method; pm_card_chargeDeclined
        answers 402 card_declined.
        200 with a PaymentIntent: id "pi_" + 24 chars, object "payment_intent",
        amount, currency, customer, payment_method, status "succeeded", metadata.
    GET  /v1/payment_intents?customer=cus_...&limit=N&starting_after=pi_...
        Stripe's list (strongly consistent, newest first): {"object": "list",
        "data": [...], "has_more", "url"}; limit 1..100 (default 10).
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
    GET  /v1/refunds?payment_intent=pi_...&limit=N&starting_after=re_...
        the list of Refunds, newest first, as for PaymentIntents.
Control API: see stubbase.py; also GET /_control/inflight: {"inflight": N}, the
POSTs still being processed (a client that gave up does not end them).
Behaviour (POST /_control/behave), all optional:
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
                                       (stored for the Idempotency-Key, as Stripe does);
                                       429 is the rate limiter's invalid_request_error
                                       rate_limit, answered before the endpoint runs and
                                       so never stored for the key
    {"failAfterCreate": true}          with failAll: the PaymentIntent (or Refund) is made (and kept)
                                       before the error is answered, as an indeterminate
                                       Stripe 500 may have done
    {"slowCreate": 12}                 POSTs hold their Idempotency-Key this many seconds
                                       before processing (another request with the key
                                       meanwhile: 409), then create and store the answer
                                       even if the client has gone
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
    {"restrictedPermissions": ["rak_payment_intent_write"]}
                                       what rk_ keys may do (default: everything); a request
                                       needing another answers 403 invalid_request_error, as
                                       Stripe does (rak_payment_intent_read/_write,
                                       rak_refund_read/_write; write includes read)
    {"refundStatus": "pending"}        the status of new refunds ("succeeded" by default;
                                       "failed" comes with failure_reason)
    {"refundSettle": "succeeded"}      a pending refund has this status when next fetched
    {"listMisses": 1}                  the next 1 GET /v1/payment_intents list answers an
                                       empty page (a lookup that misses an intent a 500
                                       made: how a deposit can end up with two)
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
# Stripe's minimum charge amounts, minor units (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
MINIMUM = {c: 50 for c in ("usd", "eur", "aud", "brl", "cad", "chf", "inr", "jpy", "nzd", "sgd")}
MINIMUM.update({"gbp": 30, "bgn": 100, "aed": 200, "myr": 200, "pln": 200, "ron": 200, "dkk": 250, "nok": 300,
                "sek": 300, "hkd": 400, "mxn": 1000, "thb": 1000, "czk": 1500, "huf": 17500})
KEY_RE = re.compile(r"^Bearer (sk|rk)_(test|live)_[A-Za-z0-9]+$")
AUTH_REQUIRED_PMS = ("pm_card_authenticationRequired", "pm_card_threeDSecure2Required")
NOT_SAVED = "X-Stub-Not-Saved"  # an answer Stripe does not store for the Idempotency-Key (popped before sending)
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


def validation_error(message, code, param):
    """A parameter refused before the endpoint runs: Stripe saves nothing for the key."""
    status, obj, headers = stripe_error(400, "invalid_request_error", message, code=code, param=param,
                                        doc_url="https://stripe.com/docs/error-codes/" + code.replace("_", "-"))
    headers[NOT_SAVED] = "1"
    return status, obj, headers


def fingerprint(req):
    return (req["method"], req["path"], tuple(sorted((k, tuple(v)) for k, v in req["formMulti"].items())))


def truthy(v):
    return str(v).lower() in ("true", "1", "yes")


class StripeHandler(StubHandler):
    stub_name = "fake_stripe"

    def _control(self, path, raw):
        if path == "/_control/inflight" and self.command == "GET":
            with self.state.lock:
                return self.send_json(200, {"inflight": self.state.extra.get("inflight", 0)})
        return super()._control(path, raw)

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
        if not auth:
            return stripe_error(401, "invalid_request_error",
                                "You did not provide an API key. You need to provide your API key in the "
                                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        if not KEY_RE.match(auth):
            return stripe_error(401, "invalid_request_error", "Invalid API Key provided: %s********" % auth[7:15])
        needed = self._permission(req)
        granted = behaviour.get("restrictedPermissions")
        if auth.startswith("Bearer rk_") and granted is not None and needed and needed not in granted and not (
                needed.endswith("_read") and needed[:-5] + "_write" in granted):
            return stripe_error(403, "invalid_request_error",
                                "The provided key '%s********' does not have the required permissions for this "
                                "endpoint on account 'acct_1SlotRecoveryTest'. Having the '%s' permission would "
                                "allow this request to continue." % (auth[7:15], needed))
        if behaviour.get("only") and not req["path"].startswith(behaviour["only"]):
            behaviour = {k: v for k, v in behaviour.items()
                         if k not in ("decline", "declineCustomers", "failAll", "fail", "unreachable", "delay")}
        if req["method"] == "POST" and req["path"] in ("/v1/payment_intents", "/v1/refunds"):
            # What never reaches Stripe's idempotency layer: nothing is stored for the key.
            if behaviour.get("unreachable") and self._consume_failure():
                return None, None, {}
            # A 429 comes from Stripe's rate limiter, before the endpoint runs: never saved for the key.
            if str(behaviour.get("failAll") or "") == "429" and self._consume_failure():
                return stripe_error(429, "invalid_request_error",
                                    "Request rate limit exceeded. Learn more about rate limits here "
                                    "https://stripe.com/docs/rate-limits.", code="rate_limit")
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
        if req["method"] == "GET" and req["path"] in ("/v1/payment_intents", "/v1/refunds"):
            return self._list(req, miss=req["path"] == "/v1/payment_intents" and self._list_miss())
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

    @staticmethod
    def _permission(req):
        for prefix, resource in (("/v1/payment_intents", "payment_intent"), ("/v1/refunds", "refund")):
            if req["path"].startswith(prefix):
                return "rak_%s_%s" % (resource, "read" if req["method"] == "GET" else "write")
        return None

    def _list_miss(self):
        """True if this PaymentIntent list is to miss every intent ({"listMisses": N})."""
        with self.state.lock:
            left = int(self.state.behaviour.get("listMisses") or 0)
            if left > 0:
                self.state.behaviour["listMisses"] = left - 1
            return left > 0

    def _list(self, req, miss=False):
        q = req["query"]
        try:
            limit = int(q.get("limit", 10))
        except ValueError:
            limit = 0
        if limit < 1 or limit > 100:
            return stripe_error(400, "invalid_request_error",
                                "This value must be greater than or equal to 1 and less than or equal to 100.",
                                code="parameter_invalid_integer", param="limit")
        refunds = req["path"] == "/v1/refunds"
        with self.state.lock:
            order = dict(self.state.extra.get("order", {}))
            items = [dict(o) for o in self.state.extra.get("refunds" if refunds else "intents", {}).values()]
        if miss:
            items = []
        items.sort(key=lambda o: order.get(o["id"], 0), reverse=True)  # newest first
        if refunds and q.get("payment_intent"):
            items = [o for o in items if o.get("payment_intent") == q["payment_intent"]]
        if not refunds and q.get("customer"):
            items = [o for o in items if o.get("customer") == q["customer"]]
        intents = items
        if q.get("starting_after"):
            ids = [pi["id"] for pi in intents]
            if q["starting_after"] not in ids:
                return stripe_error(400, "invalid_request_error",
                                    "No such object: '%s'" % q["starting_after"],
                                    code="resource_missing", param="starting_after")
            intents = intents[ids.index(q["starting_after"]) + 1:]
        return 200, {"object": "list", "data": intents[:limit], "has_more": len(intents) > limit,
                     "url": req["path"]}, {"Request-Id": rand_id("req_", 14)}

    def _idempotent(self, req, behaviour, create):
        """Stripe's idempotency layer: the first saved answer for a key is the answer for that key."""
        key = req["headers"].get("idempotency-key")
        slow = float(behaviour.get("slowCreate") or 0)
        if key:
            fp = fingerprint(req)
            with self.state.lock:
                store = self.state.extra.setdefault("idempotency", {})
                seen = store.get(key)
                if seen is None:
                    store[key] = {"fingerprint": fp, "result": None}  # in progress
            if seen is not None:
                if seen["result"] is None:
                    status, obj, headers = stripe_error(
                        409, "idempotency_error",
                        "There is currently another in-progress request using this Idempotent Key (that probably "
                        "means you submitted twice, and the other request is still going through): %s. Please try "
                        "again later." % key)
                    headers["Idempotency-Key"] = key
                    return status, obj, headers
                if seen["fingerprint"] != fp:
                    return stripe_error(400, "idempotency_error",
                                        "Keys for idempotent requests can only be used with the same parameters "
                                        "they were first used with. Try using a key other than '%s' if you meant "
                                        "to execute a different request." % key)
                req["replayed"] = True
                status, obj, headers = seen["result"]
                headers = dict(headers)
                headers["Idempotent-Replayed"] = "true"
                headers["Idempotency-Key"] = key
                return status, obj, headers
        with self.state.lock:
            self.state.extra["inflight"] = self.state.extra.get("inflight", 0) + 1
        try:
            if slow:
                time.sleep(slow)
            status, obj, headers = create(req, behaviour)
        finally:
            with self.state.lock:
                self.state.extra["inflight"] = self.state.extra.get("inflight", 1) - 1
        headers = dict(headers)
        not_saved = headers.pop(NOT_SAVED, None)
        if key:
            with self.state.lock:
                store = self.state.extra.setdefault("idempotency", {})
                if not_saved:
                    store.pop(key, None)
                else:
                    store[key] = {"fingerprint": fingerprint(req), "result": (status, obj, dict(headers))}
            headers["Idempotency-Key"] = key
        return status, obj, headers

    def _refund(self, req, behaviour):
        params = nested(req["form"])
        pi_id = params.get("payment_intent")
        if not pi_id and not params.get("charge"):
            return validation_error("One of the following params should be provided for this request: "
                                    "payment_intent or charge.", "parameter_missing", "payment_intent")
        fail_status = int(behaviour["failAll"]) if behaviour.get("failAll") and self._consume_failure() else 0
        if fail_status and not behaviour.get("failAfterCreate"):
            return stripe_error(fail_status, "api_error",
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
            return validation_error("Invalid integer: %s" % params.get("amount"), "parameter_invalid_integer",
                                    "amount")
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
            order = self.state.extra.setdefault("order", {})
            order[refund["id"]] = len(order)
        if fail_status:  # made, then Stripe failed before answering
            return stripe_error(fail_status, "api_error",
                                "An unknown error occurred while processing your request.")
        return 200, dict(refund), {"Request-Id": rand_id("req_", 14)}

    def _create(self, req, behaviour):
        params = nested(req["form"])
        amount = params.get("amount")
        currency = params.get("currency")
        if not amount:
            return validation_error("Missing required param: amount.", "parameter_missing", "amount")
        if not currency:
            return validation_error("Missing required param: currency.", "parameter_missing", "currency")
        try:
            amount = int(amount)
        except ValueError:
            return validation_error("Invalid integer: %s" % amount, "parameter_invalid_integer", "amount")
        minimum = MINIMUM.get(currency.lower(), 1)
        if amount < minimum:
            return validation_error("Amount must be at least %d %s (minor units)" % (minimum, currency.lower()),
                                    "amount_too_small", "amount")
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
            if behaviour.get("failAfterCreate"):  # the intent was made, then Stripe failed before answering
                if confirm:
                    pi.update({"status": "succeeded", "amount_received": amount, "latest_charge": rand_id("ch_")})
                self._keep(pi)
            return stripe_error(status, "api_error",
                                "An unknown error occurred while processing your request.")

        pm = params.get("payment_method") or ""
        off_session = truthy(params.get("off_session", "false"))
        if confirm and off_session and (pm in AUTH_REQUIRED_PMS or "4000002760003184" in pm):
            # The bank wants the customer present (SCA): the intent waits for another payment method.
            return self._card_error(pi, "authentication_required", None,
                                    "Your card was declined. This transaction requires authentication.",
                                    "authentication-required")
        decline_for = behaviour.get("declineCustomers")
        declines = (customer in decline_for) if decline_for else bool(behaviour.get("decline"))
        if (confirm and pm == "pm_card_chargeDeclined") or (declines and self._consume_failure()):
            code = "generic_decline" if pm == "pm_card_chargeDeclined" else behaviour.get("declineCode",
                                                                                          "generic_decline")
            return self._card_error(pi, "card_declined", code,
                                    "Your card was declined." if code == "generic_decline"
                                    else "Your card has %s." % code.replace("_", " "), "card-declined")

        if behaviour.get("status"):
            pi["status"] = behaviour["status"]
        if pi["status"] == "succeeded":
            pi["amount_received"] = amount
            pi["latest_charge"] = rand_id("ch_")
        self._keep(pi)
        return 200, pi, {"Request-Id": rand_id("req_", 14)}

    def _keep(self, pi):
        with self.state.lock:
            self.state.extra.setdefault("intents", {})[pi["id"]] = pi
            order = self.state.extra.setdefault("order", {})
            order[pi["id"]] = len(order)

    def _card_error(self, pi, code, decline_code, message, doc):
        charge = rand_id("ch_")
        error = {
            "type": "card_error",
            "code": code,
            "message": message,
            "charge": charge,
            "doc_url": "https://stripe.com/docs/error-codes/" + doc,
            "request_log_url": "https://dashboard.stripe.com/test/logs/%s" % rand_id("req_", 14),
        }
        if decline_code:
            error["decline_code"] = decline_code
        pi.update({
            "status": "requires_payment_method",
            "latest_charge": charge,
            "last_payment_error": {k: v for k, v in error.items() if k != "request_log_url"},
        })
        error["payment_intent"] = pi
        self._keep(pi)
        return 402, {"error": error}, {"Request-Id": rand_id("req_", 14)}


if __name__ == "__main__":
    serve(StripeHandler, "Stand-in for Stripe's PaymentIntents API")
