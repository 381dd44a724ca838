# SPDX-License-Identifier: Apache-2.0
# Quiet hours (the shop's quietHoursStart/End, in its time zone): no offer is
# created or sent inside them; the offer-loop answers noop "quiet hours until
# HH:MM"; once the window is gone the sweep offers. The windows are set around
# the current time in the shop's zone.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

# A shop whose quiet hours cover now in $tz (an hour either side), with a
# canceller and two waiting customers.
sub quiet_shop {
    my ($name, $tz, %o) = @_;
    my ($qs, $qe) = ($o{start} // local_hhmm($tz, -3600), $o{end} // local_hhmm($tz, 3600));
    my $shop = make_shop(name => $name, timezone => $tz, quietHoursStart => $qs, quietHoursEnd => $qe);
    my $cx = make_customer($shop->{id}, name => "$name canceller");
    my $a  = make_customer($shop->{id}, name => "$name A");
    my $b  = make_customer($shop->{id}, name => "$name B");
    my $appt = make_appointment($shop->{id}, $cx->{id});
    return { shop => $shop, cx => $cx, a => $a, b => $b, appt => $appt, qs => $qs, qe => $qe };
}

# --- inside quiet hours: nothing is offered ---------------------------------------------------------
{
    my $q = quiet_shop('Quiet NY', 'America/New_York');
    my $r = cancel($q->{appt}{id});
    is $r->status, 200, "cancel inside quiet hours ($q->{qs}-$q->{qe} New York): 200" or diag $r->dump;
    my $slot = $r->json->{slotOpening};
    is $slot->{status}, 'open', '... the slot opens';
    is_deeply $slot->{offers}, [], '... without an offer';
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot->{id}), 0, '... no offer row';
    is scalar @{ twilio_messages() }, 0, '... no SMS';

    my $before = table_counts();
    $r = offer_loop($slot->{id});
    is $r->status, 200, 'offer-loop: 200' or diag $r->dump;
    is $r->json->{action}, 'noop', '... noop';
    is $r->json->{reason}, "quiet hours until $q->{qe}", "... reason 'quiet hours until $q->{qe}'";
    ok !$r->json->{smsSent}, '... nothing sent';
    counts_unchanged($before, '... nothing written');

    my $rep = sweep();
    is $rep->{offersSent} + $rep->{slotsAdvanced}, 0, 'a sweep inside quiet hours offers nothing';
    counts_unchanged($before, '... and writes nothing');
    is scalar @{ twilio_messages() }, 0, '... no SMS';

    # The window is cleared: the sweep offers.
    $r = api(PATCH => "/api/shops/$q->{shop}{id}", { quietHoursStart => undef, quietHoursEnd => undef });
    is $r->status, 200, 'PATCH the quiet hours away' or diag $r->dump;
    my $mark = log_mark();
    $rep = sweep();
    sweep_counts_ok($rep, { slotsAdvanced => 1, offersSent => 1, offersExpired => 0, offersFailed => 0,
        slotsExpired => 0 }, $mark, 'the sweep offers the slot');
    my $live = live_offer($slot->{id});
    is $live && $live->{customer_id}, $q->{a}{id}, '... to A';
    is $live && $live->{status}, 'sent', '... sent';
    is_deeply [ map { $_->{form}{To} } @{ sent_messages() } ], [ $q->{a}{phone} ], '... one SMS, to A';
}

# --- moved to later in the day: offered too -----------------------------------------------------------
{
    twilio_reset();
    my $q = quiet_shop('Quiet Later', 'Europe/Berlin');
    my $slot = cancel($q->{appt}{id})->json->{slotOpening};
    is_deeply $slot->{offers}, [], "inside $q->{qs}-$q->{qe} Berlin: no offer";
    my ($qs, $qe) = (local_hhmm('Europe/Berlin', 2 * 3600), local_hhmm('Europe/Berlin', 3 * 3600));
    my $r = api(PATCH => "/api/shops/$q->{shop}{id}", { quietHoursStart => $qs, quietHoursEnd => $qe });
    is $r->status, 200, "PATCH the window to $qs-$qe (later today)" or diag $r->dump;
    sweep();
    my $live = live_offer($slot->{id});
    is $live && $live->{status}, 'sent', 'outside the new window: the sweep offered the slot';
    is scalar @{ sent_messages() }, 1, '... one SMS';
}

# --- the shop's zone, not UTC ------------------------------------------------------------------------------------
{
    twilio_reset();
    # Quiet around now in Tokyo (UTC+9): quiet.
    my $tokyo = quiet_shop('Quiet Tokyo', 'Asia/Tokyo');
    my $slot = cancel($tokyo->{appt}{id})->json->{slotOpening};
    is_deeply $slot->{offers}, [], "window $tokyo->{qs}-$tokyo->{qe} around now in Tokyo: no offer";
    is offer_loop($slot->{id})->json->{reason}, "quiet hours until $tokyo->{qe}", '... quiet hours until its end';

    # The same kind of window around now in UTC, for a Tokyo shop: not quiet.
    my $utc = quiet_shop('Loud Tokyo', 'Asia/Tokyo', start => local_hhmm('UTC', -3600), end => local_hhmm('UTC', 3600));
    my $slot2 = slot_view(cancel($utc->{appt}{id})->json->{slotOpening}{id});
    is scalar @{ $slot2->{offers} }, 1, "window $utc->{qs}-$utc->{qe} (now in UTC, not in Tokyo): offered at once";
    is $slot2->{offers}[0]{status}, 'sent', '... sent (by the worker, after the cancel answered)';
    is_deeply [ map { $_->{form}{To} } @{ sent_messages() } ], [ $utc->{a}{phone} ], '... only that SMS';
}

# --- a window across midnight ------------------------------------------------------------------------------------------
{
    twilio_reset();
    # From two hours ahead round the clock to one hour ahead: 22 hours, including now.
    my $tz = 'America/Los_Angeles';
    my $q = quiet_shop('Quiet Long', $tz, start => local_hhmm($tz, 2 * 3600), end => local_hhmm($tz, 3600));
    my $slot = cancel($q->{appt}{id})->json->{slotOpening};
    is_deeply $slot->{offers}, [], "window $q->{qs}-$q->{qe} Los Angeles (wrapping): no offer";
    is scalar @{ twilio_messages() }, 0, '... no SMS';
    my $r = offer_loop($slot->{id});
    is $r->json->{reason}, "quiet hours until $q->{qe}", "... 'quiet hours until $q->{qe}'";
}

# --- a retry falling due inside quiet hours waits ------------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Retry Quiet', timezone => 'Europe/London');
    my $cx = make_customer($shop->{id}, name => 'C');
    my $a  = make_customer($shop->{id}, name => 'A');
    twilio_behave({ failAll => 503 });
    my $slot = cancel(make_appointment($shop->{id}, $cx->{id})->{id})->json->{slotOpening};
    twilio_behave({});
    my $offer = live_offer($slot->{id});
    is $offer && $offer->{status}, 'pending', 'Twilio down at the cancel: the offer is pending';

    my ($qs, $qe) = (local_hhmm('Europe/London', -3600), local_hhmm('Europe/London', 3600));
    api(PATCH => "/api/shops/$shop->{id}", { quietHoursStart => $qs, quietHoursEnd => $qe });
    make_offer_due($offer->{id});
    sweep();
    my $row = live_offer($slot->{id});
    is $row->{status}, 'pending', 'due inside quiet hours: still pending';
    is $row->{attempts}, 1, '... not attempted';
    is scalar @{ twilio_messages() }, 1, '... Twilio not called again';

    api(PATCH => "/api/shops/$shop->{id}", { quietHoursStart => undef, quietHoursEnd => undef });
    sweep();
    $row = live_offer($slot->{id});
    is $row->{status}, 'sent', 'quiet hours over: the sweep sends it';
    is $row->{attempts}, 2, '... attempt 2';
    is_deeply [ map { $_->{form}{To} } @{ sent_messages() } ], [ $a->{phone} ], '... to A';
}

# --- an offer expiring inside quiet hours: the next waits ---------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Expiry Quiet', timezone => 'Australia/Sydney');
    my $cx = make_customer($shop->{id}, name => 'C');
    my $a  = make_customer($shop->{id}, name => 'A');
    my $b  = make_customer($shop->{id}, name => 'B');
    my $slot = cancel(make_appointment($shop->{id}, $cx->{id})->{id})->json->{slotOpening};
    my $first = live_offer($slot->{id});
    is $first && $first->{customer_id}, $a->{id}, 'A is offered (no quiet hours yet)';

    my ($qs, $qe) = (local_hhmm('Australia/Sydney', -3600), local_hhmm('Australia/Sydney', 3600));
    api(PATCH => "/api/shops/$shop->{id}", { quietHoursStart => $qs, quietHoursEnd => $qe });
    expire_offer($first->{id});
    sweep();
    is offers_of($slot->{id})->[0]{status}, 'expired', "inside quiet hours: A's offer expires";
    ok !live_offer($slot->{id}), '... and nobody else is offered';
    is scalar @{ messages_to($b->{phone}) }, 0, '... B got nothing';
    is slot_view($slot->{id})->{status}, 'open', '... the slot stays open';

    api(PATCH => "/api/shops/$shop->{id}", { quietHoursStart => undef, quietHoursEnd => undef });
    sweep();
    my $next = live_offer($slot->{id});
    is $next && $next->{customer_id}, $b->{id}, 'quiet hours over: B is offered';
    is scalar @{ messages_to($b->{phone}) }, 1, '... by SMS';
}

done_testing();
