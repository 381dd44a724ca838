# SPDX-License-Identifier: Apache-2.0
# The first offer a cancellation makes: the SMS as Twilio receives it (auth,
# To, From, Body, StatusCallback), the offer it records, the text in each
# shop's zone, currency and TTL, who is eligible and in which order, and the
# answers of POST /api/jobs/offer-loop.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use MIME::Base64 ();
use POSIX ();
use Time::Local ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

# --- the first SMS ---------------------------------------------------------------------------------
{
    my $shop = make_shop(name => 'Hair by Jo', timezone => 'America/New_York', smsFrom => '+15005550006',
        depositAmount => 2000, currency => 'usd');
    my $ann = make_customer($shop->{id}, name => 'Ann', phone => '+15556660001');
    my $ben = make_customer($shop->{id}, name => 'Ben', phone => '+15556660002');
    my $appt = make_appointment($shop->{id}, $ann->{id}, startsAt => '2031-03-14T17:30:00Z',
        endsAt => '2031-03-14T18:15:00Z');

    my $r = cancel($appt->{id});
    is $r->status, 200, 'cancel: 200' or diag $r->dump;
    my $slot = $r->json->{slotOpening};

    my $msgs = twilio_messages();
    is scalar @$msgs, 1, 'exactly one send to Twilio';
    my $m = $msgs->[0];
    is $m->{path}, '/2010-04-01/Accounts/' . twilio_account_sid() . '/Messages.json',
        '... POST /2010-04-01/Accounts/{AccountSid}/Messages.json';
    is $m->{status}, 201, '... accepted by the stand-in';
    is $m->{headers}{authorization},
        'Basic ' . MIME::Base64::encode_base64(twilio_account_sid() . ':' . twilio_auth_token(), ''),
        '... Basic auth AccountSid:AuthToken';
    like $m->{headers}{'content-type'}, qr{^application/x-www-form-urlencoded}, '... a form';
    is $m->{form}{To}, '+15556660002', '... To: the first eligible customer (Ben)';
    is $m->{form}{From}, '+15005550006', "... From: the shop's smsFrom";
    is $m->{form}{Body},
        'Hair by Jo: a slot opened on Fri 14 Mar 13:30. Reply YES to book it (20.00 USD deposit) '
        . 'or NO to pass. Offer ends in 15 min.',
        "... Body: the text, the slot in the shop's time zone (EDT)";
    is $m->{form}{StatusCallback}, public_base_url() . '/api/twilio/status', '... StatusCallback';

    my $sid = $m->{response}{sid};
    like $sid, qr/^SM[0-9a-f]{32}$/, 'the stand-in answered a message sid';

    is scalar @{ $slot->{offers} }, 1, 'the cancel answer lists the offer';
    is $slot->{offers}[0]{status}, 'pending', '... pending: the request wrote it, the worker sends it';
    $slot = slot_view($slot->{id});
    my $o = $slot->{offers}[0];
    is $o->{customerId}, $ben->{id}, '... for Ben';
    is $o->{status}, 'sent', '... sent by the worker';
    is $o->{providerMessageId}, $sid, "... providerMessageId is Twilio's sid";
    is $o->{attempts}, 1, '... attempts 1';
    ok exists $o->{lastError} && !defined $o->{lastError}, '... lastError null';
    like $o->{sentAt}, RFC3339_RE, '... sentAt';
    like $o->{expiresAt}, RFC3339_RE, '... expiresAt';
    like $o->{createdAt}, RFC3339_RE, '... createdAt';

    my $row = offers_of($slot->{id})->[0];
    is $row->{status}, 'sent', 'row: sent';
    is $row->{ttl}, 900, 'row: expires_at = sent_at + offerTtlSeconds (900)';
    is $row->{provider_message_id}, $sid, 'row: provider_message_id';
    cmp_ok db_row(q{SELECT abs(extract(epoch FROM now() - sent_at)) AS age FROM slot_offers WHERE id = ?},
        $o->{id})->{age}, '<', 60, 'row: sent just now';

    is_deeply slot_view($slot->{id})->{offers}, $slot->{offers}, 'GET /api/slot-openings/{id} lists the same offer';
}

# --- the text: zones, currencies, deposits, TTLs --------------------------------------------------------------
{
    my $n = 0;
    for my $case (
        [ 'no deposit', { name => 'Free Cuts', depositAmount => 0 }, '2031-03-14T17:30:00Z',
          'Free Cuts: a slot opened on Fri 14 Mar 13:30. Reply YES to book it or NO to pass. Offer ends in 15 min.' ],
        [ 'EUR cents, 1 h', { name => 'Salon Paris', timezone => 'Europe/Paris', depositAmount => 1234,
              currency => 'EUR', offerTtlSeconds => 3600 }, '2031-03-14T17:30:00Z',
          'Salon Paris: a slot opened on Fri 14 Mar 18:30. Reply YES to book it (12.34 EUR deposit) or NO to pass. '
          . 'Offer ends in 1 h.' ],
        [ 'JPY, whole units, across the date line', { name => 'Tokyo Trim', timezone => 'Asia/Tokyo',
              depositAmount => 500, currency => 'jpy', offerTtlSeconds => 5400 }, '2031-01-05T23:05:00Z',
          'Tokyo Trim: a slot opened on Mon 06 Jan 08:05. Reply YES to book it (500 JPY deposit) or NO to pass. '
          . 'Offer ends in 90 min.' ],
        [ 'London summer time, seconds', { name => 'Mayfair', timezone => 'Europe/London', depositAmount => 30,
              currency => 'gbp', offerTtlSeconds => 45 }, '2031-07-04T08:00:00Z',
          'Mayfair: a slot opened on Fri 04 Jul 09:00. Reply YES to book it (0.30 GBP deposit) or NO to pass. '
          . 'Offer ends in 45 s.' ],
    ) {
        my ($label, $shop_o, $starts, $want) = @$case;
        twilio_reset();
        $n++;
        my $shop = make_shop(%$shop_o);
        my $a = make_customer($shop->{id}, name => 'Cancels', phone => "+1555667000$n");
        my $b = make_customer($shop->{id}, name => 'Waits',   phone => "+1555668000$n");
        my ($y, $mo, $d, $h, $mi) = $starts =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+)/;
        my $ends = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ',
            gmtime(Time::Local::timegm(0, $mi, $h, $d, $mo - 1, $y) + 1800));
        my $appt = make_appointment($shop->{id}, $a->{id}, startsAt => $starts, endsAt => $ends);
        my $r = cancel($appt->{id});
        is $r->status, 200, "$label: cancel 200" or diag $r->dump;
        my $msgs = sent_messages();
        is scalar @$msgs, 1, "$label: one SMS";
        is $msgs->[0]{form}{To}, $b->{phone}, "$label: to the waiting customer";
        is $msgs->[0]{form}{Body}, $want, "$label: the text";
        my $ttl = $shop_o->{offerTtlSeconds} // 900;
        is offers_of($r->json->{slotOpening}{id})->[0]{ttl}, $ttl, "$label: the offer lasts $ttl s";
    }
}

# --- eligibility and order -----------------------------------------------------------------------------------
{
    twilio_reset();
    my $shop  = make_shop(name => 'Waitlist Shop');
    my $other = make_shop(name => 'Other Shop');
    my %c;
    # Created in this order (ids ascending); waitlist order is set below.
    for my $who (qw(plain canceller optout busy busy_confirmed busy_awaiting cancelled_overlap
                    adjacent_after adjacent_before)) {
        $c{$who} = make_customer($shop->{id}, name => $who,
            ($who eq 'optout' ? (smsOptIn => json_false()) : ()));
    }
    $c{elsewhere} = make_customer($other->{id}, name => 'elsewhere');

    my ($s, $e) = ('2031-05-20T10:00:00Z', '2031-05-20T11:00:00Z');
    my $mk = sub { my ($who, $from, $to) = @_; make_appointment($shop->{id}, $c{$who}{id}, startsAt => $from, endsAt => $to) };
    my $source = $mk->('canceller', $s, $e);
    $mk->('busy', '2031-05-20T10:30:00Z', '2031-05-20T11:30:00Z');
    my $bc = $mk->('busy_confirmed', '2031-05-20T09:00:00Z', '2031-05-20T12:00:00Z');
    my $ba = $mk->('busy_awaiting', '2031-05-20T10:59:00Z', '2031-05-20T11:10:00Z');
    db_do(q{UPDATE appointments SET status = 'confirmed' WHERE id = ?}, $bc->{id});
    db_do(q{UPDATE appointments SET status = 'awaiting_payment' WHERE id = ?}, $ba->{id});
    my $co = $mk->('cancelled_overlap', '2031-05-20T10:00:00Z', '2031-05-20T11:00:00Z');
    db_do(q{UPDATE appointments SET status = 'cancelled', cancelled_at = now() WHERE id = ?}, $co->{id});
    $mk->('adjacent_after', '2031-05-20T11:00:00Z', '2031-05-20T12:00:00Z');
    $mk->('adjacent_before', '2031-05-20T09:00:00Z', '2031-05-20T10:00:00Z');
    # The same slot time in another shop: no bearing on this one.
    make_appointment($other->{id}, $c{elsewhere}{id}, startsAt => '2031-05-20T12:00:00Z', endsAt => '2031-05-20T13:00:00Z');

    # The waitlist: opted out and busy ones joined first; plain (the lowest id) last;
    # adjacent_after and adjacent_before tie (the lower id first).
    my %joined = (optout => '2025-01-01', busy => '2025-01-02', busy_confirmed => '2025-01-03',
        busy_awaiting => '2025-01-04', canceller => '2025-01-05', elsewhere => '2025-01-01',
        cancelled_overlap => '2026-01-01', adjacent_after => '2026-01-02', adjacent_before => '2026-01-02',
        plain => '2026-01-03');
    db_do(q{UPDATE customers SET waitlist_joined_at = ?::timestamptz WHERE id = ?}, "$joined{$_}T12:00:00Z", $c{$_}{id})
        for keys %joined;
    ok $c{adjacent_after}{id} < $c{adjacent_before}{id}, 'adjacent_after has the lower id (for the tie)';

    my $r = cancel($source->{id});
    is $r->status, 200, 'cancel the source appointment' or diag $r->dump;
    my $slot = $r->json->{slotOpening};
    is $slot->{status}, 'open', 'the slot is open';

    my @expected = qw(cancelled_overlap adjacent_after adjacent_before plain);
    my %by_id = map { $c{$_}{id} => $_ } keys %c;
    my @offered;
    my $latecomer;
    for my $step (0 .. 10) {
        my $live = live_offer($slot->{id});
        last unless $live;
        push @offered, $by_id{ $live->{customer_id} } // "customer $live->{customer_id}";
        is $live->{status}, 'sent', "offer $step ($offered[-1]) was sent";
        if ($step == 0) {
            # Someone joining the waitlist now comes after everyone waiting already.
            $latecomer = make_customer($shop->{id}, name => 'latecomer');
            $c{latecomer} = $latecomer;
            $by_id{ $latecomer->{id} } = 'latecomer';
            push @expected, 'latecomer';
        }
        expire_offer($live->{id});
        sweep();
    }
    is_deeply \@offered, \@expected,
        'offered in waitlist order (ties by id), skipping opted-out, busy, the canceller and other shops'
        or diag explain \@offered;

    my $row = db_row('SELECT status, expired_reason, waiting_since FROM slot_openings WHERE id = ?', $slot->{id});
    is $row->{status}, 'open', 'nobody left: the slot opening stays open';
    ok defined $row->{waiting_since} && !defined $row->{expired_reason}, '... waiting for a customer, not expired';
    ok slot_view($slot->{id})->{waiting}, '... "waiting" in the view';

    my $sent = sent_messages();
    is_deeply [ map { $_->{form}{To} } @$sent ], [ map { $c{$_}{phone} } @expected ],
        'one SMS per offer, to those customers, in that order';
    for my $never (qw(canceller optout busy busy_confirmed busy_awaiting elsewhere)) {
        is db_count('slot_offers WHERE customer_id = ?', $c{$never}{id}), 0, "$never was never offered the slot";
        is scalar @{ messages_to($c{$never}{phone}) }, 0, "... and got no SMS";
    }
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot->{id}), scalar @expected,
        'one offer per customer, never two';

    sweep();
    is scalar @{ sent_messages() }, scalar @expected, 'a sweep after expiry sends nothing more';

    # --- POST /api/jobs/offer-loop on that slot -----------------------------------------------------
    $r = offer_loop($slot->{id});
    is $r->status, 200, 'offer-loop on a waiting slot: 200' or diag $r->dump;
    is $r->json->{action}, 'noop', '... noop';
    like $r->json->{reason}, qr/waiting for a customer/, '... because it waits for a customer';
    db_do(q{UPDATE slot_openings SET status = 'expired', expired_at = now(), expired_reason = 'no_eligible_customer'
            WHERE id = ?}, $slot->{id});
    $r = offer_loop($slot->{id});
    is $r->status, 200, 'offer-loop on an expired slot: 200' or diag $r->dump;
    is $r->json->{action}, 'noop', '... noop';
    like $r->json->{reason}, qr/expired/, '... because it expired';
}

# --- the offer-loop job --------------------------------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Job Shop');
    my $x = make_customer($shop->{id}, name => 'X');
    my $y = make_customer($shop->{id}, name => 'Y');
    my $z = make_customer($shop->{id}, name => 'Z');
    my $appt = make_appointment($shop->{id}, $x->{id});
    my $slot = cancel($appt->{id})->json->{slotOpening};
    my $first = $slot->{offers}[0];
    is $first->{customerId}, $y->{id}, 'the first offer goes to Y';

    my $before = table_counts();
    my $r = offer_loop($slot->{id});
    is $r->status, 200, 'offer-loop with a live offer: 200' or diag $r->dump;
    is_deeply [ sort keys %{ $r->json || {} } ],
        [ sort qw(slotOpeningId action reason offerId customerId smsSent sendError) ], '... the documented members';
    is $r->json->{slotOpeningId}, $slot->{id}, '... slotOpeningId';
    is_json_kind($r, 'slotOpeningId', 'string', '... as a string');
    is $r->json->{action}, 'noop', '... noop';
    like $r->json->{reason}, qr/live offer/, '... because of the live offer';
    ok !defined $r->json->{offerId} && !defined $r->json->{customerId}, '... no new offer';
    is_json_kind($r, 'smsSent', 'boolean', '... smsSent is a boolean');
    ok !$r->json->{smsSent}, '... nothing sent';
    counts_unchanged($before, '... nothing written');
    is scalar @{ twilio_messages() }, 1, '... no second SMS';

    # The live offer is answered (declined) outside the loop: the slot has no live offer.
    my $mark = log_mark();
    db_do(q{UPDATE slot_offers SET status = 'declined', responded_at = now() WHERE id = ?}, $first->{id});
    $r = offer_loop($slot->{id});
    is $r->status, 200, 'offer-loop on a slot without a live offer: 200' or diag $r->dump;
    # The suite's watchdog never sweeps (t/conf/extra.conf.in): the trigger itself must make the offer.
    is watchdog_sweeps($mark)->{sweeps}, 0, '... (no watchdog sweep ran meanwhile)';
    my $live = live_offer($slot->{id});
    is $r->json->{action}, 'offered', '... offered';
    is $r->json->{customerId}, $z->{id}, '... to the next customer (Z)';
    is_json_kind($r, 'offerId', 'string', '... offerId a string');
    ok $r->json->{smsSent}, '... smsSent true';
    ok !defined $r->json->{sendError}, '... sendError null';
    is $live && $live->{id}, $r->json->{offerId}, '... the offer answered is the live one';
    is $live && $live->{status}, 'sent', '... sent';
    is scalar @{ sent_messages() }, 2, '... a second SMS';
    is sent_messages()->[1]{form}{To}, $z->{phone}, '... to Z';

    # Filled: no offer, whatever the waitlist.
    my $w = make_customer($shop->{id}, name => 'W');
    my $booking = make_appointment($shop->{id}, $z->{id}, startsAt => $appt->{startsAt}, endsAt => $appt->{endsAt});
    db_do(q{UPDATE slot_offers SET status = 'accepted', responded_at = now() WHERE id = ?}, $live->{id});
    db_do(q{UPDATE slot_openings SET status = 'filled', filled_by_appointment_id = ?, filled_at = now() WHERE id = ?},
        $booking->{id}, $slot->{id});
    $before = table_counts();
    $r = offer_loop($slot->{id});
    is $r->status, 200, 'offer-loop on a filled slot: 200' or diag $r->dump;
    is $r->json->{action}, 'noop', '... noop';
    like $r->json->{reason}, qr/filled/, '... because it is filled';
    counts_unchanged($before, '... nothing written');
    is scalar @{ messages_to($w->{phone}) }, 0, '... W, who is free, gets no SMS';

    $r = offer_loop('987654');
    is $r->status, 404, 'offer-loop on an unknown slot: 404' or diag $r->dump;
    ok $r->json && $r->json->{error}, '... a JSON error';
    $r = api(POST => '/api/jobs/offer-loop', {});
    is $r->status, 400, 'offer-loop without slotOpeningId: 400' or diag $r->dump;
    $r = api(POST => '/api/jobs/offer-loop', { slotOpeningId => 'x7' });
    is $r->status, 400, 'offer-loop with slotOpeningId "x7": 400' or diag $r->dump;
}

done_testing();
