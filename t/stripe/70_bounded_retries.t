# SPDX-License-Identifier: Apache-2.0
# Payment retries are bounded. A deposit Stripe keeps failing (repeated 500s)
# is given up after SlotRecoveryPaymentMaxAttempts tries; a 401 (wrong key) at
# once; a deposit still unsent when its slot gets within SlotRecoveryOfferCutoff
# of its start before charging. Giving up releases the booking, passes the
# slot to the next customer (while it is still worth offering), tells the
# customer once by SMS that they were not charged (the outbox, sent by the
# sweep, retried while Twilio fails), shows the reason on the payment and logs
# at error level. Time is driven by UPDATE-ing next_attempt_at.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Scenario qw(conf_value);
use SlotRecovery::Dashboard qw(page tree text grant);

my $MAX = conf_value('SlotRecoveryPaymentMaxAttempts', 5);
my $NOT_CHARGED = qr/^Test Shop \d+: we could not take the deposit, so your .+ booking is released\. You have not been charged\.$/;

sub appt_status { db_row('SELECT status FROM appointments WHERE id = ?', $_[0])->{status} }

# The booking page as the shop's user sees it: { label => text }.
sub booking_page {
    my ($s, $appointment_id) = @_;
    grant($s->{shop}{id}, 'owner1') unless db_count('shop_users WHERE shop_id = ?', $s->{shop}{id});
    my $r = page(owner1 => "/app/appointments/$appointment_id");
    my $t = tree($r);
    my %f;
    for my $tr ($t->look_down(_tag => 'tr')) {
        my ($th, $td) = ($tr->look_down(_tag => 'th'), $tr->look_down(_tag => 'td'));
        $f{ text($th) } = text($td) if $th && $td;
    }
    $t->delete;
    return \%f;
}

# The SMS to a phone that are not offers.
sub notices_to {
    my ($phone) = @_;
    return [ grep { ($_->{form}{Body} // '') !~ /Reply YES/ } @{ sms_to($phone) } ];
}

# YES while Stripe fails as told: the booking, with its payment pending.
sub failing_booking {
    my ($behaviour) = @_;
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave($behaviour);
    my $s = scenario(customers => 2);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    return ($s, $a, $r);
}

sub released_ok {
    my ($s, $a, $label) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($c1, $c2) = @{ $s->{customers} };
    is appt_status($a->{id}), 'cancelled', "$label: the booking is released";
    is payment_of($a->{id})->{status}, 'failed', "$label: the payment failed";
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'declined', "$label: the first offer is declined";
    my $o2 = offer_of($s->{slot_id}, $c2->{id});
    is $o2 && $o2->{status}, 'sent', "$label: the slot is offered to the next customer";
    is scalar @{ offer_sms_to($c2->{phone}) }, 1, "$label: ... by SMS";
}

# --- repeated 500s: given up after the last try ------------------------------------------------
{
    my $mark = error_log_mark();
    my ($s, $a, $r) = failing_booking({ failAll => 500 });
    my ($c1, $c2) = @{ $s->{customers} };
    like $r->{message} // '', qr/^Booked:/, 'Stripe answers 500 at YES: booked for now' or diag $r->dump;
    my $p = payment_of($a->{id});
    is $p->{attempts}, 1, '... attempt 1';
    for my $try (2 .. $MAX - 1) {
        make_payment_due($p->{id});
        sweep();
        is payment_of($a->{id})->{attempts}, $try, "attempt $try: tried again";
        is payment_of($a->{id})->{status}, 'pending', "... still pending";
        is appt_status($a->{id}), 'awaiting_payment', '... the booking holds';
    }
    twilio_behave({ failTo => { $c1->{phone} => 503 }, failCount => 1 });    # Twilio fails the first notice
    make_payment_due($p->{id});
    sweep();
    is payment_of($a->{id})->{attempts}, $MAX, "attempt $MAX: the last";
    released_ok($s, $a, "after $MAX tries");
    my $p2 = payment_of($a->{id});
    like $p2->{last_error} // '', qr/gave up after $MAX tries.*500/, '... last_error says why';
    is scalar @{ stripe_payment_intents() }, $MAX, "Stripe was asked $MAX times in all";
    like error_log_since($mark), qr/\[slotrecovery:error\].*mod_slotrecovery: payment $p->{id}: .*gave up/,
        'an error-level log line';
    like booking_page($s, $a->{id})->{'Payment error'} // '', qr/gave up after $MAX tries/,
        'the booking page shows why';

    my $n = db_row('SELECT * FROM customer_notifications WHERE payment_id = ?', $p->{id});
    ok $n, 'a notification for the customer is in the outbox';
    is $n && $n->{status}, 'pending', '... Twilio failed it: still pending';
    like $n && $n->{last_error} // '', qr/503/, '... with the error';
    db_do(q{UPDATE customer_notifications SET next_attempt_at = now() - interval '1 second' WHERE payment_id = ?},
        $p->{id});
    sweep();
    is db_row('SELECT status FROM customer_notifications WHERE payment_id = ?', $p->{id})->{status}, 'sent',
        '... sent by the next sweep once Twilio takes it';
    my $notices = [ grep { $_->{status} == 201 } @{ notices_to($c1->{phone}) } ];
    is scalar @$notices, 1, 'the customer got one SMS about it';
    like $notices->[0] && $notices->[0]{form}{Body}, $NOT_CHARGED, '... saying they were not charged';
    is $notices->[0] && $notices->[0]{form}{From}, '+15005550006', '... from the shop\'s number';
    cmp_ok length($notices->[0] ? $notices->[0]{form}{Body} : ''), '<=', 160, '... in one segment';
    $n = db_row('SELECT * FROM customer_notifications WHERE payment_id = ?', $p->{id});
    is $n->{provider_message_id}, $notices->[0] && $notices->[0]{response}{sid}, '... its MessageSid recorded';
    is $n->{attempts}, 2, '... on the second try';

    db_do(q{UPDATE customer_notifications SET next_attempt_at = now() - interval '1 second'});
    make_payment_due($p->{id});
    sweep();
    is scalar(grep { $_->{status} == 201 } @{ notices_to($c1->{phone}) }), 1, 'later sweeps send it no second time';
    is scalar @{ stripe_payment_intents() }, $MAX, '... and do not ask Stripe again';
}

# --- a non-JSON answer (a proxy's error page) counts as a failed try, not a refusal --------------------
{
    my ($s, $a, $r) = failing_booking({ fail => 'non_json' });
    like $r->{message} // '', qr/^Booked:/, 'a non-JSON 502 at YES: booked for now' or diag $r->dump;
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', '... the payment waits for a retry';
    like $p->{last_error} // '', qr/502 with no JSON/, '... last_error says what came back';
    my $tries = $p->{attempts};
    for my $try ($tries + 1 .. $MAX) {
        make_payment_due($p->{id});
        sweep();
    }
    released_ok($s, $a, "non-JSON $MAX times");
}

# --- 401 on a retry: given up at once ---------------------------------------------------------------
{
    my $mark = error_log_mark();
    my ($s, $a, $r) = failing_booking({ unreachable => json_true() });
    my ($c1) = @{ $s->{customers} };
    like $r->{message} // '', qr/^Booked:/, 'Stripe unreachable at YES: booked for now' or diag $r->dump;
    my $p = payment_of($a->{id});
    stripe_behave({ fail => 'unauthorized' });
    make_payment_due($p->{id});
    sweep();
    is payment_of($a->{id})->{attempts}, 2, '401 on the second try';
    released_ok($s, $a, '401');
    my $p2 = payment_of($a->{id});
    like $p2->{last_error} // '', qr/401/, '... last_error says 401';
    like $p2->{flagged_reason} // '', qr/key/i, '... flagged: the shop must fix the Stripe key';
    like booking_page($s, $a->{id})->{'Needs attention'} // '', qr/SlotRecoveryStripeSecretKey/,
        '... shown on the booking page';
    like error_log_since($mark), qr/\[slotrecovery:error\].*mod_slotrecovery: payment $p->{id}: .*401/,
        '... an error-level log line';
    ok wait_until(sub { sweep(); scalar @{ notices_to($c1->{phone}) } }, timeout => 15, interval => 0.2),
        'the customer is told';
    is scalar @{ notices_to($c1->{phone}) }, 1, '... once';
    like notices_to($c1->{phone})->[0]{form}{Body}, $NOT_CHARGED, '... that they were not charged';
}

# --- 401 at the first try: given up at once, told by one SMS ------------------------------------------
# The YES is answered before Stripe is asked (the worker charges after the
# commit): the reply says booked; the worker's 401 releases the booking and
# the customer hears of it by a text, not a second one on later sweeps.
{
    my ($s, $a, $r) = failing_booking({ fail => 'unauthorized' });
    my ($c1) = @{ $s->{customers} };
    like $r->{message} // '', qr/^Booked: .* will be charged to your saved card\.$/,
        '401 at the first try: the reply says booked, will be charged' or diag $r->dump;
    is scalar @{ stripe_payment_intents() }, 1, '... the worker asked Stripe once';
    is payment_of($a->{id})->{attempts}, 1, '... and gave up after that try';
    released_ok($s, $a, '401 at the first try');
    is scalar @{ notices_to($c1->{phone}) }, 1, '... the customer got one text';
    like notices_to($c1->{phone})->[0]{form}{Body}, $NOT_CHARGED, '... that they were not charged';
    unlike notices_to($c1->{phone})->[0]{form}{Body}, qr/declined/, '... not that the card was declined';
    sweep();
    is scalar @{ notices_to($c1->{phone}) }, 1, '... no second text on a later sweep';
}

# --- Stripe unsent when the slot gets close to its start: given up before charging --------------------
{
    my ($s, $a, $r) = failing_booking({ unreachable => json_true() });
    my ($c1, $c2) = @{ $s->{customers} };
    my $p = payment_of($a->{id});
    db_do(q{UPDATE appointments SET starts_at = now() + interval '2 minutes', ends_at = now() + interval '32 minutes'
            WHERE id = ?}, $a->{id});
    db_do(q{UPDATE slot_openings SET starts_at = now() + interval '2 minutes', ends_at = now() + interval '32 minutes'
            WHERE id = ?}, $s->{slot_id});
    my $asked = scalar @{ stripe_payment_intents() };
    stripe_behave({});
    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_payment_intents() }, $asked, 'too close to the start: Stripe is not asked again';
    is appt_status($a->{id}), 'cancelled', '... the booking is released';
    is payment_of($a->{id})->{status}, 'failed', '... the payment failed';
    is slot($s->{slot_id})->{status}, 'expired', '... the slot expires (too close to offer)';
    ok !offer_of($s->{slot_id}, $c2->{id}), '... nobody else is offered it';
    ok wait_until(sub { sweep(); scalar @{ notices_to($c1->{phone}) } }, timeout => 15, interval => 0.2),
        '... the customer is told';
    like notices_to($c1->{phone})->[0]{form}{Body}, $NOT_CHARGED, '... that they were not charged';
}

# --- Stripe reports payment_intent.payment_failed later: the customer is told by SMS too ------------
{
    my ($s, $a, $p) = processing_booking(customers => 2);
    my ($c1) = @{ $s->{customers} };
    my $event = stripe_event(type => 'payment_intent.payment_failed', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" });
    my $r = post_stripe_event($event);
    like $r->json && $r->json->{outcome}, qr/booking released/, 'payment_failed after processing: released'
        or diag $r->dump;
    ok wait_until(sub { sweep(); scalar @{ notices_to($c1->{phone}) } }, timeout => 15, interval => 0.2),
        '... the customer is told by the sweep';
    like notices_to($c1->{phone})->[0]{form}{Body},
        qr/^Test Shop \d+: the deposit payment failed, so your .+ booking is released\. You have not been charged\.$/,
        '... that the payment failed and they were not charged';
    post_stripe_event($event);
    sweep();
    is scalar @{ notices_to($c1->{phone}) }, 1, '... once, the redelivered event changes nothing';
}

done_testing();
