# SPDX-License-Identifier: Apache-2.0
# The seed scenario, end to end over HTTP: two opted-in customers on the
# waitlist, a cancellation opens a slot, customer 1 is offered it and answers
# YES (signed Twilio webhook); the deposit is still processing at Stripe. Then
# Stripe reports payment_intent.payment_failed: the booking is released, the
# slot reopens and customer 2 is offered it by SMS.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();
stripe_behave({ status => 'processing' });

# --- everything through the HTTP API ----------------------------------------------
my $shop = make_shop(name => 'Seed Salon', depositAmount => 2000, currency => 'usd', smsFrom => '+15005550006');
my $canceller = make_customer($shop->{id}, name => 'Carla Cancel');
my $c1 = make_customer($shop->{id}, name => 'Ann First', smsOptIn => json_true(),
    stripeCustomerId => 'cus_ann', stripePaymentMethodId => 'pm_card_visa');
my $c2 = make_customer($shop->{id}, name => 'Bob Second', smsOptIn => json_true(),
    stripeCustomerId => 'cus_bob', stripePaymentMethodId => 'pm_card_visa');
my $orig = make_appointment($shop->{id}, $canceller->{id},
    startsAt => iso_in(2 * 86400), endsAt => iso_in(2 * 86400 + 3600));

my $r = api(POST => "/api/appointments/$orig->{id}/cancel");
is $r->status, 200, 'cancel: 200' or diag $r->dump;
my $slot_id = $r->json && $r->json->{slotOpening} && $r->json->{slotOpening}{id};
like $slot_id // '', qr/^\d+$/, '... a slot opening';
is $r->json && $r->json->{appointment}{status}, 'cancelled', '... appointment cancelled';

my $offers = offers($slot_id);
is scalar @$offers, 1, 'one offer';
is $offers->[0] && $offers->[0]{customer_id}, $c1->{id}, '... to customer 1';
is $offers->[0] && $offers->[0]{status}, 'sent', '... sent';
my $sms1 = offer_sms_to($c1->{phone});
is scalar @$sms1, 1, 'customer 1 got the offer SMS';
like $sms1->[0] && $sms1->[0]{form}{Body}, qr/^Seed Salon: a slot opened on .*Reply YES to book it \(20\.00 USD deposit\)/,
    '... naming the shop and the deposit';
is $sms1->[0] && $sms1->[0]{form}{From}, '+15005550006', '... from the shop\'s number';
is scalar @{ sms_to($c2->{phone}) }, 0, 'customer 2 got nothing yet';

# --- customer 1: YES ------------------------------------------------------------------
$r = sms($c1->{phone}, 'YES');
ok is_twiml($r), 'YES: TwiML' or diag $r->dump;
like $r->{message}, qr/^Booked: Seed Salon, /, '... Booked';

my ($booking) = @{ appointment_of_slot($slot_id) };
ok $booking, 'a booking from the slot';
is $booking->{customer_id}, $c1->{id}, '... for customer 1';
is $booking->{status}, 'awaiting_payment', '... awaiting payment';
is slot($slot_id)->{status}, 'filled', 'slot filled';
is offer_of($slot_id, $c1->{id})->{status}, 'accepted', 'offer 1 accepted';
my $pay = payment_of($booking->{id});
is $pay->{status}, 'processing', 'payment processing (Stripe has not decided)';
my ($pi_req) = @{ stripe_payment_intents() };
my $pi = $pay->{stripe_payment_intent_id};
is $pi, $pi_req && $pi_req->{response}{id}, '... the PaymentIntent Stripe created';

# The API agrees.
$r = api(GET => "/api/appointments/$booking->{id}");
is $r->json && $r->json->{payment} && $r->json->{payment}{status}, 'processing', 'GET appointment: payment processing';

# --- Stripe: payment_intent.payment_failed --------------------------------------------
my $event_id = 'evt_3SeedFailed0000000000001';
my $event = stripe_event(id => $event_id, type => 'payment_intent.payment_failed', pi => $pi,
    message => 'Your card has insufficient funds.',
    metadata => $pi_req ? { map { my $k = $_; (my $m = $k) =~ s/^metadata\[(.*)\]$/$1/; ($m => $pi_req->{form}{$k}) }
                            grep { /^metadata\[/ } keys %{ $pi_req->{form} } } : {});
$r = post_stripe_event($event);
is $r->status, 200, 'payment_failed: 200' or diag $r->dump;
like $r->content_type // '', qr{^application/json}, '... JSON';
my $j = $r->json || {};
ok $j->{received} && !$j->{duplicate}, '... received, not a duplicate';
is $j->{outcome}, 'payment failed: booking released, slot reopened', '... outcome';

my $slot = slot($slot_id);
is $slot->{status}, 'open', 'slot open again';
ok !defined $slot->{filled_by_appointment_id}, '... no longer filled by the booking';
my $o1 = offer_of($slot_id, $c1->{id});
is $o1->{status}, 'declined', 'offer 1 declined';
like $o1->{last_error} // '', qr/insufficient funds/, '... with the failure';
$pay = payment_of($booking->{id});
is $pay->{status}, 'failed', 'payment failed';
is $pay->{last_error}, 'Your card has insufficient funds.', '... with Stripe\'s message';
is db_row('SELECT status FROM appointments WHERE id = ?', $booking->{id})->{status}, 'cancelled',
    'booking cancelled';
my $o2 = offer_of($slot_id, $c2->{id});
is $o2 && $o2->{status}, 'sent', 'customer 2 has a sent offer';
my $sms2 = offer_sms_to($c2->{phone});
is scalar @$sms2, 1, 'customer 2 got the offer SMS';
like $sms2->[0] && $sms2->[0]{form}{Body}, qr/^Seed Salon: a slot opened on /, '... the offer text';
is $o2 && $o2->{provider_message_id}, $sms2->[0] && $sms2->[0]{response}{sid}, '... the offer records its MessageSid';
is scalar @{ offer_sms_to($c1->{phone}) }, 1, 'customer 1 got no second offer';

my $ev = db_row('SELECT * FROM stripe_events WHERE id = ?', $event_id);
ok $ev, 'the event is recorded';
is $ev->{type}, 'payment_intent.payment_failed', '... type';
is $ev->{payment_intent_id}, $pi, '... PaymentIntent';
is $ev->{payment_id}, $pay->{id}, '... payment';
is $ev->{outcome}, $j->{outcome}, '... outcome';

$r = api(GET => "/api/appointments/$booking->{id}");
is $r->json && $r->json->{status}, 'cancelled', 'GET appointment: cancelled';
is $r->json && $r->json->{payment}{status}, 'failed', '... payment failed';
is $r->json && $r->json->{payment}{lastError}, 'Your card has insufficient funds.', '... lastError';

# --- and the slot is booked again: customer 2 says YES ----------------------------
stripe_behave({});
$r = sms($c2->{phone}, 'yes');
like $r->{message} // '', qr/^Booked:/, 'customer 2 books the reopened slot' or diag $r->dump;
my @bookings = @{ appointment_of_slot($slot_id) };
is scalar @bookings, 2, 'two bookings from the slot in all';
is $bookings[1] && $bookings[1]{customer_id}, $c2->{id}, '... the second is customer 2\'s';
is $bookings[1] && $bookings[1]{status}, 'confirmed', '... confirmed';
is slot($slot_id)->{filled_by_appointment_id}, $bookings[1] && $bookings[1]{id}, 'slot filled by it';

done_testing();
