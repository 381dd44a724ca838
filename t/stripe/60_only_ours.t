# SPDX-License-Identifier: Apache-2.0
# Only our PaymentIntents move a booking. Before a payment's PaymentIntent id is
# recorded (Stripe unreachable at YES time), an event is matched by
# metadata.payment_id only when its metadata also carries this installation's
# id and the intent's amount, currency and customer are the payment's: another
# integration on the same Stripe account, or another customer's small intent,
# naming our payment id changes nothing (200, recorded as ignored, logged).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

sub booking_state {
    my ($a, $slot_id) = @_;
    my $p = payment_of($a->{id});
    return join ' | ', $p->{status}, $p->{stripe_payment_intent_id} // 'no intent',
        db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, slot($slot_id)->{status};
}

reset_all();
my ($installation) = db()->selectrow_array('SELECT id FROM installation');
like $installation // '', qr/^[0-9a-f]{32}$/, 'setup: the installation has its id';

# Stripe is down at YES time: the payment waits with no PaymentIntent id, and
# keeps failing so the sweep does not record one meanwhile.
stripe_behave({ failAll => 500 });
my $s = scenario(customers => 2);
my $c1 = $s->{customers}[0];
my $r = sms($c1->{phone}, 'YES');
like $r->{message} // '', qr/^Booked:/, 'setup: booked while Stripe is down' or diag $r->dump;
my ($a) = @{ appointment_of_slot($s->{slot_id}) };
my $p = payment_of($a->{id});
my $waiting = "pending | no intent | awaiting_payment | filled";
is booking_state($a, $s->{slot_id}), $waiting, 'setup: payment pending without PaymentIntent, booking waiting';
is "$p->{amount} $p->{currency}", '2000 usd', 'setup: the payment is 2000 usd';

my %genuine = (
    amount   => 2000,
    currency => 'usd',
    customer => $c1->{stripeCustomerId},
    metadata => { payment_id => "$p->{id}", installation_id => $installation,
                  appointment_id => "$a->{id}", slot_opening_id => "$s->{slot_id}" },
);
my @forged = (
    [ 'no installation id',      metadata => { %{ $genuine{metadata} }, installation_id => undef } ],
    [ 'a foreign installation id', metadata => { %{ $genuine{metadata} }, installation_id => 'f' x 32 } ],
    [ 'an installation id in upper case', metadata => { %{ $genuine{metadata} }, installation_id => uc $installation } ],
    [ 'a wrong amount (1)',      amount => 1 ],
    [ 'a wrong amount (20000)',  amount => 20000 ],
    [ 'a wrong currency (eur)',  currency => 'eur' ],
    [ 'another customer',        customer => 'cus_SomebodyElse' ],
    [ 'no customer',             customer => undef ],
);
my $n = 0;
for my $case (@forged) {
    my ($what, %o) = @$case;
    my %event = (%genuine, %o);
    delete $event{metadata}{installation_id} unless defined $event{metadata}{installation_id};
    for my $type ('payment_intent.payment_failed', 'payment_intent.succeeded') {
        my $id = sprintf 'evt_forged_%02d', ++$n;
        my $mark = error_log_mark();
        my $pi = sprintf 'pi_Foreign%017d', $n;
        my $res = post_stripe_event(stripe_event(id => $id, type => $type, pi => $pi, %event));
        is $res->status, 200, "$what, $type: 200" or diag $res->dump;
        like $res->json && $res->json->{outcome}, qr/^ignored: not a slot-recovery payment\b/,
            "$what, $type: ignored";
        is booking_state($a, $s->{slot_id}), $waiting, "$what, $type: payment, booking and slot unchanged";
        ok !db_row('SELECT 1 AS x FROM stripe_events WHERE id = ?', $id), "$what, $type: not recorded";
        ok wait_until(sub { error_log_since($mark) =~ /\[slotrecovery:warn\] .*mod_slotrecovery: Stripe event \Q$id\E for \Q$pi\E ignored: not this installation's PaymentIntent \(metadata names payment \Q$p->{id}\E, but [^)]+\)/ }, timeout => 5),
            "$what, $type: logged as a warning with the reason";
    }
}
is scalar @{ sms_to($s->{customers}[1]{phone}) }, 0, 'the slot was never offered to the next customer';

# The genuine event: ours, matched by its metadata, confirms the booking.
$r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => 'pi_Genuine0000000000000001', %genuine));
is $r->status, 200, 'the genuine event: 200' or diag $r->dump;
is $r->json && $r->json->{outcome}, 'payment succeeded: booking confirmed', '... confirms the booking';
is booking_state($a, $s->{slot_id}), 'succeeded | pi_Genuine0000000000000001 | confirmed | filled',
    '... payment succeeded with its PaymentIntent id, booking confirmed';

# From then on the payment is matched by its PaymentIntent id only.
$r = post_stripe_event(stripe_event(type => 'payment_intent.payment_failed', pi => 'pi_Other00000000000000001',
    %genuine));
is $r->json && $r->json->{outcome}, 'ignored: not a slot-recovery payment',
    'another intent with the same metadata, once ours is recorded: ignored';
is booking_state($a, $s->{slot_id}), 'succeeded | pi_Genuine0000000000000001 | confirmed | filled',
    '... nothing changed';

stripe_behave({});
done_testing();
