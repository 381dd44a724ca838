#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for Twilio's Messages API, for tests and the demo, as strict as Twilio.

    fake_twilio.py PORT [--pidfile FILE] [--auth-token TOKEN] [--account-sid SID]

--auth-token (default: $SR_FAKE_TWILIO_AUTH_TOKEN) is the auth token Twilio
expects; --account-sid (default: $SR_FAKE_TWILIO_ACCOUNT_SID) the one account
it knows: without it, the token is every account's. Started with no token at
all, the stand-in accepts any password (and logs that it does). t/run-suite
passes the suite's SID and token (t/lib/SlotRecovery/TestEnv.pm), scripts/demo
the demo's.

Answers, on 127.0.0.1:PORT:
    POST /2010-04-01/Accounts/{AccountSid}/Messages.json
        HTTP Basic auth: user {AccountSid}, password its auth token, else 401
        with Twilio's error 20003 ("Authenticate"); an account it does not
        know is refused the same way. The body is read as a form only when
        sent as Content-Type: application/x-www-form-urlencoded (like Twilio:
        any other body is not read, so To is missing: 400, error 21604).
        Fields To, From (or MessagingServiceSid), Body, StatusCallback.
        400 21604 / 21603 / 21602 when To / From / Body is missing; 400 21211
        when To is not E.164 (+ then 2 to 15 digits, the first not 0); 400
        21610 ("Attempt to send to unsubscribed recipient") when To is in
        behaviour "unsubscribed". Else 201 with a Message resource like
        Twilio's: sid "SM" + 32 hex, status "queued", to, from, body, ...
    GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json
        the message (same auth check); its status follows the callbacks.

Control API: see stubbase.py (reset also forgets accounts added since the
start, and behaviour). Its own:
    GET  /_control/accounts   {SID: token} Twilio knows now ("*": any SID)
    POST /_control/accounts   JSON {SID: token, ...}: adds or changes accounts
                              (another server's account, a rotated token)
    GET  /_control/callbacks  the status callbacks it made, oldest first:
                              {seq, sid, status, url, params, signature,
                               httpStatus (0: no answer), error, time}

Behaviour (POST /_control/behave), all optional:
    {"authToken": "..."}              the token Twilio expects now, for every
                                      account (a token rotated at Twilio: our
                                      configured one is refused with 401)
    {"unsubscribed": ["+1555..."]}    recipients who replied STOP: 400 21610
    {"invalidNumbers": ["+1555..."]}  E.164 in shape but no phone number (Twilio
                                      looks numbers up): 400 21211
    {"failAll": 503}                  every send answers 503 (Twilio error body)
    {"failTo": {"+15550001": 500}}    sends to that number answer 500; the value
                                      may be {"status": 400, "code": 21610,
                                      "message": "..."} for a precise error
    {"failCount": 2}                  failAll/failTo apply to the next 2 matching
                                      sends only, then sends succeed again
    {"delay": 1.5}                    sleep before answering (seconds)
    {"status": "sent"}                the status reported in the 201 (default queued)
    {"callbacks": "in-order"}         after the 201, POST the message's
                                      StatusCallback (if it has one) as Twilio
                                      does: a form, X-Twilio-Signature made with
                                      the account's auth token (HMAC-SHA1 over
                                      the URL and the sorted fields, base64),
                                      one callback after another: queued, sent,
                                      then the final status. "out-of-order":
                                      the same callbacks, final status first,
                                      then sent, then queued (late reports).
                                      "none" (the default): no callbacks, so a
                                      test that posts its own reports is alone.
    {"finalStatus": "delivered"}      or "undelivered" / "failed" (then the
                                      sequence is queued, failed); those two carry
                                      ErrorCode (default 30003 / 30008,
                                      {"callbackErrorCode": 30005} to choose)
    {"callbackDelay": 0.05}           seconds between two callbacks of a message
"""

import base64
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stubbase import StubHandler, basic_auth, serve  # noqa: E402

CREATE_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
FETCH_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$")
E164_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")

ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}
FINAL_ERROR_CODES = {"undelivered": 30003, "failed": 30008}


def twilio_error(status, code=None, message=None):
    dcode, dmessage = ERRORS.get(status, (20001, "Error"))
    code = code or dcode
    return {
        "code": code,
        "message": message or dmessage,
        "more_info": "https://www.twilio.com/docs/errors/%d" % code,
        "status": status,
    }


def rfc2822(dt):
    return email.utils.format_datetime(dt)


def twilio_signature(token, url, params):
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + each name and value, sorted by name))."""
    data = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


UNAUTHORIZED = (401, twilio_error(401), {"WWW-Authenticate": 'Basic realm="Twilio API"'})


class TwilioHandler(StubHandler):
    stub_name = "fake_twilio"

    # -- accounts and auth tokens --------------------------------------------
    def _accounts(self):
        """{SID: token} Twilio knows now: the start-up ones, then those added."""
        accounts = dict(self.server.start_accounts)
        accounts.update(self.state.extra.get("accounts", {}))
        return accounts

    def _expected_token(self, sid, behaviour):
        """The token Twilio wants for sid; "" when the stand-in checks none; None: unknown account."""
        if behaviour.get("authToken"):
            return str(behaviour["authToken"])
        with self.state.lock:
            accounts = self._accounts()
        if not accounts:
            return ""
        return accounts.get(sid, accounts.get("*"))

    def _authorized(self, req, sid, behaviour):
        auth = basic_auth(req["headers"])
        if not auth or auth[0] != sid:
            return False
        expected = self._expected_token(sid, behaviour)
        if expected is None:
            return False
        return expected == "" or hmac.compare_digest(auth[1].encode(), expected.encode())

    def handle_control(self, path, raw):
        if path == "/_control/accounts":
            if self.command == "GET":
                with self.state.lock:
                    return 200, self._accounts()
            if self.command == "POST":
                try:
                    obj = json.loads(raw.decode("utf-8") or "{}")
                except ValueError as exc:
                    return 400, {"error": "accounts wants a JSON object: %s" % exc}
                if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
                    return 400, {"error": "accounts wants a JSON object {SID: token}"}
                with self.state.lock:
                    self.state.extra.setdefault("accounts", {}).update(obj)
                    return 200, {"ok": True, "accounts": self._accounts()}
        if path == "/_control/callbacks" and self.command == "GET":
            with self.state.lock:
                return 200, list(self.state.extra.get("callbacks", []))
        return None

    # -- failures on demand ---------------------------------------------------
    def _failure(self, to, behaviour):
        """(status, code, message) if this send must fail, else None."""
        spec = None
        fail_to = behaviour.get("failTo") or {}
        if to in fail_to:
            spec = fail_to[to]
        elif behaviour.get("failAll"):
            spec = behaviour["failAll"]
        if spec is None:
            return None
        with self.state.lock:
            left = self.state.behaviour.get("failCount")
            if left is not None:
                if int(left) <= 0:
                    return None
                self.state.behaviour["failCount"] = int(left) - 1
        if isinstance(spec, dict):
            return int(spec.get("status", 400)), spec.get("code"), spec.get("message")
        return int(spec), None, None

    def handle_api(self, req, behaviour):
        path = req["path"]
        m = CREATE_RE.match(path)
        if m and req["method"] == "POST":
            return self._create(req, behaviour, m.group(1))
        m = FETCH_RE.match(path)
        if m and req["method"] == "GET":
            if not self._authorized(req, m.group(1), behaviour):
                return UNAUTHORIZED
            with self.state.lock:
                msg = self.state.extra.get("messages", {}).get(m.group(2))
                msg = dict(msg) if msg else None
            if not msg:
                return 404, twilio_error(404), {}
            return 200, msg, {}
        return 404, twilio_error(404, message="The requested resource %s was not found" % path), {}

    def _create(self, req, behaviour, account_sid):
        if not self._authorized(req, account_sid, behaviour):
            return UNAUTHORIZED
        form = req["form"]
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return 400, twilio_error(400, 21604, "A 'To' phone number is required."), {}
        if not from_ and not form.get("MessagingServiceSid"):
            return 400, twilio_error(400, 21603, "A 'From' phone number is required."), {}
        if not body and not form.get("MediaUrl"):
            return 400, twilio_error(400, 21602, "Message body is required."), {}
        failure = self._failure(to, behaviour)
        if failure:
            status, code, message = failure
            return status, twilio_error(status, code, message), {}
        if not E164_RE.match(to) or to in (behaviour.get("invalidNumbers") or []):
            return 400, twilio_error(400, 21211, "Invalid 'To' Phone Number: %s" % to), {}
        if to in (behaviour.get("unsubscribed") or []):
            return 400, twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"), {}

        sid = "SM" + secrets.token_hex(16)
        now = rfc2822(datetime.datetime.now(datetime.timezone.utc))
        uri = "/2010-04-01/Accounts/%s/Messages/%s.json" % (account_sid, sid)
        msg = {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(max(1, (len(body) + 152) // 153)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": behaviour.get("status", "queued"),
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        with self.state.lock:
            self.state.extra.setdefault("messages", {})[sid] = msg
        mode = behaviour.get("callbacks", "none")
        if form.get("StatusCallback") and mode in ("in-order", "out-of-order"):
            token = self._expected_token(account_sid, behaviour) or ""
            threading.Thread(target=self._callbacks, daemon=True,
                             args=(dict(msg), form["StatusCallback"], token, behaviour, mode)).start()
        return 201, dict(msg), {}

    # -- status callbacks -------------------------------------------------------
    def _callbacks(self, msg, url, token, behaviour, mode):
        """Reports the message's statuses to its StatusCallback, one after another, as Twilio does."""
        final = behaviour.get("finalStatus", "delivered")
        statuses = ["queued", final] if final == "failed" else ["queued", "sent", final]
        if mode == "out-of-order":
            statuses = [statuses[-1]] + statuses[-2::-1]
        delay = float(behaviour.get("callbackDelay", 0.05))
        time.sleep(delay)  # after the 201 has gone out
        for status in statuses:
            params = {
                "AccountSid": msg["account_sid"], "ApiVersion": "2010-04-01", "From": msg["from"] or "",
                "MessageSid": msg["sid"], "MessageStatus": status, "SmsSid": msg["sid"], "SmsStatus": status,
                "To": msg["to"],
            }
            if status in FINAL_ERROR_CODES:
                params["ErrorCode"] = str(behaviour.get("callbackErrorCode", FINAL_ERROR_CODES[status]))
            signature = twilio_signature(token, url, params)
            record = {"sid": msg["sid"], "status": status, "url": url, "params": params, "signature": signature,
                      "time": time.time(), "httpStatus": 0, "error": None}
            try:
                request = urllib.request.Request(
                    url, data=urllib.parse.urlencode(params).encode(), method="POST",
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                             "X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"})
                with urllib.request.urlopen(request, timeout=15) as res:
                    record["httpStatus"] = res.status
            except urllib.error.HTTPError as exc:
                record["httpStatus"] = exc.code
            except Exception as exc:  # noqa: BLE001 - recorded, as Twilio's debugger would
                record["error"] = repr(exc)
            with self.state.lock:
                if msg["sid"] in self.state.extra.get("messages", {}):
                    self.state.extra["messages"][msg["sid"]]["status"] = status
                cbs = self.state.extra.setdefault("callbacks", [])
                record["seq"] = len(cbs) + 1
                cbs.append(record)
            self.log_message("status callback %s %s -> %s", msg["sid"], status, record["httpStatus"] or record["error"])
            time.sleep(delay)


def add_arguments(parser):
    parser.add_argument("--auth-token", default=os.environ.get("SR_FAKE_TWILIO_AUTH_TOKEN", ""),
                        help="the auth token Twilio expects (default $SR_FAKE_TWILIO_AUTH_TOKEN)")
    parser.add_argument("--account-sid", default=os.environ.get("SR_FAKE_TWILIO_ACCOUNT_SID", ""),
                        help="the one account SID it knows (default $SR_FAKE_TWILIO_ACCOUNT_SID; none: any)")


def configure(server, args):
    server.start_accounts = {}
    if args.auth_token:
        server.start_accounts[args.account_sid or "*"] = args.auth_token
    else:
        sys.stderr.write("fake_twilio: no --auth-token: any password is accepted\n")


if __name__ == "__main__":
    serve(TwilioHandler, "Stand-in for Twilio's Messages API", add_arguments, configure)
