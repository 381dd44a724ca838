# SPDX-License-Identifier: Apache-2.0
# YES to a live offer: the booking, the deposit's PaymentIntent at Stripe (what
# is sent, how its answer is stored), a decline at once, a customer without a
# card, a shop without a deposit, and the spellings of YES.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();

# --- the booking, Stripe answers "succeeded" ---------------------------------
{
    my $s = scenario(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    my $slot_id = $s->{slot_id};

    like $c1->{stripeCustomerId} // '', qr/^cus_/, 'setup: the customer has a saved card';
    my $offer = offer_of($slot_id, $c1->{id});
    is $offer && $offer->{status}, 'sent', 'setup: the first customer on the waitlist has a sent offer';
    is scalar @{ offer_sms_to($c1->{phone}) }, 1, 'setup: ... and got the offer SMS';
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot_id), 1, 'setup: only that one offer';

    my $r = sms($c1->{phone}, 'YES');
    ok is_twiml($r), 'YES: 200 text/xml TwiML' or diag $r->dump;
    like $r->body, qr{<Response><Message>Booked: [^<]+</Message></Response>}, '... one <Message>';
    like $r->{message}, qr/^Booked: \Q$s->{shop}{name}\E, .+\. Your 20\.00 USD deposit will be charged to your saved card\.$/,
        '... "Booked: shop, time. Your 20.00 USD deposit will be charged ..." (the worker charges it after the answer)';

    my $appts = appointment_of_slot($slot_id);
    is scalar @$appts, 1, 'one appointment booked from the slot opening';
    my $a = $appts->[0] || {};
    is $a->{customer_id}, $c1->{id}, '... for the offered customer';
    is $a->{status}, 'confirmed', '... confirmed (Stripe said succeeded)';
    my $src = db_row('SELECT starts_at, ends_at FROM slot_openings WHERE id = ?', $slot_id);
    is "$a->{starts_at} $a->{ends_at}", "$src->{starts_at} $src->{ends_at}", '... at the slot\'s time';
    is $a->{shop_id}, $s->{shop}{id}, '... in the shop';

    my $slot = slot($slot_id);
    is $slot->{status}, 'filled', 'slot opening filled';
    is $slot->{filled_by_appointment_id}, $a->{id}, '... by the new appointment';
    ok defined $slot->{filled_at}, '... filled_at set';

    $offer = offer_of($slot_id, $c1->{id});
    is $offer->{status}, 'accepted', 'offer accepted';
    ok defined $offer->{responded_at}, '... responded_at set';

    my $pay = payment_of($a->{id});
    ok $pay, 'a payments row for the appointment';
    is $pay->{amount}, 2000, '... amount = the shop deposit';
    is $pay->{currency}, 'usd', '... currency';
    is $pay->{status}, 'succeeded', '... status succeeded, as Stripe answered';
    is db_count('payments'), 1, 'only one payments row';

    my $pis = stripe_payment_intents();
    is scalar @$pis, 1, 'one PaymentIntent request at Stripe';
    my $req = $pis->[0] || { form => {}, headers => {} };
    my $f = $req->{form};
    my ($installation) = db()->selectrow_array('SELECT id FROM installation');
    is_deeply {
        map { $_ => $f->{$_} } qw(amount currency customer payment_method confirm off_session
            metadata[appointment_id] metadata[slot_opening_id] metadata[payment_id] metadata[installation_id])
    }, {
        amount => '2000', currency => 'usd', customer => $c1->{stripeCustomerId}, payment_method => 'pm_card_visa',
        confirm => 'true', off_session => 'true', 'metadata[appointment_id]' => "$a->{id}",
        'metadata[slot_opening_id]' => "$slot_id", 'metadata[payment_id]' => "$pay->{id}",
        'metadata[installation_id]' => $installation,
    }, '... amount, currency, customer, payment_method, confirm, off_session, metadata';
    is $req->{headers}{'idempotency-key'}, "slotrecovery-$installation-deposit-$pay->{id}-$pay->{key_token}",
        '... Idempotency-Key: slotrecovery-<installation id>-deposit-<payment id>-<token>';
    is $req->{headers}{authorization}, 'Bearer ' . stripe_secret_key(), '... Authorization: Bearer <secret key>';
    like $req->{headers}{'content-type'} // '', qr{^application/x-www-form-urlencoded}, '... form-encoded';
    is $pay->{stripe_payment_intent_id}, $req->{response}{id}, 'payments.stripe_payment_intent_id = Stripe\'s id';
    like $pay->{stripe_payment_intent_id} // '', qr/^pi_/, '... a pi_ id';

    my $in = db_row('SELECT * FROM inbound_messages WHERE message_sid = ?', $r->{sid});
    ok $in, 'the SMS is recorded in inbound_messages';
    is $in->{action}, 'booked', '... action booked';
    is $in->{customer_id}, $c1->{id}, '... customer';
    is $in->{body}, 'YES', '... body';

    is scalar @{ sms_to($c2->{phone}) }, 0, 'the second customer got no SMS';
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot_id), 1, 'no further offer';

    my $view = api(GET => "/api/appointments/$a->{id}");
    is $view->status, 200, 'GET /api/appointments/{id} of the booking' or diag $view->dump;
    is $view->json && $view->json->{status}, 'confirmed', '... confirmed';
    is $view->json && $view->json->{sourceSlotOpeningId}, "$slot_id", '... sourceSlotOpeningId';
}

# --- Stripe answers "processing": the booking waits for Stripe's word ------
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ status => 'processing' });
    my $s = scenario(customers => 2);
    my ($c1) = @{ $s->{customers} };
    my $r = sms($c1->{phone}, 'Y');
    ok is_twiml($r), 'processing: Y answered with TwiML' or diag $r->dump;
    like $r->{message}, qr/^Booked:/, '... Booked:';
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    is $a && $a->{status}, 'awaiting_payment', '... appointment awaiting_payment';
    my $pay = $a ? payment_of($a->{id}) : {};
    is $pay->{status}, 'processing', '... payment processing';
    my ($pi) = @{ stripe_payment_intents() };
    is $pay->{stripe_payment_intent_id}, $pi && $pi->{response}{id}, '... PaymentIntent id stored';
    is slot($s->{slot_id})->{status}, 'filled', '... slot filled';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'accepted', '... offer accepted';
}

# --- spellings of YES ---------------------------------------------------------
for my $yes ('yes!', "  YeS \n", 'y', 'Yes.') {
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 1);
    my $c1 = $s->{customers}[0];
    (my $shown = $yes) =~ s/\n/\\n/g;
    my $r = sms($c1->{phone}, $yes);
    like $r->{message} // '', qr/^Booked:/, qq{"$shown" is YES} or diag $r->dump;
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, qq{... "$shown" booked the slot};
}

# --- Stripe declines at once --------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 3);
    my ($c1, $c2, $c3) = @{ $s->{customers} };
    # Only the first customer's card is refused.
    stripe_behave({ decline => json_true(), declineCustomers => [ $c1->{stripeCustomerId} ] });
    my $r = sms($c1->{phone}, 'yes');
    ok is_twiml($r), 'decline: TwiML answer' or diag $r->dump;
    like $r->{message}, qr/^Booked: .* will be charged/, '... the reply: booked, the deposit will be charged';
    my @texts = grep { ($_->{form}{Body} // '') !~ /Reply YES/ } @{ sms_to($c1->{phone}) };
    is scalar @texts, 1, '... then, the worker having tried the card, one text to the customer';
    like $texts[0] && $texts[0]{form}{Body}, qr/your card was declined, so your .* booking is released\. You have not been charged\./,
        '... saying the card was declined, the booking released, nothing charged';

    my $pis = stripe_payment_intents();
    is scalar @$pis, 1, '... one PaymentIntent request';
    is $pis->[0] && $pis->[0]{status}, 402, '... which Stripe refused (402)';

    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    is $a && $a->{status}, 'cancelled', 'the booking is cancelled';
    ok $a && defined $a->{cancelled_at}, '... cancelled_at set';
    my $pay = $a ? payment_of($a->{id}) : {};
    is $pay->{status}, 'failed', 'payment failed';
    is $pay->{last_error}, 'Your card was declined.', '... with Stripe\'s message';
    is $pay->{stripe_payment_intent_id}, $pis->[0] && $pis->[0]{response}{error}{payment_intent}{id},
        '... and the refused PaymentIntent\'s id';
    my $slot = slot($s->{slot_id});
    is $slot->{status}, 'open', 'slot open again';
    ok !defined $slot->{filled_by_appointment_id}, '... filled_by_appointment_id cleared';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'declined', 'first offer declined';
    my $o2 = offer_of($s->{slot_id}, $c2->{id});
    is $o2 && $o2->{status}, 'sent', 'the next customer has a sent offer';
    is scalar @{ offer_sms_to($c2->{phone}) }, 1, '... and got the offer SMS';
    ok !offer_of($s->{slot_id}, $c3->{id}), 'the third customer was not offered';

    # The slot is bookable again: the second customer's card works.
    $r = sms($c2->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'the next customer books it' or diag $r->dump;
    my @appts = @{ appointment_of_slot($s->{slot_id}) };
    is scalar @appts, 2, '... a second appointment from the slot';
    is $appts[1] && $appts[1]{status}, 'confirmed', '... confirmed';
    is slot($s->{slot_id})->{filled_by_appointment_id}, $appts[1] && $appts[1]{id}, '... slot filled by it';
    is scalar @{ stripe_payment_intents() }, 2, '... a second PaymentIntent';
}

# --- no saved card while the shop needs a deposit -------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 2, cards => [0, 1], shop => { name => 'Cardless Cuts' });
    my ($c1, $c2) = @{ $s->{customers} };
    my $r = sms($c1->{phone}, 'YES');
    ok is_twiml($r), 'no card: TwiML' or diag $r->dump;
    like $r->{message}, qr/card on file/, '... the reply says a card on file is needed';
    like $r->{message}, qr/Cardless Cuts/, '... naming the shop';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 0, '... no appointment';
    is db_count('payments'), 0, '... no payment';
    is scalar @{ stripe_requests() }, 0, '... nothing sent to Stripe';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'declined', '... offer declined';
    is slot($s->{slot_id})->{status}, 'open', '... slot still open';
    my $o2 = offer_of($s->{slot_id}, $c2->{id});
    is $o2 && $o2->{status}, 'sent', '... the next customer is offered';
    is scalar @{ offer_sms_to($c2->{phone}) }, 1, '... by SMS';
}

# --- a shop without a deposit: no card needed, no payment ----------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 1, cards => [0], shop => { depositAmount => 0 });
    my $c1 = $s->{customers}[0];
    my $r = sms($c1->{phone}, 'yes');
    like $r->{message} // '', qr/^Booked: .*See you then!$/, 'no deposit: booked, "See you then!"' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    is $a && $a->{status}, 'confirmed', '... confirmed at once';
    is db_count('payments'), 0, '... no payment row';
    is scalar @{ stripe_requests() }, 0, '... nothing sent to Stripe';
    is slot($s->{slot_id})->{status}, 'filled', '... slot filled';
}

done_testing();
