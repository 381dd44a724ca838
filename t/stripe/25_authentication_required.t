# SPDX-License-Identifier: Apache-2.0
# An off-session charge the bank wants the customer present for (SCA): Stripe answers 402 card_error
# authentication_required and leaves the PaymentIntent requires_payment_method. With no on-session flow
# (the customer is not there to authenticate) it is the card's refusal: the payment fails with Stripe's
# message and the intent recorded, the booking is released, the slot moves on, the customer is told; not
# the shop's setup (nothing flagged), and never retried.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

plan tests => 16;

for my $pm ('pm_card_authenticationRequired', 'pm_card_4000002760003184') {
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 2, customer => [ { stripePaymentMethodId => $pm } ]);
    my ($c1, $c2) = @{ $s->{customers} };
    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/card was declined/, "$pm: the reply says the card was declined" or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = payment_of($a->{id});
    is $p->{status}, 'failed', '... the payment failed';
    like $p->{last_error} // '', qr/requires authentication/, '... with Stripe\'s message';
    my ($create) = @{ stripe_payment_intents() };
    is $create && $create->{response}{error}{payment_intent}{status}, 'requires_payment_method',
        '... Stripe left the intent requires_payment_method';
    is $p->{stripe_payment_intent_id}, $create && $create->{response}{error}{payment_intent}{id},
        '... the intent is recorded';
    ok !$p->{flagged_reason}, '... not flagged as the shop\'s setup';
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled',
        '... the booking is released';
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent', '... the slot is offered to the next customer';
}
