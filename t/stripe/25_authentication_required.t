# SPDX-License-Identifier: Apache-2.0
# An off-session charge the bank wants the customer present for (SCA): Stripe answers 402 card_error
# authentication_required and leaves the PaymentIntent requires_payment_method. With no on-session flow
# (the customer is not there to authenticate) it is the card's refusal: the payment fails with Stripe's
# message and the intent recorded, the booking is released, the slot moves on, the customer is told (by a
# text of its own: the YES was answered "Booked" before the worker asked Stripe); not the shop's setup
# (nothing flagged), and never retried.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

plan tests => 22;

for my $pm ('pm_card_authenticationRequired', 'pm_card_4000002760003184') {
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 2, customer => [ { stripePaymentMethodId => $pm } ]);
    my ($c1, $c2) = @{ $s->{customers} };
    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked: .* will be charged to your saved card\.$/,
        "$pm: the reply says booked, the deposit will be charged (the worker charges after it)" or diag $r->dump;
    my @texts = grep { ($_->{form}{Body} // '') !~ /Reply YES/ } @{ sms_to($c1->{phone}) };
    is scalar @texts, 1, '... then one text to the customer';
    like $texts[0] && $texts[0]{form}{Body}, qr/^\Q$s->{shop}{name}\E: your card was declined, so your .* booking is released\. You have not been charged\.$/,
        '... saying the card was declined, the booking released, nothing charged';
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
    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_payment_intents() }, 1, '... a sweep does not try the card again';
}
