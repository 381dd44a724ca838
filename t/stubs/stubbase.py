# SPDX-License-Identifier: Apache-2.0
"""Shared plumbing for the stand-in HTTP servers (fake_twilio.py, fake_stripe.py).

Python 3 standard library only. A stand-in binds 127.0.0.1:PORT, writes its pid
to --pidfile once it listens, records every request made to it (except the
control API) and answers these control requests on the same port:

    GET  /_control/health     {"ok": true, "name": ...}
    GET  /_control/requests   JSON list of recorded requests, oldest first
    POST /_control/reset      forget requests, behaviour and any other state
    GET  /_control/behave     the current behaviour object
    POST /_control/behave     JSON object: replaces the behaviour ({} = normal)

A recorded request is a JSON object:
    {"seq", "time" (epoch seconds, float), "timeIso", "method", "path", "query",
     "headers" (names lowercased), "form" (form fields, last value wins; only
     for a body sent as Content-Type: application/x-www-form-urlencoded),
     "formMulti" (every value, as lists), "rawBody", "json" (or null),
     "status" (what the stand-in answered; 0: it dropped the connection),
     "response" (its JSON body, or the text of a non-JSON one),
     "replayed" (bool, Stripe idempotency),
     "answered" (epoch seconds, float: when the stand-in had its answer, after
     any delay; [time, answered] is the span the request was in the stand-in,
     which concurrency tests compare to prove two requests overlapped)}
"""

import argparse
import base64
import datetime
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubState:
    """Everything a stand-in remembers; guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = []
        self.behaviour = {}
        self.extra = {}
        self.seq = 0


def parse_form(raw):
    pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True)
    form, multi = {}, {}
    for k, v in pairs:
        form[k] = v
        multi.setdefault(k, []).append(v)
    return form, multi


def basic_auth(headers):
    """(user, password) from an Authorization: Basic header, or None."""
    value = headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(value[6:].strip()).decode("utf-8")
    except Exception:  # noqa: BLE001 - any garbage is "no credentials"
        return None
    user, _, password = decoded.partition(":")
    return user, password


class StubHandler(BaseHTTPRequestHandler):
    """Subclasses implement handle_api(self, req) -> (status, obj, extra_headers).

    obj may be a str (sent as it is, Content-Type from extra_headers, default
    text/html: a proxy's error page); status None drops the connection without
    an answer (a provider that cannot be reached).
    """

    protocol_version = "HTTP/1.1"
    server_version = "SlotRecoveryStub/1.0"
    stub_name = "stub"

    def log_message(self, fmt, *args):  # to the log file, with a timestamp
        sys.stderr.write("%s %s %s\n" % (datetime.datetime.now().isoformat(timespec="milliseconds"),
                                         self.stub_name, fmt % args))

    # -- plumbing ---------------------------------------------------------
    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_raw(self, status, text, headers=None):
        body = text.encode("utf-8")
        headers = dict(headers or {})
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "text/html; charset=utf-8"))
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj, indent=2, sort_keys=True).encode("utf-8") if obj is not None else b""
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    @property
    def state(self):
        return self.server.state

    def _dispatch(self):
        raw = self._read_body()
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        if path.startswith("/_control/"):
            return self._control(path, raw)

        headers = {k.lower(): v for k, v in self.headers.items()}
        text = raw.decode("utf-8", errors="replace")
        form, multi = ({}, {})
        # Only a body declared as a form is read as one, as Twilio and Stripe do:
        # a client that forgets the header must fail here as it would there.
        if headers.get("content-type", "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            form, multi = parse_form(text)
        try:
            body_json = json.loads(text) if text.lstrip().startswith(("{", "[")) else None
        except ValueError:
            body_json = None
        now = time.time()
        with self.state.lock:
            self.state.seq += 1
            seq = self.state.seq
            behaviour = dict(self.state.behaviour)
        req = {
            "seq": seq,
            "time": now,
            "timeIso": datetime.datetime.fromtimestamp(now, datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "method": self.command,
            "path": path,
            "query": dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
            "headers": headers,
            "form": form,
            "formMulti": multi,
            "rawBody": text,
            "json": body_json,
            "replayed": False,
        }
        delay = behaviour.get("delay") or 0
        if behaviour.get("only") and not path.startswith(str(behaviour["only"])):
            delay = 0  # {"only": "/path"}: the behaviour is for other requests
        if delay:
            time.sleep(float(delay))
        try:
            status, obj, extra_headers = self.handle_api(req, behaviour)
        except Exception as exc:  # noqa: BLE001 - a stub bug must still answer
            self.log_message("handler error: %r", exc)
            status, obj, extra_headers = 500, {"error": {"message": "stub error: %r" % (exc,)}}, {}
        req["status"] = status if status is not None else 0
        req["response"] = obj
        req["answered"] = time.time()
        with self.state.lock:
            self.state.requests.append(req)
        if status is None:
            self.close_connection = True
            return
        if isinstance(obj, str):
            return self.send_raw(status, obj, extra_headers)
        self.send_json(status, obj, extra_headers)

    def _control(self, path, raw):
        if path == "/_control/health" and self.command == "GET":
            return self.send_json(200, {"ok": True, "name": self.stub_name, "pid": os.getpid()})
        if path == "/_control/requests" and self.command == "GET":
            with self.state.lock:
                data = list(self.state.requests)
            return self.send_json(200, data)
        if path == "/_control/reset" and self.command == "POST":
            with self.state.lock:
                self.state.reset()
            return self.send_json(200, {"ok": True})
        handled = self.handle_control(path, raw)
        if handled is not None:
            status, obj = handled
            return self.send_json(status, obj)
        if path == "/_control/behave":
            if self.command == "GET":
                with self.state.lock:
                    return self.send_json(200, dict(self.state.behaviour))
            if self.command == "POST":
                try:
                    obj = json.loads(raw.decode("utf-8") or "{}")
                except ValueError as exc:
                    return self.send_json(400, {"error": "behave wants a JSON object: %s" % exc})
                if not isinstance(obj, dict):
                    return self.send_json(400, {"error": "behave wants a JSON object"})
                with self.state.lock:
                    self.state.behaviour = obj
                return self.send_json(200, {"ok": True, "behaviour": obj})
        return self.send_json(404, {"error": "unknown control request %s %s" % (self.command, path)})

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def handle_control(self, path, raw):
        """A stand-in's own control requests: (status, obj), or None if not one."""
        return None

    def handle_api(self, req, behaviour):  # pragma: no cover - overridden
        return 404, {"error": "not found"}, {}


def serve(handler_cls, description, add_arguments=None, configure=None):
    """add_arguments(parser) adds a stand-in's own options; configure(server, args)
    reads them once the server exists (server.state is there)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1")
    parser.add_argument("--pidfile", help="write the pid here once listening; removed on exit")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_cls)
    server.state = StubState()
    if configure:
        configure(server, args)

    def stop(signum, frame):  # shutdown() must run outside the serving thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % os.getpid())
        os.replace(tmp, args.pidfile)
    sys.stderr.write("%s listening on 127.0.0.1:%d (pid %d)\n" % (handler_cls.stub_name, args.port, os.getpid()))
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if args.pidfile:
            try:
                with open(args.pidfile) as fh:
                    if fh.read().strip() == str(os.getpid()):
                        os.unlink(args.pidfile)
            except OSError:
                pass
