# SPDX-License-Identifier: Apache-2.0
# "If Stripe cannot be reached the sweep retries": exactly one PaymentIntent per deposit, whatever failed.
# Stripe saves a 5xx under its Idempotency-Key and replays it, so a retry with that key can never succeed:
# after a 5xx the next try looks up what the failed request made (GET /v1/payment_intents?customer=...,
# matched by metadata) and adopts it, and only if it made none sends a new key (the first key + "-rN", N
# the attempt). After a timeout (no answer) the same key is sent again: Stripe answers 409 while the first
# request still runs, then replays its answer.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Scenario qw(conf_value);
use HTTP::Tiny ();

plan tests => 28;

my ($TIMEOUT) = conf_value('SlotRecoveryHttpTimeout', 10) =~ /^(\d+)/;

sub appt_status { db_row('SELECT status FROM appointments WHERE id = ?', $_[0])->{status} }

# The PaymentIntents that exist at the stand-in (each made once, whatever was answered), per payment.
sub intents_for {
    my ($payment_id) = @_;
    my $res = HTTP::Tiny->new->get(stripe_url('/v1/payment_intents?limit=100&customer=' . $_[1]),
        { headers => { Authorization => 'Bearer ' . stripe_secret_key() } });
    return [ grep { ($_->{metadata}{payment_id} // '') eq $payment_id } @{ decode_json($res->{content})->{data} } ];
}

sub booking {
    my ($behaviour) = @_;
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave($behaviour);
    my $s = scenario(customers => 1);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    return ($s, $a, $r);
}

# --- a 500 that made nothing, then Stripe works: a new key, one PaymentIntent, confirmed ---------------
{
    my ($s, $a, $r) = booking({ failAll => 500, failCount => 1 });
    like $r->{message} // '', qr/^Booked:/, 'Stripe answers 500 at YES: booked for now' or diag $r->dump;
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', '... the payment is pending';
    make_payment_due($p->{id});
    sweep();
    is payment_of($a->{id})->{status}, 'succeeded', 'the next sweep: the payment succeeded';
    is appt_status($a->{id}), 'confirmed', '... the booking is confirmed';
    my $creates = stripe_payment_intents();
    is scalar @$creates, 2, 'two creations asked';
    my ($k1, $k2) = map { $_->{headers}{'idempotency-key'} } @$creates;
    isnt $k2, $k1, '... the second with a key of its own (Stripe replays the 500 for the first)';
    is $k2, "$k1-r2", '... the first key + "-r2"';
    my @lookups = grep { $_->{method} eq 'GET' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() };
    is scalar @lookups, 1, '... after looking the intent up once';
    my $intents = intents_for($p->{id}, $creates->[0]{form}{customer});
    is scalar @$intents, 1, 'one PaymentIntent at Stripe';
    is payment_of($a->{id})->{stripe_payment_intent_id}, $intents->[0]{id}, '... the one recorded';
    make_payment_due($p->{id});
    sweep();
    is scalar @{ stripe_payment_intents() }, 2, 'a later sweep asks nothing more';
}

# --- a 500 answered for an intent Stripe did make: adopted, never made again -----------------------
{
    my ($s, $a, $r) = booking({ failAll => 500, failAfterCreate => json_true(), failCount => 1 });
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', 'Stripe made the intent but answered 500: pending';
    make_payment_due($p->{id});
    sweep();
    is payment_of($a->{id})->{status}, 'succeeded', 'the next sweep: succeeded';
    is appt_status($a->{id}), 'confirmed', '... confirmed';
    is scalar @{ stripe_payment_intents() }, 1, '... without creating again';
    my $intents = intents_for($p->{id}, stripe_payment_intents()->[0]{form}{customer});
    is scalar @$intents, 1, 'one PaymentIntent at Stripe';
    is payment_of($a->{id})->{stripe_payment_intent_id}, $intents->[0]{id}, '... adopted: the one recorded';
}

# --- two 500s in a row: each new key only after a lookup ----------------------------------------------
{
    my ($s, $a, $r) = booking({ failAll => 500, failCount => 2 });
    my $p = payment_of($a->{id});
    make_payment_due($p->{id});
    sweep();
    is payment_of($a->{id})->{status}, 'pending', 'a second 500 (under the second key): still pending';
    make_payment_due($p->{id});
    sweep();
    is appt_status($a->{id}), 'confirmed', 'the third try: confirmed';
    my @keys = map { $_->{headers}{'idempotency-key'} } @{ stripe_payment_intents() };
    is_deeply [ @keys[1, 2] ], [ "$keys[0]-r2", "$keys[0]-r3" ], '... keys: first, -r2, -r3';
    is scalar @{ intents_for($p->{id}, stripe_payment_intents()->[0]{form}{customer}) }, 1,
        'one PaymentIntent at Stripe';
}

# --- Stripe slower than SlotRecoveryHttpTimeout, yet it makes the intent: confirmed once -----------------
{
    my ($s, $a, $r) = booking({ slowCreate => $TIMEOUT + 3, only => '/v1/payment_intents' });
    my $p = payment_of($a->{id});
    is $p->{status}, 'pending', "Stripe answers after more than ${TIMEOUT}s: pending";
    make_payment_due($p->{id});
    sweep();    # while the first request still runs at Stripe
    is payment_of($a->{id})->{status}, 'pending', '... a retry while it runs: still pending (409)';
    ok wait_until(sub { grep { $_->{status} == 200 } @{ stripe_payment_intents() } }, timeout => $TIMEOUT + 10),
        'the stand-in finished the first request';
    make_payment_due($p->{id});
    sweep();
    is appt_status($a->{id}), 'confirmed', 'the next sweep: confirmed';
    # Whatever the module sent must have finished at Stripe before the intents are counted.
    ok wait_until(sub { !SlotRecovery::Test::_control(stripe_url(), GET => '/_control/inflight')->{inflight} },
        timeout => 2 * $TIMEOUT + 10), '... every request to Stripe has finished';
    my @keys = map { $_->{headers}{'idempotency-key'} } @{ stripe_payment_intents() };
    is scalar(grep { $_ ne $keys[0] } @keys), 0, '... every try sent the same key';
    is scalar @{ intents_for($p->{id}, stripe_payment_intents()->[0]{form}{customer}) }, 1,
        'one PaymentIntent at Stripe';
}
