# SPDX-License-Identifier: Apache-2.0
# YES too late (offer expired, slot already filled, never offered) gets a
# polite refusal and books nothing; NO declines and passes the slot on at once.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();

# Nothing was booked from this slot, nothing charged.
sub nothing_booked {
    my ($slot_id, $what) = @_;
    is scalar @{ appointment_of_slot($slot_id) }, 0, "$what: no appointment";
    is db_count('payments'), 0, "$what: no payment";
    is scalar @{ stripe_payment_intents() }, 0, "$what: no PaymentIntent";
    isnt slot($slot_id)->{status}, 'filled', "$what: slot not filled";
}

# --- the offer has expired (expires_at in the past) --------------------------
{
    my $s = scenario(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    my $o1 = offer_of($s->{slot_id}, $c1->{id});
    is $o1->{status}, 'sent', 'setup: offer sent';
    db_do(q{UPDATE slot_offers SET sent_at = now() - interval '20 minutes',
                   expires_at = now() - interval '5 minutes' WHERE id = ?}, $o1->{id});

    my $r = sms($c1->{phone}, 'YES');
    ok is_twiml($r), 'expired offer: TwiML' or diag $r->dump;
    like $r->{message}, TOO_LATE_RE, '... "Sorry, that slot has been taken or the offer has ended"';
    nothing_booked($s->{slot_id}, 'expired offer');
    isnt offer_of($s->{slot_id}, $c1->{id})->{status}, 'accepted', '... offer not accepted';
    is db_row('SELECT action FROM inbound_messages WHERE message_sid = ?', $r->{sid})->{action}, 'too_late',
        '... recorded as too_late';

    # The sweep expires it and offers the next customer; the late YES still books nothing.
    sweep();
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'expired', 'sweep: first offer expired';
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent', 'sweep: the next customer offered';
    $r = sms($c1->{phone}, 'yes');
    like $r->{message}, TOO_LATE_RE, 'YES after the sweep expired the offer: too late';
    nothing_booked($s->{slot_id}, 'expired and swept');

    # The live offer still works.
    $r = sms($c2->{phone}, 'yes');
    like $r->{message} // '', qr/^Booked:/, 'the customer with the live offer books it' or diag $r->dump;
    my $appts = appointment_of_slot($s->{slot_id});
    is scalar @$appts, 1, '... one appointment';
    is $appts->[0] && $appts->[0]{customer_id}, $c2->{id}, '... theirs';
}

# --- the slot is filled already -----------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 3);
    my ($c1, $c2, $c3) = @{ $s->{customers} };
    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'setup: the first customer books the slot' or diag $r->dump;
    my ($booked) = @{ appointment_of_slot($s->{slot_id}) };

    # The same customer again (another message): no second booking.
    $r = sms($c1->{phone}, 'YES');
    ok is_twiml($r), 'second YES from the booker: TwiML' or diag $r->dump;
    like $r->{message}, TOO_LATE_RE, '... too late';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... still one appointment';
    is scalar @{ stripe_payment_intents() }, 1, '... still one PaymentIntent';
    is db_count('payments'), 1, '... one payment';

    # Another customer holding a "sent" offer for the filled slot (as a lagging
    # offer loop could leave it): the slot lock sees the slot filled.
    db_do(q{INSERT INTO slot_offers (slot_opening_id, customer_id, status, sent_at, expires_at, attempts)
            VALUES (?, ?, 'sent', now(), now() + interval '10 minutes', 1)}, $s->{slot_id}, $c2->{id});
    $r = sms($c2->{phone}, 'YES');
    like $r->{message}, TOO_LATE_RE, 'YES to a live offer for a filled slot: too late';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... still one appointment';
    is scalar @{ stripe_payment_intents() }, 1, '... no second PaymentIntent';
    isnt offer_of($s->{slot_id}, $c2->{id})->{status}, 'accepted', '... that offer is not accepted';
    my $slot = slot($s->{slot_id});
    is $slot->{status}, 'filled', '... slot still filled';
    is $slot->{filled_by_appointment_id}, $booked->{id}, '... by the first booking';
    is db_row('SELECT status FROM appointments WHERE id = ?', $booked->{id})->{status}, 'confirmed',
        '... which stays confirmed';

    # Never offered at all.
    $r = sms($c3->{phone}, 'YES');
    like $r->{message}, TOO_LATE_RE, 'YES from a customer never offered: too late';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... nothing booked';
}

# --- no offer at all ------------------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 2, cancel => 0);
    my $c1 = $s->{customers}[0];
    my $r = sms($c1->{phone}, 'YES');
    ok is_twiml($r), 'no slot opening at all: TwiML' or diag $r->dump;
    like $r->{message}, TOO_LATE_RE, '... too late';
    is db_count('appointments'), 1, '... no appointment created (only the original)';
    is scalar @{ stripe_requests() }, 0, '... nothing sent to Stripe';
}

# --- NO ---------------------------------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 3);
    my ($c1, $c2, $c3) = @{ $s->{customers} };
    is scalar @{ offer_sms_to($c2->{phone}) }, 0, 'setup: second customer not offered yet';

    my $r = sms($c1->{phone}, 'NO');
    ok is_twiml($r), 'NO: TwiML' or diag $r->dump;
    like $r->{message}, qr/offer the slot to someone else/, '... "we\'ll offer the slot to someone else"';
    my $o1 = offer_of($s->{slot_id}, $c1->{id});
    is $o1->{status}, 'declined', '... offer declined';
    ok defined $o1->{responded_at}, '... responded_at set';
    my $o2 = offer_of($s->{slot_id}, $c2->{id});
    is $o2 && $o2->{status}, 'sent', '... the next customer has a sent offer at once';
    is scalar @{ offer_sms_to($c2->{phone}) }, 1, '... and the offer SMS';
    is slot($s->{slot_id})->{status}, 'open', '... slot open';
    nothing_booked($s->{slot_id}, 'NO');
    is db_row('SELECT action FROM inbound_messages WHERE message_sid = ?', $r->{sid})->{action}, 'declined',
        '... recorded as declined';

    # YES after NO: the declined offer is not live any more.
    $r = sms($c1->{phone}, 'YES');
    like $r->{message}, TOO_LATE_RE, 'YES after NO: too late';
    nothing_booked($s->{slot_id}, 'YES after NO');

    # "n" is NO too; after the last eligible customer passes the slot waits for another.
    $r = sms($c2->{phone}, ' n ');
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'declined', '"n" declines';
    is offer_of($s->{slot_id}, $c3->{id})->{status}, 'sent', '... third customer offered';
    $r = sms($c3->{phone}, 'no!');
    is offer_of($s->{slot_id}, $c3->{id})->{status}, 'declined', '"no!" declines';
    my $slot = slot($s->{slot_id});
    is $slot->{status}, 'open', 'nobody left: the slot stays open';
    ok defined $slot->{waiting_since}, '... waiting for a customer';
    is scalar @{ offer_sms_to($s->{canceller}{phone}) }, 0, 'the canceller was never offered their own slot';

    # NO without any offer.
    $r = sms($c1->{phone}, 'No');
    ok is_twiml($r), 'NO without an offer: TwiML' or diag $r->dump;
    like $r->{message}, qr/no open offer/, '... "There is no open offer for you right now"';
}

done_testing();
