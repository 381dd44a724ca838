# SPDX-License-Identifier: Apache-2.0
# README: a PaymentIntent Stripe did not answer, and a refund it did not
# answer, are retried after SlotRecoveryOfferRetryDelay seconds, "doubling, at
# most an hour". With Stripe behind a failing proxy (a non-JSON 502, retried
# with the same key), the row's next_attempt_at after attempt n is measured
# against the moment the stand-in answered that attempt: delay * 2^(n-1) seconds, exactly 3600 once that is more
# than an hour. The suite's server (delay 30) makes the first attempt (its
# worker, run by the test client after the YES or the event); a
# throwaway httpd with SlotRecoveryOfferRetryDelay 500 and 20 tries the later
# ones (1000, 2000, then 4000 > 3600), the attempts before set in the
# database for the high counts.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Scenario qw(conf_value);
use SlotRecovery::SideServer ();

my $MAIN_DELAY = conf_value('SlotRecoveryOfferRetryDelay', 30);
my $DELAY = 500;
my $side = SlotRecovery::SideServer->start(
    "SlotRecoveryOfferRetryDelay $DELAY\nSlotRecoveryOfferMaxAttempts 20\nSlotRecoveryPaymentMaxAttempts 20\n");

sub expected { my ($base, $n) = @_; my $d = $base * 2 ** ($n - 1); $d > 3600 ? 3600 : $d }

# next_attempt_at is set after the answer (its transaction's now()): at most a second or two later.
sub backoff_ok {
    my ($got, $want, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok(defined $got && $got >= $want - 0.05 && $got < $want + 2, $name)
        or diag sprintf 'next attempt %.3f s after the answer, expected %d', $got // -1, $want;
}

# The row's status, attempts, and next_attempt_at minus when the latest POST to $path was answered; how many POSTs.
sub backoff_of {
    my ($table, $id, $path) = @_;
    my $row = db_row("SELECT status, attempts, extract(epoch FROM next_attempt_at)::float8 AS next_at
                        FROM $table WHERE id = ?", $id);
    my @posts = grep { $_->{method} eq 'POST' && $_->{path} eq $path } @{ stripe_requests() };
    return ($row, @posts ? $row->{next_at} - $posts[-1]{answered} : undef, scalar @posts);
}

# --- PaymentIntents -------------------------------------------------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    # Not {"unreachable"}: curl sends a request again by itself when a reused connection drops it.
    stripe_behave({ fail => 'non_json' });
    my $s = scenario(customers => 1);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'YES while Stripe answers a proxy\'s 502: booked for now' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $pid = payment_of($a->{id})->{id};
    my ($row, $gap, $posts) = backoff_of('payments', $pid, '/v1/payment_intents');
    is $row->{attempts}, 1, 'attempt 1 (the suite server)';
    is $posts, 1, '... one creation asked';
    backoff_ok($gap, $MAIN_DELAY, "attempt 1: next try SlotRecoveryOfferRetryDelay ($MAIN_DELAY s) later");

    for my $n (2, 3, 4, 5, 12, 19) {
        db_do(q{UPDATE payments SET attempts = ?, next_attempt_at = now() - interval '1 second' WHERE id = ?},
            $n - 1, $pid);
        $side->sweep;
        ($row, $gap, my $now) = backoff_of('payments', $pid, '/v1/payment_intents');
        is $now, $posts + 1, "attempt $n: Stripe asked once more";
        $posts = $now;
        is $row->{attempts}, $n, "attempt $n: attempts $n";
        is $row->{status}, 'pending', "attempt $n: still pending (20 tries allowed)";
        my $want = expected($DELAY, $n);
        backoff_ok($gap, $want, "attempt $n: next try $want s later" . ($want == 3600 ? ' (the one-hour cap)' : ''));
    }
    is scalar(grep { ($_->{headers}{'idempotency-key'} // '') ne stripe_payment_intents()->[0]{headers}{'idempotency-key'} }
        @{ stripe_payment_intents() }), 0, 'every try sent the same Idempotency-Key (a non-JSON answer: nothing saved for it)';
}

# --- refunds ------------------------------------------------------------------------------------------------------
{
    my ($s, $a, $p) = processing_booking(customers => 2);
    my $r = api(POST => "/api/appointments/$a->{id}/cancel");
    is $r->status, 200, 'the shop cancels the booking while its deposit is processing' or diag $r->dump;
    stripe_behave({ only => '/v1/refunds', fail => 'non_json' });
    $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    is $r->status, 200, 'succeeded for the cancelled booking: a refund is due' or diag $r->dump;
    my $rid = db_row('SELECT id FROM refunds WHERE payment_id = ?', $p->{id})->{id};
    ok $rid, '... its row';
    # The event only wrote the refund; the suite server's worker (run after it) made the first try.
    my ($row, $gap, $posts) = backoff_of('refunds', $rid, '/v1/refunds');
    is $row->{attempts}, 1, 'refund attempt 1 (the suite server\'s worker, after the event)';
    is $posts, 1, '... one refund asked';
    backoff_ok($gap, $MAIN_DELAY, "refund attempt 1: next try SlotRecoveryOfferRetryDelay ($MAIN_DELAY s) later");
    for my $n (2, 3, 4, 5, 12, 19) {
        db_do(q{UPDATE refunds SET attempts = ?, next_attempt_at = now() - interval '1 second' WHERE id = ?},
            $n - 1, $rid);
        $side->sweep;
        my ($row, $gap, $now) = backoff_of('refunds', $rid, '/v1/refunds');
        is $now, $posts + 1, "refund attempt $n: Stripe asked once more";
        $posts = $now;
        is $row->{attempts}, $n, "refund attempt $n: attempts $n";
        is $row->{status}, 'due', "refund attempt $n: still due";
        my $want = expected($DELAY, $n);
        backoff_ok($gap, $want, "refund attempt $n: next try $want s later" . ($want == 3600 ? ' (the one-hour cap)' : ''));
    }
}

stripe_behave({});
done_testing();
