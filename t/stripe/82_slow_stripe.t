# SPDX-License-Identifier: Apache-2.0
# Stripe slower than SlotRecoveryHttpTimeout: a throwaway httpd with a 2 s
# timeout, the stand-in taking 5 s ({"delay": 5}) before it makes the
# PaymentIntent. The module gives up at the timeout (its sweep answers within
# the timeout plus a margin), the payment stays pending, and the retry sends
# the same Idempotency-Key (README: "after no answer (a timeout past
# SlotRecoveryHttpTimeout ...) the retry sends the same key and parameters"):
# the deposit ends confirmed with one PaymentIntent and one charge at Stripe,
# whether the retry comes after the slow request finished (Stripe replays
# it) or while it still runs (the retry makes the intent, the slow request then
# finds the key taken and replays it).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::SideServer ();

my $TIMEOUT = 2;
my $SLOW = 5;
my $MARGIN = 2.5;
my $side = SlotRecovery::SideServer->start("SlotRecoveryHttpTimeout $TIMEOUT\n");

sub appt_status { db_row('SELECT status FROM appointments WHERE id = ?', $_[0])->{status} }

# Every PaymentIntent the stand-in holds for a payment (made once each, whatever was answered).
sub intents_for {
    my ($payment_id, $customer) = @_;
    my $res = HTTP::Tiny->new->get(stripe_url("/v1/payment_intents?limit=100&customer=$customer"),
        { headers => { Authorization => 'Bearer ' . stripe_secret_key() } });
    return [ grep { ($_->{metadata}{payment_id} // '') eq $payment_id } @{ decode_json($res->{content})->{data} } ];
}

# A booking whose first PaymentIntent request got a proxy's 502 (non-JSON, retried with the same key): pending.
# Not {"unreachable"}: curl sends a request again by itself when a reused connection drops it.
sub pending_booking {
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ fail => 'non_json', failCount => 1 });
    my $s = scenario(customers => 1);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'setup: booked while Stripe answered a proxy\'s 502' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', 'setup: the payment is pending';
    return ($s, $a, $p);
}

# The slow try: the sweep gives up at the timeout.
sub slow_try {
    my ($a, $p, $label) = @_;
    stripe_behave({ delay => $SLOW, only => '/v1/payment_intents' });
    make_payment_due($p->{id});
    my $sw = $side->sweep;
    cmp_ok $sw->{elapsed}, '>=', $TIMEOUT - 0.1, "$label: the sweep waited for the ${TIMEOUT}s timeout";
    cmp_ok $sw->{elapsed}, '<', $TIMEOUT + $MARGIN, "$label: ... and gave up then ("
        . sprintf('%.2f', $sw->{elapsed}) . "s, Stripe takes ${SLOW}s)";
    my $now = payment_of($a->{id});
    is $now->{status}, 'pending', "$label: the payment is still pending";
    is $now->{attempts}, 2, "$label: ... after its second try";
    ok !defined $now->{stripe_payment_intent_id}, "$label: ... no PaymentIntent recorded";
}

sub once_ok {
    my ($s, $a, $p, $label) = @_;
    is appt_status($a->{id}), 'confirmed', "$label: the booking is confirmed";
    ok wait_until(sub { !SlotRecovery::Test::_control(stripe_url(), GET => '/_control/inflight')->{inflight}
            && @{ stripe_payment_intents() } == 3 }, timeout => $SLOW + 10),
        "$label: every request to Stripe has finished (three creations asked)";
    my $creates = stripe_payment_intents();
    my @keys = map { $_->{headers}{'idempotency-key'} } @$creates;
    is scalar(grep { $_ ne $keys[0] } @keys), 0, "$label: every try sent the same key";
    is scalar(grep { $_->{status} == 200 && !$_->{replayed} } @$creates), 1,
        "$label: Stripe made one PaymentIntent (the other answers were replays)";
    my $intents = intents_for($p->{id}, $creates->[0]{form}{customer});
    is scalar @$intents, 1, "$label: one PaymentIntent at Stripe for the payment";
    is $intents->[0] && $intents->[0]{status}, 'succeeded', "$label: ... succeeded";
    like $intents->[0] && $intents->[0]{latest_charge} // '', qr/^ch_/, "$label: ... one charge";
    my $now = payment_of($a->{id});
    is $now->{stripe_payment_intent_id}, $intents->[0] && $intents->[0]{id}, "$label: ... the one recorded";
    is $now->{status}, 'succeeded', "$label: the payment succeeded";
    make_payment_due($p->{id});
    $side->sweep;
    is scalar @{ stripe_payment_intents() }, 3, "$label: a later sweep asks nothing more";
}

# --- the retry after the slow request finished: Stripe replays it ---------------------------------------------
{
    my ($s, $a, $p) = pending_booking();
    slow_try($a, $p, 'retry after');
    ok wait_until(sub { grep { $_->{status} == 200 } @{ stripe_payment_intents() } }, timeout => $SLOW + 10),
        'retry after: the stand-in made the intent the module gave up on';
    stripe_behave({});
    make_payment_due($p->{id});
    $side->sweep;
    my $last = stripe_payment_intents()->[-1];
    ok $last->{replayed}, 'retry after: the retry is answered with the replay';
    once_ok($s, $a, $p, 'retry after');
}

# --- the retry while the slow request still runs: the slow one finds the key used -------------------------------
{
    my ($s, $a, $p) = pending_booking();
    slow_try($a, $p, 'retry during');
    stripe_behave({});
    make_payment_due($p->{id});
    my $sw = $side->sweep;
    my @done = grep { $_->{status} == 200 } @{ stripe_payment_intents() };
    is scalar @done, 1, 'retry during: answered before the slow request finished';
    ok !$done[0]{replayed}, 'retry during: ... by making the intent';
    once_ok($s, $a, $p, 'retry during');
    ok stripe_payment_intents()->[-1]{replayed}, 'retry during: the slow request, finished last, got the replay';
}

stripe_behave({});
done_testing();
