#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The t/stubs stand-ins, unchanged, but with Nagle's algorithm off.

    stub.py twilio|stripe PORT [--pidfile FILE] [the stand-in's own options]

t/stubs/stubbase.py writes a response's headers and body in two send()s; on a
kept-alive connection the body then waits for the client's delayed ACK, about
40 ms a call (measured: 1.6 ms for the first request on a connection, 43 ms for
the next ones). The benchmark would time that instead of the module, so it runs
the very same handlers with TCP_NODELAY (socketserver's
disable_nagle_algorithm) and a listen backlog of 128 instead of 5. Control API
and behaviour: see t/stubs/.

It hands serve() the stand-in's own options and their set-up (fake_twilio's
add_arguments / configure: --auth-token, --account-sid) as the stand-in's own
__main__ does. Without them fake_twilio's handler finds no accounts on the
server and answers every send 500 ("stub error: AttributeError"), which is
what every bench run since the stand-in learnt to check the auth token got.
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "t", "stubs"))

name = sys.argv.pop(1)
if name == "twilio":
    import fake_twilio as stand_in  # noqa: E402
    Handler = stand_in.TwilioHandler
    description = "Stand-in for Twilio's Messages API (TCP_NODELAY)"
elif name == "stripe":
    import fake_stripe as stand_in  # noqa: E402
    Handler = stand_in.StripeHandler
    description = "Stand-in for Stripe's PaymentIntents API (TCP_NODELAY)"
else:
    sys.exit("usage: stub.py twilio|stripe PORT [--pidfile FILE]")
from http.server import ThreadingHTTPServer  # noqa: E402

from stubbase import serve  # noqa: E402

Handler.disable_nagle_algorithm = True
# socketserver listens with a backlog of 5: a burst of new connections from
# httpd's threads overflows it and the dropped SYNs are retried after a second.
ThreadingHTTPServer.request_queue_size = 128
serve(Handler, description, getattr(stand_in, "add_arguments", None), getattr(stand_in, "configure", None))
