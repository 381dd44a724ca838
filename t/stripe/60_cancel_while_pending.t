# SPDX-License-Identifier: Apache-2.0
# A recovered booking cancelled while its deposit waits is never charged.
# Stripe cannot be reached when the customer answers YES, so the payment stays
# pending with no PaymentIntent; the shop cancels the booking; Stripe comes
# back. The sweep must not create the PaymentIntent: the payment is marked
# canceled, and nothing is sent to Stripe, ever. The same for a booking whose
# slot has started meanwhile (no charge for a time that has passed).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

# Stripe unreachable at YES: booked, the payment pending without a PaymentIntent.
sub pending_booking {
    my (%o) = @_;
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ unreachable => json_true() });
    my $s = scenario(customers => 2, %o);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'setup: Stripe unreachable at YES, still booked' or diag $r->dump;
    # Nothing was taken yet: the reply must not say it was.
    like $r->{message} // '', qr/ deposit will be charged to your saved card\.$/,
        'setup: ... the reply says the deposit will be charged, not that it is' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', 'setup: payment pending';
    ok !defined $p->{stripe_payment_intent_id}, 'setup: no PaymentIntent';
    # (libcurl may send it a second time on a fresh connection when a reused one drops: same key.)
    my $asked = stripe_payment_intents();
    ok @$asked >= 1 && !grep({ $_->{status} != 0 } @$asked), 'setup: Stripe was asked and did not answer';
    return ($s, $a, $p, scalar @$asked);
}

# --- the shop cancels the booking, Stripe comes back -------------------------------------
{
    my ($s, $a, $p, $asked) = pending_booking();
    my $r = api(POST => "/api/appointments/$a->{id}/cancel");
    is $r->status, 200, 'the shop cancels the recovered booking: 200' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled', '... cancelled';

    stripe_behave({});    # Stripe is back
    make_payment_due($p->{id});
    sweep();
    ok wait_until(sub { payment_of($a->{id})->{status} ne 'pending' }, timeout => 10),
        'the sweep settles the payment' or diag explain payment_of($a->{id});
    my $p2 = payment_of($a->{id});
    is $p2->{status}, 'canceled', '... payment canceled';
    ok !defined $p2->{stripe_payment_intent_id}, '... no PaymentIntent';
    like $p2->{last_error} // '', qr/cancelled/, '... last_error says the booking was cancelled';
    is scalar @{ stripe_payment_intents() }, $asked, 'Stripe was never asked again (only the dropped attempt)';

    # Later sweeps do not find it either.
    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_payment_intents() }, $asked, 'a later sweep: still no PaymentIntent request';
    is payment_of($a->{id})->{status}, 'canceled', '... still canceled';
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled',
        '... the booking stays cancelled';

    $r = api(GET => "/api/appointments/$a->{id}");
    is $r->json && $r->json->{payment}{status}, 'canceled', 'GET /api/appointments/{id}: payment canceled';
}

# --- the slot has started before Stripe answered: no charge ---------------------------------
{
    my ($s, $a, $p, $asked) = pending_booking();
    db_do(q{UPDATE appointments SET starts_at = now() - interval '10 minutes', ends_at = now() + interval '20 minutes'
            WHERE id = ?}, $a->{id});
    db_do(q{UPDATE slot_openings SET starts_at = now() - interval '10 minutes', ends_at = now() + interval '20 minutes'
            WHERE id = ?}, $s->{slot_id});
    stripe_behave({});
    make_payment_due($p->{id});
    sweep();
    ok wait_until(sub { payment_of($a->{id})->{status} ne 'pending' }, timeout => 10),
        'slot started: the sweep settles the payment' or diag explain payment_of($a->{id});
    is scalar @{ stripe_payment_intents() }, $asked, '... without asking Stripe again';
    ok !defined payment_of($a->{id})->{stripe_payment_intent_id}, '... no PaymentIntent';
    isnt db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'confirmed',
        '... the booking is not confirmed';
}

done_testing();
