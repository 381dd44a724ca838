# SPDX-License-Identifier: Apache-2.0
# Stripe events recorded once by id (a redelivery: 200 {duplicate: true},
# nothing changes), PaymentIntents that are not ours, event types not used, and
# malformed events.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();

# Everything an event could have changed, for before/after comparisons.
sub state_of {
    my ($s) = @_;
    return {
        payments => db_rows('SELECT id, status, last_error, flagged_reason, stripe_payment_intent_id FROM payments ORDER BY id'),
        appts    => db_rows('SELECT id, status FROM appointments ORDER BY id'),
        slots    => db_rows('SELECT id, status, filled_by_appointment_id FROM slot_openings ORDER BY id'),
        offers   => db_rows('SELECT id, customer_id, status FROM slot_offers ORDER BY id'),
        sms      => scalar @{ twilio_messages() },
    };
}

# --- the same event twice ----------------------------------------------------------
{
    my ($s, $a, $p) = processing_booking();
    my $pi = $p->{stripe_payment_intent_id};
    my $ev = stripe_event(id => 'evt_dup_1', type => 'payment_intent.payment_failed', pi => $pi,
        metadata => { payment_id => "$p->{id}" });
    my $r = post_stripe_event($ev);
    is $r->status, 200, 'first delivery: 200' or diag $r->dump;
    ok $r->json && !$r->json->{duplicate}, '... duplicate: false';
    is $r->json && $r->json->{outcome}, 'payment failed: booking released, slot reopened', '... released';
    my $before = state_of($s);
    # The worker's pass after the event: the next customer's offer, and the first customer's text.
    my ($c1, $c2) = @{ $s->{customers} };
    is scalar @{ offer_sms_to($c2->{phone}) }, 1, '... the next customer was offered';
    my @told = grep { ($_->{form}{Body} // '') !~ /Reply YES/ } @{ sms_to($c1->{phone}) };
    is scalar @told, 1, '... the first customer got one text';
    like $told[0] && $told[0]{form}{Body}, qr/the deposit payment failed, so your .* booking is released\. You have not been charged\./,
        '... that the deposit payment failed, the booking is released';
    is $before->{sms}, 3, '... 3 SMS in all (two offers, that text)';

    $r = post_stripe_event($ev);
    is $r->status, 200, 'redelivery: 200' or diag $r->dump;
    is $r->json && $r->json->{received} ? 1 : 0, 1, '... received: true';
    ok $r->json && $r->json->{duplicate}, '... duplicate: true';
    is_deeply state_of($s), $before, '... nothing changed (payments, bookings, slots, offers, SMS)';
    is db_count('stripe_events'), 1, '... one stripe_events row';

    # A redelivery a minute later is signed again with a new timestamp: still a duplicate.
    $r = post_stripe_event($ev, timestamp => time - 60);
    ok $r->json && $r->json->{duplicate}, 'redelivery with a later signature: duplicate';
    is_deeply state_of($s), $before, '... nothing changed';
}

# --- an event id seen before, whatever it now says ----------------------------------
# Only an event that acted is recorded (an ignored type is not, issue 13), so
# the id is first used by a success that confirms the booking.
{
    my ($s, $a, $p) = processing_booking();
    my $pi = $p->{stripe_payment_intent_id};
    my $r = post_stripe_event(stripe_event(id => 'evt_same_id', type => 'payment_intent.succeeded', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    is $r->json && $r->json->{outcome}, 'payment succeeded: booking confirmed', 'succeeded: acts' or diag $r->dump;
    my $before = state_of($s);
    $r = post_stripe_event(stripe_event(id => 'evt_same_id', type => 'payment_intent.payment_failed', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'a failure under an event id already handled: 200' or diag $r->dump;
    ok $r->json && $r->json->{duplicate}, '... duplicate';
    is_deeply state_of($s), $before, '... nothing changed: the booking stands';
    is payment_of($a->{id})->{status}, 'succeeded', '... payment still succeeded';
}

# --- PaymentIntents that are not ours -------------------------------------------------
{
    my ($s, $a, $p) = processing_booking();
    my $before = state_of($s);
    for my $case (
        [ 'unknown PaymentIntent, no metadata', pi => 'pi_NotOurs00000000000000001', metadata => {} ],
        [ 'unknown PaymentIntent, unknown payment_id', pi => 'pi_NotOurs00000000000000002',
          metadata => { payment_id => '987654' } ],
        [ 'unknown PaymentIntent, payment_id not a number', pi => 'pi_NotOurs00000000000000003',
          metadata => { payment_id => "$p->{id}x" } ],
    ) {
        my ($what, %o) = @$case;
        my $id = 'evt_unknown_' . substr($o{pi}, -1);
        my $r = post_stripe_event(stripe_event(id => $id, type => 'payment_intent.payment_failed', %o));
        is $r->status, 200, "$what: 200" or diag $r->dump;
        is $r->json && $r->json->{outcome}, 'ignored: not a slot-recovery payment', "$what: ignored";
        ok !db_row('SELECT 1 AS x FROM stripe_events WHERE id = ?', $id), "$what: not recorded (it changes nothing)";
        $r = post_stripe_event(stripe_event(id => $id, type => 'payment_intent.payment_failed', %o));
        is $r->json && $r->json->{outcome}, 'ignored: not a slot-recovery payment', "$what: redelivered: ignored again";
    }
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => 'pi_NotOurs00000000000000004'));
    is $r->json && $r->json->{outcome}, 'ignored: not a slot-recovery payment', 'unknown succeeded: ignored';
    is_deeply state_of($s), $before, 'nothing changed';

    # Another PaymentIntent (another app or environment on the same Stripe
    # account) whose metadata.payment_id happens to name our payment, which
    # has its own, different PaymentIntent: not ours.
    $r = post_stripe_event(stripe_event(id => 'evt_foreign_pi', type => 'payment_intent.payment_failed',
        pi => 'pi_OtherAppsIntent000000001', metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'foreign PaymentIntent naming our payment id: 200' or diag $r->dump;
    is $r->json && $r->json->{outcome}, 'ignored: not a slot-recovery payment',
        '... ignored (our payment has PaymentIntent ' . $p->{stripe_payment_intent_id} . ')';
    is payment_of($a->{id})->{status}, 'processing', '... our payment still processing';
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'awaiting_payment',
        '... our booking stands';
    is slot($s->{slot_id})->{status}, 'filled', '... slot still filled';
}

# --- other event types --------------------------------------------------------------
{
    my ($s, $a, $p) = processing_booking();
    my $pi = $p->{stripe_payment_intent_id};
    my $before = state_of($s);
    my @events = (
        [ 'charge.refunded', { id => 'ch_3Refund', object => 'charge', payment_intent => $pi,
                               metadata => { payment_id => "$p->{id}" } } ],
        [ 'payment_intent.created', undef ],
        [ 'payment_intent.processing', undef ],
        [ 'payment_intent.canceled', undef ],
        [ 'customer.created', { id => 'cus_new', object => 'customer' } ],
    );
    for my $e (@events) {
        my ($type, $object) = @$e;
        my $id = "evt_other_$type";
        $id =~ s/\./_/g;
        my $r = post_stripe_event(stripe_event(id => $id, type => $type, pi => $pi,
            metadata => { payment_id => "$p->{id}" }, ($object ? (object => $object) : ())));
        is $r->status, 200, "$type: 200" or diag $r->dump;
        is $r->json && $r->json->{outcome}, 'ignored: event type not used', "$type: ignored";
        ok !db_row('SELECT 1 AS x FROM stripe_events WHERE id = ?', $id), "$type: not recorded (it changes nothing)";
    }
    is_deeply state_of($s), $before, 'other event types change nothing';
}

# --- malformed events, correctly signed -------------------------------------------------
{
    reset_db();
    for my $case (
        [ 'not JSON',          'this is not json' ],
        [ 'a JSON array',      '[1,2,3]' ],
        [ 'no id',             encode_json({ object => 'event', type => 'payment_intent.succeeded', data => {} }) ],
        [ 'no type',           encode_json({ id => 'evt_notype', object => 'event', data => {} }) ],
        [ 'empty id',          encode_json({ id => '', type => 'charge.refunded', data => {} }) ],
    ) {
        my ($what, $payload) = @$case;
        my $r = post_stripe_event($payload);
        is $r->status, 400, "$what: 400" or diag $r->dump;
    }
    is db_count('stripe_events'), 0, 'malformed events are not recorded';
}

done_testing();
