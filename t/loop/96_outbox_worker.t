# SPDX-License-Identifier: Apache-2.0
# The outbox and its worker (issue 12): a request writes the side effects it
# causes as rows and answers; the worker on mod_watchdog performs them after
# the commit.
#
# 1. The worker reacts to a commit within about a second of it
#    (SlotRecoveryWorkerInterval 1): a cancellation's offer reaches Twilio
#    without any job call.
# 2. Slow providers hold nobody's request: with both stand-ins taking 10 s per
#    call, the cancellation, the signed YES and the signed
#    payment_intent.payment_failed answer long before either stand-in could
#    have answered, and the worker still gets the work done (offer sent,
#    PaymentIntent created, next customer offered).
# 3. No work is claimed twice within its lease: two httpd on the one database,
#    each with a worker looking every second, and stand-ins taking 3 s: each
#    offer's SMS goes out once, each deposit reaches Stripe once (one
#    Idempotency-Key, one request), each with one attempt counted.
# 4. The idle worker costs about one read-only transaction a second.
#
# The figures are printed (note); speed is measured in bench/, and the bounds
# here are the stand-ins' own delays, far from any machine's noise.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use Time::HiRes ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(sms_request stripe_event stripe_refunds);
use SlotRecovery::SideServer ();

my $SLOW = 10;
# This file's own requests to the suite's server (make_shop, ...) must not run
# the outbox there: the side servers' workers are what is tested.
$SlotRecovery::Test::SETTLE = 0;

# A signed webhook to a side server: { status, body, elapsed }.
sub post_to {
    my ($side, $path, $body, $headers) = @_;
    my $t0 = Time::HiRes::time();
    my $res = HTTP::Tiny->new(timeout => 60, keep_alive => 0)->request(POST => $side->base . $path,
        { headers => $headers, content => $body });
    return { status => $res->{status}, body => $res->{content}, elapsed => Time::HiRes::time() - $t0 };
}

sub yes_to {
    my ($side, $phone) = @_;
    my $req = sms_request($phone, 'YES', sign_url => $side->base . '/api/twilio/inbound');
    return post_to($side, $req->{path}, $req->{body},
        { %{ $req->{headers} }, 'Content-Type' => 'application/x-www-form-urlencoded' });
}

sub payment_failed_to {
    my ($side, $payment) = @_;
    my $payload = stripe_event(type => 'payment_intent.payment_failed', pi => $payment->{stripe_payment_intent_id},
        amount => $payment->{amount}, currency => $payment->{currency});
    return post_to($side, '/api/stripe/webhook', $payload,
        { 'Stripe-Signature' => stripe_signature($payload), 'Content-Type' => 'application/json' });
}

sub messages_to {
    my ($phone) = @_;
    return [ grep { ($_->{form}{To} // '') eq $phone } @{ twilio_messages() } ];
}

sub ms { sprintf '%.0f ms', 1000 * $_[0] }

# --- 1. within about a second of the commit ----------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $side = SlotRecovery::SideServer->start('', worker_interval => 1);
    my $shop = make_shop(name => 'Quick Worker Shop', depositAmount => 0);
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my $w = make_customer($shop->{id}, name => 'Waiting');
    my $appt = make_appointment($shop->{id}, $cx->{id});

    my $r = $side->api(POST => "/api/appointments/$appt->{id}/cancel");
    is $r->{status}, 200, 'cancel on a server whose worker looks every second: 200' or diag $r->{body};
    my $offer = $r->{json}{slotOpening}{offers}[0];
    is $offer->{status}, 'pending', '... the answer shows the offer pending: written, not sent, by the request';
    my $t0 = $r->{end};
    my $got = wait_until(sub { @{ messages_to($w->{phone}) } }, timeout => 10, interval => 0.05);
    my $after = Time::HiRes::time() - $t0;
    ok $got, 'the worker sent the offer with no job call';
    cmp_ok $after, '<', 5, 'within a few seconds of the commit (the worker looks every second)';
    note 'offer at Twilio ' . ms($after) . ' after the cancel answered';
    ok wait_until(sub { (db_row('SELECT status FROM slot_offers WHERE id = ?', $offer->{id})->{status} // '') eq 'sent' },
        timeout => 5), '... and recorded it sent';
    $side->httpd->stop;
}

# --- 2. providers taking 10 s hold no request --------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $side = SlotRecovery::SideServer->start("SlotRecoveryHttpTimeout 20\n", worker_interval => 1);
    my $shop = make_shop(name => 'Slow Providers Shop', depositAmount => 2000, currency => 'usd');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my @w = map { make_customer($shop->{id}, name => "Waiting $_", stripeCustomerId => "cus_slow_$_",
        stripePaymentMethodId => 'pm_card_visa') } 1 .. 2;
    my $appt = make_appointment($shop->{id}, $cx->{id});
    twilio_behave({ delay => $SLOW });
    stripe_behave({ delay => $SLOW, status => 'processing' });    # the webhook decides

    my $r = $side->api(POST => "/api/appointments/$appt->{id}/cancel");
    is $r->{status}, 200, "cancel while both providers take ${SLOW}s: 200";
    cmp_ok $r->{elapsed}, '<', $SLOW / 2, '... answered without waiting on Twilio';
    note 'cancel answered in ' . ms($r->{elapsed});
    my $slot_id = $r->{json}{slotOpening}{id};
    ok wait_until(sub { (db_row(q{SELECT status FROM slot_offers WHERE slot_opening_id = ? AND customer_id = ?},
        $slot_id, $w[0]{id})->{status} // '') eq 'sent' }, timeout => 3 * $SLOW, interval => 0.2),
        'the worker sent the first offer, Twilio taking its time';

    my $yes = yes_to($side, $w[0]{phone});
    is $yes->{status}, 200, 'signed YES: 200';
    cmp_ok $yes->{elapsed}, '<', $SLOW / 2, '... answered without waiting on Stripe';
    note 'YES answered in ' . ms($yes->{elapsed});
    like $yes->{body}, qr/deposit will be charged to your saved card/, '... "will be charged": the worker charges';
    my $appt2 = db_row('SELECT * FROM appointments WHERE source_slot_opening_id = ?', $slot_id);
    my $payment;
    ok wait_until(sub {
        $payment = db_row('SELECT * FROM payments WHERE appointment_id = ?', $appt2->{id});
        $payment && $payment->{stripe_payment_intent_id} }, timeout => 3 * $SLOW, interval => 0.2),
        'the worker created the PaymentIntent';
    is scalar(grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() }), 1,
        '... with one request to Stripe';

    my $failed = payment_failed_to($side, $payment);
    is $failed->{status}, 200, 'signed payment_intent.payment_failed: 200' or diag $failed->{body};
    cmp_ok $failed->{elapsed}, '<', $SLOW / 2, '... answered without waiting on Twilio for the next offer';
    note 'payment_failed answered in ' . ms($failed->{elapsed});
    like $failed->{body}, qr/slot reopened/, '... the slot reopened';
    ok wait_until(sub { (db_row(q{SELECT status FROM slot_offers WHERE slot_opening_id = ? AND customer_id = ?},
        $slot_id, $w[1]{id})->{status} // '') eq 'sent' }, timeout => 3 * $SLOW, interval => 0.2),
        'the worker offered the slot to the next customer';
    twilio_behave({}); stripe_behave({});
    $side->httpd->stop;
}

# --- 3. two servers, one database: each piece of work claimed once -----------
{
    reset_db(); twilio_reset(); stripe_reset();
    my @sides = map { SlotRecovery::SideServer->start('', worker_interval => 1) } 1 .. 2;
    twilio_behave({ delay => 3 });
    # A shop each, so each slot goes to a customer of its own.
    my @waiting;
    for my $i (1 .. 6) {
        my $shop = make_shop(name => "Two Servers Shop $i", depositAmount => 1500, currency => 'usd');
        my $cx = make_customer($shop->{id}, name => "Canceller $i");
        push @waiting, make_customer($shop->{id}, name => "Waiting $i", stripeCustomerId => "cus_two_$i",
            stripePaymentMethodId => 'pm_card_visa');
        my $appt = make_appointment($shop->{id}, $cx->{id});
        $sides[ $i % 2 ]->api(POST => "/api/appointments/$appt->{id}/cancel");
    }
    ok wait_until(sub { db_count(q{slot_offers WHERE status = 'sent'}) == 6 },
        timeout => 60, interval => 0.2), 'both workers together sent the 6 offers'
        or diag explain db_rows('SELECT id, status, attempts, last_error, next_attempt_at FROM slot_offers ORDER BY id');
    # (A late answer of the previous part's slow stand-in may be recorded too: only this part's customers count.)
    my %ours = map { $_->{phone} => 1 } @waiting;
    my %to;
    $to{ $_->{form}{To} }++ for grep { $ours{ $_->{form}{To} // '' } } @{ twilio_messages() };
    is scalar(keys %to), 6, 'six customers got an SMS';
    is_deeply [ grep { $to{$_} != 1 } keys %to ], [], '... each exactly one: no offer claimed twice';
    is db_count('slot_offers WHERE attempts <> 1'), 0, 'each offer counted one attempt';
    twilio_behave({});

    # Deposits: 4 customers say YES (2 on each server), Stripe taking 3 s per call.
    stripe_behave({ delay => 3 });
    for my $i (0 .. 3) {
        my $yes = yes_to($sides[ $i % 2 ], $waiting[$i]{phone});
        like $yes->{body} // '', qr/Booked:/, "YES $i booked";
    }
    ok wait_until(sub { db_count(q{payments WHERE stripe_payment_intent_id IS NOT NULL}) == 4 },
        timeout => 60, interval => 0.2), 'both workers together created the 4 PaymentIntents'
        or diag explain db_rows('SELECT id, status, attempts, last_error, next_attempt_at FROM payments ORDER BY id');
    my %keys;
    $keys{ $_->{headers}{'idempotency-key'} // '' }++
        for grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() };
    is scalar(keys %keys), 4, 'four Idempotency-Keys at Stripe';
    is_deeply [ grep { $keys{$_} != 1 } keys %keys ], [], '... each sent once: no payment claimed twice';
    is db_count('payments WHERE attempts <> 1'), 0, 'each payment counted one attempt';
    stripe_behave({});
    $_->httpd->stop for @sides;
}

# --- 4. the idle worker's cost ------------------------------------------------
# Transactions on the database per second, without and then with an idle
# worker looking every second: the difference is the worker's (it failed once
# in a run of t/loop at 10 s windows, after 94_big_sweep's writes).
{
    reset_db(); twilio_reset(); stripe_reset();
    my $rate = sub {
        my $count = sub { db()->do('SELECT pg_stat_clear_snapshot()');
            db_row(q{SELECT xact_commit + xact_rollback AS n FROM pg_stat_database
                WHERE datname = current_database()})->{n} };
        # The least of two 5 s windows: autovacuum after the tests before
        # this one commits too, in bursts that fall in one window, not both.
        my @rates;
        for (1 .. 2) {
            my ($before, $t0) = ($count->(), Time::HiRes::time());
            sleep 5;
            push @rates, ($count->() - $before) / (Time::HiRes::time() - $t0);
        }
        return $rates[0] < $rates[1] ? $rates[0] : $rates[1];
    };
    my $without = $rate->();
    my $side = SlotRecovery::SideServer->start('', worker_interval => 1);
    sleep 2;
    my $with = $rate->();
    note sprintf 'idle database: %.2f transactions a second without the worker, %.2f with it', $without, $with;
    cmp_ok $with - $without, '<=', 3, 'an idle worker costs a few transactions a second (its poll)';
    $side->httpd->stop;
}

done_testing();
