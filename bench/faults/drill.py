#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The fault drills' load, faults and checks (started by bench/faults/<drill>).

    drill.py pg-restart  --conf JSON
    drill.py twilio-down --conf JSON
    drill.py two-httpd   --conf JSON

The JSON (written by bench/faults/lib.sh) names the database, the httpd base
URLs, the stand-ins, the pg_ctl commands and where to write results. Each drill
prints what it did and writes RESULT_DIR/<drill>.json and <drill>.md; it exits 1
when a check fails.
"""
import argparse
import base64
import collections
import hashlib
import hmac
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse

STRIPE_WHSEC = "whsec_bench_webhook_secret"
TWILIO_SID = "AC00000000000000000000000000000000"
TWILIO_TOKEN = "bench-twilio-auth-token"
SECRET = "bench-internal-secret-0123456789abcdef"
PSQL = "/usr/lib/postgresql/15/bin/psql"
HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    sys.stderr.write("%s drill: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Drill:
    def __init__(self, conf):
        self.c = conf
        self.checks = []   # (name, ok, detail)
        self.facts = collections.OrderedDict()

    # --- database ----------------------------------------------------------------------------
    def psql(self, sql, *extra):
        out = subprocess.run([PSQL, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                              "-p", str(self.c["pg_port"]), "-U", "postgres", "-d", self.c["db"], *extra, "-c", sql],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("psql: %s" % out.stderr.strip())
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def scalar(self, sql):
        rows = self.psql(sql)
        return rows[0][0] if rows else None

    def invariants(self):
        out = subprocess.run([PSQL, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-v", "cutoff=300",
                              "-h", "127.0.0.1", "-p", str(self.c["pg_port"]), "-U", "postgres", "-d", self.c["db"],
                              "-f", os.path.join(HERE, "invariants.sql")], capture_output=True, text=True, check=True)
        return {row[0]: (int(row[1]), row[2]) for row in (l.split("\t") for l in out.stdout.splitlines() if l)}

    # --- HTTP -----------------------------------------------------------------------------------
    @staticmethod
    def request(base, method, path, body=None, headers=None, timeout=30):
        """(status, body) or (0, error text) when no HTTP answer came."""
        u = urllib.parse.urlsplit(base)
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            data = res.read().decode("utf-8", "replace")
            conn.close()
            return res.status, data
        except Exception as exc:  # noqa: BLE001 - any failure to get an answer
            return 0, "%s: %s" % (type(exc).__name__, exc)

    def stub(self, name, method, path, body=None):
        port = self.c["twilio_port"] if name == "twilio" else self.c["stripe_port"]
        status, data = self.request("http://127.0.0.1:%d" % port, method, path,
                                    json.dumps(body) if body is not None else None,
                                    {"Content-Type": "application/json"} if body is not None else {})
        if status != 200:
            raise RuntimeError("stand-in %s %s %s: %s %s" % (name, method, path, status, data[:200]))
        return json.loads(data)

    def sms_requests(self):
        return [r for r in self.stub("twilio", "GET", "/_control/requests")
                if r["method"] == "POST" and r["path"].endswith("/Messages.json")]

    # --- signed webhooks ------------------------------------------------------------------------
    @staticmethod
    def stripe_request(event_id, kind, payment_id, intent_id):
        t = int(time.time())
        obj = {"id": intent_id, "object": "payment_intent", "amount": 1500, "currency": "usd",
               "status": "succeeded" if kind == "succeeded" else "requires_payment_method",
               "metadata": {"payment_id": payment_id}}
        if kind == "failed":
            obj["last_payment_error"] = {"type": "card_error", "message": "Your card was declined."}
        body = json.dumps({"id": event_id, "object": "event", "created": t,
                           "type": "payment_intent.payment_failed" if kind == "failed"
                           else "payment_intent.succeeded", "data": {"object": obj}}, separators=(",", ":"))
        sig = hmac.new(STRIPE_WHSEC.encode(), ("%d.%s" % (t, body)).encode(), hashlib.sha256).hexdigest()
        return "/api/stripe/webhook", body, {"Stripe-Signature": "t=%d,v1=%s" % (t, sig),
                                             "Content-Type": "application/json"}

    @staticmethod
    def twilio_request(base, sid, phone, to, text):
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "From": phone, "To": to,
                  "Body": text, "NumMedia": "0"}
        url = base + "/api/twilio/inbound"
        data = url + "".join(k + v for k, v in sorted(params.items()))
        sig = base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()
        return "/api/twilio/inbound", urllib.parse.urlencode(params), {
            "X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"}

    def send(self, base, item):
        """Sends one webhook (signed now, as the provider signs each delivery)."""
        if item["kind"] in ("failed", "succeeded"):
            path, body, headers = self.stripe_request(item["id"], item["kind"], item["payment_id"], item["intent_id"])
        else:
            path, body, headers = self.twilio_request(base, item["id"], item["phone"], item["to"], item["text"])
        return self.request(base, "POST", path, body, headers)

    def run_load(self, items, bases, rate, threads=8, on_progress=None):
        """Sends every item once, spread over the servers in bases, about `rate` a second.
        Records item["attempts"] = [(status, time)]."""
        queue = list(items)
        lock = threading.Lock()
        start = time.time()
        sent = [0]

        def worker():
            while True:
                with lock:
                    if not queue:
                        return
                    item = queue.pop(0)
                    n = sent[0]
                    sent[0] += 1
                due = start + n / float(rate)
                if due > time.time():
                    time.sleep(due - time.time())
                if isinstance(item, list):
                    # Deliveries raced on purpose: all of them released at the same moment.
                    barrier = threading.Barrier(len(item))

                    def one(it):
                        barrier.wait()
                        st, _ = self.send(it["base"], it)
                        it.setdefault("attempts", []).append((st, round(time.time() - start, 2), it["base"]))
                    ts = [threading.Thread(target=one, args=(it,)) for it in item]
                    for t in ts:
                        t.start()
                    for t in ts:
                        t.join()
                else:
                    base = bases[n % len(bases)] if not item.get("base") else item["base"]
                    status, body = self.send(base, item)
                    item.setdefault("attempts", []).append((status, round(time.time() - start, 2), base))
                if on_progress:
                    on_progress(n)

        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def redeliver(self, items, bases, rounds=20):
        """Like Stripe and Twilio: every delivery that did not get a 2xx is sent again until it does."""
        for r in range(rounds):
            todo = [i for i in items if not (200 <= i["attempts"][-1][0] < 300)]
            if not todo:
                return r
            for item in todo:
                status, _ = self.send(bases[0], item)
                item["attempts"].append((status, "redelivery", bases[0]))
            time.sleep(1)
        return rounds

    # --- checks -----------------------------------------------------------------------------------
    def check(self, name, ok, detail=""):
        self.checks.append((name, bool(ok), detail))
        log("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail else ""))

    def check_invariants(self):
        for name, (n, examples) in sorted(self.invariants().items()):
            self.check("invariant %s" % name, n == 0, "%d rows%s" % (n, (" (e.g. %s)" % examples) if n else ""))

    def wait_settled(self, timeout):
        """Until no offer waits to be sent, no deposit waits to be asked and no open slot lacks its live offer."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            inv = self.invariants()
            pending = int(self.scalar("SELECT count(*) FROM slot_offers f JOIN slot_openings o ON o.id = "
                                      "f.slot_opening_id WHERE f.status = 'pending' AND o.status = 'open'"))
            pay = int(self.scalar("SELECT count(*) FROM payments WHERE status = 'pending' AND "
                                  "stripe_payment_intent_id IS NULL"))
            lacking = inv["open_slot_without_live_offer"][0]
            if pending == 0 and pay == 0 and lacking == 0:
                return round(time.time() - t0, 1)
            time.sleep(2)
        return None

    def check_deliveries(self, items, label):
        """Every webhook answered 2xx (at once or on redelivery), and its effect is in the database."""
        first_ok = sum(1 for i in items if 200 <= i["attempts"][0][0] < 300)
        errors = [i for i in items if not (200 <= i["attempts"][0][0] < 300)]
        final_ok = sum(1 for i in items if 200 <= i["attempts"][-1][0] < 300)
        statuses = collections.Counter(str(i["attempts"][0][0]) for i in items)
        self.facts["%s sent" % label] = len(items)
        self.facts["%s first answers" % label] = dict(statuses)
        self.facts["%s redelivered" % label] = len(errors)
        self.check("%s: every delivery accepted in the end (%d at once, %d after redelivery)" % (
            label, first_ok, final_ok - first_ok), final_ok == len(items), "%d of %d" % (final_ok, len(items)))
        stripe = [i for i in items if i["kind"] in ("failed", "succeeded")]
        if stripe:
            ids = ",".join("'%s'" % i["id"] for i in stripe)
            rows = dict(self.psql("SELECT id, outcome FROM stripe_events WHERE id IN (%s)" % ids))
            missing = [i["id"] for i in stripe if i["id"] not in rows]
            self.check("%s: every Stripe event recorded with its outcome" % label,
                       not missing and all(rows[i] != "received" for i in rows),
                       "%d recorded, %d missing %s" % (len(rows), len(missing), missing[:3]))
            pay = dict(self.psql("SELECT id::text, status FROM payments WHERE id IN (%s)" % ",".join(
                i["payment_id"] for i in stripe)))
            want = {}
            for i in stripe:
                want.setdefault(i["payment_id"], set()).add(i["kind"])
            wrong = [p for p, kinds in want.items() if len(kinds) == 1 and
                     pay.get(p) != ("failed" if "failed" in kinds else "succeeded")]
            self.check("%s: every payment settled as its event says" % label, not wrong,
                       "%d payments, %d wrong %s" % (len(want), len(wrong), [(p, pay.get(p)) for p in wrong[:3]]))
        sms = [i for i in items if i["kind"] in ("yes", "no")]
        if sms:
            ids = ",".join("'%s'" % i["id"] for i in sms)
            rows = dict(self.psql("SELECT message_sid, COALESCE(action, '') FROM inbound_messages "
                                  "WHERE message_sid IN (%s)" % ids))
            missing = [i["id"] for i in sms if not rows.get(i["id"])]
            self.check("%s: every inbound SMS recorded with what was done" % label, not missing,
                       "%d recorded, %d missing %s; actions %s" % (
                           len(rows), len(missing), missing[:3], dict(collections.Counter(rows.values()))))

    def check_sms_once(self, since_offer_id):
        """Each offer made during the drill got exactly one SMS Twilio accepted, under its own message SID."""
        reqs = self.sms_requests()
        accepted = [r for r in reqs if r["status"] == 201]
        by_sid = {r["response"]["sid"]: r for r in accepted}
        offers = self.psql(
            "SELECT f.id, f.status, COALESCE(f.provider_message_id, ''), c.phone, "
            "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon HH24:MI'), f.attempts, f.sent_at IS NOT NULL "
            "FROM slot_offers f JOIN customers c ON c.id = f.customer_id JOIN slot_openings o ON o.id = "
            "f.slot_opening_id JOIN shops s ON s.id = o.shop_id WHERE f.id > %d" % since_offer_id)
        # An offer's SMS goes to its customer and names its slot's time. Two offers may share both (a
        # cancelled appointment at the time of another opening), so SMS are counted per (phone, time):
        # as many accepted SMS as offers sent, never more.
        counts, groups = {}, collections.defaultdict(list)
        for oid, status, sid, phone, slot_time, attempts, was_sent in offers:
            counts[oid] = (status, sid, int(attempts), was_sent == "t")
            groups[(phone, slot_time)].append(oid)
        twice, lost = [], []
        for (phone, slot_time), oids in groups.items():
            n = sum(1 for r in accepted if r["form"].get("To") == phone and slot_time in r["form"].get("Body", ""))
            expected = sum(1 for o in oids if counts[o][3])
            if n > expected:
                twice.extend(oids)
            elif n < expected:
                lost.extend(oids)
        sent = [o for o, v in counts.items() if v[3]]
        bad_sid = [o for o in sent if counts[o][1] not in by_sid]
        known = {v[1] for v in counts.values()}
        orphan = [sid for sid in by_sid if sid not in known]
        self.facts["offers made during the drill"] = len(offers)
        self.facts["offers by status"] = dict(collections.Counter(v[0] for v in counts.values()))
        self.facts["SMS requests at the stand-in"] = len(reqs)
        self.facts["SMS accepted (201)"] = len(accepted)
        self.facts["SMS refused"] = dict(collections.Counter(str(r["status"]) for r in reqs if r["status"] != 201))
        self.facts["send attempts per offer (max)"] = max([v[2] for v in counts.values()] or [0])
        self.check("no offer got two SMS", not twice, "%d offers with more than one %s" % (len(twice), twice[:5]))
        self.check("every offer marked sent got its SMS", not lost, "%d of %d without one %s" % (
            len(lost), len(sent), lost[:5]))
        self.check("every sent offer carries the SID Twilio gave its SMS", not bad_sid,
                   "%d mismatches %s" % (len(bad_sid), bad_sid[:5]))
        self.check("every SMS Twilio accepted belongs to an offer", not orphan,
                   "%d orphan SIDs %s" % (len(orphan), orphan[:3]))
        return counts

    # --- targets from the seed ------------------------------------------------------------------
    def stripe_items(self, n, tag, kinds=("failed", "succeeded")):
        rows = self.psql("SELECT payment_id, intent_id FROM bench.pay_targets ORDER BY k LIMIT %d" % n)
        return [{"kind": kinds[k % len(kinds)], "id": "evt_%s_%d" % (tag, k), "payment_id": p, "intent_id": i}
                for k, (p, i) in enumerate(rows)]

    def sms_items(self, n, tag, offset=0, answers=("yes", "no")):
        rows = self.psql("SELECT phone, sms_from FROM bench.offer_targets ORDER BY k OFFSET %d LIMIT %d" % (offset, n))
        return [{"kind": answers[k % len(answers)], "id": "SM%s_%d" % (tag, k), "phone": ph, "to": to,
                 "text": "YES" if answers[k % len(answers)] == "yes" else "NO"} for k, (ph, to) in enumerate(rows)]

    def finish(self, name, started):
        ok = all(c[1] for c in self.checks)
        self.facts["drill seconds"] = round(time.time() - started, 1)
        result = {"drill": name, "ok": ok, "facts": self.facts,
                  "checks": [{"name": n, "ok": o, "detail": d} for n, o, d in self.checks]}
        os.makedirs(self.c["result_dir"], exist_ok=True)
        with open(os.path.join(self.c["result_dir"], name + ".json"), "w") as fh:
            json.dump(result, fh, indent=2)
        lines = ["`bench/faults/%s`, run %s: **%s** (%d checks, %d failed)." % (
            name, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "pass" if ok else "FAIL", len(self.checks),
            sum(1 for c in self.checks if not c[1])), ""]
        for k, v in self.facts.items():
            lines.append("- %s: %s" % (k, v if not isinstance(v, dict) else ", ".join(
                "%s %s" % (kk, vv) for kk, vv in sorted(v.items()))))
        lines.append("")
        lines.append("| check | result | detail |")
        lines.append("| --- | --- | --- |")
        for n, o, d in self.checks:
            lines.append("| %s | %s | %s |" % (n, "pass" if o else "**FAIL**", d.replace("|", "/")))
        with open(os.path.join(self.c["result_dir"], name + ".md"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        log("%s: %s" % (name, "PASS" if ok else "FAIL"))
        return 0 if ok else 1


# --- the drills ----------------------------------------------------------------------------------------


def pg_restart(d):
    """PostgreSQL stopped in the middle of a webhook load, started again."""
    c = d.c
    started = time.time()
    base = c["bases"][0]
    tag = "pgr%d" % random.randint(1000, 9999)
    max_offer = int(d.scalar("SELECT max(id) FROM slot_offers"))
    items = d.stripe_items(c.get("stripe_events", 400), tag) + d.sms_items(c.get("sms", 200), tag)
    random.Random(7).shuffle(items)
    rate = c.get("rate", 40)
    d.facts["load"] = "%d webhooks (Stripe failed/succeeded, Twilio YES/NO) at %d/s, 8 connections" % (
        len(items), rate)
    stop_at, down_for = c.get("stop_at", 4), c.get("down_for", 5)
    timeline = {}

    def fault():
        time.sleep(stop_at)
        timeline["stop"] = round(time.time() - started, 1)
        log("stopping PostgreSQL (pg_ctl stop -m fast)")
        subprocess.run(c["pg_stop"], shell=True, check=True, executable="/bin/bash")
        time.sleep(down_for)
        log("starting PostgreSQL again")
        subprocess.run(c["pg_start"], shell=True, check=True, executable="/bin/bash")
        timeline["start"] = round(time.time() - started, 1)

    t = threading.Thread(target=fault)
    t.start()
    d.run_load(items, [base], rate)
    t.join()
    d.facts["PostgreSQL down"] = "from %s s to %s s of the load (%s s)" % (
        timeline.get("stop"), timeline.get("start"), down_for)
    d.check("PostgreSQL was stopped and started during the load", "stop" in timeline and "start" in timeline)
    errors = sum(1 for i in items if not (200 <= i["attempts"][0][0] < 300))
    d.check("the outage was felt (some deliveries got an error)", errors > 0, "%d errors" % errors)
    rounds = d.redeliver(items, [base])
    d.facts["redelivery rounds"] = rounds
    settled = d.wait_settled(c.get("settle", 150))
    d.facts["settled after (s)"] = settled
    d.check("the loop settled (no offer or deposit waiting, every open slot offered)", settled is not None)
    d.check_deliveries(items, "webhooks")
    d.check_invariants()
    d.check_sms_once(max_offer)
    return d.finish("pg-restart", started)


def twilio_down(d):
    """The Twilio stand-in answers 503 for a minute while offers are made."""
    c = d.c
    started = time.time()
    base = c["bases"][0]
    tag = "twd%d" % random.randint(1000, 9999)
    max_offer = int(d.scalar("SELECT max(id) FROM slot_offers"))
    d.stub("twilio", "POST", "/_control/reset")
    outage = c.get("outage", 60)
    log("Twilio down: every send answers 503 for %d s" % outage)
    d.stub("twilio", "POST", "/_control/behave", {"failAll": 503})
    t0 = time.time()
    # 1. NO answers: the loop offers those slots to the next customers.
    no_items = d.sms_items(c.get("no", 60), tag, answers=("no",))
    d.run_load(no_items, [base], 20)
    # 2. Live offers past their expiry: the sweep moves their slots on.
    due = c.get("due", 60)
    d.psql("UPDATE slot_offers SET expires_at = now() - interval '1 second' WHERE id IN "
           "(SELECT offer_id FROM bench.offer_targets ORDER BY k OFFSET %d LIMIT %d)" % (len(no_items), due))
    # 3. Cancellations: new slot openings, offered at once.
    appts = d.psql("SELECT a.id FROM appointments a WHERE a.status = 'booked' AND a.starts_at > now() + "
                   "interval '2 days' AND a.source_slot_opening_id IS NULL ORDER BY a.id LIMIT %d" % c.get("cancel", 40))
    cancel_status = collections.Counter()
    for (aid,) in appts:
        st, _ = d.request(base, "POST", "/api/appointments/%s/cancel" % aid, "{}",
                          {"x-internal-secret": SECRET, "Content-Type": "application/json"})
        cancel_status[str(st)] += 1
    d.facts["during the outage"] = "%d NO answers, %d live offers made due, %d appointments cancelled (%s)" % (
        len(no_items), due, len(appts), dict(cancel_status))
    time.sleep(max(0, outage - (time.time() - t0)))
    waiting = int(d.scalar("SELECT count(*) FROM slot_offers WHERE id > %d AND status = 'pending'" % max_offer))
    failed_during = int(d.scalar("SELECT count(*) FROM slot_offers WHERE id > %d AND status = 'failed'" % max_offer))
    d.facts["offers waiting when Twilio came back"] = waiting
    log("Twilio back after %.0f s; %d offers waiting" % (time.time() - t0, waiting))
    d.stub("twilio", "POST", "/_control/behave", {})
    refused = sum(1 for r in d.sms_requests() if r["status"] == 503)
    d.facts["sends refused during the outage"] = refused
    d.check("offers waited during the outage (none failed for good)", failed_during == 0 and waiting > 0,
            "%d waiting, %d failed" % (waiting, failed_during))
    settled = d.wait_settled(c.get("settle", 180))
    d.facts["all sent after Twilio came back (s)"] = settled
    d.check("every waiting offer was sent once Twilio answered", settled is not None)
    d.check_deliveries(no_items, "NO answers")
    counts = d.check_sms_once(max_offer)
    failed = [o for o, v in counts.items() if v[0] == "failed"]
    d.check("no offer failed", not failed, "%d failed %s" % (len(failed), failed[:5]))
    d.check_invariants()
    return d.finish("twilio-down", started)


def two_httpd(d):
    """Two httpd on one database: the same deliveries raced against both, YES double-taps, both sweeping."""
    c = d.c
    started = time.time()
    a, b = c["bases"][0], c["bases"][1]
    tag = "two%d" % random.randint(1000, 9999)
    max_offer = int(d.scalar("SELECT max(id) FROM slot_offers"))
    d.stub("twilio", "POST", "/_control/reset")
    d.stub("stripe", "POST", "/_control/reset")
    n_pay = c.get("stripe_events", 300)
    n_sms = c.get("sms", 200)
    stripe = d.stripe_items(n_pay, tag)
    # A third of the payments also get the opposite event, sent to the other server at the same moment.
    conflicting = []
    for k, it in enumerate(stripe[: n_pay // 3]):
        conflicting.append(dict(it, kind="succeeded" if it["kind"] == "failed" else "failed",
                                id=it["id"] + "x"))
    sms = d.sms_items(n_sms, tag)
    # YES double-taps: the same customer's second YES (another MessageSid) to the other server.
    taps = [dict(it, id=it["id"] + "b") for it in sms if it["kind"] == "yes"]
    # Offers made due, for both servers' sweeps (SweepInterval 1 s) to race on.
    due = c.get("due", 100)
    d.psql("UPDATE slot_offers SET expires_at = now() - interval '1 second' WHERE id IN "
           "(SELECT offer_id FROM bench.offer_targets ORDER BY k OFFSET %d LIMIT %d)" % (n_sms, due))
    # Every delivery goes to both servers at the same moment (a provider retrying on another node, a load
    # balancer); the opposite event and the second YES join their group.
    groups = {}
    for it in stripe + sms:
        groups[it["id"]] = [dict(it, base=a), dict(it, base=b)]
    for it in conflicting + taps:
        groups[it["id"][:-1]].append(dict(it, base=b))
    batches = list(groups.values())
    random.Random(11).shuffle(batches)
    items = [it for g in batches for it in g]
    d.facts["load"] = ("%d Stripe events and %d inbound SMS, each delivered to both servers at once; %d conflicting "
                       "events (failed vs succeeded for one payment) and %d second YES from the same customer on the "
                       "other server; %d offers made due for both sweeps" % (
                           len(stripe), len(sms), len(conflicting), len(taps), due))
    d.run_load(batches, [a, b], c.get("rate", 100), threads=8)
    rounds = d.redeliver(items, [a, b])
    d.facts["redelivery rounds"] = rounds
    settled = d.wait_settled(c.get("settle", 120))
    d.facts["settled after (s)"] = settled
    d.check("the loop settled (no offer or deposit waiting, every open slot offered)", settled is not None)
    d.check_deliveries(items, "deliveries")
    # Exactly one booking per YES'd slot, one PaymentIntent per booking.
    yes_slots = d.psql("SELECT count(*) FROM appointments a JOIN bench.offer_targets t ON t.slot_id = "
                       "a.source_slot_opening_id WHERE a.created_at > now() - interval '1 hour'")
    intents = collections.Counter(r["headers"].get("idempotency-key")
                                  for r in d.stub("stripe", "GET", "/_control/requests")
                                  if r["path"] == "/v1/payment_intents" and r["method"] == "POST"
                                  and not r["replayed"])
    twice = [k for k, n in intents.items() if n > 1]
    d.facts["bookings made"] = int(yes_slots[0][0])
    d.facts["PaymentIntents created"] = sum(intents.values())
    d.check("no deposit charged twice (one PaymentIntent per idempotency key)", not twice, "%s" % twice[:3])
    events = dict(d.psql("SELECT outcome, count(*) FROM stripe_events WHERE id LIKE 'evt\\_%s\\_%%' GROUP BY 1" % tag))
    d.facts["Stripe event outcomes"] = events
    d.check_invariants()
    d.check_sms_once(max_offer)
    return d.finish("two-httpd", started)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("drill", choices=("pg-restart", "twilio-down", "two-httpd"))
    ap.add_argument("--conf", required=True)
    args = ap.parse_args()
    d = Drill(json.load(open(args.conf)))
    sys.exit({"pg-restart": pg_restart, "twilio-down": twilio_down, "two-httpd": two_httpd}[args.drill](d))


if __name__ == "__main__":
    main()
