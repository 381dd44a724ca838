# SPDX-License-Identifier: Apache-2.0
# README, Directives: SlotRecoveryOfferRetryDelay "doubles each try, at most
# an hour"; Customer notifications: "retried with backoff while Twilio fails
# (up to 10 tries)". The customer notifications outbox is the one queue whose
# tries go past the cap under the suite's settings (30 s doubling: the 9th
# failed try would wait 7680 s): a notice for a booking a payment failure
# released, with Twilio answering 503, waits delay x 2^(attempts-1) after its
# first try and exactly an hour after its 9th, then is sent once when Twilio
# takes it. Sweeps are POST /api/jobs/sweep; tries are made due (and skipped
# ahead) in the database, after the value was checked.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(processing_booking stripe_event post_stripe_event sms_to sweep);
use SlotRecovery::Scenario qw(conf_value);

my $DELAY = conf_value('SlotRecoveryOfferRetryDelay', 30);
my $TOLERANCE = 2;

my ($s, $a, $p) = processing_booking(customers => 1);
my $c1 = $s->{customers}[0];
twilio_behave({ failTo => { $c1->{phone} => 503 } });

my $r = post_stripe_event(stripe_event(type => 'payment_intent.payment_failed', pi => $p->{stripe_payment_intent_id}));
is $r->status, 200, 'payment_intent.payment_failed: 200' or diag $r->dump;
is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled', 'the booking is released';

sub notice {
    db_row(q{SELECT id, status, attempts, last_error, provider_message_id,
                    extract(epoch FROM next_attempt_at)::float8 AS next_at
               FROM customer_notifications WHERE payment_id = ?}, $p->{id});
}
sub next_at_ok {
    my ($n, $t0, $t1, $seconds, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok $n && $n->{next_at} >= $t0 + $seconds - $TOLERANCE && $n->{next_at} <= $t1 + $seconds + $TOLERANCE, $name
        or diag sprintf 'next attempt %.1f s after the sweep, expected %d s', $n ? $n->{next_at} - $t1 : -1, $seconds;
}

my $t0 = Time::HiRes::time();
sweep();
my $t1 = Time::HiRes::time();
my $n = notice();
ok $n, 'a notification is in the outbox';
is $n && $n->{status}, 'pending', '... pending: Twilio answered 503';
is $n && $n->{attempts}, 1, '... after one try';
like $n && $n->{last_error} // '', qr/503/, '... lastError says 503';
# The webhook's own request may have made the first try: it then began before the sweep.
$t0 -= 5 if $n && $n->{next_at} < $t0 + $DELAY - $TOLERANCE;
next_at_ok($n, $t0, $t1, $DELAY, "the next try in SlotRecoveryOfferRetryDelay ($DELAY s)");

# Skip to the 9th try: 30 x 2^8 = 7680 s uncapped.
db_do(q{UPDATE customer_notifications SET attempts = 8, next_attempt_at = now() - interval '1 second' WHERE id = ?},
    $n->{id});
$t0 = Time::HiRes::time();
sweep();
$t1 = Time::HiRes::time();
$n = notice();
is $n->{status}, 'pending', 'the 9th try failed too: still pending (10 tries allowed)';
is $n->{attempts}, 9, '... attempts 9';
next_at_ok($n, $t0, $t1, 3600, 'the next try in exactly an hour (the cap), not ' . $DELAY * 2**8 . ' s');

twilio_behave({});
db_do(q{UPDATE customer_notifications SET next_attempt_at = now() - interval '1 second' WHERE id = ?}, $n->{id});
sweep();
$n = notice();
is $n->{status}, 'sent', 'Twilio takes it: sent';
is $n->{attempts}, 10, '... on the 10th try';
my @ok = grep { $_->{status} == 201 } @{ sms_to($c1->{phone}) };
my @notices = grep { ($_->{form}{Body} // '') =~ /booking is released/ } @ok;
is scalar @notices, 1, 'the customer got the notice once';
is $notices[0] && $notices[0]{response}{sid}, $n->{provider_message_id}, "... its MessageSid recorded";

done_testing();
