# SPDX-License-Identifier: Apache-2.0
# Concurrency: requests released at the same moment by forked processes.
# Parallel offer-loop calls for a slot without a live offer make exactly one
# offer and one SMS; so do parallel sweeps after an expiry and parallel
# cancellations of one appointment; parallel sign-ups with one phone make one
# customer. Each race checks its requests were in the server at the same time
# (server-side spans, t/conf/extra.conf.in's spans_log): a race that ran one
# request after another fails.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $N = 10;

# A slot opened inside quiet hours (so without an offer), then the quiet hours
# lifted: the slot is open, with no live offer, and three customers waiting.
sub slot_without_offer {
    my ($name) = @_;
    my $tz = 'America/New_York';
    my $shop = make_shop(name => $name, timezone => $tz,
        quietHoursStart => local_hhmm($tz, -3600), quietHoursEnd => local_hhmm($tz, 3600));
    my $cx = make_customer($shop->{id}, name => "$name canceller");
    my @w = map { make_customer($shop->{id}, name => "$name W$_") } 1 .. 3;
    my $slot = cancel(make_appointment($shop->{id}, $cx->{id})->{id})->json->{slotOpening};
    die "expected no offer inside quiet hours" if @{ $slot->{offers} };
    my $r = api(PATCH => "/api/shops/$shop->{id}", { quietHoursStart => undef, quietHoursEnd => undef });
    die 'PATCH failed: ' . $r->dump unless $r->status == 200;
    return { shop => $shop, slot => $slot, waiting => \@w };
}

# --- parallel offer-loop calls ---------------------------------------------------------------------------
for my $round (1 .. 3) {
    my $delay = $round == 3 ? 0.5 : 0;
    twilio_reset();
    twilio_behave({ delay => $delay }) if $delay;
    my $s = slot_without_offer("Race $round");
    my $id = $s->{slot}{id};
    my $res = parallel_requests([ map { { path => '/api/jobs/offer-loop', data => { slotOpeningId => $id } } } 1 .. $N ]);
    my $label = "round $round ($N parallel offer-loop calls" . ($delay ? ", Twilio taking ${delay}s" : '') . ')';
    overlap_ok([ map { $_->{span} } @$res ], $label);

    is scalar(grep { $_->{status} == 200 } @$res), $N, "$label: all answered 200"
        or diag explain [ map { "$_->{status} $_->{body}" } @$res ];
    my @offered = grep { $_->{json} && $_->{json}{action} eq 'offered' } @$res;
    my @noop    = grep { $_->{json} && $_->{json}{action} eq 'noop' } @$res;
    is scalar @offered, 1, "$label: exactly one answered 'offered'";
    is scalar @noop, $N - 1, "$label: the others answered 'noop'";
    ok !(grep { $_->{json}{reason} !~ /live offer/ } @noop), "$label: ... because of the live offer"
        or diag explain [ map { $_->{json}{reason} } @noop ];
    is db_count('slot_offers WHERE slot_opening_id = ?', $id), 1, "$label: one offer row";
    my $live = live_offer($id);
    is $live && $live->{status}, 'sent', "$label: sent";
    is $live && $live->{customer_id}, $s->{waiting}[0]{id}, "$label: to the first on the waitlist";
    is $live && $live->{attempts}, 1, "$label: in one attempt";
    is scalar @{ twilio_messages() }, 1, "$label: exactly one SMS";
    is $offered[0] && $offered[0]{json}{offerId}, $live && $live->{id}, "$label: the 'offered' answer names it";
    if ($delay) {    # the winner's SMS held at the stand-in: every other call reached the server before it was answered
        my $tw = twilio_messages()->[0];
        my $spans = server_spans(map { $_->{span} } @$res);
        is scalar(grep { $_->[0] < $tw->{answered} } values %$spans), $N,
            "$label: all $N calls were in the server before Twilio answered the winner's SMS";
    }
    twilio_behave({}) if $delay;
}

# --- parallel sweeps after an expiry ---------------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Sweep Race');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my @w = map { make_customer($shop->{id}, name => "W$_") } 1 .. 3;
    my $slot = cancel(make_appointment($shop->{id}, $cx->{id})->{id})->json->{slotOpening};
    my $first = live_offer($slot->{id});
    is $first->{customer_id}, $w[0]{id}, 'sweep race: W1 has the offer';

    my $mark = log_mark();
    expire_offer($first->{id});
    my $res = parallel_requests([ map { { path => '/api/jobs/sweep' } } 1 .. $N ]);
    is scalar(grep { $_->{status} == 200 } @$res), $N, "sweep race: $N parallel sweeps answered 200";
    overlap_ok([ map { $_->{span} } @$res ], 'sweep race');
    my %sum;
    for my $k (qw(offersExpired offersSent offersFailed slotsAdvanced slotsExpired)) {
        $sum{$k} = 0;
        $sum{$k} += ($_->{json} && $_->{json}{$k}) // 0 for @$res;
    }
    sweep_counts_ok(\%sum, { offersExpired => 1, slotsAdvanced => 1, offersSent => 1, offersFailed => 0,
        slotsExpired => 0 }, $mark, 'sweep race: together they expired one offer and made one new one');
    my $offers = offers_of($slot->{id});
    is_deeply [ map { "$_->{customer_id}/$_->{status}" } @$offers ],
        [ "$w[0]{id}/expired", "$w[1]{id}/sent" ], 'sweep race: W1 expired, W2 offered, nobody else';
    is scalar @{ twilio_messages() }, 2, 'sweep race: one new SMS';
}

# --- parallel offer-loop calls and sweeps together ---------------------------------------------------------------
{
    twilio_reset();
    my $s = slot_without_offer('Mixed Race');
    my $id = $s->{slot}{id};
    my $res = parallel_requests([ map { $_ % 2
        ? { path => '/api/jobs/offer-loop', data => { slotOpeningId => $id } }
        : { path => '/api/jobs/sweep' } } 1 .. $N ]);
    is scalar(grep { $_->{status} == 200 } @$res), $N, "mixed race: $N offer-loop calls and sweeps answered 200";
    overlap_ok([ map { $_->{span} } @$res ], 'mixed race');
    is db_count('slot_offers WHERE slot_opening_id = ?', $id), 1, 'mixed race: one offer';
    is scalar @{ twilio_messages() }, 1, 'mixed race: one SMS';
}

# --- parallel cancellations of one appointment ---------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Cancel Race');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my $w = make_customer($shop->{id}, name => 'Waiting');
    my $appt = make_appointment($shop->{id}, $cx->{id});
    my $res = parallel_requests([ map { { path => "/api/appointments/$appt->{id}/cancel" } } 1 .. $N ]);
    is scalar(grep { $_->{status} == 200 } @$res), $N, "cancel race: $N parallel cancels answered 200"
        or diag explain [ map { "$_->{status} $_->{body}" } @$res ];
    api(POST => '/api/jobs/outbox');    # the cancels came from other processes: the worker's pass, once
    overlap_ok([ map { $_->{span} } @$res ], 'cancel race');
    my %slot_ids = map { (($_->{json} && $_->{json}{slotOpening} && $_->{json}{slotOpening}{id}) // 'none') => 1 } @$res;
    is_deeply [ keys %slot_ids ], [ db_row('SELECT id::text AS id FROM slot_openings WHERE source_appointment_id = ?',
        $appt->{id})->{id} ], 'cancel race: every answer names the one slot opening';
    is db_count('slot_openings WHERE source_appointment_id = ?', $appt->{id}), 1, 'cancel race: one slot opening row';
    is db_count(q{slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id WHERE o.source_appointment_id = ?},
        $appt->{id}), 1, 'cancel race: one offer';
    is scalar @{ twilio_messages() }, 1, 'cancel race: one SMS';
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt->{id})->{status}, 'cancelled',
        'cancel race: the appointment is cancelled';
}

# --- parallel sign-ups with one phone -----------------------------------------------------------------------------------
{
    my $shop = make_shop(name => 'Signup Race');
    my $res = parallel_requests([ map { { path => '/api/customers', data => {
        shopId => $shop->{id}, name => "Twin $_", phone => '+15557770001', smsOptIn => json_true() } } } 1 .. $N ]);
    overlap_ok([ map { $_->{span} } @$res ], 'sign-up race');
    my %codes;
    $codes{ $_->{status} }++ for @$res;
    is_deeply \%codes, { 201 => 1, 409 => $N - 1 }, "sign-up race: one 201, $N - 1 409s" or diag explain \%codes;
    is db_count('customers WHERE shop_id = ?', $shop->{id}), 1, 'sign-up race: one customer';
}

done_testing();
