# SPDX-License-Identifier: Apache-2.0
# A deposit whose PaymentIntent exists twice at Stripe (a 500 saved under the first key by a request
# that did make an intent the lookup then missed, so the retry key made a second one; or any other
# route): the payment records one. payment_intent.succeeded for the other one, whose metadata names
# the payment and passes the checks (this installation's id, the payment's amount, currency and
# customer), is our own duplicate charge: in the transaction that records the event a refund of that
# intent is recorded as due (its own Idempotency-Key), the payment and booking stay as they are, and
# it is logged at warn. A redelivery, or another event for that intent, adds no second refund. An
# intent that fails the checks is not ours, and a payment_failed of a second intent moves no money:
# both ignored, not recorded, no refund.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Dashboard qw(page tree text grant);
use HTTP::Tiny ();
use POSIX ();

sub refunds_of { db_rows('SELECT * FROM refunds WHERE payment_id = ? ORDER BY id', $_[0]) }
sub refund_of_intent { db_row('SELECT * FROM refunds WHERE payment_intent_id = ?', $_[0]) }
sub event_row { db_row('SELECT * FROM stripe_events WHERE id = ?', $_[0]) }
sub sweep_until {
    my ($code) = @_;
    return wait_until(sub { sweep(); $code->() }, timeout => 15, interval => 0.2);
}

# Payment status | its PaymentIntent | flag | booking | slot: what a second intent must not change.
sub state_of {
    my ($a) = @_;
    my $p = payment_of($a->{id});
    return join ' | ', $p->{status}, $p->{stripe_payment_intent_id} // 'no intent', $p->{flagged_reason} // 'no flag',
        db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status},
        slot($a->{source_slot_opening_id})->{status};
}

# The booking page's rows: [label, text], in order.
sub booking_rows {
    my ($appointment_id) = @_;
    my $r = page(owner1 => "/app/appointments/$appointment_id");
    is $r->status, 200, "booking page $appointment_id: 200" or diag $r->dump;
    my $t = tree($r);
    my @rows;
    for my $tr ($t->look_down(_tag => 'tr')) {
        my $th = $tr->look_down(_tag => 'th');
        my $td = $tr->look_down(_tag => 'td');
        push @rows, [ text($th), text($td) ] if $th && $td;
    }
    $t->delete;
    return \@rows;
}

# A PaymentIntent made at the stand-in as the module makes one (so it can be refunded there).
sub make_intent {
    my (%form) = @_;
    my $res = HTTP::Tiny->new->post_form(stripe_url('/v1/payment_intents'),
        { confirm => 'true', off_session => 'true', payment_method => 'pm_card_visa', %form },
        { headers => { Authorization => 'Bearer ' . stripe_secret_key() } });
    die "stand-in PaymentIntent: $res->{status} $res->{content}" unless $res->{status} == 200;
    return decode_json($res->{content});
}

sub intents_at_stripe {
    my ($customer) = @_;
    my $res = HTTP::Tiny->new->get(stripe_url("/v1/payment_intents?limit=100&customer=$customer"),
        { headers => { Authorization => 'Bearer ' . stripe_secret_key() } });
    return decode_json($res->{content})->{data} || [];
}

# A booking whose deposit succeeded at once: payment succeeded with its PaymentIntent A, booking confirmed.
sub booked {
    my (%behaviour) = @_;
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave(\%behaviour);
    my $s = scenario(customers => 2);
    my $c = $s->{customers}[0];
    my $r = sms($c->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'setup: booked' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    grant($s->{shop}{id}, 'owner1');
    return ($s, $c, $a);
}

my $WARN_RE = sub {
    my ($payment_id, $pi) = @_;
    qr/\[slotrecovery:warn\] .*mod_slotrecovery: payment \Q$payment_id\E: PaymentIntent \Q$pi\E is a second intent for it; refunding it/;
};

# --- a second intent that succeeded: refunded, the payment and booking untouched ----------------------
{
    my ($s, $c, $a) = booked();
    my $p = payment_of($a->{id});
    my $pi_a = $p->{stripe_payment_intent_id};
    my $booked = "succeeded | $pi_a | no flag | confirmed | filled";
    is state_of($a), $booked, 'setup: payment succeeded with PaymentIntent A, booking confirmed';
    my %meta = (payment_id => "$p->{id}", installation_id => installation_id(),
                appointment_id => "$a->{id}", slot_opening_id => "$s->{slot_id}");
    my $b = make_intent(amount => 2000, currency => 'usd', customer => $c->{stripeCustomerId},
        map { ("metadata[$_]" => $meta{$_}) } keys %meta);
    my $pi_b = $b->{id};
    isnt $pi_b, $pi_a, 'setup: a second PaymentIntent B at Stripe for the same payment';
    my $refunds_before = scalar @{ stripe_refunds() };

    my $mark = error_log_mark();
    my $event = stripe_event(id => 'evt_second_1', type => 'payment_intent.succeeded', pi => $pi_b,
        amount => 2000, currency => 'usd', customer => $c->{stripeCustomerId}, metadata => \%meta);
    my $r = post_stripe_event($event);
    is $r->status, 200, 'succeeded for B: 200' or diag $r->dump;
    is $r->json && $r->json->{outcome}, "refund due: a second PaymentIntent for payment $p->{id}",
        '... the outcome says B is refunded' or diag $r->dump;
    ok $r->json && !$r->json->{duplicate}, '... not a duplicate';
    my $ev = event_row('evt_second_1');
    ok $ev, '... the event is recorded';
    is $ev && $ev->{payment_intent_id}, $pi_b, '... for B';
    is $ev && $ev->{payment_id}, $p->{id}, '... and the payment';
    my $rows = refunds_of($p->{id});
    is scalar @$rows, 1, '... one refund row, in the same transaction';
    is $rows->[0] && $rows->[0]{payment_intent_id}, $pi_b, '... of B';
    is $rows->[0] && $rows->[0]{amount}, 2000, '... for the whole amount';
    is $rows->[0] && $rows->[0]{currency}, 'usd', '... in its currency';
    is state_of($a), $booked, '... payment (status, PaymentIntent A, no flag), booking and slot unchanged';
    ok wait_until(sub { error_log_since($mark) =~ $WARN_RE->($p->{id}, $pi_b) }, timeout => 5),
        '... logged at warn' or diag error_log_since($mark);
    unlike error_log_since($mark), qr/not this installation's PaymentIntent/, '... not as an intent not ours';

    ok sweep_until(sub { my $f = refund_of_intent($pi_b); $f && $f->{status} eq 'succeeded' }),
        'the worker refunds B' or diag explain refunds_of($p->{id}), stripe_refunds();
    my $posts = stripe_refunds();
    is scalar @$posts - $refunds_before, 1, '... one POST /v1/refunds';
    my $req = $posts->[-1] || {};
    is $req->{form}{payment_intent}, $pi_b, '... with payment_intent=B';
    is $req->{form}{amount}, '2000', '... the whole amount';
    is $req->{headers}{'idempotency-key'}, 'slotrecovery-' . installation_id() . "-refund-$p->{id}-$pi_b",
        '... Idempotency-Key slotrecovery-<installation id>-refund-<payment id>-<PaymentIntent B>';
    is $req->{form}{'metadata[payment_id]'}, "$p->{id}", '... metadata names the payment';
    is $req->{status}, 200, '... Stripe refunded';
    my $f = refund_of_intent($pi_b);
    is $f->{stripe_refund_id}, $req->{response}{id}, '... the refund id recorded';
    is state_of($a), $booked, '... payment and booking still unchanged';

    my @refund_rows = grep { $_->[0] =~ /^Refund/ } @{ booking_rows($a->{id}) };
    is scalar @refund_rows, 1, 'the booking page shows one refund';
    like $refund_rows[0] && "@{ $refund_rows[0] }", qr/\Q$pi_b\E/, '... naming the second PaymentIntent';
    like $refund_rows[0] && $refund_rows[0][1], qr/succeeded.*20\.00 USD.*\Q$f->{stripe_refund_id}\E/,
        '... its status, amount and id';

    $r = post_stripe_event($event);
    ok $r->status == 200 && $r->json && $r->json->{duplicate}, 'the event redelivered: a duplicate';
    $r = post_stripe_event(stripe_event(id => 'evt_second_2', type => 'payment_intent.succeeded', pi => $pi_b,
        amount => 2000, currency => 'usd', customer => $c->{stripeCustomerId}, metadata => \%meta));
    is $r->status, 200, 'another event id for B: 200' or diag $r->dump;
    is db_count('refunds WHERE payment_id = ?', $p->{id}), 1, '... still one refund row';
    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_refunds() } - $refunds_before, 1, '... still one refund request';
    is state_of($a), $booked, '... payment and booking unchanged';

    # Not ours: a second intent that fails a check. And a failure of a second intent moved no money.
    my @cases = (
        [ 'a wrong amount',          'payment_intent.succeeded', amount => 1 ],
        [ 'a wrong currency',        'payment_intent.succeeded', currency => 'eur' ],
        [ 'another customer',        'payment_intent.succeeded', customer => 'cus_SomebodyElse' ],
        [ 'a foreign installation',  'payment_intent.succeeded', metadata => { %meta, installation_id => 'f' x 32 } ],
        [ 'payment_failed',          'payment_intent.payment_failed' ],
    );
    my $n = 0;
    for my $case (@cases) {
        my ($what, $type, %o) = @$case;
        my $id = sprintf 'evt_second_not_%02d', ++$n;
        my $pi = sprintf 'pi_Third%019d', $n;
        $r = post_stripe_event(stripe_event(id => $id, type => $type, pi => $pi, amount => 2000, currency => 'usd',
            customer => $c->{stripeCustomerId}, metadata => \%meta, %o));
        is $r->status, 200, "$what: 200" or diag $r->dump;
        is $r->json && $r->json->{outcome}, 'ignored: not a slot-recovery payment', "$what: ignored";
        ok !event_row($id), "$what: not recorded";
        ok !refund_of_intent($pi), "$what: no refund";
    }
    $r = post_stripe_event(stripe_event(id => 'evt_second_failed_b', type => 'payment_intent.payment_failed',
        pi => $pi_b, amount => 2000, currency => 'usd', customer => $c->{stripeCustomerId}, metadata => \%meta));
    is $r->json && $r->json->{outcome}, 'ignored: not a slot-recovery payment', 'payment_failed for B: ignored';
    ok !event_row('evt_second_failed_b'), '... not recorded';
    is db_count('refunds WHERE payment_id = ?', $p->{id}), 1, '... still one refund row';
    is state_of($a), $booked, 'after all of it: payment and booking unchanged';
}

# --- a cancelled booking's own refund and a second intent's: two refunds, two keys ---------------------
{
    my ($s, $a, $p) = processing_booking(customers => 2);
    grant($s->{shop}{id}, 'owner1');
    my $r = api(POST => "/api/appointments/$a->{id}/cancel");
    is $r->status, 200, 'setup: the shop cancels the booking while its deposit is processing' or diag $r->dump;
    my $pi_a = $p->{stripe_payment_intent_id};
    my $customer = $s->{customers}[0]{stripeCustomerId};
    my %meta = (payment_id => "$p->{id}", installation_id => installation_id());
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $pi_a, customer => $customer,
        metadata => \%meta));
    like $r->json && $r->json->{outcome}, qr/^refund due: payment /, 'A succeeded for the cancelled booking: refund due';
    my $b = make_intent(amount => 2000, currency => 'usd', customer => $customer,
        map { ("metadata[$_]" => $meta{$_}) } keys %meta);
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $b->{id}, customer => $customer,
        metadata => \%meta));
    is $r->json && $r->json->{outcome}, "refund due: a second PaymentIntent for payment $p->{id}",
        'B succeeded too: its refund due';
    ok sweep_until(sub { db_count(q{refunds WHERE payment_id = ? AND status = 'succeeded'}, $p->{id}) == 2 }),
        'both refunded' or diag explain refunds_of($p->{id});
    my %keys = map { ($_->{form}{payment_intent} => $_->{headers}{'idempotency-key'}) } @{ stripe_refunds() };
    is_deeply \%keys, { $pi_a => 'slotrecovery-' . installation_id() . "-refund-$p->{id}",
                        $b->{id} => 'slotrecovery-' . installation_id() . "-refund-$p->{id}-$b->{id}" },
        '... one request each: the payment\'s own key for A, its intent\'s for B';
    is payment_of($a->{id})->{stripe_payment_intent_id}, $pi_a, '... the payment keeps A';
    my @refund_rows = grep { $_->[0] =~ /^Refund/ } @{ booking_rows($a->{id}) };
    is scalar @refund_rows, 2, 'the booking page shows both refunds';
    like join(' ', map { @$_ } @refund_rows), qr/\Q$b->{id}\E/, '... the second naming its PaymentIntent';
}

# --- end to end: a 500 after Stripe made the intent, the lookup misses it, the retry makes another ------
{
    my ($s, $c, $a) = booked(failAll => 500, failAfterCreate => json_true(), failCount => 1,
                             only => '/v1/payment_intents', listMisses => 1);
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', 'Stripe made PaymentIntent A but answered 500: pending';
    make_payment_due($p->{id});
    sweep();
    $p = payment_of($a->{id});
    is $p->{status}, 'succeeded', 'the retry (its lookup missed A) made B: succeeded';
    my $intents = intents_at_stripe($c->{stripeCustomerId});
    is scalar @$intents, 2, '... two PaymentIntents at Stripe for the deposit';
    my ($stray) = grep { $_->{id} ne $p->{stripe_payment_intent_id} } @$intents;
    my $booked = "succeeded | $p->{stripe_payment_intent_id} | no flag | confirmed | filled";
    is state_of($a), $booked, '... B recorded, booking confirmed';

    my $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', object => $stray));
    is $r->json && $r->json->{outcome}, "refund due: a second PaymentIntent for payment $p->{id}",
        'Stripe reports A succeeded: its refund is due' or diag $r->dump;
    ok sweep_until(sub { my $f = refund_of_intent($stray->{id}); $f && $f->{status} eq 'succeeded' }),
        '... A refunded' or diag explain refunds_of($p->{id});
    is_deeply [ map { $_->{form}{payment_intent} } @{ stripe_refunds() } ], [ $stray->{id} ],
        '... one refund request, of A';
    is state_of($a), $booked, '... payment and booking unchanged';
    my ($own) = grep { $_->{id} eq $p->{stripe_payment_intent_id} } @$intents;
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', object => $own));
    is $r->json && $r->json->{outcome}, 'ignored: payment already succeeded', "B's own event changes nothing";
    is db_count('refunds WHERE payment_id = ?', $p->{id}), 1, '... one refund in all';
}

# --- the worker's own answer is the second intent: A recorded by its event while the retry made B -------
{
    my ($s, $c, $a) = booked(failAll => 500, failAfterCreate => json_true(), failCount => 1,
                             only => '/v1/payment_intents');
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', 'Stripe made PaymentIntent A but answered 500: pending';
    my ($pi_a) = @{ intents_at_stripe($c->{stripeCustomerId}) };
    # The retry's lookup misses A, and its creation of B takes 2 s: A's event comes meanwhile.
    stripe_behave({ listMisses => 1, slowCreate => 2 });
    make_payment_due($p->{id});
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my $res = HTTP::Tiny->new(timeout => 60)->post(url('/api/jobs/sweep'),
            { headers => { 'X-Internal-Secret' => secret() } });
        POSIX::_exit($res->{status} == 200 ? 0 : 1);
    }
    ok wait_until(sub { SlotRecovery::Test::_control(stripe_url(), GET => '/_control/inflight')->{inflight} },
        timeout => 10), 'the retry is creating B at Stripe';
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', object => $pi_a));
    is $r->json && $r->json->{outcome}, 'payment succeeded: booking confirmed',
        "meanwhile A's event (matched by metadata) confirms the booking";
    waitpid $pid, 0;
    is $?, 0, 'the retry is over';
    stripe_behave({});
    my $booked = "succeeded | $pi_a->{id} | no flag | confirmed | filled";
    is state_of($a), $booked, '... the payment records A';
    my @b = grep { $_->{id} ne $pi_a->{id} } @{ intents_at_stripe($c->{stripeCustomerId}) };
    is scalar @b, 1, '... B exists too';
    my $due = $b[0] && refund_of_intent($b[0]{id});
    ok $due, "Stripe's answer (B succeeded) records B's refund as due" or diag explain refunds_of($p->{id});
    ok sweep_until(sub { my $f = refund_of_intent($b[0]{id}); $f && $f->{status} eq 'succeeded' }), '... B refunded';
    is_deeply [ map { $_->{form}{payment_intent} } @{ stripe_refunds() } ], [ $b[0]{id} ], '... one refund request, of B';
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', object => $b[0]));
    like $r->json && $r->json->{outcome}, qr/^ignored: a second PaymentIntent for payment \d+, its refund is recorded already$/,
        "B's own event later: nothing more";
    is db_count('refunds WHERE payment_id = ?', $p->{id}), 1, '... one refund in all';
    is state_of($a), $booked, '... payment and booking unchanged';
}

stripe_behave({});
done_testing();
