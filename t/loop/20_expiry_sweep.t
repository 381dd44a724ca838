# SPDX-License-Identifier: Apache-2.0
# POST /api/jobs/sweep: offers past their expiry are expired and the slot
# goes to the next customer (with the shop's current TTL); nobody left: the
# slot waits for a customer until its cutoff expires it ('no_eligible_customer');
# a slot about to start expires ('too_close_to_start'); an open slot without a
# live offer is offered again;
# offers not yet due are left alone. Time is driven by UPDATE-ing expires_at.
# Last, the watchdog does the same on its own.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);
use SlotRecovery::Httpd ();

reset_db();
twilio_reset();

my @KEYS = qw(offersExpired offersSent offersFailed slotsAdvanced slotsExpired);

my $shop = make_shop(name => 'Sweep Shop', offerTtlSeconds => 900);
my $canceller = make_customer($shop->{id}, name => 'Canceller');
my ($a, $b, $c) = map { make_customer($shop->{id}, name => "Waiting $_") } qw(A B C);
my $appt = make_appointment($shop->{id}, $canceller->{id}, startsAt => iso_in(3 * 86400),
    endsAt => iso_in(3 * 86400 + 3600));
my $slot = cancel($appt->{id})->json->{slotOpening};
is $slot->{offers}[0]{customerId}, $a->{id}, 'the first offer goes to A';

# A second shop's slot, live all along: no sweep below may touch it.
my $shop2 = make_shop(name => 'Bystander');
my $by_c  = make_customer($shop2->{id}, name => 'By Canceller');
my $by_w  = make_customer($shop2->{id}, name => 'By Waiting');
my $by_slot = cancel(make_appointment($shop2->{id}, $by_c->{id})->{id})->json->{slotOpening};
my $by_offer = offers_of($by_slot->{id})->[0];
is $by_offer->{status}, 'sent', 'the bystander slot has a live offer';

# --- nothing due --------------------------------------------------------------------------------------
{
    my $before = table_counts();
    my $msgs = scalar @{ twilio_messages() };
    my $r = api(POST => '/api/jobs/sweep');
    is $r->status, 200, 'POST /api/jobs/sweep: 200' or diag $r->dump;
    is_deeply [ sort keys %{ $r->json || {} } ], [ sort @KEYS ], '... the documented report';
    is_json_kind($r, $_, 'number', "... $_ is a number") for @KEYS;
    is_deeply +{ map { $_ => $r->json->{$_} } @KEYS }, { map { $_ => 0 } @KEYS }, '... nothing to do: all 0';
    counts_unchanged($before, '... nothing written');
    is scalar @{ twilio_messages() }, $msgs, '... no SMS';
}

# --- A's offer expires: B is offered ---------------------------------------------------------------------------
{
    my $first = live_offer($slot->{id});
    my $mark = log_mark();
    expire_offer($first->{id});
    my $rep = sweep();
    sweep_counts_ok($rep, { offersExpired => 1, slotsAdvanced => 1, offersSent => 1, offersFailed => 0,
        slotsExpired => 0 }, $mark, 'the sweep expired one offer and offered the slot once');

    my $offers = offers_of($slot->{id});
    is scalar @$offers, 2, 'two offers now';
    is $offers->[0]{status}, 'expired', "A's offer expired";
    is $offers->[1]{customer_id}, $b->{id}, 'the new offer is for B';
    is $offers->[1]{status}, 'sent', '... sent';
    is $offers->[1]{attempts}, 1, '... attempts 1';
    is $offers->[1]{ttl}, 900, '... for the shop TTL';
    my $msgs = sent_messages();
    is $msgs->[-1]{form}{To}, $b->{phone}, '... the SMS went to B';
    is scalar @{ messages_to($a->{phone}) }, 1, 'A got no second SMS';
    is slot_view($slot->{id})->{status}, 'open', 'the slot is still open';
    is offers_of($by_slot->{id})->[0]{status}, 'sent', 'the bystander offer is untouched';
    is offers_of($by_slot->{id})->[0]{expires_at}, $by_offer->{expires_at}, '... and keeps its expiry';

    my $before = table_counts();
    my $n = scalar @{ twilio_messages() };
    my $again = sweep();
    is_deeply +{ map { $_ => $again->{$_} } @KEYS }, { map { $_ => 0 } @KEYS }, 'a second sweep has nothing to do';
    counts_unchanged($before, '... writes nothing');
    is scalar @{ twilio_messages() }, $n, '... sends nothing';
}

# --- the TTL in force when the offer is sent -------------------------------------------------------------------------
{
    my $r = api(PATCH => "/api/shops/$shop->{id}", { offerTtlSeconds => 120 });
    is $r->status, 200, 'PATCH offerTtlSeconds 120' or diag $r->dump;
    my $live = live_offer($slot->{id});
    expire_offer($live->{id});
    sweep();
    my $next = live_offer($slot->{id});
    is $next && $next->{customer_id}, $c->{id}, "B's offer expired: C is offered";
    is $next && $next->{ttl}, 120, "... for the shop's new TTL (120 s)";
    like sent_messages()->[-1]{form}{Body}, qr/Offer ends in 2 min\.$/, '... and the SMS says 2 min';
}

# --- nobody left: the slot waits, then its cutoff expires it -----------------------------------------------------------
{
    my $live = live_offer($slot->{id});
    my $n = scalar @{ twilio_messages() };
    my $mark = log_mark();
    expire_offer($live->{id});
    my $rep = sweep();
    sweep_counts_ok($rep, { offersExpired => 1, slotsAdvanced => 0, offersSent => 0, offersFailed => 0,
        slotsExpired => 0 }, $mark, 'the sweep expired the last offer, not the slot');
    my $row = db_row('SELECT status, waiting_since FROM slot_openings WHERE id = ?', $slot->{id});
    is $row->{status}, 'open', 'the slot opening stays open';
    ok defined $row->{waiting_since}, '... waiting for a customer';
    ok slot_view($slot->{id})->{waiting}, '... "waiting" in the view';
    # Its cutoff comes: expired, for want of an eligible customer.
    my $cutoff = conf_value('SlotRecoveryOfferCutoff') // 300;
    db_do(q{UPDATE slot_openings SET starts_at = now() + make_interval(secs => ?), ends_at = now() + interval '2 hours'
            WHERE id = ?}, int($cutoff / 2), $slot->{id});
    $mark = log_mark();
    $rep = sweep();
    sweep_counts_ok($rep, { offersExpired => 0, slotsAdvanced => 0, offersSent => 0, offersFailed => 0,
        slotsExpired => 1 }, $mark, 'at its cutoff the sweep expires it');
    $row = db_row('SELECT status, expired_reason, expired_at FROM slot_openings WHERE id = ?', $slot->{id});
    is $row->{status}, 'expired', 'the slot opening expired';
    is $row->{expired_reason}, 'no_eligible_customer', "... 'no_eligible_customer'";
    ok defined $row->{expired_at}, '... expired_at set';
    is_deeply [ map { $_->{status} } @{ offers_of($slot->{id}) } ], [qw(expired expired expired)],
        'all three offers expired';
    is scalar @{ twilio_messages() }, $n, 'no SMS';
    my $v = slot_view($slot->{id});
    is $v->{status}, 'expired', 'the view says expired';
    is scalar @{ $v->{offers} }, 3, '... with the three offers';

    my $r = offer_loop($slot->{id});
    is $r->json && $r->json->{action}, 'noop', 'offer-loop on it afterwards: noop';
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot->{id}), 3, '... no new offer';
}

# --- too close to its start ---------------------------------------------------------------------------------------------
{
    my $cutoff = conf_value('SlotRecoveryOfferCutoff');
    my $ahead = defined $cutoff ? int($cutoff / 2) : 60;    # the default is minutes
    my $s3 = make_shop(name => 'Soon Shop');
    my $x = make_customer($s3->{id}, name => 'X');
    my $y = make_customer($s3->{id}, name => 'Y');
    my $z = make_customer($s3->{id}, name => 'Z');
    my $slot3 = cancel(make_appointment($s3->{id}, $x->{id})->{id})->json->{slotOpening};
    my $live = live_offer($slot3->{id});
    is $live && $live->{customer_id}, $y->{id}, 'a third slot, offered to Y';
    my $n = scalar @{ twilio_messages() };

    # The slot now starts within the cutoff (its offer is still live).
    my $mark = log_mark();
    db_do(q{UPDATE slot_openings SET starts_at = now() + make_interval(secs => ?), ends_at = now() + interval '2 hours'
            WHERE id = ?}, $ahead, $slot3->{id});
    my $rep = sweep();
    sweep_counts_ok($rep, { offersExpired => 0, slotsAdvanced => 0, offersSent => 0, offersFailed => 0,
        slotsExpired => 1 }, $mark, 'the sweep expired the slot');
    my $row = db_row('SELECT status, expired_reason FROM slot_openings WHERE id = ?', $slot3->{id});
    is $row->{status}, 'expired', 'a slot about to start expires';
    is $row->{expired_reason}, 'too_close_to_start', "... 'too_close_to_start'";
    is offers_of($slot3->{id})->[0]{status}, 'expired', '... its live offer expired with it';
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot3->{id}), 1, '... Z was not offered';
    is scalar @{ twilio_messages() }, $n, '... no SMS';
}

# --- an open slot without a live offer is offered again ---------------------------------------------------------------------
{
    my $s4 = make_shop(name => 'Lost Trigger Shop');
    my $p = make_customer($s4->{id}, name => 'P');
    my $q = make_customer($s4->{id}, name => 'Q');
    my $r4 = make_customer($s4->{id}, name => 'R');
    my $slot4 = cancel(make_appointment($s4->{id}, $p->{id})->{id})->json->{slotOpening};
    my $live = live_offer($slot4->{id});
    is $live && $live->{customer_id}, $q->{id}, 'a fourth slot, offered to Q';

    my $mark = log_mark();
    db_do(q{UPDATE slot_offers SET status = 'declined', responded_at = now() WHERE id = ?}, $live->{id});
    my $rep = sweep();
    sweep_counts_ok($rep, { offersExpired => 0, slotsAdvanced => 1, offersSent => 1, offersFailed => 0,
        slotsExpired => 0 }, $mark, 'the sweep offered the slot left without a live offer');
    my $next = live_offer($slot4->{id});
    is $next && $next->{customer_id}, $r4->{id}, '... to R';
    is $next && $next->{status}, 'sent', '... sent';
    is sent_messages()->[-1]{form}{To}, $r4->{phone}, '... by SMS';
    is offers_of($by_slot->{id})->[0]{status}, 'sent', 'the bystander offer is still untouched';
}

# --- the watchdog sweeps on its own ------------------------------------------------------------------------------------
# (The suite's server sweeps once an hour: a twin of it that sweeps every second does it here.)
{
    my $twin = SlotRecovery::Httpd->suite_twin(sweep_interval => 1)->start;
    my $s5 = make_shop(name => 'Watchdog Shop');
    my $u = make_customer($s5->{id}, name => 'U');
    my $v = make_customer($s5->{id}, name => 'V');
    my $w = make_customer($s5->{id}, name => 'W');
    my $slot5 = cancel(make_appointment($s5->{id}, $u->{id})->{id})->json->{slotOpening};
    my $live = live_offer($slot5->{id});
    expire_offer($live->{id});
    my $next = wait_until(sub {
        my $l = live_offer($slot5->{id});
        $l && $l->{status} eq 'sent' && $l->{customer_id} eq $w->{id} ? $l : undef;
    }, timeout => 20, interval => 0.2);
    ok $next, 'without a sweep request, the watchdog offers the slot to W within 20 s';
    is offers_of($slot5->{id})->[0]{status}, 'expired', "... having expired V's offer";
    is scalar @{ messages_to($w->{phone}) }, 1, '... W got the SMS';
    $twin->stop;
}

done_testing();
