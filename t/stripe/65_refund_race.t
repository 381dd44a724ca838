# SPDX-License-Identifier: Apache-2.0
# A deposit that succeeds in a race with the booking going away is refunded
# automatically: payment_intent.succeeded for a booking the shop cancelled (or
# after a failure released it) records a refund as due in the transaction that
# sees it; the sweep then asks Stripe (POST /v1/refunds, payment_intent,
# amount, an Idempotency-Key with this installation's id and the payment id),
# records the refund and the booking page shows it. A redelivered event, or a
# second success, asks for no second refund. Transient failures are retried
# with the same key; a refund Stripe reports failed is flagged for a person.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Dashboard qw(page tree text grant);
use SlotRecovery::Scenario qw(server_spans);

sub refund_of { db_row('SELECT * FROM refunds WHERE payment_id = ?', $_[0]) }

# The booking page's rows: { label => text }.
sub booking_fields {
    my ($appointment_id) = @_;
    my $r = page(owner1 => "/app/appointments/$appointment_id");
    is $r->status, 200, "booking page $appointment_id: 200" or diag $r->dump;
    my $t = tree($r);
    my %f;
    for my $tr ($t->look_down(_tag => 'tr')) {
        my $th = $tr->look_down(_tag => 'th');
        my $td = $tr->look_down(_tag => 'td');
        $f{ text($th) } = text($td) if $th && $td;
    }
    $t->delete;
    return \%f;
}

# processing_booking(), then the shop cancels it through the API.
sub cancelled_booking {
    my ($s, $a, $p) = processing_booking(customers => 2);
    my $r = api(POST => "/api/appointments/$a->{id}/cancel");
    is $r->status, 200, 'setup: the shop cancels the booking while its deposit is processing' or diag $r->dump;
    grant($s->{shop}{id}, 'owner1');
    return ($s, $a, $p);
}

# Runs sweeps until $code is true (the watchdog may do it first): the condition's value.
sub sweep_until {
    my ($code) = @_;
    return wait_until(sub { sweep(); $code->() }, timeout => 15, interval => 0.2);
}

my $key_re;

# --- succeeded for a booking the shop cancelled -------------------------------------------------
{
    my ($s, $a, $p) = cancelled_booking();
    my $pi = $p->{stripe_payment_intent_id};
    my $event = stripe_event(id => 'evt_race_1', type => 'payment_intent.succeeded', pi => $pi,
        metadata => { payment_id => "$p->{id}" });
    my $r = post_stripe_event($event);
    is $r->status, 200, 'succeeded for the cancelled booking: 200' or diag $r->dump;
    like $r->json && $r->json->{outcome}, qr/refund/, '... the outcome says a refund is due';
    my $p2 = payment_of($a->{id});
    is $p2->{status}, 'succeeded', '... payment succeeded (the money moved)';
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled',
        '... the booking stays cancelled';
    my $due = refund_of($p->{id});
    ok $due, '... a refund is recorded in the same transaction';
    is $due && $due->{amount}, 2000, '... for the whole deposit';

    ok sweep_until(sub { my $f = refund_of($p->{id}); $f && $f->{status} eq 'succeeded' }),
        'the sweep refunds it' or diag explain refund_of($p->{id}), stripe_refunds();
    my $refunds = stripe_refunds();
    is scalar @$refunds, 1, 'exactly one POST /v1/refunds at Stripe';
    my $req = $refunds->[0] || {};
    is $req->{form}{payment_intent}, $pi, '... for the PaymentIntent';
    is $req->{form}{amount}, '2000', '... of the amount charged';
    my $key = $req->{headers}{'idempotency-key'} // '';
    $key_re = qr/^slotrecovery-\Q${\ installation_id()}\E-refund-\Q$p->{id}\E$/;
    like $key, $key_re, '... Idempotency-Key slotrecovery-<installation id>-refund-<payment id>';
    like $req->{headers}{authorization} // '', qr/^Bearer sk_/, '... with the secret key';
    is $req->{status}, 200, '... Stripe refunded';

    my $f = refund_of($p->{id});
    is $f->{stripe_refund_id}, $req->{response}{id}, 'the refund id is recorded';
    like $f->{stripe_refund_id} // '', qr/^re_/, '... a re_ id';
    is $f->{amount}, 2000, '... the amount';
    is $f->{status}, 'succeeded', '... the status';

    my $page = booking_fields($a->{id});
    like $page->{Refund} // '', qr/succeeded/, 'the booking page shows the refund: its status';
    like $page->{Refund} // '', qr/20\.00 USD/, '... its amount';
    like $page->{Refund} // '', qr/\Q$f->{stripe_refund_id}\E/, '... its id';

    # Stripe delivers the event again, and once more under another id.
    $r = post_stripe_event($event);
    ok $r->status == 200 && $r->json && $r->json->{duplicate}, 'the redelivered event: a duplicate';
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'another succeeded event for it: 200' or diag $r->dump;
    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_refunds() }, 1, '... still exactly one refund request';
    is db_count('refunds WHERE payment_id = ?', $p->{id}), 1, '... one refund row';
}

# --- the shop cancels while the charge is in flight: Stripe's success is refunded ------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ delay => 2, only => '/v1/payment_intents' });    # Stripe takes 2 s to answer
    my $s = scenario(customers => 2);
    grant($s->{shop}{id}, 'owner1');
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my $r = sms($s->{customers}[0]{phone}, 'YES');
        require POSIX;
        POSIX::_exit($r->status == 200 ? 0 : 1);
    }
    my $a = wait_until(sub { appointment_of_slot($s->{slot_id})->[0] }, timeout => 10);
    ok $a, 'in flight: the booking exists while Stripe is still answering';
    # The claim commits before Stripe is called: attempts 1 and no answer yet is "in flight".
    ok wait_until(sub { my $p = payment_of($a->{id}); $p && $p->{attempts} == 1 }, timeout => 5),
        '... and the charge is on its way';
    is payment_of($a->{id})->{stripe_payment_intent_id}, undef, '... unanswered';
    my $span_id = "refund-race-$$";
    my $r = api(POST => "/api/appointments/$a->{id}/cancel", undef, headers => [ 'X-Test-Span' => $span_id ]);
    is $r->status, 200, '... the shop cancels it meanwhile' or diag $r->dump;
    waitpid $pid, 0;
    is $? >> 8, 0, 'the YES was answered';
    # Proof of the overlap: the cancel was in the server while Stripe held the charge's request.
    my ($pi) = @{ stripe_payment_intents() };
    my $span = server_spans($span_id)->{$span_id};
    ok $pi && $span && $span->[0] > $pi->{time} && $span->[1] < $pi->{answered},
        '... the cancel ran inside the PaymentIntent request at Stripe'
        or diag explain { pi => $pi && [ $pi->{time}, $pi->{answered} ], cancel => $span };
    my $p = payment_of($a->{id});
    ok sweep_until(sub { my $f = refund_of($p->{id}); $f && $f->{status} eq 'succeeded' }),
        'the charge that succeeded after the cancel is refunded' or diag explain payment_of($a->{id}), refund_of($p->{id});
    is scalar @{ stripe_refunds() }, 1, '... one refund request';
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled',
        '... the booking stays cancelled';
}

# --- succeeded after the failure released the booking ---------------------------------------------
{
    my ($s, $a, $p) = processing_booking(customers => 2);
    grant($s->{shop}{id}, 'owner1');
    my $pi = $p->{stripe_payment_intent_id};
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.payment_failed', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    like $r->json && $r->json->{outcome}, qr/booking released/, 'payment_failed: released' or diag $r->dump;
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $pi,
        metadata => { payment_id => "$p->{id}" }));
    like $r->json && $r->json->{outcome}, qr/refund/, 'succeeded after the failure: a refund is due' or diag $r->dump;
    ok sweep_until(sub { my $f = refund_of($p->{id}); $f && $f->{status} eq 'succeeded' }), '... refunded'
        or diag explain refund_of($p->{id});
    is scalar @{ stripe_refunds() }, 1, '... one refund request';
    like stripe_refunds()->[0]{headers}{'idempotency-key'} // '', qr/^slotrecovery-[0-9a-f]{32}-refund-$p->{id}$/,
        '... with the installation key';
    is slot($s->{slot_id})->{status}, 'open', 'the slot stays open for the next customer';
}

# --- Stripe unreachable for the refund: retried with the same key ------------------------------------
{
    my ($s, $a, $p) = cancelled_booking();
    stripe_behave({ only => '/v1/refunds', unreachable => json_true() });
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'succeeded for a cancelled booking, Stripe unreachable for refunds' or diag $r->dump;
    ok sweep_until(sub { my $f = refund_of($p->{id}); $f && $f->{attempts} >= 1 }), '... the sweep tries';
    my $f = refund_of($p->{id});
    is $f->{status}, 'due', '... the refund stays due';
    ok defined $f->{last_error} && length $f->{last_error}, '... with the error';
    ok !defined $f->{stripe_refund_id}, '... no refund id';

    stripe_behave({});
    make_payment_due($p->{id});
    ok sweep_until(sub { refund_of($p->{id})->{status} eq 'succeeded' }), 'Stripe back: refunded on the retry'
        or diag explain refund_of($p->{id});
    my @keys = map { $_->{headers}{'idempotency-key'} } @{ stripe_refunds() };
    cmp_ok scalar(@keys), '>=', 2, '... two attempts or more';
    is scalar(grep { $_ ne $keys[0] } @keys), 0, '... all with the same Idempotency-Key';
    is scalar(grep { $_->{status} == 200 } @{ stripe_refunds() }), 1, '... one refund made';
    ok !defined payment_of($a->{id})->{flagged_reason}, '... nothing for a person to do';
}

# --- Stripe reports the refund failed: flagged for a person ---------------------------------------
{
    my ($s, $a, $p) = cancelled_booking();
    stripe_behave({ refundStatus => 'failed' });
    post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    ok sweep_until(sub { my $f = refund_of($p->{id}); $f && $f->{status} eq 'failed' }), 'the refund failed at Stripe'
        or diag explain refund_of($p->{id});
    like refund_of($p->{id})->{last_error} // '', qr/expired_or_canceled_card/, '... with Stripe\'s failure_reason';
    like payment_of($a->{id})->{flagged_reason} // '', qr/refund/i, '... the payment is flagged for a person';
    my $page = booking_fields($a->{id});
    like $page->{Refund} // '', qr/failed/, 'the booking page shows the failed refund';
    like $page->{'Needs attention'} // '', qr/refund/i, '... and what needs attention';
    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_refunds() }, 1, 'a failed refund is not asked for again';
}

# --- a pending refund is followed until Stripe settles it ------------------------------------------
{
    my ($s, $a, $p) = cancelled_booking();
    stripe_behave({ refundStatus => 'pending' });
    post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    ok sweep_until(sub { my $f = refund_of($p->{id}); $f && $f->{status} eq 'pending' }), 'the refund is pending';
    stripe_behave({ refundSettle => 'succeeded' });
    make_payment_due($p->{id});
    ok sweep_until(sub { refund_of($p->{id})->{status} eq 'succeeded' }), '... then succeeded (fetched again)'
        or diag explain refund_of($p->{id});
    is scalar @{ stripe_refunds() }, 1, '... one refund created';
    ok scalar(grep { $_->{method} eq 'GET' && $_->{path} =~ m{^/v1/refunds/re_} } @{ stripe_requests() }),
        '... its status fetched with GET /v1/refunds/{id}';
}

done_testing();
