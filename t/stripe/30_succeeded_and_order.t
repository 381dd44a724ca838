# SPDX-License-Identifier: Apache-2.0
# payment_intent.succeeded confirms the booking; events out of order: a failure
# after the success changes nothing, a success after the failure is kept on the
# payment with a refund due (t/stripe/65_refund_race.t follows the refund), and
# the booking stays released. An event for a payment whose PaymentIntent id was
# never stored is matched by metadata.payment_id (with this installation's id,
# the amount, currency and customer: t/stripe/60_only_ours.t).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();

sub appt_status { db_row('SELECT status FROM appointments WHERE id = ?', $_[0])->{status} }

# --- succeeded --------------------------------------------------------------------
{
    my ($s, $a, $p) = processing_booking(customers => 2);
    my $pi = $p->{stripe_payment_intent_id};
    my $r = post_stripe_event(stripe_event(id => 'evt_ok_1', type => 'payment_intent.succeeded', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'succeeded: 200' or diag $r->dump;
    is $r->json && $r->json->{outcome}, 'payment succeeded: booking confirmed', '... outcome';
    ok $r->json && !$r->json->{duplicate}, '... not a duplicate';
    my $p2 = payment_of($a->{id});
    is $p2->{status}, 'succeeded', 'payment succeeded';
    ok !defined $p2->{flagged_reason}, '... not flagged';
    is appt_status($a->{id}), 'confirmed', 'booking confirmed';
    is slot($s->{slot_id})->{status}, 'filled', 'slot still filled';
    is db_row('SELECT payment_id FROM stripe_events WHERE id = ?', 'evt_ok_1')->{payment_id}, $p->{id},
        'event recorded against the payment';

    # --- then payment_failed for the same PaymentIntent (out of order) ---
    my $c2 = $s->{customers}[1];
    $r = post_stripe_event(stripe_event(id => 'evt_late_fail', type => 'payment_intent.payment_failed', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'payment_failed after succeeded: 200' or diag $r->dump;
    is $r->json && $r->json->{outcome}, 'ignored: payment already succeeded', '... "ignored: payment already succeeded"';
    is payment_of($a->{id})->{status}, 'succeeded', '... payment stays succeeded';
    is payment_of($a->{id})->{last_error}, undef, '... no error recorded';
    is appt_status($a->{id}), 'confirmed', '... booking stays confirmed';
    my $slot = slot($s->{slot_id});
    is $slot->{status}, 'filled', '... slot stays filled';
    is $slot->{filled_by_appointment_id}, $a->{id}, '... by the booking';
    is offer_of($s->{slot_id}, $s->{customers}[0]{id})->{status}, 'accepted', '... offer stays accepted';
    ok !offer_of($s->{slot_id}, $c2->{id}), '... nobody else offered';
    is scalar @{ sms_to($c2->{phone}) }, 0, '... no SMS to the next customer';
    is db_row('SELECT outcome FROM stripe_events WHERE id = ?', 'evt_late_fail')->{outcome},
        'ignored: payment already succeeded', '... recorded with that outcome';

    # A second success (another event id): nothing changes either.
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $pi));
    is $r->json && $r->json->{outcome}, 'ignored: payment already succeeded', 'second succeeded event: ignored';
    is appt_status($a->{id}), 'confirmed', '... still confirmed';
}

# --- payment_failed, then succeeded (out of order) ---------------------------------
{
    my ($s, $a, $p) = processing_booking(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    my $pi = $p->{stripe_payment_intent_id};
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.payment_failed', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    is $r->json && $r->json->{outcome}, 'payment failed: booking released, slot reopened', 'failed: released'
        or diag $r->dump;
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent', '... next customer offered';

    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'succeeded after failed: 200' or diag $r->dump;
    like $r->json && $r->json->{outcome}, qr/^refund due: /, '... outcome "refund due: ..."';
    my $p2 = payment_of($a->{id});
    is $p2->{status}, 'succeeded', 'payment succeeded (the money moved)';
    is db_count('refunds WHERE payment_id = ?', $p->{id}), 1, '... a refund of it is due';
    is appt_status($a->{id}), 'cancelled', 'booking stays cancelled';
    my $slot = slot($s->{slot_id});
    is $slot->{status}, 'open', 'slot stays open';
    ok !defined $slot->{filled_by_appointment_id}, '... not filled by the released booking';
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent', 'the next customer\'s offer stands';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'declined', 'the first offer stays declined';

    # The next customer can still book.
    $r = sms($c2->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'the next customer books the slot' or diag $r->dump;
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 2, '... a second booking';
}

# --- the PaymentIntent id was never stored: matched by metadata.payment_id --------------
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ failAll => 500 });    # Stripe down: the payment stays pending, no PaymentIntent id
    my $s = scenario(customers => 2);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'Stripe down at YES: still booked' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', '... payment pending';
    ok !defined $p->{stripe_payment_intent_id}, '... no PaymentIntent id';
    is $a->{status}, 'awaiting_payment', '... booking awaiting payment';
    stripe_behave({});

    # What our PaymentIntent carries: this installation's id, the payment's amount, currency and customer.
    my ($installation) = db()->selectrow_array('SELECT id FROM installation');
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => 'pi_ByMetadataOnly000000001',
        amount => $p->{amount}, currency => $p->{currency}, customer => $s->{customers}[0]{stripeCustomerId},
        metadata => { payment_id => "$p->{id}", appointment_id => "$a->{id}", installation_id => $installation }));
    is $r->json && $r->json->{outcome}, 'payment succeeded: booking confirmed',
        'succeeded with only metadata.payment_id matching: confirmed' or diag $r->dump;
    my $p2 = payment_of($a->{id});
    is $p2->{status}, 'succeeded', '... payment succeeded';
    is $p2->{stripe_payment_intent_id}, 'pi_ByMetadataOnly000000001', '... PaymentIntent id stored';
    is appt_status($a->{id}), 'confirmed', '... booking confirmed';
}

# --- a decline at creation, then Stripe's own payment_failed event for it -------------
# Stripe also sends payment_intent.payment_failed for a PaymentIntent it refused
# at creation (by the worker, after the YES was answered): the booking was
# released already, the customer told once, the slot moved on once.
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 3);
    my ($c1, $c2, $c3) = @{ $s->{customers} };
    stripe_behave({ decline => json_true() });
    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked: .* will be charged/, 'declined at creation: the reply says booked, will be charged'
        or diag $r->dump;
    my @texts = grep { ($_->{form}{Body} // '') =~ /your card was declined, so your .* booking is released/ }
        @{ sms_to($c1->{phone}) };
    is scalar @texts, 1, '... then the worker tried the card: one text, the card was declined';
    stripe_behave({});
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = payment_of($a->{id});
    is $p->{status}, 'failed', '... payment failed';
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent', '... next customer offered';
    my $sms = scalar @{ twilio_messages() };

    $r = post_stripe_event(stripe_event(type => 'payment_intent.payment_failed', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'Stripe\'s payment_failed for it: 200' or diag $r->dump;
    is $r->json && $r->json->{outcome}, 'ignored: payment already failed', '... "ignored: payment already failed"';
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent', '... the next customer\'s offer stands';
    ok !offer_of($s->{slot_id}, $c3->{id}), '... the slot did not move on again';
    is scalar @{ twilio_messages() }, $sms, '... no SMS';
}

# --- the shop cancelled the recovered booking before Stripe's word ------------------------
# Cancelling the booking (deposit still processing) opens a new slot opening for
# the same time, offered at once. Stripe's later word on the deposit must not
# put that time on offer a second time, nor report the cancelled booking as
# confirmed.
sub cancelled_by_shop {
    my ($s, $a, $p) = processing_booking(customers => 2);
    my $r = api(POST => "/api/appointments/$a->{id}/cancel");
    is $r->status, 200, 'setup: the shop cancels the recovered booking' or diag $r->dump;
    is db_count(q{slot_openings WHERE status = 'open' AND starts_at = ?}, $a->{starts_at}), 1,
        'setup: its time is open again as one slot opening';
    is db_count(q{slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id
                  WHERE f.status = 'sent' AND o.starts_at = ?}, $a->{starts_at}), 1,
        'setup: ... with one live offer';
    return ($s, $a, $p);
}

{
    my ($s, $a, $p) = cancelled_by_shop();
    my $sms = scalar @{ twilio_messages() };
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.payment_failed', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'payment_failed after the shop cancelled the booking: 200' or diag $r->dump;
    is payment_of($a->{id})->{status}, 'failed', '... payment failed';
    is appt_status($a->{id}), 'cancelled', '... booking stays cancelled';
    is db_count(q{slot_openings WHERE status = 'open' AND starts_at = ?}, $a->{starts_at}), 1,
        '... the time is still open as ONE slot opening (not reopened a second time)'
        or diag explain db_rows('SELECT id, status, source_appointment_id, filled_by_appointment_id FROM slot_openings ORDER BY id');
    is db_count(q{slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id
                  WHERE f.status = 'sent' AND o.starts_at = ?}, $a->{starts_at}), 1,
        '... still one live offer for that time';
    is scalar @{ twilio_messages() }, $sms, '... no second offer SMS for the same time';
}

{
    my ($s, $a, $p) = cancelled_by_shop();
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'succeeded after the shop cancelled the booking: 200' or diag $r->dump;
    my $p2 = payment_of($a->{id});
    is $p2->{status}, 'succeeded', '... payment succeeded (the money moved)';
    is appt_status($a->{id}), 'cancelled', '... booking stays cancelled';
    unlike $r->json && $r->json->{outcome}, qr/booking confirmed/, '... the outcome does not claim the booking confirmed';
    is db_count('refunds WHERE payment_id = ?', $p->{id}), 1, '... a refund is due: a deposit taken for a cancelled booking';
}

done_testing();
