# SPDX-License-Identifier: Apache-2.0
# Not every Stripe refusal is a declined card. Only a card_error is a decline;
# invalid_request_error (an unknown customer, amount_too_small) and
# idempotency_error are the shop's configuration problem: the customer is told
# honestly that a problem at the shop stopped the deposit and that they were
# not charged, the booking is released as for a decline (the slot goes to the
# next customer), and the shop sees it on the payment (flagged_reason). The
# YES is answered before Stripe is asked (the worker charges after the
# commit), so the customer hears of the refusal by a text of its own.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

sub appt_status { db_row('SELECT status FROM appointments WHERE id = ?', $_[0])->{status} }

sub notices_to {
    my ($phone) = @_;
    return [ grep { ($_->{form}{Body} // '') !~ /Reply YES/ && $_->{status} == 201 } @{ sms_to($phone) } ];
}

for my $case (
    [ 'invalid_request_error (unknown customer)', 'invalid_request', qr/No such customer/ ],
    [ 'amount_too_small',                         'amount_too_small', qr/at least/ ],
    [ 'idempotency_error',                        'idempotency', qr/idempotent/ ],
) {
    my ($label, $kind, $stripe_message) = @$case;
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ fail => $kind });
    my $s = scenario(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    my $r = sms($c1->{phone}, 'YES');
    ok is_twiml($r), "$label: TwiML" or diag $r->dump;
    my $reply = $r->{message} // '';
    like $reply, qr/^Booked: .* will be charged/, "$label: the reply: booked, the deposit will be charged";
    my ($text) = map { $_->{form}{Body} } @{ notices_to($c1->{phone}) };
    $text //= '';
    unlike $text, qr/declined/i, "$label: the text after it does not say the card was declined";
    like $text, qr/^\Q$s->{shop}{name}\E: a problem on our side stopped the deposit/,
        "$label: ... it names a problem on the shop's side";
    like $text, qr/not been charged/, "$label: ... and says they were not charged";
    cmp_ok length $text, '<=', 160, "$label: ... in one SMS segment";
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    is appt_status($a->{id}), 'cancelled', "$label: the booking is released";
    my $p = payment_of($a->{id});
    is $p->{status}, 'failed', "$label: the payment failed";
    like $p->{last_error} // '', $stripe_message, "$label: ... with Stripe's message";
    like $p->{flagged_reason} // '', $stripe_message, "$label: ... flagged for the shop";
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'declined', "$label: the offer is declined";
    is offer_of($s->{slot_id}, $c2->{id}) && offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent',
        "$label: the next customer is offered the slot";
    is scalar @{ stripe_payment_intents() }, 1, "$label: Stripe asked once";

    # A redelivery of the YES answers the same.
    my $again = sms($c1->{phone}, 'YES', sid => $r->{sid});
    is $again->{message}, $reply, "$label: a redelivered YES gets the same answer";
    sweep();
    is scalar @{ notices_to($c1->{phone}) }, 1, "$label: one text besides the reply, not two";
}

# --- a card_error is still a decline ------------------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ decline => json_true() });
    my $s = scenario(customers => 2);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'card_error: booked at first' or diag $r->dump;
    my ($text) = map { $_->{form}{Body} } @{ notices_to($s->{customers}[0]{phone}) };
    like $text // '', qr/your card was declined/, 'card_error: then the text "your card was declined"';
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    ok !defined payment_of($a->{id})->{flagged_reason}, '... nothing for the shop to fix';
}

# --- the refusal comes on a retry by the sweep: the customer is told by SMS --------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ unreachable => json_true() });
    my $s = scenario(customers => 2);
    my ($c1) = @{ $s->{customers} };
    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'Stripe unreachable at YES: booked for now' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    stripe_behave({ fail => 'invalid_request' });
    make_payment_due(payment_of($a->{id})->{id});
    sweep();
    is appt_status($a->{id}), 'cancelled', 'invalid_request_error on the retry: booking released';
    like payment_of($a->{id})->{flagged_reason} // '', qr/No such customer/, '... flagged for the shop';
    ok wait_until(sub { sweep(); scalar @{ notices_to($c1->{phone}) } }, timeout => 15, interval => 0.2),
        '... the customer gets an SMS';
    my $body = notices_to($c1->{phone})->[0]{form}{Body};
    unlike $body, qr/declined/i, '... not "declined"';
    like $body, qr/^\Q$s->{shop}{name}\E: a problem on our side stopped the deposit, so your .+ booking is released\. You have not been charged\.$/,
        '... the honest text';
    cmp_ok length $body, '<=', 160, '... one segment';
}

# --- the other way round: a decline on a retry is told as a decline ---------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ unreachable => json_true() });
    my $s = scenario(customers => 2);
    my ($c1) = @{ $s->{customers} };
    sms($c1->{phone}, 'YES');
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    stripe_behave({ decline => json_true() });
    make_payment_due(payment_of($a->{id})->{id});
    sweep();
    is appt_status($a->{id}), 'cancelled', 'declined on the retry: booking released';
    ok wait_until(sub { sweep(); scalar @{ notices_to($c1->{phone}) } }, timeout => 15, interval => 0.2),
        '... the customer gets an SMS';
    like notices_to($c1->{phone})->[0]{form}{Body}, qr/: your card was declined, so your .+ booking is released\. You have not been charged\.$/,
        '... saying the card was declined';
}

done_testing();
