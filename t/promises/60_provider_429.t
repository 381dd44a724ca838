# SPDX-License-Identifier: Apache-2.0
# README, How the offer loop decides: the sweep "resends offers whose send
# failed (backoff SlotRecoveryOfferRetryDelay x 2^(attempt-1))"; Deposits: "a
# 409 or a 429, the retry sends the same key and parameters" (backoff as for
# offers). A 429 from either provider is neither a success nor a refusal:
# - Twilio 429 (twice): the offer stays pending, next_attempt_at is now +
#   delay after the first try and now + 2 x delay after the second, a sweep
#   before it is due sends nothing, and the due retry sends the SMS once (the
#   offer sent, its SID recorded, no other customer offered).
# - Stripe 429 at YES: the booking holds (awaiting_payment), the payment is
#   pending with next_attempt_at = now + delay; the due retry sends the same
#   Idempotency-Key and parameters and makes exactly one PaymentIntent; the
#   booking is confirmed. (Stripe's rate limiter answers before the endpoint
#   runs, so the 429 is not saved under the key.)
# The README promises nothing about a provider's Retry-After: the backoff is
# the module's own. Sweeps are POST /api/jobs/sweep; a due retry is made due by
# moving next_attempt_at into the past, after its value was checked.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(scenario sms payment_of appointment_of_slot make_payment_due offer_sms_to);
use SlotRecovery::Scenario qw(conf_value cancel sweep offers_of make_offer_due sent_messages messages_to);

my $DELAY = conf_value('SlotRecoveryOfferRetryDelay', 30);
my $TOLERANCE = 2;    # seconds: the row's now() vs this process's clock around the request

# next_at_ok($epoch_of_next_attempt_at, $t_before, $t_after, $seconds, $name)
sub next_at_ok {
    my ($next, $t0, $t1, $seconds, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok defined $next && $next >= $t0 + $seconds - $TOLERANCE && $next <= $t1 + $seconds + $TOLERANCE, $name
        or diag sprintf 'next_attempt_at - request time: %s s, expected %d s',
            defined $next ? sprintf('%.1f..%.1f', $next - $t1, $next - $t0) : 'undef', $seconds;
}

sub offer_next_at {
    my ($offer_id) = @_;
    return db_row('SELECT extract(epoch FROM next_attempt_at)::float8 AS t FROM slot_offers WHERE id = ?',
        $offer_id)->{t};
}

# --- Twilio answers 429 twice, then takes the SMS -------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $shop = make_shop(name => 'Throttled Shop');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my $a = make_customer($shop->{id}, name => 'A');
    my $b = make_customer($shop->{id}, name => 'B');
    my $appt = make_appointment($shop->{id}, $cx->{id});

    twilio_behave({ failAll => 429, failCount => 2 });
    my $t0 = Time::HiRes::time();
    my $r = cancel($appt->{id});
    my $t1 = Time::HiRes::time();
    is $r->status, 200, 'cancel while Twilio answers 429: 200' or diag $r->dump;
    my $slot_id = $r->json->{slotOpening}{id};
    my $o = offers_of($slot_id);
    is scalar @$o, 1, 'one offer';
    is $o->[0]{customer_id}, $a->{id}, '... for A';
    is $o->[0]{status}, 'pending', '... pending: a 429 is not a refusal';
    is $o->[0]{attempts}, 1, '... after one attempt';
    like $o->[0]{last_error} // '', qr/429/, '... lastError says 429';
    is_deeply [ map { $_->{status} } @{ messages_to($a->{phone}) } ], [429], 'Twilio was asked once and answered 429';
    next_at_ok(offer_next_at($o->[0]{id}), $t0, $t1, $DELAY,
        "next_attempt_at = now + SlotRecoveryOfferRetryDelay ($DELAY s)");

    sweep();
    is offers_of($slot_id)->[0]{attempts}, 1, 'a sweep before it is due: no second attempt';
    is scalar @{ messages_to($a->{phone}) }, 1, '... Twilio not asked again';

    make_offer_due($o->[0]{id});
    $t0 = Time::HiRes::time();
    sweep();
    $t1 = Time::HiRes::time();
    $o = offers_of($slot_id);
    is $o->[0]{status}, 'pending', 'the second 429: still pending';
    is $o->[0]{attempts}, 2, '... attempts 2';
    next_at_ok(offer_next_at($o->[0]{id}), $t0, $t1, $DELAY * 2,
        'next_attempt_at = now + delay x 2^(2-1) (' . $DELAY * 2 . ' s)');
    is scalar @{ messages_to($b->{phone}) }, 0, '... B is not offered';

    make_offer_due($o->[0]{id});
    sweep();
    $o = offers_of($slot_id);
    is scalar @$o, 1, 'Twilio takes it: still one offer';
    is $o->[0]{status}, 'sent', '... sent';
    is $o->[0]{attempts}, 3, '... at attempt 3';
    ok !defined $o->[0]{last_error}, '... lastError cleared';
    my $ok = sent_messages();
    is scalar @$ok, 1, 'one SMS accepted in all';
    is $ok->[0] && $ok->[0]{form}{To}, $a->{phone}, '... to A';
    is $ok->[0] && $ok->[0]{response}{sid}, $o->[0]{provider_message_id}, "... its SID is the offer's";
    is_deeply [ map { $_->{status} } @{ messages_to($a->{phone}) } ], [429, 429, 201], 'A: 429, 429, then 201';

    db_do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 hour' WHERE id = ?}, $o->[0]{id});
    sweep();
    is scalar @{ messages_to($a->{phone}) }, 3, 'a later sweep does not send it again';
    is scalar @{ messages_to($b->{phone}) }, 0, '... nor offers B';
}

# --- Stripe answers 429 to the PaymentIntent, then creates it ------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    stripe_behave({ failAll => 429, failCount => 1 });
    my $t0 = Time::HiRes::time();
    my $r = sms($c1->{phone}, 'YES');
    my $t1 = Time::HiRes::time();
    like $r->{message} // '', qr/^Booked:.*will be charged/, 'YES while Stripe answers 429: booked, "will be charged"'
        or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    ok $a, 'a booking was made';
    is $a->{status}, 'awaiting_payment', '... awaiting payment';
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', 'the payment is pending';
    is $p->{attempts}, 1, '... after one attempt';
    ok !defined $p->{stripe_payment_intent_id}, '... no PaymentIntent recorded';
    like $p->{last_error} // '', qr/429/, '... lastError says 429';
    my $next = db_row('SELECT extract(epoch FROM next_attempt_at)::float8 AS t FROM payments WHERE id = ?',
        $p->{id})->{t};
    next_at_ok($next, $t0, $t1, $DELAY, "next_attempt_at = now + SlotRecoveryOfferRetryDelay ($DELAY s)");
    my $posts = stripe_payment_intents();
    is scalar @$posts, 1, 'Stripe was asked once';

    sweep();
    is scalar @{ stripe_payment_intents() }, 1, 'a sweep before it is due does not ask again';

    make_payment_due($p->{id});
    sweep();
    $p = payment_of($a->{id});
    is $p->{status}, 'succeeded', 'the due retry: the payment succeeded';
    is $p->{attempts}, 2, '... at attempt 2';
    like $p->{stripe_payment_intent_id} // '', qr/^pi_/, '... its PaymentIntent recorded';
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'confirmed',
        'the booking is confirmed';
    $posts = stripe_payment_intents();
    is scalar @$posts, 2, 'Stripe was asked twice in all';
    my @keys = map { $_->{headers}{'idempotency-key'} // '' } @$posts;
    ok $keys[0] && $keys[0] eq ($keys[1] // ''), 'the retry sent the same Idempotency-Key' or diag "@keys";
    is_deeply $posts->[1]{form}, $posts->[0]{form}, '... and the same parameters';
    my $intents = db_row('SELECT count(*) AS n FROM payments WHERE stripe_payment_intent_id IS NOT NULL')->{n};
    is $intents, 1, 'one payment with an intent';
    is scalar(grep { ($_->{form}{To} // '') eq $c2->{phone} } @{ twilio_messages() }), 0,
        'the slot was not passed to the next customer';

    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_payment_intents() }, 2, 'a later sweep does not ask Stripe again';
}

done_testing();
