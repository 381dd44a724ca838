#!/usr/bin/env python3
"""A stand-in for Twilio's Messages API, for tests and the demo.

    fake_twilio.py PORT [--pidfile FILE]

Answers, on 127.0.0.1:PORT:
    POST /2010-04-01/Accounts/{AccountSid}/Messages.json
        form-encoded To, From (or MessagingServiceSid), Body, StatusCallback;
        HTTP Basic auth whose user is {AccountSid} (any password; the header is
        recorded so tests can check it). 201 with a Message resource like
        Twilio's: sid "SM" + 32 hex, status "queued", to, from, body, ...
    GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json
        the message as created.
Control API: see stubbase.py. Behaviour (POST /_control/behave), all optional:
    {"failAll": 503}                   every send answers 503 (Twilio error body)
    {"failTo": {"+15550001": 500}}     sends to that number answer 500; the value
                                       may be {"status": 400, "code": 21610,
                                       "message": "..."} for a precise error
    {"failCount": 2}                   failAll/failTo apply to the next 2 matching
                                       sends only, then sends succeed again
    {"delay": 1.5}                     sleep before answering (seconds)
    {"status": "sent"}                 the status reported in the 201 (default queued)
"""

import datetime
import email.utils
import os
import re
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stubbase import StubHandler, basic_auth, serve  # noqa: E402

CREATE_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
FETCH_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$")

ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


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


class TwilioHandler(StubHandler):
    stub_name = "fake_twilio"

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
            auth = basic_auth(req["headers"])
            if not auth or auth[0] != m.group(1):
                return 401, twilio_error(401), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            with self.state.lock:
                msg = self.state.extra.get("messages", {}).get(m.group(2))
            if not msg:
                return 404, twilio_error(404), {}
            return 200, msg, {}
        return 404, twilio_error(404, message="The requested resource %s was not found" % path), {}

    def _create(self, req, behaviour, account_sid):
        auth = basic_auth(req["headers"])
        if not auth or auth[0] != account_sid:
            return 401, twilio_error(401), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
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
        return 201, msg, {}


if __name__ == "__main__":
    serve(TwilioHandler, "Stand-in for Twilio's Messages API")
